package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// OptOut is one recorded opt-out of a patient (a form signed by the
// parent), or its reversal.
type OptOut struct {
	PatientID  int64
	Reversal   bool      // the opt-out was withdrawn
	SignedOn   time.Time // the date the parent signed the form
	FormRef    string    // where the signed form is kept (scan id, file number)
	RecordedBy string    // the user who recorded it ("user:alice")
	OrgID      int64     // the user's organization
	RecordedAt time.Time
}

// ErrOptOutState is returned when an opt-out is recorded for a patient
// already opted out, or a reversal for one who is not.
var ErrOptOutState = errors.New("registry: opt-out already in that state")

// ErrInvalidOptOut is returned for an opt-out without its signed date,
// form reference or recorder, or for an unknown patient.
var ErrInvalidOptOut = errors.New("registry: invalid opt-out")

// RecordOptOut records o (an opt-out, or with o.Reversal its reversal),
// sets the patient's opted_out flag that queries and searches honour, and
// writes the audit log, in one transaction.
func (s *Store) RecordOptOut(ctx context.Context, o OptOut) error {
	switch {
	case o.SignedOn.IsZero():
		return fmt.Errorf("%w: the date the form was signed is required", ErrInvalidOptOut)
	case strings.TrimSpace(o.FormRef) == "":
		return fmt.Errorf("%w: the signed form's reference is required", ErrInvalidOptOut)
	case o.RecordedBy == "":
		return fmt.Errorf("%w: who recorded it is required", ErrInvalidOptOut)
	}
	kind, action, want := "opt-out", "opt-out", true
	if o.Reversal {
		kind, action, want = "reversal", "opt-out-reversal", false
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE patients SET opted_out = $2, updated_at = now() WHERE id = $1 AND opted_out <> $2`, o.PatientID, want)
		if err != nil {
			return fmt.Errorf("registry: opt-out of %d: %w", o.PatientID, err)
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1)`, o.PatientID).Scan(&exists); err != nil {
				return fmt.Errorf("registry: opt-out of %d: %w", o.PatientID, err)
			}
			if !exists {
				return fmt.Errorf("%w: no patient %d", ErrInvalidOptOut, o.PatientID)
			}
			return ErrOptOutState
		}
		if _, err := tx.Exec(ctx, `INSERT INTO patient_opt_outs (patient_id, kind, signed_on, form_ref, recorded_by, org_id)
			VALUES ($1, $2, $3, $4, $5, $6)`, o.PatientID, kind, o.SignedOn, strings.TrimSpace(o.FormRef), o.RecordedBy, o.OrgID); err != nil {
			return fmt.Errorf("registry: opt-out of %d: %w", o.PatientID, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_log (actor, action, patient_id, detail) VALUES ($1, $2, $3, $4)`,
			o.RecordedBy, action, o.PatientID, "form "+strings.TrimSpace(o.FormRef)+" signed "+o.SignedOn.Format(time.DateOnly)); err != nil {
			return fmt.Errorf("registry: opt-out of %d: audit: %w", o.PatientID, err)
		}
		return nil
	})
}

// OptOutHistory returns a patient's opt-outs and reversals, oldest first.
func (s *Store) OptOutHistory(ctx context.Context, patientID int64) ([]OptOut, error) {
	rows, err := s.pool.Query(ctx, `SELECT patient_id, kind = 'reversal', signed_on, form_ref, recorded_by, org_id, recorded_at
		FROM patient_opt_outs WHERE patient_id = $1 ORDER BY recorded_at, id`, patientID)
	if err != nil {
		return nil, fmt.Errorf("registry: opt-out history of %d: %w", patientID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (OptOut, error) {
		var o OptOut
		err := row.Scan(&o.PatientID, &o.Reversal, &o.SignedOn, &o.FormRef, &o.RecordedBy, &o.OrgID, &o.RecordedAt)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: opt-out history of %d: %w", patientID, err)
	}
	return out, nil
}

// OptedOut reports whether the patient is opted out (recorded here) or
// protected (PD1-12 Y, or registry status P).
func (s *Store) OptedOut(ctx context.Context, patientID int64) (bool, error) {
	var out bool
	err := s.pool.QueryRow(ctx, `SELECT `+notDisclosed+` FROM patients p WHERE p.id = $1`, patientID).Scan(&out)
	if err != nil {
		return false, fmt.Errorf("registry: opted out %d: %w", patientID, err)
	}
	return out, nil
}

// notDisclosed is true for a patient (p) whose data is not disclosed: an
// opt-out recorded on the people's pages, PD1-12 protection Y, or the
// registry status P (permanently inactive / opted out).
const notDisclosed = `(p.opted_out OR p.protection = 'Y' OR p.registry_status = 'P')`
