package main

import (
	"slices"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/entry"
	"github.com/iisproject/iis/portal"
)

// mountEntry adds the direct data entry pages to the people's pages: each
// entry is handed to the same ingest handler as the transports' messages.
func (s *server) mountEntry(acc *accounts.Store, p *portal.Portal) error {
	pid := "P"
	if ids := s.cfg.ProcessingIDs; len(ids) > 0 && !slices.Contains(ids, "P") {
		pid = ids[0]
	}
	e, err := entry.New(entry.Config{Ingest: s.handler, Registry: s.store, Organizations: acc, Disclosures: s.store, ProcessingID: pid, Logger: s.log,
		// Who may enter data for a patient follows the Immunization Home's scope.
		Relationships: accounts.RegistryRelationships{Accounts: acc, Registry: s.store},
	})
	if err != nil {
		return err
	}
	e.Register(p.Handle)
	return nil
}
