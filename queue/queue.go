// Package queue carries received HL7 messages from the listeners to the
// registry workers through NATS JetStream.
//
// By default it runs an embedded nats-server with JetStream (file storage
// under a data directory) and connects to it in process, so that nothing
// listens on a port and a single binary needs nothing else; a URL switches
// it to an external NATS cluster.
//
// Layout: one stream (default IIS_INGEST) over the subjects
// iis.ingest.<kind>.<facility>, file storage, limits retention (messages
// are kept for MaxAge even after the worker acknowledged them, as a replay
// buffer), and a duplicate window inside which a message id is stored once:
// the id is derived from the sending facility and MSH-10 (with a checksum
// of the body and the ACK code), so a resend of the same message is not
// queued twice. A second stream (IIS_DEAD) holds the messages the worker
// gave up on, with the reason.
//
// Group commit: messages handed to Publish at the same moment by many
// connections are stored together in one stream message, an envelope on
// iis.ingest.envelope (see coalescer), and each caller is released when
// the envelope is stored. A message that arrives alone is stored alone, as
// above. JetStream cannot de-duplicate inside an envelope, so the queue
// also remembers the ids it stored recently and answers a resend from
// that memory; across listener processes the registry's writes, keyed on
// the source identity, keep a resend from counting twice. Consumers read
// stream messages with Unpack.
package queue

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Queue. The zero Config runs an embedded server with
// its data in a temporary directory; set DataDir to keep it.
type Config struct {
	// URL of an external NATS server or cluster (comma-separated). Empty
	// runs an embedded server.
	URL string
	// DataDir is the embedded server's JetStream store directory.
	DataDir string
	// SyncAlways makes the embedded server fsync every write before it
	// acknowledges a publish (durable against power loss, slower). Without
	// it a publish is acknowledged once written to the operating system,
	// which survives a crash of the process, and fsynced every SyncInterval.
	SyncAlways bool
	// Stream and DeadStream name the streams (default IIS_INGEST, IIS_DEAD).
	Stream, DeadStream string
	// Subject is the subject prefix (default "iis.ingest").
	Subject string
	// Replicas of the streams on a cluster (default 1).
	Replicas int
	// DuplicateWindow is how long message ids are remembered (default 2m).
	DuplicateWindow time.Duration
	// MaxAge and MaxBytes bound the stream (default 7 days, unlimited bytes).
	MaxAge   time.Duration
	MaxBytes int64
	// PublishTimeout bounds one publish (default 2s): past it the sender
	// gets an error ACK, never an AA.
	PublishTimeout time.Duration
	// Coalesce is the most messages stored together in one envelope when
	// several are handed to Publish at once (default 64); 1 stores every
	// message as its own JetStream message. CoalesceBytes bounds an
	// envelope's size (default 1 MiB, and at most half the server's
	// maximum payload). See coalescer.
	Coalesce      int
	CoalesceBytes int
	// CoalesceWait is how long a flusher holding fewer messages than
	// there are callers in Publish (at most 16) waits for more while
	// traffic is steady (its previous envelope went out under 2ms ago);
	// default 500µs, negative: never wait. At low load, or from one
	// sender, a message is still published at once, alone.
	CoalesceWait time.Duration
	// Registerer receives the queue's metrics (nil: none).
	Registerer prometheus.Registerer
	// Logger receives connection events; no message content is logged.
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.Stream == "" {
		c.Stream = "IIS_INGEST"
	}
	if c.DeadStream == "" {
		c.DeadStream = "IIS_DEAD"
	}
	if c.Subject == "" {
		c.Subject = "iis.ingest"
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 2 * time.Minute
	}
	if c.MaxAge == 0 {
		c.MaxAge = 7 * 24 * time.Hour
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = -1
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 2 * time.Second
	}
	if c.Coalesce == 0 {
		c.Coalesce = 64
	}
	if c.CoalesceBytes <= 0 {
		c.CoalesceBytes = 1 << 20
	}
	if c.CoalesceWait == 0 {
		c.CoalesceWait = 500 * time.Microsecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Queue is a connection to the ingest streams.
type Queue struct {
	cfg Config
	srv *server.Server // embedded server, or nil
	nc  *nats.Conn
	js  jetstream.JetStream
	co  *coalescer // nil when Coalesce is 1
	// envelopeBytes is the largest envelope: CoalesceBytes, at most half
	// the server's maximum payload.
	envelopeBytes int
	recent        *recentIDs
	metrics       *metrics
}

// Headers set on every queued message.
const (
	HeaderFacility  = "Iis-Facility"   // the sending facility (authenticated or MSH-4)
	HeaderControlID = "Iis-Control-Id" // MSH-10
	HeaderReceived  = "Iis-Received"   // RFC 3339 time of receipt
	HeaderTransport = "Iis-Transport"  // mllp or soap
	HeaderAck       = "Iis-Ack"        // MSA-1 sent back: AA, AE, AR
	HeaderType      = "Iis-Type"       // MSH-9.1
	HeaderReason    = "Iis-Reason"     // dead letters: why the worker gave up
	HeaderIssues    = "Iis-Issues"     // the ERR rows sent back, compact: E:101:5:RXA-17;W:…
	HeaderAckBody   = "Iis-Ack-Body"   // the ACK sent back, base64 (standard encoding)
	HeaderResend    = "Iis-Resend"     // set when an operator resent the message: who
)

// Open connects to (or starts) NATS and makes sure the streams exist.
func Open(ctx context.Context, cfg Config) (*Queue, error) {
	cfg.defaults()
	q := &Queue{cfg: cfg}
	var opts []nats.Option
	opts = append(opts,
		nats.Name("iisd"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			cfg.Logger.Warn("queue disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			cfg.Logger.Info("queue reconnected", "server", nc.ConnectedUrlRedacted())
		}),
	)
	url := cfg.URL
	if url == "" {
		srv, err := startEmbedded(cfg)
		if err != nil {
			return nil, err
		}
		q.srv = srv
		opts = append(opts, nats.InProcessServer(srv))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		q.shutdownServer()
		return nil, fmt.Errorf("queue: connect to NATS %q: %w", Redact(url), err)
	}
	q.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("queue: jetstream: %w", err)
	}
	q.js = js
	if err := q.ensureStreams(ctx); err != nil {
		q.Close()
		return nil, err
	}
	if q.metrics, err = newMetrics(cfg.Registerer); err != nil {
		q.Close()
		return nil, err
	}
	q.recent = newRecentIDs(cfg.DuplicateWindow, recentMax)
	q.envelopeBytes = min(cfg.CoalesceBytes, int(nc.MaxPayload()/2))
	if cfg.Coalesce > 1 {
		q.co = newCoalescer(q, cfg.Coalesce, q.envelopeBytes, cfg.CoalesceWait)
	}
	return q, nil
}

// recentMax bounds each generation of remembered message ids: about 50 MB
// for both when full, which at 30,000 messages/s is a little over half a
// minute per generation (the whole window at lower rates).
const recentMax = 1 << 20

func startEmbedded(cfg Config) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "iisd-embedded",
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		DontListen: true, // in-process connections only: no port is taken
		NoSigs:     true,
		SyncAlways: cfg.SyncAlways,
		// Above MLLP's and SOAP's default 4 MiB message limit, so that no
		// message the listeners accept is refused by the queue.
		MaxPayload: 8 << 20,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("queue: embedded NATS: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("queue: embedded NATS did not start within 30s")
	}
	return srv, nil
}

