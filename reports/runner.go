package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/registry"
)

// Store is what runs need of the registry (registry.Store).
type Store interface {
	CoverageSource
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
	RecordDisclosuresAudited(ctx context.Context, ds []registry.Disclosure, e registry.AuditEntry) error
	CreateReportRun(ctx context.Context, kind string, params json.RawMessage, facility, requestedBy string) (int64, error)
	ClaimScheduledRun(ctx context.Context, kind, schedule string, slot time.Time, params json.RawMessage, facility, requestedBy string) (int64, bool, error)
	StartReportRun(ctx context.Context, id int64) error
	ReportRunProgress(ctx context.Context, id int64, percent int) error
	FinishReportRun(ctx context.Context, id int64, csv []byte, summary json.RawMessage, files ...registry.ReportFile) error
	FailReportRun(ctx context.Context, id int64, reason string) error
	ReportRun(ctx context.Context, id int64) (registry.ReportRun, error)
	ReportRunCSV(ctx context.Context, id int64) ([]byte, error)
	ReportRunFiles(ctx context.Context, id int64) ([]registry.ReportFileInfo, error)
	ReportRunFile(ctx context.Context, id int64, name string) (registry.ReportFile, error)
	ReportRuns(ctx context.Context, allFacilities bool, facility string, limit int) ([]registry.ReportRun, error)
	MaxPatientID(ctx context.Context) (int64, error)
	FailStaleReportRuns(ctx context.Context, cutoff time.Time) (int64, error)
}

// Runner runs reports in the background.
type Runner struct {
	store   Store
	reports map[string]Report
	kinds   []string // in the order added
	log     *slog.Logger
	base    context.Context // runs outlive the request that started them
	wg      sync.WaitGroup
}

// NewRunner returns a runner of the coverage report (assessed by a) whose
// runs stop when ctx ends; Add adds the other reports.
func NewRunner(ctx context.Context, store Store, a *coverage.Assessor, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{store: store, reports: map[string]Report{}, log: log, base: ctx}
	r.Add(Coverage{Source: store, Assessor: a})
	return r
}

// Add adds a kind of report (replacing one of the same kind).
func (r *Runner) Add(rep Report) {
	if _, ok := r.reports[rep.Kind()]; !ok {
		r.kinds = append(r.kinds, rep.Kind())
	}
	r.reports[rep.Kind()] = rep
}

// Has says whether the runner runs reports of kind.
func (r *Runner) Has(kind string) bool { _, ok := r.reports[kind]; return ok }

// Plan reads a run's parameters with its kind's report.
func (r *Runner) Plan(kind string, raw json.RawMessage, slot time.Time) (Plan, error) {
	return planOf(r.reports, kind, raw, slot)
}

// Wait waits for the runs under way.
func (r *Runner) Wait() { r.wg.Wait() }

// Start records a run of kind requested by actor, audits it and starts it
// in the background; it returns the run's id.
func (r *Runner) Start(ctx context.Context, kind string, raw json.RawMessage, actor string) (int64, error) {
	plan, err := r.Plan(kind, raw, time.Time{})
	if err != nil {
		return 0, err
	}
	params := plan.Params()
	id, err := r.store.CreateReportRun(ctx, kind, params, plan.Facility(), actor)
	if err != nil {
		return 0, err
	}
	if err := r.store.RecordAudit(ctx, registry.AuditEntry{Actor: actor, Action: "report-run-start",
		Detail: fmt.Sprintf("run %d: %s %s", id, kind, params)}); err != nil {
		return 0, err
	}
	r.Go(id, kind, plan, actor)
	return id, nil
}

// StartCoverage starts a coverage run.
func (r *Runner) StartCoverage(ctx context.Context, c CoverageParams, actor string) (int64, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	return r.Start(ctx, KindCoverage, raw, actor)
}

// Go executes a recorded run in the background.
func (r *Runner) Go(id int64, kind string, plan Plan, actor string) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.execute(r.base, id, kind, plan, actor)
	}()
}

// execute computes the run and stores its result or its failure, and
// audits the outcome.
func (r *Runner) execute(ctx context.Context, id int64, kind string, plan Plan, actor string) {
	outcome, err := r.compute(ctx, id, plan)
	if err != nil {
		r.log.Error("reports: run failed", "run", id, "kind", kind, "err", err)
		outcome = "failed: " + err.Error()
		if ferr := r.store.FailReportRun(context.WithoutCancel(ctx), id, err.Error()); ferr != nil {
			r.log.Error("reports: recording a failure", "run", id, "err", ferr)
		}
	}
	if aerr := r.store.RecordAudit(context.WithoutCancel(ctx), registry.AuditEntry{Actor: actor, Action: "report-run-end",
		Detail: fmt.Sprintf("run %d: %s %s", id, kind, outcome)}); aerr != nil {
		r.log.Error("reports: audit", "run", id, "err", aerr)
	}
}

func (r *Runner) compute(ctx context.Context, id int64, plan Plan) (string, error) {
	if err := r.store.StartReportRun(ctx, id); err != nil {
		return "", err
	}
	progress, err := r.progress(ctx, id)
	if err != nil {
		return "", err
	}
	t0 := time.Now()
	res, err := plan.Compute(ctx, progress)
	if err != nil {
		return "", err
	}
	if res.Summary.Took == "" {
		res.Summary.Took = time.Since(t0).Round(time.Millisecond).String()
	}
	raw, err := json.Marshal(res.Summary)
	if err != nil {
		return "", err
	}
	if err := r.store.FinishReportRun(ctx, id, res.CSV, raw, res.Files...); err != nil {
		return "", err
	}
	return fmt.Sprintf("done: %d children in %s", res.Summary.Children, res.Summary.Took), nil
}

// progress returns the progress hook for run id: patients are read in
// id order, so the share of the highest patient id reached is the share
// done (capped at 99% until the result is stored). Each new percent is
// recorded; a failure to record it is only logged.
func (r *Runner) progress(ctx context.Context, id int64) (func(int64), error) {
	top, err := r.store.MaxPatientID(ctx)
	if err != nil || top == 0 {
		return func(int64) {}, err
	}
	var mu sync.Mutex
	last := 0
	return func(reached int64) {
		pct := int(min(99, reached*100/top))
		mu.Lock()
		defer mu.Unlock()
		if pct <= last {
			return
		}
		last = pct
		if err := r.store.ReportRunProgress(ctx, id, pct); err != nil {
			r.log.Warn("reports: progress", "run", id, "err", err)
		}
	}, nil
}
