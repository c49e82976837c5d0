package compliancy_test

import (
	"context"
	"testing"
	"time"

	"github.com/iisproject/iis/compliancy"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry/benchreg"
)

// benchDay is the benchmark population's "today".
var benchDay = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// BenchmarkLists measures one clinic's monthly and Goldenrod lists and
// the statewide outreach lists (children under 36 months), on a registry
// of IIS_BENCH_PATIENTS synthetic patients (registry.SyntheticChildren).
func BenchmarkLists(b *testing.B) {
	s := benchreg.Open(b, benchDay)
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
