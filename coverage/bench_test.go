package coverage_test

import (
	"context"
	"testing"

	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry/benchreg"
)

// BenchmarkAFIX measures the statewide AFIX report (children 24-35 months
// old, 4:3:1:3:3:1:4 at 24 months) and one clinic's, on a registry of
// IIS_BENCH_PATIENTS synthetic patients (registry.SyntheticChildren).
func BenchmarkAFIX(b *testing.B) {
	s := benchreg.Open(b, asOf)
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
