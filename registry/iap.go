package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// IAPArea is one row of the town → Immunization Action Plan area map.
type IAPArea struct {
	Town, Area string // Town lower-case, as stored
	UpdatedBy  string
	UpdatedAt  time.Time
}

// IAPAreas returns the town → IAP area map, by area then town.
func (s *Store) IAPAreas(ctx context.Context) ([]IAPArea, error) {
	rows, err := s.pool.Query(ctx, `SELECT town, area, updated_by, updated_at FROM iap_areas ORDER BY area, town`)
	if err != nil {
		return nil, fmt.Errorf("registry: IAP areas: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (IAPArea, error) {
		var a IAPArea
		err := r.Scan(&a.Town, &a.Area, &a.UpdatedBy, &a.UpdatedAt)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: IAP areas: %w", err)
	}
	return out, nil
}

// SetIAPArea maps town (any case; surrounding spaces ignored) to area, or
// removes the town from the map when area is blank, with an audit row.
func (s *Store) SetIAPArea(ctx context.Context, town, area, actor string) error {
	town, area = strings.ToLower(strings.TrimSpace(town)), strings.TrimSpace(area)
	if town == "" {
		return errors.New("registry: IAP area: the town is missing")
	}
	if actor == "" {
		return errors.New("registry: IAP area: the actor is missing")
	}
	var err error
	detail := "town " + town + " removed from the IAP map"
	if area == "" {
		_, err = s.pool.Exec(ctx, `DELETE FROM iap_areas WHERE town = $1`, town)
	} else {
		detail = "town " + town + " in IAP area " + area
		_, err = s.pool.Exec(ctx, `INSERT INTO iap_areas (town, area, updated_by) VALUES ($1, $2, $3)
			ON CONFLICT (town) DO UPDATE SET area = excluded.area, updated_by = excluded.updated_by, updated_at = now()`, town, area, actor)
	}
	if err != nil {
		return fmt.Errorf("registry: IAP area: %w", err)
	}
	return s.RecordAudit(ctx, AuditEntry{Actor: actor, Action: "iap-area", Detail: detail})
}
