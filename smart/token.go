package smart

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The assertion type SMART Backend Services requires.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// MaxAssertionLife is how far ahead of now an assertion's exp may be.
const MaxAssertionLife = 5 * time.Minute

// Auditor records who was issued a token (registry.(*Store).RecordAudit
// through an adapter).
type Auditor interface {
	Audit(ctx context.Context, actor, action, detail string) error
}

// Config configures the authorization server.
type Config struct {
	Store *Store
	// TokenURL is the token endpoint's address, the aud assertions must
	// carry; empty: derived from each request (scheme and Host).
	TokenURL string
	TokenTTL time.Duration // life of an access token (default 5 minutes)
	// HTTPClient fetches JWK Sets registered by URL (default: 10 s timeout;
	// each fetch is bounded to 5 s and 256 KiB, and kept, see keyCache).
	HTTPClient *http.Client
	Audit      Auditor // optional
	Logger     *slog.Logger
	Now        func() time.Time
}

// Server is the authorization server: the token endpoint, the SMART
// configuration, and the middleware that checks tokens.
type Server struct {
	cfg     Config
	fetched *keyCache // the JWK Sets of clients registered by URL
}

// New returns the server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("smart: a store is required")
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 5 * time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, fetched: newKeyCache(cfg.HTTPClient, cfg.Now)}, nil
}

// Register adds the unauthenticated endpoints: POST /auth/token and
// GET /.well-known/smart-configuration.
func (s *Server) Register(handle func(pattern string, h http.Handler)) {
	handle("POST /auth/token", http.HandlerFunc(s.serveToken))
	handle("GET /.well-known/smart-configuration", http.HandlerFunc(s.serveConfiguration))
}

