// Package smart authorizes FHIR clients the way SMART Backend Services
// does: a client registered with its public keys (JWKS) signs a JWT
// assertion, trades it for a short-lived access token with
// client_credentials, and every FHIR request carries that token. What a
// token allows is a Grant: the client, the facility it acts for, and its
// scopes in SMART v2 syntax (system/Patient.rs, system/*.r, …).
//
// The FHIR API and Bulk Data export ask a Grant, taken from the request's
// context, whether a resource type may be read or searched.
package smart

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Grant is what an access token lets its client do.
type Grant struct {
	// ClientID is the registered client's id (the JWT's iss and sub).
	ClientID string
	// ClientName is the client's name for people (audit, console).
	ClientName string
	// FacilityID is the facility (MSH-4 id) the client acts for; empty
	// for a client of the state program with statewide reach.
	FacilityID string
	// Scopes are the scopes granted (a subset of those asked for and of
	// those the client is registered with).
	Scopes []Scope
	// Expires is when the token stops being accepted.
	Expires time.Time
}

// Statewide reports whether the grant is not limited to one facility's
// patients.
func (g Grant) Statewide() bool { return g.FacilityID == "" }

// Allows reports whether g lets its client do perm ('c', 'r', 'u', 'd'
// or 's': create, read, update, delete, search) on resourceType.
func (g Grant) Allows(resourceType string, perm byte) bool {
	for _, s := range g.Scopes {
		if s.Allows(resourceType, perm) {
			return true
		}
	}
	return false
}

// Scope is one SMART scope: context/resource.permissions.
type Scope struct {
	Context  string // "system", "user" or "patient"
	Resource string // a FHIR resource type, or "*"
	Perms    string // a subset of "cruds", in that order
}

// String gives the scope in SMART v2 syntax.
func (s Scope) String() string { return s.Context + "/" + s.Resource + "." + s.Perms }

// Allows reports whether s lets its holder do perm on resourceType.
func (s Scope) Allows(resourceType string, perm byte) bool {
	if s.Resource != "*" && s.Resource != resourceType {
		return false
	}
	return strings.IndexByte(s.Perms, perm) >= 0
}

// Within reports whether s asks for nothing more than t grants.
func (s Scope) Within(t Scope) bool {
	if s.Context != t.Context || (t.Resource != "*" && t.Resource != s.Resource) {
		return false
	}
	for i := 0; i < len(s.Perms); i++ {
		if strings.IndexByte(t.Perms, s.Perms[i]) < 0 {
			return false
		}
	}
	return true
}

// ParseScope reads one scope. SMART v2 permissions ("rs", "cruds") are
// taken as they are; the v1 forms ".read", ".write" and ".*" are read as
// "rs", "cud" and "cruds".
func ParseScope(text string) (Scope, error) {
	ctx, rest, ok := strings.Cut(text, "/")
	if !ok || (ctx != "system" && ctx != "user" && ctx != "patient") {
		return Scope{}, fmt.Errorf("scope %q: want system/, user/ or patient/ first", text)
	}
	res, perms, ok := strings.Cut(rest, ".")
	if !ok || res == "" || !validResource(res) {
		return Scope{}, fmt.Errorf("scope %q: want a resource type or * before the dot", text)
	}
	switch perms {
	case "read":
		perms = "rs"
	case "write":
		perms = "cud"
	case "*":
		perms = "cruds"
	}
	if perms, _, _ = strings.Cut(perms, "?"); !ordered(perms) {
		return Scope{}, fmt.Errorf("scope %q: permissions must be letters of cruds, in that order", text)
	}
	return Scope{Context: ctx, Resource: res, Perms: perms}, nil
}

// ParseScopes reads a space-separated list of scopes.
func ParseScopes(text string) ([]Scope, error) {
	var out []Scope
	for _, f := range strings.Fields(text) {
		s, err := ParseScope(f)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// FormatScopes writes scopes as a space-separated list.
func FormatScopes(scopes []Scope) string {
	parts := make([]string, len(scopes))
	for i, s := range scopes {
		parts[i] = s.String()
	}
	return strings.Join(parts, " ")
}

func validResource(r string) bool {
	if r == "*" {
		return true
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return r[0] >= 'A' && r[0] <= 'Z'
}

func ordered(perms string) bool {
	const all = "cruds"
	if perms == "" {
		return false
	}
	at := 0
	for i := 0; i < len(perms); i++ {
		j := strings.IndexByte(all[at:], perms[i])
		if j < 0 {
			return false
		}
		at += j + 1
	}
	return true
}

type grantKey struct{}

// NewContext returns ctx carrying g.
func NewContext(ctx context.Context, g Grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// FromContext returns the grant ctx carries, if any.
func FromContext(ctx context.Context) (Grant, bool) {
	g, ok := ctx.Value(grantKey{}).(Grant)
	return g, ok
}
