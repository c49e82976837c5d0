package soap

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	s12 = "{http://www.w3.org/2003/05/soap-envelope}"
	s11 = "{http://schemas.xmlsoap.org/soap/envelope/}"
	n11 = "{urn:cdc:iisb:2011}"
	n14 = "{urn:cdc:iisb:2014}"

	ctSOAP12 = "application/soap+xml; charset=utf-8"
	ctSOAP11 = "text/xml; charset=utf-8"
)

func TestServer(t *testing.T) {
	const maxSize = 8 << 10
	ts := newTestServer(t, true, Config{MaxMessageSize: maxSize})
	url := ts.URL + "/IISService"
	vxu := readSample(t, "vxu-nist-ad-2.1-adult-flu.hl7")
	vxuID := "NIST-IZ-AD-2.1_Send_V04_Z22"
	if !strings.Contains(vxu, "|"+vxuID+"|") {
		t.Fatalf("sample VXU lacks control ID %s", vxuID)
	}
	ack := func(fac, id string) string {
		return "MSH|^~\\&|IIS|IIS|EHR|" + fac + "|20260101000000||ACK^V04^ACK|ACK" + id + "|P|2.5.1\rMSA|AA|" + id + "\r"
	}
	big := strings.Repeat("OBX|1|ST|x||"+strings.Repeat("y", 100)+"\r", maxSize/100)

	const (
		respBody11  = s12 + "Envelope/" + s12 + "Body/" + n11 + "submitSingleMessageResponse/" + n11 + "return"
		respBody14  = s12 + "Envelope/" + s12 + "Body/" + n14 + "SubmitSingleMessageResponse/" + n14 + "Hl7Message"
		fault12     = s12 + "Envelope/" + s12 + "Body/" + s12 + "Fault/"
		fault12Code = fault12 + s12 + "Code/" + s12 + "Value"
		detail12    = fault12 + s12 + "Detail/"
		fault11     = s11 + "Envelope/" + s11 + "Body/" + s11 + "Fault/"
	)

	tests := []struct {
		name       string
		ctype      string
		body       string
		wantStatus int
		wantCT     string
		want       map[string]string // element path → text ("*" = any)
		wantRaw    []string          // substrings of the raw response
	}{
		{
			name: "2011 submitSingleMessage", ctype: ctSOAP12,
			body:       env12(submit2011(user1, pass1, "FAC1", vxu)),
			wantStatus: 200, wantCT: ctSOAP12,
			want:    map[string]string{respBody11: ack("FAC1", vxuID)},
			wantRaw: []string{"&#xD;MSA|AA|" + vxuID + "&#xD;</return>"},
		},
		{
			name: "2014 SubmitSingleMessage", ctype: ctSOAP12,
			body:       env12(submit2014(user2, pass2, "FAC3", vxu)),
			wantStatus: 200, wantCT: ctSOAP12,
			want:    map[string]string{respBody14: ack("FAC3", vxuID)},
			wantRaw: []string{"&#xD;MSA|AA|" + vxuID + "&#xD;</Hl7Message>"},
		},
		{
			name: "2014 argon2id account, any facility", ctype: ctSOAP12,
			body:       env12(submit2014(userHub, passHub, "ANYFAC", vxu)),
			wantStatus: 200, wantCT: ctSOAP12,
			want: map[string]string{respBody14: ack("ANYFAC", vxuID)},
		},
		{
			name: "2011 empty facilityID, single-facility account", ctype: ctSOAP12,
			body:       env12(submit2011(user1, pass1, "", vxu)),
			wantStatus: 200, wantCT: ctSOAP12,
			want: map[string]string{respBody11: ack("FAC1", vxuID)},
		},
		{
			name: "2011 literal CRs and LFs in hl7Message are segment separators", ctype: ctSOAP12,
			body:       env12(submit2011(user1, pass1, "FAC1", "\n  "+strings.ReplaceAll(vxu, "\r", "\r\n")+"\n")),
			wantStatus: 200, wantCT: ctSOAP12,
			want: map[string]string{respBody11: ack("FAC1", vxuID)},
		},
		{
			name: "2011 hl7Message in CDATA with literal CRs", ctype: ctSOAP12,
			body: env12(`<submitSingleMessage xmlns="urn:cdc:iisb:2011"><username>` + user1 + `</username><password>` + pass1 +
				`</password><facilityID>FAC1</facilityID><hl7Message><![CDATA[` + vxu + `]]></hl7Message></submitSingleMessage>`),
			wantStatus: 200, wantCT: ctSOAP12,
			want: map[string]string{respBody11: ack("FAC1", vxuID)},
		},
		{
			name: "ISO-8859-1 envelope", ctype: ctSOAP12,
			body: strings.Replace(env12(`<connectivityTest xmlns="urn:cdc:iisb:2011"><echoBack>`+"Ram\xe9 \xbfok?"+`</echoBack></connectivityTest>`),
				`encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1),
			wantStatus: 200, wantCT: ctSOAP12,
			want: map[string]string{s12 + "Envelope/" + s12 + "Body/" + n11 + "connectivityTestResponse/" + n11 + "return": "Ramé ¿ok?"},
		},
		{
			name: "unsupported charset", ctype: ctSOAP12,
			body: strings.Replace(env12(`<connectivityTest xmlns="urn:cdc:iisb:2011"><echoBack>x</echoBack></connectivityTest>`),
				`encoding="UTF-8"`, `encoding="EBCDIC-US"`, 1),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{fault12Code: "env:Sender"},
		},
		{
			name: "2011 hl7 garbage is an HL7 AR ACK, not a fault", ctype: ctSOAP12,
			body:       env12(submit2011(user1, pass1, "FAC1", "not hl7 at all")),
			wantStatus: 200, wantCT: ctSOAP12,
			wantRaw: []string{"MSA|AR|"},
		},
		{
			name: "2011 connectivityTest echoes", ctype: ctSOAP12,
			body:       env12(`<connectivityTest xmlns="urn:cdc:iisb:2011"><echoBack>ping &lt;&amp;&gt; "quoted"</echoBack></connectivityTest>`),
			wantStatus: 200, wantCT: ctSOAP12,
			want: map[string]string{s12 + "Envelope/" + s12 + "Body/" + n11 + "connectivityTestResponse/" + n11 + "return": `ping <&> "quoted"`},
		},
		{
			name: "2014 ConnectivityTest echoes", ctype: ctSOAP12,
			body:       env12(`<iis:ConnectivityTestRequest xmlns:iis="urn:cdc:iisb:2014"><iis:EchoBack>hello</iis:EchoBack></iis:ConnectivityTestRequest>`),
			wantStatus: 200, wantCT: ctSOAP12,
			want: map[string]string{s12 + "Envelope/" + s12 + "Body/" + n14 + "ConnectivityTestResponse/" + n14 + "EchoBack": "hello"},
		},
		{
			name: "2011 bad password is a SecurityFault", ctype: ctSOAP12,
			body:       env12(submit2011(user1, "wrong", "FAC1", vxu)),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{
				fault12Code: "env:Sender",
				detail12 + n11 + "SecurityFault/" + n11 + "Code":   "401",
				detail12 + n11 + "SecurityFault/" + n11 + "Reason": "Security",
				detail12 + n11 + "SecurityFault/" + n11 + "Detail": "Invalid Username, Password or FacilityID",
			},
		},
		{
			name: "2014 bad password is a SecurityFault", ctype: ctSOAP12,
			body:       env12(submit2014(userHub, "wrong", "X", vxu)),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{fault12Code: "env:Sender", detail12 + n14 + "SecurityFault": ""},
		},
		{
			name: "2011 unknown user is a SecurityFault", ctype: ctSOAP12,
			body:       env12(submit2011("nobody", pass1, "FAC1", vxu)),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{detail12 + n11 + "SecurityFault/" + n11 + "Code": "401"},
		},
		{
			name: "2011 facility not authorised is a SecurityFault", ctype: ctSOAP12,
			body:       env12(submit2011(user2, pass2, "FAC1", vxu)),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{detail12 + n11 + "SecurityFault/" + n11 + "Code": "401"},
		},
		{
			name: "2014 no facilityID on a multi-facility account is a SecurityFault", ctype: ctSOAP12,
			body:       env12(submit2014(user2, pass2, "", vxu)),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{detail12 + n14 + "SecurityFault": ""},
		},
		{
			name: "2011 oversize is a MessageTooLargeFault", ctype: ctSOAP12,
			body:       env12(submit2011(user1, pass1, "FAC1", vxu+big)),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{
				fault12Code: "env:Sender",
				detail12 + n11 + "MessageTooLargeFault/" + n11 + "Code":   "413",
				detail12 + n11 + "MessageTooLargeFault/" + n11 + "Reason": "MessageTooLarge",
				detail12 + n11 + "MessageTooLargeFault/" + n11 + "Detail": "*",
			},
		},
		{
			name: "2014 oversize is a MessageTooLargeFault with Size and MaxSize", ctype: ctSOAP12,
			body:       env12(submit2014(user2, pass2, "FAC2", vxu+big)),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{
				detail12 + n14 + "MessageTooLargeFault/" + n14 + "Size":    strconv.Itoa(len(env12(submit2014(user2, pass2, "FAC2", vxu+big)))),
				detail12 + n14 + "MessageTooLargeFault/" + n14 + "MaxSize": strconv.Itoa(maxSize),
			},
		},
		{
			name: "malformed XML", ctype: ctSOAP12,
			body:       env12(submit2011(user1, pass1, "FAC1", "x")[:60]),
			wantStatus: 400, wantCT: ctSOAP12,
			want:    map[string]string{fault12Code: "env:Sender"},
			wantRaw: []string{"malformed XML"},
		},
		{
			name: "unescaped ampersand from a naive client", ctype: ctSOAP12,
			body:       strings.Replace(env12(submit2011(user1, pass1, "FAC1", vxu)), "&amp;", "&", 1),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{fault12Code: "env:Sender"},
		},
		{
			name: "not an envelope", ctype: ctSOAP12,
			body:       `<?xml version="1.0"?><submitSingleMessage xmlns="urn:cdc:iisb:2011"/>`,
			wantStatus: 400, wantCT: ctSOAP12,
			want:    map[string]string{fault12Code: "env:Sender"},
			wantRaw: []string{"not a SOAP envelope"},
		},
		{
			name: "empty body", ctype: ctSOAP12,
			body:       "",
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{fault12Code: "env:Sender"},
		},
		{
			name: "envelope without Body", ctype: ctSOAP12,
			body:       `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Header/></e:Envelope>`,
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{fault12Code: "env:Sender"},
		},
		{
			name: "DTD is refused", ctype: ctSOAP12,
			body:       `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>` + strings.TrimPrefix(env12(`<connectivityTest xmlns="urn:cdc:iisb:2011"><echoBack>&a;</echoBack></connectivityTest>`), `<?xml version="1.0" encoding="UTF-8"?>`),
			wantStatus: 400, wantCT: ctSOAP12,
			want:    map[string]string{fault12Code: "env:Sender"},
			wantRaw: []string{"document type declarations are not allowed"},
		},
		{
			name: "unknown 2011 operation is an UnsupportedOperationFault", ctype: ctSOAP12,
			body:       env12(`<submitBatch xmlns="urn:cdc:iisb:2011"><x/></submitBatch>`),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{
				fault12Code: "env:Sender",
				detail12 + n11 + "UnsupportedOperationFault/" + n11 + "Code": "501",
			},
		},
		{
			name: "unknown 2014 operation is an UnsupportedOperationFault", ctype: ctSOAP12,
			body:       env12(`<SubmitBatchRequest xmlns="urn:cdc:iisb:2014"/>`),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{detail12 + n14 + "UnsupportedOperationFault": ""},
		},
		{
			name: "operation in an unknown namespace", ctype: ctSOAP12,
			body:       env12(`<submitSingleMessage xmlns="urn:example:other"/>`),
			wantStatus: 400, wantCT: ctSOAP12,
			want: map[string]string{fault12Code: "env:Sender", fault12 + s12 + "Reason/" + s12 + "Text": "*"},
		},
		{
			name: "unknown envelope namespace is a VersionMismatch", ctype: ctSOAP12,
			body:       `<Envelope xmlns="urn:example:soap"><Body/></Envelope>`,
			wantStatus: 500, wantCT: ctSOAP12,
			want: map[string]string{
				fault12Code: "env:VersionMismatch",
				s12 + "Envelope/" + s12 + "Header/" + s12 + "Upgrade/" + s12 + "SupportedEnvelope": "",
			},
		},
		{
			name: "unknown mandatory header is a MustUnderstand fault", ctype: ctSOAP12,
			body: strings.Replace(env12(submit2011(user1, pass1, "FAC1", vxu)), "<soap:Header/>",
				`<soap:Header><x:Token xmlns:x="urn:example:sec" soap:mustUnderstand="true">t</x:Token><y:Info xmlns:y="urn:example:info">i</y:Info></soap:Header>`, 1),
			wantStatus: 500, wantCT: ctSOAP12,
			want: map[string]string{
				fault12Code: "env:MustUnderstand",
				s12 + "Envelope/" + s12 + "Header/" + s12 + "NotUnderstood": "",
			},
			wantRaw: []string{`qname="nu:Token" xmlns:nu="urn:example:sec"`},
		},
		{
			name: "mandatory header for another role is ignored", ctype: ctSOAP12,
			body: strings.Replace(env12(submit2011(user1, pass1, "FAC1", vxu)), "<soap:Header/>",
				`<soap:Header><x:Token xmlns:x="urn:example:sec" soap:mustUnderstand="true" soap:role="urn:example:proxy">t</x:Token></soap:Header>`, 1),
			wantStatus: 200, wantCT: ctSOAP12,
			want: map[string]string{respBody11: ack("FAC1", vxuID)},
		},
		{
			name: "WS-Addressing headers are understood and answered", ctype: ctSOAP12,
			body: strings.Replace(env12(submit2014(user2, pass2, "FAC2", vxu)), "<soap:Header/>",
				`<soap:Header xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Action soap:mustUnderstand="true">urn:cdc:iisb:2014:IISPortType:SubmitSingleMessageRequest</wsa:Action>`+
					`<wsa:MessageID>urn:uuid:8c2d7b6e-0000-4000-8000-000000000001</wsa:MessageID><wsa:To soap:mustUnderstand="1">https://iis/IISService</wsa:To></soap:Header>`, 1),
			wantStatus: 200, wantCT: ctSOAP12,
			want: map[string]string{
				respBody14: ack("FAC2", vxuID),
				s12 + "Envelope/" + s12 + "Header/{http://www.w3.org/2005/08/addressing}Action":    "urn:cdc:iisb:2014:IISPortType:SubmitSingleMessageResponse",
				s12 + "Envelope/" + s12 + "Header/{http://www.w3.org/2005/08/addressing}RelatesTo": "urn:uuid:8c2d7b6e-0000-4000-8000-000000000001",
			},
		},
		{
			name: "SOAP 1.1 submitSingleMessage is answered in SOAP 1.1", ctype: ctSOAP11,
			body:       env11(submit2011(user1, pass1, "FAC1", vxu)),
			wantStatus: 200, wantCT: ctSOAP11,
			want: map[string]string{s11 + "Envelope/" + s11 + "Body/" + n11 + "submitSingleMessageResponse/" + n11 + "return": ack("FAC1", vxuID)},
		},
		{
			name: "SOAP 1.1 bad password is a SOAP 1.1 fault with the typed detail", ctype: ctSOAP11,
			body:       env11(submit2011(user1, "wrong", "FAC1", vxu)),
			wantStatus: 500, wantCT: ctSOAP11,
			want: map[string]string{
				fault11 + "{}faultcode":   "soap:Client",
				fault11 + "{}faultstring": "Invalid Username, Password or FacilityID",
				fault11 + "{}detail/" + n11 + "SecurityFault/" + n11 + "Code": "401",
			},
		},
		{
			name: "SOAP 1.1 malformed XML is a SOAP 1.1 fault", ctype: ctSOAP11,
			body:       "<not xml",
			wantStatus: 500, wantCT: ctSOAP11,
			want: map[string]string{fault11 + "{}faultcode": "soap:Client"},
		},
		{
			name: "unsupported media type", ctype: "application/json",
			body:       `{"hl7":"MSH|..."}`,
			wantStatus: 415, wantCT: ctSOAP12,
			want: map[string]string{fault12Code: "env:Sender"},
		},
		{
			name: "handler without reply is a 2011 UnknownFault", ctype: ctSOAP12,
			body:       env12(submit2011(user1, pass1, "FAC1", strings.Replace(vxu, vxuID, "EMPTY", 1))),
			wantStatus: 500, wantCT: ctSOAP12,
			want: map[string]string{
				fault12Code:                              "env:Receiver",
				detail12 + n11 + "fault/" + n11 + "Code": "500",
			},
		},
		{
			name: "handler panic is a 2014 Receiver fault without typed detail", ctype: ctSOAP12,
			body:       env12(submit2014(user1, pass1, "FAC1", strings.Replace(vxu, vxuID, "PANIC", 1))),
			wantStatus: 500, wantCT: ctSOAP12,
			want: map[string]string{fault12Code: "env:Receiver"},
		},
	}
	client := ts.Client()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, ct, body := post(t, client, url, tc.ctype, tc.body)
			if status != tc.wantStatus || ct != tc.wantCT {
				t.Fatalf("got HTTP %d %q, want %d %q\n%s", status, ct, tc.wantStatus, tc.wantCT, body)
			}
			paths := elementPaths(t, body)
			for p, want := range tc.want {
				got, ok := paths[p]
				if !ok {
					t.Errorf("response lacks element %s\n%s", p, body)
					continue
				}
				if want != "*" && got != want {
					t.Errorf("%s = %q, want %q", p, got, want)
				}
			}
			if strings.HasPrefix(tc.name, "2014") {
				for p := range paths {
					if strings.Contains(p, n11) {
						t.Errorf("2014 response has 2011 element %s", p)
					}
				}
			}
			for _, s := range tc.wantRaw {
				if !strings.Contains(body, s) {
					t.Errorf("response lacks %q\n%s", s, body)
				}
			}
			// Every answer, success or fault, reads back with the package's
			// own reader, the way the Client sees it.
			r, err := parseResponse([]byte(body))
			if err != nil {
				t.Fatalf("parseResponse: %v", err)
			}
			if (r.fault != nil) != (status != 200) {
				t.Errorf("HTTP %d but fault = %v", status, r.fault)
			}
		})
	}
}

