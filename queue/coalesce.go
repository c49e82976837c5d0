package queue

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// A coalescer is the queue's group commit. Listeners hand it messages from
// many connections at once; each of its flushers takes whatever is waiting
// (up to Coalesce messages and CoalesceBytes) and stores it with one
// JetStream publish, an envelope, and then releases every caller with the
// stream's acknowledgement. Under load the messages that arrive while a
// publish is in flight share the next one, and the stream's per-publish
// cost (one request, one store write, one acknowledgement: about 40µs of
// CPU, against 3-6µs for each message an envelope carries, in
// BenchmarkPublishEnvelope) is paid once per envelope. At low load a
// message that arrives alone is published at once, alone, as an ordinary
// message with its de-duplication id. In between, a flusher waits up to
// CoalesceWait for company (see company): without that, steady traffic
// from many connections alternates between full envelopes and lone
// messages, and the lone ones are most of the publishes.
type coalescer struct {
	q        *Queue
	in       chan *pending
	max      int
	maxBytes int
	wait     time.Duration // CoalesceWait; <= 0: never wait
	active   atomic.Int32  // callers inside publish
	stop     chan struct{} // closed by close: flushers finish what they hold
	dead     chan struct{} // closed when every flusher has returned
	wg       sync.WaitGroup
	pool     sync.Pool // *pending
}

// pending is one caller's message waiting in the coalescer.
type pending struct {
	m      *Message
	id     string
	queued time.Time
	ack    PubAck
	err    error
	done   chan struct{}
}

// flushers is how many envelopes may be in flight at once: one being
// stored while the next fills.
const flushers = 2

// Waiting for company: see coalescer.company.
const (
	maxCompany = 16
	steadyGap  = 2 * time.Millisecond
)

// company is how many messages a flusher whose previous flush ended at
// last waits for (up to CoalesceWait): none at low load, when that flush
// is more than steadyGap ago; otherwise as many as there are callers in
// publish, at most maxCompany. A lone sender, one connection sending
// message after message, is its own only caller, so its messages never
// wait (it cannot send the next before this one's ACK).
func (c *coalescer) company(last time.Time) int {
	if c.wait <= 0 || time.Since(last) > steadyGap {
		return 0
	}
	return min(maxCompany, int(c.active.Load()))
}

func newCoalescer(q *Queue, max, maxBytes int, wait time.Duration) *coalescer {
	c := &coalescer{
		q: q, in: make(chan *pending, 4*max), max: max, maxBytes: maxBytes, wait: wait,
		stop: make(chan struct{}), dead: make(chan struct{}),
	}
	c.pool.New = func() any { return &pending{done: make(chan struct{}, 1)} }
	for range flushers {
		c.wg.Add(1)
		go c.run()
	}
	go func() {
		c.wg.Wait()
		close(c.dead)
	}()
	return c
}

// errClosed is returned for messages handed to a closed queue.
var errClosed = errors.New("queue: closed")

// publish hands m to a flusher and waits for its acknowledgement, for at
// most about the publish timeout (a flusher drops a message that waited
// longer than that before its turn came, rather than store it late).
func (c *coalescer) publish(ctx context.Context, m *Message, id string) (PubAck, error) {
	c.active.Add(1)
	defer c.active.Add(-1)
	p := c.pool.Get().(*pending)
	p.m, p.id, p.queued = m, id, time.Now()
	select {
	case c.in <- p:
	case <-ctx.Done():
		c.put(p)
		return PubAck{}, fmt.Errorf("queue: publish: %w", ctx.Err())
	case <-c.stop:
		c.put(p)
		return PubAck{}, errClosed
	}
	select {
	case <-p.done:
		ack, err := p.ack, p.err
		c.put(p)
		return ack, err
	case <-ctx.Done():
		// The flusher still owns p: it is not returned to the pool.
		return PubAck{}, fmt.Errorf("queue: publish: %w", ctx.Err())
	case <-c.dead:
		select {
		case <-p.done:
			ack, err := p.ack, p.err
			c.put(p)
			return ack, err
		default:
			return PubAck{}, errClosed
		}
	}
}

func (c *coalescer) put(p *pending) {
	p.m, p.id, p.ack, p.err = nil, "", PubAck{}, nil
	c.pool.Put(p)
}

// close stops the flushers once they have stored what they hold; messages
// still waiting are answered with errClosed.
func (c *coalescer) close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.dead
}

