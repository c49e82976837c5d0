package accounts

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Enrolment is what a user needs to add the registry to an authenticator
// app: the otpauth:// URI, the same as a QR code (a PNG data: URI), and the
// secret as text for typing in.
type Enrolment struct {
	URI    string
	QRPNG  string // data:image/png;base64,…
	Secret string
}

const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// BeginTOTP gives u a new TOTP secret, not yet in force, and returns it for
// enrolment; the secret already pending is kept, so reloading the page
// shows the same code. ConfirmTOTP puts it in force.
func (s *Store) BeginTOTP(ctx context.Context, u User) (Enrolment, error) {
	var secret string
	var enabled bool
	if err := s.pool.QueryRow(ctx, `SELECT totp_secret, totp_enabled FROM users WHERE id = $1`, u.ID).Scan(&secret, &enabled); err != nil {
		return Enrolment{}, fmt.Errorf("accounts: begin TOTP: %w", err)
	}
	if enabled {
		return Enrolment{}, fmt.Errorf("%w: an authenticator is already enrolled", ErrInvalid)
	}
	opts := totp.GenerateOpts{Issuer: s.cfg.Issuer, AccountName: u.Username, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	pending := secret != "" && !enabled
	if pending {
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
		if err != nil {
			return Enrolment{}, fmt.Errorf("accounts: begin TOTP: stored secret: %w", err)
		}
		opts.Secret = raw
	}
	key, err := totp.Generate(opts)
	if err == nil && !pending {
		_, err = s.pool.Exec(ctx, `UPDATE users SET totp_secret = $2, totp_enabled = false WHERE id = $1 AND NOT totp_enabled`, u.ID, key.Secret())
	}
	if err != nil {
		return Enrolment{}, fmt.Errorf("accounts: begin TOTP: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return Enrolment{}, fmt.Errorf("accounts: TOTP QR code: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return Enrolment{}, fmt.Errorf("accounts: TOTP QR code: %w", err)
	}
	return Enrolment{URI: key.URL(), Secret: key.Secret(), QRPNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())}, nil
}

// ConfirmTOTP checks a code from the pending secret and puts it in force.
func (s *Store) ConfirmTOTP(ctx context.Context, u User, code, addr string) error {
	return s.checkTOTP(ctx, u, code, addr, false)
}

// VerifyTOTP checks u's code at sign-in. A code is accepted once, within
// one period either side of now; failures are throttled like passwords.
func (s *Store) VerifyTOTP(ctx context.Context, u User, code, addr string) error {
	return s.checkTOTP(ctx, u, code, addr, true)
}

func (s *Store) checkTOTP(ctx context.Context, u User, code, addr string, enabled bool) error {
	key := u.Username + "\x00totp"
	if wait := s.throttle.Wait(key, addr); wait > 0 {
		return &ThrottledError{Wait: wait}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("accounts: TOTP: %w", err)
	}
	defer tx.Rollback(ctx)
	var secret string
	var last int64
	err = tx.QueryRow(ctx, `SELECT totp_secret, totp_last_step FROM users WHERE id = $1 AND totp_enabled = $2 AND totp_secret <> '' FOR UPDATE`,
		u.ID, enabled).Scan(&secret, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: no authenticator to check", ErrBadCode)
	}
	if err != nil {
		return fmt.Errorf("accounts: TOTP: %w", err)
	}
	step, ok := matchCode(secret, strings.TrimSpace(strings.ReplaceAll(code, " ", "")), s.now(), last)
	if !ok {
		s.throttle.Failure(key, addr)
		_ = s.record(ctx, u.Actor(), "sign-in-code-failed", "from "+addr)
		return ErrBadCode
	}
	s.throttle.Success(key, addr)
	if _, err := tx.Exec(ctx, `UPDATE users SET totp_last_step = $2, totp_enabled = true WHERE id = $1`, u.ID, step); err != nil {
		return fmt.Errorf("accounts: TOTP: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("accounts: TOTP: %w", err)
	}
	if !enabled {
		return s.record(ctx, u.Actor(), "totp-enrol", "")
	}
	return nil
}

// matchCode finds the time step (one period either side of now) whose code
// is code and that is later than last, the last step accepted.
func matchCode(secret, code string, now time.Time, last int64) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	for _, off := range []int64{0, -1, 1} {
		step := now.Unix()/totpPeriod + off
		if step <= last {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// FinishSignIn marks a session's second factor given and records the
// sign-in.
func (s *Store) FinishSignIn(ctx context.Context, token string, u User, client string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE user_sessions SET totp_ok = true WHERE token_hash = $1`, hashToken(token)); err != nil {
		return fmt.Errorf("accounts: finish sign-in: %w", err)
	}
	return s.signedIn(ctx, u, client)
}
