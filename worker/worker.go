// Package worker is the registry worker: a JetStream durable pull consumer
// on the ingest stream that stores every queued message in the registry
// (registry.Store.Apply) and acknowledges it only after the PostgreSQL
// commit. Several workers — goroutines of one process or separate
// processes — sharing the durable name share the work.
//
// A fetched batch is split into Concurrency shards by the patients' birth
// dates, and each shard is applied with registry.Store.ApplyBulk in one
// transaction (a fixed number of statements and one commit per shard).
// Each shard has its own line of transactions: it goes on with its part of
// the next batch without waiting for the other shards, and messages of one
// key stay in one shard, in queue order.
// If a shard's transaction fails, its messages are retried one per
// transaction so that one bad message cannot hold back the others. A message
// that fails MaxDeliver times, or that cannot be parsed at all, is copied to
// the dead-letter stream with the reason and terminated. A failure that
// means the database is unreachable (connection refused or lost, shutdown,
// serialization failure, deadlock) is not the message's fault: such messages
// stay in the queue and are retried, with growing delays, for as long as
// the outage lasts, and the worker waits before fetching more.
package worker

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Worker.
type Config struct {
	// Queue is the open ingest queue (stream, subjects, dead-letter stream).
	Queue *queue.Queue
	// Store is the registry.
	Store *registry.Store
	// Durable is the consumer name shared by every worker (default "registry").
	Durable string
	// StartSeq, when set, makes a new consumer start at this stream
	// sequence instead of the first message: a replay after a restore of
	// the registry (see docs/backup-restore.md). The consumer must not
	// exist yet with another start; use a durable name of its own.
	StartSeq uint64
	// BatchSize is the most messages fetched and committed together
	// (default 200).
	BatchSize int
	// FetchWait bounds how long a fetch waits for a full batch (default 500ms).
	FetchWait time.Duration
	// AckWait is how long JetStream waits for the ack before redelivering
	// (default 60s).
	AckWait time.Duration
	// MaxDeliver is how many deliveries a message gets before it is
	// dead-lettered (default 5).
	MaxDeliver int
	// Concurrency is the number of transactions a fetched batch is split
	// into and committed in parallel (default 4).
	Concurrency int
	// RetryDelay is the first redelivery delay after a failure; it doubles
	// with each delivery (default 1s).
	RetryDelay time.Duration
	// Validator decodes the messages (default immz.New(immz.Config{})).
	Validator *immz.Validator
	// Profiles gives a facility's own validator when its settings differ
	// from the server's (the listener accepted the message under them, e.g.
	// MSH-11 T from a clinic being onboarded); nil: Validator for all.
	Profiles interface {
		Validator(facility string) *immz.Validator
	}
	// Onboarding tells the facilities in test status (being onboarded):
	// their VXUs are kept in the message store only, not written to the
	// registry; nil: every facility is in production.
	Onboarding interface {
		InTest(facility string) bool
	}
	// Doses, if set, is told inside each transaction what ApplyBulk stored
	// (the inventory draws the administered doses on its lots); its error
	// fails the transaction like the registry's.
	Doses DoseHook
	// Registerer receives the worker's metrics (default: a private registry).
	Registerer prometheus.Registerer
	// Logger receives errors; no patient data is logged.
	Logger *slog.Logger
}

// DoseHook is called in the registry's transaction after ApplyBulk with
// the messages and their results, before the commit: what it writes
// commits or rolls back with the registry's rows, so a redelivered
// message (a duplicate, storing nothing) reaches it with nothing to do.
type DoseHook interface {
	Applied(ctx context.Context, tx pgx.Tx, msgs []*registry.Message, res []registry.Result) error
}

