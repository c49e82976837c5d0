package soap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// DefaultMaxResponseSize bounds the responses a [Client] reads.
const DefaultMaxResponseSize = 16 << 20

// Client calls a CDC IIS SOAP web service (SOAP 1.2). It is safe for
// concurrent use. A SOAP fault comes back as a *[Fault] error; a fault that
// embeds the IIS's HL7 reply makes it available through [Fault.HL7].
type Client struct {
	// URL is the service address (the WSDL's soap12:address).
	URL string
	// HTTPClient sends the requests; nil means http.DefaultClient. Set its
	// Transport's TLSClientConfig for HTTPS with a private CA or client
	// certificates, and its Timeout or the calls' contexts for deadlines.
	// For concurrent senders, give it a Transport whose MaxIdleConnsPerHost
	// is at least the concurrency (http.DefaultTransport keeps 2), or
	// connections are redialled for every call.
	HTTPClient *http.Client
	// Username, Password and FacilityID go into every submitSingleMessage.
	Username, Password, FacilityID string
	// Revision picks the WSDL revision spoken (default Rev2011).
	Revision Revision
	// MaxResponseSize bounds the response body (default
	// DefaultMaxResponseSize).
	MaxResponseSize int64
}

// SubmitSingleMessage sends one HL7 message and returns the IIS's HL7 reply
// (ACK or RSP) with segments separated by CR.
func (c *Client) SubmitSingleMessage(ctx context.Context, msg []byte) ([]byte, error) {
	rev := c.revision()
	b := c.start(nil, rev, opSubmit)
	names := [4]string{"username", "password", "facilityID", "hl7Message"}
	if rev == Rev2014 {
		names = [4]string{"Username", "Password", "FacilityID", "Hl7Message"}
	}
	for i, v := range [4]string{c.Username, c.Password, c.FacilityID, string(msg)} {
		b = appendElement(b, names[i], v)
	}
	b = c.end(b, rev, opSubmit)
	value, err := c.call(ctx, rev, opSubmit, b)
	if err != nil {
		return nil, err
	}
	return normalizeHL7(value), nil
}

// ConnectivityTest asks the service to echo echoBack and returns its answer.
func (c *Client) ConnectivityTest(ctx context.Context, echoBack string) (string, error) {
	rev := c.revision()
	b := c.start(nil, rev, opConnectivity)
	name := "echoBack"
	if rev == Rev2014 {
		name = "EchoBack"
	}
	b = appendElement(b, name, echoBack)
	b = c.end(b, rev, opConnectivity)
	return c.call(ctx, rev, opConnectivity, b)
}

func (c *Client) revision() Revision {
	if c.Revision == 0 {
		return Rev2011
	}
	return c.Revision
}

func requestElement(rev Revision, op operation) string {
	switch {
	case rev == Rev2011 && op == opSubmit:
		return "submitSingleMessage"
	case rev == Rev2011:
		return "connectivityTest"
	case op == opSubmit:
		return "SubmitSingleMessageRequest"
	default:
		return "ConnectivityTestRequest"
	}
}

func (c *Client) start(b []byte, rev Revision, op operation) []byte {
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><`...)
	b = append(b, requestElement(rev, op)...)
	b = append(b, ` xmlns="`...)
	b = append(b, rev.Namespace()...)
	return append(b, `">`...)
}

func (c *Client) end(b []byte, rev Revision, op operation) []byte {
	b = append(b, `</`...)
	b = append(b, requestElement(rev, op)...)
	return append(b, `></soap:Body></soap:Envelope>`...)
}

func appendElement(b []byte, name, value string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendEscaped(b, value)
	b = append(b, `</`...)
	b = append(b, name...)
	return append(b, '>')
}

// call posts an envelope and returns the text of the response element's
// child.
func (c *Client) call(ctx context.Context, rev Revision, op operation, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("soap: building request: %w", err)
	}
	action := requestAction(rev, op)
	req.Header.Set("Content-Type", `application/soap+xml; charset=utf-8; action="`+action+`"`)
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("soap: %s: %w", requestElement(rev, op), err)
	}
	defer resp.Body.Close()
	max := c.MaxResponseSize
	if max <= 0 {
		max = DefaultMaxResponseSize
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return "", fmt.Errorf("soap: reading response: %w", err)
	}
	if int64(len(data)) > max {
		return "", fmt.Errorf("soap: response larger than %d bytes", max)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/soap+xml" && mt != "text/xml" && mt != "application/xml" {
		return "", fmt.Errorf("soap: HTTP %s with content type %q, not a SOAP response", resp.Status, resp.Header.Get("Content-Type"))
	}
	r, err := parseResponse(data)
	if err != nil {
		return "", fmt.Errorf("soap: HTTP %s: %w", resp.Status, err)
	}
	if r.fault != nil {
		return "", r.fault
	}
	want, _ := responseNames(rev, op)
	if r.elem.Local != want || r.elem.Space != rev.Namespace() {
		return "", fmt.Errorf("soap: response holds {%s}%s, want {%s}%s", r.elem.Space, r.elem.Local, rev.Namespace(), want)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("soap: HTTP %s with a %s", resp.Status, want)
	}
	return r.value, nil
}