func (s *Server) tokenURL(r *http.Request) string {
	if s.cfg.TokenURL != "" {
		return s.cfg.TokenURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/auth/token"
}

// oauthError is a token endpoint refusal (RFC 6749 section 5.2).
type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func refuse(status int, code, format string, args ...any) *oauthError {
	return &oauthError{status: status, code: code, desc: fmt.Sprintf(format, args...)}
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	resp, err := s.issue(r)
	if err != nil {
		var oe *oauthError
		if !errors.As(err, &oe) {
			s.cfg.Logger.Error("token endpoint", "err", err)
			oe = refuse(http.StatusInternalServerError, "server_error", "the token could not be issued")
		}
		s.cfg.Logger.Info("token refused", "code", oe.code, "reason", oe.desc)
		w.WriteHeader(oe.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": oe.code, "error_description": oe.desc})
		return
	}
	_ = json.NewEncoder(w).Encode(resp)
}

// issue checks a client_credentials request and issues its token.
func (s *Server) issue(r *http.Request) (tokenResponse, error) {
	if err := r.ParseForm(); err != nil {
		return tokenResponse{}, refuse(http.StatusBadRequest, "invalid_request", "the body is not a form")
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		return tokenResponse{}, refuse(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
	}
	if f.Get("client_assertion_type") != assertionType {
		return tokenResponse{}, refuse(http.StatusBadRequest, "invalid_request", "client_assertion_type must be %s", assertionType)
	}
	ctx := r.Context()
	client, err := s.verifyAssertion(ctx, f.Get("client_assertion"), s.tokenURL(r))
	if err != nil {
		return tokenResponse{}, err
	}
	asked, err := ParseScopes(f.Get("scope"))
	if err != nil || len(asked) == 0 {
		return tokenResponse{}, refuse(http.StatusBadRequest, "invalid_scope", "scope: give one or more SMART scopes")
	}
	granted := Intersect(asked, client.Scopes)
	if len(granted) == 0 {
		return tokenResponse{}, refuse(http.StatusBadRequest, "invalid_scope", "none of the scopes asked for is allowed to this client")
	}
	g := Grant{ClientID: client.ID, ClientName: client.Name, FacilityID: client.FacilityID, Scopes: granted,
		Expires: s.cfg.Now().Add(s.cfg.TokenTTL)}
	token, err := newToken()
	if err != nil {
		return tokenResponse{}, err
	}
	if err := s.cfg.Store.SaveToken(ctx, token, g); err != nil {
		return tokenResponse{}, err
	}
	if s.cfg.Audit != nil {
		if err := s.cfg.Audit.Audit(ctx, "client:"+client.ID, "fhir-token", FormatScopes(granted)); err != nil {
			return tokenResponse{}, err
		}
	}
	return tokenResponse{AccessToken: token, TokenType: "bearer", ExpiresIn: int(s.cfg.TokenTTL / time.Second), Scope: FormatScopes(granted)}, nil
}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("smart: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

var assertionAlgs = []jose.SignatureAlgorithm{jose.RS384, jose.ES384}

// verifyAssertion checks the client's signed JWT: its signature against
// the client's keys, iss = sub = a registered enabled client, aud = the
// token URL, exp no more than five minutes ahead, a jti never seen.
func (s *Server) verifyAssertion(ctx context.Context, assertion, aud string) (Client, error) {
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return Client{}, refuse(http.StatusBadRequest, "invalid_client", "client_assertion: not a JWT signed RS384 or ES384")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer == "" {
		return Client{}, refuse(http.StatusBadRequest, "invalid_client", "client_assertion: no iss")
	}
	client, err := s.cfg.Store.Client(ctx, unverified.Issuer)
	if errors.Is(err, ErrNoClient) || err == nil && !client.Enabled {
		return Client{}, refuse(http.StatusUnauthorized, "invalid_client", "unknown or disabled client")
	}
	if err != nil {
		return Client{}, err
	}
	claims, err := s.verifySignature(ctx, tok, client)
	if err != nil {
		return Client{}, err
	}
	if err := s.checkClaims(claims, client.ID, aud); err != nil {
		return Client{}, err
	}
	fresh, err := s.cfg.Store.UseJTI(ctx, client.ID, claims.ID, claims.Expiry.Time())
	if err != nil {
		return Client{}, err
	}
	if !fresh {
		return Client{}, refuse(http.StatusUnauthorized, "invalid_client", "client_assertion: jti already used")
	}
	return client, nil
}

func (s *Server) verifySignature(ctx context.Context, tok *jwt.JSONWebToken, c Client) (jwt.Claims, error) {
	kid := tok.Headers[0].KeyID
	set, err := s.keys(ctx, c, kid)
	if err != nil {
		return jwt.Claims{}, refuse(http.StatusUnauthorized, "invalid_client", "the client's keys: %v", err)
	}
	candidates := set.Keys
	if kid != "" {
		candidates = set.Key(kid)
	}
	for _, k := range candidates {
		var claims jwt.Claims
		if err := tok.Claims(k.Public().Key, &claims); err == nil {
			return claims, nil
		}
	}
	return jwt.Claims{}, refuse(http.StatusUnauthorized, "invalid_client", "client_assertion: the signature matches none of the client's keys")
}

func (s *Server) checkClaims(c jwt.Claims, clientID, aud string) error {
	now := s.cfg.Now()
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: clientID, Subject: clientID, AnyAudience: jwt.Audience{aud}, Time: now}, 30*time.Second); err != nil {
		return refuse(http.StatusUnauthorized, "invalid_client", "client_assertion: %v (aud must be %s)", err, aud)
	}
	if c.Expiry == nil || c.Expiry.Time().After(now.Add(MaxAssertionLife+30*time.Second)) {
		return refuse(http.StatusUnauthorized, "invalid_client", "client_assertion: exp must be at most 5 minutes ahead")
	}
	if c.ID == "" {
		return refuse(http.StatusUnauthorized, "invalid_client", "client_assertion: jti is required")
	}
	return nil
}

// keys returns the client's JWK Set, inline or from its URL (kept, see
// keyCache); kid is the key the assertion names.
func (s *Server) keys(ctx context.Context, c Client, kid string) (jose.JSONWebKeySet, error) {
	if c.JWKS != "" {
		return parseJWKS([]byte(c.JWKS))
	}
	return s.fetched.keys(ctx, c, kid)
}

func parseJWKS(b []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return set, fmt.Errorf("JWK Set: %w", err)
	}
	if len(set.Keys) == 0 {
		return set, errors.New("JWK Set: no keys")
	}
	for _, k := range set.Keys {
		if !k.Valid() {
			return set, fmt.Errorf("JWK Set: key %q is not valid", k.KeyID)
		}
	}
	return set, nil
}

// Intersect returns the scopes both asked and allowed grant: for each
// pair of the same context, the narrower resource and the permissions
// both hold.
func Intersect(asked, allowed []Scope) []Scope {
	var out []Scope
	seen := map[Scope]bool{}
	for _, a := range asked {
		for _, b := range allowed {
			s, ok := intersect(a, b)
			if ok && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

func intersect(a, b Scope) (Scope, bool) {
	if a.Context != b.Context {
		return Scope{}, false
	}
	res := a.Resource
	switch {
	case a.Resource == "*":
		res = b.Resource
	case b.Resource != "*" && b.Resource != a.Resource:
		return Scope{}, false
	}
	var perms strings.Builder
	for i := 0; i < len(a.Perms); i++ {
		if strings.IndexByte(b.Perms, a.Perms[i]) >= 0 {
			perms.WriteByte(a.Perms[i])
		}
	}
	if perms.Len() == 0 {
		return Scope{}, false
	}
	return Scope{Context: a.Context, Resource: res, Perms: perms.String()}, true
}

func (s *Server) serveConfiguration(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                strings.TrimSuffix(s.tokenURL(r), "/auth/token"),
		"token_endpoint":                        s.tokenURL(r),
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"grant_types_supported":                            []string{"client_credentials"},
		"scopes_supported": []string{"system/Patient.rs", "system/Immunization.rs", "system/ImmunizationRecommendation.rs",
			"system/Group.rs", "system/Group.cruds", "system/*.rs"},
		"capabilities": []string{"client-confidential-asymmetric", "permission-v2"},
	})
}
