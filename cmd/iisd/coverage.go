package main

import (
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/portal"
)

// mountCoverage adds the coverage (AFIX) report pages to the people's
// pages.
func (s *server) mountCoverage(acc *accounts.Store, p *portal.Portal, fc *forecast.Engine) error {
	c, err := coverage.NewPages(coverage.PagesConfig{Registry: s.store, Organizations: acc, Assessor: coverage.NewAssessor(fc), Logger: s.log})
	if err != nil {
		return err
	}
	c.Register(p.Handle)
	return nil
}
