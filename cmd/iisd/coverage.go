package main

import (
	"context"
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/reports"
	"time"
)

// mountCoverage adds the coverage (AFIX) report pages to the people's
// pages.
func (s *server) mountCoverage(bg context.Context, acc *accounts.Store, p *portal.Portal, fc *forecast.Engine) error {
	a := coverage.NewAssessor(fc)
	c, err := coverage.NewPages(coverage.PagesConfig{Registry: s.store, Organizations: acc, Assessor: a, Logger: s.log})
	if err != nil {
		return err
	}
	c.Register(p.Handle)
	return s.mountReports(bg, acc, p, a)
}

// mountReports adds the report runs' pages (/reports): coverage,
// reminder/recall and the compliancy lists, in the background; and starts
// the configured schedules.
func (s *server) mountReports(bg context.Context, acc *accounts.Store, p *portal.Portal, a *coverage.Assessor) error {
	runner := reports.NewRunner(bg, s.store, a, s.log)
	runner.Add(reports.Recall{Candidates: s.store, Forecaster: a.Engine(), Clinics: acc})
	for _, list := range []string{reports.KindMonthly, reports.KindGoldenrod, reports.KindOutreach} {
		runner.Add(reports.Compliancy{List: list, Source: s.store, Engine: a.Engine()})
	}
	s.reports = runner
	rp, err := reports.NewPages(runner, acc, nil, s.log)
	if err != nil {
		return err
	}
	rp.Register(p.Handle)
	sched, err := reports.NewScheduler(runner, s.cfg.ReportSchedules, nil, s.log)
	if err != nil {
		return err
	}
	go sched.Run(bg, time.Minute)
	return nil
}
