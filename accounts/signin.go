package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/soap"
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// CheckPassword says why password is not acceptable for username, or nil.
func CheckPassword(username, password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return fmt.Errorf("%w: use at least %d characters", ErrWeakPassword, MinPasswordLength)
	case username != "" && strings.Contains(strings.ToLower(password), strings.ToLower(username)):
		return fmt.Errorf("%w: do not include your username", ErrWeakPassword)
	case strings.Count(password, password[:1]) == len(password):
		return fmt.Errorf("%w: use more than one character", ErrWeakPassword)
	}
	return nil
}

// RandomToken returns 256 random bits, URL-safe: for session and CSRF
// tokens.
func RandomToken() string { return randomToken() }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is what is stored of a session token or a one-time link.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// verify checks password against hash, at most GOMAXPROCS at a time.
func (s *Store) verify(ctx context.Context, hash, password string) (bool, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.sem }()
	return soap.CheckPassword(hash, password)
}

func (s *Store) hash(ctx context.Context, password string) (string, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.sem }()
	return soap.HashPassword(password)
}

// SignIn checks username's password for a client at addr. It refuses with
// a *ThrottledError while addr (or the username overall) must wait after
// failures, ErrBadCredentials for a wrong username or password (the same
// for both, and as slow), and ErrDisabled for a disabled account whose
// password was right. The caller then asks for the TOTP code if
// NeedsTOTP, and finishes with StartSession.
func (s *Store) SignIn(ctx context.Context, username, password, addr string) (User, error) {
	if wait := s.throttle.Wait(username, addr); wait > 0 {
		_ = s.record(ctx, "public", "sign-in-throttled", fmt.Sprintf("username %q from %s", username, addr))
		return User{}, &ThrottledError{Wait: wait}
	}
	var hash string
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+`, u.password_hash FROM users u
		JOIN organizations o ON o.id = u.org_id WHERE lower(u.username) = lower($1)`, strings.TrimSpace(username)), &hash)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	known := err == nil && hash != ""
	if !known {
		hash = s.dummy
	}
	ok, err := s.verify(ctx, hash, password)
	if err != nil {
		return User{}, fmt.Errorf("accounts: sign-in: %w", err)
	}
	if !ok || !known {
		s.throttle.Failure(username, addr)
		if err := s.record(ctx, "public", "sign-in-failed", fmt.Sprintf("username %q from %s", username, addr)); err != nil {
			return User{}, err
		}
		return User{}, ErrBadCredentials
	}
	s.throttle.Success(username, addr)
	if u.Disabled() {
		_ = s.record(ctx, u.Actor(), "sign-in-disabled", "from "+addr)
		return User{}, ErrDisabled
	}
	return u, nil
}

// NeedsTOTP reports whether u must give a code after the password.
func NeedsTOTP(u User) bool { return u.TOTPEnabled }

// Session is a signed-in browser.
type Session struct {
	UserID    int64
	CSRF      string
	TOTPOK    bool // the second factor was given (or u has none)
	Client    string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
}

// StartSession records a new session for u (whose password was just
// checked) and returns the token for the cookie; only its hash is stored.
func (s *Store) StartSession(ctx context.Context, u User, totpOK bool, client string) (string, Session, error) {
	tok := randomToken()
	now := s.now()
	ss := Session{UserID: u.ID, CSRF: randomToken(), TOTPOK: totpOK, Client: client, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.cfg.SessionMax)}
	_, err := s.pool.Exec(ctx, `INSERT INTO user_sessions (token_hash, user_id, csrf, totp_ok, client, created_at, last_seen, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`, hashToken(tok), u.ID, ss.CSRF, totpOK, client, now, ss.ExpiresAt)
	if err != nil {
		return "", ss, fmt.Errorf("accounts: start session: %w", err)
	}
	if totpOK {
		if err := s.signedIn(ctx, u, client); err != nil {
			return "", ss, err
		}
	}
	return tok, ss, nil
}

