package quality_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/quality"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

var validator = immz.New(immz.Config{})

func sample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withoutLotAndMVX is the NIST adult flu VXU with RXA-15 and RXA-17 emptied.
func withoutLotAndMVX(raw string) string {
	raw = strings.Replace(raw, "|Z0860BB|", "||", 1)
	return strings.Replace(raw, "|CSL^CSL Behring^MVX|", "||", 1)
}

type env struct {
	reg *registry.Store
	q   *quality.Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	reg, err := registry.Open(context.Background(), registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	return &env{reg: reg, q: quality.NewStore(reg.Pool(), reg, time.UTC, nil)}
}

// store keeps raw from facility in the message store as the worker would,
// with the ACK's ERR entries issues; storeOnly keeps it out of the
// registry (a facility in test status).
func (e *env) store(t testing.TB, facility, control, raw, issues string, received time.Time, storeOnly bool) {
	t.Helper()
	ctx := context.Background()
	res := validator.Decode([]byte(raw))
	kind, ack := "vxu", "AA"
	if strings.HasPrefix(issues, "E:") || strings.Contains(issues, ";E:") {
		ack = "AE"
	}
	if res.Rejected() {
		kind, ack = "rejected", "AR"
	}
	m := &registry.Message{Kind: kind, Facility: facility, ControlID: control, Type: "VXU", Ack: ack, Transport: "mllp",
		Received: received, Raw: []byte(raw), Issues: issues, Decoded: res, StoreOnly: storeOnly}
	if err := pgx.BeginFunc(ctx, e.reg.Pool(), func(tx pgx.Tx) error {
		_, err := e.reg.Apply(ctx, tx, m)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestReport: three VXUs of one facility over two days, with ERR entries
// in the four-part form and the five-part form (MQE code), give the
// counts, fields, examples, completeness and score a reader can check by
// hand.
func TestReport(t *testing.T) {
	e := newEnv(t)
	flu := sample(t, "vxu-nist-ad-2.1-adult-flu.hl7")
	aira := sample(t, "vxu_3rxa_admin_historical_admin_vfc_vis.hl7")
	d1, d2 := day("2026-03-02").Add(10*time.Hour), day("2026-03-03").Add(9*time.Hour)
	e.store(t, "CLINIC_A", "A1", flu, "", d1, false)
	e.store(t, "CLINIC_A", "A2", aira, "W:103:5:RXR-1", d1, true)
	e.store(t, "CLINIC_A", "A3", withoutLotAndMVX(flu),
		"W:101:7:RXA-15:MQE0339;W:101:7:RXA-17:MQE0343;W:103:5:RXR-1;E:103:5:RXA-5", d2, false)
	e.store(t, "CLINIC_B", "B1", flu, "W:103:5:RXR-1", d2, false)
	if left, err := e.q.CatchUp(context.Background(), 10*time.Second); err != nil || left != 0 {
		t.Fatalf("CatchUp: %d left, %v", left, err)
	}
	r, err := e.q.Report(context.Background(), "CLINIC_A", quality.Period{From: day("2026-03-01"), To: day("2026-03-31")})
	if err != nil {
		t.Fatal(err)
	}
	want := quality.Totals{Messages: 3, VXU: 3, WithErrors: 1, WithWarnings: 2, Completeness: quality.Completeness{
		Doses: 5, Administered: 4, Historical: 1, Lot: 3, Manufacturer: 3, VIS: 4, Eligibility: 4, FundingSource: 0}}
	if r.Totals != want {
		t.Errorf("totals\n got %+v\nwant %+v", r.Totals, want)
	}
	// 60·(1-1/3) + 15·(1-2/3) + 25·(14/16) = 40 + 5 + 21.875
	if r.Score != 67 {
		t.Errorf("score = %d, want 67", r.Score)
	}
	if len(r.Days) != 2 || r.Days[0].Messages != 2 || r.Days[1].Messages != 1 || r.Days[1].WithErrors != 1 {
		t.Errorf("days = %+v", r.Days)
	}
	got := map[string]quality.DetectionCount{}
	for _, d := range r.Detections {
		got[d.Detection+"/"+d.Severity] = d
	}
	if d := got["103:5:RXR-1/W"]; d.Messages != 2 || len(d.Examples) != 2 || d.Examples[0].ControlID != "A3" {
		t.Errorf("103:5:RXR-1 = %+v, want 2 messages, newest example A3", d)
	} else if d.Examples[0].Sent != "C28161^Intramuscular^NCIT" {
		t.Errorf("RXR-1 sent = %q", d.Examples[0].Sent)
	}
	if d := got["MQE0339/W"]; d.Messages != 1 || d.Description != "Vaccination lot number is missing" ||
		len(d.Fields) != 1 || d.Fields[0].Position != "RXA-15" {
		t.Errorf("MQE0339 = %+v", d)
	}
	if d := got["103:5:RXA-5/E"]; d.Messages != 1 || len(d.Examples) != 1 ||
		d.Examples[0].Sent != "140^Influenza, seasonal, injectable, preservative free^CVX" {
		t.Errorf("103:5:RXA-5 = %+v", d)
	}
	if r.Detections[0].Detection != "103:5:RXR-1" {
		t.Errorf("first detection %s, want the most frequent (103:5:RXR-1)", r.Detections[0].Detection)
	}
}

// TestReplacedMessageCountedOnce: a rejected message replaced by its
// corrected resend (same facility and MSH-10) is analysed again and
// counted once, as the resend.
func TestReplacedMessageCountedOnce(t *testing.T) {
	e := newEnv(t)
	flu := sample(t, "vxu-nist-ad-2.1-adult-flu.hl7")
	noPID := strings.Join(func() (out []string) {
		for _, s := range strings.Split(flu, "\r") {
			if !strings.HasPrefix(s, "PID|") {
				out = append(out, s)
			}
		}
		return out
	}(), "\r")
	d := day("2026-03-02").Add(10 * time.Hour)
	e.store(t, "CLINIC_A", "A1", noPID, "E:100:0:PID", d, false)
	if _, err := e.q.CatchUp(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p := quality.Period{From: day("2026-03-02"), To: day("2026-03-02")}
	r, err := e.q.Report(context.Background(), "CLINIC_A", p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Messages != 1 || r.Totals.Rejected != 1 || r.Totals.WithErrors != 1 || len(r.Detections) != 1 {
		t.Fatalf("before the resend: %+v, %+v", r.Totals, r.Detections)
	}
	e.store(t, "CLINIC_A", "A1", flu, "", d, false)
	if _, err := e.q.CatchUp(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if r, err = e.q.Report(context.Background(), "CLINIC_A", p); err != nil {
		t.Fatal(err)
	}
	if r.Totals.Messages != 1 || r.Totals.Rejected != 0 || r.Totals.WithErrors != 0 || len(r.Detections) != 0 || r.Totals.Administered != 1 {
		t.Errorf("after the resend: %+v, %+v", r.Totals, r.Detections)
	}
}

// TestAnalysersAtOnce: two analysers (two iisd processes) working through
// the same backlog take distinct messages and count each once.
func TestAnalysersAtOnce(t *testing.T) {
	e := newEnv(t)
	flu := sample(t, "vxu-nist-ad-2.1-adult-flu.hl7")
	ctx := context.Background()
	res := validator.Decode([]byte(flu))
	var msgs []*registry.Message
	for i := range 400 {
		id := fmt.Sprintf("M%d", i)
		msgs = append(msgs, &registry.Message{Kind: "vxu", Facility: "CLINIC_" + strconv.Itoa(i%3), ControlID: id, Type: "VXU", Ack: "AA",
			Received: day("2026-03-01").Add(time.Duration(i) * time.Hour), Raw: []byte(strings.Replace(flu, "NIST-IZ-AD-2.1_Send_V04_Z22", id, 1)),
			Issues: "W:103:5:RXR-1", Decoded: res, StoreOnly: true})
	}
	if err := pgx.BeginFunc(ctx, e.reg.Pool(), func(tx pgx.Tx) error { _, err := e.reg.ApplyBulk(ctx, tx, msgs); return err }); err != nil {
		t.Fatal(err)
	}
	other := quality.NewStore(e.reg.Pool(), e.reg, time.UTC, nil)
	var wg sync.WaitGroup
	for _, s := range []*quality.Store{e.q, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := s.AnalyseBatch(ctx, 25)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	total, rxr := 0, 0
	for f := range 3 {
		r, err := e.q.Report(ctx, "CLINIC_"+strconv.Itoa(f), quality.Period{From: day("2026-03-01"), To: day("2026-03-31")})
		if err != nil {
			t.Fatal(err)
		}
		total += r.Totals.Messages
		for _, d := range r.Detections {
			rxr += d.Messages
		}
	}
	if total != 400 || rxr != 400 {
		t.Errorf("messages counted %d, with the detection %d; want 400 each", total, rxr)
	}
}
