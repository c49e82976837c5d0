// Package facility keeps the per-facility settings that operators change
// from the console — which MSH-11 processing IDs a facility may send,
// whether its warnings-only messages are answered AE, the severity of each
// data quality (AIRA MQE) detection — and gives the
// ingest path the validator each facility gets.
//
// Settings live in the registry's PostgreSQL (table facility_settings). A
// Directory holds them in memory: a change made through Put takes effect at
// once in this process, and other processes (listeners scaled out) pick it
// up within their refresh interval.
package facility

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/iisproject/iis/hl7/immz"
)

// Settings are one facility's overrides of the server's configuration.
type Settings struct {
	Facility string
	// ProcessingIDs are the accepted MSH-11 values; nil: the server's.
	ProcessingIDs []string
	// WarningsAsAE answers warnings-only messages AE; nil: the server's.
	WarningsAsAE *bool
	Note         string
	UpdatedBy    string
	UpdatedAt    time.Time
}

// Directory serves the settings of every facility.
type Directory struct {
	pool *pgxpool.Pool
	base immz.Config
	log  *slog.Logger
	cur  atomic.Pointer[snapshot]
}

type snapshot struct {
	settings   []Settings
	validators map[string]*immz.Validator
	severities map[string]Severities // see severity.go
}

// Open loads the settings. base is the server's validator configuration.
func Open(ctx context.Context, pool *pgxpool.Pool, base immz.Config, log *slog.Logger) (*Directory, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Directory{pool: pool, base: base, log: log}
	d.cur.Store(&snapshot{})
	if err := d.Reload(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// Validator returns facility's validator, or nil when it has no settings
// of its own. It implements ingest.Profiles.
func (d *Directory) Validator(facility string) *immz.Validator {
	return d.cur.Load().validators[facility]
}

// List returns every facility's settings, by facility.
func (d *Directory) List() []Settings { return d.cur.Load().settings }

// Get returns facility's settings (zero Settings with the name if none).
func (d *Directory) Get(facility string) Settings {
	for _, s := range d.cur.Load().settings {
		if s.Facility == facility {
			return s
		}
	}
	return Settings{Facility: facility}
}

// Put stores s (replacing the facility's earlier settings) and applies it
// in this process at once.
func (d *Directory) Put(ctx context.Context, s Settings) error {
	s.Facility = strings.TrimSpace(s.Facility)
	if s.Facility == "" {
		return fmt.Errorf("facility: settings without a facility")
	}
	for _, p := range s.ProcessingIDs {
		if p != "P" && p != "T" && p != "D" {
			return fmt.Errorf("facility: processing ID %q is not one of P, T, D (HL7 table 0103)", p)
		}
	}
	if _, err := d.pool.Exec(ctx, `INSERT INTO facility_settings (facility, processing_ids, warnings_as_ae, note, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, now())
		ON CONFLICT (facility) DO UPDATE SET processing_ids = EXCLUDED.processing_ids,
			warnings_as_ae = EXCLUDED.warnings_as_ae, note = EXCLUDED.note,
			updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
		s.Facility, s.ProcessingIDs, s.WarningsAsAE, s.Note, s.UpdatedBy); err != nil {
		return fmt.Errorf("facility: store settings: %w", err)
	}
	return d.Reload(ctx)
}

// Reload reads the settings from the database.
func (d *Directory) Reload(ctx context.Context) error {
	rows, err := d.pool.Query(ctx, `SELECT facility, processing_ids, warnings_as_ae, note, updated_by, updated_at
		FROM facility_settings ORDER BY facility`)
	if err != nil {
		return fmt.Errorf("facility: load settings: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Settings, error) {
		var s Settings
		err := r.Scan(&s.Facility, &s.ProcessingIDs, &s.WarningsAsAE, &s.Note, &s.UpdatedBy, &s.UpdatedAt)
		return s, err
	})
	if err != nil {
		return fmt.Errorf("facility: load settings: %w", err)
	}
	sevs, err := d.loadSeverities(ctx)
	if err != nil {
		return err
	}
	snap := &snapshot{settings: list, validators: make(map[string]*immz.Validator, len(list)), severities: sevs}
	for _, s := range list {
		if s.ProcessingIDs == nil && s.WarningsAsAE == nil {
			continue
		}
		cfg := d.base
		cfg.Severities = sevs[s.Facility]
		if s.ProcessingIDs != nil {
			cfg.ProcessingIDs = slices.Clone(s.ProcessingIDs)
		}
		if s.WarningsAsAE != nil {
			cfg.WarningsAsAE = *s.WarningsAsAE
		}
		snap.validators[s.Facility] = immz.New(cfg)
	}
	d.severityValidators(snap)
	d.cur.Store(snap)
	return nil
}

// Run reloads the settings every interval until ctx ends, so that changes
// made by another process are picked up.
func (d *Directory) Run(ctx context.Context, every time.Duration) {
	reloadEvery(ctx, every, d.Reload, d.log, "facility settings not reloaded")
}

// reloadEvery calls reload every interval until ctx ends, logging a
// failure as what.
func reloadEvery(ctx context.Context, every time.Duration, reload func(context.Context) error, log *slog.Logger, what string) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := reload(ctx); err != nil && ctx.Err() == nil {
				log.Warn(what, "err", err)
			}
		}
	}
}
