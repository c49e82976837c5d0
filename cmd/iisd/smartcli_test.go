package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// iisd smart-key makes a key and prints its JWK Set; smart-assertion
// signs with it; a registered client with that set gets a token.
func TestSMARTCommands(t *testing.T) {
	s := startTest(t, func(c *Config) { c.FHIRBulk = true })
	base := "http://" + s.httpLn.Addr().String()
	key := filepath.Join(t.TempDir(), "k.pem")
	var jwks, again, assertion strings.Builder
	if err := runSMART("smart-key", []string{"-key", key}, &jwks); err != nil {
		t.Fatal(err)
	}
	if err := runSMART("smart-key", []string{"-key", key}, &again); err != nil || again.String() != jwks.String() {
		t.Fatalf("second smart-key: %v, another key set", err)
	}
	registerClientJWKS(t, s, "cli", "", "system/*.rs", strings.TrimSpace(jwks.String()))
	if err := runSMART("smart-assertion", []string{"-key", key, "-client", "cli", "-token-url", base + "/auth/token"}, &assertion); err != nil {
		t.Fatal(err)
	}
	if status, out := postToken(t, base, strings.TrimSpace(assertion.String()), "system/Patient.rs"); status != 200 || !strings.Contains(out, "access_token") {
		t.Fatalf("token with the command's assertion: %d %s", status, out)
	}
	if err := runSMART("smart-assertion", []string{"-key", key}, &assertion); err == nil {
		t.Error("smart-assertion without -client: no error")
	}
}