func (q *Queue) ensureStreams(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := q.createOrUpdate(ctx, jetstream.StreamConfig{
		Name:        q.cfg.Stream,
		Description: "HL7 messages received by iisd, awaiting the registry worker",
		Subjects:    []string{q.cfg.Subject + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    q.cfg.Replicas,
		Duplicates:  q.cfg.DuplicateWindow,
		MaxAge:      q.cfg.MaxAge,
		MaxBytes:    q.cfg.MaxBytes,
		Discard:     jetstream.DiscardOld,
	})
	if err != nil {
		return fmt.Errorf("queue: stream %s: %w", q.cfg.Stream, err)
	}
	_, err = q.createOrUpdate(ctx, jetstream.StreamConfig{
		Name:        q.cfg.DeadStream,
		Description: "messages the registry worker could not process, with the reason",
		Subjects:    []string{q.cfg.Subject + "-dead.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    q.cfg.Replicas,
		MaxAge:      90 * 24 * time.Hour,
		// A message of an envelope that is redelivered (because another
		// message in it is retried) is dead-lettered again on each delivery:
		// stored once as long as the retries last less than a day.
		Duplicates: 24 * time.Hour,
	})
	if err != nil {
		return fmt.Errorf("queue: stream %s: %w", q.cfg.DeadStream, err)
	}
	return nil
}

// createOrUpdate creates a stream or updates its configuration, but never
// lowers the replicas of an existing stream: a process started without the
// cluster's replica setting must not quietly drop its redundancy.
func (q *Queue) createOrUpdate(ctx context.Context, sc jetstream.StreamConfig) (jetstream.Stream, error) {
	if st, err := q.js.Stream(ctx, sc.Name); err == nil {
		if have := st.CachedInfo().Config.Replicas; have > sc.Replicas {
			q.cfg.Logger.Warn("queue: keeping the stream's replicas", "stream", sc.Name, "replicas", have, "configured", sc.Replicas)
			sc.Replicas = have
		}
	}
	return q.js.CreateOrUpdateStream(ctx, sc)
}

// Message is one received HL7 message to queue.
type Message struct {
	// Kind is the subject's kind token: "vxu", "qbp" or "rejected".
	Kind string
	// Facility identifies the sender; with ControlID it forms the message
	// id that JetStream de-duplicates on.
	Facility  string
	ControlID string
	Transport string
	Type      string
	Ack       string
	Received  time.Time
	Body      []byte
	// Issues are the ERR rows of the ACK in compact form (see
	// HeaderIssues); AckBody is the ACK itself. Both are for the
	// operators' message store.
	Issues  string
	AckBody []byte
	// Resend names the operator who resent the message from the console
	// (empty for messages from senders).
	Resend string
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ID returns the de-duplication id of m: facility, control ID, a checksum
// of the body and the ACK code. A resend of the very same message is the
// same id, and JetStream stores it once; a corrected message sent again
// under the same MSH-10 (what many interfaces do after a rejection), or the
// same message accepted after a configuration change, is a new id and is
// queued.
func (m *Message) ID() string {
	return m.Facility + "|" + m.ControlID + "|" + strconv.FormatUint(uint64(crc32.Checksum(m.Body, castagnoli)), 16) + "|" + m.Ack
}

// PubAck is JetStream's acknowledgement of a publish.
type PubAck struct {
	Sequence  uint64
	Duplicate bool // the same id was queued earlier inside the window
}

// Publish queues m and returns once JetStream has stored it. It fails if
// that does not happen within the publish timeout. A resend of a message
// stored inside the duplicate window (same Message.ID) is not stored again:
// the acknowledgement says Duplicate and gives the first copy's sequence.
// Messages published at the same time from several goroutines may share
// one stream message (see Config.Coalesce); consumers read stream
// messages with Unpack.
func (q *Queue) Publish(ctx context.Context, m *Message) (PubAck, error) {
	var id string
	if m.ControlID != "" {
		id = m.ID()
		if seq, ok := q.recent.lookup(id); ok {
			return PubAck{Sequence: seq, Duplicate: true}, nil
		}
	}
	if q.co != nil && envelopeSize(m) <= q.co.maxBytes/2 {
		return q.co.publish(ctx, m, id)
	}
	return q.publishOne(ctx, m, id)
}

// publishOne stores m as a JetStream message of its own.
func (q *Queue) publishOne(ctx context.Context, m *Message, id string) (PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, q.cfg.PublishTimeout)
	defer cancel()
	msg := &nats.Msg{Subject: q.subject(m), Data: m.Body, Header: headers(m)}
	if id != "" {
		msg.Header[jetstream.MsgIDHeader] = []string{id}
	}
	ack, err := q.request(ctx, msg)
	if err == nil {
		q.recent.add(ack.Sequence, id)
	}
	return ack, err
}

// subject is m's subject in the ingest stream: <prefix>.<kind>.<facility>.
func (q *Queue) subject(m *Message) string {
	return q.cfg.Subject + "." + token(m.Kind) + "." + token(m.Facility)
}

// headers returns the headers m is stored with.
func headers(m *Message) nats.Header {
	// The header names are already canonical: built directly, not with
	// Header.Set, which would canonicalise each one on every message.
	h := nats.Header{
		HeaderFacility:  {m.Facility},
		HeaderControlID: {m.ControlID},
		HeaderReceived:  {m.Received.UTC().Format(time.RFC3339Nano)},
		HeaderTransport: {m.Transport},
		HeaderType:      {m.Type},
		HeaderAck:       {m.Ack},
	}
	if m.Issues != "" {
		h[HeaderIssues] = []string{m.Issues}
	}
	if len(m.AckBody) > 0 {
		h[HeaderAckBody] = []string{base64.StdEncoding.EncodeToString(m.AckBody)}
	}
	if m.Resend != "" {
		h[HeaderResend] = []string{m.Resend}
	}
	return h
}

// request publishes msg to the stream and reads its acknowledgement.
func (q *Queue) request(ctx context.Context, msg *nats.Msg) (PubAck, error) {
	// A JetStream publish is a request to the stream's subject answered by
	// the stream with its acknowledgement; made here directly rather than
	// through jetstream.PublishMsg so that the acknowledgement, a small JSON
	// object of a known shape, is read without encoding/json (see
	// parsePubAck), which was a tenth of the handler's queueing cost.
	resp, err := q.nc.RequestMsgWithContext(ctx, msg)
	// No responders: the stream is not there yet (a cluster electing its
	// leader); try again a few times within the deadline, as
	// jetstream.PublishMsg does.
	for r := 0; errors.Is(err, nats.ErrNoResponders) && r < publishRetries; r++ {
		select {
		case <-ctx.Done():
		case <-time.After(publishRetryWait):
		}
		resp, err = q.nc.RequestMsgWithContext(ctx, msg)
	}
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			err = jetstream.ErrNoStreamResponse
		}
		return PubAck{}, fmt.Errorf("queue: publish: %w", err)
	}
	ack, err := parsePubAck(resp.Data)
	if err != nil {
		return PubAck{}, fmt.Errorf("queue: publish: %w", err)
	}
	return ack, nil
}

