package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// readAll returns every received message in the stream, unpacked, and how
// many stream messages were envelopes.
func readAll(t *testing.T, q *Queue) ([]Message, int) {
	t.Helper()
	ctx := context.Background()
	st, err := q.js.Stream(ctx, q.cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []Message
	envelopes := 0
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		raw, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		msgs, err := q.Unpack(raw.Subject, raw.Header, raw.Data)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		if raw.Header.Get(HeaderEnvelope) != "" {
			envelopes++
			if raw.Header.Get(jetstream.MsgIDHeader) != "" {
				t.Errorf("envelope %d has a message id", seq)
			}
		}
		out = append(out, msgs...)
	}
	return out, envelopes
}

func testMessage(i int) *Message {
	return &Message{
		Kind: "vxu", Facility: fmt.Sprintf("CLINIC %d", i%3), ControlID: fmt.Sprintf("MSG-%d", i), Transport: "mllp",
		Type: "VXU", Ack: "AE", Received: time.Date(2026, 11, 25, 12, 0, 0, i, time.UTC),
		Body:   []byte(fmt.Sprintf("MSH|^~\\&|EHR|CLINIC %d|||20261125||VXU^V04^VXU_V04|MSG-%d|P|2.5.1\r", i%3, i)),
		Issues: "W:103:2:RXA-9", AckBody: []byte(fmt.Sprintf("MSH|...\rMSA|AE|MSG-%d\r", i)),
	}
}

// TestCoalescedPublish: messages published at once from many goroutines
// are stored in envelopes; every acknowledged message is in the stream
// exactly once with all its fields, and a resend of any of them is
// answered as a duplicate without being stored again.
func TestCoalescedPublish(t *testing.T) {
	q := openQueue(t, Config{DataDir: t.TempDir(), Registerer: nil})
	ctx := context.Background()
	const n, senders = 2000, 32
	want := map[string]*Message{}
	acks := make([]PubAck, n)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < n; i += senders {
				ack, err := q.Publish(ctx, testMessage(i))
				if err != nil {
					t.Error(err)
					return
				}
				acks[i] = ack
			}
		}()
	}
	wg.Wait()
	for i := range n {
		m := testMessage(i)
		want[m.Facility+"|"+m.ControlID] = m
		if acks[i].Duplicate || acks[i].Sequence == 0 {
			t.Fatalf("message %d: %+v", i, acks[i])
		}
	}
	got, envelopes := readAll(t, q)
	if envelopes == 0 {
		t.Fatal("no envelope: publishes were not coalesced")
	}
	if len(got) != n {
		t.Fatalf("stream holds %d messages, want %d", len(got), n)
	}
	for _, g := range got {
		w := want[g.Facility+"|"+g.ControlID]
		if w == nil {
			t.Fatalf("unexpected message %s|%s", g.Facility, g.ControlID)
		}
		delete(want, g.Facility+"|"+g.ControlID)
		if g.Kind != w.Kind || g.Transport != w.Transport || g.Type != w.Type || g.Ack != w.Ack || !g.Received.Equal(w.Received) ||
			g.Issues != w.Issues || !bytes.Equal(g.AckBody, w.AckBody) || !bytes.Equal(g.Body, w.Body) || g.Resend != w.Resend {
			t.Fatalf("stored %+v\nwant %+v", g, *w)
		}
	}
	t.Logf("%d messages, %d envelopes", n, envelopes)

	// Resends, also at once: answered with the first copy's sequence.
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < n; i += 7 * senders {
				ack, err := q.Publish(ctx, testMessage(i))
				if err != nil || !ack.Duplicate || ack.Sequence != acks[i].Sequence {
					t.Errorf("resend of %d: %+v %v (first %+v)", i, ack, err, acks[i])
				}
			}
		}()
	}
	wg.Wait()
	if again, _ := readAll(t, q); len(again) != n {
		t.Fatalf("after resends the stream holds %d messages, want %d", len(again), n)
	}
}

// TestEnvelopeOneIdentity: a corrected message under the same MSH-10 never
// shares an envelope with the first, so that the registry can tell a
// correction from a redelivery by their stream sequences.
func TestEnvelopeOneIdentity(t *testing.T) {
	q := openQueue(t, Config{DataDir: t.TempDir()})
	ctx := context.Background()
	var wg sync.WaitGroup
	const versions = 40
	for v := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := testMessage(1)
			m.Body = append(m.Body, fmt.Sprintf("PID|%d\r", v)...)
			if _, err := q.Publish(ctx, m); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, _ := q.js.Stream(ctx, q.cfg.Stream)
	info, _ := st.Info(ctx)
	if info.State.Msgs != versions {
		t.Fatalf("%d stream messages for %d versions of one MSH-10", info.State.Msgs, versions)
	}
}

