package soap

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Facility is the authenticated sender of a message: the account that signed
// in and the facility it submits for.
type Facility struct {
	Username   string
	FacilityID string
}

type facilityKey struct{}

// ContextWithFacility returns a copy of ctx carrying f.
func ContextWithFacility(ctx context.Context, f Facility) context.Context {
	return context.WithValue(ctx, facilityKey{}, f)
}

// FacilityFromContext returns the facility the server authenticated for the
// request ctx belongs to.
func FacilityFromContext(ctx context.Context) (Facility, bool) {
	f, ok := ctx.Value(facilityKey{}).(Facility)
	return f, ok
}

// ErrUnauthorized is wrapped by every authentication refusal; the server
// answers such errors with a SecurityFault and any other error with an
// UnknownFault.
var ErrUnauthorized = errors.New("soap: unauthorized")

// Authenticator checks the credentials of a submitSingleMessage request.
type Authenticator interface {
	// Authenticate returns the facility the caller may submit for, or an
	// error wrapping ErrUnauthorized if the credentials are wrong or the
	// account may not submit for facilityID.
	Authenticate(ctx context.Context, username, password, facilityID string) (Facility, error)
}

// AuthenticatorFunc adapts an ordinary function to an [Authenticator].
type AuthenticatorFunc func(ctx context.Context, username, password, facilityID string) (Facility, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, username, password, facilityID string) (Facility, error) {
	return f(ctx, username, password, facilityID)
}

// Account is a configured SOAP account.
type Account struct {
	// Username is the value expected in the username element.
	Username string
	// PasswordHash is a bcrypt hash ("$2a$…", "$2b$…", "$2y$…", as
	// HashPassword makes) or an argon2id hash in PHC form
	// ("$argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>", unpadded base64).
	PasswordHash string
	// Facilities lists the facility IDs the account may submit for; "*"
	// allows any. A request with an empty facilityID is accepted for an
	// account with exactly one listed facility, which it then names.
	Facilities []string
}

// DefaultBcryptCost is the bcrypt cost HashPassword uses.
const DefaultBcryptCost = 12

// HashPassword returns a bcrypt hash of password for an [Account]'s
// PasswordHash.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), DefaultBcryptCost)
	if err != nil {
		return "", fmt.Errorf("soap: hashing password: %w", err)
	}
	return string(h), nil
}

// Accounts authenticates requests against configured accounts whose
// passwords are stored as bcrypt or argon2id hashes.
//
// An unknown username is checked against a dummy hash of the same kind and
// cost, so that it takes as long as a wrong password. Slow hash checks are
// limited to GOMAXPROCS at a time, so that a flood of bad credentials
// cannot take every core. Once a password has been verified for an account,
// a keyed SHA-256 digest of it (key random per process, compared in constant
// time) lets later requests with the same password skip the slow hash; only
// the most recent verified password is remembered per account, in memory.
type Accounts struct {
	byName map[string]*account
	dummy  verifier
	key    []byte
	sem    chan struct{}
}

type account struct {
	username   string
	verifier   verifier
	any        bool
	facilities map[string]bool
	single     string // the only facility, if exactly one is listed
	verified   atomic.Pointer[[sha256.Size]byte]
}

// NewAccounts checks the accounts' hashes and returns an authenticator over
// them.
func NewAccounts(accounts []Account) (*Accounts, error) {
	a := &Accounts{
		byName: make(map[string]*account, len(accounts)),
		key:    make([]byte, 32),
		sem:    make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	if _, err := rand.Read(a.key); err != nil {
		return nil, fmt.Errorf("soap: generating credential cache key: %w", err)
	}
	var model verifier
	for i, acc := range accounts {
		if acc.Username == "" {
			return nil, fmt.Errorf("soap: account %d has no username", i)
		}
		if _, dup := a.byName[acc.Username]; dup {
			return nil, fmt.Errorf("soap: account %q configured twice", acc.Username)
		}
		v, err := parseHash(acc.PasswordHash)
		if err != nil {
			return nil, fmt.Errorf("soap: account %q: %w", acc.Username, err)
		}
		if model == nil || v.slower(model) {
			model = v
		}
		ac := &account{username: acc.Username, verifier: v, facilities: map[string]bool{}}
		for _, f := range acc.Facilities {
			if f == "*" {
				ac.any = true
				continue
			}
			ac.facilities[f] = true
		}
		if !ac.any && len(ac.facilities) == 1 {
			ac.single = acc.Facilities[0]
		}
		a.byName[acc.Username] = ac
	}
	var err error
	if a.dummy, err = dummyLike(model); err != nil {
		return nil, err
	}
	return a, nil
}

// Authenticate implements [Authenticator].
func (a *Accounts) Authenticate(ctx context.Context, username, password, facilityID string) (Facility, error) {
	acc := a.byName[username]
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(username))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	var digest [sha256.Size]byte
	mac.Sum(digest[:0])

	ok := false
	if acc != nil {
		if known := acc.verified.Load(); known != nil && hmac.Equal(known[:], digest[:]) {
			ok = true
		}
	}
	if !ok {
		select {
		case a.sem <- struct{}{}:
		case <-ctx.Done():
			return Facility{}, fmt.Errorf("soap: waiting to check credentials: %w", ctx.Err())
		}
		if acc == nil {
			a.dummy.verify(password)
		} else {
			ok = acc.verifier.verify(password)
		}
		<-a.sem
		if !ok {
			return Facility{}, fmt.Errorf("%w: bad username or password", ErrUnauthorized)
		}
		acc.verified.Store(&digest)
	}
	switch {
	case facilityID == "" && acc.single != "":
		facilityID = acc.single
	case facilityID == "":
		return Facility{}, fmt.Errorf("%w: no facilityID given and account has no single facility", ErrUnauthorized)
	case !acc.any && !acc.facilities[facilityID]:
		return Facility{}, fmt.Errorf("%w: facility not authorised for account", ErrUnauthorized)
	}
	return Facility{Username: username, FacilityID: facilityID}, nil
}

