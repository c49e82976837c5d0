package main

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/iisproject/iis/bulk"
	"github.com/iisproject/iis/fhirapi"
	"github.com/iisproject/iis/fhirclients"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/smart"
)

// startBulk builds FHIR authorization (SMART Backend Services: the token
// endpoint, and the FHIR client pages for program staff) when the FHIR API
// or Bulk Data is configured, and Bulk Data (Groups, Group-level $export
// of package fhirapi's resources, export jobs run until bg ends) when
// fhir_bulk is.
func (s *server) startBulk(bg context.Context, fc *forecast.Engine) error {
	if !s.cfg.FHIR && !s.cfg.FHIRBulk {
		return nil
	}
	base := strings.TrimRight(s.cfg.PublicURL, "/")
	tokenURL := ""
	if base != "" {
		tokenURL = base + "/auth/token"
	}
	clients := smart.NewStore(s.store.Pool())
	auth, err := smart.New(smart.Config{Store: clients, TokenURL: tokenURL, TokenTTL: s.cfg.SMARTTokenTTL,
		Audit: auditAdapter{s.store}, Logger: s.log})
	if err != nil {
		return err
	}
	pages, err := fhirclients.New(fhirclients.Config{Clients: clients, Organizations: s.accounts, Audit: s.store, Logger: s.log})
	if err != nil {
		return err
	}
	pages.Register(s.portal.Handle)
	s.smart = auth
	if !s.cfg.FHIRBulk {
		return nil
	}
	resources, own := s.fhir, false // the FHIR API's server when it is configured too
	if resources == nil {
		if resources, err = fhirapi.New(fhirapi.Config{Registry: s.store, Forecaster: fc, Logger: s.log}); err != nil {
			return err
		}
		own = true
	}
	b, err := bulk.New(bulk.Config{Store: bulk.NewStore(s.store.Pool()), Registry: s.store, Source: resources,
		BaseURL: base, FileTTL: s.cfg.BulkFileTTL, Logger: s.log})
	if err != nil {
		if own {
			resources.Close()
		}
		return err
	}
	s.bulk, s.bulkDone = b, make(chan struct{})
	go func() {
		defer close(s.bulkDone)
		b.Run(bg)
		if own {
			resources.Close()
		}
	}()
	return nil
}

// waitBulk waits, once bg is cancelled, for the export loop to stop (an
// export under way is taken over by the next runner), so that the FHIR
// API and the registry it reads close after it.
func (s *server) waitBulk(ctx context.Context) error {
	if s.bulkDone == nil {
		return nil
	}
	select {
	case <-s.bulkDone:
		return nil
	case <-ctx.Done():
		return errors.New("the export loop did not stop in time")
	}
}

// registerBulk adds the token endpoint and SMART configuration (open) and
// the Group and export endpoints (behind the bearer token) to mux.
func (s *server) registerBulk(mux *http.ServeMux) {
	if s.smart != nil {
		s.smart.Register(mux.Handle)
	}
	if s.bulk != nil {
		s.bulk.Register(func(pattern string, h http.Handler) { mux.Handle(pattern, s.smart.Authenticate(h)) })
	}
}

// auditAdapter records the token endpoint's issues in the registry's
// audit log.
type auditAdapter struct{ reg *registry.Store }

func (a auditAdapter) Audit(ctx context.Context, actor, action, detail string) error {
	return a.reg.RecordAudit(ctx, registry.AuditEntry{Actor: actor, Action: action, Detail: detail})
}

// registryAuthority is the assigning authority of the registry's patient
// ids (the FHIR Patient.id) in query answers' PID-3: this IIS's MSH-4
// (facility), else its MSH-3 (application).
func registryAuthority(cfg Config) string {
	if cfg.Facility != "" {
		return cfg.Facility
	}
	return cfg.Application
}