// TestCoalesceOff: Coalesce 1 stores every message on its own subject with
// its de-duplication id, whatever the concurrency.
func TestCoalesceOff(t *testing.T) {
	q := openQueue(t, Config{DataDir: t.TempDir(), Coalesce: 1})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := q.Publish(ctx, testMessage(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, envelopes := readAll(t, q)
	if envelopes != 0 || len(got) != 200 {
		t.Fatalf("%d envelopes, %d messages", envelopes, len(got))
	}
}

// TestCoalescedPublishQueueDown: when the server is gone, every waiting
// publish fails within about the publish timeout; none reports success.
func TestCoalescedPublishQueueDown(t *testing.T) {
	q, err := Open(context.Background(), Config{DataDir: t.TempDir(), PublishTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.shutdownServer()
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ack, err := q.Publish(ctx, testMessage(i)); err == nil {
				t.Errorf("publish %d succeeded with the server gone: %+v", i, ack)
			}
		}()
	}
	wg.Wait()
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("publishes took %v to fail", el)
	}
}

// TestClosedQueuePublish: a publish after Close fails at once.
func TestClosedQueuePublish(t *testing.T) {
	q, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := q.Publish(ctx, testMessage(1)); err == nil {
		t.Fatal("publish on a closed queue succeeded")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish on a closed queue waited for its deadline: %v", err)
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	msgs := []*Message{testMessage(1), testMessage(2), {Kind: "rejected", Received: time.Unix(0, 0).UTC(), Body: []byte{}}}
	msgs[1].Resend = "operator"
	msgs[1].AckBody = nil
	plain, packed := envelopeEncoder{plain: true}, envelopeEncoder{}
	v1, v2 := slices.Clone(plain.encode(msgs)), slices.Clone(packed.encode(msgs))
	if v1[0] != envelopeVersion || v2[0] != envelopeS2 || len(v2) >= len(v1) {
		t.Fatalf("envelopes of version %d (%d bytes) and %d (%d bytes)", v1[0], len(v1), v2[0], len(v2))
	}
	// Envelopes of both versions are read, whatever the queue writes now.
	for name, env := range map[string][]byte{"version 1": v1, "version 2": v2} {
		got, err := readEnvelope(env)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(msgs) {
			t.Fatalf("%s: %d messages", name, len(got))
		}
		for i, w := range msgs {
			g := got[i]
			if g.Kind != w.Kind || g.Facility != w.Facility || g.ControlID != w.ControlID || !g.Received.Equal(w.Received) ||
				g.Resend != w.Resend || !bytes.Equal(g.Body, w.Body) || !bytes.Equal(g.AckBody, w.AckBody) || g.Issues != w.Issues {
				t.Fatalf("%s: message %d: %+v, want %+v", name, i, g, *w)
			}
			if envelopeSize(w) < len(appendEnvelope(nil, []*Message{w}))-1 {
				t.Fatalf("envelopeSize(%d) = %d below its encoding", i, envelopeSize(w))
			}
		}
	}
	huge := append([]byte{envelopeS2}, binary.AppendUvarint(nil, maxEnvelopeBytes+1)...)
	for _, bad := range [][]byte{nil, {}, {3}, {envelopeS2}, {envelopeS2, 5, 'a'}, huge, v2[:len(v2)/2], {envelopeVersion}, {envelopeVersion, 5, 'a'}, appendEnvelope(nil, msgs)[:40]} {
		if _, err := readEnvelope(bad); err == nil {
			t.Errorf("readEnvelope(%q) accepted", bad)
		}
	}
}

func FuzzReadEnvelope(f *testing.F) {
	f.Add(appendEnvelope(nil, []*Message{testMessage(1), testMessage(2)}))
	var enc envelopeEncoder
	f.Add(slices.Clone(enc.encode([]*Message{testMessage(1), testMessage(2)})))
	f.Add([]byte{envelopeVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, err := readEnvelope(data)
		if err != nil {
			return
		}
		ptrs := make([]*Message, len(msgs))
		for i := range msgs {
			ptrs[i] = &msgs[i]
		}
		for _, env := range [][]byte{appendEnvelope(nil, ptrs), enc.encode(ptrs)} {
			again, err := readEnvelope(env)
			if err != nil || len(again) != len(msgs) {
				t.Fatalf("re-encoding: %v, %d of %d", err, len(again), len(msgs))
			}
			for i := range msgs {
				if !bytes.Equal(again[i].Body, msgs[i].Body) || again[i].ControlID != msgs[i].ControlID {
					t.Fatalf("message %d changed", i)
				}
			}
		}
	})
}

// TestPublishAll: a batch file's messages are stored in order, in
// envelopes of at most Coalesce, a second version of one MSH-10 in the
// next envelope, resends answered from memory; with the server gone every
// message fails.
func TestPublishAll(t *testing.T) {
	q := openQueue(t, Config{DataDir: t.TempDir(), Coalesce: 8})
	ctx := context.Background()
	var msgs []*Message
	for i := range 20 {
		msgs = append(msgs, testMessage(i))
	}
	v2 := testMessage(3)
	v2.Body = append(v2.Body, "PID|2\r"...)
	msgs = append(msgs[:5], append([]*Message{v2}, msgs[5:]...)...)
	acks, errs := q.PublishAll(ctx, msgs)
	for i := range msgs {
		if errs[i] != nil || acks[i].Duplicate {
			t.Fatalf("message %d: %+v %v", i, acks[i], errs[i])
		}
	}
	got, envelopes := readAll(t, q)
	if len(got) != len(msgs) || envelopes < 3 {
		t.Fatalf("%d messages in %d envelopes", len(got), envelopes)
	}
	for i := range msgs {
		if got[i].ControlID != msgs[i].ControlID || !bytes.Equal(got[i].Body, msgs[i].Body) {
			t.Fatalf("message %d out of order: %s", i, got[i].ControlID)
		}
	}
	if acks[3].Sequence == acks[5].Sequence {
		t.Error("two versions of one MSH-10 share an envelope")
	}
	acks2, errs2 := q.PublishAll(ctx, msgs)
	for i := range msgs {
		if errs2[i] != nil || !acks2[i].Duplicate || acks2[i].Sequence != acks[i].Sequence {
			t.Fatalf("resend %d: %+v %v", i, acks2[i], errs2[i])
		}
	}

	down, err := Open(ctx, Config{DataDir: t.TempDir(), PublishTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	down.shutdownServer()
	_, errs3 := down.PublishAll(ctx, msgs)
	for i, err := range errs3 {
		if err == nil {
			t.Fatalf("message %d queued with the server gone", i)
		}
	}
}

// TestCoalesceWaitSerial: one sender publishing message after message is
// never held back waiting for company, however long CoalesceWait is: each
// of its messages is stored at once, on its own.
func TestCoalesceWaitSerial(t *testing.T) {
	q := openQueue(t, Config{DataDir: t.TempDir(), CoalesceWait: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 50
	for i := range n {
		if _, err := q.Publish(ctx, testMessage(i)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	got, envelopes := readAll(t, q)
	if len(got) != n || envelopes != 0 {
		t.Fatalf("%d messages in %d envelopes, want %d alone", len(got), envelopes, n)
	}
}

// TestCoalesceWaitGathers: under steady traffic from many senders a
// flusher waits for company, so that the stream holds few publishes of
// many messages rather than alternating full envelopes and lone messages.
func TestCoalesceWaitGathers(t *testing.T) {
	for _, wait := range []time.Duration{-1, 20 * time.Millisecond} {
		q := openQueue(t, Config{DataDir: t.TempDir(), CoalesceWait: wait})
		ctx := context.Background()
		// The senders share the messages, so that all keep sending until
		// the last few: none is left to send alone at the end.
		const senders, n = 32, 1280
		var next atomic.Int64
		var wg sync.WaitGroup
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					if _, err := q.Publish(ctx, testMessage(i)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		got, envelopes := readAll(t, q)
		st, _ := q.js.Stream(ctx, q.cfg.Stream)
		info, _ := st.Info(ctx)
		t.Logf("wait %v: %d messages in %d stream messages (%d envelopes)", wait, len(got), info.State.Msgs, envelopes)
		if len(got) != n {
			t.Fatalf("%d messages stored, want %d", len(got), n)
		}
		// Without waiting, 40-60 of the 1,280 usually went alone in our
		// runs (up to 376); waiting, 1-4.
		if lone := int(info.State.Msgs) - envelopes; wait > 0 && lone > 16 {
			t.Errorf("waiting %v: %d messages stored alone, want at most 16", wait, lone)
		}
	}
}

// TestRecentIDs: a stored id is remembered for at least half the window
// and at most the whole window, and each generation holds at most max ids.
func TestRecentIDs(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	now := t0
	r := newRecentIDs(time.Minute, 10)
	r.now = func() time.Time { return now }
	r.since = t0
	at := func(d time.Duration) { now = t0.Add(d) }
	r.add(7, "a", "b")
	r.add(8, "", "c")
	for _, tt := range []struct {
		at   time.Duration
		id   string
		seq  uint64
		seen bool
	}{
		{0, "a", 7, true},
		{0, "c", 8, true},
		{0, "", 0, false},
		{0, "x", 0, false},
		{29 * time.Second, "b", 7, true},
		{31 * time.Second, "b", 7, true}, // rotated: the older generation
		{59 * time.Second, "a", 7, true},
		{62 * time.Second, "a", 0, false}, // two rotations: forgotten
	} {
		at(tt.at)
		if seq, ok := r.lookup(tt.id); ok != tt.seen || seq != tt.seq {
			t.Errorf("at %v lookup(%q) = %d, %v; want %d, %v", tt.at, tt.id, seq, ok, tt.seq, tt.seen)
		}
	}
	// A full generation rotates at the next use: max 3 a generation.
	r = newRecentIDs(time.Minute, 3)
	r.now = func() time.Time { return now }
	r.add(1, "p", "q", "r")
	r.add(2, "s")
	r.add(3, "u")
	if _, ok := r.lookup("p"); !ok {
		t.Error("p forgotten after one rotation")
	}
	r.add(4, "v", "w", "y")
	r.add(5, "z")
	if _, ok := r.lookup("p"); ok {
		t.Error("p remembered past two full generations")
	}
}
