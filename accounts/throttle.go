package accounts

import (
	"strings"
	"sync"
	"time"
)

// ThrottleConfig sets how failed sign-ins slow down further tries.
type ThrottleConfig struct {
	// FreeFailures from one address for one username cost nothing; after
	// them each further try from that address waits BaseDelay, doubling
	// with every failure up to MaxDelay (default 3, 1s, 15m).
	FreeFailures int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
	// Forget drops an address's count once it has not failed for this
	// long (default 1h).
	Forget time.Duration
	// UserLimit failures for one username within UserWindow, from all
	// addresses together, lock the username until the window has passed
	// (default 100 in 15m): far above what one address can reach in that
	// time with the delays above, so one attacker cannot lock a real
	// user out, while a spread-out attack still stops.
	UserLimit  int
	UserWindow time.Duration
}

func (c ThrottleConfig) withDefaults() ThrottleConfig {
	if c.FreeFailures <= 0 {
		c.FreeFailures = 3
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = time.Second
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 15 * time.Minute
	}
	if c.Forget <= 0 {
		c.Forget = time.Hour
	}
	if c.UserLimit <= 0 {
		c.UserLimit = 100
	}
	if c.UserWindow <= 0 {
		c.UserWindow = 15 * time.Minute
	}
	return c
}

// Throttle counts failed sign-ins per (username, client address), with an
// exponentially growing delay per pair, and per username across addresses
// with a much higher limit. It is held in memory by each iisd: behind a
// load balancer each process throttles what it sees.
type Throttle struct {
	cfg   ThrottleConfig
	now   func() time.Time
	mu    sync.Mutex
	pairs map[throttleKey]*failures
	users map[string][]time.Time
}

type throttleKey struct{ user, addr string }

type failures struct {
	n    int
	last time.Time
}

// NewThrottle returns a Throttle; now is the clock (nil: time.Now).
func NewThrottle(cfg ThrottleConfig, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{cfg: cfg.withDefaults(), now: now, pairs: map[throttleKey]*failures{}, users: map[string][]time.Time{}}
}

func normUser(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

// delay is how long after its last failure a pair with n failures waits.
func (t *Throttle) delay(n int) time.Duration {
	if n < t.cfg.FreeFailures {
		return 0
	}
	d := t.cfg.BaseDelay
	for i := t.cfg.FreeFailures; i < n && d < t.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.cfg.MaxDelay)
}

// Wait returns how long the client at addr must wait before trying
// username's password again; zero means it may try now.
func (t *Throttle) Wait(username, addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	user := normUser(username)
	var wait time.Duration
	if f := t.pair(user, addr, now); f != nil {
		wait = f.last.Add(t.delay(f.n)).Sub(now)
	}
	if fs := t.recent(user, now); len(fs) >= t.cfg.UserLimit {
		wait = max(wait, fs[len(fs)-t.cfg.UserLimit].Add(t.cfg.UserWindow).Sub(now))
	}
	return max(wait, 0)
}

// Failure records a failed sign-in of username from addr.
func (t *Throttle) Failure(username, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	user := normUser(username)
	f := t.pair(user, addr, now)
	if f == nil {
		if len(t.pairs) > 100_000 {
			t.sweep(now)
		}
		f = &failures{}
		t.pairs[throttleKey{user, addr}] = f
	}
	f.n++
	f.last = now
	t.users[user] = append(t.recent(user, now), now)
}

// Success forgets the failures of username from addr (not those from
// other addresses, nor the username's total).
func (t *Throttle) Success(username, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pairs, throttleKey{normUser(username), addr})
}

func (t *Throttle) pair(user, addr string, now time.Time) *failures {
	k := throttleKey{user, addr}
	f := t.pairs[k]
	if f != nil && now.Sub(f.last) > t.cfg.Forget+t.delay(f.n) {
		delete(t.pairs, k)
		return nil
	}
	return f
}

func (t *Throttle) recent(user string, now time.Time) []time.Time {
	fs := t.users[user]
	cut := now.Add(-t.cfg.UserWindow)
	i := 0
	for i < len(fs) && !fs[i].After(cut) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(t.users, user)
	} else {
		t.users[user] = fs
	}
	return fs
}

func (t *Throttle) sweep(now time.Time) {
	for k := range t.pairs {
		t.pair(k.user, k.addr, now)
	}
	for u := range t.users {
		t.recent(u, now)
	}
}
