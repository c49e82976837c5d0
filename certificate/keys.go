package certificate

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Keys is the issuer's set of SMART Health Card keys (ES256, P-256): the
// newest private key signs; every key, old ones included, is published in
// the JWKS so that cards signed before a rotation still verify. A Keys is
// immutable once loaded and safe for concurrent use.
type Keys struct {
	all     []jose.JSONWebKey // oldest first; private where the private part is known
	signer  jose.JSONWebKey   // the newest private key
	jwks    jose.JSONWebKeySet
	jwksDoc []byte // the JWKS as served
}

// Key files are recognised by their extension: PEM (an EC PRIVATE KEY,
// a PKCS#8 PRIVATE KEY or a PUBLIC KEY, one or more blocks a file) or JSON
// (a JWK or a JWK set, {"keys": [...]}).
var keyExts = []string{".pem", ".key", ".jwk", ".json"}

// LoadKeys reads the keys of path, a key file or a directory of key files.
// In a directory, files are taken in name order and keys within a file in
// their order there: the last private key signs, so name key files so that
// they sort by age (GenerateKeyFile names them by their creation time).
// Public-only keys are published but never sign: keep a retired key's
// public half to go on verifying the cards it signed.
func LoadKeys(path string) (*Keys, error) {
	files, err := keyFiles(path)
	if err != nil {
		return nil, err
	}
	var all []jose.JSONWebKey
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("SHC keys: %w", err)
		}
		ks, err := parseKeys(b)
		if err != nil {
			return nil, fmt.Errorf("SHC key file %s: %w", f, err)
		}
		all = append(all, ks...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("SHC keys: no key in %s", path)
	}
	return newKeys(all)
}

// OpenKeys loads the keys of dir; when dir holds no key file it first
// generates one there (GenerateKeyFile), so that a development server signs
// cards out of the box and goes on using the same key after a restart. A
// production issuer provisions its own keys (see the package README).
func OpenKeys(dir string, log *slog.Logger) (*Keys, error) {
	files, err := keyFiles(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if len(files) == 0 {
		path, err := GenerateKeyFile(dir, time.Now())
		if err != nil {
			return nil, err
		}
		if log != nil {
			log.Warn("generated a SMART Health Card signing key: fine for development, provision real keys for production", "path", path)
		}
	}
	return LoadKeys(dir)
}

// GenerateKeyFile writes a new P-256 private key (PKCS#8 PEM, mode 0600)
// into dir, named shc-YYYYMMDDTHHMMSSZ.pem after now so that it sorts after
// the keys made before it and therefore signs once loaded. It returns the
// file's path.
func GenerateKeyFile(dir string, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("SHC key directory: %w", err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("SHC key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("SHC key: %w", err)
	}
	path := filepath.Join(dir, "shc-"+now.UTC().Format("20060102T150405Z")+".pem")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("SHC key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return "", fmt.Errorf("SHC key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("SHC key %s: %w", path, err)
	}
	return path, nil
}

// keyFiles lists the key files of path (itself if a file), sorted by name.
func keyFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("SHC keys: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("SHC keys: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && slices.Contains(keyExts, strings.ToLower(filepath.Ext(e.Name()))) {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	slices.Sort(files)
	return files, nil
}

// parseKeys reads the keys of one file: PEM blocks or JSON.
func parseKeys(b []byte) ([]jose.JSONWebKey, error) {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		return parseJSONKeys(t)
	}
	var out []jose.JSONWebKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type == "EC PARAMETERS" {
			continue // what openssl ecparam -genkey writes before the key
		}
		k, err := parsePEMKey(blk)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("neither PEM nor JSON")
	}
	return out, nil
}

func parsePEMKey(blk *pem.Block) (jose.JSONWebKey, error) {
	var key any
	var err error
	switch blk.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(blk.Bytes)
	default:
		return jose.JSONWebKey{}, fmt.Errorf("PEM block %q: not a key", blk.Type)
	}
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("PEM %s: %w", blk.Type, err)
	}
	return jose.JSONWebKey{Key: key}, nil
}

func parseJSONKeys(b []byte) ([]jose.JSONWebKey, error) {
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("JSON: %w", err)
	}
	if probe.Keys != nil {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(b, &set); err != nil {
			return nil, fmt.Errorf("JWK set: %w", err)
		}
		if len(set.Keys) == 0 {
			return nil, errors.New("empty JWK set")
		}
		return set.Keys, nil
	}
	var k jose.JSONWebKey
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("JWK: %w", err)
	}
	return []jose.JSONWebKey{k}, nil
}

// newKeys checks every key is P-256, gives each its SHC key id (the
// base64url SHA-256 JWK thumbprint, whatever kid a file gave it), and
// builds the published set.
func newKeys(loaded []jose.JSONWebKey) (*Keys, error) {
	k := &Keys{}
	seen := map[string]bool{}
	for _, l := range loaded {
		var pub *ecdsa.PublicKey
		switch key := l.Key.(type) {
		case *ecdsa.PrivateKey:
			pub = &key.PublicKey
		case *ecdsa.PublicKey:
			pub = key
		default:
			return nil, fmt.Errorf("SHC keys: a %T key: SMART Health Cards need EC P-256 (ES256)", l.Key)
		}
		if pub.Curve != elliptic.P256() {
			return nil, fmt.Errorf("SHC keys: curve %s: SMART Health Cards need P-256 (ES256)", pub.Curve.Params().Name)
		}
		jwk := jose.JSONWebKey{Key: l.Key, Algorithm: string(jose.ES256), Use: "sig"}
		tp, err := jwk.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("SHC key thumbprint: %w", err)
		}
		jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
		if seen[jwk.KeyID] {
			// The same key twice (say its private and its public half):
			// keep the private one.
			if !jwk.IsPublic() {
				for i := range k.all {
					if k.all[i].KeyID == jwk.KeyID {
						k.all[i] = jwk
					}
				}
			}
			continue
		}
		seen[jwk.KeyID] = true
		k.all = append(k.all, jwk)
	}
	for _, jwk := range k.all {
		if !jwk.IsPublic() {
			k.signer = jwk
		}
		k.jwks.Keys = append(k.jwks.Keys, jwk.Public())
	}
	if k.signer.Key == nil {
		return nil, errors.New("SHC keys: no private key to sign with (only public keys found)")
	}
	doc, err := json.Marshal(k.jwks)
	if err != nil {
		return nil, fmt.Errorf("SHC JWKS: %w", err)
	}
	k.jwksDoc = doc
	return k, nil
}

// JWKS returns the public keys, oldest first: what the issuer publishes at
// [issuer]/.well-known/jwks.json.
func (k *Keys) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: slices.Clone(k.jwks.Keys)}
}

// SigningKeyID returns the key id (JWK thumbprint) of the key that signs.
func (k *Keys) SigningKeyID() string { return k.signer.KeyID }

// Handler serves the JWKS document, for mounting at
// /.well-known/jwks.json. Verifiers fetch it from web apps on other origins,
// so it allows any origin (CORS), as the SMART Health Cards spec requires.
func (k *Keys) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.Set("Allow", "GET, HEAD, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=3600")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(k.jwksDoc))
	})
}
