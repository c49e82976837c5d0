package main

import (
	"github.com/iisproject/iis/accountability"
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/inventory"
	"github.com/iisproject/iis/ordering"
	"github.com/iisproject/iis/portal"
)

// mountOrdering adds the vaccine orders, the VFC doses-administered report
// and the lot recall search to the people's pages.
func (s *server) mountOrdering(acc *accounts.Store, p *portal.Portal) error {
	inv, err := inventory.New(inventory.Config{Pool: s.store.Pool(), Logger: s.log})
	if err != nil {
		return err
	}
	st, err := ordering.New(ordering.Config{Pool: s.store.Pool(), Stock: inv, Logger: s.log})
	if err != nil {
		return err
	}
	orders, err := ordering.NewPages(ordering.PagesConfig{Store: st, Orgs: acc, Audit: s.store, Logger: s.log})
	if err != nil {
		return err
	}
	orders.Mount(p)
	acct, err := accountability.New(accountability.Config{Registry: s.store, Orgs: acc, Logger: s.log})
	if err != nil {
		return err
	}
	acct.Mount(p)
	return nil
}
