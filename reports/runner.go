package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/registry"
)

// Store is what runs need of the registry (registry.Store).
type Store interface {
	coverage.Source
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
	CreateReportRun(ctx context.Context, kind string, params json.RawMessage, facility, requestedBy string) (int64, error)
	ClaimScheduledRun(ctx context.Context, kind, schedule string, slot time.Time, params json.RawMessage, facility, requestedBy string) (int64, bool, error)
	StartReportRun(ctx context.Context, id int64) error
	ReportRunProgress(ctx context.Context, id int64, percent int) error
	FinishReportRun(ctx context.Context, id int64, csv []byte, summary json.RawMessage) error
	FailReportRun(ctx context.Context, id int64, reason string) error
	ReportRun(ctx context.Context, id int64) (registry.ReportRun, error)
	ReportRunCSV(ctx context.Context, id int64) ([]byte, error)
	ReportRuns(ctx context.Context, allFacilities bool, facility string, limit int) ([]registry.ReportRun, error)
	MaxPatientID(ctx context.Context) (int64, error)
	FailStaleReportRuns(ctx context.Context, cutoff time.Time) (int64, error)
}

// KindCoverage is the coverage (AFIX) report's kind.
const KindCoverage = "coverage"

// CoverageParams are a coverage run's parameters as stored (JSON).
type CoverageParams struct {
	AsOf     string `json:"asof"`             // 2006-01-02; "" in a schedule: the slot's day
	Cohort   string `json:"cohort"`           // afix, teens or birth
	From     string `json:"from,omitempty"`   // birth cohort's first birth date
	To       string `json:"to,omitempty"`     // and last
	Timing   string `json:"timing,omitempty"` // 24m (default) or asof
	Facility string `json:"clinic,omitempty"`
	Town     string `json:"town,omitempty"`
	County   string `json:"county,omitempty"`
}

// Coverage turns the parameters into coverage's, or says what is wrong.
func (c CoverageParams) Coverage() (coverage.Params, error) {
	var p coverage.Params
	var err error
	if p.AsOf, err = time.Parse(time.DateOnly, c.AsOf); err != nil {
		return p, errors.New("the assessment date must be a date like 2025-06-30")
	}
	switch c.Cohort {
	case "", "afix":
		p.Cohort = coverage.AFIX
	case "teens":
		p.Cohort = coverage.Teens
	case "birth":
		p.Cohort = coverage.BirthCohort
		if p.BornFrom, err = time.Parse(time.DateOnly, c.From); err != nil {
			return p, errors.New("a birth cohort needs its first birth date, like 2023-01-01")
		}
		if p.BornTo, err = time.Parse(time.DateOnly, c.To); err != nil {
			return p, errors.New("a birth cohort needs its last birth date, like 2023-12-31")
		}
	default:
		return p, errors.New("the cohort must be afix, teens or birth")
	}
	switch c.Timing {
	case "", "24m":
	case "asof":
		p.Timing = coverage.AtAssessment
	default:
		return p, errors.New("the timing must be 24m or asof")
	}
	p.Facility, p.Town, p.County = c.Facility, c.Town, c.County
	if _, _, err := p.Born(); err != nil {
		return p, err
	}
	return p, nil
}

// Summary is a finished coverage run's JSON summary.
type Summary struct {
	Children int                `json:"children"`
	Rates    map[string]float64 `json:"rates"` // percent up to date by measure
	Took     string             `json:"took"`
}

// Runner runs reports in the background.
type Runner struct {
	store    Store
	assessor *coverage.Assessor
	log      *slog.Logger
	base     context.Context // runs outlive the request that started them
	wg       sync.WaitGroup
}

// NewRunner returns a runner whose runs stop when ctx ends.
func NewRunner(ctx context.Context, store Store, a *coverage.Assessor, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{store: store, assessor: a, log: log, base: ctx}
}

// Wait waits for the runs under way.
func (r *Runner) Wait() { r.wg.Wait() }

