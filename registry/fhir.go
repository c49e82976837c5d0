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
	"github.com/iisproject/iis/hl7/immz"
)

// The typed reads the FHIR API (package fhirapi) makes: many patients'
// records in one statement with what decides whether each may be
// disclosed to a client, a paged patient search, and a batch of audit rows.

// RecordParts says which parts of a patient's record ReadRecords reads.
type RecordParts struct {
	Demographics bool // iis.Patient, as Patient returns it
	Doses        bool // the vaccinations, as Vaccinations returns them
}

// DisclosableRecord is a patient's record with what decides whether it may
// be disclosed.
type DisclosableRecord struct {
	PatientID int64
	Updated   time.Time
	// MergedInto is the surviving patient of a merged-away record; 0 for a
	// patient that was not merged.
	MergedInto int64
	// Withheld: opted out, protected (PD1-12 Y) or registry status P; the
	// record is never disclosed.
	Withheld bool
	// Related: the facility the read was made for reported the patient or
	// was sent the patient's data (see Relation); always true for a read
	// made for no facility (statewide).
	Related      bool
	Patient      iis.Patient
	Vaccinations []iis.Vaccination
	// DoseIDs[i] is the registry's id of Vaccinations[i]: the
	// vaccination event's, or for a refusal, a dose not administered or a
	// record of immunity, the report's.
	DoseIDs []int64
}

// Disclosable reports whether the record may be disclosed to the reader.
func (r *DisclosableRecord) Disclosable() bool { return !r.Withheld && r.Related && r.MergedInto == 0 }

// relatedTo is true for a patient (p) related to facility $2 as Relation
// reads it (a report from the facility, or a disclosure to it), or for an
// empty $2.
const relatedTo = `($2 = '' OR EXISTS (SELECT 1 FROM source_vaccinations v WHERE v.patient_id = p.id AND v.facility = $2)
		OR EXISTS (SELECT 1 FROM audit_log a JOIN source_reports r ON r.id = a.report_id
			WHERE a.patient_id = p.id AND a.report_id IS NOT NULL AND r.facility = $2)
		OR EXISTS (SELECT 1 FROM audit_log a WHERE a.patient_id = p.id AND a.action = 'disclose' AND a.actor = 'facility:' || $2))`

// ReadRecords returns the records of the patients ids that exist (changed
// after since, when since is not zero), in id order, with the parts asked
// for, in one statement. facility is the facility the reader acts for
// (empty: statewide); each record says whether it is related to it.
func (s *Store) ReadRecords(ctx context.Context, ids []int64, facility string, since time.Time, parts RecordParts) ([]DisclosableRecord, error) {
	cols := `p.id, p.updated_at, coalesce(p.merged_into, 0), ` + notDisclosed + `, ` + relatedTo
	if parts.Demographics {
		cols += `, ` + patientColumns
	}
	if parts.Doses {
		cols += `, ` + doseColumn
	}
	var after pgtype.Timestamptz
	if !since.IsZero() {
		after = pgtype.Timestamptz{Time: since, Valid: true}
	}
	rows, err := s.pool.Query(ctx, `SELECT `+cols+` FROM patients p
		WHERE p.id = ANY($1) AND ($3::timestamptz IS NULL OR p.updated_at > $3) ORDER BY p.id`, ids, facility, after)
	if err != nil {
		return nil, fmt.Errorf("registry: read records: %w", err)
	}
	defer rows.Close()
	out := make([]DisclosableRecord, 0, len(ids))
	for rows.Next() {
		out = append(out, DisclosableRecord{})
		if err := s.scanDisclosable(rows, &out[len(out)-1], parts); err != nil {
			return nil, fmt.Errorf("registry: read records: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: read records: %w", err)
	}
	return out, nil
}

func (s *Store) scanDisclosable(row pgx.Row, r *DisclosableRecord, parts RecordParts) error {
	first := []any{&r.PatientID, &r.Updated, &r.MergedInto, &r.Withheld, &r.Related}
	var doses pgtype.Array[string]
	switch {
	case parts.Demographics && parts.Doses:
		if err := scanPatient(row, &r.Patient, first, &doses); err != nil {
			return err
		}
	case parts.Demographics:
		return scanPatient(row, &r.Patient, first)
	case parts.Doses:
		if err := row.Scan(append(first, &doses)...); err != nil {
			return err
		}
	default:
		return row.Scan(first...)
	}
	var err error
	r.Vaccinations, r.DoseIDs, err = s.vaccinationsWithIDs(&doses, true)
	return err
}

// DisclosableSearch is a search for patients by their demographics, as
// FHIR's Patient search asks it. Empty fields are not searched on; the
// names match from their start, letter case aside.
type DisclosableSearch struct {
	IdentifierValue     string
	IdentifierAuthority string // empty: any authority
	Family, Given, Name string // Name: family or given
	BirthDate           time.Time
	Sex                 string // F, M, U …
	// Facility limits the search to the patients related to it (empty:
	// statewide).
	Facility string
	// After is the last patient id of the previous page; Limit the page size.
	After int64
	Limit int
}

// SearchDisclosable returns the ids of the patients a search finds that
// may be disclosed (not opted out or protected, not merged, related to the
// search's facility), in id order, after q.After, at most q.Limit of them.
func (s *Store) SearchDisclosable(ctx context.Context, q DisclosableSearch) ([]int64, error) {
	if q.Limit <= 0 {
		return nil, nil
	}
	where := []string{`p.merged_into IS NULL`, `NOT ` + notDisclosed, relatedTo, `p.id > $1`}
	args := []any{q.After, q.Facility}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.IdentifierValue != "" {
		where = append(where, `EXISTS (SELECT 1 FROM patient_identifiers i WHERE i.patient_id = p.id AND i.value = `+arg(q.IdentifierValue)+
			` AND (`+arg(q.IdentifierAuthority)+` = '' OR i.authority = $`+fmt.Sprint(len(args))+`))`)
	}
	prefix := func(s string) string { return strings.ToLower(strings.TrimSpace(s)) + "%" }
	if q.Family != "" {
		n := arg(prefix(q.Family))
		where = append(where, `(lower(p.family_name) LIKE `+n+` OR EXISTS (SELECT 1 FROM patient_names m WHERE m.patient_id = p.id AND lower(m.family) LIKE `+n+`))`)
	}
	if q.Given != "" {
		n := arg(prefix(q.Given))
		where = append(where, `(lower(p.given_name) LIKE `+n+` OR EXISTS (SELECT 1 FROM patient_names m WHERE m.patient_id = p.id AND lower(m.given) LIKE `+n+`))`)
	}
	if q.Name != "" {
		n := arg(prefix(q.Name))
		where = append(where, `(lower(p.family_name) LIKE `+n+` OR lower(p.given_name) LIKE `+n+
			` OR EXISTS (SELECT 1 FROM patient_names m WHERE m.patient_id = p.id AND (lower(m.family) LIKE `+n+` OR lower(m.given) LIKE `+n+`)))`)
	}
	if !q.BirthDate.IsZero() {
		where = append(where, `p.birth_date = `+arg(q.BirthDate))
	}
	if q.Sex != "" {
		where = append(where, `p.sex = `+arg(q.Sex))
	}
	sql := `SELECT p.id FROM patients p WHERE ` + strings.Join(where, ` AND `) + ` ORDER BY p.id LIMIT ` + arg(q.Limit)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: search: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("registry: search: %w", err)
	}
	return ids, nil
}