// Unpack returns the received messages a stream message carries: itself,
// or the messages of an envelope. Bodies share data's memory.
func (q *Queue) Unpack(subject string, h nats.Header, data []byte) ([]Message, error) {
	rest, _ := strings.CutPrefix(subject, q.cfg.Subject+".")
	kind, _, _ := strings.Cut(rest, ".")
	if kind == envelopeKind && h.Get(HeaderEnvelope) != "" {
		msgs, err := readEnvelope(data)
		if err != nil {
			return nil, err
		}
		if n, err := strconv.Atoi(h.Get(HeaderEnvelope)); err != nil || n != len(msgs) {
			return nil, fmt.Errorf("%w: %d messages, header says %q", errEnvelope, len(msgs), h.Get(HeaderEnvelope))
		}
		return msgs, nil
	}
	m := Message{
		Kind: kind, Facility: h.Get(HeaderFacility), ControlID: h.Get(HeaderControlID),
		Transport: h.Get(HeaderTransport), Type: h.Get(HeaderType), Ack: h.Get(HeaderAck),
		Issues: h.Get(HeaderIssues), Resend: h.Get(HeaderResend), Body: data,
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderReceived)); err == nil {
		m.Received = t
	}
	if a := h.Get(HeaderAckBody); a != "" {
		if b, err := base64.StdEncoding.DecodeString(a); err == nil {
			m.AckBody = b
		}
	}
	return []Message{m}, nil
}

