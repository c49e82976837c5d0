package registry

import (
	"context"
	"fmt"
)

// facilityPatients are the ids of the patients facility $1 reported (a
// dose of a VXU, or a report matched to them) or was sent (a QBP answer),
// less those not disclosed.
const facilityPatients = `SELECT p.id FROM patients p
	JOIN (SELECT patient_id FROM source_vaccinations WHERE facility = $1
		UNION SELECT a.patient_id FROM source_reports r JOIN audit_log a ON a.report_id = r.id
			WHERE r.facility = $1 AND a.patient_id IS NOT NULL
		UNION SELECT patient_id FROM audit_log WHERE actor = 'facility:' || $1 AND action = 'disclose' AND patient_id IS NOT NULL
	) rel ON rel.patient_id = p.id
	WHERE NOT ` + notDisclosed + ` ORDER BY p.id`

// FacilityPatients returns, in id order, every patient facility (an MSH-4
// id) has a relationship with through v2 — it reported them or queried
// them — leaving out the patients not disclosed (opted out, protected,
// inactive). It is the membership of the facility's automatic Group.
func (s *Store) FacilityPatients(ctx context.Context, facility string) ([]int64, error) {
	rows, err := s.pool.Query(ctx, facilityPatients, facility)
	if err != nil {
		return nil, fmt.Errorf("registry: facility patients: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("registry: facility patients: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: facility patients: %w", err)
	}
	return ids, nil
}

// Disclosable returns which of ids are patients that exist and may be
// disclosed (not opted out, protected or inactive).
func (s *Store) Disclosable(ctx context.Context, ids []int64) (map[int64]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT p.id FROM patients p WHERE p.id = ANY($1) AND NOT `+notDisclosed, ids)
	if err != nil {
		return nil, fmt.Errorf("registry: disclosable: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]bool, len(ids))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("registry: disclosable: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}
