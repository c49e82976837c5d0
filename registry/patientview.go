package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PatientOverview is an operator's view of one registry patient: who,
// what was reported for them, their merges, and every access to their
// record — the accounting of disclosures (query answers to facilities)
// and the operators' views.
type PatientOverview struct {
	ID          int64
	Family      string
	Given       string
	BirthDate   *time.Time
	Sex         string
	Protection  string
	MergedInto  *int64
	Identifiers []string // "value (authority type)", sorted
	Events      []EventSummary
	Messages    []MessageSummary // newest first, at most 200
	Links       []PatientLink    // newest first
	Access      []AuditRow       // newest first, at most 500
}

// EventSummary is one consolidated vaccination event.
type EventSummary struct {
	CVX     string
	Given   time.Time
	Lot     string
	Sources int
}

// PatientLink is a merge or unmerge (patient_links).
type PatientLink struct {
	ID       int64
	Kind     string // merge, unmerge
	Survivor int64
	Merged   int64
	By       string
	At       time.Time
	UndoneAt *time.Time
	// Undoable: a merge in force that Unmerge can undo.
	Undoable bool
}

// PatientOverview reads patient id for operators. A missing patient is an
// error wrapping pgx.ErrNoRows.
func (s *Store) PatientOverview(ctx context.Context, id int64) (*PatientOverview, error) {
	p := &PatientOverview{ID: id}
	if err := s.pool.QueryRow(ctx, `SELECT family_name, given_name, birth_date, sex, protection, merged_into FROM patients WHERE id = $1`, id).
		Scan(&p.Family, &p.Given, &p.BirthDate, &p.Sex, &p.Protection, &p.MergedInto); err != nil {
		return nil, fmt.Errorf("registry: patient %d: %w", id, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT value || ' (' || authority || coalesce(nullif(' ' || type, ' '), '') || ')' FROM patient_identifiers WHERE patient_id = $1 ORDER BY 1`, id)
	if err == nil {
		p.Identifiers, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return nil, fmt.Errorf("registry: patient %d identifiers: %w", id, err)
	}
	rows, err = s.pool.Query(ctx, `SELECT cvx, administered_on, lot, source_count FROM vaccination_events WHERE patient_id = $1 ORDER BY administered_on`, id)
	if err == nil {
		p.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventSummary, error) {
			var e EventSummary
			return e, r.Scan(&e.CVX, &e.Given, &e.Lot, &e.Sources)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("registry: patient %d events: %w", id, err)
	}
	rows, err = s.pool.Query(ctx, `SELECT `+summaryCols+` FROM source_reports r
		WHERE r.id IN (SELECT report_id FROM source_vaccinations WHERE patient_id = $1)
		ORDER BY r.received_at DESC LIMIT 200`, id)
	if err == nil {
		p.Messages, err = pgx.CollectRows(rows, scanSummary)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: patient %d messages: %w", id, err)
	}
	if p.Links, err = s.patientLinks(ctx, `survivor_id = $1 OR merged_id = $1 ORDER BY decided_at DESC, id DESC`, id); err != nil {
		return nil, fmt.Errorf("registry: patient %d links: %w", id, err)
	}
	p.Access, err = s.auditRows(ctx, `SELECT at, actor, action, detail FROM audit_log WHERE patient_id = $1 ORDER BY at DESC, id DESC LIMIT 500`, id)
	if err != nil {
		return nil, fmt.Errorf("registry: patient %d audit: %w", id, err)
	}
	return p, nil
}

// MergeLink reads link id (a merge or unmerge). A missing link is an
// error wrapping pgx.ErrNoRows.
func (s *Store) MergeLink(ctx context.Context, id int64) (PatientLink, error) {
	links, err := s.patientLinks(ctx, `id = $1`, id)
	if err == nil && len(links) == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return PatientLink{}, fmt.Errorf("registry: link %d: %w", id, err)
	}
	return links[0], nil
}

// patientLinks reads the patient_links rows that where (a condition, then
// an order) selects.
func (s *Store) patientLinks(ctx context.Context, where string, args ...any) ([]PatientLink, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, kind, survivor_id, merged_id, decided_by, decided_at, undone_at,
		kind = 'merge' AND undone_at IS NULL AND undo IS NOT NULL FROM patient_links WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PatientLink, error) {
		var l PatientLink
		return l, r.Scan(&l.ID, &l.Kind, &l.Survivor, &l.Merged, &l.By, &l.At, &l.UndoneAt, &l.Undoable)
	})
}

// Review is an open possible match: the record the matcher created and
// the existing one it resembles, side by side.
type Review struct {
	ID        int64
	Created   time.Time
	Score     float64
	Reason    string
	New, Cand ReviewPatient
}

// ReviewPatient is what a reviewer compares.
type ReviewPatient struct {
	ID          int64
	Family      string
	Given       string
	Middle      string
	BirthDate   *time.Time
	Sex         string
	MotherMaid  string
	BirthOrder  int
	Identifiers string // "value (authority)" joined by "; "
	Address     string // the first one
	Phone       string // the first one
}

// OpenReviews returns up to limit open possible matches (match_reviews),
// oldest first; ResolveReview decides them.
func (s *Store) OpenReviews(ctx context.Context, limit int) ([]Review, error) {
	person := func(p string) string {
		return p + `.id, ` + p + `.family_name, ` + p + `.given_name, ` + p + `.middle_name, ` + p + `.birth_date, ` + p + `.sex,
			` + p + `.mother_maiden_family, ` + p + `.birth_order,
			coalesce((SELECT string_agg(i.value || ' (' || i.authority || ')', '; ' ORDER BY i.value) FROM patient_identifiers i WHERE i.patient_id = ` + p + `.id), ''),
			coalesce((SELECT a.street || ', ' || a.city || ' ' || a.state || ' ' || a.zip FROM patient_addresses a WHERE a.patient_id = ` + p + `.id LIMIT 1), ''),
			coalesce((SELECT ph.number FROM patient_phones ph WHERE ph.patient_id = ` + p + `.id AND ph.number <> '' LIMIT 1), '')`
	}
	rows, err := s.pool.Query(ctx, `SELECT r.id, r.created_at, r.score, r.reason, `+person("n")+`, `+person("c")+`
		FROM match_reviews r JOIN patients n ON n.id = r.patient_id JOIN patients c ON c.id = r.candidate_id
		WHERE r.status = 'open' ORDER BY r.created_at, r.id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: open reviews: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Review, error) {
		var x Review
		scan := func(p *ReviewPatient) []any {
			return []any{&p.ID, &p.Family, &p.Given, &p.Middle, &p.BirthDate, &p.Sex, &p.MotherMaid, &p.BirthOrder, &p.Identifiers, &p.Address, &p.Phone}
		}
		dst := append([]any{&x.ID, &x.Created, &x.Score, &x.Reason}, scan(&x.New)...)
		return x, r.Scan(append(dst, scan(&x.Cand)...)...)
	})
	if err != nil {
		return nil, fmt.Errorf("registry: open reviews: %w", err)
	}
	return out, nil
}
