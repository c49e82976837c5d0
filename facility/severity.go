package facility

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/hl7/immz"
)

// Severities are one facility's severities of AIRA MQE detections, by MQE
// code ("MQE0227"); a detection not in the map keeps its default
// (immz.Detections). immz.Accept silences a detection.
type Severities map[string]immz.Severity

// Severities returns facility's severities (a copy; empty if none).
func (d *Directory) Severities(facility string) Severities {
	return maps.Clone(d.cur.Load().severities[facility])
}

// SetSeverity sets facility's severity of detection code; sev 0 restores
// the default. A detection that rejects what it finds (a required element,
// see immz.Detection.Rejects) keeps its severity, as do codes iis does not
// raise: both are refused with an error. The change applies at once.
func (d *Directory) SetSeverity(ctx context.Context, facility, code string, sev immz.Severity, by string) error {
	facility, code = strings.TrimSpace(facility), strings.TrimSpace(code)
	det, ok := immz.LookupDetection(code)
	switch {
	case facility == "":
		return fmt.Errorf("facility: severity without a facility")
	case !ok:
		return fmt.Errorf("facility: %q is not an MQE detection code", code)
	case det.Rule == "":
		return fmt.Errorf("facility: %s (%s) is not raised by this IIS", code, det.Name)
	case det.Rejects:
		return fmt.Errorf("facility: %s (%s) rejects what it finds and keeps severity E", code, det.Name)
	}
	var err error
	if sev == 0 {
		_, err = d.pool.Exec(ctx, `DELETE FROM facility_severities WHERE facility = $1 AND detection = $2`, facility, code)
	} else {
		_, err = d.pool.Exec(ctx, `INSERT INTO facility_severities (facility, detection, severity, updated_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (facility, detection) DO UPDATE SET severity = EXCLUDED.severity, updated_by = EXCLUDED.updated_by, updated_at = now()`,
			facility, code, string(rune(sev)), by)
	}
	if err != nil {
		return fmt.Errorf("facility: store severity: %w", err)
	}
	return d.Reload(ctx)
}

// loadSeverities reads every facility's severities.
func (d *Directory) loadSeverities(ctx context.Context) (map[string]Severities, error) {
	rows, err := d.pool.Query(ctx, `SELECT facility, detection, severity FROM facility_severities ORDER BY facility, detection`)
	if err != nil {
		return nil, fmt.Errorf("facility: load severities: %w", err)
	}
	out := map[string]Severities{}
	var fac, code, sev string
	_, err = pgx.ForEachRow(rows, []any{&fac, &code, &sev}, func() error {
		s, err := immz.ParseSeverity(sev)
		if err != nil {
			return err
		}
		if out[fac] == nil {
			out[fac] = Severities{}
		}
		out[fac][code] = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("facility: load severities: %w", err)
	}
	return out, nil
}

// severityValidators gives a validator to each facility that has
// severities but no other settings (Reload has made the others').
func (d *Directory) severityValidators(snap *snapshot) {
	for fac, sev := range snap.severities {
		if _, ok := snap.validators[fac]; ok {
			continue
		}
		cfg := d.base
		cfg.Severities = sev
		snap.validators[fac] = immz.New(cfg)
	}
}
