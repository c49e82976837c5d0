package certificate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func issueWith(t *testing.T, keys *Keys) *Certificate {
	t.Helper()
	is, err := NewIssuer(Config{Keys: keys, IssuerURL: "https://iis.example.org", Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	c, err := is.Issue(child(), issuedBy)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func kidOf(t *testing.T, jws string) string {
	t.Helper()
	obj, err := jose.ParseSignedCompact(jws, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return obj.Signatures[0].Protected.KeyID
}

// TestKeyRotation: after a new key is added the new key signs, and a card
// signed by the old key still verifies against the published JWKS, also
// once only the old key's public half is kept.
func TestKeyRotation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shc-keys")
	old, err := OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	oldCard := issueWith(t, old)
	oldKid := old.SigningKeyID()

	if _, err := GenerateKeyFile(dir, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	rotated, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.SigningKeyID() == oldKid {
		t.Fatal("the old key still signs after a newer one was added")
	}
	if n := len(rotated.JWKS().Keys); n != 2 {
		t.Fatalf("JWKS has %d keys, want 2", n)
	}
	jwks := fetchJWKS(t, rotated)
	if _, err := VerifyCard(oldCard.HealthCard, jwks); err != nil {
		t.Errorf("a card signed before the rotation no longer verifies: %v", err)
	}
	newCard := issueWith(t, rotated)
	if kid := kidOf(t, newCard.HealthCard); kid != rotated.SigningKeyID() {
		t.Errorf("new card kid %q, want the newest key %q", kid, rotated.SigningKeyID())
	}
	if _, err := VerifyCard(newCard.HealthCard, jwks); err != nil {
		t.Errorf("new card: %v", err)
	}
	// A verifier with the keys of before the rotation does not know the
	// new key.
	if _, err := VerifyCard(newCard.HealthCard, fetchJWKS(t, old)); err == nil || !strings.Contains(err.Error(), "not among") {
		t.Errorf("new card against the old JWKS: %v, want an unknown key", err)
	}

	// Retire the old private key, keeping its public half published.
	retirePrivate(t, dir, oldKid)
	retired, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if retired.SigningKeyID() != rotated.SigningKeyID() || len(retired.JWKS().Keys) != 2 {
		t.Fatalf("after retiring: signer %q, %d keys", retired.SigningKeyID(), len(retired.JWKS().Keys))
	}
	if _, err := VerifyCard(oldCard.HealthCard, fetchJWKS(t, retired)); err != nil {
		t.Errorf("old card after its private key was retired: %v", err)
	}
}

// retirePrivate replaces the key file of kid by its public half.
func retirePrivate(t *testing.T, dir, kid string) {
	t.Helper()
	files, err := keyFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		k, err := LoadKeys(f)
		if err != nil {
			t.Fatal(err)
		}
		if k.SigningKeyID() != kid {
			continue
		}
		der, err := x509.MarshalPKIXPublicKey(k.JWKS().Keys[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		pub := strings.TrimSuffix(f, ".pem") + ".pub.pem"
		if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no key file for %s", kid)
}

func TestOpenKeysKeepsTheDevelopmentKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "shc-keys")
	first, err := OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.SigningKeyID() != second.SigningKeyID() {
		t.Error("a restart made a new key instead of loading the one generated before")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	if len(files) != 1 {
		t.Fatalf("key files %q, want one", files)
	}
	if st, err := os.Stat(files[0]); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
}

// TestLoadKeysFormats reads each supported key format and refuses the
// others with a clear error.
func TestLoadKeysFormats(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	sec1, _ := x509.MarshalECPrivateKey(p256)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(p256)
	pkix, _ := x509.MarshalPKIXPublicKey(&p256.PublicKey)
	p384der, _ := x509.MarshalPKCS8PrivateKey(p384)
	rsader, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: p256, KeyID: "ignored"})
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p256.PublicKey}, {Key: p256}}})
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}

	for _, tc := range []struct {
		name, file, content string
		keys                int
		err                 string
	}{
		{"SEC1 PEM (openssl ecparam -genkey)", "k.pem", pemOf("EC PRIVATE KEY", sec1), 1, ""},
		{"PKCS#8 PEM", "k.key", pemOf("PRIVATE KEY", pkcs8), 1, ""},
		{"private and public PEM of one key", "k.pem", pemOf("PRIVATE KEY", pkcs8) + pemOf("PUBLIC KEY", pkix), 1, ""},
		{"JWK", "k.jwk", string(jwk), 1, ""},
		{"JWK set, public and private halves", "k.json", string(jwks), 1, ""},
		{"public key only", "k.pem", pemOf("PUBLIC KEY", pkix), 0, "no private key"},
		{"P-384", "k.pem", pemOf("PRIVATE KEY", p384der), 0, "P-256"},
		{"RSA", "k.pem", pemOf("PRIVATE KEY", rsader), 0, "EC P-256"},
		{"EC parameters then the key (openssl ecparam -genkey)", "k.pem", pemOf("EC PARAMETERS", []byte{6, 8}) + pemOf("EC PRIVATE KEY", sec1), 1, ""},
		{"certificate", "k.pem", pemOf("CERTIFICATE", []byte{1}), 0, "not a key"},
		{"garbage", "k.pem", "hello", 0, "neither PEM nor JSON"},
		{"empty JWK set", "k.json", `{"keys":[]}`, 0, "empty JWK set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			// Files of other extensions are not keys.
			os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a key"), 0o644)
			k, err := LoadKeys(dir)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one about %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := len(k.JWKS().Keys); n != tc.keys {
				t.Errorf("%d keys, want %d", n, tc.keys)
			}
			if k.SigningKeyID() == "ignored" || len(k.SigningKeyID()) != 43 {
				t.Errorf("kid %q, want the 43-character SHA-256 thumbprint", k.SigningKeyID())
			}
		})
	}
}

// TestJWKSHandler: the document holds only public keys with what SMART
// Health Card verifiers read (kty, crv, x, y, kid, use, alg).
func TestJWKSHandler(t *testing.T) {
	_, keys := testIssuer(t)
	srv := httptest.NewServer(keys.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || len(doc.Keys) != 1 {
		t.Fatalf("JWKS %+v: %v", doc, err)
	}
	k := doc.Keys[0]
	if _, private := k["d"]; private {
		t.Error("the JWKS publishes the private key")
	}
	want := map[string]string{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": keys.SigningKeyID()}
	for f, v := range want {
		if k[f] != v {
			t.Errorf("%s = %q, want %q", f, k[f], v)
		}
	}
	if k["x"] == "" || k["y"] == "" {
		t.Error("no x, y")
	}
	for _, tc := range []struct {
		method string
		status int
	}{{http.MethodHead, http.StatusOK}, {http.MethodOptions, http.StatusNoContent}, {http.MethodPost, http.StatusMethodNotAllowed}} {
		req, _ := http.NewRequest(tc.method, srv.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: %d (CORS %q), want %d", tc.method, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), tc.status)
		}
	}
}

// FuzzParseKeys: any key file content loads or fails with an error.
func FuzzParseKeys(f *testing.F) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(p256)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: p256})
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	f.Add(jwk)
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ks, err := parseKeys(b)
		if err != nil {
			return
		}
		if _, err := newKeys(ks); err != nil {
			return
		}
	})
}