// signedIn records a completed sign-in (password and, if enrolled, code).
func (s *Store) signedIn(ctx context.Context, u User, client string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE users SET prev_sign_in = last_sign_in, last_sign_in = $2 WHERE id = $1`, u.ID, s.now()); err != nil {
		return fmt.Errorf("accounts: record sign-in: %w", err)
	}
	return s.record(ctx, u.Actor(), "sign-in", "role "+string(u.Role)+" from "+client)
}

// Session returns the live session for token and its user, and marks it
// used. A session unused for the idle timeout, past its absolute end, or
// of a disabled user is ended and ErrNotFound returned.
func (s *Store) Session(ctx context.Context, token string) (Session, User, error) {
	var ss Session
	now := s.now()
	u, err := scanUser(s.pool.QueryRow(ctx, `UPDATE user_sessions AS x SET last_seen = $2
		FROM users u JOIN organizations o ON o.id = u.org_id
		WHERE x.token_hash = $1 AND u.id = x.user_id AND x.last_seen > $3 AND x.expires_at > $2 AND u.disabled_at IS NULL
		RETURNING `+userColumns+`, x.user_id, x.csrf, x.totp_ok, x.client, x.created_at, x.last_seen, x.expires_at`,
		hashToken(token), now, now.Add(-s.cfg.IdleTimeout)),
		&ss.UserID, &ss.CSRF, &ss.TOTPOK, &ss.Client, &ss.CreatedAt, &ss.LastSeen, &ss.ExpiresAt)
	if errors.Is(err, ErrNotFound) {
		_ = s.EndSession(ctx, token)
		return ss, u, ErrNotFound
	}
	return ss, u, err
}

// EndSession signs a session out.
func (s *Store) EndSession(ctx context.Context, token string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM user_sessions WHERE token_hash = $1`, hashToken(token)); err != nil {
		return fmt.Errorf("accounts: end session: %w", err)
	}
	return nil
}

