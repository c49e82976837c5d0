package accounts

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Mail is a message to a user, in the outbox.
type Mail struct {
	ID        int64
	To        string
	Subject   string
	Body      string
	Status    string // pending, sent, failed
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    *time.Time
}

// enqueue adds a message to the outbox in tx, due now.
func (s *Store) enqueue(ctx context.Context, tx pgx.Tx, to, subject, body string) error {
	if strings.ContainsAny(to+subject, "\r\n") {
		return fmt.Errorf("%w: line break in a mail header", ErrInvalid)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (to_addr, subject, body, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4)`,
		to, subject, body, s.now()); err != nil {
		return fmt.Errorf("accounts: outbox: %w", err)
	}
	return nil
}

// Outbox lists the newest messages to users, at most limit.
func (s *Store) Outbox(ctx context.Context, limit int) ([]Mail, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, to_addr, subject, body, status, attempts, last_error, created_at, sent_at
		FROM outbox ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("accounts: outbox: %w", err)
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		var m Mail
		if err := rows.Scan(&m.ID, &m.To, &m.Subject, &m.Body, &m.Status, &m.Attempts, &m.LastError, &m.CreatedAt, &m.SentAt); err != nil {
			return nil, fmt.Errorf("accounts: outbox: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SendFunc sends one message.
type SendFunc func(ctx context.Context, m Mail) error

// MaxAttempts is how many times a message is tried before it is marked
// failed; retries wait 1, 2, 4 … minutes.
const MaxAttempts = 8

// Deliver sends the pending messages that are due, at most batch of them,
// through send, and marks each sent, or failed once MaxAttempts tries have
// failed (until then it is retried later). Rows being sent are locked, so
// several iisd deliver side by side without sending a message twice.
func (s *Store) Deliver(ctx context.Context, send SendFunc, batch int) (sent, failed int, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("accounts: deliver: %w", err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, `SELECT id, to_addr, subject, body, attempts FROM outbox
		WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, s.now(), batch)
	if err != nil {
		return 0, 0, fmt.Errorf("accounts: deliver: %w", err)
	}
	var due []Mail
	for rows.Next() {
		var m Mail
		if err := rows.Scan(&m.ID, &m.To, &m.Subject, &m.Body, &m.Attempts); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("accounts: deliver: %w", err)
		}
		due = append(due, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("accounts: deliver: %w", err)
	}
	for _, m := range due {
		serr := send(ctx, m)
		now := s.now()
		switch {
		case serr == nil:
			sent++
			_, err = tx.Exec(ctx, `UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = $2, last_error = '' WHERE id = $1`, m.ID, now)
		case m.Attempts+1 >= MaxAttempts:
			failed++
			_, err = tx.Exec(ctx, `UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1`, m.ID, serr.Error())
		default:
			retry := now.Add(time.Minute << m.Attempts)
			_, err = tx.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1`, m.ID, serr.Error(), retry)
		}
		if err != nil {
			return sent, failed, fmt.Errorf("accounts: deliver: %w", err)
		}
		if serr != nil {
			s.log.Warn("accounts: sending mail failed", "outbox", m.ID, "attempt", m.Attempts+1, "err", serr)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return sent, failed, fmt.Errorf("accounts: deliver: %w", err)
	}
	return sent, failed, nil
}

// RunDelivery calls Deliver every interval until ctx ends.
func (s *Store) RunDelivery(ctx context.Context, send SendFunc, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, f, err := s.Deliver(ctx, send, 20)
			if err != nil && ctx.Err() == nil {
				s.log.Error("accounts: outbox delivery", "err", err)
			}
			if err != nil || n+f < 20 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SMTP is a mail server to send the outbox through.
type SMTP struct {
	Host string
	Port int // default 587
	From string
	// Username and Password, if set, authenticate with PLAIN (only over
	// TLS, or to a server on this machine).
	Username string
	Password string
	// Timeout bounds one message's delivery (default 30s).
	Timeout time.Duration
}

// Send delivers m, with STARTTLS when the server offers it.
func (c SMTP) Send(ctx context.Context, m Mail) error {
	port := c.Port
	if port == 0 {
		port = 587
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(c.Host, strconv.Itoa(port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer cl.Close()
	if err := c.converse(cl, m); err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	return cl.Quit()
}

func (c SMTP) converse(cl *smtp.Client, m Mail) error {
	if err := cl.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := cl.Extension("STARTTLS"); ok {
		if err := cl.StartTLS(&tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}); err != nil {
			return err
		}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return err
		}
	}
	if err := cl.Mail(c.From); err != nil {
		return err
	}
	if err := cl.Rcpt(m.To); err != nil {
		return err
	}
	w, err := cl.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(c.message(m)); err != nil {
		return err
	}
	return w.Close()
}

// message is m as an RFC 5322 message with CRLF line ends (net/smtp's
// data writer does the dot-stuffing).
func (c SMTP) message(m Mail) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <outbox-%d@%s>\r\n",
		c.From, m.To, m.Subject, time.Now().Format(time.RFC1123Z), m.ID, c.Host)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	for _, line := range strings.Split(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n") {
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// RunHousekeeping purges ended sessions and old links every interval until
// ctx ends.
func (s *Store) RunHousekeeping(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.PurgeSessions(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("accounts: housekeeping", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
