package main

import (
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/recall"
)

// mountRecall adds the reminder/recall pages to the people's pages.
func (s *server) mountRecall(acc *accounts.Store, p *portal.Portal, fc *forecast.Engine) error {
	rp, err := recall.New(recall.Config{Registry: s.store, Accounts: acc, Forecaster: fc, Logger: s.log})
	if err != nil {
		return err
	}
	rp.Mount(p)
	return nil
}
