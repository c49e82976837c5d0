package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/hl7/immz"
)

// AuditEntry is one row of the audit log written on behalf of another
// package (the accounts store's sign-ins, approvals, disables, resets; the
// console's views and resends).
type AuditEntry struct {
	Actor     string // who: "user:alice", "console:ana", "public"
	Action    string // what: "sign-in", "account-approve", …
	PatientID *int64 // the patient concerned, if any
	ReportID  *int64 // the message concerned, if any
	Detail    string // free text without patient data
}

// RecordAudit writes e to the audit log.
//
// The detail may quote a message's identity (facility, MSH-10), which in a
// rejected or dead-lettered message can hold control characters or bytes
// that are not UTF-8: the actor and detail are written with those as \xHH
// (immz.SafeText), so that the row is always stored.
func (s *Store) RecordAudit(ctx context.Context, e AuditEntry) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("registry: audit entry needs an actor and an action")
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit_log (actor, action, patient_id, report_id, detail) VALUES ($1, $2, $3, $4, $5)`,
		immz.SafeText(e.Actor), e.Action, e.PatientID, e.ReportID, immz.SafeText(e.Detail)); err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	return nil
}

// AuditTrail returns actor's newest audit entries, at most limit of
// them, newest first.
func (s *Store) AuditTrail(ctx context.Context, actor string, limit int) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT actor, action, patient_id, detail FROM audit_log
		WHERE actor = $1 ORDER BY at DESC, id DESC LIMIT $2`, actor, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: audit trail: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.Actor, &e.Action, &e.PatientID, &e.Detail); err != nil {
			return nil, fmt.Errorf("registry: audit trail: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditRow is one audit_log row as read back.
type AuditRow struct {
	At     time.Time
	Actor  string
	Action string
	Detail string
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
