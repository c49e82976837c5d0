package mllp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

var (
	// ErrClientClosed is returned by Send after Close.
	ErrClientClosed = errors.New("mllp: client closed")

	// ErrUnconfirmed is wrapped by Send's error when the message was
	// written in full (the server may have received and processed it) but
	// no reply came back. Send does not resend such a message unless
	// ClientOptions.Resend is set: the caller decides, knowing a resend
	// may duplicate it (the receiver should deduplicate on MSH-10).
	ErrUnconfirmed = errors.New("mllp: message may have been delivered but no reply was received")
)

// ClientOptions configure a Client. The zero value is usable: plain TCP,
// the defaults below.
type ClientOptions struct {
	// TLSConfig, if not nil, makes the client speak TLS with it: RootCAs
	// for the server's CA, Certificates for a client certificate (mutual
	// TLS). ServerName defaults to the host in the address.
	TLSConfig *tls.Config
	// DialTimeout bounds one connection attempt (TCP and TLS handshake);
	// zero means 10 seconds.
	DialTimeout time.Duration
	// Timeout, if positive, bounds each Send (connecting, writing and
	// waiting for the reply), in addition to Send's context. Without it or
	// a deadline on the context, a Send whose reply never comes waits
	// until the connection breaks.
	Timeout time.Duration
	// MaxReplySize is the largest reply accepted; zero means
	// DefaultMaxMessageSize.
	MaxReplySize int
	// MaxRetries is how many times one Send may try again after a failed
	// connection attempt or a failure that certainly did not deliver the
	// message; zero means 2, negative none.
	MaxRetries int
	// Backoff is the wait before the first retry, doubled for each
	// further one up to 5 seconds; zero means 100 milliseconds.
	Backoff time.Duration
	// Resend lets Send also retry after a failure that may have delivered
	// the message (it was written but no reply came): a duplicate is then
	// possible. Off by default.
	Resend bool
}

// A Client sends HL7 messages over one MLLP connection and waits for each
// reply. It is safe for concurrent use: concurrent Sends are serialised on
// the connection, as MLLP requires. For parallelism open several Clients.
//
// When the connection breaks, the next Send reconnects (with bounded
// retries and backoff). Before reusing an idle connection Send checks
// whether the server has closed it, so a server's idle timeout does not
// cost a message (an error for a message that may have been delivered),
// and drops a connection on which the server sent a frame nobody asked
// for. MLLP itself cannot pair a reply with its message: a careful caller
// checks that the reply's MSA-2 matches the message's MSH-10.
type Client struct {
	addr string
	opts ClientOptions

	sem chan struct{} // held by the Send in progress

	// Owned by the Send holding sem.
	rd       *Reader
	wbuf     []byte
	lastUsed time.Time // end of the last round trip on the connection

	mu     sync.Mutex // guards conn, probe and closed (Close may run at any time)
	conn   net.Conn
	probe  *prober // on the TCP connection under conn
	closed bool
}

// Dial connects to the MLLP server at addr (host:port) and returns a
// Client for it. opts may be nil.
func Dial(ctx context.Context, addr string, opts *ClientOptions) (*Client, error) {
	c := &Client{addr: addr, sem: make(chan struct{}, 1)}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.TLSConfig != nil {
		c.opts.TLSConfig = c.opts.TLSConfig.Clone()
	}
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) maxRetries() int {
	switch {
	case c.opts.MaxRetries == 0:
		return 2
	case c.opts.MaxRetries < 0:
		return 0
	}
	return c.opts.MaxRetries
}

// connect dials a new connection.
func (c *Client) connect(ctx context.Context) error {
	timeout := c.opts.DialTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var conn, raw net.Conn
	var err error
	if c.opts.TLSConfig != nil {
		d := tls.Dialer{Config: c.opts.TLSConfig}
		conn, err = d.DialContext(dctx, "tcp", c.addr)
		if err == nil {
			raw = conn.(*tls.Conn).NetConn()
		}
	} else {
		var d net.Dialer
		conn, err = d.DialContext(dctx, "tcp", c.addr)
		raw = conn
	}
	if err != nil {
		return fmt.Errorf("mllp: dial %s: %w", c.addr, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		conn.Close()
		return ErrClientClosed
	}
	c.conn, c.probe = conn, newProber(raw)
	c.rd = NewReader(conn, c.opts.MaxReplySize)
	return nil
}

// drop closes the current connection, if any.
func (c *Client) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.probe, c.rd = nil, nil, nil
	}
}

// current returns the current connection (nil if none) and whether the
// client is closed.
func (c *Client) current() (conn net.Conn, probe *prober, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn, c.probe, c.closed
}

