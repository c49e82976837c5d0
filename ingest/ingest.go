// Package ingest is the message handler both transports (MLLP and SOAP)
// serve: it validates each HL7 message against the CDC immunization profile,
// queues it durably, and only then answers with its ACK. A batch file
// (FHS/BHS … BTS/FTS) is split, each message handled the same way, and
// answered with a batch of ACKs whose trailers count them and report any
// envelope inconsistency.
//
// Outcomes:
//   - the message is valid or partly valid: it is published to JetStream and
//     the ACK (AA, or AE with ERR rows) is sent after the publish
//     acknowledgement; a resend of the same MSH-10 from the same facility
//     inside the queue's duplicate window is stored once and gets the same
//     answer;
//   - the queue is down or slow past its deadline: the sender gets AR with
//     ERR 207 "nothing was recorded, resend", never AA;
//   - the message is rejected (AR, or AE that rejects it whole): it is
//     still published as "rejected" for the operators' message store; a
//     failed publish does not change its answer;
//   - the message is a QBP: it is answered (RSP from the query service; RSP
//     Z33 AE for a malformed query; ACK AR for a rejected envelope or when
//     queries are disabled) and then published as "query" with its answer
//     for the message store, in the background: the answer does not wait
//     on the queue (a query changes nothing), and a record that could not
//     be queued is logged and counted (iis_query_store_failures_total).
//     Handler.Wait waits for these publishes at shutdown.
package ingest

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/queue"
)

// Publisher queues a message durably; *queue.Queue implements it.
type Publisher interface {
	Publish(ctx context.Context, m *queue.Message) (queue.PubAck, error)
}

// QueryHandler answers a decoded QBP^Q11 with an RSP^K11. The registry
// provides one; without it queries are refused.
type QueryHandler interface {
	Answer(ctx context.Context, r *immz.Result, src Source) []byte
}

// Source says who sent a message: the facility authenticated by the
// transport (SOAP account, TLS client certificate, configured MLLP source),
// and the transport's name.
type Source struct {
	Facility  string
	Transport string
	// Authenticated is set when the transport vouches for Facility (a SOAP
	// login, a verified client certificate, a configured source address);
	// a facility taken from MSH-4 is only what the sender claims.
	Authenticated bool
	// Resend names the operator who resent a stored message from the
	// console; empty for messages from senders.
	Resend string
}

// Profiles chooses the validation profile of a sending facility (accepted
// processing IDs, warnings as AE); the facility settings operators keep in
// the console implement it.
type Profiles interface {
	// Validator returns facility's validator, or nil for the default one.
	Validator(facility string) *immz.Validator
}

type sourceKey struct{}

// WithSource returns a context carrying src, for the transport adapters.
func WithSource(ctx context.Context, src Source) context.Context {
	return context.WithValue(ctx, sourceKey{}, src)
}

// SourceFromContext returns the Source set by WithSource.
func SourceFromContext(ctx context.Context) (Source, bool) {
	s, ok := ctx.Value(sourceKey{}).(Source)
	return s, ok
}

// Config configures a Handler.
type Config struct {
	Validator *immz.Validator
	Queue     Publisher
	Queries   QueryHandler // nil: QBP is answered AR
	Profiles  Profiles     // nil: every facility gets Validator
	Metrics   *Metrics     // nil: no metrics
	Logger    *slog.Logger // nil: discard
	Now       func() time.Time
}

// Handler serves HL7 messages; it satisfies mllp.Handler and soap.Handler.
type Handler struct {
	v   *immz.Validator
	q   Publisher
	qh  QueryHandler
	p   Profiles
	m   *Metrics
	log *slog.Logger
	now func() time.Time

	bg sync.WaitGroup // publishes of answered queries
}

