package smart

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwksHost publishes JWK Sets and counts the fetches.
type jwksHost struct {
	mu      sync.Mutex
	body    string
	cc      string
	fetches atomic.Int32
}

func (h *jwksHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.fetches.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cc != "" {
		w.Header().Set("Cache-Control", h.cc)
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write([]byte(h.body))
}

func (h *jwksHost) publish(t *testing.T, cc string, keys map[string]crypto.Signer) {
	t.Helper()
	var set jose.JSONWebKeySet
	for kid, k := range keys {
		js, err := PublicJWKS(k, kid)
		if err != nil {
			t.Fatal(err)
		}
		var one jose.JSONWebKeySet
		if err := json.Unmarshal([]byte(js), &one); err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, one.Keys...)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.body, h.cc = string(b), cc
	h.mu.Unlock()
}

// TestJWKSURLKept checks that a JWK Set registered by URL is fetched once
// for many token requests, again when it expires (Cache-Control max-age)
// and when an assertion names a kid it lacks (a rotation), but not for
// every made-up kid.
func TestJWKSURLKept(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	ts := newTestServer(t, func(c *Config) { c.Now = now })
	host := &jwksHost{}
	keys := httptest.NewServer(host)
	t.Cleanup(keys.Close)
	old, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rotated, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	host.publish(t, "public, max-age=120", map[string]crypto.Signer{"old": old})
	sc, _ := ParseScopes("system/*.rs")
	if err := ts.store.Register(context.Background(), Client{ID: "by-url", Name: "by url", Scopes: sc, JWKSURL: keys.URL + "/jwks.json"}); err != nil {
		t.Fatal(err)
	}
	ask := func(key crypto.Signer, kid string) int {
		t.Helper()
		a, err := SignAssertion(key, kid, "by-url", ts.tokenURL(), now())
		if err != nil {
			t.Fatal(err)
		}
		status, _ := ts.askToken(t, a, "system/Patient.rs")
		return status
	}
	for _, step := range []struct {
		name        string
		advance     time.Duration
		key         crypto.Signer
		kid         string
		wantStatus  int
		wantFetches int32
	}{
		{"first request fetches", 0, old, "old", 200, 1},
		{"second is answered from the kept set", 0, old, "old", 200, 1},
		{"third too", 30 * time.Second, old, "old", 200, 1},
		{"a made-up kid refetches once", 0, old, "made-up", 401, 2},
		{"another made-up kid soon after does not", 0, old, "made-up-2", 401, 2},
		{"the rotated key, soon after, is not seen yet", 0, rotated, "new", 401, 2},
		{"the rotated key after minRefetch refetches", minRefetch + time.Second, rotated, "new", 200, 3},
		{"the old key is still published", 0, old, "old", 200, 3},
		{"after max-age the set is fetched again", 121 * time.Second, old, "old", 200, 4},
	} {
		if step.name == "the rotated key, soon after, is not seen yet" {
			host.publish(t, "max-age=120", map[string]crypto.Signer{"old": old, "new": rotated})
		}
		advance(step.advance)
		if got := ask(step.key, step.kid); got != step.wantStatus {
			t.Errorf("%s: status %d, want %d", step.name, got, step.wantStatus)
		}
		if got := host.fetches.Load(); got != step.wantFetches {
			t.Errorf("%s: %d fetches, want %d", step.name, got, step.wantFetches)
		}
	}
}

func TestJWKSURLBounds(t *testing.T) {
	host := &jwksHost{body: `{"keys":[` + strings.Repeat(" ", maxKeysBody) + `]}`}
	srv := httptest.NewServer(host)
	t.Cleanup(srv.Close)
	kc := newKeyCache(srv.Client(), time.Now)
	if _, err := kc.keys(t.Context(), Client{ID: "big", JWKSURL: srv.URL}, ""); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("an oversized JWK Set: %v, want an error", err)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(slow.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := kc.keys(ctx, Client{ID: "slow", JWKSURL: slow.URL}, ""); err == nil {
		t.Errorf("a JWK Set that never comes: no error")
	}
}

func TestKeysAge(t *testing.T) {
	for _, tc := range []struct {
		cc   string
		want time.Duration
	}{
		{"", defaultKeysAge},
		{"public, max-age=600", 10 * time.Minute},
		{"max-age=5", minKeysAge},
		{"max-age=31536000", maxKeysAge},
		{"max-age=99999999999999999999", maxKeysAge},
		{"no-store", minKeysAge},
		{"private, no-cache", minKeysAge},
		{"max-age=abc", defaultKeysAge},
		{"max-age=-3", defaultKeysAge},
		{`MAX-AGE="900"`, 15 * time.Minute},
	} {
		if got := keysAge(tc.cc); got != tc.want {
			t.Errorf("keysAge(%q) = %v, want %v", tc.cc, got, tc.want)
		}
	}
}
