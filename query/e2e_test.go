package query

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/ingest"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/worker"
)

// pipeline is the real path of a report and a query: VXUs queued as
// ingest queues them, stored by a worker in PostgreSQL, queries answered
// by a Service over the StoreRegistry.
type pipeline struct {
	q     *queue.Queue
	store *registry.Store
	svc   *Service
	v     *immz.Validator
	asOf  time.Time // the assessment date of the next answer
	sent  int
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	ctx := context.Background()
	q, err := queue.Open(ctx, queue.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	st, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	w, err := worker.New(worker.Config{Queue: q, Store: st, FetchWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := w.Run(wctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	fc, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	reg := FromStore(st)
	t.Cleanup(reg.Close)
	p := &pipeline{q: q, store: st, v: immz.New(immz.Config{}), asOf: now}
	p.svc = New(Config{Validator: p.v, Registry: reg, Forecaster: fc, Authorizer: AllowList{"*"}, Now: func() time.Time { return p.asOf }})
	return p
}

// send queues a VXU as ingest would.
func (p *pipeline) send(t *testing.T, raw []byte) {
	t.Helper()
	r := p.v.Decode(raw)
	kind := "vxu"
	if r.Rejected() || r.Kind != immz.KindVXU {
		t.Fatalf("VXU not accepted: %v\n%s", r.Issues, raw)
	}
	m := &queue.Message{Kind: kind, Facility: r.Header.SendingFacility.Name, ControlID: r.Header.ControlID, Transport: "mllp",
		Type: "VXU", Ack: p.v.AckCode(r), Received: time.Now(), Body: raw, Issues: immz.Summary(r.Issues), AckBody: p.v.Ack(r)}
	if _, err := p.q.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	p.sent++
}

// wait returns once every report sent is stored.
func (p *pipeline) wait(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := p.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM source_reports`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= p.sent {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the worker did not store the %d reports", p.sent)
}

// query sends a QBP (Z34 or Z44) and returns the parsed RSP.
func (p *pipeline) query(t *testing.T, raw []byte) *hl7.Message {
	t.Helper()
	r := p.v.Decode(raw)
	if r.Query == nil {
		t.Fatalf("not a query: %v\n%s", r.Issues, raw)
	}
	m, err := hl7.Parse(p.svc.Answer(context.Background(), r, ingest.Source{Facility: "TESTFAC", Transport: "mllp", Authenticated: true}))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// qbp returns a QBP^Q11 of profile (Z34 or Z44) naming a patient by
// identifier (MR of authority AUTH), name, birth date and sex.
func qbp(profile, control, id, family, given, dob, sex string) []byte {
	name := "Request Immunization History"
	if profile == "Z44" {
		name = "Request Evaluated History and Forecast"
	}
	return fmt.Appendf(nil, "MSH|^~\\&|TESTAPP|TESTFAC|IIS|IIS|20250101120000||QBP^Q11^QBP_Q11|%s|P|2.5.1|||ER|AL|||||%s^CDCPHINVS\r"+
		"QPD|%s^%s^CDCPHINVS|%s|%s^^^AUTH^MR|%s^%s^^^^^L||%s|%s\rRCP|I|5^RD&Records&HL70126\r",
		control, profile, profile, name, control, id, family, given, dob, sex)
}
