package soap

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// FuzzEnvelope posts arbitrary bodies: the server must never panic and must
// always answer with a SOAP envelope, a response with HTTP 200 or a fault
// with HTTP 400 or 500.
func FuzzEnvelope(f *testing.F) {
	vxu := "MSH|^~\\&|A|B|C|D|20260101||VXU^V04^VXU_V04|X1|P|2.5.1\rPID|1||123^^^A^MR||DOE^JANE\r"
	for _, s := range []string{
		env12(submit2011("u", "p", "F", vxu)),
		env12(submit2014("u", "p", "F", vxu)),
		env12(submit2011("u", "bad", "F", vxu)),
		env12(`<connectivityTest xmlns="urn:cdc:iisb:2011"><echoBack>hi</echoBack></connectivityTest>`),
		env12(`<ConnectivityTestRequest xmlns="urn:cdc:iisb:2014"><EchoBack>hi</EchoBack></ConnectivityTestRequest>`),
		env11(submit2011("u", "p", "F", vxu)),
		strings.Replace(env12(submit2011("u", "p", "F", vxu)), "<soap:Header/>", `<soap:Header><x:T xmlns:x="urn:x" soap:mustUnderstand="1"/></soap:Header>`, 1),
		`<Envelope xmlns="urn:other"><Body/></Envelope>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body/></soap:Envelope>`,
		`<!DOCTYPE x><x/>`,
		"",
		"<",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("../testdata/soap/examples/soap12_fault_with_embedded_hl7_rsp.xml"); err == nil {
		f.Add(b)
	}
	srv, err := NewServer(Config{
		Handler:        ackHandler,
		MaxMessageSize: 4096,
		Auth: AuthenticatorFunc(func(ctx context.Context, u, p, fac string) (Facility, error) {
			if u == "u" && p == "p" {
				return Facility{Username: u, FacilityID: fac}, nil
			}
			return Facility{}, ErrUnauthorized
		}),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/IISService", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/soap+xml; charset=utf-8")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		ct := rec.Header().Get("Content-Type")
		if ct != ctSOAP12 && ct != ctSOAP11 {
			t.Fatalf("Content-Type %q", ct)
		}
		r, err := parseResponse(rec.Body.Bytes())
		if err != nil {
			t.Fatalf("answer is not a SOAP envelope: %v\n%s", err, rec.Body.Bytes())
		}
		switch rec.Code {
		case 200:
			if r.fault != nil {
				t.Fatalf("HTTP 200 with a fault")
			}
		case 400, 500:
			if r.fault == nil {
				t.Fatalf("HTTP %d without a fault", rec.Code)
			}
		default:
			t.Fatalf("HTTP %d", rec.Code)
		}
	})
}
