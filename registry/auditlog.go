package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/hl7/immz"
)

// AuditRow is one audit_log row as read back.
type AuditRow struct {
	At     time.Time
	Actor  string
	Action string
	Detail string
}

// WriteAudit writes one audit_log row: actor (e.g. "console:ana") did
// action to the patient and report given (nil: none).
//
// The detail may quote a message's identity (facility, MSH-10), which in a
// rejected or dead-lettered message can hold control characters or bytes
// that are not UTF-8: the actor and detail are written with those as \xHH
// (immz.SafeText), so that the row is always stored.
func (s *Store) WriteAudit(ctx context.Context, actor, action string, patientID, reportID *int64, detail string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_log (actor, action, patient_id, report_id, detail) VALUES ($1, $2, $3, $4, $5)`,
		immz.SafeText(actor), action, patientID, reportID, immz.SafeText(detail))
	if err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	return nil
}

// auditRows reads the audit rows a query of (at, actor, action, detail)
// returns.
func (s *Store) auditRows(ctx context.Context, sql string, args ...any) ([]AuditRow, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditRow, error) {
		var a AuditRow
		return a, r.Scan(&a.At, &a.Actor, &a.Action, &a.Detail)
	})
}
