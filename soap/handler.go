package soap

import (
	"context"
	"fmt"
)

// Handler answers one HL7 v2 message with its HL7 reply (an ACK or, for a
// query, an RSP). The shape is transport-neutral: the same application type
// serves MLLP and SOAP.
//
// msg has its segments separated by CR. The SOAP server hands over a fresh
// copy, but a handler that also serves MLLP (which reuses its buffer) must
// copy msg before keeping it.
// HL7-level problems (unparsable message, rejected content, queue down) are
// reported in the returned ACK, not as errors; an empty reply is treated as a
// server failure and answered with a SOAP fault. ctx carries the request
// deadline and the authenticated [Facility] ([FacilityFromContext]); handlers
// should answer promptly once it is done.
type Handler interface {
	ServeHL7(ctx context.Context, msg []byte) []byte
}

// HandlerFunc adapts an ordinary function to a [Handler].
type HandlerFunc func(ctx context.Context, msg []byte) []byte

// ServeHL7 calls f(ctx, msg).
func (f HandlerFunc) ServeHL7(ctx context.Context, msg []byte) []byte { return f(ctx, msg) }

// Revision identifies a revision of the CDC IIS web service WSDL.
type Revision int

// The two revisions of the CDC IIS web service that the package speaks.
const (
	// Rev2011 is the 2011 WSDL (namespace urn:cdc:iisb:2011, operations
	// submitSingleMessage and connectivityTest), the one most IIS expose.
	Rev2011 Revision = 2011
	// Rev2014 is the 2014 WSDL (namespace urn:cdc:iisb:2014, operations
	// SubmitSingleMessage and ConnectivityTest), spoken by the CDC IZ
	// Gateway hub.
	Rev2014 Revision = 2014
)

// XML namespaces of the two revisions.
const (
	Namespace2011 = "urn:cdc:iisb:2011"
	Namespace2014 = "urn:cdc:iisb:2014"
)

// Namespace returns the XML namespace of the revision's elements.
func (r Revision) Namespace() string {
	switch r {
	case Rev2011:
		return Namespace2011
	case Rev2014:
		return Namespace2014
	}
	return ""
}

// String returns "2011" or "2014".
func (r Revision) String() string { return fmt.Sprintf("%d", int(r)) }

func revisionOf(ns string) (Revision, bool) {
	switch ns {
	case Namespace2011:
		return Rev2011, true
	case Namespace2014:
		return Rev2014, true
	}
	return 0, false
}

// Version is a SOAP envelope version.
type Version int

// SOAP envelope versions.
const (
	SOAP12 Version = 12 // SOAP 1.2, application/soap+xml (the WSDLs' binding)
	SOAP11 Version = 11 // SOAP 1.1, text/xml (tolerated, answered in kind)
)

// Envelope namespaces.
const (
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsWSA    = "http://www.w3.org/2005/08/addressing"
	nsWSA04  = "http://schemas.xmlsoap.org/ws/2004/08/addressing" // older stacks
)

func (v Version) envNS() string {
	if v == SOAP11 {
		return nsSOAP11
	}
	return nsSOAP12
}

func (v Version) contentType() string {
	if v == SOAP11 {
		return "text/xml; charset=utf-8"
	}
	return "application/soap+xml; charset=utf-8"
}

// operation names a body element the service understands.
type operation int

const (
	opUnknown operation = iota
	opSubmit
	opConnectivity
)

// bodyOperation maps a body element to its operation. Besides the element
// names of the XSDs, the 2014 revision tolerates the bare operation names
// (SubmitSingleMessage, ConnectivityTest) that some clients send.
func bodyOperation(rev Revision, local string) operation {
	switch rev {
	case Rev2011:
		switch local {
		case "submitSingleMessage":
			return opSubmit
		case "connectivityTest":
			return opConnectivity
		}
	case Rev2014:
		switch local {
		case "SubmitSingleMessageRequest", "SubmitSingleMessage":
			return opSubmit
		case "ConnectivityTestRequest", "ConnectivityTest":
			return opConnectivity
		}
	}
	return opUnknown
}

// responseNames returns the response element and its single child for an
// operation, per the revision's XSD.
func responseNames(rev Revision, op operation) (elem, child string) {
	switch {
	case rev == Rev2011 && op == opSubmit:
		return "submitSingleMessageResponse", "return"
	case rev == Rev2011 && op == opConnectivity:
		return "connectivityTestResponse", "return"
	case rev == Rev2014 && op == opSubmit:
		return "SubmitSingleMessageResponse", "Hl7Message"
	default:
		return "ConnectivityTestResponse", "EchoBack"
	}
}

// responseAction returns the WS-Addressing action of an operation's response,
// per the revision's WSDL.
func responseAction(rev Revision, op operation) string {
	switch {
	case rev == Rev2011 && op == opSubmit:
		return "urn:cdc:iisb:2011:submitSingleMessageResponse"
	case rev == Rev2011:
		return "urn:cdc:iisb:2011:connectivityTestResponse"
	case op == opSubmit:
		return "urn:cdc:iisb:2014:IISPortType:SubmitSingleMessageResponse"
	default:
		return "urn:cdc:iisb:2014:IISPortType:ConnectivityTestResponse"
	}
}

// requestAction returns the SOAP action of an operation's request, per the
// revision's WSDL binding.
func requestAction(rev Revision, op operation) string {
	switch {
	case rev == Rev2011 && op == opSubmit:
		return "urn:cdc:iisb:2011:submitSingleMessage"
	case rev == Rev2011:
		return "urn:cdc:iisb:2011:connectivityTest"
	case op == opSubmit:
		return "urn:cdc:iisb:2014:IISPortType:SubmitSingleMessageRequest"
	default:
		return "urn:cdc:iisb:2014:IISPortType:ConnectivityTestRequest"
	}
}