// New returns a Handler.
func New(cfg Config) *Handler {
	h := &Handler{v: cfg.Validator, q: cfg.Queue, qh: cfg.Queries, p: cfg.Profiles, m: cfg.Metrics, log: cfg.Logger, now: cfg.Now}
	if h.v == nil {
		h.v = immz.New(immz.Config{})
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// ServeHL7 handles one message or batch file and returns the reply.
func (h *Handler) ServeHL7(ctx context.Context, msg []byte) []byte {
	src, _ := SourceFromContext(ctx)
	if hl7.IsBatch(msg) {
		return h.serveBatch(ctx, msg, src)
	}
	return h.serveMessage(ctx, msg, src)
}

// issueQueueDown is the ERR row of a message that could not be queued.
var issueQueueDown = immz.Issue{
	Location: immz.ErrorLocation{Segment: "MSH", Sequence: 1},
	Code:     immz.CodeApplicationInternal, Severity: immz.Error, Scope: immz.ScopeEnvelope,
	Message: "The registry could not store this message right now; nothing was recorded. Please send it again later.",
	Rule:    "queue unavailable",
}

var issueNoQueries = immz.Issue{
	Location: immz.ErrorLocation{Segment: "MSH", Sequence: 1, Field: 9, Repetition: 1, Component: 1},
	Code:     immz.CodeUnsupportedMsgType, Severity: immz.Error, Scope: immz.ScopeEnvelope,
	Message: "Queries (QBP^Q11) are not enabled on this server - message rejected",
	Rule:    "queries disabled",
}

// handling is one message on its way through the handler.
type handling struct {
	start    time.Time
	size     int // of the message received
	src      Source
	facility string
	v        *immz.Validator
	r        *immz.Result
	reply    []byte
	extra    []immz.Issue
	m        *queue.Message // to queue, or nil
}

func (h *Handler) serveMessage(ctx context.Context, raw []byte, src Source) []byte {
	x := h.prepare(ctx, raw, src)
	switch {
	case x.m == nil:
	case x.m.Kind == KindQuery:
		h.publishLater(ctx, x.m)
	default:
		x.publishDone(ctx, h, h.publish(ctx, x.m))
	}
	return h.finish(x)
}

// prepare validates raw and builds its reply; a message to queue is left
// in m for the caller to publish.
func (h *Handler) prepare(ctx context.Context, raw []byte, src Source) *handling {
	x := &handling{start: h.now(), size: len(raw), src: src, v: h.v}
	x.r = x.v.Check(raw)
	r := x.r
	facility := src.Facility
	authenticated := src.Authenticated && facility != ""
	if facility == "" {
		facility = r.Header.SendingFacility.Name
		if facility == "" {
			facility = r.Header.SendingFacility.ID
		}
	}
	x.facility = facility
	if h.p != nil {
		if fv := h.p.Validator(facility); fv != nil && fv != x.v {
			x.v = fv
			x.r = fv.Check(raw)
			r = x.r
		}
	}
	v := x.v
	switch {
	case r.Kind == immz.KindQBP || r.Header.Type == "QBP":
		x.reply = h.answerQuery(ctx, x, Source{Facility: facility, Transport: src.Transport, Authenticated: authenticated})
		x.m = &queue.Message{
			Kind: KindQuery, Facility: facility, ControlID: r.Header.ControlID, Transport: src.Transport,
			Type: r.Header.Type, Received: x.start, Body: raw, AckBody: x.reply, Resend: src.Resend,
		}
		x.m.Ack, x.m.Issues = replySummary(x.reply)
	default:
		kind := "vxu"
		if r.Rejected() || r.Kind != immz.KindVXU {
			kind = "rejected"
		}
		// The ACK is built before the publish so that it is stored with the
		// message; it is what the sender gets unless the publish fails.
		x.reply = v.Ack(r)
		x.m = &queue.Message{
			Kind: kind, Facility: facility, ControlID: r.Header.ControlID, Transport: src.Transport,
			Type: r.Header.Type, Ack: v.AckCode(r), Received: x.start, Body: raw,
			Issues: immz.Summary(r.Issues), AckBody: x.reply, Resend: src.Resend,
		}
	}
	return x
}

// answerQuery answers a QBP: with the query service's RSP, an RSP Z33 AE
// for a query the profile rejects, or an ACK AR for a rejected envelope or
// when queries are disabled.
func (h *Handler) answerQuery(ctx context.Context, x *handling, src Source) []byte {
	r, v := x.r, x.v
	switch {
	case h.qh == nil:
		x.extra = append(x.extra, issueNoQueries)
		return v.Ack(r, x.extra...)
	case !r.Rejected():
		return h.qh.Answer(ctx, r, src)
	case v.AckCode(r) != "AR":
		// A query the profile rejects (no QPD-2, no patient) is answered
		// with an RSP, Z33 and QAK AE, as the IG's example pair shows.
		return v.Response(r, &immz.QueryResponse{Status: immz.StatusAppError})
	}
	return v.Ack(r)
}

// publishDone takes the outcome of x's publish.
func (x *handling) publishDone(ctx context.Context, h *Handler, err error) {
	if err != nil && x.m.Kind == KindQuery {
		h.queryNotStored(ctx, x.m, err)
		return
	}
	if err != nil && x.m.Kind == "vxu" {
		// Never AA for what could be lost.
		x.extra = append(x.extra, issueQueueDown)
		x.reply = x.v.Ack(x.r, x.extra...)
		h.log.LogAttrs(ctx, slog.LevelError, "message not queued; sender told to resend",
			slog.String("facility", x.facility), slog.String("control_id", x.r.Header.ControlID), slog.String("err", err.Error()))
	}
}

// finish counts x and returns its reply.
func (h *Handler) finish(x *handling) []byte {
	ack := x.v.AckCode(x.r, x.extra...)
	if x.m != nil && x.m.Kind == KindQuery {
		ack = x.m.Ack // the answer's MSA-1 (an authorisation refusal is AR)
	}
	h.m.observe(x.src.Transport, x.facility, x.r, ack, x.extra, x.size, h.now().Sub(x.start))
	return x.reply
}

func (h *Handler) publish(ctx context.Context, m *queue.Message) error {
	if h.q == nil {
		return errors.New("ingest: no queue configured")
	}
	t := h.now()
	_, err := h.q.Publish(ctx, m)
	h.m.observePublish(h.now().Sub(t), err)
	return err
}

// BatchPublisher queues several messages in order and durably; a
// *queue.Queue implements it. Without it a batch file's messages are
// queued one by one.
type BatchPublisher interface {
	PublishAll(ctx context.Context, msgs []*queue.Message) ([]queue.PubAck, []error)
}

// serveBatch handles a batch file: every message is handled on its own and
// the reply is a batch of their ACKs. The messages to queue are queued
// together, in the file's order, once all are validated.
func (h *Handler) serveBatch(ctx context.Context, raw []byte, src Source) []byte {
	b, err := hl7.SplitBatch(raw)
	if err != nil {
		// Not even a batch: answer as for an unreadable message.
		return h.v.Ack(h.v.Check(raw))
	}
	var all []*handling
	var queued []*handling
	for _, g := range b.Groups {
		for _, m := range g.Messages {
			x := h.prepare(ctx, m, src)
			all = append(all, x)
			if x.m != nil {
				queued = append(queued, x)
			}
		}
	}
	if bp, ok := h.q.(BatchPublisher); ok && len(queued) > 1 {
		msgs := make([]*queue.Message, len(queued))
		for i, x := range queued {
			msgs[i] = x.m
		}
		t := h.now()
		_, errs := bp.PublishAll(ctx, msgs)
		d := h.now().Sub(t)
		for i, x := range queued {
			h.m.observePublish(d, errs[i])
			x.publishDone(ctx, h, errs[i])
		}
	} else {
		for _, x := range queued {
			x.publishDone(ctx, h, h.publish(ctx, x.m))
		}
	}

	w := hl7.NewWriter(hl7.DefaultDelimiters)
	header := func(id string, in hl7.Segment) {
		w.Segment(id)
		// Swap sender and receiver, reference the inbound control id.
		w.Value(in.Field(5))
		w.Value(in.Field(6))
		w.Value(in.Field(3))
		w.Value(in.Field(4))
		w.Fields(immz.FormatTimestamp(h.now()), "", "", "", strconv.FormatInt(h.now().UnixNano(), 36))
		w.Value(in.Field(11))
	}
	header("FHS", b.FileHeader)
	total := 0
	for gi, g := range b.Groups {
		header("BHS", g.Header)
		n := 0
		for range g.Messages {
			reply := h.finish(all[total+n])
			// Copy the reply's segments into the batch.
			if pm, err := hl7.Parse(reply); err == nil {
				for _, s := range pm.Segments() {
					w.CopySegment(s)
				}
			}
			n++
		}
		total += n
		w.Segment("BTS")
		w.Fields(strconv.Itoa(n))
		if gi == len(b.Groups)-1 && len(b.Problems) > 0 {
			w.Fields(joinProblems(b.Problems))
		}
	}
	w.Segment("FTS")
	w.Fields(strconv.Itoa(len(b.Groups)))
	if len(b.Problems) > 0 {
		w.Fields(joinProblems(b.Problems))
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "batch handled", slog.Int("messages", total), slog.Int("envelope_problems", len(b.Problems)))
	return w.Bytes()
}

func joinProblems(p []string) string {
	s := "Batch envelope problems: "
	for i, x := range p {
		if i > 0 {
			s += "; "
		}
		s += x
	}
	return s
}
