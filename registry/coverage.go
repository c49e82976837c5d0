package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/iisproject/iis"
)

// CohortFilter selects the patients of a coverage cohort.
type CohortFilter struct {
	// Born is the cohort's range of birth dates, both ends included.
	BornFrom, BornTo time.Time
	// Facility, when set, keeps the children attributed to that clinic
	// (see CohortChild.Facility).
	Facility string
	// Town and County, when set, keep the children whose latest address
	// is there (case-insensitive).
	Town, County string
	// Partitions and Partition, when Partitions > 1, keep the patients
	// whose id modulo Partitions is Partition: several workers (or
	// machines) each read and evaluate one part.
	Partitions, Partition int64
	// Batch is the number of children per batch (default 2,000).
	Batch int
}

// CohortChild is one child of a cohort with the record coverage needs.
type CohortChild struct {
	ID int64
	// Patient holds the birth date, sex and patient-level observations.
	Patient      iis.Patient
	Vaccinations []iis.Vaccination
	// Facility is the clinic the child is attributed to: the facility that
	// most recently reported a vaccination (or refusal) of the child,
	// leaving out the facilities that marked the child moved or gone
	// elsewhere; "" when none.
	Facility string
	// Town and County are the latest reported address's.
	Town, County string
	// NotDisclosed: opted out or protected; only program staff see who.
	NotDisclosed bool
}

// cohortQuery reads one batch of a cohort: patients not merged away and
// alive, born in [$1, $2], after id $3, attributed to $4 (any if ”), in
// town $5 and county $6 (any if ”), in partition $8 of $7 (all if $7 <=
// 1), $9 at most, by id.
const cohortQuery = `SELECT p.id, p.birth_date, p.sex, coalesce(a.facility, ''), coalesce(ad.city, ''), coalesce(ad.county, ''), ` + notDisclosed + `,
		ARRAY(SELECT detail FROM patient_observations WHERE patient_id = p.id ORDER BY report_id, seq),
		` + doseColumn + `
	FROM patients p
	LEFT JOIN LATERAL (SELECT v.facility FROM source_vaccinations v
		WHERE v.patient_id = p.id AND v.consolidation <> 'superseded'
			AND NOT EXISTS (SELECT 1 FROM coverage_moge m WHERE m.patient_id = p.id AND m.facility = v.facility)
		ORDER BY v.received_at DESC, v.id DESC LIMIT 1) a ON true
	LEFT JOIN LATERAL (SELECT city, county FROM patient_addresses WHERE patient_id = p.id
		ORDER BY reported_at DESC LIMIT 1) ad ON true
	WHERE p.merged_into IS NULL AND p.death_date IS NULL AND p.birth_date BETWEEN $1 AND $2 AND p.id > $3
		AND ($4 = '' OR a.facility = $4)
		AND ($5 = '' OR lower(ad.city) = lower($5)) AND ($6 = '' OR lower(ad.county) = lower($6))
		AND ($7 <= 1 OR p.id % $7 = $8)`

// cohortOrder ends cohortQuery; cohortOfFacility narrows it first to the
// patients of the facility's reports (source_reports by facility is
// indexed), so that one clinic's cohort is not found by attributing every
// child of the state's.
const (
	cohortOrder      = ` ORDER BY p.id LIMIT $9`
	cohortOfFacility = ` AND p.id IN (SELECT r.patient_id FROM source_reports r WHERE r.facility = $4 AND r.patient_id IS NOT NULL)`
)

