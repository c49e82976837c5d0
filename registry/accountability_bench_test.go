package registry_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/iisproject/iis/registry"
)

// BenchmarkAccountability times the VFC doses-administered report and the
// lot recall search on an existing registry (read only, not migrated):
// IIS_BENCH_DATABASE_URL names it; IIS_BENCH_CLINIC a facility of it,
// IIS_BENCH_LOT a lot number, IIS_BENCH_MVX a manufacturer
// (a month's recall by manufacturer), IIS_BENCH_YEAR the report's year (default
// 2025). docs/inventory-ordering.md has the figures.
func BenchmarkAccountability(b *testing.B) {
	url := os.Getenv("IIS_BENCH_DATABASE_URL")
	if url == "" {
		b.Skip("IIS_BENCH_DATABASE_URL names the registry to measure")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	s := registry.New(pool, registry.Config{})
	year := 2025
	if y := os.Getenv("IIS_BENCH_YEAR"); y != "" {
		t, err := time.Parse("2006", y)
		if err != nil {
			b.Fatal(err)
		}
		year = t.Year()
	}
	from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	run := func(name string, f func() (int, error)) {
		b.Run(name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				var err error
				if n, err = f(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "rows")
		})
	}
	run("vfc-statewide-year", func() (int, error) {
		rs, err := s.VFCDosesAdministered(ctx, registry.VFCQuery{From: from, To: to})
		return len(rs), err
	})
	run("vfc-clinic-year", func() (int, error) {
		rs, err := s.VFCDosesAdministered(ctx, registry.VFCQuery{Clinic: os.Getenv("IIS_BENCH_CLINIC"), From: from, To: to})
		return len(rs), err
	})
	run("recall-lot", func() (int, error) {
		rs, err := s.LotRecall(ctx, registry.LotRecallQuery{Lot: os.Getenv("IIS_BENCH_LOT"), Undisclosed: true})
		return len(rs), err
	})
	if mvx := os.Getenv("IIS_BENCH_MVX"); mvx != "" {
		run("recall-mvx-month", func() (int, error) {
			rs, err := s.LotRecall(ctx, registry.LotRecallQuery{MVX: mvx, From: from, To: from.AddDate(0, 1, 0), Undisclosed: true})
			return len(rs), err
		})
	}
}
