package compliancy_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/iisproject/iis/compliancy"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// benchDay is the benchmark population's "today".
var benchDay = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// benchRegistry opens the benchmark registry: IIS_BENCH_DATABASE_URL, or
// a new database, seeded with IIS_BENCH_PATIENTS patients (default
// 100,000) unless it holds seeded children already.
func benchRegistry(b *testing.B) *registry.Store {
	ctx := context.Background()
	url := os.Getenv("IIS_BENCH_DATABASE_URL")
	if url == "" {
		url = pgtest.NewDatabase(b)
	}
	s, err := registry.Open(ctx, registry.Config{URL: url, MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	var have int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM patients`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == 0 {
		n := 100_000
		if v, err := strconv.Atoi(os.Getenv("IIS_BENCH_PATIENTS")); err == nil && v > 0 {
			n = v
		}
		t0 := time.Now()
		if err := registry.SeedSyntheticChildren(ctx, s.Pool(), n, benchDay); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d patients in %v", n, time.Since(t0).Round(time.Second))
	}
	return s
}

// BenchmarkLists measures one clinic's monthly and Goldenrod lists and
// the statewide outreach lists (children under 36 months), on a registry
// of IIS_BENCH_PATIENTS synthetic patients (registry.SyntheticChildren).
func BenchmarkLists(b *testing.B) {
	s := benchRegistry(b)
	e, err := forecast.Default()
	if err != nil {
		b.Fatal(err)
	}
	l := &compliancy.Lists{Source: s, Engine: e}
	ctx := context.Background()
	b.Run("monthly-clinic", func(b *testing.B) {
		var m *compliancy.Monthly
		for b.Loop() {
			if m, err = l.Monthly(ctx, "CLIN007", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(m.Considered[8]+m.Considered[20]), "children")
		b.ReportMetric(float64(len(m.Rows)), "listed")
	})
	b.Run("goldenrod-clinic", func(b *testing.B) {
		var g *compliancy.Goldenrod
		for b.Loop() {
			if g, err = l.Goldenrod(ctx, "CLIN007", 2025, benchDay); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(g.Considered), "children")
		b.ReportMetric(float64(len(g.Rows)), "listed")
	})
	b.Run("outreach-statewide", func(b *testing.B) {
		var o *compliancy.Outreach
		for b.Loop() {
			if o, err = l.Outreach(ctx, benchDay, 36, map[string]string{"town001": "North"}, ""); err != nil {
				b.Fatal(err)
			}
		}
		late := 0
		for _, a := range o.Areas {
			late += a.Late
		}
		b.ReportMetric(float64(o.Considered), "children")
		b.ReportMetric(float64(late), "late")
	})
}
