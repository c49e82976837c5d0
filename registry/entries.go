package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/iisproject/iis"
)

// What the direct data entry pages (package entry) read: the patient a
// stored report was filed under, and the doses a facility reported, so
// that a clinic corrects or deletes only its own.

// ErrNoSuchDose is returned for a source dose id the registry does not
// hold.
var ErrNoSuchDose = errors.New("registry: no such dose")

// StoredReport is what became of a message the registry was sent.
type StoredReport struct {
	// Stored: the worker has stored the message (accepted or not).
	Stored bool
	// Kind is vxu or rejected.
	Kind string
	// PatientID is the patient the report was filed under (after any
	// merge, the surviving record); 0 when it named no usable patient.
	PatientID int64
	// Outcome is how the patient was found (identifier, match, possible,
	// new).
	Outcome MatchOutcome
}

// ReportPatient returns what became of the message (facility, control
// id): Stored is false while the worker has not stored it yet.
func (s *Store) ReportPatient(ctx context.Context, facility, controlID string) (StoredReport, error) {
	var r StoredReport
	var pid *int64
	var outcome string
	err := s.pool.QueryRow(ctx, `SELECT r.kind, coalesce(p.merged_into, r.patient_id), r.match_outcome
		FROM source_reports r LEFT JOIN patients p ON p.id = r.patient_id
		WHERE r.facility = $1 AND r.control_id = $2`, facility, controlID).Scan(&r.Kind, &pid, &outcome)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("registry: report %s/%s: %w", facility, controlID, err)
	}
	r.Stored, r.Outcome = true, MatchOutcome(outcome)
	if pid != nil {
		r.PatientID = *pid
	}
	return r, nil
}

// SourceDose is one dose as one report gave it: a row of
// source_vaccinations with its details.
type SourceDose struct {
	ID        int64 // source_vaccinations.id
	PatientID int64
	ReportID  int64
	Facility  string // the reporting facility (MSH-4 or the transport's)
	ControlID string
	Transport string    // mllp, soap, web …
	Received  time.Time // when the registry received the report
	// Consolidation is winner, duplicate, not_event, superseded or delete
	// (see the registry's README); only winner, duplicate and not_event
	// are the current version of a dose.
	Consolidation string
	EventID       int64 // the consolidated event it belongs to; 0 if none
	// Vaccination is the dose as reported: ORC-3 (FillerOrder, whose
	// Authority is the facility when the sender gave no namespace),
	// RXA, RXR and OBX.
	Vaccination iis.Vaccination
}

// Current reports whether d is the standing version of its dose (not
// replaced by an update nor removed by a delete).
func (d SourceDose) Current() bool {
	return d.Consolidation == "winner" || d.Consolidation == "duplicate" || d.Consolidation == "not_event"
}

const sourceDoseColumns = `v.id, v.patient_id, v.report_id, v.facility, v.control_id, r.transport, v.received_at, v.consolidation,
	coalesce(v.event_id, 0), v.position, v.filler_order, v.cvx, v.ndc, v.administered_on, v.lot, v.mvx, v.historical,
	v.action, v.completion_status, v.detail`

func (s *Store) scanSourceDose(row pgx.Row) (SourceDose, error) {
	var d SourceDose
	v := &d.Vaccination
	var filler, lot, mvx, detail string
	var on pgtype.Date
	err := row.Scan(&d.ID, &d.PatientID, &d.ReportID, &d.Facility, &d.ControlID, &d.Transport, &d.Received, &d.Consolidation,
		&d.EventID, &v.Position, &filler, &v.CVX, &v.NDC, &on, &lot, &mvx, &v.Historical, &v.Action, &v.CompletionStatus, &detail)
	if err != nil {
		return d, err
	}
	v.AdministeredAt = date(on)
	value, ns, _ := strings.Cut(filler, "^")
	if ns == "" && value != "" {
		ns = d.Facility
	}
	v.FillerOrder = iis.Identifier{Value: value, Authority: ns}
	v.Vaccine = iis.Code{Code: v.CVX, System: "CVX"}
	if lot != "" {
		v.Lots = []string{lot}
	}
	if mvx != "" {
		v.Manufacturer = iis.Code{Code: mvx, System: "MVX"}
	}
	if err := decodeDose(detail, v); err != nil {
		return d, err
	}
	return d, nil
}

// SourceDose returns the source dose id, or ErrNoSuchDose.
func (s *Store) SourceDose(ctx context.Context, id int64) (SourceDose, error) {
	d, err := s.scanSourceDose(s.pool.QueryRow(ctx, `SELECT `+sourceDoseColumns+`
		FROM source_vaccinations v JOIN source_reports r ON r.id = v.report_id WHERE v.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrNoSuchDose
	}
	if err != nil {
		return d, fmt.Errorf("registry: source dose %d: %w", id, err)
	}
	return d, nil
}

// FacilityDoses returns the current doses (and refusals, 998 records)
// that facility reported for patient patientID, in date order.
func (s *Store) FacilityDoses(ctx context.Context, patientID int64, facility string) ([]SourceDose, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sourceDoseColumns+`
		FROM source_vaccinations v JOIN source_reports r ON r.id = v.report_id
		WHERE v.patient_id = $1 AND v.facility = $2 AND v.consolidation IN ('winner', 'duplicate', 'not_event')
		ORDER BY v.administered_on, v.id`, patientID, facility)
	if err != nil {
		return nil, fmt.Errorf("registry: doses of %d from %s: %w", patientID, facility, err)
	}
	defer rows.Close()
	var out []SourceDose
	for rows.Next() {
		d, err := s.scanSourceDose(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: doses of %d from %s: %w", patientID, facility, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: doses of %d from %s: %w", patientID, facility, err)
	}
	return out, nil
}

// ReportedBy reports whether facility has reported anything (a dose, a
// refusal, the patient without a dose) of patient patientID.
func (s *Store) ReportedBy(ctx context.Context, patientID int64, facility string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM source_vaccinations WHERE patient_id = $1 AND facility = $2)`,
		patientID, facility).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("registry: reports of %d from %s: %w", patientID, facility, err)
	}
	return ok, nil
}
