package reports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/reports"
)

func open(t testing.TB) (*registry.Store, *coverage.Assessor) {
	t.Helper()
	s, err := registry.Open(context.Background(), registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	e, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	return s, coverage.NewAssessor(e)
}

func TestScheduledRunOncePerSlotAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	s, a := open(t)
	var mu sync.Mutex
	now := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	sched := []reports.Schedule{{Name: "afix-monthly", Kind: reports.KindCoverage, Day: 1, Hour: 2, Params: json.RawMessage(`{"cohort": "afix"}`)}}
	var runners []*reports.Runner
	var scheds []*reports.Scheduler
	for range 2 {
		r := reports.NewRunner(ctx, s, a, nil)
		sc, err := reports.NewScheduler(r, sched, clock, nil)
		if err != nil {
			t.Fatal(err)
		}
		runners, scheds = append(runners, r), append(scheds, sc)
	}
	tickAll := func() int {
		var wg sync.WaitGroup
		counts := make([]int, len(scheds))
		for i, sc := range scheds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids, err := sc.Tick(ctx)
				if err != nil {
					t.Error(err)
				}
				counts[i] = len(ids)
			}()
		}
		wg.Wait()
		for _, r := range runners {
			r.Wait()
		}
		return counts[0] + counts[1]
	}
	// The November slot (the 1st at 02:00) is caught up once.
	if n := tickAll(); n != 1 {
		t.Fatalf("November's slot: %d runs, want 1", n)
	}
	for _, at := range []time.Time{time.Date(2026, 12, 1, 1, 59, 0, 0, time.UTC), time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)} {
		set(at)
		if n := tickAll(); n != 0 {
			t.Fatalf("at %s: %d runs, want 0 (November's slot ran)", at, n)
		}
	}
	for i := range 5 {
		set(time.Date(2026, 12, 1, 2, i, 0, 0, time.UTC))
		want := 0
		if i == 0 {
			want = 1
		}
		if n := tickAll(); n != want {
			t.Fatalf("December, tick %d: %d runs, want %d", i, n, want)
		}
	}
	runs, err := s.ReportRuns(ctx, true, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("%d runs recorded, want 2: %+v", len(runs), runs)
	}
	for _, r := range runs {
		if r.Status != "done" || r.Progress != 100 || r.RequestedBy != "schedule:afix-monthly" {
			t.Fatalf("run %+v", r)
		}
	}
	trail, err := s.AuditTrail(ctx, "schedule:afix-monthly", 10)
	if err != nil || len(trail) != 4 {
		t.Fatalf("audit of the scheduled runs: %+v %v", trail, err)
	}
	if got := string(runs[0].Params); !bytes.Contains([]byte(got), []byte(`"2026-12-01"`)) {
		t.Fatalf("December's run's params: %s", got)
	}
}

func TestStartCoverageStoresResult(t *testing.T) {
	ctx := context.Background()
	s, a := open(t)
	r := reports.NewRunner(ctx, s, a, nil)
	if _, err := r.StartCoverage(ctx, reports.CoverageParams{AsOf: "2025-13-01"}, "user:ann"); err == nil {
		t.Fatal("a bad date was accepted")
	}
	id, err := r.StartCoverage(ctx, reports.CoverageParams{AsOf: "2025-06-30", Cohort: "afix", Facility: "CLINA"}, "user:ann")
	if err != nil {
		t.Fatal(err)
	}
	r.Wait()
	run, err := s.ReportRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != "done" || run.Facility != "CLINA" || run.StartedAt == nil || run.FinishedAt == nil {
		t.Fatalf("run %+v", run)
	}
	b, err := s.ReportRunCSV(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) < 2 || recs[1][0] != "total" {
		t.Fatalf("csv %q: %v", b, err)
	}
	trail, err := s.AuditTrail(ctx, "user:ann", 10)
	if err != nil || len(trail) != 2 || trail[0].Action != "report-run-end" || trail[1].Action != "report-run-start" {
		t.Fatalf("audit %+v %v", trail, err)
	}
}

// progressStore records the progress a run reports.
type progressStore struct {
	*registry.Store
	mu  sync.Mutex
	got []int
}

func (p *progressStore) ReportRunProgress(ctx context.Context, id int64, pct int) error {
	p.mu.Lock()
	p.got = append(p.got, pct)
	p.mu.Unlock()
	return p.Store.ReportRunProgress(ctx, id, pct)
}

func TestProgressFollowsPatientIDs(t *testing.T) {
	ctx := context.Background()
	s, a := open(t)
	// 9,000 children 29 months old: several batches of 2,000 per reader.
	if _, err := s.Pool().Exec(ctx, `INSERT INTO patients (family_name, given_name, birth_date)
		SELECT 'Test', 'Child' || g, date '2023-01-15' FROM generate_series(1, 9000) g`); err != nil {
		t.Fatal(err)
	}
	ps := &progressStore{Store: s}
	r := reports.NewRunner(ctx, ps, a, nil)
	id, err := r.StartCoverage(ctx, reports.CoverageParams{AsOf: "2025-06-30", Cohort: "afix"}, "user:ann")
	if err != nil {
		t.Fatal(err)
	}
	r.Wait()
	run, err := s.ReportRun(ctx, id)
	if err != nil || run.Status != "done" || run.Progress != 100 {
		t.Fatalf("run %+v: %v", run, err)
	}
	if len(ps.got) < 2 || ps.got[len(ps.got)-1] != 99 {
		t.Fatalf("progress recorded %v, want several steps up to 99", ps.got)
	}
	for i := 1; i < len(ps.got); i++ {
		if ps.got[i] <= ps.got[i-1] {
			t.Fatalf("progress recorded %v, not increasing", ps.got)
		}
	}
}

func TestInterruptedRunsRecordedFailed(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	old, _ := s.CreateReportRun(ctx, reports.KindCoverage, []byte(`{}`), "", "user:ann")
	recent, _ := s.CreateReportRun(ctx, reports.KindCoverage, []byte(`{}`), "", "user:ann")
	if _, err := s.Pool().Exec(ctx, `UPDATE report_runs SET requested_at = now() - interval '7 hours', status = 'running' WHERE id = $1`, old); err != nil {
		t.Fatal(err)
	}
	n, err := s.FailStaleReportRuns(ctx, time.Now().Add(-reports.StaleAfter))
	if err != nil || n != 1 {
		t.Fatalf("%d stale runs failed: %v", n, err)
	}
	for id, want := range map[int64]string{old: "failed", recent: "queued"} {
		run, err := s.ReportRun(ctx, id)
		if err != nil || run.Status != want || (want == "failed" && !strings.HasPrefix(run.Error, "interrupted")) {
			t.Fatalf("run %d: %+v %v, want %s", id, run, err, want)
		}
	}
}
