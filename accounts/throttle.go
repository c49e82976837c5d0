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
	// Forget: an address's failures count for this long (default 1h).
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

// wait is the throttling rule: pair holds the failures of one (username,
// address) within Forget, user the most recent failures of the username
// within UserWindow (at least UserLimit of them if there are), both oldest
// first.
func (c ThrottleConfig) wait(pair, user []time.Time, now time.Time) time.Duration {
	var w time.Duration
	if n := len(pair); n > 0 {
		w = pair[n-1].Add(c.delay(n)).Sub(now)
	}
	if len(user) >= c.UserLimit {
		w = max(w, user[len(user)-c.UserLimit].Add(c.UserWindow).Sub(now))
	}
	return max(w, 0)
}

// delay is how long after its last failure a pair with n failures waits.
func (c ThrottleConfig) delay(n int) time.Duration {
	if n < c.FreeFailures {
		return 0
	}
	d := c.BaseDelay
	for i := c.FreeFailures; i < n && d < c.MaxDelay; i++ {
		d *= 2
	}
	return min(d, c.MaxDelay)
}

// Throttle applies the rule to failures counted in memory, for one
// process; the accounts Store keeps its failures in PostgreSQL instead, so
// that every iisd behind a load balancer counts the same ones.
type Throttle struct {
	cfg   ThrottleConfig
	now   func() time.Time
	mu    sync.Mutex
	pairs map[throttleKey][]time.Time
	users map[string][]time.Time
}

type throttleKey struct{ user, addr string }

// NewThrottle returns a Throttle; now is the clock (nil: time.Now).
func NewThrottle(cfg ThrottleConfig, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{cfg: cfg.withDefaults(), now: now, pairs: map[throttleKey][]time.Time{}, users: map[string][]time.Time{}}
}

func normUser(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

// Wait returns how long the client at addr must wait before trying
// username's password again; zero means it may try now.
func (t *Throttle) Wait(username, addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	user := normUser(username)
	return t.cfg.wait(t.pair(user, addr, now), t.recent(user, now), now)
}

// Failure records a failed sign-in of username from addr.
func (t *Throttle) Failure(username, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	user := normUser(username)
	if len(t.pairs) > 100_000 {
		t.sweep(now)
	}
	k := throttleKey{user, addr}
	t.pairs[k] = append(t.pair(user, addr, now), now)
	t.users[user] = append(t.recent(user, now), now)
}

// Success forgets the failures of username from addr (not those from
// other addresses, nor the username's total).
func (t *Throttle) Success(username, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pairs, throttleKey{normUser(username), addr})
}

func (t *Throttle) pair(user, addr string, now time.Time) []time.Time {
	k := throttleKey{user, addr}
	fs := since(t.pairs[k], now.Add(-t.cfg.Forget))
	if len(fs) == 0 {
		delete(t.pairs, k)
	} else {
		t.pairs[k] = fs
	}
	return fs
}

func (t *Throttle) recent(user string, now time.Time) []time.Time {
	fs := since(t.users[user], now.Add(-t.cfg.UserWindow))
	if len(fs) == 0 {
		delete(t.users, user)
	} else {
		t.users[user] = fs
	}
	return fs
}

// since drops the times not after cut from the sorted fs.
func since(fs []time.Time, cut time.Time) []time.Time {
	i := 0
	for i < len(fs) && !fs[i].After(cut) {
		i++
	}
	return fs[i:]
}

func (t *Throttle) sweep(now time.Time) {
	for k := range t.pairs {
		t.pair(k.user, k.addr, now)
	}
	for u := range t.users {
		t.recent(u, now)
	}
}
