package worker_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/synth"
	"github.com/iisproject/iis/worker"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type env struct {
	q     *queue.Queue
	store *registry.Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvURL(t, pgtest.NewDatabase(t))
}

// newEnvURL is newEnv on an existing database.
func newEnvURL(t testing.TB, url string) *env {
	t.Helper()
	ctx := context.Background()
	q, err := queue.Open(ctx, queue.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	s, err := registry.Open(ctx, registry.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &env{q: q, store: s}
}

// start runs a worker until the test ends.
func (e *env) start(t testing.TB, cfg worker.Config) *worker.Worker {
	t.Helper()
	cfg.Queue, cfg.Store = e.q, e.store
	if cfg.FetchWait == 0 {
		cfg.FetchWait = 100 * time.Millisecond
	}
	w, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := w.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return w
}

var validator = immz.New(immz.Config{})

// publish queues raw as ingest would.
func (e *env) publish(t *testing.T, raw []byte) *queue.Message {
	t.Helper()
	r := validator.Decode(raw)
	kind := "vxu"
	if r.Rejected() || r.Kind != immz.KindVXU {
		kind = "rejected"
	}
	fac := r.Header.SendingFacility.Name
	m := &queue.Message{Kind: kind, Facility: fac, ControlID: r.Header.ControlID, Transport: "mllp",
		Type: "VXU", Ack: validator.AckCode(r), Received: time.Now(), Body: raw,
		Issues: immz.Summary(r.Issues), AckBody: validator.Ack(r)}
	if _, err := e.q.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// republish queues m again under a new JetStream message id, as a resend
// after the duplicate window would be.
func (e *env) republish(t *testing.T, m *queue.Message) {
	t.Helper()
	cfg := e.q.Config()
	msg := &nats.Msg{Subject: cfg.Subject + "." + m.Kind + "." + m.Facility, Data: m.Body, Header: nats.Header{}}
	msg.Header.Set(queue.HeaderFacility, m.Facility)
	msg.Header.Set(queue.HeaderControlID, m.ControlID)
	msg.Header.Set(queue.HeaderReceived, time.Now().Format(time.RFC3339Nano))
	msg.Header.Set(queue.HeaderType, m.Type)
	msg.Header.Set(queue.HeaderAck, m.Ack)
	if _, err := e.q.JetStream().PublishMsg(context.Background(), msg, jetstream.WithMsgID("again-"+m.ID())); err != nil {
		t.Fatal(err)
	}
}

// drain waits until the worker's consumer has nothing pending or unacked.
func (e *env) drain(t testing.TB, durable string) {
	t.Helper()
	e.drainWithin(t, durable, 45*time.Second)
}

func (e *env) drainWithin(t testing.TB, durable string, limit time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	// The consumer's pending count follows a publish asynchronously: the
	// stream must look drained on two polls in a row.
	quiet := 0
	for time.Now().Before(deadline) {
		c, err := e.q.JetStream().Consumer(ctx, e.q.Config().Stream, durable)
		if err == nil {
			info, err := c.Info(ctx)
			if err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
				if quiet++; quiet == 2 {
					return
				}
			} else {
				quiet = 0
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("worker did not drain the stream")
}

func (e *env) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (e *env) snapshot(t *testing.T) [6]int {
	var s [6]int
	for i, tbl := range []string{"patients", "source_reports", "source_vaccinations", "vaccination_events", "patient_blocking_keys", "match_reviews"} {
		s[i] = e.count(t, "SELECT count(*) FROM "+tbl)
	}
	return s
}

func samples(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, dir := range []string{"nist", "cdc-ig", filepath.Join("gathered", "nist-onc-2015"), filepath.Join("gathered", "nist-2014")} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", "hl7", "samples", dir, "*.hl7"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("|VXU^V04")) {
				out[filepath.Base(f)] = b
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d VXU samples found", len(out))
	}
	return out
}

func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	w := e.start(t, worker.Config{BatchSize: 8})
	ids := map[string]bool{}
	var published []*queue.Message
	for _, raw := range samples(t) {
		m := e.publish(t, raw)
		ids[m.ID()] = true
		published = append(published, m)
	}
	// A message rejected whole (no PID) is kept in the message store only.
	for _, raw := range samples(t) {
		var segs []string
		for _, s := range strings.Split(string(raw), "\r") {
			if !strings.HasPrefix(s, "PID|") {
				segs = append(segs, s)
			}
		}
		noPID := strings.Join(segs, "\r")
		r := validator.Decode([]byte(noPID))
		m := &queue.Message{Kind: "rejected", Facility: "CLINIC_R", ControlID: "nopid-1", Type: "VXU", Ack: validator.AckCode(r), Received: time.Now(), Body: []byte(noPID)}
		if _, err := e.q.Publish(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		ids[m.ID()] = true
		published = append(published, m)
		break
	}
	e.drain(t, "registry")
	if got := e.count(t, `SELECT count(*) FROM source_reports`); got != len(ids) {
		t.Errorf("source_reports = %d, want %d (one per facility and MSH-10)", got, len(ids))
	}
	if got := e.count(t, `SELECT count(*) FROM message_store WHERE kind = 'rejected'`); got == 0 {
		t.Errorf("no rejected message in the message store")
	}
	if got := e.count(t, `SELECT count(*) FROM source_vaccinations WHERE event_id IS NULL AND consolidation = 'winner'`); got != 0 {
		t.Errorf("%d winners without event", got)
	}
	// Katherine Benton: AD-3 reports her dose, AD-4 (same MSH-7) deletes it;
	// whichever arrived first.
	if got := e.count(t, `SELECT count(*) FROM vaccination_events e JOIN patients p ON p.id = e.patient_id
		WHERE p.family_name = 'Benton' AND p.given_name = 'Katherine'`); got != 0 {
		t.Errorf("Benton events = %d after the delete, want 0", got)
	}
	if got := e.count(t, `SELECT count(*) FROM patients WHERE family_name = 'Benton' AND given_name = 'Katherine'`); got != 1 {
		t.Errorf("Benton patients = %d, want 1", got)
	}
	if got := e.count(t, `SELECT count(*) FROM source_vaccinations WHERE completion_status = 'RE'`); got == 0 {
		t.Errorf("no refusal stored")
	}
	if w.Stats().Doses == 0 || w.Stats().Dead != 0 {
		t.Errorf("stats = %+v", w.Stats())
	}

	// Redelivery: every message again under new JetStream ids.
	before := e.snapshot(t)
	for _, m := range published {
		e.republish(t, m)
	}
	e.drain(t, "registry")
	if after := e.snapshot(t); after != before {
		t.Errorf("redelivered messages changed the registry: %v -> %v", before, after)
	}
	if got := w.Stats().Duplicates; got != int64(len(ids)) {
		t.Errorf("duplicates = %d, want %d", got, len(ids))
	}
}

// TestCrashBetweenCommitAndAck commits a message as the worker would and
// never acks it; after AckWait JetStream redelivers it to a worker, which
// must recognise it and change nothing.
func TestCrashBetweenCommitAndAck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	raw := samples(t)["vxu_z22_onc2015_iz_ad1_admin_child_ndc_vfc_vis_2_historical.hl7"]
	if raw == nil {
		t.Fatal("AD-1 sample missing")
	}
	// Create the durable, then play the crashed worker by hand.
	w0, err := worker.New(worker.Config{Queue: e.q, Store: e.store, AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_ = w0
	m := e.publish(t, raw)
	cons, err := e.q.JetStream().Consumer(ctx, e.q.Config().Stream, "registry")
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got jetstream.Msg
	for msg := range batch.Messages() {
		got = msg
	}
	if got == nil {
		t.Fatal("no message fetched")
	}
	res := validator.Decode(got.Data())
	rm := &registry.Message{Kind: "vxu", Facility: m.Facility, ControlID: m.ControlID, Received: m.Received, Raw: got.Data(), Decoded: res}
	tx, err := e.store.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Apply(ctx, tx, rm); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot(t)
	// The "crash": no ack. A new worker gets the redelivery after AckWait.
	w := e.start(t, worker.Config{AckWait: time.Second})
	e.drain(t, "registry")
	if after := e.snapshot(t); after != before {
		t.Errorf("redelivery after the crash changed the registry: %v -> %v", before, after)
	}
	if s := w.Stats(); s.Duplicates != 1 || s.Stored != 0 {
		t.Errorf("stats = %+v, want one duplicate", s)
	}
	if got := e.count(t, `SELECT count(*) FROM source_reports`); got != 1 {
		t.Errorf("source_reports = %d, want 1", got)
	}
}

func TestDeadLetters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w := e.start(t, worker.Config{MaxDeliver: 3, RetryDelay: 20 * time.Millisecond, BatchSize: 4})

	// A body that is not HL7 at all on the vxu subject: permanent.
	garbage := &queue.Message{Kind: "vxu", Facility: "CLINIC", ControlID: "junk-1", Received: time.Now(), Body: []byte("this is not HL7")}
	if _, err := e.q.Publish(ctx, garbage); err != nil {
		t.Fatal(err)
	}
	// A VXU whose patient name holds a NUL byte: the validator rejects it
	// (PostgreSQL could not store the name), so it is stored as rejected,
	// never dead-lettered.
	raw := samples(t)["vxu_z22_onc2015_iz_ad1_admin_child_ndc_vfc_vis_2_historical.hl7"]
	nul := bytes.Replace(raw, []byte("Richardson^Russell"), []byte("Richard\x00son^Russell"), 1)
	nm := e.publish(t, nul)
	if nm.Kind != "rejected" {
		t.Fatalf("a NUL in PID-5 was queued as %s", nm.Kind)
	}
	// A NUL in MSH-10: AR, and stored as rejected under MSH-10 with the
	// NUL written \x00; its raw bytes as received.
	nulID := bytes.Replace(raw, []byte("|12462|"), []byte("|124\x0062|"), 1)
	if m := e.publish(t, nulID); m.Kind != "rejected" || m.Ack != "AR" {
		t.Fatalf("a NUL in MSH-10 was queued as %s, %s", m.Kind, m.Ack)
	}
	// A message the database refuses on every delivery (see refuse):
	// dead-lettered after MaxDeliver.
	e.refuse(t, "POISON-1")
	pm := &queue.Message{Kind: "vxu", Facility: "CLINIC", ControlID: "POISON-1", Transport: "mllp", Type: "VXU", Ack: "AA",
		Received: time.Now(), Body: raw}
	if _, err := e.q.Publish(ctx, pm); err != nil {
		t.Fatal(err)
	}
	// A Latin-1 name under MSH-18 8859/1 is converted, not dead-lettered.
	latin := bytes.Replace(samples(t)["vxu_z22_onc2015_iz_ad4_child_delete_RXA21_D.hl7"], []byte("Benton^Katherine"), []byte("Ben\xe7ton^Katherine"), 1)
	latin = bytes.Replace(latin, []byte("|71892|P|2.5.1|||ER|AL|||||"), []byte("|71892L|P|2.5.1|||ER|AL||8859/1|||"), 1)
	e.publish(t, latin)
	// One queued as accepted by a listener that read such bytes as ISO
	// 8859-1 without MSH-18 (no listener accepts it now): stored as that
	// listener read it, not lost.
	old := bytes.Replace(samples(t)["vxu_z22_onc2015_iz_ad4_child_delete_RXA21_D.hl7"], []byte("Benton^Katherine"), []byte("Ben\xe7tan^Katherine"), 1)
	old = bytes.Replace(old, []byte("|71892|"), []byte("|71892O|"), 1)
	if _, err := e.q.Publish(ctx, &queue.Message{Kind: "vxu", Facility: "wcEHR", ControlID: "71892O", Transport: "mllp", Type: "VXU", Ack: "AA",
		Received: time.Now(), Body: old}); err != nil {
		t.Fatal(err)
	}
	// A good message behind them still goes through.
	good := e.publish(t, samples(t)["vxu_z22_onc2015_iz_ad6_child_update_RXA21_U.hl7"])

	e.drain(t, "registry")
	if got := e.count(t, `SELECT count(*) FROM patients WHERE family_name = 'Bençton'`); got != 1 {
		t.Errorf("Latin-1 name stored %d times, want 1", got)
	}
	if got := e.count(t, `SELECT count(*) FROM patient_names WHERE family = 'Bençtan'`); got != 1 {
		t.Errorf("Latin-1 name queued before MSH-18 was required stored %d times, want 1", got)
	}
	if got := e.count(t, `SELECT count(*) FROM source_reports WHERE control_id = $1`, good.ControlID); got != 1 {
		t.Errorf("good message stored %d times, want 1", got)
	}
	reasons := deadReasons(t, e)
	if r := reasons["junk-1"]; !strings.Contains(r, "unparseable") || !strings.Contains(r, "after 1 deliveries") {
		t.Errorf("garbage dead letter reason = %q", r)
	}
	if got := e.count(t, `SELECT count(*) FROM source_reports r JOIN message_bodies b ON b.report_id = r.id
		WHERE r.control_id = '124\x0062' AND r.kind = 'rejected' AND position('\x00'::bytea in b.raw) > 0`); got != 1 {
		t.Errorf("the message with a NUL in MSH-10 stored %d times as rejected, want 1", got)
	}
	if got := e.count(t, `SELECT count(*) FROM source_reports WHERE control_id = $1 AND kind = 'rejected'`, nm.ControlID); got != 1 {
		t.Errorf("the message with a NUL stored %d times as rejected, want 1", got)
	}
	if r := reasons[pm.ControlID]; r == "" || !strings.Contains(r, "after 3 deliveries") {
		t.Errorf("poison dead letter reason = %q (all: %v)", r, reasons)
	}
	if s := w.Stats(); s.Dead != 2 || s.Retried < 2 {
		t.Errorf("stats = %+v, want 2 dead and the poison retried", s)
	}
}

// TestWorkersShareDurable runs two workers on one durable consumer (as two
// processes would) over synthetic traffic with resends and second-clinic
// reports: every message is stored once, and the patients are the same as
// one worker would make of them.
func TestWorkersShareDurable(t *testing.T) {
	e := newEnv(t)
	gen := synth.New(synth.Config{Seed: 11})
	ids := map[string]bool{}
	for range 300 {
		m := gen.Next()
		r := validator.Decode(m.Body)
		kind := "vxu"
		if r.Rejected() {
			kind = "rejected"
		}
		qm := &queue.Message{Kind: kind, Facility: m.Facility, ControlID: m.ControlID, Received: time.Now(), Body: m.Body}
		if _, err := e.q.Publish(context.Background(), qm); err != nil {
			t.Fatal(err)
		}
		ids[qm.ID()] = true
	}
	w1 := e.start(t, worker.Config{BatchSize: 10, Concurrency: 2})
	w2 := e.start(t, worker.Config{BatchSize: 10, Concurrency: 2})
	e.drain(t, "registry")
	if got := e.count(t, `SELECT count(*) FROM source_reports`); got != len(ids) {
		t.Errorf("source_reports = %d, want %d", got, len(ids))
	}
	s1, s2 := w1.Stats(), w2.Stats()
	if s1.Stored+s2.Stored == 0 || s1.Dead+s2.Dead != 0 {
		t.Errorf("stats %+v %+v", s1, s2)
	}
	// Second-clinic reports link to the child already stored.
	if got := e.count(t, `SELECT count(*) FROM source_reports WHERE match_outcome IN ('match', 'identifier')`); got == 0 {
		t.Errorf("no report was linked to an existing patient")
	}
	if got := e.count(t, `SELECT count(*) FROM source_vaccinations WHERE event_id IS NULL AND consolidation IN ('winner', 'duplicate')`); got != 0 {
		t.Errorf("%d doses lost their event", got)
	}
}

// TestSameControlIDResent: senders often send a corrected message again
// under the same MSH-10. A rejected message is replaced by its accepted
// correction; an accepted message corrected again is kept as a new version,
// since its sender was told AA for it. Exact resends change nothing.
func TestSameControlIDResent(t *testing.T) {
	e := newEnv(t)
	e.start(t, worker.Config{BatchSize: 4})
	good := []byte("MSH|^~\\&|EHR|RESENDCLINIC|IIS|IIS|20250102030405||VXU^V04^VXU_V04|RS-1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
		"PID|1||RS-77^^^RESENDCLINIC^MR||Resendez^Alma^^^^^L||20230405|F\r" +
		"ORC|RE||RS-77-1^RESENDCLINIC\r" +
		"RXA|0|1|20250101|20250101|03^MMR^CVX|0.5|mL^mL^UCUM||00^New immunization record^NIP001|||||||||||CP|A\r")
	noPID := []byte(strings.Replace(string(good), "PID|1||RS-77^^^RESENDCLINIC^MR||Resendez^Alma^^^^^L||20230405|F\r", "", 1))
	rejected := e.publish(t, noPID)
	if rejected.Kind != "rejected" {
		t.Fatalf("message without PID queued as %s", rejected.Kind)
	}
	e.drain(t, "registry")
	var issues, errCodes []string
	var ack []byte
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT r.issues, ARRAY(SELECT e.code FROM message_errors e WHERE e.report_id = r.id),
		(SELECT b.ack FROM message_bodies b WHERE b.report_id = r.id)
		FROM source_reports r WHERE r.facility = 'RESENDCLINIC' AND r.control_id = 'RS-1'`).Scan(&issues, &errCodes, &ack); err != nil {
		t.Fatal(err)
	}
	if len(issues) == 0 || len(errCodes) == 0 || !bytes.Contains(ack, []byte("|RS-1")) || !bytes.Contains(ack, []byte("\rERR|")) {
		t.Fatalf("rejected report: issues %q, err codes %q, ack %q", issues, errCodes, ack)
	}

	e.publish(t, good) // the correction, same MSH-10
	e.drain(t, "registry")
	if got := e.count(t, `SELECT count(*) FROM source_reports WHERE facility = 'RESENDCLINIC' AND kind = 'vxu' AND ack_code = 'AA' AND replaced_at IS NOT NULL AND patient_id IS NOT NULL`); got != 1 {
		t.Fatalf("rejected report not replaced by its correction (%d)", got)
	}
	if got := e.count(t, `SELECT count(*) FROM vaccination_events v JOIN patients p ON p.id = v.patient_id WHERE p.family_name = 'Resendez'`); got != 1 {
		t.Fatalf("events after the correction = %d, want 1", got)
	}

	// An accepted message corrected under the same MSH-10: a second dose added.
	second := append(bytes.Clone(good), []byte("ORC|RE||RS-77-2^RESENDCLINIC\r"+
		"RXA|0|1|20240601|20240601|08^HepB^CVX|0.5|mL^mL^UCUM||00^New immunization record^NIP001|||||||||||CP|A\r")...)
	e.publish(t, second)
	e.drain(t, "registry")
	e.publish(t, second) // exact resend, outside JetStream's window in effect: a new stream message
	e.republish(t, &queue.Message{Kind: "vxu", Facility: "RESENDCLINIC", ControlID: "RS-1", Type: "VXU", Ack: "AA", Body: second})
	e.drain(t, "registry")
	if got := e.count(t, `SELECT count(*) FROM source_reports WHERE facility = 'RESENDCLINIC'`); got != 2 {
		t.Errorf("reports = %d, want 2 (the message and its corrected version)", got)
	}
	if got := e.count(t, `SELECT count(*) FROM vaccination_events v JOIN patients p ON p.id = v.patient_id WHERE p.family_name = 'Resendez'`); got != 2 {
		t.Errorf("events after the corrected version = %d, want 2", got)
	}
}

// deadReasons returns the dead letters' reasons by MSH-10, failing the
// test if one was dead-lettered twice or lost its subject or body.
func deadReasons(t *testing.T, e *env) map[string]string {
	t.Helper()
	dead, err := e.q.DeadLetters(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, d := range dead {
		if _, dup := reasons[d.ControlID]; dup {
			t.Errorf("%s dead-lettered twice", d.ControlID)
		}
		reasons[d.ControlID] = d.Reason
		if !strings.Contains(d.Subject, "-dead.vxu.") || len(d.Body) == 0 {
			t.Errorf("dead letter %d: subject %s, %d bytes", d.Seq, d.Subject, len(d.Body))
		}
	}
	return reasons
}

// TestEnvelopes: messages queued at once share stream messages
// (envelopes). Every one is stored once; an unparseable one and one the
// database refuses are dead-lettered on their own, with their identity,
// while the rest of their envelope is stored; the redeliveries the
// refused one causes change nothing for the others.
func TestEnvelopes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w := e.start(t, worker.Config{MaxDeliver: 3, RetryDelay: 20 * time.Millisecond})

	var raws [][]byte
	for _, raw := range samples(t) {
		raws = append(raws, raw)
	}
	base := samples(t)["vxu_z22_onc2015_iz_ad1_admin_child_ndc_vfc_vis_2_historical.hl7"]
	poison := bytes.Replace(base, []byte("|12462|"), []byte("|POISON-1|"), 1)
	msgs := make([]*queue.Message, 0, len(raws)+2)
	for _, raw := range append(raws, poison) {
		r := validator.Decode(raw)
		kind := "vxu"
		if r.Rejected() {
			kind = "rejected"
		}
		msgs = append(msgs, &queue.Message{Kind: kind, Facility: r.Header.SendingFacility.Name, ControlID: r.Header.ControlID,
			Transport: "mllp", Type: "VXU", Ack: validator.AckCode(r), Received: time.Now(), Body: raw})
	}
	e.refuse(t, "POISON-1")
	msgs = append(msgs, &queue.Message{Kind: "vxu", Facility: "CLINIC", ControlID: "junk-1", Received: time.Now(), Body: []byte("this is not HL7")})
	if msgs[len(raws)].ControlID != "POISON-1" {
		t.Fatalf("poison control id = %q", msgs[len(raws)].ControlID)
	}
	// Queued as a batch file's messages are: in envelopes, in order. The
	// refused message and the unparseable one share the last envelope, so
	// that the refused one's retries redeliver the unparseable one too.
	msgs[len(msgs)-1], msgs[len(msgs)-2] = msgs[len(msgs)-2], msgs[len(msgs)-1]
	_, errs := e.q.PublishAll(ctx, msgs)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	st, err := e.q.JetStream().Stream(ctx, e.q.Config().Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs >= uint64(len(msgs)) {
		t.Fatalf("%d messages in %d stream messages: none coalesced", len(msgs), info.State.Msgs)
	}
	last, err := st.GetMsg(ctx, info.State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	inLast, err := e.q.Unpack(last.Subject, last.Header, last.Data)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(inLast); n < 2 || inLast[n-2].ControlID != "junk-1" || inLast[n-1].ControlID != "POISON-1" {
		t.Fatalf("the last envelope holds %d messages, not ending with the unparseable and the refused one", n)
	}
	t.Logf("%d messages in %d stream messages", len(msgs), info.State.Msgs)

	e.drain(t, "registry")
	good := map[string]bool{} // by queue id: some samples share an MSH-10 with other content
	for _, m := range msgs[:len(raws)] {
		good[m.ID()] = true
	}
	if got := e.count(t, `SELECT count(*) FROM source_reports`); got != len(good) {
		t.Errorf("source_reports = %d, want %d", got, len(good))
	}
	if got := e.count(t, `SELECT count(*) FROM source_reports WHERE control_id IN ('POISON-1', 'junk-1')`); got != 0 {
		t.Errorf("%d dead messages stored", got)
	}
	reasons := deadReasons(t, e)
	if len(reasons) != 2 || !strings.Contains(reasons["junk-1"], "unparseable") || !strings.Contains(reasons["POISON-1"], "after 3 deliveries") {
		t.Errorf("dead letters: %v", reasons)
	}
	if s := w.Stats(); s.Dead != 2 || s.Stored+s.StoredOnly != int64(len(good)) {
		t.Errorf("stats = %+v, want 2 dead and %d stored", s, len(good))
	}
}

// refuse makes the database refuse, on every attempt, to store a report
// with this MSH-10, as it would a value it cannot keep: the validator
// rejects every such value the test could send, so a trigger stands in.
func (e *env) refuse(t *testing.T, controlID string) {
	t.Helper()
	_, err := e.store.Pool().Exec(context.Background(), `CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.control_id = '`+controlID+`' THEN RAISE EXCEPTION 'refused by the test'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_poison BEFORE INSERT ON source_reports FOR EACH ROW EXECUTE FUNCTION refuse_poison();`)
	if err != nil {
		t.Fatal(err)
	}
}