// PublishDead stores m in the dead-letter stream with the reason the
// worker gave up on it. id de-duplicates repeated attempts (the dead-letter
// stream remembers ids for a day): it reports whether m was already there.
func (q *Queue) PublishDead(ctx context.Context, m *Message, reason, id string) (duplicate bool, err error) {
	h := headers(m)
	h[HeaderReason] = []string{reason}
	if id != "" {
		h[jetstream.MsgIDHeader] = []string{id}
	}
	msg := &nats.Msg{
		Subject: q.cfg.Subject + "-dead." + token(m.Kind) + "." + token(m.Facility),
		Data:    m.Body, Header: h,
	}
	ctx, cancel := context.WithTimeout(ctx, q.cfg.PublishTimeout)
	defer cancel()
	ack, err := q.request(ctx, msg)
	if err != nil {
		return false, fmt.Errorf("queue: dead letter: %w", err)
	}
	return ack.Duplicate, nil
}

// ackValue returns what follows key (and any spaces) in a publish
// acknowledgement, or nil.
func ackValue(data []byte, key string) []byte {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return nil
	}
	return bytes.TrimLeft(data[i+len(key):], " ")
}

// The retries of a publish that found no stream listening, as
// jetstream.PublishMsg's defaults.
const (
	publishRetries   = 2
	publishRetryWait = 250 * time.Millisecond
)

