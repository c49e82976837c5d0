// Package bulk is FHIR Bulk Data Access (v2.0.0) for an immunization
// registry, the Helios pattern: Groups of patients — the automatic Group
// of each facility (every patient it reported or queried over HL7 v2) and
// the Groups a client manages itself over FHIR — and the asynchronous
// Group-level $export of their Patient, Immunization and
// ImmunizationRecommendation resources as NDJSON.
//
// Every request runs under a smart.Grant (package smart's middleware puts
// it in the context). Export jobs live in PostgreSQL: they survive a
// restart and a job is run by one replica (claimed with FOR UPDATE SKIP
// LOCKED, kept with heartbeats). The NDJSON files are kept in PostgreSQL
// too, in chunks, so that any replica answers any status poll or file
// download without shared storage, and expiry is one DELETE.
//
// The resources themselves come from a Source (the FHIR API, which
// filters out patients not to be disclosed and audits every disclosure).
package bulk

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/iisproject/iis/registry"
)

// Source writes the resources of one type for patients, one JSON line
// each, to emit: the patients' resources changed since since (zero: all).
// It runs under the export's smart.Grant in ctx.
type Source interface {
	ExportNDJSON(ctx context.Context, resourceType string, patientIDs []int64, since time.Time, emit func(line []byte) error) error
}

// Registry is what the Groups ask of the registry.
type Registry interface {
	// FacilityPatients lists a facility's v2 relationships (its automatic Group).
	FacilityPatients(ctx context.Context, facility string) ([]int64, error)
	// Relations tells how a facility is related to patients.
	Relations(ctx context.Context, ids []int64, orgID int64, facility string) (map[int64]registry.Relation, error)
	// Disclosable tells which patients exist and may be disclosed.
	Disclosable(ctx context.Context, ids []int64) (map[int64]bool, error)
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
}

// ExportTypes are the resource types $export writes, in order.
var ExportTypes = []string{"Patient", "Immunization", "ImmunizationRecommendation"}

// Config configures the Bulk Data server.
type Config struct {
	Store    *Store
	Registry Registry
	Source   Source
	// BaseURL is the server's address in Content-Location and file URLs
	// (empty: from each request's scheme and Host).
	BaseURL string
	// FileTTL is how long a finished export's files are kept (default 1 hour).
	FileTTL time.Duration
	// Poll is how often the runner looks for queued exports (default 1 s).
	Poll time.Duration
	// Stale is how long a running export may go without a heartbeat
	// before another runner takes it over (default 1 minute).
	Stale time.Duration
	// Worker names this runner among the replicas (default: a random id).
	Worker string
	// ChunkSize is the bytes of NDJSON stored together (default 1 MiB).
	ChunkSize int
	// Batch is how many patients are asked of the Source at once (default 1,000).
	Batch int
	// Workers is how many batches are read from the Source at once
	// (default GOMAXPROCS: an export may use every core).
	Workers int
	Logger  *slog.Logger
}

// Server serves Groups and $export and runs export jobs.
type Server struct {
	cfg  Config
	wake chan struct{}
}

// New returns the server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Registry == nil || cfg.Source == nil {
		return nil, errors.New("bulk: a store, a registry and a source are required")
	}
	if cfg.FileTTL <= 0 {
		cfg.FileTTL = time.Hour
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Stale <= 0 {
		cfg.Stale = time.Minute
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 1 << 20
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Worker == "" {
		id, err := newID("w")
		if err != nil {
			return nil, err
		}
		cfg.Worker = id
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Server{cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// Register adds the Group and export endpoints; handle must put them
// behind smart's bearer token check.
func (s *Server) Register(handle func(pattern string, h http.Handler)) {
	handle("GET /fhir/Group", http.HandlerFunc(s.searchGroups))
	handle("POST /fhir/Group", http.HandlerFunc(s.createGroup))
	handle("GET /fhir/Group/{id}", http.HandlerFunc(s.readGroup))
	handle("PUT /fhir/Group/{id}", http.HandlerFunc(s.updateGroup))
	handle("DELETE /fhir/Group/{id}", http.HandlerFunc(s.deleteGroup))
	handle("GET /fhir/Group/{id}/$export", http.HandlerFunc(s.kickOff))
	handle("GET /fhir/bulkstatus/{id}", http.HandlerFunc(s.status))
	handle("DELETE /fhir/bulkstatus/{id}", http.HandlerFunc(s.cancel))
	handle("GET /fhir/bulkfiles/{id}/{file}", http.HandlerFunc(s.file))
}

func (s *Server) base(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