// TestServerOversizeNotBuffered sends a body far over the limit with a
// declared length; the server answers from the first bytes only.
func TestServerOversizeNotBuffered(t *testing.T) {
	ts := newTestServer(t, false, Config{MaxMessageSize: 1024})
	const size = 64 << 20
	body := io.MultiReader(strings.NewReader(upTo(env12(submit2014(user1, pass1, "FAC1", "MSH|")), "MSH|")), &zeros{n: size})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/IISService", body)
	req.ContentLength = int64(size + len(upTo(env12(submit2014(user1, pass1, "FAC1", "MSH|")), "MSH|")))
	req.Header.Set("Content-Type", ctSOAP12)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	f, err := ParseFault(b)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || f.Kind != KindMessageTooLarge || f.Revision != Rev2014 || f.Size != uint64(req.ContentLength) || f.MaxSize != 1024 {
		t.Errorf("HTTP %d, fault %+v", resp.StatusCode, f)
	}
}

// upTo returns s up to the first sep.
func upTo(s, sep string) string { return s[:strings.Index(s, sep)] }

type zeros struct{ n int }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), z.n)
	clear(p[:n])
	z.n -= n
	return n, nil
}

// TestServerChunkedOversize sends an oversize body without a length.
func TestServerChunkedOversize(t *testing.T) {
	ts := newTestServer(t, false, Config{MaxMessageSize: 1024})
	body := io.MultiReader(strings.NewReader(upTo(env12(submit2011(user1, pass1, "FAC1", "MSH|")), "MSH|")), &zeros{n: 4096})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/IISService", body)
	req.Header.Set("Content-Type", ctSOAP12)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	f, err := ParseFault(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != KindMessageTooLarge || f.Revision != Rev2011 || f.DetailCode != 413 {
		t.Errorf("fault %+v", f)
	}
}

func TestServerDisabledConnectivityTest(t *testing.T) {
	ts := newTestServer(t, false, Config{DisableConnectivityTest: true})
	for _, rev := range []Revision{Rev2011, Rev2014} {
		c := &Client{URL: ts.URL + "/IISService", Revision: rev}
		_, err := c.ConnectivityTest(t.Context(), "x")
		f, ok := err.(*Fault)
		if !ok || f.Kind != KindUnsupportedOperation || f.Revision != rev {
			t.Errorf("%s: err = %v", rev, err)
		}
	}
}

func TestServerMethods(t *testing.T) {
	ts := newTestServer(t, false, Config{})
	for _, tc := range []struct {
		method string
		want   int
	}{{http.MethodPut, 405}, {http.MethodDelete, 405}, {http.MethodGet, 200}, {http.MethodHead, 200}} {
		req, _ := http.NewRequest(tc.method, ts.URL+"/IISService", nil)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.method, resp.StatusCode, tc.want)
		}
	}
}

