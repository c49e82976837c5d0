package main

import (
	"log/slog"

	"github.com/iisproject/iis/inventory"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/worker"
)

// inventoryHook draws administered doses on the clinics' vaccine
// inventory in the worker's transactions; nil when off.
func inventoryHook(store *registry.Store, off bool, log *slog.Logger) worker.DoseHook {
	if off {
		return nil
	}
	st, err := inventory.New(inventory.Config{Pool: store.Pool(), Logger: log})
	if err != nil {
		return nil
	}
	return st
}
