package smart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
)

func TestClientValidate(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	jwks, err := PublicJWKS(key, "k1")
	if err != nil {
		t.Fatal(err)
	}
	scopes, _ := ParseScopes("system/Patient.rs")
	ok := Client{ID: "ehr", Name: "EHR", Scopes: scopes, JWKS: jwks}
	for _, tc := range []struct {
		name   string
		change func(*Client)
		want   string // part of the error; empty: valid
	}{
		{"inline key set", func(*Client) {}, ""},
		{"key set by URL", func(c *Client) { c.JWKS, c.JWKSURL = "", "https://ehr.example/jwks.json" }, ""},
		{"no id", func(c *Client) { c.ID = "" }, "client id"},
		{"id too long", func(c *Client) { c.ID = strings.Repeat("x", 129) }, "client id"},
		{"no name", func(c *Client) { c.Name = "" }, "name"},
		{"no scope", func(c *Client) { c.Scopes = nil }, "scope"},
		{"no keys", func(c *Client) { c.JWKS = "" }, "JWK Set or its URL"},
		{"both", func(c *Client) { c.JWKSURL = "https://ehr.example/jwks.json" }, "JWK Set or its URL"},
		{"not JSON", func(c *Client) { c.JWKS = "my key" }, "JWK Set"},
		{"empty set", func(c *Client) { c.JWKS = `{"keys":[]}` }, "no keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.change(&c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}
