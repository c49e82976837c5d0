package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/smart"
)

// backendClient is a SMART backend client of a test's iisd.
type backendClient struct {
	t    *testing.T
	base string // http://host:port
	id   string
	key  crypto.Signer
}

func newBackendClient(t *testing.T, base, id string) *backendClient {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &backendClient{t: t, base: base, id: id, key: key}
}

// jwks is the client's public key set, as registered.
func (c *backendClient) jwks() string {
	c.t.Helper()
	s, err := smart.PublicJWKS(c.key, c.id+"-1")
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// token asks for an access token with scope; it returns the HTTP status
// and the token (empty when refused).
func (c *backendClient) token(scope string) (int, string) {
	c.t.Helper()
	a, err := smart.SignAssertion(c.key, c.id+"-1", c.id, c.base+"/auth/token", time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	status, body := postToken(c.t, c.base, a, scope)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(body), &out)
	return status, out.AccessToken
}

// postToken posts a client_credentials request with assertion; it returns
// the status and the body.
func postToken(t *testing.T, base, assertion, scope string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(base+"/auth/token", url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}, "scope": {scope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// do sends a FHIR request with token; it returns the status, headers and body.
func (c *backendClient) do(token, method, path, body string) (int, http.Header, string) {
	c.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = c.base + path
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set("Prefer", "respond-async")
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
