package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/match"
)

// ErrNoPatient is returned for a patient id the registry does not hold.
var ErrNoPatient = errors.New("registry: no such patient")

// PatientSearch is a search of the people's pages: a name (with the
// matcher's tolerance for typos and nicknames) and birth date, or an
// identifier (any assigning authority), or both.
type PatientSearch struct {
	Family, Given string
	BirthDate     time.Time
	Identifier    string
}

// PatientHit is one patient a search found, with what tells similar
// patients (twins) apart.
type PatientHit struct {
	PatientID int64
	Score     float64 // the matcher's score (higher is closer)
	// Exact: the legal name (case aside) and the birth date are the ones
	// searched for.
	Exact         bool
	Family        string
	Given         string
	Middle        string
	BirthDate     time.Time
	Sex           string
	MultipleBirth string
	BirthOrder    int
	Guardian      string // the first guardian's name
	Town          string // the latest address's city
	Identifiers   []iis.Identifier
	OptedOut      bool
}

// ErrSearchTooVague is returned for a search without an identifier and
// without both names or a family name and birth date.
var ErrSearchTooVague = errors.New("registry: give an identifier, or a family name with a given name or birth date")

// SearchPatients finds the patients a search names, best first, at most
// limit of them: those holding the identifier, those whose legal name and
// birth date are exactly the ones given, and those the matcher scores as
// the same person or a possible match on name and birth date (found
// through the same blocking keys as reports, so a typo, a nickname or a
// swapped day and month still finds them). Merged records are left out.
func (s *Store) SearchPatients(ctx context.Context, q PatientSearch, limit int) ([]PatientHit, error) {
	q.Family, q.Given, q.Identifier = strings.TrimSpace(q.Family), strings.TrimSpace(q.Given), strings.TrimSpace(q.Identifier)
	if q.Identifier == "" && (q.Family == "" || (q.Given == "" && q.BirthDate.IsZero())) {
		return nil, ErrSearchTooVague
	}
	scores := map[int64]float64{}
	if q.Identifier != "" {
		rows, err := s.pool.Query(ctx, `SELECT DISTINCT patient_id FROM patient_identifiers WHERE value = $1`, q.Identifier)
		if err != nil {
			return nil, fmt.Errorf("registry: search: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("registry: search: %w", err)
		}
		for _, id := range ids {
			scores[id] = 100
		}
	}
	if q.Family != "" {
		if err := s.scoreByName(ctx, q, scores); err != nil {
			return nil, err
		}
	}
	if len(scores) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(scores))
	for id := range scores {
		ids = append(ids, id)
	}
	hits, err := s.patientHits(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range hits {
		h := &hits[i]
		h.Score = scores[h.PatientID]
		h.Exact = q.Family != "" && strings.EqualFold(h.Family, q.Family) && strings.EqualFold(h.Given, q.Given) &&
			!q.BirthDate.IsZero() && h.BirthDate.Equal(q.BirthDate)
	}
	slices.SortFunc(hits, func(a, b PatientHit) int {
		switch {
		case a.Exact != b.Exact:
			if a.Exact {
				return -1
			}
			return 1
		case a.Score != b.Score:
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return int(a.PatientID - b.PatientID)
	})
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// searchCandidateQuery is candidateQuery for a search: a patient sharing
// any one key is a candidate (a search gives only a name and a birth
// date, so a nickname or a swapped day and month leaves a single key in
// common), and searchAgrees decides.
const searchCandidateQuery = `WITH blocks AS (
		SELECT x.patient_id AS pid, count(*) OVER (PARTITION BY k.n) AS size
		FROM (SELECT blocking_key_hash(u.key) AS h, u.n FROM unnest($1::text[]) WITH ORDINALITY AS u(key, n)) k
		CROSS JOIN LATERAL (SELECT patient_id FROM patient_blocking_keys WHERE key = k.h LIMIT $2) x),
	hits AS (SELECT DISTINCT pid FROM blocks WHERE size < $2)
	SELECT p.id, p.match_record FROM patients p JOIN hits h ON p.id = h.pid
	WHERE p.merged_into IS NULL`

// scoreByName adds to scores the patients the matcher finds for the
// search's name and birth date, and those with exactly that legal name
// and birth date.
func (s *Store) scoreByName(ctx context.Context, q PatientSearch, scores map[int64]float64) error {
	p := iis.Patient{Names: []iis.Name{{Family: q.Family, Given: q.Given, Type: "L"}}, BirthDate: q.BirthDate}
	rec := MatchRecord(&p)
	match.Normalize(rec)
	var b pgx.Batch
	b.Queue(searchCandidateQuery, match.BlockingKeys(rec), s.cfg.MaxBlock)
	br := s.pool.SendBatch(ctx, &b)
	cands, err := readCandidates(br)
	br.Close()
	if err != nil {
		return fmt.Errorf("registry: search: %w", err)
	}
	for i := range cands {
		c := &cands[i]
		match.Normalize(c.rec)
		if r := s.m.Compare(rec, c.rec); searchAgrees(&r) {
			scores[c.id] = max(scores[c.id], r.Score)
		}
	}
	if q.Given == "" || q.BirthDate.IsZero() {
		return nil
	}
	exact, err := s.ExactPatients(ctx, q.Family, q.Given, q.BirthDate)
	if err != nil {
		return err
	}
	for _, id := range exact {
		if _, ok := scores[id]; !ok {
			scores[id] = 0
		}
	}
	return nil
}

// ExactPatients returns the patients (not merged) whose legal name is
// family, given (letter case aside) and whose birth date is dob: the
// lookup a school nurse makes, and the one that finds a patient outside a
// clinic's relationships.
func (s *Store) ExactPatients(ctx context.Context, family, given string, dob time.Time) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM patients WHERE lower(family_name) = lower($1) AND birth_date = $2
		AND lower(given_name) = lower($3) AND merged_into IS NULL ORDER BY id`, strings.TrimSpace(family), dob, strings.TrimSpace(given))
	if err != nil {
		return nil, fmt.Errorf("registry: exact search: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("registry: exact search: %w", err)
	}
	return ids, nil
}

// PatientHits returns the search summary of the patients ids (those that
// exist and are not merged), in id order.
func (s *Store) PatientHits(ctx context.Context, ids []int64) ([]PatientHit, error) {
	return s.patientHits(ctx, ids)
}

func (s *Store) patientHits(ctx context.Context, ids []int64) ([]PatientHit, error) {
	rows, err := s.pool.Query(ctx, `SELECT p.id, p.family_name, p.given_name, p.middle_name, p.birth_date, p.sex, p.multiple_birth, p.birth_order,
			`+notDisclosed+`,
			coalesce((SELECT trim(g.given || ' ' || g.family) FROM patient_guardians g WHERE g.patient_id = p.id ORDER BY g.family, g.given LIMIT 1), ''),
			coalesce((SELECT a.city FROM patient_addresses a WHERE a.patient_id = p.id ORDER BY a.reported_at DESC, a.street LIMIT 1), ''),
			ARRAY(SELECT ARRAY[value, authority, type] FROM patient_identifiers WHERE patient_id = p.id ORDER BY authority, type, value)
		FROM patients p WHERE p.id = ANY($1) AND p.merged_into IS NULL ORDER BY p.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("registry: search: %w", err)
	}
	defer rows.Close()
	var out []PatientHit
	for rows.Next() {
		var h PatientHit
		var dob pgtype.Date
		var idents pgtype.Array[string]
		if err := rows.Scan(&h.PatientID, &h.Family, &h.Given, &h.Middle, &dob, &h.Sex, &h.MultipleBirth, &h.BirthOrder,
			&h.OptedOut, &h.Guardian, &h.Town, &idents); err != nil {
			return nil, fmt.Errorf("registry: search: %w", err)
		}
		h.BirthDate = date(dob)
		for x := range tableRows(&idents, 3) {
			h.Identifiers = append(h.Identifiers, iis.Identifier{Value: x[0], Authority: x[1], Type: x[2]})
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: search: %w", err)
	}
	return out, nil
}

// DoseSource is one report of a consolidated dose: which facility sent
// it, when, how, and what consolidation made of it.
type DoseSource struct {
	SourceID      int64 // the report's row (source_vaccinations.id): what data entry corrects
	EventID       int64
	CVX           string // the event's
	Date          time.Time
	Facility      string
	ReceivedAt    time.Time
	Transport     string // mllp, soap, console, entry, …
	ControlID     string // MSH-10
	Historical    bool
	Consolidation string // winner, duplicate
}

// DoseSources returns the reports of a patient's consolidated doses, by
// event and then in the order received.
func (s *Store) DoseSources(ctx context.Context, patientID int64) ([]DoseSource, error) {
	rows, err := s.pool.Query(ctx, `SELECT v.id, e.id, e.cvx, e.administered_on, v.facility, v.received_at, r.transport, v.control_id,
			v.historical, v.consolidation
		FROM source_vaccinations v JOIN vaccination_events e ON e.id = v.event_id AND e.patient_id = v.patient_id
		JOIN source_reports r ON r.id = v.report_id
		WHERE v.patient_id = $1 AND v.consolidation IN ('winner', 'duplicate')
		ORDER BY e.administered_on, e.id, v.received_at, v.id`, patientID)
	if err != nil {
		return nil, fmt.Errorf("registry: dose sources of %d: %w", patientID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DoseSource, error) {
		var d DoseSource
		err := row.Scan(&d.SourceID, &d.EventID, &d.CVX, &d.Date, &d.Facility, &d.ReceivedAt, &d.Transport, &d.ControlID, &d.Historical, &d.Consolidation)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: dose sources of %d: %w", patientID, err)
	}
	return out, nil
}

// searchAgrees reports whether a candidate agrees with a search on each
// field searched for (family name, given name, birth date): exactly, or
// as the matcher tolerates (typo, phonetic, nickname, alias, swapped day
// and month, one off); a search names too little of a person for the
// matcher's whole-record thresholds.
func searchAgrees(r *match.Result) bool {
	for _, f := range [...]match.Field{match.FieldLast, match.FieldFirst, match.FieldBirthDate} {
		if r.Fields[f].Level == match.Disagree {
			return false
		}
	}
	return r.Fields[match.FieldLast].Level != match.Missing
}

// RecordDisclosuresAudited writes disclosures and an audit entry in one
// transaction (a certificate print: what was disclosed, and the print).
func (s *Store) RecordDisclosuresAudited(ctx context.Context, ds []Disclosure, e AuditEntry) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("registry: audit entry needs an actor and an action")
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := recordDisclosures(ctx, tx, ds); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_log (actor, action, patient_id, detail) VALUES ($1, $2, $3, $4)`,
			e.Actor, e.Action, e.PatientID, e.Detail); err != nil {
			return fmt.Errorf("registry: audit: %w", err)
		}
		return nil
	})
}