// RecordAudits writes several audit entries in one statement (the rows of
// one disclosure to many patients, e.g. a search or an export page).
func (s *Store) RecordAudits(ctx context.Context, es []AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	actor, action, detail := make([]string, len(es)), make([]string, len(es)), make([]string, len(es))
	pid := make([]pgtype.Int8, len(es))
	for i, e := range es {
		if e.Actor == "" || e.Action == "" {
			return fmt.Errorf("registry: audit entry needs an actor and an action")
		}
		actor[i], action[i], detail[i] = immz.SafeText(e.Actor), e.Action, immz.SafeText(e.Detail)
		if e.PatientID != nil {
			pid[i] = pgtype.Int8{Int64: *e.PatientID, Valid: true}
		}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_log (actor, action, patient_id, detail)
		SELECT a, b, c, d FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS t(a, b, c, d)`, actor, action, pid, detail)
	if err != nil {
		return fmt.Errorf("registry: audit: %w", err)
	}
	return nil
}

// DosePatient returns the patient whose record holds the dose id (an id
// of DisclosableRecord.DoseIDs: a vaccination event's, or a refusal's, a
// dose not administered's or a record of immunity's); 0 when no record
// holds it.
func (s *Store) DosePatient(ctx context.Context, doseID int64) (int64, error) {
	var pid int64
	err := s.pool.QueryRow(ctx, `SELECT patient_id FROM vaccination_events WHERE id = $1
		UNION ALL
		SELECT patient_id FROM source_vaccinations WHERE id = $1 AND consolidation = 'not_event' AND administered_on IS NOT NULL
		LIMIT 1`, doseID).Scan(&pid)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("registry: dose %d: %w", doseID, err)
	}
	return pid, nil
}

// forecastQuery reads what the CDSi forecast of one patient needs (see
// ForecastRecord): $1 the patient, $2 the facility of the reader.
const forecastQuery = `SELECT p.id, p.updated_at, coalesce(p.merged_into, 0), ` + notDisclosed + `, ` + relatedTo + `,
		p.birth_date, p.sex, ARRAY(SELECT detail FROM patient_observations WHERE patient_id = p.id ORDER BY report_id, seq), ` + doseColumn + `
	FROM patients p WHERE p.id = $1`

// ForecastRecord reads what a CDSi forecast of the patient id needs, in
// one statement: of the demographics only the birth date, the sex and the
// patient's observations (evidence of immunity, contraindications …),
// every dose with its id as ReadRecords reads it, and what decides whether
// the record may be disclosed to a reader acting for facility (empty:
// statewide). It is nil for an unknown patient. The forecast of it is that
// of ReadRecords' record with Demographics and Doses; it skips the names,
// addresses, phones, guardians and identifiers.
func (s *Store) ForecastRecord(ctx context.Context, id int64, facility string) (*DisclosableRecord, error) {
	r := &DisclosableRecord{}
	var dob pgtype.Date
	var observations, doses pgtype.Array[string]
	err := s.pool.QueryRow(ctx, forecastQuery, id, facility).Scan(&r.PatientID, &r.Updated, &r.MergedInto, &r.Withheld, &r.Related,
		&dob, &r.Patient.Sex, &observations, &doses)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: forecast record %d: %w", id, err)
	}
	r.Patient.BirthDate = date(dob)
	for _, d := range observations.Elements {
		o, err := decodeObservation(d)
		if err != nil {
			return nil, fmt.Errorf("registry: forecast record %d: %w", id, err)
		}
		r.Patient.Observations = append(r.Patient.Observations, o)
	}
	if r.Vaccinations, r.DoseIDs, err = s.vaccinationsWithIDs(&doses, true); err != nil {
		return nil, fmt.Errorf("registry: forecast record %d: %w", id, err)
	}
	return r, nil
}
