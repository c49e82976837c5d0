package smart

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// testServer is the authorization server on a fresh database, behind an
// httptest server whose token URL assertions must name.
type testServer struct {
	srv   *Server
	store *Store
	http  *httptest.Server
}

// newTestServer starts the server with the default Config, or as each of
// configure changes it.
func newTestServer(t testing.TB, configure ...func(*Config)) *testServer {
	t.Helper()
	ctx := context.Background()
	reg, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	st := NewStore(reg.Pool())
	cfg := Config{Store: st}
	for _, c := range configure {
		c(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux.Handle)
	mux.Handle("GET /fhir/whoami", srv.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g, _ := FromContext(r.Context())
		w.Write([]byte(g.ClientID + " " + g.FacilityID + " " + FormatScopes(g.Scopes)))
	})))
	mux.Handle("GET /fhir/metadata", srv.Identify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g, ok := FromContext(r.Context())
		fmt.Fprintf(w, "grant=%v %s", ok, g.ClientID)
	})))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &testServer{srv: srv, store: st, http: ts}
}

func (ts *testServer) register(t *testing.T, id, facility, scopes string, key crypto.Signer) {
	t.Helper()
	jwks, err := PublicJWKS(key, id+"-key")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ParseScopes(scopes)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.store.Register(context.Background(), Client{ID: id, Name: id, FacilityID: facility, Scopes: sc, JWKS: jwks}); err != nil {
		t.Fatal(err)
	}
}

func (ts *testServer) tokenURL() string { return ts.http.URL + "/auth/token" }

// askToken posts a client_credentials request with assertion; it returns
// the status and the decoded JSON answer.
func (ts *testServer) askToken(t *testing.T, assertion, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {assertionType},
		"client_assertion": {assertion}, "scope": {scope}}
	resp, err := http.PostForm(ts.tokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func TestTokenFlow(t *testing.T) {
	ts := newTestServer(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ts.register(t, "ehr-rsa", "CLINIC1", "system/Patient.rs system/Group.cruds", rsaKey)
	ts.register(t, "ehr-ec", "", "system/*.rs", ecKey)
	now := time.Now()

	for _, tc := range []struct {
		name      string
		key       crypto.Signer
		client    string
		aud       string
		scope     string
		wantScope string
		wantErr   string
	}{
		{name: "RS384, scopes narrowed", key: rsaKey, client: "ehr-rsa", scope: "system/Patient.rs system/Immunization.rs system/Group.r",
			wantScope: "system/Patient.rs system/Group.r"},
		{name: "ES384, wildcard meets wildcard", key: ecKey, client: "ehr-ec", scope: "system/*.r", wantScope: "system/*.r"},
		{name: "ES384, one type of the wildcard", key: ecKey, client: "ehr-ec", scope: "system/Immunization.rs", wantScope: "system/Immunization.rs"},
		{name: "wrong key", key: otherKey, client: "ehr-ec", scope: "system/*.r", wantErr: "invalid_client"},
		{name: "unknown client", key: ecKey, client: "nobody", scope: "system/*.r", wantErr: "invalid_client"},
		{name: "wrong audience", key: ecKey, client: "ehr-ec", aud: "https://elsewhere/auth/token", scope: "system/*.r", wantErr: "invalid_client"},
		{name: "no scope allowed", key: rsaKey, client: "ehr-rsa", scope: "system/Immunization.rs", wantErr: "invalid_scope"},
		{name: "write not allowed", key: ecKey, client: "ehr-ec", scope: "system/Patient.cud", wantErr: "invalid_scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aud := tc.aud
			if aud == "" {
				aud = ts.tokenURL()
			}
			a, err := SignAssertion(tc.key, tc.client+"-key", tc.client, aud, now)
			if err != nil {
				t.Fatal(err)
			}
			status, out := ts.askToken(t, a, tc.scope)
			if tc.wantErr != "" {
				if status < 400 || out["error"] != tc.wantErr {
					t.Fatalf("got %d %v, want error %s", status, out, tc.wantErr)
				}
				return
			}
			if status != 200 || out["scope"] != tc.wantScope || out["token_type"] != "bearer" || out["expires_in"].(float64) != 300 {
				t.Fatalf("got %d %v, want scope %q", status, out, tc.wantScope)
			}
			body := ts.get(t, out["access_token"].(string), 200)
			if !strings.HasPrefix(body, tc.client+" ") || !strings.HasSuffix(body, tc.wantScope) {
				t.Errorf("grant in context: %q", body)
			}
		})
	}
}

func (ts *testServer) get(t *testing.T, token string, want int) string {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.http.URL+"/fhir/whoami", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET whoami: %d %s, want %d", resp.StatusCode, b, want)
	}
	return string(b)
}

