package queue

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iisproject/iis/internal/cputime"
	"github.com/iisproject/iis/synth"
)

// externalURL is the machine's NATS with JetStream; tests use their own
// stream and subject names on it.
func externalURL(t *testing.T) string {
	url := os.Getenv("IIS_TEST_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		t.Fatalf("the external NATS at %s is required for this test (start it, or set IIS_TEST_NATS_URL): %v", url, err)
	}
	nc.Close()
	return url
}

// uniqueConfig names streams and subjects after the test so runs never
// collide on a shared server.
func uniqueConfig(t *testing.T, url string) Config {
	n := fmt.Sprintf("T%d", time.Now().UnixNano())
	return Config{
		URL:        url,
		DataDir:    t.TempDir(),
		Stream:     "IIS_TEST_" + n,
		DeadStream: "IIS_TEST_DEAD_" + n,
		Subject:    "iistest." + n,
	}
}

func openQueue(t *testing.T, cfg Config) *Queue {
	t.Helper()
	q, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cfg.URL != "" {
			ctx := context.Background()
			_ = q.js.DeleteStream(ctx, cfg.Stream)
			_ = q.js.DeleteStream(ctx, cfg.DeadStream)
		}
		q.Close()
	})
	return q
}

func testPublishDedupe(t *testing.T, q *Queue) {
	ctx := context.Background()
	m := &Message{Kind: "vxu", Facility: "CLINIC.A 1", ControlID: "MSG-1", Transport: "mllp", Type: "VXU", Ack: "AA", Received: time.Now(), Body: []byte("MSH|^~\\&|...")}
	a1, err := q.Publish(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if a1.Duplicate || a1.Sequence == 0 {
		t.Fatalf("first publish: %+v", a1)
	}
	a2, err := q.Publish(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if !a2.Duplicate || a2.Sequence != a1.Sequence {
		t.Fatalf("resend not de-duplicated: %+v then %+v", a1, a2)
	}
	// Same control ID from another facility is another message.
	other := *m
	other.Facility = "CLINIC B"
	a3, err := q.Publish(ctx, &other)
	if err != nil || a3.Duplicate {
		t.Fatalf("other facility: %+v %v", a3, err)
	}
	// A corrected message under the same MSH-10 (a different body), and the
	// same message accepted after a configuration change (another ACK
	// code), are new messages: dropping them would lose what was accepted.
	corrected := *m
	corrected.Body = []byte("MSH|^~\\&|...corrected")
	reaccepted := *m
	reaccepted.Ack = "AE"
	for _, c := range []*Message{&corrected, &reaccepted} {
		a, err := q.Publish(ctx, c)
		if err != nil || a.Duplicate {
			t.Fatalf("%q %s: %+v %v", c.Body, c.Ack, a, err)
		}
	}
	st, err := q.js.Stream(ctx, q.cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 4 {
		t.Fatalf("stream holds %d messages, want 4", info.State.Msgs)
	}
	got, err := st.GetMsg(ctx, a1.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != q.cfg.Subject+".vxu.CLINIC_A_1" || got.Header.Get(HeaderControlID) != "MSG-1" || got.Header.Get(HeaderFacility) != "CLINIC.A 1" || string(got.Data) != string(m.Body) {
		t.Fatalf("stored message: %s %v %q", got.Subject, got.Header, got.Data)
	}
}

func TestEmbeddedPublishDedupe(t *testing.T) {
	q := openQueue(t, Config{DataDir: t.TempDir()})
	testPublishDedupe(t, q)
}

func TestExternalPublishDedupe(t *testing.T) {
	cfg := uniqueConfig(t, externalURL(t))
	q := openQueue(t, cfg)
	testPublishDedupe(t, q)
	// Another listener process (its own connection, none of the first
	// one's memory) resending the first message: JetStream's duplicate
	// window drops it.
	q2, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	m := &Message{Kind: "vxu", Facility: "CLINIC.A 1", ControlID: "MSG-1", Transport: "mllp", Type: "VXU", Ack: "AA", Received: time.Now(), Body: []byte("MSH|^~\\&|...")}
	if a, err := q2.Publish(context.Background(), m); err != nil || !a.Duplicate {
		t.Fatalf("resend through another connection: %+v %v", a, err)
	}
}

// TestEmbeddedSurvivesRestart: what was acknowledged is still there after
// the embedded server stops and starts again on the same directory.
func TestEmbeddedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := q.Publish(context.Background(), &Message{Kind: "vxu", Facility: "F", ControlID: fmt.Sprint(i), Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	q2 := openQueue(t, Config{DataDir: dir})
	info, err := q2.js.Stream(context.Background(), "IIS_INGEST")
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 10 {
		t.Fatalf("%d messages after restart, want 10", n)
	}
}

// TestPublishFailsWhenServerGone: with NATS down a publish fails within
// the timeout instead of hanging or pretending success.
func TestPublishFailsWhenServerGone(t *testing.T) {
	q := openQueue(t, Config{DataDir: t.TempDir(), PublishTimeout: 300 * time.Millisecond})
	q.srv.Shutdown()
	q.srv.WaitForShutdown()
	start := time.Now()
	_, err := q.Publish(context.Background(), &Message{Kind: "vxu", Facility: "F", ControlID: "1", Body: []byte("x")})
	if err == nil {
		t.Fatal("publish succeeded with the server down")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("publish took %v to fail", d)
	}
	if q.Healthy() {
		t.Error("Healthy with the server down")
	}
}

// TestReplicasNotLowered: opening a stream that has more replicas than
// configured keeps them (checked on a single server: R1 is the floor, so
// the test lowers the configured value below the stream's own).
func TestReplicasNotLowered(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, Config{DataDir: dir})
	st, err := q.createOrUpdate(context.Background(), jetstream.StreamConfig{Name: "R_TEST", Subjects: []string{"rtest.>"}, Replicas: 1})
	if err != nil || st.CachedInfo().Config.Replicas != 1 {
		t.Fatalf("%v", err)
	}
	// Asking for 0 (the NATS default) must not change an explicit 1.
	st, err = q.createOrUpdate(context.Background(), jetstream.StreamConfig{Name: "R_TEST", Subjects: []string{"rtest.>"}, Replicas: 0})
	if err != nil || st.CachedInfo().Config.Replicas != 1 {
		t.Fatalf("replicas %d, %v", st.CachedInfo().Config.Replicas, err)
	}
}

func TestToken(t *testing.T) {
	for in, want := range map[string]string{"": "_", "ABC-1_x": "ABC-1_x", "a.b*c>d e": "a_b_c_d_e"} {
		if got := token(in); got != want {
			t.Errorf("token(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Redact("nats://user:pw@host:4222,nats://u2:p2@h2:4222,nats://h3:4222"); got != "nats://***@host:4222,nats://***@h2:4222,nats://h3:4222" {
		t.Errorf("Redact = %q", got)
	}
}

func BenchmarkPublish(b *testing.B) {
	q, err := Open(context.Background(), Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	body := make([]byte, 1500)
	b.SetBytes(int64(len(body)))
	b.SetParallelism(16) // many senders in flight, as with many MLLP connections
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		id := fmt.Sprintf("%p", pb)
		for pb.Next() {
			i++
			if _, err := q.Publish(context.Background(), &Message{Kind: "vxu", Facility: "F", ControlID: fmt.Sprint(id, i), Body: body}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPublishEnvelope stores envelopes of k synthetic VXUs, one
// publish at a time, and reports the process CPU (client, embedded server
// and store) per publish and per message: the fixed cost of a publish
// against what each message adds, which is why the coalescer waits for
// company under load; and what S2 compression changes (the queue
// compresses; without it, version 1).
func BenchmarkPublishEnvelope(b *testing.B) {
	all := synth.New(synth.Config{Seed: 9}).Take(2000)
	ack := []byte("MSH|^~\\&|IIS|STATE|EHR|CLINIC|20260101||ACK^V04^ACK|1|P|2.5.1\rMSA|AA|1\r")
	for _, run := range []struct {
		k        int
		compress bool
	}{{1, false}, {4, false}, {16, false}, {64, false}, {16, true}, {64, true}} {
		k := run.k
		name := fmt.Sprint(k)
		if run.compress {
			name += "/s2"
		}
		b.Run(name, func(b *testing.B) {
			q, err := Open(context.Background(), Config{DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			enc := envelopeEncoder{plain: !run.compress}
			msgs := make([]*Message, k)
			i := 0
			cpu := cputime.Process()
			for b.Loop() {
				for j := range msgs {
					s := all[i%len(all)]
					i++
					msgs[j] = &Message{Kind: "vxu", Facility: s.Facility, ControlID: strconv.Itoa(i), Body: s.Body, AckBody: ack}
				}
				if _, err := q.publishEnvelope(context.Background(), msgs, &enc); err != nil {
					b.Fatal(err)
				}
			}
			if cpu := cputime.Process() - cpu; cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/publish")
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*k), "cpu-µs/msg")
			}
		})
	}
}

// TestParsePubAck: the stream's answers to a publish, as nats-server
// writes them, read by hand or through encoding/json alike.
func TestParsePubAck(t *testing.T) {
	tests := []struct {
		data    string
		want    PubAck
		wantErr bool
	}{
		{`{"stream":"IIS_INGEST","seq":42}`, PubAck{Sequence: 42}, false},
		{`{"stream":"IIS_INGEST","seq":42,"duplicate": true}`, PubAck{Sequence: 42, Duplicate: true}, false},
		{`{"stream":"IIS_INGEST","seq":42,"duplicate":true}`, PubAck{Sequence: 42, Duplicate: true}, false},
		{`{"stream":"IIS_INGEST","domain":"hub","seq":7}`, PubAck{Sequence: 7}, false},
		{`{"stream":"IIS_INGEST", "seq": 9, "duplicate": true}`, PubAck{Sequence: 9, Duplicate: true}, false},
		{`{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"IIS_INGEST","seq":0}`, PubAck{}, true},
		{`{"error":{"code":400,"err_code":10060,"description":"expected stream does not match"}}`, PubAck{}, true},
		{`{"stream":"","seq":3}`, PubAck{}, true},
		{`{"stream":"IIS_INGEST","seq":18446744073709551616}`, PubAck{}, true},
		{`not json`, PubAck{}, true},
		{``, PubAck{}, true},
	}
	for _, tt := range tests {
		got, err := parsePubAck([]byte(tt.data))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parsePubAck(%s) = %+v, %v; want %+v, error %v", tt.data, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestPublishStreamError: an error the stream answers with (here: the
// stream is full and refuses new messages) fails the publish.
func TestPublishStreamError(t *testing.T) {
	q := openQueue(t, Config{DataDir: t.TempDir()})
	ctx := context.Background()
	cfg, err := q.js.Stream(ctx, q.cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.CachedInfo().Config
	sc.MaxMsgs, sc.Discard = 1, jetstream.DiscardNew
	if _, err := q.js.UpdateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	m := &Message{Kind: "vxu", Facility: "F", ControlID: "1", Ack: "AA", Received: time.Now(), Body: []byte("MSH|^~\\&|1")}
	if _, err := q.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	m2 := *m
	m2.ControlID = "2"
	if _, err := q.Publish(ctx, &m2); err == nil || !strings.Contains(err.Error(), "maximum messages") {
		t.Fatalf("publish to a full stream: %v", err)
	}
}