// parsePubAck reads a stream's answer to a publish:
// {"stream":"IIS_INGEST","seq":42}, with "duplicate": true when the message
// id was seen inside the duplicate window, or an {"error":{…}}. The usual
// answer is read by hand; anything else goes through encoding/json.
func parsePubAck(data []byte) (PubAck, error) {
	const prefix = `{"stream":"`
	if bytes.HasPrefix(data, []byte(prefix)) && len(data) > len(prefix) && data[len(prefix)] != '"' && !bytes.Contains(data, []byte(`"error"`)) {
		seq, n := ackValue(data, `"seq":`), 0
		for n < len(seq) && seq[n] >= '0' && seq[n] <= '9' {
			n++
		}
		if v, err := strconv.ParseUint(string(seq[:n]), 10, 64); err == nil && n < len(seq) && (seq[n] == ',' || seq[n] == '}' || seq[n] == ' ') {
			return PubAck{Sequence: v, Duplicate: bytes.HasPrefix(ackValue(data, `"duplicate":`), []byte("true"))}, nil
		}
	}
	var r struct {
		Error *jetstream.APIError `json:"error,omitempty"`
		*jetstream.PubAck
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return PubAck{}, jetstream.ErrInvalidJSAck
	}
	if r.Error != nil {
		return PubAck{}, fmt.Errorf("nats: %w", r.Error)
	}
	if r.PubAck == nil || r.PubAck.Stream == "" {
		return PubAck{}, jetstream.ErrInvalidJSAck
	}
	return PubAck{Sequence: r.PubAck.Sequence, Duplicate: r.PubAck.Duplicate}, nil
}

// JetStream returns the JetStream handle, for consumers.
func (q *Queue) JetStream() jetstream.JetStream { return q.js }

// Config returns the queue's configuration with defaults applied.
func (q *Queue) Config() Config { return q.cfg }

// Healthy reports whether the connection to NATS is up.
func (q *Queue) Healthy() bool { return q.nc != nil && q.nc.IsConnected() }

// Close drains the connection and stops the embedded server.
func (q *Queue) Close() {
	if q.co != nil {
		q.co.close()
	}
	if q.nc != nil {
		_ = q.nc.Drain()
		q.nc.Close()
	}
	q.shutdownServer()
}

func (q *Queue) shutdownServer() {
	if q.srv != nil {
		q.srv.Shutdown()
		q.srv.WaitForShutdown()
		q.srv = nil
	}
}

// token makes s usable as one NATS subject token: letters, digits, '-' and
// '_' are kept, anything else becomes '_'; an empty s becomes "_".
func token(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for i := 0; i < len(s) && i < 64; i++ {
		c := s[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Redact hides the credentials of every URL in a comma-separated list of
// NATS URLs.
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for k, url := range parts {
		if i := strings.LastIndex(url, "@"); i >= 0 {
			if j := strings.Index(url, "://"); j >= 0 && j < i {
				parts[k] = url[:j+3] + "***" + url[i:]
			}
		}
	}
	return strings.Join(parts, ",")
}