func (c *Config) defaults() {
	if c.Durable == "" {
		c.Durable = "registry"
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 200
	}
	if c.FetchWait <= 0 {
		c.FetchWait = 500 * time.Millisecond
	}
	if c.AckWait <= 0 {
		c.AckWait = 60 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.Validator == nil {
		c.Validator = immz.New(immz.Config{})
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Worker consumes the ingest stream into the registry.
type Worker struct {
	dbDown atomic.Bool // set when a batch met an unreachable database
	cfg    Config
	qcfg   queue.Config
	js     jetstream.JetStream
	cons   jetstream.Consumer
	m      *metrics
	stats  counters
	// perMsg is the moving average of received messages per stream
	// message; only the fetching goroutine uses it.
	perMsg float64
}

// New creates (or updates) the durable consumer and returns a Worker.
func New(cfg Config) (*Worker, error) {
	cfg.defaults()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cfg.Queue == nil || cfg.Store == nil {
		return nil, errors.New("worker: Queue and Store are required")
	}
	w := &Worker{cfg: cfg, qcfg: cfg.Queue.Config(), js: cfg.Queue.JetStream()}
	w.perMsg = 1
	cc := jetstream.ConsumerConfig{
		Durable:     cfg.Durable,
		Description: "registry worker: stores queued messages in PostgreSQL",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     cfg.AckWait,
		// Unlimited: the worker decides when to give up. A database outage
		// must not use up a message's deliveries (see fail).
		MaxDeliver:    -1,
		FilterSubject: w.qcfg.Subject + ".>",
		MaxAckPending: 100 * cfg.BatchSize,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if cfg.StartSeq > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, cfg.StartSeq
	}
	cons, err := w.js.CreateOrUpdateConsumer(ctx, w.qcfg.Stream, cc)
	if err != nil {
		return nil, fmt.Errorf("worker: consumer %s: %w", cfg.Durable, err)
	}
	w.cons = cons
	w.m, err = newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Run fetches and processes batches until ctx is cancelled; it then
// finishes the batch in flight and returns nil.
func (w *Worker) Run(ctx context.Context) error {
	return w.loop(ctx)
}

func (w *Worker) loop(ctx context.Context) error {
	// The next batch is fetched and decoded while the current one is in
	// the database: the decoding (about a tenth of a batch's time) and
	// the fetch's round trip no longer leave PostgreSQL idle.
	batches := make(chan []*item, 1)
	go func() {
		defer close(batches)
		for ctx.Err() == nil {
			items, ok := w.fetch(ctx)
			if !ok {
				continue
			}
			// Envelopes can make a fetch larger than a batch.
			for len(items) > 0 {
				n := min(len(items), w.cfg.BatchSize)
				batches <- items[:n:n] // taken even after ctx ends: the loop below drains
				items = items[n:]
			}
		}
	}()
	// Each batch is split into Concurrency shards by the patients' lock
	// keys, and each shard has its own transaction line: shard s applies
	// its part of a batch after its part of the batch before, without
	// waiting for the other shards. Messages with the same key are in the
	// same shard, so they are applied in the order they were queued; the
	// shards no longer wait for the slowest of them at every batch.
	shards := make([]chan []*item, w.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range shards {
		shards[i] = make(chan []*item, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for part := range shards[i] {
				// Finished even if ctx is cancelled now.
				start := time.Now()
				w.processShard(context.WithoutCancel(ctx), part)
				w.m.batch.Observe(time.Since(start).Seconds())
				if w.dbDown.Swap(false) {
					// The database is unreachable: wait before applying
					// more rather than spinning through redeliveries.
					w.cfg.Logger.Warn("worker: registry database unavailable; messages kept in the queue and retried")
					sleep(ctx, 2*time.Second)
				}
			}
		}()
	}
	for items := range batches {
		parts := make([][]*item, len(shards))
		for i, it := range items {
			k := uint64(i)
			if len(it.keys) > 0 {
				k = uint64(it.keys[0])
			}
			s := k % uint64(len(shards))
			parts[s] = append(parts[s], it)
		}
		for s, part := range parts {
			if len(part) > 0 {
				shards[s] <- part
			}
		}
	}
	for _, ch := range shards {
		close(ch)
	}
	wg.Wait()
	return nil
}

// fetch fetches a batch and decodes it; messages that cannot be decoded
// are dead-lettered at once. It reports false when there is nothing to
// process. A stream message may be an envelope of several received
// messages (see queue.Config.Coalesce): the fetch asks for about BatchSize
// received messages' worth of stream messages.
func (w *Worker) fetch(ctx context.Context) ([]*item, bool) {
	n := max(1, int(float64(w.cfg.BatchSize)/w.perMsg))
	batch, err := w.cons.Fetch(n, jetstream.FetchMaxWait(w.cfg.FetchWait))
	if err != nil {
		if ctx.Err() == nil {
			w.cfg.Logger.Warn("worker: fetch", "err", err)
			sleep(ctx, time.Second)
		}
		return nil, false
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && len(msgs) == 0 && ctx.Err() == nil {
		w.cfg.Logger.Warn("worker: fetch", "err", err)
		sleep(ctx, 200*time.Millisecond)
	}
	if len(msgs) == 0 {
		w.m.lag.Set(0)
		return nil, false
	}
	items := make([]*item, 0, len(msgs))
	recs := 0 // received messages in msgs
	for _, m := range msgs {
		d := w.delivery(m)
		qms, err := w.cfg.Queue.Unpack(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			// Not even readable as queued messages: kept whole.
			qms = []queue.Message{{Kind: kindOf(m.Subject(), w.qcfg.Subject), Body: m.Data()}}
			d.pending.Store(1)
			recs++
			it := &item{d: d, qm: &qms[0], err: fmt.Errorf("%w: %v", registry.ErrPermanent, err)}
			w.fail(context.WithoutCancel(ctx), it, it.err)
			continue
		}
		d.pending.Store(int32(len(qms)))
		recs += len(qms)
		d.envelope = len(qms) > 1 || m.Headers().Get(queue.HeaderEnvelope) != ""
		for i := range qms {
			it := w.prepare(d, i, &qms[i])
			if it.err != nil {
				w.fail(context.WithoutCancel(ctx), it, it.err)
				continue
			}
			items = append(items, it)
		}
	}
	w.perMsg = 0.8*w.perMsg + 0.2*float64(recs)/float64(len(msgs))
	if md, err := msgs[len(msgs)-1].Metadata(); err == nil {
		// In received messages, estimated: the stream counts envelopes.
		w.m.lag.Set(float64(md.NumPending) * w.perMsg)
	}
	return items, len(items) > 0
}

// transient reports whether err means the database could not be reached or
// asked for a retry (connection failures, shutdowns, serialization
// failures, deadlocks): the message itself is fine.
func transient(err error) bool {
	if err == nil || errors.Is(err, registry.ErrPermanent) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"),          // insufficient resources
			strings.HasPrefix(pgErr.Code, "57P"),         // operator intervention: shutdown, cannot connect now
			pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET)
}

// A delivery is one fetched stream message, and the received messages it
// carries (one, or an envelope's). It is acknowledged once each of them is
// settled: committed or dead-lettered. If any is to be retried the whole
// stream message is redelivered; the ones already committed are then
// recognised as duplicates by the registry (source identity).
type delivery struct {
	msg       jetstream.Msg
	seq       uint64
	delivered uint64
	envelope  bool
	pending   atomic.Int32
	mu        sync.Mutex
	retry     time.Duration // > 0: redeliver after this delay
	dead      string        // a single message dead-lettered: terminate with this reason
}

func (w *Worker) delivery(m jetstream.Msg) *delivery {
	d := &delivery{msg: m, delivered: 1}
	if md, err := m.Metadata(); err == nil {
		d.seq, d.delivered = md.Sequence.Stream, md.NumDelivered
	}
	return d
}

// settle records the outcome of one of d's messages (retry > 0: to be
// redelivered after retry; dead: dead-lettered) and, after the last one,
// acknowledges, naks or terminates the stream message.
func (w *Worker) settle(d *delivery, retry time.Duration, dead string) {
	d.mu.Lock()
	d.retry = max(d.retry, retry)
	if dead != "" {
		d.dead = dead
	}
	d.mu.Unlock()
	if d.pending.Add(-1) != 0 {
		return
	}
	var err error
	switch {
	case d.retry > 0:
		err = d.msg.NakWithDelay(d.retry)
	case d.dead != "" && !d.envelope:
		err = d.msg.TermWithReason(d.dead)
	default:
		// The commit stands; a redelivery would be recognised as a duplicate.
		err = d.msg.Ack()
	}
	if err != nil {
		w.cfg.Logger.Warn("worker: settle stream message", "stream_seq", d.seq, "err", err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// item is one received message on its way to the store.
type item struct {
	d    *delivery
	idx  int // in d's envelope
	qm   *queue.Message
	rm   *registry.Message
	keys []int64
	err  error // decode error: permanent
	res  registry.Result
}

// processShard applies one shard's part of a batch in one transaction;
// if that fails, one message per transaction. Then each message is
// settled: acked, retried or dead-lettered.
func (w *Worker) processShard(ctx context.Context, items []*item) {
	if err := w.applyTx(ctx, items); err == nil {
		for _, it := range items {
			w.done(it)
		}
		return
	}
	// Retry one by one: the failure belongs to one message, or to the
	// moment (a deadlock, a lost connection).
	for _, it := range items {
		if err := w.applyTx(ctx, []*item{it}); err != nil {
			w.fail(ctx, it, err)
			continue
		}
		w.done(it)
	}
}

// applyTx applies items in one transaction and commits.
func (w *Worker) applyTx(ctx context.Context, items []*item) error {
	msgs := make([]*registry.Message, len(items))
	for i, it := range items {
		msgs[i] = it.rm
	}
	// Queries (QBP and their answers) are kept by their own storing path;
	// the rest go through ApplyBulk. Both in the one transaction.
	var queries, others []*registry.Message
	var qi, oi []*item
	for i, m := range msgs {
		if m.Kind == registry.KindQuery {
			queries, qi = append(queries, m), append(qi, items[i])
		} else {
			others, oi = append(others, m), append(oi, items[i])
		}
	}
	return pgx.BeginFunc(ctx, w.cfg.Store.Pool(), func(tx pgx.Tx) error {
		if len(others) > 0 {
			res, err := w.cfg.Store.ApplyBulk(ctx, tx, others)
			if err != nil {
				return err
			}
			for i, it := range oi {
				it.res = res[i]
			}
			if w.cfg.Doses != nil {
				if err := w.cfg.Doses.Applied(ctx, tx, others, res); err != nil {
					return err
				}
			}
		}
		if len(queries) > 0 {
			res, err := w.cfg.Store.StoreQueries(ctx, tx, queries)
			if err != nil {
				return err
			}
			for i, it := range qi {
				it.res = res[i]
			}
		}
		return nil
	})
}

// queryOutcome is what a query's answer said, for the message store:
// its profile, with the status of a Z33 ("Z32", "Z33 NF"), or "ACK" and
// MSA-1 for a query answered with an ACK; "" if the answer is unreadable.
func queryOutcome(answer []byte) string {
	m, err := hl7.Parse(answer)
	if err != nil {
		return ""
	}
	switch {
	case m.Get("MSH-9.1").Equal("ACK"):
		return "ACK " + m.Get("MSA-1").String()
	case m.Get("MSH-21.1").Equal("Z33"):
		return "Z33 " + m.Get("QAK-2").String()
	}
	return m.Get("MSH-21.1").String()
}

// prepare decodes the body of qm, message idx of delivery d.
func (w *Worker) prepare(d *delivery, idx int, qm *queue.Message) *item {
	// The texts that go to text columns are made storable (a rejected
	// message's header may hold control characters, bytes that are not
	// UTF-8, or an overlong facility or MSH-10; the listener cleans the
	// first two, this also guards what was queued before or by another
	// writer). Raw keeps the bytes as received.
	rm := &registry.Message{
		Kind: immz.SafeText(qm.Kind), Facility: immz.StorableID(qm.Facility), ControlID: immz.StorableID(qm.ControlID),
		Type: immz.SafeText(qm.Type), Ack: immz.SafeText(qm.Ack), Transport: immz.SafeText(qm.Transport),
		Raw: qm.Body, Issues: immz.SafeText(qm.Issues), AckBody: qm.AckBody,
		StreamSeq: d.seq, Received: qm.Received,
	}
	it := &item{d: d, idx: idx, qm: qm, rm: rm}
	if rm.Received.IsZero() {
		if md, err := d.msg.Metadata(); err == nil {
			rm.Received = md.Timestamp
		}
	}
	if rm.Received.IsZero() {
		rm.Received = time.Now()
	}
	if rm.Kind == registry.KindQuery {
		rm.QueryOutcome = queryOutcome(rm.AckBody)
		rm.Decoded = w.cfg.Validator.Decode(qm.Body) // for MSH-7
		// One shard for one query identity: the same query delivered
		// twice is stored in queue order.
		h := fnv.New64a()
		h.Write([]byte(rm.Facility + "\x00" + rm.ControlID))
		it.keys = []int64{int64(h.Sum64() >> 1)}
	}
	if rm.Kind == "vxu" {
		// Decode reads the character set MSH-18 declares (8859/1 is
		// converted to UTF-8); Raw keeps the bytes as received.
		body := qm.Body
		v := w.cfg.Validator
		if w.cfg.Profiles != nil {
			if fv := w.cfg.Profiles.Validator(rm.Facility); fv != nil {
				v = fv
			}
		}
		res := v.Decode(body)
		if res.Rejected() && !utf8.Valid(body) {
			// Accepted (kind vxu) by a listener that read bytes outside
			// UTF-8 as ISO 8859-1 without MSH-18 saying so, before such
			// messages were rejected: read it as that listener did.
			res = v.Decode(latin1ToUTF8(body))
		}
		if res.Message() == nil {
			it.err = fmt.Errorf("%w: unparseable message: %s", registry.ErrPermanent, firstIssue(res))
			return it
		}
		rm.Decoded = res
		if rm.Facility == "" {
			rm.Facility = immz.StorableID(res.Header.SendingFacility.Name)
		}
		rm.StoreOnly = w.cfg.Onboarding != nil && w.cfg.Onboarding.InTest(rm.Facility)
		if rm.ControlID == "" {
			rm.ControlID = immz.StorableID(res.Header.ControlID)
		}
		it.keys = registry.LockKeys(rm)
	}
	if rm.ControlID == "" {
		// Without MSH-10 there is no source identity; the stream sequence
		// (and the place in an envelope) stands in for it so that a
		// redelivery is still recognised.
		rm.ControlID = "seq:" + strconv.FormatUint(rm.StreamSeq, 10)
		if d.envelope {
			rm.ControlID += "." + strconv.Itoa(idx)
		}
	}
	return it
}

// latin1ToUTF8 converts ISO 8859-1 bytes to UTF-8.
func latin1ToUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

func firstIssue(r *immz.Result) string {
	if len(r.Issues) > 0 {
		return r.Issues[0].Message
	}
	return "no details"
}

// kindOf returns the kind token of subject prefix.<kind>.<facility>.
func kindOf(subject, prefix string) string {
	rest := strings.TrimPrefix(subject, prefix+".")
	kind, _, _ := strings.Cut(rest, ".")
	return kind
}

// done settles a committed message and counts it.
func (w *Worker) done(it *item) {
	w.settle(it.d, 0, "")
	r := it.res
	switch {
	case r.Duplicate:
		w.m.messages.WithLabelValues("duplicate").Inc()
		w.stats.duplicates.Add(1)
	case r.StoredOnly:
		w.m.messages.WithLabelValues("stored_only").Inc()
		w.stats.storedOnly.Add(1)
	default:
		w.m.messages.WithLabelValues("stored").Inc()
		w.stats.stored.Add(1)
		w.stats.doses.Add(int64(r.Doses))
		w.m.doses.Add(float64(r.Doses))
		w.m.matches.WithLabelValues(string(r.Outcome)).Inc()
		a := r.Actions
		w.m.actions.WithLabelValues("events").Add(float64(a.Events))
		w.m.actions.WithLabelValues("duplicates").Add(float64(a.Duplicates))
		w.m.actions.WithLabelValues("updated").Add(float64(a.Updated))
		w.m.actions.WithLabelValues("deleted").Add(float64(a.Deleted))
		w.m.actions.WithLabelValues("not_events").Add(float64(a.NotEvents))
	}
}

// fail has it redelivered later, or dead-letters it when the error is
// permanent or the deliveries are used up.
func (w *Worker) fail(ctx context.Context, it *item, err error) {
	d := it.d
	if transient(err) {
		// The database (or the network to it) is down, not the message
		// wrong: retry for as long as it takes, never dead-letter.
		w.m.messages.WithLabelValues("retried").Inc()
		w.stats.retried.Add(1)
		w.dbDown.Store(true)
		w.settle(d, min(w.cfg.RetryDelay<<min(d.delivered-1, 6), 30*time.Second), "")
		return
	}
	permanent := errors.Is(err, registry.ErrPermanent)
	if !permanent && d.delivered < uint64(w.cfg.MaxDeliver) {
		w.m.messages.WithLabelValues("retried").Inc()
		w.stats.retried.Add(1)
		w.settle(d, w.cfg.RetryDelay<<min(d.delivered-1, 6), "")
		return
	}
	reason := "max deliveries"
	if permanent {
		reason = "permanent"
	}
	dup, dErr := w.deadLetter(ctx, it, err)
	if dErr != nil {
		// Not settled as dead: JetStream redelivers it.
		w.cfg.Logger.Error("worker: dead letter", "err", dErr)
		w.settle(d, w.cfg.RetryDelay, "")
		return
	}
	w.settle(d, 0, reason)
	if dup {
		// Dead-lettered at an earlier delivery of its envelope: counted then.
		return
	}
	w.cfg.Logger.Warn("worker: message dead-lettered", "stream_seq", d.seq, "envelope_index", it.idx, "deliveries", d.delivered, "permanent", permanent, "err", err.Error())

	w.m.messages.WithLabelValues("dead").Inc()
	w.m.dead.WithLabelValues(reason).Inc()
	w.stats.dead.Add(1)
}

// deadLetter copies it to the dead-letter stream with the reason; it
// reports whether it was there already.
func (w *Worker) deadLetter(ctx context.Context, it *item, cause error) (bool, error) {
	reason := cause.Error()
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	id := "dead-" + strconv.FormatUint(it.d.seq, 10)
	if it.d.envelope {
		id += "-" + strconv.Itoa(it.idx)
	}
	return w.cfg.Queue.PublishDead(ctx, it.qm, fmt.Sprintf("%s (after %d deliveries)", reason, it.d.delivered), id)
}

// Stats are the worker's counters since New.
type Stats struct {
	Stored, Duplicates, StoredOnly, Retried, Dead, Doses int64
}

type counters struct {
	stored, duplicates, storedOnly, retried, dead, doses atomic.Int64
}

// Stats returns the counters.
func (w *Worker) Stats() Stats {
	return Stats{
		Stored: w.stats.stored.Load(), Duplicates: w.stats.duplicates.Load(), StoredOnly: w.stats.storedOnly.Load(),
		Retried: w.stats.retried.Load(), Dead: w.stats.dead.Load(), Doses: w.stats.doses.Load(),
	}
}