// PurgeSessions deletes sessions past their idle timeout or end, and
// one-time links expired a day ago.
func (s *Store) PurgeSessions(ctx context.Context) error {
	now := s.now()
	if _, err := s.pool.Exec(ctx, `DELETE FROM user_sessions WHERE last_seen <= $1 OR expires_at <= $2`, now.Add(-s.cfg.IdleTimeout), now); err != nil {
		return fmt.Errorf("accounts: purge sessions: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM user_tokens WHERE expires_at <= $1`, now.Add(-24*time.Hour)); err != nil {
		return fmt.Errorf("accounts: purge links: %w", err)
	}
	return nil
}

// ChangePassword sets u's password (checked against the policy) and ends
// u's other sessions; keep is the token of the session that stays.
func (s *Store) ChangePassword(ctx context.Context, u User, password, keep string) error {
	if err := CheckPassword(u.Username, password); err != nil {
		return err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("accounts: change password: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, must_change_pw = false WHERE id = $1`, u.ID, h); err != nil {
		return fmt.Errorf("accounts: change password: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM user_sessions WHERE user_id = $1 AND token_hash <> $2`, u.ID, hashToken(keep)); err != nil {
		return fmt.Errorf("accounts: change password: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("accounts: change password: %w", err)
	}
	return s.record(ctx, u.Actor(), "password-change", "")
}

// Link purposes.
const (
	purposeSet   = "set-password"
	purposeReset = "reset-password"
)

// issueLink stores a one-time link token for userID and returns it.
func (s *Store) issueLink(ctx context.Context, tx pgx.Tx, userID int64, purpose string, ttl time.Duration) (string, error) {
	tok := randomToken()
	now := s.now()
	if _, err := tx.Exec(ctx, `INSERT INTO user_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		hashToken(tok), userID, purpose, now, now.Add(ttl)); err != nil {
		return "", fmt.Errorf("accounts: issue link: %w", err)
	}
	return tok, nil
}

// LinkUser returns the user a one-time link is for, if it is still valid
// (unused, unexpired, user enabled).
func (s *Store) LinkUser(ctx context.Context, token string) (User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM user_tokens t JOIN users u ON u.id = t.user_id
		JOIN organizations o ON o.id = u.org_id
		WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL`, hashToken(token), s.now()))
	if errors.Is(err, ErrNotFound) {
		return u, ErrInvalidLink
	}
	return u, err
}

// UseLink sets the password of the link's user, voids the link (and every
// other link of the user) and ends the user's sessions.
func (s *Store) UseLink(ctx context.Context, token, password string) (User, error) {
	u, err := s.LinkUser(ctx, token)
	if err != nil {
		return u, err
	}
	if err := CheckPassword(u.Username, password); err != nil {
		return u, err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return u, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return u, fmt.Errorf("accounts: use link: %w", err)
	}
	defer tx.Rollback(ctx)
	var purpose string
	err = tx.QueryRow(ctx, `UPDATE user_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING purpose`, hashToken(token), s.now()).Scan(&purpose)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrInvalidLink // used meanwhile
	}
	if err != nil {
		return u, fmt.Errorf("accounts: use link: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE user_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`, u.ID, s.now()); err != nil {
		return u, fmt.Errorf("accounts: use link: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, must_change_pw = false WHERE id = $1`, u.ID, h); err != nil {
		return u, fmt.Errorf("accounts: use link: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, u.ID); err != nil {
		return u, fmt.Errorf("accounts: use link: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return u, fmt.Errorf("accounts: use link: %w", err)
	}
	return u, s.record(ctx, u.Actor(), "password-"+strings.TrimSuffix(purpose, "-password")+"-by-link", "")
}

// ResetPassword sends the user a password-reset link; by is the program
// staff member doing it. The current password keeps working until the
// link is used.
func (s *Store) ResetPassword(ctx context.Context, by User, userID int64, baseURL string) error {
	if !by.Role.May(ResetPasswords) {
		return fmt.Errorf("%w: %s may not reset passwords", ErrInvalid, by.Role.Label())
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.sendReset(ctx, u, baseURL, "A password reset was started for you by "+by.FullName+" of "+by.OrgName+"."); err != nil {
		return err
	}
	return s.record(ctx, by.Actor(), "password-reset", "user "+u.Username)
}

// ForgotPassword sends a reset link to the enabled user whose username, or
// (if it names exactly one user) email address, is who. It says nothing
// about whether there was one, so that the form tells no one who has an
// account.
func (s *Store) ForgotPassword(ctx context.Context, who, addr, baseURL string) error {
	who = strings.TrimSpace(who)
	if who == "" {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users u JOIN organizations o ON o.id = u.org_id
		WHERE (lower(u.username) = lower($1) OR lower(u.email) = lower($1)) AND u.disabled_at IS NULL LIMIT 2`, who)
	if err != nil {
		return fmt.Errorf("accounts: forgot password: %w", err)
	}
	var found []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return err
		}
		found = append(found, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("accounts: forgot password: %w", err)
	}
	if len(found) != 1 {
		return s.record(ctx, "public", "password-forgot-unknown", "from "+addr)
	}
	u := found[0]
	if err := s.sendReset(ctx, u, baseURL, "Someone (we hope you) asked to reset your password from the sign-in page."); err != nil {
		return err
	}
	return s.record(ctx, u.Actor(), "password-forgot", "from "+addr)
}

func (s *Store) sendReset(ctx context.Context, u User, baseURL, why string) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("accounts: reset: %w", err)
	}
	defer tx.Rollback(ctx)
	tok, err := s.issueLink(ctx, tx, u.ID, purposeReset, s.cfg.ResetTTL)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("Hello %s,\n\n%s\n\nTo choose a new password for your account %q, open this link within %s (it works once):\n\n%s\n\n"+
		"If you did not expect this, ignore this message: your password has not changed.\n",
		u.FullName, why, u.Username, s.cfg.ResetTTL, linkURL(baseURL, tok))
	if err := s.enqueue(ctx, tx, u.Email, "Reset your immunization registry password", body); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("accounts: reset: %w", err)
	}
	return nil
}

// linkURL is the address of the set-password page for a link token.
func linkURL(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + "/set-password?token=" + token
}
