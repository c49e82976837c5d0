package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/iisproject/iis/registry"
)

// Schedule is one scheduled report (a list of them is in iisd's JSON
// config): a statewide AFIX coverage report monthly on the 1st at 02:00
// is {"name": "afix-monthly", "kind": "coverage", "day": 1, "hour": 2};
// a clinic's reminder/recall every Monday is not expressible (day of the
// month only), every day at 06:00 is {"kind": "recall", "day": 0, "hour":
// 6, "params": {"clinic": "CLINA"}}.
type Schedule struct {
	Name   string          `json:"name"`
	Kind   string          `json:"kind"`   // a Report's kind: coverage, recall, monthly, goldenrod, outreach
	Day    int             `json:"day"`    // day of the month (1-28); 0: every day
	Hour   int             `json:"hour"`   // hour (UTC, 0-23)
	Params json.RawMessage `json:"params"` // the report's parameters; a date left empty is the slot's day
}

// Slot is the schedule's latest slot at or before now (UTC).
func (s Schedule) Slot(now time.Time) time.Time {
	now = now.UTC()
	t := time.Date(now.Year(), now.Month(), now.Day(), s.Hour, 0, 0, 0, time.UTC)
	if s.Day == 0 {
		if t.After(now) {
			t = t.AddDate(0, 0, -1)
		}
		return t
	}
	t = time.Date(now.Year(), now.Month(), s.Day, s.Hour, 0, 0, 0, time.UTC)
	if t.After(now) {
		t = t.AddDate(0, -1, 0)
	}
	return t
}

// Check validates a schedule with the runner's reports.
func (s Schedule) Check(r *Runner) error {
	switch {
	case s.Name == "":
		return fmt.Errorf("reports: a schedule needs a name")
	case !r.Has(s.Kind):
		return fmt.Errorf("reports: schedule %s: kind %q is not one of: %s", s.Name, s.Kind, strings.Join(r.kinds, ", "))
	case s.Day < 0 || s.Day > 28 || s.Hour < 0 || s.Hour > 23:
		return fmt.Errorf("reports: schedule %s: day must be 0-28 and hour 0-23", s.Name)
	}
	if _, err := r.Plan(s.Kind, s.Params, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return fmt.Errorf("reports: schedule %s: %w", s.Name, err)
	}
	return nil
}

// Scheduler starts each schedule's runs, once per slot across replicas.
type Scheduler struct {
	runner    *Runner
	schedules []Schedule
	now       func() time.Time
	log       *slog.Logger
}

// NewScheduler returns a scheduler of schedules; now is the clock (nil:
// time.Now).
func NewScheduler(r *Runner, schedules []Schedule, now func() time.Time, log *slog.Logger) (*Scheduler, error) {
	for _, s := range schedules {
		if err := s.Check(r); err != nil {
			return nil, err
		}
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{runner: r, schedules: schedules, now: now, log: log}, nil
}

// Tick claims and starts each schedule's latest slot that no replica has
// claimed (so a slot missed while no replica ran is caught up when one
// starts); it returns the ids of the runs this scheduler started.
func (s *Scheduler) Tick(ctx context.Context) ([]int64, error) {
	now := s.now()
	var ids []int64
	for _, sc := range s.schedules {
		slot := sc.Slot(now)
		plan, err := s.runner.Plan(sc.Kind, sc.Params, slot)
		if err != nil {
			return ids, err
		}
		raw := plan.Params()
		actor := "schedule:" + sc.Name
		id, ok, err := s.runner.store.ClaimScheduledRun(ctx, sc.Kind, sc.Name, slot, raw, plan.Facility(), actor)
		if err != nil {
			return ids, err
		}
		if !ok {
			continue
		}
		if err := s.runner.store.RecordAudit(ctx, registry.AuditEntry{Actor: actor, Action: "report-run-start",
			Detail: fmt.Sprintf("run %d: %s %s, slot %s", id, sc.Kind, raw, slot.Format(time.RFC3339))}); err != nil {
			return ids, err
		}
		s.log.Info("reports: scheduled run", "schedule", sc.Name, "slot", slot, "run", id)
		s.runner.Go(id, sc.Kind, plan, actor)
		ids = append(ids, id)
	}
	return ids, nil
}

// StaleAfter is how long after it was requested a run still queued or
// running is taken for interrupted (its iisd stopped or crashed): far
// longer than any report takes.
const StaleAfter = 6 * time.Hour

// Run ticks every interval until ctx ends, and records the runs
// interrupted by a stopped replica as failed.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("reports: schedule", "err", err)
		}
		if n, err := s.runner.store.FailStaleReportRuns(ctx, s.now().Add(-StaleAfter)); err != nil && ctx.Err() == nil {
			s.log.Error("reports: stale runs", "err", err)
		} else if n > 0 {
			s.log.Warn("reports: runs interrupted", "runs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
