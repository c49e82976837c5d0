package soap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for [Config].
const (
	DefaultMaxMessageSize = 1 << 20
	DefaultRequestTimeout = 30 * time.Second
)

// Config configures a [Server].
type Config struct {
	// Handler answers the HL7 messages of submitSingleMessage. Required.
	Handler Handler
	// Auth checks submitSingleMessage credentials. Required; see Accounts.
	Auth Authenticator
	// MaxMessageSize is the largest request body accepted, in bytes, envelope
	// included (default DefaultMaxMessageSize). Larger requests get a
	// MessageTooLargeFault; at most MaxMessageSize+1 bytes are ever kept
	// (the rest is read and thrown away, bounded: see the package doc).
	// The fault's Size (2014) is the declared Content-Length or, for a
	// chunked body, the MaxMessageSize+1 bytes read.
	MaxMessageSize int64
	// RequestTimeout bounds the handling of one request through the context
	// passed to Auth and Handler (default DefaultRequestTimeout; negative
	// for none).
	RequestTimeout time.Duration
	// PublicURL, if set, is the service address written into the served
	// WSDL; otherwise it is built from the request (scheme from TLS, Host
	// header, path).
	PublicURL string
	// WSDLRevision is the revision served at a bare ?wsdl (default Rev2011);
	// ?wsdl=2011 and ?wsdl=2014 pick one explicitly.
	WSDLRevision Revision
	// DisableConnectivityTest answers connectivityTest with an
	// UnsupportedOperationFault.
	DisableConnectivityTest bool
	// Logger receives one line per fault (no message content, no
	// passwords). Nil discards.
	Logger *slog.Logger
}

// Server is the CDC IIS SOAP web service as an [http.Handler]. One Server
// answers both WSDL revisions at the same URL, dispatching on the namespace
// and name of the SOAP Body's element:
//
//	urn:cdc:iisb:2011  submitSingleMessage         → submitSingleMessageResponse/return
//	urn:cdc:iisb:2011  connectivityTest            → connectivityTestResponse/return
//	urn:cdc:iisb:2014  SubmitSingleMessageRequest  → SubmitSingleMessageResponse/Hl7Message
//	urn:cdc:iisb:2014  ConnectivityTestRequest     → ConnectivityTestResponse/EchoBack
//
// POST carries SOAP 1.2 (application/soap+xml), the WSDLs' binding; SOAP 1.1
// envelopes (text/xml) are answered in SOAP 1.1. GET ?wsdl serves the WSDL
// and GET ?xsd=<name> its schema.
type Server struct {
	cfg  Config
	meta *metadata
	log  *slog.Logger
	bufs sync.Pool // *bytes.Buffer
}

// NewServer returns a server for cfg.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Handler == nil {
		return nil, errors.New("soap: Config.Handler is nil")
	}
	if cfg.Auth == nil {
		return nil, errors.New("soap: Config.Auth is nil")
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	switch cfg.WSDLRevision {
	case 0:
		cfg.WSDLRevision = Rev2011
	case Rev2011, Rev2014:
	default:
		return nil, fmt.Errorf("soap: unknown WSDL revision %d", cfg.WSDLRevision)
	}
	meta, err := loadMetadata()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, meta: meta, log: log}, nil
}

// ServeHTTP implements [http.Handler].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		s.servePost(w, r)
	case http.MethodGet, http.MethodHead:
		s.serveMetadata(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// maxPooledBuffer is the largest buffer kept for reuse.
const maxPooledBuffer = 4 << 20

func (s *Server) getBuf() *bytes.Buffer {
	if b, ok := s.bufs.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

func (s *Server) putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		s.bufs.Put(b)
	}
}

// oversizeDiscardTime bounds the time spent reading and throwing away
// the rest of a body too large to accept (32 times the limit, at least
// 128 MiB, are read at most).
const oversizeDiscardTime = 30 * time.Second

// sniffLimit bounds how much of a body declared too large is read to learn
// its SOAP version and revision.
const sniffLimit = 64 << 10

