package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// request is a parsed service request.
type request struct {
	version Version
	rev     Revision
	op      operation
	elem    xml.Name // the body element

	username, password, facilityID, hl7Message, echoBack string

	wsaMessageID string // WS-Addressing MessageID, echoed as RelatesTo
}

// errNotEnvelope and friends classify envelope problems; the server turns
// them into faults.
var (
	errNotEnvelope = errors.New("not a SOAP envelope")
	errNoBody      = errors.New("SOAP envelope has no Body")
	errEmptyBody   = errors.New("SOAP Body is empty")
	errDTD         = errors.New("document type declarations are not allowed in SOAP messages")
)

// versionMismatchError reports an Envelope element in an unknown namespace.
type versionMismatchError struct{ ns string }

func (e *versionMismatchError) Error() string {
	return fmt.Sprintf("unsupported SOAP envelope namespace %q", e.ns)
}

// mustUnderstandError lists mandatory header blocks the server does not
// understand.
type mustUnderstandError struct{ names []xml.Name }

func (e *mustUnderstandError) Error() string {
	s := make([]string, len(e.names))
	for i, n := range e.names {
		s[i] = "{" + n.Space + "}" + n.Local
	}
	return "mandatory SOAP header blocks not understood: " + strings.Join(s, ", ")
}

func newDecoder(data []byte) *xml.Decoder {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = charsetReader
	return d
}

// openEnvelope reads an envelope up to the start tag of the first element
// inside env:Body. Header blocks are passed to header, which must consume
// them; a nil header skips them. empty is true if the body has no element.
func openEnvelope(d *xml.Decoder, header func(v Version, t xml.StartElement) error) (v Version, first xml.StartElement, err error) {
	root, err := firstElement(d)
	if err != nil {
		return 0, first, err
	}
	if root.Name.Local != "Envelope" {
		return 0, first, errNotEnvelope
	}
	switch root.Name.Space {
	case nsSOAP12:
		v = SOAP12
	case nsSOAP11:
		v = SOAP11
	default:
		return 0, first, &versionMismatchError{ns: root.Name.Space}
	}
	envNS := v.envNS()
	seenHeader := false
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return v, first, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return v, first, errNoBody
		case xml.Directive:
			return v, first, errDTD
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return v, first, fmt.Errorf("%w: text directly inside Envelope", errNotEnvelope)
			}
		case xml.StartElement:
			switch {
			case t.Name.Space == envNS && t.Name.Local == "Header" && !seenHeader:
				seenHeader = true
				if err := readHeader(d, v, header); err != nil {
					return v, first, err
				}
			case t.Name.Space == envNS && t.Name.Local == "Body":
				first, err := firstChild(d)
				return v, first, err
			default:
				return v, first, fmt.Errorf("%w: unexpected element %s inside Envelope", errNotEnvelope, t.Name.Local)
			}
		}
	}
}

// firstElement returns the document's root start tag, rejecting DTDs.
func firstElement(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return xml.StartElement{}, errNotEnvelope
			}
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.Directive:
			return xml.StartElement{}, errDTD
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, errNotEnvelope
			}
		}
	}
}

// firstChild returns the first child element of the element whose start tag
// was just consumed.
func firstChild(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.EndElement:
			return xml.StartElement{}, errEmptyBody
		case xml.Directive:
			return xml.StartElement{}, errDTD
		}
	}
}

func readHeader(d *xml.Decoder, v Version, header func(Version, xml.StartElement) error) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if header == nil {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			if err := header(v, t); err != nil {
				return err
			}
		}
	}
}

// finish reads the rest of the document so that a truncated or otherwise
// malformed envelope is not mistaken for a good one.
func finish(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if _, ok := tok.(xml.Directive); ok {
			return errDTD
		}
	}
}