// Send sends msg (an HL7 message without framing) and returns the reply,
// which the caller owns. It waits for its turn if another Send is in
// progress, and honours ctx (deadline and cancellation) throughout.
//
// If the connection is broken, Send reconnects; a failure before the whole
// message was written is retried on a new connection (MaxRetries). A
// failure after it was written returns an error wrapping ErrUnconfirmed and
// is not retried unless ClientOptions.Resend is set. In every failure case
// the connection is dropped, so the next Send starts on a fresh one.
func (c *Client) Send(ctx context.Context, msg []byte) ([]byte, error) {
	if !validMessage(msg) {
		return nil, ErrInvalidMessage
	}
	if c.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("mllp: send: %w", context.Cause(ctx))
	}
	defer func() { <-c.sem }()

	backoff := c.opts.Backoff
	if backoff <= 0 {
		backoff = 100 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("mllp: send: %w", context.Cause(ctx))
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		retry := attempt < c.maxRetries()

		conn, probe, closed := c.current()
		if closed {
			return nil, ErrClientClosed
		}
		if conn != nil && (c.rd.pendingFrame() || time.Since(c.lastUsed) >= probeAfter && c.stale(conn, probe)) {
			c.drop()
			conn = nil
		}
		if conn == nil {
			if err := c.connect(ctx); err != nil {
				if retry && ctx.Err() == nil && !errors.Is(err, ErrClientClosed) {
					continue
				}
				return nil, err
			}
		}

		reply, written, err := c.roundTrip(ctx, msg)
		if err == nil {
			return reply, nil
		}
		c.drop()
		if _, _, closed := c.current(); closed {
			return nil, ErrClientClosed
		}
		if written {
			err = fmt.Errorf("%w: %w", ErrUnconfirmed, err)
			retry = retry && c.opts.Resend
		}
		if !retry || ctx.Err() != nil {
			return nil, err
		}
	}
}

// roundTrip writes msg and reads the reply on the current connection. It
// reports whether the message may have reached the server.
func (c *Client) roundTrip(ctx context.Context, msg []byte) (reply []byte, written bool, err error) {
	conn, _, _ := c.current()
	if conn == nil {
		return nil, false, ErrClientClosed
	}
	dl, _ := ctx.Deadline()
	if err := conn.SetDeadline(dl); err != nil {
		return nil, false, fmt.Errorf("mllp: set deadline: %w", err)
	}
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
	}

	c.wbuf = appendFrame(c.wbuf[:0], msg)
	n, err := conn.Write(c.wbuf)
	if cap(c.wbuf) > retainLimit {
		c.wbuf = nil
	}
	if err != nil {
		// The server acts on a frame only once its end block arrives.
		return nil, n >= len(msg)+2, ioError(ctx, dl, "write", err)
	}
	r, err := c.rd.ReadMessage()
	if err != nil {
		return nil, true, ioError(ctx, dl, "read reply", err)
	}
	reply = bytes.Clone(r)
	c.lastUsed = time.Now()
	if !stop() {
		// ctx ended just now: the deadline may be ruined; start afresh
		// next time.
		c.drop()
	}
	return reply, true, nil
}

// ioError describes an I/O error of a round trip; if the round trip's
// context ended (or its deadline, dl, passed), that is the cause reported.
func ioError(ctx context.Context, dl time.Time, op string, err error) error {
	if ctx.Err() != nil || (!dl.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl)) {
		cause := context.Cause(ctx)
		if cause == nil {
			cause = context.DeadlineExceeded // the connection's deadline, set from ctx, beat ctx's timer
		}
		return fmt.Errorf("mllp: %s: %w", op, cause)
	}
	return fmt.Errorf("mllp: %s: %w", op, err)
}

// stale reports whether an idle connection is no longer usable: the server
// closed it or sent something unsolicited. Nothing has been sent on it
// since the last reply, so replacing it loses nothing.
func (c *Client) stale(conn net.Conn, probe *prober) bool {
	switch probe.peek() {
	case peekEmpty:
		return false
	case peekData:
		tc, ok := conn.(*tls.Conn)
		if !ok {
			return true // unsolicited bytes: the stream is out of step
		}
		// Possibly a TLS post-handshake message (a session ticket), which
		// the TLS layer consumes, or a close_notify alert.
		conn.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		n, err := tc.Read(b[:])
		return n > 0 || !errors.Is(err, os.ErrDeadlineExceeded)
	}
	return true
}

// Close closes the connection; a Send in progress fails, later ones
// return ErrClientClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn, c.probe = nil, nil
	return err
}

// probeAfter is how long a connection must have been idle before Send
// checks whether the server closed it. Back-to-back sends skip the check
// (a system call); a server closes a connection after an idle timeout or on
// shutdown, rarely within a millisecond of a reply.
const probeAfter = time.Millisecond

// Results of peek.
const (
	peekEmpty  = iota // nothing to read: the connection looks alive
	peekData          // bytes are waiting
	peekClosed        // the peer closed the connection, or it failed
)