// verifier checks a password against one stored hash.
type verifier interface {
	verify(password string) bool
	slower(than verifier) bool // whether checking costs more than with than
}

func parseHash(s string) (verifier, error) {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		cost, err := bcrypt.Cost([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("bad bcrypt hash: %w", err)
		}
		return bcryptHash{hash: []byte(s), cost: cost}, nil
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2id(s)
	case s == "":
		return nil, errors.New("no password hash")
	}
	return nil, errors.New("password hash is neither bcrypt nor argon2id (plain-text passwords are not accepted)")
}

type bcryptHash struct {
	hash []byte
	cost int
}

func (h bcryptHash) verify(password string) bool {
	return bcrypt.CompareHashAndPassword(h.hash, []byte(password)) == nil
}

func (h bcryptHash) slower(than verifier) bool {
	o, ok := than.(bcryptHash)
	return !ok || h.cost > o.cost
}

type argon2idHash struct {
	time, memory uint32
	threads      uint8
	salt, key    []byte
}

func parseArgon2id(s string) (verifier, error) {
	// $argon2id$v=19$m=65536,t=3,p=2$salt$key
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[2] != "v=19" {
		return nil, errors.New("bad argon2id hash: want $argon2id$v=19$m=…,t=…,p=…$salt$key")
	}
	h := argon2idHash{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad argon2id parameter %q: %w", kv, err)
		}
		switch k {
		case "m":
			h.memory = uint32(n)
		case "t":
			h.time = uint32(n)
		case "p":
			if n > 255 {
				return nil, fmt.Errorf("bad argon2id parallelism %d", n)
			}
			h.threads = uint8(n)
		default:
			return nil, fmt.Errorf("unknown argon2id parameter %q", k)
		}
	}
	if h.memory < 8 || h.memory > 4<<20 || h.time < 1 || h.time > 100 || h.threads < 1 {
		return nil, fmt.Errorf("argon2id parameters out of range: %s", parts[3])
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return nil, fmt.Errorf("bad argon2id salt: %w", err)
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil {
		return nil, fmt.Errorf("bad argon2id key: %w", err)
	}
	if len(h.key) < 16 || len(h.salt) < 8 {
		return nil, errors.New("argon2id salt or key too short")
	}
	return h, nil
}

func (h argon2idHash) verify(password string) bool {
	k := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(k, h.key) == 1
}

func (h argon2idHash) slower(than verifier) bool {
	o, ok := than.(argon2idHash)
	return ok && uint64(h.time)*uint64(h.memory) > uint64(o.time)*uint64(o.memory)
}

// dummyLike returns a verifier of a random password that costs as much to
// check as model (bcrypt at the default cost if there is no model).
func dummyLike(model verifier) (verifier, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("soap: generating dummy password: %w", err)
	}
	switch m := model.(type) {
	case argon2idHash:
		salt := make([]byte, len(m.salt))
		if _, err := rand.Read(salt); err != nil {
			return nil, fmt.Errorf("soap: generating dummy salt: %w", err)
		}
		m.key = argon2.IDKey(secret, salt, m.time, m.memory, m.threads, uint32(len(m.key)))
		m.salt = salt
		return m, nil
	case bcryptHash:
		return newBcryptDummy(secret, m.cost)
	}
	return newBcryptDummy(secret, bcrypt.DefaultCost)
}

func newBcryptDummy(secret []byte, cost int) (verifier, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(base64.RawStdEncoding.EncodeToString(secret)), cost)
	if err != nil {
		return nil, fmt.Errorf("soap: hashing dummy password: %w", err)
	}
	return bcryptHash{hash: h, cost: cost}, nil
}