func TestWSDL(t *testing.T) {
	ts := newTestServer(t, true, Config{})
	url := ts.URL + "/IISService"
	get := func(u string) (int, []byte) {
		resp, err := ts.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	type wsdlDoc struct {
		XMLName         xml.Name `xml:"http://schemas.xmlsoap.org/wsdl/ definitions"`
		TargetNamespace string   `xml:"targetNamespace,attr"`
		Import          struct {
			Namespace      string `xml:"namespace,attr"`
			SchemaLocation string `xml:"schemaLocation,attr"`
		} `xml:"types>schema>import"`
		Address struct {
			Location string `xml:"location,attr"`
		} `xml:"service>port>address"`
	}
	for _, tc := range []struct {
		query, ns, xsd string
	}{
		{"?wsdl", Namespace2011, "cdc-iis-2011.xsd"},
		{"?WSDL", Namespace2011, "cdc-iis-2011.xsd"},
		{"?wsdl=2011", Namespace2011, "cdc-iis-2011.xsd"},
		{"?wsdl=2014", Namespace2014, "cdc-iis.xsd"},
	} {
		status, b := get(url + tc.query)
		if status != 200 {
			t.Fatalf("%s: HTTP %d", tc.query, status)
		}
		var w wsdlDoc
		if err := xml.Unmarshal(b, &w); err != nil {
			t.Fatalf("%s: WSDL does not parse: %v", tc.query, err)
		}
		if w.TargetNamespace != tc.ns || w.Import.Namespace != tc.ns {
			t.Errorf("%s: targetNamespace %q, import %q, want %q", tc.query, w.TargetNamespace, w.Import.Namespace, tc.ns)
		}
		if w.Address.Location != url {
			t.Errorf("%s: service address %q, want %q", tc.query, w.Address.Location, url)
		}
		if want := url + "?xsd=" + tc.xsd; w.Import.SchemaLocation != want {
			t.Errorf("%s: schemaLocation %q, want %q", tc.query, w.Import.SchemaLocation, want)
		}
		status, x := get(w.Import.SchemaLocation)
		var schema struct {
			XMLName         xml.Name `xml:"http://www.w3.org/2001/XMLSchema schema"`
			TargetNamespace string   `xml:"targetNamespace,attr"`
		}
		if status != 200 || xml.Unmarshal(x, &schema) != nil || schema.TargetNamespace != tc.ns {
			t.Errorf("%s: schema at %s: HTTP %d, targetNamespace %q", tc.query, w.Import.SchemaLocation, status, schema.TargetNamespace)
		}
		// Apart from the two rewritten addresses, the WSDL is the CDC's.
		orig, err := os.ReadFile("../testdata/soap/" + map[string]string{Namespace2011: "cdc-iis-2011.wsdl", Namespace2014: "cdc-iis.wsdl"}[tc.ns])
		if err != nil {
			t.Fatal(err)
		}
		if reAddress.ReplaceAll(reSchemaLocation.ReplaceAll(b, nil), nil) == nil ||
			!bytes.Equal(reAddress.ReplaceAll(reSchemaLocation.ReplaceAll(b, nil), nil), reAddress.ReplaceAll(reSchemaLocation.ReplaceAll(orig, nil), nil)) {
			t.Errorf("%s: served WSDL differs from testdata beyond the addresses", tc.query)
		}
	}
	for _, q := range []string{"?wsdl=2099", "?xsd=../../etc/passwd", "?xsd=cdc-iis-hub.xsd"} {
		if status, _ := get(url + q); status != 404 {
			t.Errorf("%s: HTTP %d, want 404", q, status)
		}
	}
	if status, _ := get(url + "?xsd=/cdc-iis.xsd"); status != 200 {
		t.Errorf("?xsd=/cdc-iis.xsd: HTTP %d", status)
	}
}

func TestWSDLPublicURL(t *testing.T) {
	ts := newTestServer(t, false, Config{PublicURL: "https://iis.example.org/soap", WSDLRevision: Rev2014})
	resp, err := ts.Client().Get(ts.URL + "/IISService?wsdl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(b, []byte(`location="https://iis.example.org/soap"`)) || !bytes.Contains(b, []byte(`targetNamespace="urn:cdc:iisb:2014"`)) {
		t.Errorf("WSDL does not use the public URL or revision:\n%s", b)
	}
}

// TestEmbeddedFilesMatchTestdata keeps the embedded copies in step with the
// project's testdata/soap.
func TestEmbeddedFilesMatchTestdata(t *testing.T) {
	for _, name := range []string{"cdc-iis-2011.wsdl", "cdc-iis-2011.xsd", "cdc-iis.wsdl", "cdc-iis.xsd"} {
		emb, err := wsdlFiles.ReadFile("wsdl/" + name)
		if err != nil {
			t.Fatal(err)
		}
		orig, err := os.ReadFile("../testdata/soap/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(emb, orig) {
			t.Errorf("soap/wsdl/%s differs from testdata/soap/%s", name, name)
		}
	}
}

func TestNewServerConfig(t *testing.T) {
	a := testAccounts(t)
	for _, cfg := range []Config{
		{Auth: a},
		{Handler: ackHandler},
		{Handler: ackHandler, Auth: a, WSDLRevision: 2012},
	} {
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("NewServer(%+v) succeeded", cfg)
		}
	}
}

// TestServerRequestTimeout checks that the handler's context carries the
// configured deadline and the authenticated facility.
func TestServerRequestTimeout(t *testing.T) {
	type seen struct {
		deadline time.Duration
		fac      Facility
	}
	got := make(chan seen, 1)
	h := HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		dl, _ := ctx.Deadline()
		fac, _ := FacilityFromContext(ctx)
		got <- seen{time.Until(dl), fac}
		return []byte("MSH|^~\\&|IIS\rMSA|AA|1\r")
	})
	ts := newTestServer(t, false, Config{Handler: h, RequestTimeout: time.Hour})
	c := &Client{URL: ts.URL + "/IISService", Username: user2, Password: pass2, FacilityID: "FAC3"}
	if _, err := c.SubmitSingleMessage(t.Context(), []byte("MSH|^~\\&|A\r")); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.deadline <= 59*time.Minute || s.deadline > time.Hour {
		t.Errorf("handler deadline in %v, want about 1h", s.deadline)
	}
	if s.fac != (Facility{Username: user2, FacilityID: "FAC3"}) {
		t.Errorf("facility %+v", s.fac)
	}
}
