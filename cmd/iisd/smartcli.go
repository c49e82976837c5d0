package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/iisproject/iis/smart"
)

// runSMART runs `iisd smart-key` and `iisd smart-assertion`, the client's
// side of SMART Backend Services for trying the token endpoint by hand
// (docs/fhir-bulk.md).
func runSMART(cmd string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("iisd "+cmd, flag.ContinueOnError)
	keyFile := fs.String("key", "client-key.pem", "the client's private key (PEM); smart-key creates it if it is missing")
	kid := fs.String("kid", "key-1", "the key's id (kid)")
	client := fs.String("client", "", "smart-assertion: the registered client id")
	tokenURL := fs.String("token-url", "http://127.0.0.1:8080/auth/token", "smart-assertion: the token endpoint (the assertion's aud)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, err := clientKey(*keyFile, cmd == "smart-key")
	if err != nil {
		return err
	}
	if cmd == "smart-key" {
		jwks, err := smart.PublicJWKS(key, *kid)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, jwks)
		return err
	}
	if *client == "" {
		return errors.New("-client is required")
	}
	a, err := smart.SignAssertion(key, *kid, *client, *tokenURL, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, a)
	return err
}

// clientKey reads an EC or RSA private key from file, creating an ECDSA
// P-384 key there (ES384) if create and the file does not exist.
func clientKey(file string, create bool) (crypto.Signer, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && create {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("write key: %w", err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", file)
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
	}
	if k, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("%s: not an EC or RSA private key", file)
}
