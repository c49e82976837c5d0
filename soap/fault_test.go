package soap

import (
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/iisproject/iis/hl7"
)

func newPlainServer(t *testing.T, f http.HandlerFunc) string {
	t.Helper()
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestParseFaultExample reads the real-world fault in testdata/soap/examples:
// a SOAP 1.2 Sender fault whose reason and (untyped) detail carry the IIS's
// RSP, with CRLF line ends and a misspelt xml:lang.
func TestParseFaultExample(t *testing.T) {
	data, err := os.ReadFile("../testdata/soap/examples/soap12_fault_with_embedded_hl7_rsp.xml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFault(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Code != CodeSender || f.Kind != "" {
		t.Errorf("code %q kind %q, want Sender and no typed detail", f.Code, f.Kind)
	}
	if !strings.HasPrefix(strings.TrimSpace(f.Reason), "Authentication Error Occurred.") {
		t.Errorf("reason %q", f.Reason)
	}
	if !strings.Contains(f.Detail, "Original HL7 Response") || !strings.HasSuffix(f.Detail, "More text") {
		t.Errorf("detail %q", f.Detail)
	}
	rsp := f.HL7()
	m, err := hl7.Parse(rsp)
	if err != nil {
		t.Fatalf("embedded RSP does not parse: %v\n%q", err, rsp)
	}
	var ids []string
	for _, s := range m.Segments() {
		ids = append(ids, s.ID())
	}
	if got := strings.Join(ids, " "); got != "MSH MSA ERR QPD" {
		t.Errorf("segments %s, want MSH MSA ERR QPD", got)
	}
	if got := m.Get("MSA-1").String(); got != "AE" {
		t.Errorf("MSA-1 = %q", got)
	}
	if got := m.Get("MSA-2").String(); got != "KS999938854000000232" {
		t.Errorf("MSA-2 = %q", got)
	}
	if got := m.Get("ERR-5.4").String(); got != "WEBIZ-AUTH-609" {
		t.Errorf("ERR-5.4 = %q", got)
	}
	if !strings.Contains(f.Error(), "Authentication Error Occurred") {
		t.Errorf("Error() = %q", f.Error())
	}
}

// TestParseFaultVariants reads faults as other IIS write them.
func TestParseFaultVariants(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Fault
	}{
		{
			name: "prefixed 2011 SecurityFault with Receiver code",
			doc: `<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'><soap:Body><soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value></soap:Code>` +
				`<soap:Reason><soap:Text>Invalid Username, Password or FacilityID</soap:Text></soap:Reason><soap:Detail><ns3:SecurityFault xmlns:ns3='urn:cdc:iisb:2011'>` +
				`<ns3:Code>10</ns3:Code><ns3:Reason>Security</ns3:Reason><ns3:Detail>Bad password</ns3:Detail></ns3:SecurityFault></soap:Detail></soap:Fault></soap:Body></soap:Envelope>`,
			want: Fault{Code: CodeReceiver, Reason: "Invalid Username, Password or FacilityID", Kind: KindSecurity, Revision: Rev2011,
				DetailCode: 10, DetailReason: "Security", DetailText: "Bad password"},
		},
		{
			name: "2011 UnknownFault (element fault) with subcode",
			doc: `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Code><e:Value>e:Receiver</e:Value><e:Subcode><e:Value>x:y</e:Value></e:Subcode></e:Code>` +
				`<e:Reason><e:Text xml:lang="en">boom</e:Text></e:Reason><e:Detail><fault xmlns="urn:cdc:iisb:2011"><Code>500</Code><Reason>Unknown</Reason><Detail>db down</Detail></fault></e:Detail></e:Fault></e:Body></e:Envelope>`,
			want: Fault{Code: CodeReceiver, Reason: "boom", Kind: KindUnknown, Revision: Rev2011, DetailCode: 500, DetailReason: "Unknown", DetailText: "db down"},
		},
		{
			name: "2014 MessageTooLargeFault",
			doc: `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value></e:Code><e:Reason><e:Text>too big</e:Text></e:Reason>` +
				`<e:Detail><iis:MessageTooLargeFault xmlns:iis="urn:cdc:iisb:2014"><iis:Size>2000000</iis:Size><iis:MaxSize>1048576</iis:MaxSize></iis:MessageTooLargeFault></e:Detail></e:Fault></e:Body></e:Envelope>`,
			want: Fault{Code: CodeSender, Reason: "too big", Kind: KindMessageTooLarge, Revision: Rev2014, Size: 2000000, MaxSize: 1048576},
		},
		{
			name: "SOAP 1.1 Server fault with text detail",
			doc: `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>oops</faultstring>` +
				`<detail><msg>MSH|^~\&amp;|A&#xD;MSA|AE|1&#xD;</msg></detail></s:Fault></s:Body></s:Envelope>`,
			want: Fault{Code: CodeReceiver, Reason: "oops", Detail: "MSH|^~\\&|A\rMSA|AE|1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFault([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*f, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *f, tc.want)
			}
		})
	}
	if _, err := ParseFault([]byte(env12(`<connectivityTestResponse xmlns="urn:cdc:iisb:2011"><return/></connectivityTestResponse>`))); err == nil {
		t.Error("ParseFault accepted a non-fault response")
	}
}

// TestFaultRoundTrip writes every fault kind in both revisions and SOAP
// versions and reads it back.
func TestFaultRoundTrip(t *testing.T) {
	for _, v := range []Version{SOAP12, SOAP11} {
		for _, rev := range []Revision{Rev2011, Rev2014} {
			for _, kind := range []FaultKind{KindSecurity, KindMessageTooLarge, KindUnsupportedOperation, KindUnknown} {
				in := &Fault{Code: CodeSender, Reason: "r <&>\r\nline 2", Kind: kind, Revision: rev,
					DetailCode: 7, DetailReason: "why", DetailText: "what\rnext", Size: 10, MaxSize: 5}
				out, err := ParseFault(in.appendEnvelope(nil, v))
				if err != nil {
					t.Fatalf("%d %s %s: %v", v, rev, kind, err)
				}
				want := Fault{Code: CodeSender, Reason: "r <&>\r\nline 2"}
				switch {
				case rev == Rev2011:
					want.Kind, want.Revision, want.DetailCode, want.DetailReason, want.DetailText = kind, rev, 7, "why", "what\rnext"
				case kind == KindMessageTooLarge:
					want.Kind, want.Revision, want.Size, want.MaxSize = kind, rev, 10, 5
				case kind != KindUnknown:
					want.Kind, want.Revision = kind, rev
				}
				if !reflect.DeepEqual(*out, want) {
					t.Errorf("SOAP %d %s %s:\n got %+v\nwant %+v", v, rev, kind, *out, want)
				}
			}
		}
	}
}