// StartCoverage records a coverage run requested by actor, audits it and
// starts it in the background; it returns the run's id.
func (r *Runner) StartCoverage(ctx context.Context, c CoverageParams, actor string) (int64, error) {
	if _, err := c.Coverage(); err != nil {
		return 0, err
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	id, err := r.store.CreateReportRun(ctx, KindCoverage, raw, c.Facility, actor)
	if err != nil {
		return 0, err
	}
	if err := r.store.RecordAudit(ctx, registry.AuditEntry{Actor: actor, Action: "report-run-start",
		Detail: fmt.Sprintf("run %d: %s %s", id, KindCoverage, raw)}); err != nil {
		return 0, err
	}
	r.Go(id, c, actor)
	return id, nil
}

// Go executes a recorded run in the background.
func (r *Runner) Go(id int64, c CoverageParams, actor string) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.execute(r.base, id, c, actor)
	}()
}

// execute computes the run and stores its result or its failure, and
// audits the outcome.
func (r *Runner) execute(ctx context.Context, id int64, c CoverageParams, actor string) {
	outcome, err := r.compute(ctx, id, c)
	if err != nil {
		r.log.Error("reports: run failed", "run", id, "err", err)
		outcome = "failed: " + err.Error()
		if ferr := r.store.FailReportRun(context.WithoutCancel(ctx), id, err.Error()); ferr != nil {
			r.log.Error("reports: recording a failure", "run", id, "err", ferr)
		}
	}
	if aerr := r.store.RecordAudit(context.WithoutCancel(ctx), registry.AuditEntry{Actor: actor, Action: "report-run-end",
		Detail: fmt.Sprintf("run %d: %s %s", id, KindCoverage, outcome)}); aerr != nil {
		r.log.Error("reports: audit", "run", id, "err", aerr)
	}
}

func (r *Runner) compute(ctx context.Context, id int64, c CoverageParams) (string, error) {
	p, err := c.Coverage()
	if err != nil {
		return "", err
	}
	if err := r.store.StartReportRun(ctx, id); err != nil {
		return "", err
	}
	if p.Progress, err = r.progress(ctx, id); err != nil {
		return "", err
	}
	rep, err := coverage.Run(ctx, r.store, r.assessor, p)
	if err != nil {
		return "", err
	}
	sum := Summary{Children: rep.Total.Children, Rates: map[string]float64{}, Took: rep.Took.Round(time.Millisecond).String()}
	for _, m := range rep.Measures() {
		sum.Rates[m.String()] = rep.Total.Rate(m)
	}
	raw, err := json.Marshal(sum)
	if err != nil {
		return "", err
	}
	if err := r.store.FinishReportRun(ctx, id, figuresCSV(rep), raw); err != nil {
		return "", err
	}
	return fmt.Sprintf("done: %d children in %s", sum.Children, sum.Took), nil
}

// figuresCSV is the report's figures: the total, then by clinic (by
// facility id), county and month.
func figuresCSV(rep *coverage.Report) []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	ms := rep.Measures()
	head := []string{"group", "name", "children"}
	for _, m := range ms {
		head = append(head, m.String()+" up to date", m.String()+" %")
	}
	cw.Write(append(head, "contraindicated", "refused"))
	line := func(group, name string, t *coverage.Tally) {
		rec := []string{group, name, strconv.Itoa(t.Children)}
		for _, m := range ms {
			rec = append(rec, strconv.Itoa(t.UpToDate[m]), strconv.FormatFloat(t.Rate(m), 'f', 1, 64))
		}
		cw.Write(append(rec, strconv.Itoa(t.Contraindicated), strconv.Itoa(t.Refused)))
	}
	line("total", "", &rep.Total)
	for _, g := range []struct {
		name string
		m    map[string]*coverage.Tally
	}{{"clinic", rep.ByFacility}, {"county", rep.ByCounty}, {"month", rep.ByMonth}} {
		keys := make([]string, 0, len(g.m))
		for k := range g.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			line(g.name, k, g.m[k])
		}
	}
	cw.Flush()
	return b.Bytes()
}

// progress returns coverage's progress hook for run id: the cohort is
// read in patient id order, so the share of the highest patient id
// reached is the share done (capped at 99% until the result is stored).
// Each new percent is recorded; a failure to record it is only logged.
func (r *Runner) progress(ctx context.Context, id int64) (func(int64), error) {
	top, err := r.store.MaxPatientID(ctx)
	if err != nil || top == 0 {
		return nil, err
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
