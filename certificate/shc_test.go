package certificate

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestEncodeQR(t *testing.T) {
	// The spec's rule: each character's code minus 45, two digits.
	if got := EncodeQR("eyJ-_."); got != "shc:/567629005001" {
		t.Errorf("EncodeQR = %q", got)
	}
}

func TestDecodeQR(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"a JWS", "shc:/567629005001", "eyJ-_.", ""},
		{"no prefix", "567629", "", "does not start"},
		{"uppercase prefix", "SHC:/5676", "", "does not start"},
		{"chunked", "shc:/1/2/5676", "", "chunked"},
		{"odd digit count", "shc:/567", "", "even"},
		{"empty", "shc:/", "", "even"},
		{"letter", "shc:/56a6", "", "non-digit at position 7"},
		{"past z", "shc:/5678", "", "past 'z'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeQR(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one about %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("DecodeQR = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FuzzDecodeQR: any text decodes or fails cleanly, and what decodes
// encodes back to the same text.
func FuzzDecodeQR(f *testing.F) {
	f.Add("shc:/567629005001")
	f.Add("shc:/1/2/56")
	f.Add("shc:/99")
	f.Fuzz(func(t *testing.T, s string) {
		jws, err := DecodeQR(s)
		if err != nil {
			return
		}
		if back := EncodeQR(jws); back != s {
			t.Errorf("DecodeQR(%q) = %q, encodes back to %q", s, jws, back)
		}
	})
}

// signRaw signs an arbitrary payload the way signPayload does, for
// verifier tests.
func signRaw(t *testing.T, keys *Keys, payload []byte, zip bool) string {
	t.Helper()
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	fw.Write(payload)
	fw.Close()
	opts := &jose.SignerOptions{}
	if zip {
		opts.WithHeader("zip", "DEF")
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: keys.signer}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(z.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	jws, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

// TestVerifyCardRejects: what is not a valid card from this issuer fails
// with a precise error.
func TestVerifyCardRejects(t *testing.T) {
	is, keys := testIssuer(t)
	c, err := is.Issue(child(), issuedBy)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKeys := testIssuer(t)
	parts := strings.Split(c.HealthCard, ".")
	tampered := parts[0] + "." + parts[1][:len(parts[1])-4] + "AAAA." + parts[2]
	card := `{"iss":"https://iis.example.org","nbf":1,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"resourceType":"Bundle","type":"collection","entry":[]}}}}`
	for _, tc := range []struct {
		name, jws string
		jwks      jose.JSONWebKeySet
		err       string
	}{
		{"tampered payload", tampered, keys.JWKS(), "signature"},
		{"another issuer's keys", c.HealthCard, otherKeys.JWKS(), "not among"},
		{"no zip header", signRaw(t, keys, []byte(card), false), keys.JWKS(), "zip header"},
		{"not a health card type", signRaw(t, keys, []byte(strings.Replace(card, "#health-card", "#other", 1)), true), keys.JWKS(), "vc.type"},
		{"no iss", signRaw(t, keys, []byte(strings.Replace(card, `"iss":"https://iis.example.org"`, `"iss":""`, 1)), true), keys.JWKS(), "no iss"},
		{"not a bundle", signRaw(t, keys, []byte(strings.Replace(card, `"resourceType":"Bundle"`, `"resourceType":"Patient"`, 1)), true), keys.JWKS(), "fhirBundle"},
		{"not JSON", signRaw(t, keys, []byte("hello"), true), keys.JWKS(), "payload"},
		{"compression bomb", signRaw(t, keys, bytes.Repeat([]byte{' '}, maxCardPayload+10), true), keys.JWKS(), "1 MiB"},
		{"not a JWS", "abc", keys.JWKS(), "health card"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyCard(tc.jws, tc.jwks)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want one about %q", err, tc.err)
			}
		})
	}
	if _, err := VerifyCard(signRaw(t, keys, []byte(card), true), keys.JWKS()); err != nil {
		t.Errorf("the well-formed card of the table: %v", err)
	}
}

// TestCardFitsOneQRCode: a record too long for one QR code with lot
// numbers and performers is signed again without them, and still carries
// every dose.
func TestCardFitsOneQRCode(t *testing.T) {
	is, keys := testIssuer(t)
	rec := child()
	c, err := is.Issue(rec, issuedBy)
	if err != nil {
		t.Fatal(err)
	}
	card, err := VerifyCard(c.HealthCard, keys.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.HealthCard) > MaxSingleQRJWS || len(card.Doses) != len(ShownDoses(rec.Doses)) {
		t.Errorf("card of %d characters with %d doses", len(c.HealthCard), len(card.Doses))
	}
	// A short record keeps the detail.
	rec.Doses = rec.Doses[:3]
	c, err = is.Issue(rec, issuedBy)
	if err != nil {
		t.Fatal(err)
	}
	card, err = VerifyCard(c.HealthCard, keys.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if len(card.Doses) != 3 || card.Doses[0].LotNumber == "" || card.Doses[0].Performer != "Riverside Pediatrics" {
		t.Errorf("short card doses %+v, want lot numbers and performers", card.Doses)
	}
}

// TestQRVersion: the longest JWS the spec allows in one QR code fits
// version 22 at level L, as the spec computes it, which needs the digits
// in numeric mode (byte mode would need version 36).
func TestQRVersion(t *testing.T) {
	for _, tc := range []struct {
		jwsLen, version int
	}{{MaxSingleQRJWS, 22}, {MaxSingleQRJWS + 30, 23}, {10, 1}} {
		code, err := qrEncode(EncodeQR(strings.Repeat("a", tc.jwsLen)))
		if err != nil {
			t.Fatal(err)
		}
		if v := (code.Size - 17) / 4; v != tc.version {
			t.Errorf("a %d-character JWS makes a version %d QR code, want %d", tc.jwsLen, v, tc.version)
		}
	}
	if _, err := qrEncode("https://example.org"); err == nil {
		t.Error("qrEncode took a text that is not a health card")
	}
}