// Cohort reads the children of a cohort in batches of f.Batch, in id
// order, calling each with one batch (the slice is reused: each must not
// keep it); the next batch is read while each runs. It stops at the
// first error each returns.
func (s *Store) Cohort(ctx context.Context, f CohortFilter, each func([]CohortChild) error) error {
	if f.Batch <= 0 {
		f.Batch = 2000
	}
	type batch struct {
		kids []CohortChild
		err  error
	}
	ch := make(chan batch, 1)
	free := make(chan []CohortChild, 2)
	free <- nil
	free <- nil
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(ch)
		var after int64
		for {
			var buf []CohortChild
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			kids, err := s.cohortBatch(ctx, f, after, buf[:0])
			select {
			case ch <- batch{kids, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(kids) < f.Batch {
				return
			}
			after = kids[len(kids)-1].ID
		}
	}()
	for b := range ch {
		if b.err != nil {
			return b.err
		}
		if len(b.kids) > 0 {
			if err := each(b.kids); err != nil {
				return err
			}
		}
		free <- b.kids
	}
	return ctx.Err()
}

func (s *Store) cohortBatch(ctx context.Context, f CohortFilter, after int64, out []CohortChild) ([]CohortChild, error) {
	// The statement's estimated cost (a subquery per child) is high enough
	// for PostgreSQL to compile it with JIT, which took longer than the
	// query itself (1.3 s of a 2.5 s batch at 1,000,000 patients): off for
	// this transaction.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return out, fmt.Errorf("registry: cohort: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		return out, fmt.Errorf("registry: cohort: %w", err)
	}
	sql := cohortQuery + cohortOrder
	if f.Facility != "" {
		sql = cohortQuery + cohortOfFacility + cohortOrder
	}
	rows, err := tx.Query(ctx, sql, f.BornFrom, f.BornTo, after, f.Facility, f.Town, f.County,
		f.Partitions, f.Partition, f.Batch)
	if err != nil {
		return out, fmt.Errorf("registry: cohort: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c CohortChild
		var dob pgtype.Date
		var obs, doses pgtype.Array[string]
		if err := rows.Scan(&c.ID, &dob, &c.Patient.Sex, &c.Facility, &c.Town, &c.County, &c.NotDisclosed, &obs, &doses); err != nil {
			return out, fmt.Errorf("registry: cohort: %w", err)
		}
		c.Patient.BirthDate = date(dob)
		for _, d := range obs.Elements {
			o, err := decodeObservation(d)
			if err != nil {
				return out, fmt.Errorf("registry: cohort patient %d: %w", c.ID, err)
			}
			c.Patient.Observations = append(c.Patient.Observations, o)
		}
		if c.Vaccinations, err = s.vaccinations(&doses); err != nil {
			return out, fmt.Errorf("registry: cohort patient %d: %w", c.ID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("registry: cohort: %w", err)
	}
	return out, nil
}

// MarkMovedOrGoneElsewhere records that facility marked the patient moved
// or gone elsewhere (by actor), with an audit row; marking again keeps the
// first mark.
func (s *Store) MarkMovedOrGoneElsewhere(ctx context.Context, patientID int64, facility, actor string) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO coverage_moge (patient_id, facility, marked_by) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, patientID, facility, actor); err != nil {
		return fmt.Errorf("registry: mark moved or gone elsewhere: %w", err)
	}
	return s.RecordAudit(ctx, AuditEntry{Actor: actor, Action: "moge-mark", PatientID: &patientID, Detail: "facility " + facility})
}

// UnmarkMovedOrGoneElsewhere removes facility's mark on the patient, with
// an audit row.
func (s *Store) UnmarkMovedOrGoneElsewhere(ctx context.Context, patientID int64, facility, actor string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM coverage_moge WHERE patient_id = $1 AND facility = $2`, patientID, facility); err != nil {
		return fmt.Errorf("registry: unmark moved or gone elsewhere: %w", err)
	}
	return s.RecordAudit(ctx, AuditEntry{Actor: actor, Action: "moge-unmark", PatientID: &patientID, Detail: "facility " + facility})
}

// MovedOrGoneElsewhere is one standing mark.
type MovedOrGoneElsewhere struct {
	Facility, MarkedBy string
	MarkedAt           time.Time
}

// MovedOrGoneElsewhereMarks lists the standing marks on a patient.
func (s *Store) MovedOrGoneElsewhereMarks(ctx context.Context, patientID int64) ([]MovedOrGoneElsewhere, error) {
	rows, err := s.pool.Query(ctx, `SELECT facility, marked_by, marked_at FROM coverage_moge WHERE patient_id = $1 ORDER BY facility`, patientID)
	if err != nil {
		return nil, fmt.Errorf("registry: moved or gone elsewhere marks: %w", err)
	}
	defer rows.Close()
	var out []MovedOrGoneElsewhere
	for rows.Next() {
		var m MovedOrGoneElsewhere
		if err := rows.Scan(&m.Facility, &m.MarkedBy, &m.MarkedAt); err != nil {
			return nil, fmt.Errorf("registry: moved or gone elsewhere marks: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MarkedMovedOrGoneElsewhere says which of patientIDs facility marked
// moved or gone elsewhere (reminder/recall leaves them out).
func (s *Store) MarkedMovedOrGoneElsewhere(ctx context.Context, facility string, patientIDs []int64) (map[int64]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT patient_id FROM coverage_moge WHERE facility = $1 AND patient_id = ANY($2)`, facility, patientIDs)
	if err != nil {
		return nil, fmt.Errorf("registry: moved or gone elsewhere: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("registry: moved or gone elsewhere: %w", err)
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}
