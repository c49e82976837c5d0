package main

import (
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/compliancy"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/portal"
)

// mountCompliancy adds the compliancy, 2-year clean-up and outreach lists
// to the people's pages.
func (s *server) mountCompliancy(acc *accounts.Store, p *portal.Portal, fc *forecast.Engine) error {
	c, err := compliancy.New(compliancy.Config{Registry: s.store, Organizations: acc, Engine: fc, Logger: s.log})
	if err != nil {
		return err
	}
	c.Register(p.Handle)
	return nil
}
