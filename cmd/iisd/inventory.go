package main

import (
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/inventory"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/worker"
)

// inventoryHook is the worker's dose hook: administered doses draw on the
// clinics' vaccine inventory in the registry's transaction; nil when the
// configuration turns it off (inventory_off).
func (s *server) inventoryHook() worker.DoseHook {
	if s.cfg.InventoryOff {
		return nil
	}
	st, err := inventory.New(inventory.Config{Pool: s.store.Pool(), Logger: s.log})
	if err != nil {
		return nil // only without a pool, which the worker cannot lack
	}
	return st
}

// mountInventory adds the vaccine inventory pages to the people's pages.
func (s *server) mountInventory(acc *accounts.Store, p *portal.Portal) error {
	st, err := inventory.New(inventory.Config{Pool: s.store.Pool(), Logger: s.log})
	if err != nil {
		return err
	}
	pg, err := inventory.NewPages(inventory.PagesConfig{Store: st, Accounts: acc, Audit: s.store, Logger: s.log})
	if err != nil {
		return err
	}
	pg.Mount(p)
	return nil
}
