package registry

import (
	"context"
	"fmt"
)

// AuditEntry is one row of the audit log written on behalf of another
// package (the accounts store's sign-ins, approvals, disables, resets).
type AuditEntry struct {
	Actor     string // who: "user:alice", "console:ana", "public"
	Action    string // what: "sign-in", "account-approve", …
	PatientID *int64 // the patient concerned, if any
	Detail    string // free text without patient data
}

// RecordAudit writes e to the audit log.
func (s *Store) RecordAudit(ctx context.Context, e AuditEntry) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("registry: audit entry needs an actor and an action")
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit_log (actor, action, patient_id, detail) VALUES ($1, $2, $3, $4)`,
		e.Actor, e.Action, e.PatientID, e.Detail); err != nil {
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
