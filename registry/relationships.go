package registry

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Relation is what ties an organization to a patient in the registry's
// records: the people's pages turn it into access (accounts.Scope).
type Relation struct {
	// Reported: a report from the organization's facility (a VXU, or a
	// record entered on the pages) carried the patient's dose or record.
	Reported bool
	// Queried: the facility was sent the patient's data (a QBP answer).
	Queried bool
	// SearchReason is the latest reason a user of the organization gave
	// for opening the patient's record found by name and birth date;
	// empty if none was given.
	SearchReason string
	// OptedOut: the patient is not disclosed (opt-out recorded, PD1-12
	// protection, registry status P).
	OptedOut bool
}

// relationColumns compute, for patient p, organization $2 and its facility
// $3 (empty: none), the columns scanned by scanRelation.
const relationColumns = notDisclosed + `,
	$3 <> '' AND (EXISTS (SELECT 1 FROM source_vaccinations v WHERE v.patient_id = p.id AND v.facility = $3)
		OR EXISTS (SELECT 1 FROM audit_log a JOIN source_reports r ON r.id = a.report_id
			WHERE a.patient_id = p.id AND a.report_id IS NOT NULL AND r.facility = $3)),
	$3 <> '' AND EXISTS (SELECT 1 FROM audit_log a WHERE a.patient_id = p.id AND a.action = 'disclose' AND a.actor = 'facility:' || $3),
	coalesce((SELECT s.reason FROM patient_searches s WHERE s.patient_id = p.id AND s.org_id = $2 ORDER BY s.searched_at DESC, s.id DESC LIMIT 1), '')`

// Relations returns the relation of organization orgID (whose HL7 facility
// identity is facility, empty for an organization that reports none) to
// each of the patients ids that exists.
func (s *Store) Relations(ctx context.Context, ids []int64, orgID int64, facility string) (map[int64]Relation, error) {
	rows, err := s.pool.Query(ctx, `SELECT p.id, `+relationColumns+` FROM patients p WHERE p.id = ANY($1)`, ids, orgID, facility)
	if err != nil {
		return nil, fmt.Errorf("registry: relations: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]Relation, len(ids))
	for rows.Next() {
		var id int64
		var r Relation
		if err := rows.Scan(&id, &r.OptedOut, &r.Reported, &r.Queried, &r.SearchReason); err != nil {
			return nil, fmt.Errorf("registry: relations: %w", err)
		}
		out[id] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: relations: %w", err)
	}
	return out, nil
}

// Relation returns organization orgID's relation to one patient;
// ErrNoPatient if there is no such patient.
func (s *Store) Relation(ctx context.Context, patientID, orgID int64, facility string) (Relation, error) {
	rs, err := s.Relations(ctx, []int64{patientID}, orgID, facility)
	if err != nil {
		return Relation{}, err
	}
	r, ok := rs[patientID]
	if !ok {
		return Relation{}, fmt.Errorf("%w: %d", ErrNoPatient, patientID)
	}
	return r, nil
}

// SearchReason is a reason recorded for opening a record found by name
// and birth date outside the organization's relationships.
type SearchReason struct {
	PatientID int64
	OrgID     int64
	User      string // the audit actor, "user:alice"
	Reason    string
	At        time.Time
}

// RecordSearchReason records why a user of an organization opens a
// patient's record found by name and birth date, and audits it, in one
// transaction.
func (s *Store) RecordSearchReason(ctx context.Context, r SearchReason) error {
	r.Reason = strings.TrimSpace(r.Reason)
	if r.Reason == "" || r.User == "" {
		return fmt.Errorf("registry: search reason: a reason and a user are required")
	}
	b := s.pool
	tx, err := b.Begin(ctx)
	if err != nil {
		return fmt.Errorf("registry: search reason: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO patient_searches (patient_id, org_id, user_name, reason) VALUES ($1, $2, $3, $4)`,
		r.PatientID, r.OrgID, r.User, r.Reason); err != nil {
		return fmt.Errorf("registry: search reason: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log (actor, action, patient_id, detail) VALUES ($1, 'search-reason', $2, $3)`,
		r.User, r.PatientID, fmt.Sprintf("organization %d: %s", r.OrgID, r.Reason)); err != nil {
		return fmt.Errorf("registry: search reason: audit: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("registry: search reason: %w", err)
	}
	return nil
}
