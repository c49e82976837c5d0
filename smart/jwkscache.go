package smart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The JWK Sets of clients registered by URL are kept between token
// requests: for the max-age of the answer's Cache-Control, within
// [minKeysAge, maxKeysAge], or defaultKeysAge without one. An assertion
// whose kid the kept set lacks (the client rotated its keys) fetches the
// set again, once, and at most once per minRefetch for a client, so that
// assertions naming made-up kids cannot make the server hammer a client's
// URL.
const (
	defaultKeysAge = 5 * time.Minute
	minKeysAge     = time.Minute
	maxKeysAge     = time.Hour
	minRefetch     = 10 * time.Second
	maxKeysBody    = 256 << 10
	keysTimeout    = 5 * time.Second
)

// keyCache keeps the fetched JWK Sets, per client.
type keyCache struct {
	http *http.Client
	now  func() time.Time
	mu   sync.Mutex
	sets map[string]*keptSet
}

// keptSet is a client's fetched set; its mutex is held while it is
// fetched, so that concurrent requests wait for one fetch.
type keptSet struct {
	mu      sync.Mutex
	url     string
	set     jose.JSONWebKeySet
	fetched time.Time
	expires time.Time
}

func newKeyCache(c *http.Client, now func() time.Time) *keyCache {
	return &keyCache{http: c, now: now, sets: map[string]*keptSet{}}
}

// keys returns the JWK Set at c's URL, kept or fetched; kid is the key the
// assertion names ("" for none).
func (kc *keyCache) keys(ctx context.Context, c Client, kid string) (jose.JSONWebKeySet, error) {
	kc.mu.Lock()
	k := kc.sets[c.ID]
	if k == nil {
		k = &keptSet{}
		kc.sets[c.ID] = k
	}
	kc.mu.Unlock()

	k.mu.Lock()
	defer k.mu.Unlock()
	now := kc.now()
	valid := k.url == c.JWKSURL && now.Before(k.expires)
	if valid && (kid == "" || len(k.set.Key(kid)) > 0 || now.Sub(k.fetched) < minRefetch) {
		return k.set, nil
	}
	set, age, err := kc.fetch(ctx, c.JWKSURL)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	k.url, k.set, k.fetched, k.expires = c.JWKSURL, set, now, now.Add(age)
	return set, nil
}

// fetch gets and parses the JWK Set at url, with how long it may be kept.
func (kc *keyCache) fetch(ctx context.Context, url string) (jose.JSONWebKeySet, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, keysTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return jose.JSONWebKeySet{}, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := kc.http.Do(req)
	if err != nil {
		return jose.JSONWebKeySet{}, 0, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jose.JSONWebKeySet{}, 0, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBody+1))
	if err != nil {
		return jose.JSONWebKeySet{}, 0, fmt.Errorf("fetch %s: %w", url, err)
	}
	if len(b) > maxKeysBody {
		return jose.JSONWebKeySet{}, 0, fmt.Errorf("fetch %s: a JWK Set of more than %d bytes", url, maxKeysBody)
	}
	set, err := parseJWKS(b)
	if err != nil {
		return set, 0, fmt.Errorf("fetch %s: %w", url, err)
	}
	return set, keysAge(resp.Header.Get("Cache-Control")), nil
}

// keysAge is how long a JWK Set answered with Cache-Control cc is kept.
func keysAge(cc string) time.Duration {
	age := defaultKeysAge
	for _, d := range strings.Split(cc, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(strings.ToLower(d)), "=")
		switch name {
		case "no-store", "no-cache":
			return minKeysAge
		case "max-age":
			n, err := strconv.ParseUint(strings.Trim(value, `"`), 10, 64)
			switch {
			case errors.Is(err, strconv.ErrRange): // too great: the greatest (RFC 9111 §1.2.2)
				age = maxKeysAge
			case err == nil:
				age = time.Duration(min(n, uint64(maxKeysAge/time.Second))) * time.Second
			}
		}
	}
	return min(max(age, minKeysAge), maxKeysAge)
}
