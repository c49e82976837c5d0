package recall_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/recall"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/synth"
)

// clinicChildren is the size of the benchmark's clinic.
const clinicChildren = 5000

// BenchmarkRecall measures reminder/recall for a clinic of 5,000
// children (synthetic VXUs with histories, stored through the write path,
// reported by the clinic) due by the synthetic traffic's day for the
// childhood vaccine groups: reading the candidates alone (candidates);
// the run (run): reading the candidates, forecasting each
// (parallel workers), grouping families; then the letters PDF for every
// family; the list page over HTTP (the run, the accounting of
// disclosures of every child listed, the HTML). IIS_BENCH_DATABASE_URL names a registry seeded beforehand
// (iisworker -database-url URL -seed 1000000) to which the clinic is added;
// IIS_BENCH_RECALL_CLINIC names the clinic (facility id) to reuse one an
// earlier run added.
func BenchmarkRecall(b *testing.B) {
	ctx := context.Background()
	dbURL := os.Getenv("IIS_BENCH_DATABASE_URL")
	if dbURL == "" {
		dbURL = pgtest.NewDatabase(b)
	}
	reg, err := registry.Open(ctx, registry.Config{URL: dbURL, MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	fac := fmt.Sprintf("RECALL%d", time.Now().UnixNano()%1_000_000)
	if f := os.Getenv("IIS_BENCH_RECALL_CLINIC"); f != "" {
		fac = f // a clinic of an earlier run, topped up to 5,000 children
	}
	t0 := time.Now()
	n := seedClinic(b, reg, fac)
	b.Logf("clinic %s: %d children seeded in %v", fac, n, time.Since(t0).Round(time.Millisecond))
	fc, err := forecast.Default()
	if err != nil {
		b.Fatal(err)
	}
	rc := &recall.Recaller{Registry: reg, Forecaster: fc}
	by := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	clinic := recall.Clinic{OrgID: 1, Facility: fac}
	var res *recall.Result
	b.Run("candidates", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n = 0
			if err := reg.RecallCandidates(ctx, registry.RecallQuery{OrgID: 1, Facility: fac}, func(*registry.RecallCandidate) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "children")
	})
	b.Run("run", func(b *testing.B) {
		for b.Loop() {
			if res, err = rc.Run(ctx, clinic, recall.Params{By: by}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(res.Considered), "children")
		b.ReportMetric(float64(len(res.Children)), "due")
		b.ReportMetric(float64(len(res.Families)), "families")
	})
	if res == nil || res.Considered != n {
		b.Fatalf("considered %v of %d children", res, n)
	}
	b.Run("page", func(b *testing.B) {
		get := pageClient(b, reg, fc, fac)
		for b.Loop() {
			if status, body := get("/recall?by=2026-11-25"); status != 200 || !strings.Contains(body, "families</h2>") {
				b.Fatalf("page: %d %.300s", status, body)
			}
		}
	})
	b.Run("letters", func(b *testing.B) {
		var pdf []byte
		for b.Loop() {
			if pdf, err = recall.Letters(res.Families, by, recall.English, recall.Sender{Clinic: "Bench Clinic"}, by); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(pdf))/1e6, "MB")
	})
}

// pageClient signs a new vaccine coordinator of a new clinic with
// facility fac in to the reminder/recall pages and returns a GET.
func pageClient(b *testing.B, reg *registry.Store, fc *forecast.Engine, fac string) func(path string) (int, string) {
	ctx := context.Background()
	acc, err := accounts.New(accounts.Config{Pool: reg.Pool(), Audit: reg})
	if err != nil {
		b.Fatal(err)
	}
	p, err := portal.New(portal.Config{Accounts: acc})
	if err != nil {
		b.Fatal(err)
	}
	pages, err := recall.New(recall.Config{Registry: reg, Accounts: acc, Forecaster: fc})
	if err != nil {
		b.Fatal(err)
	}
	pages.Mount(p)
	srv := httptest.NewServer(p)
	b.Cleanup(srv.Close)
	org, err := acc.CreateOrganization(ctx, accounts.Organization{Kind: accounts.Clinic, Name: "Bench Clinic " + fac, FacilityID: fac})
	if err != nil {
		b.Fatal(err)
	}
	uid, err := acc.CreateUser(ctx, accounts.NewUser{Username: "bench-" + strings.ToLower(fac), FullName: "Bench User", Email: "bench@example.org",
		OrgID: org, Role: accounts.ClinicUser})
	if err != nil {
		b.Fatal(err)
	}
	u, _ := acc.User(ctx, uid)
	tok, _, err := acc.StartSession(ctx, u, true, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	return func(path string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: "iis_session", Value: tok})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
}

// seedClinic stores synthetic VXUs from facility fac until it has
// reported clinicChildren children, and returns how many it has.
func seedClinic(b *testing.B, reg *registry.Store, fac string) int {
	ctx := context.Background()
	v := immz.New(immz.Config{Now: func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }})
	g := synth.New(synth.Config{Seed: uint64(time.Now().UnixNano())})
	n := 0
	if err := reg.Pool().QueryRow(ctx, `SELECT count(DISTINCT patient_id) FROM source_reports WHERE facility = $1`, fac).Scan(&n); err != nil {
		b.Fatal(err)
	}
	for n < clinicChildren {
		var msgs []*registry.Message
		for len(msgs) < min(500, 2*(clinicChildren-n)+10) {
			m := g.Next()
			if m.Kind != synth.Valid {
				continue
			}
			r := v.Decode(m.Body)
			if r.VXU == nil || r.VXU.Patient.BirthDate.IsZero() {
				continue
			}
			msgs = append(msgs, &registry.Message{Kind: "vxu", Facility: fac, ControlID: m.ControlID, Type: "VXU", Ack: "AA",
				Transport: "mllp", Received: time.Now(), Raw: m.Body, Decoded: r})
		}
		if err := pgx.BeginFunc(ctx, reg.Pool(), func(tx pgx.Tx) error {
			_, err := reg.ApplyBulk(ctx, tx, msgs)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		if err := reg.Pool().QueryRow(ctx, `SELECT count(DISTINCT patient_id) FROM source_reports WHERE facility = $1`, fac).Scan(&n); err != nil {
			b.Fatal(err)
		}
	}
	return n
}
