package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrNoPatient: no patient has that id.
var ErrNoPatient = errors.New("registry: no such patient")

// PatientRelationship is what ties a facility to a patient in the
// registry, for deciding who may see the record.
type PatientRelationship struct {
	Reported  bool // the facility reported a dose now linked to the patient
	Queried   bool // the facility was sent the patient's record in answer to a query
	Protected bool // the patient opted out or is protected (PD1-12 Y, PD1-16 P)
}

// PatientRelationship looks up facility's relationship to a patient; with
// an empty facility only Protected is filled in.
func (s *Store) PatientRelationship(ctx context.Context, patientID int64, facility string) (PatientRelationship, error) {
	var r PatientRelationship
	err := s.pool.QueryRow(ctx, `SELECT p.protection = 'Y' OR p.registry_status = 'P',
			$2 <> '' AND EXISTS (SELECT 1 FROM source_vaccinations v JOIN source_reports x ON x.id = v.report_id
				WHERE v.patient_id = p.id AND x.facility = $2),
			$2 <> '' AND EXISTS (SELECT 1 FROM audit_log a WHERE a.patient_id = p.id AND a.action = 'disclose' AND a.actor = 'facility:' || $2)
		FROM patients p WHERE p.id = $1`, patientID, facility).Scan(&r.Protected, &r.Reported, &r.Queried)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNoPatient
	}
	if err != nil {
		return r, fmt.Errorf("registry: patient relationship: %w", err)
	}
	return r, nil
}
