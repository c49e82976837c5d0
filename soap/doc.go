// Package soap provides the CDC Immunization Information System (IIS) SOAP
// web service, the standard transport EHRs use to send HL7 v2 messages to an
// IIS, as an [http.Handler] ([Server]), and a [Client] for it.
//
// Both revisions of the CDC WSDL are served at the same address, dispatched
// on the namespace and name of the SOAP Body's element: the 2011 revision
// (urn:cdc:iisb:2011: submitSingleMessage, connectivityTest), which most IIS
// expose, and the 2014 one (urn:cdc:iisb:2014: SubmitSingleMessageRequest,
// ConnectivityTestRequest), which the CDC IZ Gateway hub speaks. Responses
// and faults follow each revision's XSD exactly. The WSDLs (embedded from
// the project's testdata/soap) are served at ?wsdl, ?wsdl=2011, ?wsdl=2014
// with their service address rewritten to the requested URL, and their
// schemas at ?xsd=cdc-iis-2011.xsd and ?xsd=cdc-iis.xsd.
//
// # Messages
//
// submitSingleMessage authenticates username, password and facilityID with
// an [Authenticator] ([Accounts] checks bcrypt or argon2id hashes), puts the
// [Facility] into the context ([FacilityFromContext]) and hands the HL7
// message to a [Handler], whose reply (ACK or RSP) becomes the response's
// return (2011) or Hl7Message (2014). HL7-level problems are the handler's
// to report in its ACK; they are never SOAP faults.
//
// HL7 separates segments with CR, which XML end-of-line handling turns into
// LF when it travels literally. The server and client therefore write CR as
// the character reference &#xD; (which survives) and, reading, turn every
// LF, CRLF or CR of an hl7Message into CR; surrounding whitespace is trimmed
// and the last segment is terminated with CR.
//
// # Faults
//
// Faults are SOAP 1.2 env:Fault elements whose env:Detail holds the typed
// fault of the request's revision: in 2011 SecurityFault,
// MessageTooLargeFault, UnsupportedOperationFault and fault (the
// UnknownFault), each with Code, Reason and Detail children; in 2014
// SecurityFault and UnsupportedOperationFault (empty) and
// MessageTooLargeFault (Size, MaxSize), an unknown error having no typed
// detail. Bad credentials or an unauthorised facility give a SecurityFault
// (the same text either way), a body over Config.MaxMessageSize a
// MessageTooLargeFault, a known namespace with an unknown element an
// UnsupportedOperationFault; malformed XML, a document that is not a SOAP
// envelope, an element in an unknown namespace, a DTD, or an unsupported
// media type (415) give an untyped env:Sender fault; an unknown envelope
// namespace env:VersionMismatch, and an unknown mandatory header block
// env:MustUnderstand. Per the SOAP 1.2 HTTP binding, Sender faults travel
// with HTTP 400 and the others with 500.
//
// # SOAP 1.1
//
// The WSDLs bind SOAP 1.2 only, but some senders still post SOAP 1.1
// envelopes (text/xml). The server answers each request in its envelope's
// version: a SOAP 1.1 request gets a SOAP 1.1 response (text/xml), its
// faults as faultcode (soap:Client or soap:Server), faultstring and detail
// with the same typed detail, always with HTTP 500. When no envelope could
// be read, the Content-Type decides (text/xml means SOAP 1.1).
//
// # Headers
//
// WS-Addressing header blocks are understood: when the request carries a
// wsa:MessageID, the response carries wsa:Action (the WSDL's output action)
// and wsa:RelatesTo. Other header blocks are ignored unless marked
// mustUnderstand for this node.
//
// # Limits
//
// At most Config.MaxMessageSize+1 bytes of a body are kept; a body declared
// larger than the limit is refused after reading only enough of it to learn
// its revision. The MessageTooLargeFault is sent at once, and the rest of
// the body is then read and thrown away (at most 32 times the limit, at
// least 128 MiB, within 30 s) before the connection closes, so that the
// sender reads the fault rather than a connection reset. Config.RequestTimeout bounds each request through the
// context given to the Authenticator and the Handler. The package is an
// http.Handler: serve it with http.Server.ServeTLS (or behind a TLS
// terminator) for HTTPS, as the CDC guide requires.
package soap