func TestReplayExpiryAndDisable(t *testing.T) {
	ts := newTestServer(t)
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ts.register(t, "ehr", "CLINIC1", "system/*.rs", key)
	a, _ := SignAssertion(key, "ehr-key", "ehr", ts.tokenURL(), time.Now())
	if status, out := ts.askToken(t, a, "system/Patient.rs"); status != 200 {
		t.Fatalf("first use: %d %v", status, out)
	}
	if status, out := ts.askToken(t, a, "system/Patient.rs"); status != 401 || !strings.Contains(out["error_description"].(string), "jti") {
		t.Fatalf("replay: %d %v, want 401 jti", status, out)
	}
	// An assertion valid for an hour is refused.
	far, _ := SignAssertion(key, "ehr-key", "ehr", ts.tokenURL(), time.Now().Add(55*time.Minute))
	if status, _ := ts.askToken(t, far, "system/Patient.rs"); status != 401 {
		t.Fatalf("exp an hour ahead: %d, want 401", status)
	}
	// An expired assertion is refused.
	old, _ := SignAssertion(key, "ehr-key", "ehr", ts.tokenURL(), time.Now().Add(-time.Hour))
	if status, _ := ts.askToken(t, old, "system/Patient.rs"); status != 401 {
		t.Fatalf("expired assertion: %d, want 401", status)
	}
	fresh, _ := SignAssertion(key, "ehr-key", "ehr", ts.tokenURL(), time.Now())
	_, out := ts.askToken(t, fresh, "system/Patient.rs")
	token := out["access_token"].(string)
	ts.get(t, token, 200)
	ts.get(t, "", 401)
	ts.get(t, "not-a-token", 401)
	// Identify: no token passes without a grant, a bad one is refused.
	for _, tc := range []struct{ token, want string }{{"", "200 grant=false "}, {token, "200 grant=true ehr"}, {"nope", "401"}} {
		req, _ := http.NewRequest("GET", ts.http.URL+"/fhir/metadata", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := fmt.Sprintf("%d %s", resp.StatusCode, b); !strings.HasPrefix(got, tc.want) {
			t.Errorf("Identify with %q: %q, want %q", tc.token, got, tc.want)
		}
	}
	if err := ts.store.SetEnabled(context.Background(), "ehr", false); err != nil {
		t.Fatal(err)
	}
	if body := ts.get(t, token, 401); !strings.Contains(body, "OperationOutcome") {
		t.Errorf("401 body %q: want an OperationOutcome", body)
	}
	again, _ := SignAssertion(key, "ehr-key", "ehr", ts.tokenURL(), time.Now())
	if status, _ := ts.askToken(t, again, "system/Patient.rs"); status != 401 {
		t.Fatalf("disabled client: %d, want 401", status)
	}
}

func TestTokenTTL(t *testing.T) {
	ts := newTestServer(t)
	ts.srv.cfg.TokenTTL = time.Second
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ts.register(t, "ehr", "", "system/*.rs", key)
	a, _ := SignAssertion(key, "ehr-key", "ehr", ts.tokenURL(), time.Now())
	_, out := ts.askToken(t, a, "system/*.rs")
	token := out["access_token"].(string)
	ts.get(t, token, 200)
	time.Sleep(1100 * time.Millisecond)
	ts.get(t, token, 401)
}

func TestSMARTConfiguration(t *testing.T) {
	ts := newTestServer(t)
	resp, err := http.Get(ts.http.URL + "/.well-known/smart-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c["token_endpoint"] != ts.tokenURL() {
		t.Errorf("token_endpoint %v, want %s", c["token_endpoint"], ts.tokenURL())
	}
	if !strings.Contains(jsonString(c["token_endpoint_auth_signing_alg_values_supported"]), "ES384") {
		t.Errorf("algorithms: %v", c["token_endpoint_auth_signing_alg_values_supported"])
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestIntersect(t *testing.T) {
	for _, tc := range []struct{ asked, allowed, want string }{
		{"system/*.rs", "system/Patient.rs system/Group.cruds", "system/Patient.rs system/Group.rs"},
		{"system/Patient.cruds", "system/*.rs", "system/Patient.rs"},
		{"system/Patient.c", "system/*.rs", ""},
		{"user/Patient.rs", "system/Patient.rs", ""},
		{"system/Patient.rs system/Patient.r", "system/*.rs", "system/Patient.rs system/Patient.r"},
	} {
		a, _ := ParseScopes(tc.asked)
		b, _ := ParseScopes(tc.allowed)
		if got := FormatScopes(Intersect(a, b)); got != tc.want {
			t.Errorf("Intersect(%q, %q) = %q, want %q", tc.asked, tc.allowed, got, tc.want)
		}
	}
}

func FuzzParseScopes(f *testing.F) {
	f.Add("system/Patient.rs system/*.read")
	f.Add("user/Group.cruds?x=y")
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScopes(s)
		if err != nil {
			return
		}
		again, err := ParseScopes(FormatScopes(sc))
		if err != nil || FormatScopes(again) != FormatScopes(sc) {
			t.Fatalf("%q: round trip %v %v", s, again, err)
		}
	})
}

// FuzzTokenRequest: whatever form is posted, the token endpoint answers
// 400 or 401 with an OAuth error, never a token or a crash.
func FuzzTokenRequest(f *testing.F) {
	f.Add("client_credentials", assertionType, "eyJhbGciOiJFUzM4NCJ9.e30.AAAA", "system/*.rs")
	f.Add("client_credentials", assertionType, "a.b.c", "system/Patient.rs")
	f.Add("password", "", "", "")
	f.Add("client_credentials", assertionType, "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "system/Patient.rs")
	ts := newTestServer(f)
	f.Fuzz(func(t *testing.T, grant, typ, assertion, scope string) {
		form := url.Values{"grant_type": {grant}, "client_assertion_type": {typ}, "client_assertion": {assertion}, "scope": {scope}}
		resp, err := http.PostForm(ts.tokenURL(), form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || (resp.StatusCode != 400 && resp.StatusCode != 401) || out["error"] == nil {
			t.Fatalf("%d %v %v", resp.StatusCode, out, err)
		}
	})
}