func (c *coalescer) run() {
	defer c.wg.Done()
	batch := make([]*pending, 0, c.max)
	msgs := make([]*Message, 0, c.max)
	var enc envelopeEncoder
	var carry *pending
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var last time.Time // when the previous flush ended
	for {
		p := carry
		carry = nil
		if p == nil {
			select {
			case p = <-c.in:
			case <-c.stop:
				return
			}
		}
		batch = append(batch[:0], p)
		size := envelopeSize(p.m)
		var deadline time.Time
	fill:
		for len(batch) < c.max {
			var n *pending
			select {
			case n = <-c.in:
			default:
				if len(batch) >= c.company(last) {
					break fill
				}
				if deadline.IsZero() {
					deadline = time.Now().Add(c.wait)
				}
				d := time.Until(deadline)
				if d <= 0 {
					break fill
				}
				timer.Reset(d)
				select {
				case n = <-c.in:
					timer.Stop()
				case <-timer.C:
					break fill
				case <-c.stop:
					timer.Stop()
					break fill
				}
			}
			s := envelopeSize(n.m)
			if size+s > c.maxBytes || slices.ContainsFunc(batch, func(p *pending) bool { return sameIdentity(p.m, n.m) }) {
				// For the next envelope: one envelope never holds two
				// messages of one (facility, MSH-10), so that the
				// registry tells a redelivery from a correction.
				carry = n
				break fill
			}
			batch = append(batch, n)
			size += s
		}
		c.flush(batch, msgs[:0], &enc)
		last = time.Now()
	}
}

// sameIdentity reports whether a and b are two messages of one (facility,
// MSH-10), which one envelope never holds together.
func sameIdentity(a, b *Message) bool {
	return a.ControlID != "" && a.ControlID == b.ControlID && a.Facility == b.Facility
}

// flush stores batch and releases its callers.
func (c *coalescer) flush(batch []*pending, msgs []*Message, enc *envelopeEncoder) {
	timeout := c.q.cfg.PublishTimeout
	now := time.Now()
	live := batch[:0]
	for _, p := range batch {
		if now.Sub(p.queued) > timeout {
			p.err = fmt.Errorf("queue: publish: waited %v for its turn: %w", now.Sub(p.queued).Round(time.Millisecond), context.DeadlineExceeded)
			p.done <- struct{}{}
			continue
		}
		live = append(live, p)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		p := live[0]
		p.ack, p.err = c.q.publishOne(context.Background(), p.m, p.id)
		p.done <- struct{}{}
		return
	}
	for _, p := range live {
		msgs = append(msgs, p.m)
	}
	ack, err := c.q.publishEnvelope(context.Background(), msgs, enc)
	if err == nil {
		ids := make([]string, len(live))
		for i, p := range live {
			ids[i] = p.id
		}
		c.q.recent.add(ack.Sequence, ids...)
	}
	for _, p := range live {
		p.ack, p.err = ack, err
		p.done <- struct{}{}
	}
}

// publishEnvelope stores msgs as one envelope, encoded with enc, within the
// publish timeout.
func (q *Queue) publishEnvelope(ctx context.Context, msgs []*Message, enc *envelopeEncoder) (PubAck, error) {
	msg := &nats.Msg{
		Subject: q.cfg.Subject + "." + envelopeKind,
		Data:    enc.encode(msgs),
		Header:  nats.Header{HeaderEnvelope: {strconv.Itoa(len(msgs))}},
	}
	ctx, cancel := context.WithTimeout(ctx, q.cfg.PublishTimeout)
	defer cancel()
	ack, err := q.request(ctx, msg)
	q.metrics.envelope(len(msgs))
	return ack, err
}

// recentIDs remembers the de-duplication ids of recently stored messages,
// so that a resend inside the duplicate window is answered without being
// queued again even when its first copy went into an envelope, which
// JetStream cannot de-duplicate per message. Two generations of at most
// max ids each: an id is remembered for between half the window and the
// whole window (less when more than max messages arrive in half a window).
// It is per process: across listeners the registry's idempotent writes are
// what keeps a resend from counting twice.
type recentIDs struct {
	mu       sync.RWMutex
	seed     maphash.Seed
	cur, old map[uint64]uint64 // id hash -> stream sequence
	since    time.Time         // when cur started
	window   time.Duration
	max      int
	now      func() time.Time
}

