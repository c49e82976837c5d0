package main

import (
	"net/http"

	"github.com/iisproject/iis/fhirapi"
	"github.com/iisproject/iis/forecast"
)

// startFHIR makes the FHIR R4 API (config "fhir": true).
func (s *server) startFHIR(fc *forecast.Engine) error {
	if !s.cfg.FHIR {
		return nil
	}
	api, err := fhirapi.New(fhirapi.Config{Registry: s.store, Forecaster: fc, Logger: s.log})
	if err != nil {
		return err
	}
	s.fhir = api
	return nil
}

// mountFHIR adds the FHIR routes under /fhir/, each behind fhirAuth.
func (s *server) mountFHIR(mux *http.ServeMux) {
	if s.fhir == nil {
		return
	}
	s.fhir.Register(func(pattern string, h http.Handler) { mux.Handle(pattern, s.fhirAuth(h)) })
}

// fhirAuth puts the request's SMART grant (its bearer token's, see
// cmd/iisd/bulk.go) in its context; without a token there is no grant and
// every FHIR read but /fhir/metadata answers 401.
func (s *server) fhirAuth(h http.Handler) http.Handler { return s.smart.Identify(h) }
