package accounts

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The store's throttle keeps failures in signin_failures, so that every
// iisd behind a load balancer sees them all; the rule is ThrottleConfig's.

// throttleWait is how long addr must wait before trying username (kind
// "password" or "code") again.
func (s *Store) throttleWait(ctx context.Context, kind, username, addr string) (time.Duration, error) {
	c, now, user := s.tcfg, s.now(), normUser(username)
	var pair, recent []time.Time
	err := s.pool.QueryRow(ctx, `SELECT
			coalesce((SELECT array_agg(at ORDER BY at) FROM signin_failures WHERE kind = $1 AND username = $2 AND addr = $3 AND at > $4), '{}'),
			coalesce((SELECT array_agg(at) FROM (SELECT at FROM signin_failures WHERE kind = $1 AND username = $2 AND at > $5
				ORDER BY at DESC LIMIT $6) t), '{}')`,
		kind, user, addr, now.Add(-c.Forget), now.Add(-c.UserWindow), c.UserLimit).Scan(&pair, &recent)
	if err != nil {
		return 0, fmt.Errorf("accounts: throttle: %w", err)
	}
	slices.SortFunc(recent, func(a, b time.Time) int { return a.Compare(b) })
	return c.wait(pair, recent, now), nil
}

func (s *Store) throttleFailure(ctx context.Context, kind, username, addr string) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO signin_failures (kind, username, addr, at) VALUES ($1, $2, $3, $4)`,
		kind, normUser(username), addr, s.now()); err != nil {
		return fmt.Errorf("accounts: throttle: %w", err)
	}
	return nil
}

func (s *Store) throttleSuccess(ctx context.Context, kind, username, addr string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM signin_failures WHERE kind = $1 AND username = $2 AND addr = $3`,
		kind, normUser(username), addr); err != nil {
		return fmt.Errorf("accounts: throttle: %w", err)
	}
	return nil
}

// purgeFailures drops failures past both windows.
func (s *Store) purgeFailures(ctx context.Context) error {
	cut := s.now().Add(-max(s.tcfg.Forget, s.tcfg.UserWindow))
	if _, err := s.pool.Exec(ctx, `DELETE FROM signin_failures WHERE at <= $1`, cut); err != nil {
		return fmt.Errorf("accounts: purge failures: %w", err)
	}
	return nil
}
