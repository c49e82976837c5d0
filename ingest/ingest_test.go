package ingest

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/queue"
)

const samples = "../testdata/hl7/samples/"

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(samples + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var testNow = func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

type fixture struct {
	h   *Handler
	q   *queue.Queue
	m   *Metrics
	reg *prometheus.Registry
}

func newFixture(t testing.TB, qcfg queue.Config) *fixture {
	t.Helper()
	if qcfg.DataDir == "" {
		qcfg.DataDir = t.TempDir()
	}
	q, err := queue.Open(context.Background(), qcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	h := New(Config{Validator: immz.New(immz.Config{Now: testNow}), Queue: q, Metrics: m, Now: testNow})
	return &fixture{h: h, q: q, m: m, reg: reg}
}

func (f *fixture) streamMsgs(t *testing.T) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	st, err := f.q.JetStream().Stream(ctx, f.q.Config().Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// queued returns the received messages in the stream, in order,
// envelopes unpacked.
func (f *fixture) queued(t *testing.T) []queue.Message {
	t.Helper()
	var out []queue.Message
	for _, m := range f.streamMsgs(t) {
		msgs, err := f.q.Unpack(m.Subject, m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msgs...)
	}
	return out
}

func parse(t *testing.T, b []byte) *hl7.Message {
	t.Helper()
	m, err := hl7.Parse(b)
	if err != nil {
		t.Fatalf("reply does not parse: %v\n%q", err, b)
	}
	return m
}

func TestAcceptedIsQueuedThenAcked(t *testing.T) {
	f := newFixture(t, queue.Config{})
	ctx := WithSource(context.Background(), Source{Transport: "mllp"})
	msg := sample(t, "nist/vxu_z22_nist_iz001_child_flu_ndc_vfc_v05_vis.hl7")
	ack := parse(t, f.h.ServeHL7(ctx, msg))
	if !ack.Get("MSA-1").Equal("AA") || !ack.Get("MSA-2").Equal("NIST-IZ-001.00") || !ack.Get("MSH-9").Equal("ACK^V04^ACK") || !ack.Get("MSH-21.1").Equal("Z23") {
		t.Fatalf("ACK: %q", ack.Bytes())
	}
	// The ACK swaps sender and receiver.
	if !ack.Get("MSH-5").Equal("Test EHR Application") || !ack.Get("MSH-6").Equal("X68") || !ack.Get("MSH-4").Equal("NIST Test Iz Reg") {
		t.Errorf("ACK MSH routing: %q", ack.MSH().Bytes())
	}
	msgs := f.streamMsgs(t)
	if len(msgs) != 1 || string(msgs[0].Data) != string(msg) || msgs[0].Header.Get(queue.HeaderFacility) != "X68" || msgs[0].Header.Get(queue.HeaderAck) != "AA" || !strings.Contains(msgs[0].Subject, ".vxu.X68") {
		t.Fatalf("queued: %d", len(msgs))
	}
	// A resend of the same MSH-10 is acknowledged the same and stored once.
	ack2 := parse(t, f.h.ServeHL7(ctx, msg))
	if !ack2.Get("MSA-1").Equal("AA") {
		t.Errorf("resend ACK %q", ack2.Get("MSA-1").String())
	}
	if n := len(f.streamMsgs(t)); n != 1 {
		t.Errorf("resend queued again: %d messages", n)
	}
	if got := testutil.ToFloat64(f.m.messages.WithLabelValues("mllp", "X68", "VXU", "AA")); got != 2 {
		t.Errorf("iis_messages_total = %v", got)
	}
}

func TestExternalQueue(t *testing.T) {
	n := time.Now().UnixNano()
	cfg := queue.Config{URL: "nats://127.0.0.1:4222", Stream: "IIS_INGEST_TEST_" + itoa(n), DeadStream: "IIS_DEAD_TEST_" + itoa(n), Subject: "iisingesttest." + itoa(n)}
	f := newFixture(t, cfg)
	t.Cleanup(func() {
		_ = f.q.JetStream().DeleteStream(context.Background(), cfg.Stream)
		_ = f.q.JetStream().DeleteStream(context.Background(), cfg.DeadStream)
	})
	ack := parse(t, f.h.ServeHL7(context.Background(), sample(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")))
	if !ack.Get("MSA-1").Equal("AA") || len(f.streamMsgs(t)) != 1 {
		t.Fatalf("ACK %q", ack.Bytes())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestQueueDownMeansResend(t *testing.T) {
	f := newFixture(t, queue.Config{PublishTimeout: 300 * time.Millisecond})
	f.q.Close() // NATS gone
	ack := parse(t, f.h.ServeHL7(context.Background(), sample(t, "nist/vxu_z22_nist_iz001_child_flu_ndc_vfc_v05_vis.hl7")))
	if !ack.Get("MSA-1").Equal("AR") {
		t.Fatalf("MSA-1 %q with the queue down; must never be AA", ack.Get("MSA-1").String())
	}
	if !ack.Get("ERR-3.1").Equal("207") || !strings.Contains(ack.Get("ERR-8").String(), "send it again") {
		t.Errorf("ERR %q", ack.Get("ERR").String())
	}
	if got := testutil.ToFloat64(f.m.publishErr); got != 1 {
		t.Errorf("publish failures = %v", got)
	}
}

func TestRejectedIsStoredAsRejected(t *testing.T) {
	f := newFixture(t, queue.Config{})
	ack := parse(t, f.h.ServeHL7(context.Background(), sample(t, "gathered/other/vxu_v28_ms_fhir_converter_all_segments_MSH12_2.8.hl7")))
	if !ack.Get("MSA-1").Equal("AR") || !ack.Get("ERR-3.1").Equal("203") {
		t.Fatalf("ACK %q", ack.Bytes())
	}
	msgs := f.streamMsgs(t)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, ".rejected.") || msgs[0].Header.Get(queue.HeaderAck) != "AR" {
		t.Fatalf("rejected message not kept for operators")
	}
	// Unparseable input still gets an ACK.
	ack = parse(t, f.h.ServeHL7(context.Background(), []byte("this is not HL7")))
	if !ack.Get("MSA-1").Equal("AR") || !ack.Get("MSA-2").IsEmpty() {
		t.Errorf("garbage ACK %q", ack.Bytes())
	}
}

func TestQueriesDisabled(t *testing.T) {
	f := newFixture(t, queue.Config{})
	ack := parse(t, f.h.ServeHL7(context.Background(), sample(t, "qbp-z44-nist-qr-1.1.hl7")))
	if !ack.Get("MSA-1").Equal("AR") || !ack.Get("ERR-3.1").Equal("200") || !ack.Get("MSH-9.2").Equal("Q11") {
		t.Fatalf("ACK %q", ack.Bytes())
	}
}

func TestBatch(t *testing.T) {
	f := newFixture(t, queue.Config{})
	one := string(sample(t, "nist/vxu_z22_nist_iz001_child_flu_ndc_vfc_v05_vis.hl7"))
	two := strings.Replace(string(sample(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")), "45646ug", "B-2", 1)
	bad := strings.Replace(one, "NIST-IZ-001.00", "B-3", 1)
	bad = strings.Replace(bad, "|2.5.1|", "|2.3|", 1)
	batch := "FHS|^~\\&|EHR|CLINIC|IIS|STATE|20260101||||F-1\rBHS|^~\\&|EHR|CLINIC|IIS|STATE|20260101||||B-1\r" +
		one + two + bad + "BTS|4\rFTS|1\r"
	reply := f.h.ServeHL7(context.Background(), []byte(batch))
	b, err := hl7.SplitBatch(reply)
	if err != nil {
		t.Fatal(err)
	}
	if !b.FileHeader.Is("FHS") || !b.FileHeader.Field(12).Equal("F-1") || !b.Groups[0].Header.Field(12).Equal("B-1") {
		t.Errorf("reply envelope: %q", reply)
	}
	acks := b.Messages()
	if len(acks) != 3 {
		t.Fatalf("%d ACKs for 3 messages", len(acks))
	}
	want := [][2]string{{"AA", "NIST-IZ-001.00"}, {"AA", "B-2"}, {"AR", "B-3"}}
	for i, a := range acks {
		m := parse(t, a)
		if !m.Get("MSA-1").Equal(want[i][0]) || !m.Get("MSA-2").Equal(want[i][1]) {
			t.Errorf("ACK %d: %s %s", i+1, m.Get("MSA-1").String(), m.Get("MSA-2").String())
		}
	}
	if !b.Groups[0].Trailer.Field(1).Equal("3") || !strings.Contains(b.FileTrailer.Field(2).String(), "BTS-1 batch message count is 4 but there are 3") {
		t.Errorf("trailers: %q / %q", b.Groups[0].Trailer.Bytes(), b.FileTrailer.Bytes())
	}
	if len(b.Problems) != 0 {
		t.Errorf("our reply's own envelope is inconsistent: %v", b.Problems)
	}
	// Queued together, in the file's order, each with its own ACK.
	if n := len(f.streamMsgs(t)); n != 1 {
		t.Errorf("batch queued in %d stream messages, want one envelope", n)
	}
	q := f.queued(t)
	if len(q) != 3 {
		t.Fatalf("%d queued", len(q))
	}
	for i, m := range q {
		if m.ControlID != want[i][1] || m.Ack != want[i][0] || !strings.Contains(string(m.AckBody), "MSA|"+want[i][0]+"|"+want[i][1]) {
			t.Errorf("queued %d: %s %s %q", i+1, m.ControlID, m.Ack, m.AckBody)
		}
	}
	if q[2].Kind != "rejected" || q[0].Kind != "vxu" {
		t.Errorf("kinds %s %s %s", q[0].Kind, q[1].Kind, q[2].Kind)
	}
	// The same file again: every message is a resend, answered the same,
	// queued nothing more.
	again, err := hl7.SplitBatch(f.h.ServeHL7(context.Background(), []byte(batch)))
	if err != nil || len(again.Messages()) != 3 {
		t.Fatalf("resent batch: %v", err)
	}
	for i, a := range again.Messages() {
		if m := parse(t, a); !m.Get("MSA-1").Equal(want[i][0]) {
			t.Errorf("resent ACK %d: %s", i+1, m.Get("MSA-1").String())
		}
	}
	if n := len(f.queued(t)); n != 3 {
		t.Errorf("after the resend %d queued", n)
	}
}

// answerAll is a query handler that is never reached by a malformed query.
type answerAll struct{ t *testing.T }

func (a answerAll) Answer(context.Context, *immz.Result, Source) []byte {
	a.t.Fatal("a malformed query reached the query handler")
	return nil
}

// TestMalformedQuery: a QBP without QPD-2 gets the IG's RSP Z33 with MSA AE,
// ERR QPD^1^2 and QAK AE — not an ACK, and not the query service.
func TestMalformedQuery(t *testing.T) {
	f := newFixture(t, queue.Config{})
	f.h.qh = answerAll{t}
	m := parse(t, f.h.ServeHL7(context.Background(), sample(t, "cdc-ig/pair_ig_qbp_error/1_qbp_z34_missing_query_tag_qpd2.hl7")))
	if !m.Get("MSH-9.1").Equal("RSP") || !m.Get("MSH-21.1").Equal("Z33") || !m.Get("MSA-1").Equal("AE") || !m.Get("QAK-2").Equal("AE") {
		t.Fatalf("reply %q", m.Bytes())
	}
	found := false
	for i := 1; i <= m.Count("ERR"); i++ {
		e, _ := m.Segment("ERR", i)
		found = found || e.Field(2).Equal("QPD^1^2")
	}
	if !found {
		t.Errorf("no ERR at QPD^1^2: %q", m.Bytes())
	}
}
