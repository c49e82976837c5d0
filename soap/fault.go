package soap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// FaultKind names the typed detail a CDC IIS fault carries.
type FaultKind string

// The fault details the WSDLs define. The 2011 XSD names the element of an
// UnknownFault "fault"; the 2014 XSD has no UnknownFault, so such faults go
// out there with no typed detail.
const (
	KindSecurity             FaultKind = "SecurityFault"
	KindMessageTooLarge      FaultKind = "MessageTooLargeFault"
	KindUnsupportedOperation FaultKind = "UnsupportedOperationFault"
	KindUnknown              FaultKind = "UnknownFault"
)

// SOAP 1.2 fault codes (SOAP 1.1 Client and Server read as Sender and
// Receiver).
const (
	CodeSender          = "Sender"
	CodeReceiver        = "Receiver"
	CodeVersionMismatch = "VersionMismatch"
	CodeMustUnderstand  = "MustUnderstand"
)

// Codes written into the Code child of 2011 fault details. The XSD types it
// as an integer without assigning values; these follow HTTP status numbers.
const (
	detailCodeSecurity    = 401
	detailCodeTooLarge    = 413
	detailCodeUnsupported = 501
	detailCodeUnknown     = 500
)

// Fault is a SOAP fault, as the server sends it and as the client reads it.
// It implements error.
type Fault struct {
	// Code is the SOAP 1.2 fault code: CodeSender, CodeReceiver, ...
	Code string
	// Reason is the human-readable fault reason (env:Reason/env:Text, or
	// faultstring in SOAP 1.1).
	Reason string
	// Kind is the typed CDC IIS detail, or "" if the detail is absent or of
	// another kind.
	Kind FaultKind
	// Revision is the revision whose namespace the typed detail is in.
	Revision Revision
	// DetailCode, DetailReason and DetailText are the Code, Reason and
	// Detail children of a 2011 typed detail.
	DetailCode   int64
	DetailReason string
	DetailText   string
	// Size and MaxSize are the children of a 2014 MessageTooLargeFault.
	Size, MaxSize uint64
	// Detail is the text content of an untyped env:Detail, as real-world
	// IIS sometimes send (the HL7 reply, for instance).
	Detail string

	notUnderstood []xml.Name // MustUnderstand: header blocks not understood
}