func (s *Server) servePost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.cfg.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
	}
	hint, ok := versionFromContentType(r.Header.Get("Content-Type"))
	if !ok {
		s.writeFault(w, hint, &Fault{Code: CodeSender, Reason: "unsupported media type " + r.Header.Get("Content-Type") + "; send application/soap+xml"}, http.StatusUnsupportedMediaType)
		return
	}

	maxSize := s.cfg.MaxMessageSize
	limit := maxSize + 1
	if r.ContentLength > maxSize {
		limit = min(maxSize, sniffLimit)
	}
	in := s.getBuf()
	defer s.putBuf(in)
	if _, err := in.ReadFrom(io.LimitReader(r.Body, limit)); err != nil {
		s.writeFault(w, hint, &Fault{Code: CodeSender, Reason: "reading request body failed"}, 0)
		return
	}
	if r.ContentLength > maxSize || int64(in.Len()) > maxSize {
		v, rev := sniffRequest(in.Bytes()[:min(int64(in.Len()), maxSize)])
		if v == 0 {
			v = hint
		}
		if rev == 0 {
			rev = s.cfg.WSDLRevision
		}
		size := uint64(in.Len())
		text := fmt.Sprintf("request of more than %d bytes exceeds the maximum of %d bytes", maxSize, maxSize)
		if r.ContentLength > 0 {
			size = uint64(r.ContentLength)
			text = fmt.Sprintf("request of %d bytes exceeds the maximum of %d bytes", size, maxSize)
		}
		// The fault is sent while the body still arrives, and the rest of
		// the body read and thrown away (bounded) before the connection
		// closes: closing on unread bytes resets the connection, and the
		// sender could lose the fault and take a permanent rejection for a
		// network failure.
		rc := http.NewResponseController(w)
		duplex := rc.EnableFullDuplex() == nil
		w.Header().Set("Connection", "close")
		s.writeFault(w, v, &Fault{Code: CodeSender, Kind: KindMessageTooLarge, Revision: rev,
			Reason:       fmt.Sprintf("message too large: over %d bytes", maxSize),
			Size:         size,
			MaxSize:      uint64(maxSize),
			DetailCode:   detailCodeTooLarge,
			DetailReason: "MessageTooLarge",
			DetailText:   text,
		}, 0)
		if duplex && rc.Flush() == nil {
			rc.SetReadDeadline(time.Now().Add(oversizeDiscardTime))
			io.CopyN(io.Discard, r.Body, max(32*maxSize, 128<<20))
		}
		return
	}

	req, err := parseRequest(in.Bytes())
	if err != nil {
		v := req.version
		if v == 0 {
			v = hint
		}
		s.writeFault(w, v, requestFault(err), 0)
		return
	}
	switch req.op {
	case opConnectivity:
		if s.cfg.DisableConnectivityTest {
			s.writeFault(w, req.version, &Fault{Code: CodeSender, Kind: KindUnsupportedOperation, Revision: req.rev,
				Reason:       "connectivity test not supported",
				DetailCode:   detailCodeUnsupported,
				DetailReason: "UnsupportedOperation",
				DetailText:   "connectivityTest is disabled on this server"}, 0)
			return
		}
		s.writeResponse(w, req, req.echoBack)
	case opSubmit:
		s.submit(ctx, w, req)
	}
}

// versionFromContentType returns the SOAP version a media type suggests and
// whether the media type is acceptable at all.
func versionFromContentType(ct string) (Version, bool) {
	if ct == "" {
		return SOAP12, true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return SOAP12, false
	}
	switch mt {
	case "application/soap+xml":
		return SOAP12, true
	case "text/xml", "application/xml":
		return SOAP11, true
	}
	return SOAP12, false
}

// requestFault turns a request parsing error into the fault to answer with.
func requestFault(err error) *Fault {
	var f *Fault
	var vm *versionMismatchError
	var mu *mustUnderstandError
	switch {
	case errors.As(err, &f):
		return f
	case errors.As(err, &vm):
		return &Fault{Code: CodeVersionMismatch, Reason: vm.Error()}
	case errors.As(err, &mu):
		return &Fault{Code: CodeMustUnderstand, Reason: mu.Error(), notUnderstood: mu.names}
	case errors.Is(err, errNotEnvelope), errors.Is(err, errNoBody), errors.Is(err, errEmptyBody), errors.Is(err, errDTD):
		return &Fault{Code: CodeSender, Reason: err.Error()}
	}
	return &Fault{Code: CodeSender, Reason: "malformed XML: " + err.Error()}
}

func (s *Server) submit(ctx context.Context, w http.ResponseWriter, req *request) {
	fac, err := s.cfg.Auth.Authenticate(ctx, req.username, req.password, req.facilityID)
	if err != nil {
		if errors.Is(err, ErrUnauthorized) {
			s.log.LogAttrs(ctx, slog.LevelWarn, "soap: authentication refused",
				slog.String("username", req.username), slog.String("facility", req.facilityID), slog.String("why", err.Error()))
			s.writeFault(w, req.version, &Fault{Code: CodeSender, Kind: KindSecurity, Revision: req.rev,
				Reason:       "Invalid Username, Password or FacilityID",
				DetailCode:   detailCodeSecurity,
				DetailReason: "Security",
				DetailText:   "Invalid Username, Password or FacilityID"}, 0)
			return
		}
		s.writeFault(w, req.version, unknownFault(req.rev, "authentication unavailable"), 0)
		s.log.LogAttrs(ctx, slog.LevelError, "soap: authentication failed", slog.String("err", err.Error()))
		return
	}
	ctx = ContextWithFacility(ctx, fac)
	reply, err := s.callHandler(ctx, normalizeHL7(req.hl7Message))
	if err != nil || len(reply) == 0 {
		if err == nil {
			err = errors.New("handler returned no reply")
		}
		s.log.LogAttrs(ctx, slog.LevelError, "soap: handler failed", slog.String("facility", fac.FacilityID), slog.String("err", err.Error()))
		s.writeFault(w, req.version, unknownFault(req.rev, "the message could not be processed"), 0)
		return
	}
	s.writeResponse(w, req, string(reply))
}