func newRecentIDs(window time.Duration, max int) *recentIDs {
	return &recentIDs{seed: maphash.MakeSeed(), cur: map[uint64]uint64{}, since: time.Now(), window: window, max: max, now: time.Now}
}

func (r *recentIDs) rotate(now time.Time) {
	if !r.due(now) {
		return
	}
	if now.Sub(r.since) > r.window {
		r.old, r.cur = nil, map[uint64]uint64{}
	} else {
		r.old, r.cur = r.cur, make(map[uint64]uint64, len(r.cur))
	}
	r.since = now
}

// due reports whether the generations are to rotate at now.
func (r *recentIDs) due(now time.Time) bool {
	return now.Sub(r.since) > r.window/2 || len(r.cur) >= r.max
}

// lookup returns the stream sequence id was stored under, if it was seen.
// Lookups share the lock; only a rotation takes it alone.
func (r *recentIDs) lookup(id string) (uint64, bool) {
	if r == nil || id == "" {
		return 0, false
	}
	h := maphash.String(r.seed, id)
	now := r.now()
	r.mu.RLock()
	if !r.due(now) {
		s, ok := r.find(h)
		r.mu.RUnlock()
		return s, ok
	}
	r.mu.RUnlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rotate(now)
	return r.find(h)
}

// find looks h up; r.mu is held.
func (r *recentIDs) find(h uint64) (uint64, bool) {
	if s, ok := r.cur[h]; ok {
		return s, true
	}
	s, ok := r.old[h]
	return s, ok
}

// add remembers that ids were stored under the stream sequence seq (the
// messages of one envelope share it).
func (r *recentIDs) add(seq uint64, ids ...string) {
	if r == nil {
		return
	}
	hs := make([]uint64, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			hs = append(hs, maphash.String(r.seed, id))
		}
	}
	if len(hs) == 0 {
		return
	}
	r.mu.Lock()
	r.rotate(r.now())
	for _, h := range hs {
		r.cur[h] = seq
	}
	r.mu.Unlock()
}

// PublishAll queues msgs, a batch file's messages, in their order: in
// envelopes of up to Coalesce messages published one after the other (a
// lone message, or every message when Coalesce is 1, on its own). It
// returns each message's acknowledgement or error. Once a publish fails
// the rest are not tried: they fail with the same error, and their senders
// are told to resend them.
func (q *Queue) PublishAll(ctx context.Context, msgs []*Message) ([]PubAck, []error) {
	acks, errs := make([]PubAck, len(msgs)), make([]error, len(msgs))
	ids := make([]string, len(msgs))
	var todo []int
	for i, m := range msgs {
		if m.ControlID != "" {
			ids[i] = m.ID()
			if seq, ok := q.recent.lookup(ids[i]); ok {
				acks[i] = PubAck{Sequence: seq, Duplicate: true}
				continue
			}
		}
		todo = append(todo, i)
	}
	maxMsgs, maxBytes := max(q.cfg.Coalesce, 1), q.envelopeBytes
	var failed error
	var enc envelopeEncoder
	var group []*Message
	for len(todo) > 0 {
		// The next envelope: as many as fit, never two of one identity.
		n, size := 1, envelopeSize(msgs[todo[0]])
		for n < len(todo) && n < maxMsgs {
			m := msgs[todo[n]]
			s := envelopeSize(m)
			if size+s > maxBytes || slices.ContainsFunc(todo[:n], func(j int) bool { return sameIdentity(msgs[j], m) }) {
				break
			}
			n, size = n+1, size+s
		}
		chunk := todo[:n]
		todo = todo[n:]
		if failed != nil {
			for _, i := range chunk {
				errs[i] = failed
			}
			continue
		}
		if n == 1 {
			i := chunk[0]
			acks[i], errs[i] = q.publishOne(ctx, msgs[i], ids[i])
			failed = errs[i]
			continue
		}
		group = group[:0]
		for _, i := range chunk {
			group = append(group, msgs[i])
		}
		ack, err := q.publishEnvelope(ctx, group, &enc)
		stored := make([]string, 0, len(chunk))
		for _, i := range chunk {
			acks[i], errs[i] = ack, err
			stored = append(stored, ids[i])
		}
		if err == nil {
			q.recent.add(ack.Sequence, stored...)
		}
		failed = err
	}
	return acks, errs
}
