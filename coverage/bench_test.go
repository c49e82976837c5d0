package coverage_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

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
		if err := registry.SeedSyntheticChildren(ctx, s.Pool(), n, asOf); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d patients in %v", n, time.Since(t0).Round(time.Second))
	}
	return s
}

// BenchmarkAFIX measures the statewide AFIX report (children 24-35 months
// old, 4:3:1:3:3:1:4 at 24 months) and one clinic's, on a registry of
// IIS_BENCH_PATIENTS synthetic patients (registry.SyntheticChildren).
func BenchmarkAFIX(b *testing.B) {
	s := benchRegistry(b)
	e, err := forecast.Default()
	if err != nil {
		b.Fatal(err)
	}
	a := coverage.NewAssessor(e)
	for _, c := range []struct{ name, facility string }{{"statewide", ""}, {"clinic", "CLIN007"}} {
		b.Run(c.name, func(b *testing.B) {
			var r *coverage.Report
			for b.Loop() {
				r, err = coverage.Run(context.Background(), s, a, coverage.Params{AsOf: asOf, Facility: c.facility})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(r.Total.Children), "children")
			b.ReportMetric(r.Total.Rate(coverage.Series4313314), "%series")
			b.ReportMetric(r.Total.Rate(coverage.HepB), "%HepB")
		})
	}
}
