package smart

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// SignAssertion makes the client assertion a backend client sends to the
// token endpoint: iss = sub = clientID, aud = tokenURL, exp five minutes
// from now, a random jti, signed ES384 with an ECDSA key and RS384
// otherwise, with kid in its header. It is the client's side, for Go
// clients and tests.
func SignAssertion(key crypto.Signer, kid, clientID, tokenURL string, now time.Time) (string, error) {
	alg := jose.RS384
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		alg = jose.ES384
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("smart: assertion signer: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("smart: assertion jti: %w", err)
	}
	claims := jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{tokenURL},
		Expiry: jwt.NewNumericDate(now.Add(MaxAssertionLife)), IssuedAt: jwt.NewNumericDate(now), ID: hex.EncodeToString(jti)}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// PublicJWKS returns the JWK Set (JSON) publishing key's public half
// under kid, what a client registers.
func PublicJWKS(key crypto.Signer, kid string) (string, error) {
	alg := string(jose.RS384)
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		alg = string(jose.ES384)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}}}
	b, err := json.Marshal(set)
	if err != nil {
		return "", fmt.Errorf("smart: JWK Set: %w", err)
	}
	return string(b), nil
}
