package soap

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/iisproject/iis/hl7"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Test accounts. Hashes use the cheapest parameters so that tests stay fast.
const (
	user1, pass1 = "ehr1", "s3cret-one"
	user2, pass2 = "ehr2", "pass-two"
	userHub      = "hub"
	passHub      = "hub-argon-pw"
)

func hashBcrypt(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func argonHash(pw string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 1, 1024, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=1024,t=1,p=1$%s$%s",
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func testAccounts(t testing.TB) *Accounts {
	t.Helper()
	a, err := NewAccounts([]Account{
		{Username: user1, PasswordHash: hashBcrypt(t, pass1), Facilities: []string{"FAC1"}},
		{Username: user2, PasswordHash: hashBcrypt(t, pass2), Facilities: []string{"FAC2", "FAC3"}},
		{Username: userHub, PasswordHash: argonHash(passHub), Facilities: []string{"*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ackHandler answers like a minimal IIS: an ACK whose MSA-2 is the message's
// MSH-10 and whose MSH-6 names the authenticated facility; AR for a message
// it cannot parse. Special control IDs make it fail: EMPTY returns nothing,
// PANIC panics.
var ackHandler = HandlerFunc(func(ctx context.Context, msg []byte) []byte {
	fac, _ := FacilityFromContext(ctx)
	m, err := hl7.Parse(msg)
	if err != nil {
		return []byte("MSH|^~\\&|IIS|IIS|||20260101000000||ACK|X|P|2.5.1\rMSA|AR|\rERR|||102^Data type error^HL70357|E\r")
	}
	id := m.Get("MSH-10").String()
	switch id {
	case "EMPTY":
		return nil
	case "PANIC":
		panic("handler panic for test")
	}
	return []byte("MSH|^~\\&|IIS|IIS|EHR|" + fac.FacilityID + "|20260101000000||ACK^V04^ACK|ACK" + id + "|P|2.5.1\rMSA|AA|" + id + "\r")
})

func newTestServer(t testing.TB, useTLS bool, cfg Config) *httptest.Server {
	t.Helper()
	if cfg.Handler == nil {
		cfg.Handler = ackHandler
	}
	if cfg.Auth == nil {
		cfg.Auth = testAccounts(t)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/IISService", srv)
	ts := httptest.NewUnstartedServer(mux)
	// Benchmarks close servers with handshakes in flight; keep that quiet.
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts
}

func readSample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/hl7/samples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// env12 and env11 wrap body content in SOAP 1.2 and 1.1 envelopes.
func env12(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header/><soap:Body>` + body + `</soap:Body></soap:Envelope>`
}

func env11(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>` + body + `</S:Body></S:Envelope>`
}

func esc(s string) string { return string(appendEscaped(nil, s)) }

func submit2011(user, pw, fac, msg string) string {
	return `<urn:submitSingleMessage xmlns:urn="urn:cdc:iisb:2011"><urn:username>` + esc(user) + `</urn:username><urn:password>` + esc(pw) +
		`</urn:password><urn:facilityID>` + esc(fac) + `</urn:facilityID><urn:hl7Message>` + esc(msg) + `</urn:hl7Message></urn:submitSingleMessage>`
}

func submit2014(user, pw, fac, msg string) string {
	return `<SubmitSingleMessageRequest xmlns="urn:cdc:iisb:2014"><Username>` + esc(user) + `</Username><Password>` + esc(pw) +
		`</Password><FacilityID>` + esc(fac) + `</FacilityID><Hl7Message>` + esc(msg) + `</Hl7Message></SubmitSingleMessageRequest>`
}

// post sends body with the given Content-Type and returns status, response
// Content-Type and body.
func post(t testing.TB, c *http.Client, url, ctype, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// elementPaths lists every element of an XML document as a path of
// {namespace}local names joined by "/", read with encoding/xml, so tests
// check the response structure independently of the package's own reader.
func elementPaths(t testing.TB, doc string) map[string]string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	paths := map[string]string{}
	var stack []string
	var text []strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("response is not well-formed XML: %v\n%s", err, doc)
		}
		switch tt := tok.(type) {
		case xml.StartElement:
			stack = append(stack, "{"+tt.Name.Space+"}"+tt.Name.Local)
			text = append(text, strings.Builder{})
		case xml.CharData:
			if len(text) > 0 {
				text[len(text)-1].Write(tt)
			}
		case xml.EndElement:
			paths[strings.Join(stack, "/")] = text[len(text)-1].String()
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		}
	}
	return paths
}