// parseRequest parses a request envelope. The error is one of the classified
// errors above, a *Fault for an unknown operation, or an XML syntax error.
func parseRequest(data []byte) (*request, error) {
	d := newDecoder(data)
	req := &request{}
	var notUnderstood []xml.Name
	header := func(v Version, t xml.StartElement) error {
		if t.Name.Space == nsWSA || t.Name.Space == nsWSA04 {
			s, err := textContent(d)
			if t.Name.Local == "MessageID" {
				req.wsaMessageID = strings.TrimSpace(s)
			}
			return err
		}
		if mustUnderstand(v, t) {
			notUnderstood = append(notUnderstood, t.Name)
		}
		return d.Skip()
	}
	v, body, err := openEnvelope(d, header)
	req.version = v
	if err != nil {
		return req, err
	}
	if len(notUnderstood) > 0 {
		return req, &mustUnderstandError{names: notUnderstood}
	}
	req.elem = body.Name
	rev, ok := revisionOf(body.Name.Space)
	if !ok {
		return req, &Fault{Code: CodeSender, Reason: fmt.Sprintf("unknown operation {%s}%s", body.Name.Space, body.Name.Local)}
	}
	req.rev = rev
	req.op = bodyOperation(rev, body.Name.Local)
	if req.op == opUnknown {
		return req, &Fault{Code: CodeSender, Kind: KindUnsupportedOperation, Revision: rev,
			Reason:       fmt.Sprintf("unsupported operation %s", body.Name.Local),
			DetailCode:   detailCodeUnsupported,
			DetailReason: "UnsupportedOperation",
			DetailText:   fmt.Sprintf("operation %s is not part of the %s CDC IIS web service", body.Name.Local, rev)}
	}
	if err := readFields(d, req); err != nil {
		return req, err
	}
	return req, finish(d)
}

// mustUnderstand reports whether a header block is mandatory and targeted at
// this node (SOAP 1.2 role absent, next or ultimateReceiver; SOAP 1.1 actor
// absent or next).
func mustUnderstand(v Version, t xml.StartElement) bool {
	envNS := v.envNS()
	mu, targeted := false, true
	for _, a := range t.Attr {
		if a.Name.Space != envNS {
			continue
		}
		val := strings.TrimSpace(a.Value)
		switch a.Name.Local {
		case "mustUnderstand":
			mu = val == "1" || val == "true"
		case "role":
			targeted = val == "" || val == nsSOAP12+"/role/next" || val == nsSOAP12+"/role/ultimateReceiver"
		case "actor":
			targeted = val == "" || val == "http://schemas.xmlsoap.org/soap/actor/next"
		}
	}
	return mu && targeted
}

// readFields reads the children of the operation element. They are matched
// by local name, case-insensitively and in any namespace, so that the 2011
// names (username, hl7Message, echoBack), the 2014 ones (Username,
// Hl7Message, EchoBack) and unqualified children all read the same.
func readFields(d *xml.Decoder, req *request) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			s, err := textContent(d)
			if err != nil {
				return err
			}
			switch strings.ToLower(t.Name.Local) {
			case "username":
				req.username = s
			case "password":
				req.password = s
			case "facilityid":
				req.facilityID = s
			case "hl7message":
				req.hl7Message = s
			case "echoback":
				req.echoBack = s
			}
		}
	}
}

// sniffRequest learns what it can (envelope version, revision) from the
// first bytes of a request too large to parse.
func sniffRequest(prefix []byte) (Version, Revision) {
	d := newDecoder(prefix)
	v, body, _ := openEnvelope(d, nil)
	rev, _ := revisionOf(body.Name.Space)
	return v, rev
}

// response is a parsed service response, as the client sees it.
type response struct {
	version Version
	elem    xml.Name
	fault   *Fault
	value   string // text of the single child (return, Hl7Message, EchoBack)
}

func parseResponse(data []byte) (*response, error) {
	d := newDecoder(data)
	v, body, err := openEnvelope(d, nil)
	if err != nil {
		return nil, fmt.Errorf("soap: reading response envelope: %w", err)
	}
	r := &response{version: v, elem: body.Name}
	if body.Name.Space == v.envNS() && body.Name.Local == "Fault" {
		if r.fault, err = decodeFault(d, v); err != nil {
			return nil, fmt.Errorf("soap: %w", err)
		}
	} else {
		child, err := firstChild(d)
		switch {
		case err == errEmptyBody:
			// A response element with no child: an empty (nil) value.
		case err != nil:
			return nil, fmt.Errorf("soap: reading %s: %w", body.Name.Local, err)
		default:
			if r.value, err = textContent(d); err != nil {
				return nil, fmt.Errorf("soap: reading %s/%s: %w", body.Name.Local, child.Name.Local, err)
			}
		}
	}
	if err := finish(d); err != nil {
		return nil, fmt.Errorf("soap: reading response envelope: %w", err)
	}
	return r, nil
}