func unknownFault(rev Revision, reason string) *Fault {
	return &Fault{Code: CodeReceiver, Kind: KindUnknown, Revision: rev, Reason: reason,
		DetailCode: detailCodeUnknown, DetailReason: "UnknownError", DetailText: reason}
}

// callHandler runs the handler, turning a panic into an error so that the
// sender still gets a SOAP answer.
func (s *Server) callHandler(ctx context.Context, msg []byte) (reply []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err = fmt.Errorf("handler panic: %v", p)
		}
	}()
	return s.cfg.Handler.ServeHL7(ctx, msg), nil
}

// writeResponse answers an operation with its single-child response
// element, per the revision's XSD.
func (s *Server) writeResponse(w http.ResponseWriter, req *request, value string) {
	elem, child := responseNames(req.rev, req.op)
	out := s.getBuf()
	defer s.putBuf(out)
	b := out.AvailableBuffer()
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?>`...)
	if req.version == SOAP11 {
		b = append(b, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">`...)
	} else {
		b = append(b, `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">`...)
	}
	if req.wsaMessageID != "" {
		b = append(b, `<soap:Header><wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">`...)
		b = append(b, responseAction(req.rev, req.op)...)
		b = append(b, `</wsa:Action><wsa:RelatesTo xmlns:wsa="http://www.w3.org/2005/08/addressing">`...)
		b = appendEscaped(b, req.wsaMessageID)
		b = append(b, `</wsa:RelatesTo></soap:Header>`...)
	}
	b = append(b, `<soap:Body><`...)
	b = append(b, elem...)
	b = append(b, ` xmlns="`...)
	b = append(b, req.rev.Namespace()...)
	b = append(b, `"><`...)
	b = append(b, child...)
	b = append(b, '>')
	b = appendEscaped(b, value)
	b = append(b, `</`...)
	b = append(b, child...)
	b = append(b, `></`...)
	b = append(b, elem...)
	b = append(b, `></soap:Body></soap:Envelope>`...)
	out.Write(b)
	h := w.Header()
	h.Set("Content-Type", req.version.contentType())
	h.Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(out.Bytes())
}

// writeFault answers with f in a SOAP v envelope, with status or, if 0, the
// status the SOAP HTTP binding prescribes for f.
func (s *Server) writeFault(w http.ResponseWriter, v Version, f *Fault, status int) {
	if status == 0 {
		status = f.httpStatus(v)
	}
	out := s.getBuf()
	defer s.putBuf(out)
	out.Write(f.appendEnvelope(out.AvailableBuffer(), v))
	h := w.Header()
	h.Set("Content-Type", v.contentType())
	h.Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(status)
	w.Write(out.Bytes())
	s.log.Info("soap: fault", slog.String("code", f.Code), slog.String("kind", string(f.Kind)), slog.Int("status", status))
}

// serveMetadata serves GET ?wsdl[=2011|2014] and ?xsd=<name>, and a short
// text description otherwise.
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	base := s.cfg.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host + r.URL.Path
	}
	wsdl, hasWSDL := q["wsdl"]
	if !hasWSDL {
		wsdl, hasWSDL = q["WSDL"]
	}
	switch {
	case hasWSDL:
		rev := s.cfg.WSDLRevision
		switch strings.TrimSpace(strings.Join(wsdl, "")) {
		case "":
		case "2011":
			rev = Rev2011
		case "2014":
			rev = Rev2014
		default:
			http.Error(w, "unknown WSDL revision; use ?wsdl, ?wsdl=2011 or ?wsdl=2014", http.StatusNotFound)
			return
		}
		serveXML(w, r, s.meta.wsdlFor(rev, base))
	case q.Has("xsd"):
		b, ok := s.meta.xsd[strings.TrimPrefix(q.Get("xsd"), "/")]
		if !ok {
			http.Error(w, "unknown schema; use ?xsd="+xsd2011+" or ?xsd="+xsd2014, http.StatusNotFound)
			return
		}
		serveXML(w, r, b)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "CDC IIS SOAP web service (SOAP 1.2; revisions %s and %s at this address).\nWSDL: %s?wsdl=2011 and %s?wsdl=2014\n",
			Namespace2011, Namespace2014, base, base)
	}
}

func serveXML(w http.ResponseWriter, r *http.Request, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}
