package main

import (
	"context"
	"time"

	"github.com/iisproject/iis/console"
	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/quality"
)

// startQuality loads the facilities' onboarding statuses (the worker keeps
// the VXUs of a facility in test status out of the registry) and, where
// the worker runs, analyses stored messages for the data quality reports
// as they arrive.
func (s *server) startQuality(ctx, bg context.Context) error {
	o, err := facility.OpenOnboarding(ctx, s.store.Pool(), s.log)
	if err != nil {
		return err
	}
	s.onboard = o
	go o.Run(bg, 10*time.Second)
	if s.cfg.Mode != "listener" {
		go quality.NewStore(s.store.Pool(), s.store, nil, s.log).Run(bg, 5*time.Second)
	}
	return nil
}

// mountQuality adds the data quality pages to the console.
func (s *server) mountQuality(con *console.Console) error {
	p, err := quality.NewPages(quality.PagesConfig{
		Store: quality.NewStore(s.store.Pool(), s.store, nil, s.log), Statuses: s.onboard, Audit: s.store, Logger: s.log,
	})
	if err != nil {
		return err
	}
	p.Mount(con)
	return nil
}
