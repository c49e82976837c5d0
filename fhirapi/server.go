// Package fhirapi serves the registry's records as FHIR R4 (JSON): Patient
// read and search, Patient/$match with the matcher of v2 queries,
// Immunization read and search, ImmunizationEvaluation and
// ImmunizationRecommendation from the CDSi engine, $immds-forecast (for a
// stored patient, and at system level for a history sent in), the
// CapabilityStatement, and the NDJSON lines Bulk Data export writes
// (ExportNDJSON).
//
// Resources are github.com/google/fhir/go's R4 protocol buffers, written
// with its jsonformat marshaller. The v2→FHIR mapping follows HL7's
// V2-to-FHIR IG for the segments of a VXU.
//
// Privacy is that of v2 queries: a patient who opted out or whose record
// is protected is never disclosed (absent from searches, 404 on read);
// every disclosure is audited per patient (actor "fhir:<client id>"); a
// client sees what its grant (smart.FromContext) allows: the resource
// types its scopes name, and, for a grant made for a facility, only the
// patients that facility reported or was sent.
package fhirapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/smart"
)

// Registry is what the FHIR API reads from the registry.
type Registry interface {
	ReadRecords(ctx context.Context, ids []int64, facility string, since time.Time, parts registry.RecordParts) ([]registry.DisclosableRecord, error)
	SearchDisclosable(ctx context.Context, q registry.DisclosableSearch) ([]int64, error)
	DosePatient(ctx context.Context, doseID int64) (int64, error)
	// ForecastRecord reads what a forecast needs of a patient's record:
	// birth date, sex, observations, the doses, and what decides whether
	// it may be disclosed; nil for an unknown patient.
	ForecastRecord(ctx context.Context, id int64, facility string) (*registry.DisclosableRecord, error)
	FindForQuery(ctx context.Context, q *immz.Query) ([]registry.QueryCandidate, error)
	RecordAudits(ctx context.Context, es []registry.AuditEntry) error
}

// Config configures a Server.
type Config struct {
	Registry   Registry
	Forecaster *forecast.Engine
	// BaseURL is the FHIR base the links of Bundles are made from, e.g.
	// https://iis.example.org/fhir; empty: /fhir (relative).
	BaseURL string
	Logger  *slog.Logger
	Now     func() time.Time
}

// Server answers FHIR requests.
type Server struct {
	reg    Registry
	fc     *forecast.Engine
	base   string
	log    *slog.Logger
	now    func() time.Time
	json   *jsonformat.Marshaller
	parse  *jsonformat.Unmarshaller
	capab  []byte
	audits *registry.GroupWriter[registry.AuditEntry]
}

// New returns a Server; Close stops its audit writer.
func New(cfg Config) (*Server, error) {
	if cfg.Registry == nil || cfg.Forecaster == nil {
		return nil, errors.New("fhirapi: a registry and a forecaster are required")
	}
	m, err := jsonformat.NewMarshaller(false, "", "", fhirversion.R4)
	if err != nil {
		return nil, fmt.Errorf("fhirapi: marshaller: %w", err)
	}
	u, err := newUnmarshaller()
	if err != nil {
		return nil, fmt.Errorf("fhirapi: unmarshaller: %w", err)
	}
	s := &Server{reg: cfg.Registry, fc: cfg.Forecaster, base: cfg.BaseURL, log: cfg.Logger, now: cfg.Now, json: m, parse: u}
	if s.base == "" {
		s.base = "/fhir"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.capab, err = s.json.MarshalResource(capabilityStatement(s.fc.Version())); err != nil {
		return nil, fmt.Errorf("fhirapi: capability statement: %w", err)
	}
	s.audits = registry.NewGroupWriter(s.reg.RecordAudits, maxAuditBatch)
	return s, nil
}

// Errors of authorization.
var (
	// ErrNoGrant: the context carries no grant (no or a bad access token).
	ErrNoGrant = errors.New("fhirapi: no access token")
	// ErrForbidden: the grant does not allow the resource type.
	ErrForbidden = errors.New("fhirapi: the access token's scopes do not allow this")
)

// authorize returns the context's grant if it allows perm on each of the
// resource types.
func authorize(ctx context.Context, perm byte, resourceTypes ...string) (smart.Grant, error) {
	g, ok := smart.FromContext(ctx)
	if !ok || g.ClientID == "" {
		return g, ErrNoGrant
	}
	for _, t := range resourceTypes {
		if !g.Allows(t, perm) {
			return g, fmt.Errorf("%w: %c on %s", ErrForbidden, perm, t)
		}
	}
	return g, nil
}

// actor is the audit log's name of a grant's client.
func actor(g smart.Grant) string { return "fhir:" + g.ClientID }

// newUnmarshaller reads R4 JSON, with dates without a zone at UTC.
func newUnmarshaller() (*jsonformat.Unmarshaller, error) {
	return jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
}