// Error describes the fault.
func (f *Fault) Error() string {
	var b strings.Builder
	b.WriteString("soap fault ")
	b.WriteString(f.Code)
	if f.Kind != "" {
		b.WriteString(" (")
		b.WriteString(string(f.Kind))
		b.WriteString(")")
	}
	if f.Reason != "" {
		b.WriteString(": ")
		b.WriteString(firstLine(f.Reason))
	}
	return b.String()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// HL7 returns the HL7 message some IIS embed in the text of a fault (an RSP
// or ACK explaining an authentication error, for instance), or nil. The
// segments found from the first "MSH|" on, up to the first line that is not
// a segment, are returned separated by CR.
func (f *Fault) HL7() []byte {
	for _, s := range []string{f.Detail, f.DetailText, f.Reason} {
		if m := embeddedHL7(s); m != nil {
			return m
		}
	}
	return nil
}

func embeddedHL7(s string) []byte {
	i := strings.Index(s, "MSH|")
	if i < 0 {
		return nil
	}
	var out []byte
	for _, line := range strings.FieldsFunc(s[i:], func(r rune) bool { return r == '\r' || r == '\n' }) {
		if !isSegmentLine(line) {
			break
		}
		out = append(out, line...)
		out = append(out, '\r')
	}
	return out
}

func isSegmentLine(line string) bool {
	if len(line) < 4 {
		return false
	}
	for i := 0; i < 3; i++ {
		c := line[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return line[3] == '|'
}

// httpStatus returns the HTTP status a fault travels with: per the SOAP 1.2
// HTTP binding, 400 for Sender faults and 500 for the others; SOAP 1.1
// always uses 500.
func (f *Fault) httpStatus(v Version) int {
	if v == SOAP12 && f.Code == CodeSender {
		return 400
	}
	return 500
}

// appendEnvelope writes the fault as a complete SOAP envelope.
func (f *Fault) appendEnvelope(dst []byte, v Version) []byte {
	dst = append(dst, `<?xml version="1.0" encoding="UTF-8"?>`...)
	if v == SOAP11 {
		dst = append(dst, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:`...)
		dst = append(dst, soap11Code(f.Code)...)
		dst = append(dst, `</faultcode><faultstring>`...)
		dst = appendEscaped(dst, f.Reason)
		dst = append(dst, `</faultstring>`...)
		if f.hasTypedDetail() {
			dst = append(dst, `<detail>`...)
			dst = f.appendDetail(dst)
			dst = append(dst, `</detail>`...)
		}
		return append(dst, `</soap:Fault></soap:Body></soap:Envelope>`...)
	}
	dst = append(dst, `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">`...)
	switch {
	case f.Code == CodeVersionMismatch:
		dst = append(dst, `<env:Header><env:Upgrade>`+
			`<env:SupportedEnvelope qname="s12:Envelope" xmlns:s12="http://www.w3.org/2003/05/soap-envelope"/>`+
			`<env:SupportedEnvelope qname="s11:Envelope" xmlns:s11="http://schemas.xmlsoap.org/soap/envelope/"/>`+
			`</env:Upgrade></env:Header>`...)
	case len(f.notUnderstood) > 0:
		dst = append(dst, `<env:Header>`...)
		for _, n := range f.notUnderstood {
			dst = append(dst, `<env:NotUnderstood qname="nu:`...)
			dst = appendEscaped(dst, n.Local)
			dst = append(dst, `" xmlns:nu="`...)
			dst = appendEscaped(dst, n.Space)
			dst = append(dst, `"/>`...)
		}
		dst = append(dst, `</env:Header>`...)
	}
	dst = append(dst, `<env:Body><env:Fault><env:Code><env:Value>env:`...)
	dst = append(dst, f.Code...)
	dst = append(dst, `</env:Value></env:Code><env:Reason><env:Text xml:lang="en">`...)
	dst = appendEscaped(dst, f.Reason)
	dst = append(dst, `</env:Text></env:Reason>`...)
	if f.hasTypedDetail() {
		dst = append(dst, `<env:Detail>`...)
		dst = f.appendDetail(dst)
		dst = append(dst, `</env:Detail>`...)
	}
	return append(dst, `</env:Fault></env:Body></env:Envelope>`...)
}

func soap11Code(code string) string {
	switch code {
	case CodeSender:
		return "Client"
	case CodeReceiver:
		return "Server"
	}
	return code
}

// hasTypedDetail reports whether the fault's kind has an element in its
// revision's XSD.
func (f *Fault) hasTypedDetail() bool {
	switch f.Revision {
	case Rev2011:
		return f.Kind != ""
	case Rev2014:
		return f.Kind == KindSecurity || f.Kind == KindMessageTooLarge || f.Kind == KindUnsupportedOperation
	}
	return false
}

// appendDetail writes the typed detail element exactly as the revision's XSD
// defines it.
func (f *Fault) appendDetail(dst []byte) []byte {
	name := string(f.Kind)
	if f.Kind == KindUnknown {
		name = "fault"
	}
	dst = append(dst, '<')
	dst = append(dst, name...)
	dst = append(dst, ` xmlns="`...)
	dst = append(dst, f.Revision.Namespace()...)
	if f.Revision == Rev2014 {
		if f.Kind != KindMessageTooLarge {
			return append(dst, `"/>`...)
		}
		dst = append(dst, `"><Size>`...)
		dst = strconv.AppendUint(dst, f.Size, 10)
		dst = append(dst, `</Size><MaxSize>`...)
		dst = strconv.AppendUint(dst, f.MaxSize, 10)
		dst = append(dst, `</MaxSize></MessageTooLargeFault>`...)
		return dst
	}
	dst = append(dst, `"><Code>`...)
	dst = strconv.AppendInt(dst, f.DetailCode, 10)
	dst = append(dst, `</Code><Reason>`...)
	dst = appendEscaped(dst, f.DetailReason)
	dst = append(dst, `</Reason><Detail>`...)
	dst = appendEscaped(dst, f.DetailText)
	dst = append(dst, `</Detail></`...)
	dst = append(dst, name...)
	return append(dst, '>')
}

// ParseFault reads a SOAP 1.1 or 1.2 envelope whose body is a fault. It
// returns an error if data is not such an envelope.
func ParseFault(data []byte) (*Fault, error) {
	r, err := parseResponse(data)
	if err != nil {
		return nil, err
	}
	if r.fault == nil {
		return nil, fmt.Errorf("soap: body holds %s, not a fault", r.elem.Local)
	}
	return r.fault, nil
}

// decodeFault reads an env:Fault element whose start tag was just consumed.
func decodeFault(d *xml.Decoder, v Version) (*Fault, error) {
	f := &Fault{}
	envNS := v.envNS()
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("reading fault: %w", err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return f, nil
		case xml.StartElement:
			switch {
			case v == SOAP12 && t.Name.Space == envNS && t.Name.Local == "Code":
				var c struct {
					Value string `xml:"Value"`
				}
				if err := d.DecodeElement(&c, &t); err != nil {
					return nil, fmt.Errorf("reading fault code: %w", err)
				}
				f.Code = localPart(c.Value)
			case v == SOAP12 && t.Name.Space == envNS && t.Name.Local == "Reason":
				var r struct {
					Text []string `xml:"Text"`
				}
				if err := d.DecodeElement(&r, &t); err != nil {
					return nil, fmt.Errorf("reading fault reason: %w", err)
				}
				f.Reason = strings.Join(r.Text, "\n")
			case v == SOAP11 && t.Name.Local == "faultcode":
				s, err := textContent(d)
				if err != nil {
					return nil, err
				}
				switch c := localPart(s); c {
				case "Client":
					f.Code = CodeSender
				case "Server":
					f.Code = CodeReceiver
				default:
					f.Code = c
				}
			case v == SOAP11 && t.Name.Local == "faultstring":
				s, err := textContent(d)
				if err != nil {
					return nil, err
				}
				f.Reason = s
			case (v == SOAP12 && t.Name.Space == envNS && t.Name.Local == "Detail") ||
				(v == SOAP11 && t.Name.Local == "detail"):
				if err := decodeDetail(d, f); err != nil {
					return nil, err
				}
			default:
				if err := d.Skip(); err != nil {
					return nil, fmt.Errorf("reading fault: %w", err)
				}
			}
		}
	}
}

func localPart(qname string) string {
	qname = strings.TrimSpace(qname)
	if i := strings.LastIndexByte(qname, ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}

// decodeDetail reads the children of env:Detail: a typed CDC IIS detail if
// the first child is one, otherwise the text content of everything.
func decodeDetail(d *xml.Decoder, f *Fault) error {
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("reading fault detail: %w", err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			f.Detail = strings.TrimSpace(text.String())
			return nil
		case xml.CharData:
			text.Write(t)
		case xml.StartElement:
			rev, ok := revisionOf(t.Name.Space)
			kind := detailKind(t.Name.Local)
			if !ok || kind == "" || f.Kind != "" {
				s, err := textContent(d)
				if err != nil {
					return err
				}
				if text.Len() > 0 {
					text.WriteByte('\n')
				}
				text.WriteString(s)
				continue
			}
			var typed struct {
				Code    string `xml:"Code"`
				Reason  string `xml:"Reason"`
				Detail  string `xml:"Detail"`
				Size    string `xml:"Size"`
				MaxSize string `xml:"MaxSize"`
			}
			if err := d.DecodeElement(&typed, &t); err != nil {
				return fmt.Errorf("reading %s: %w", t.Name.Local, err)
			}
			f.Kind, f.Revision = kind, rev
			f.DetailCode, _ = strconv.ParseInt(strings.TrimSpace(typed.Code), 10, 64)
			f.DetailReason, f.DetailText = typed.Reason, typed.Detail
			f.Size, _ = strconv.ParseUint(strings.TrimSpace(typed.Size), 10, 64)
			f.MaxSize, _ = strconv.ParseUint(strings.TrimSpace(typed.MaxSize), 10, 64)
		}
	}
}

func detailKind(local string) FaultKind {
	switch local {
	case "SecurityFault":
		return KindSecurity
	case "MessageTooLargeFault":
		return KindMessageTooLarge
	case "UnsupportedOperationFault":
		return KindUnsupportedOperation
	case "fault", "UnknownFault":
		return KindUnknown
	}
	return ""
}

// textContent returns the character data inside the element whose start tag
// was just consumed, through its end tag.
func textContent(d *xml.Decoder) (string, error) {
	var b bytes.Buffer
	depth := 1
	for depth > 0 {
		tok, err := d.Token()
		if err != nil {
			return "", fmt.Errorf("reading element text: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			b.Write(t)
		}
	}
	return b.String(), nil
}
