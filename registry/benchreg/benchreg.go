// Package benchreg opens the registry the population benchmarks run on:
// IIS_BENCH_DATABASE_URL, or a new test database (registry/pgtest),
// seeded with IIS_BENCH_PATIENTS synthetic children (default 100,000;
// registry.SyntheticChildren) unless it holds patients already.
package benchreg

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// Open returns the benchmark registry, seeded as of asOf; it is closed
// when tb ends.
func Open(tb testing.TB, asOf time.Time) *registry.Store {
	tb.Helper()
	ctx := context.Background()
	url := os.Getenv("IIS_BENCH_DATABASE_URL")
	if url == "" {
		url = pgtest.NewDatabase(tb)
	}
	s, err := registry.Open(ctx, registry.Config{URL: url, MaxConns: 8})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	var have int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM patients`).Scan(&have); err != nil {
		tb.Fatal(err)
	}
	if have > 0 {
		return s
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("IIS_BENCH_PATIENTS")); err == nil && v > 0 {
		n = v
	}
	t0 := time.Now()
	if err := registry.SeedSyntheticChildren(ctx, s.Pool(), n, asOf); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d patients in %v", n, time.Since(t0).Round(time.Second))
	return s
}
