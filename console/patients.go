package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// PatientView is the console's page of one registry patient: who, what
// was reported for them, and every access to their record — the
// accounting of disclosures (query answers to facilities) and the console
// views.
type PatientView struct {
	ID          int64
	Family      string
	Given       string
	BirthDate   *time.Time
	Sex         string
	Protection  string
	MergedInto  *int64
	Identifiers []string
	Events      []EventRow
	Messages    []MessageRow
	Links       []LinkRow
	Access      []AuditRow
}

// LinkRow is a merge or unmerge involving the patient.
type LinkRow struct {
	ID       int64
	Kind     string
	Survivor int64
	Merged   int64
	By       string
	At       time.Time
	UndoneAt *time.Time
	Undoable bool
}

// EventRow is one consolidated vaccination event.
type EventRow struct {
	CVX     string
	Given   time.Time
	Lot     string
	Sources int
}

// LoadPatient reads patient id for the console.
func LoadPatient(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, id int64) (*PatientView, error) {
	p := &PatientView{ID: id}
	if err := db.QueryRow(ctx, `SELECT family_name, given_name, birth_date, sex, protection, merged_into FROM patients WHERE id = $1`, id).
		Scan(&p.Family, &p.Given, &p.BirthDate, &p.Sex, &p.Protection, &p.MergedInto); err != nil {
		return nil, fmt.Errorf("console: patient %d: %w", id, err)
	}
	rows, err := db.Query(ctx, `SELECT value || ' (' || authority || coalesce(nullif(' ' || type, ' '), '') || ')' FROM patient_identifiers WHERE patient_id = $1 ORDER BY 1`, id)
	if err == nil {
		p.Identifiers, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return nil, fmt.Errorf("console: patient %d identifiers: %w", id, err)
	}
	rows, err = db.Query(ctx, `SELECT cvx, administered_on, lot, source_count FROM vaccination_events WHERE patient_id = $1 ORDER BY administered_on`, id)
	if err == nil {
		p.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventRow, error) {
			var e EventRow
			return e, r.Scan(&e.CVX, &e.Given, &e.Lot, &e.Sources)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("console: patient %d events: %w", id, err)
	}
	rows, err = db.Query(ctx, `SELECT `+messageCols+` FROM source_reports r
		WHERE r.id IN (SELECT report_id FROM source_vaccinations WHERE patient_id = $1)
		ORDER BY r.received_at DESC LIMIT 200`, id)
	if err == nil {
		p.Messages, err = pgx.CollectRows(rows, scanMessageRow)
	}
	if err != nil {
		return nil, fmt.Errorf("console: patient %d messages: %w", id, err)
	}
	rows, err = db.Query(ctx, `SELECT id, kind, survivor_id, merged_id, decided_by, decided_at, undone_at,
		kind = 'merge' AND undone_at IS NULL AND undo IS NOT NULL FROM patient_links WHERE survivor_id = $1 OR merged_id = $1 ORDER BY decided_at DESC, id DESC`, id)
	if err == nil {
		p.Links, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (LinkRow, error) {
			var l LinkRow
			return l, r.Scan(&l.ID, &l.Kind, &l.Survivor, &l.Merged, &l.By, &l.At, &l.UndoneAt, &l.Undoable)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("console: patient %d links: %w", id, err)
	}
	rows, err = db.Query(ctx, `SELECT at, actor, action, detail FROM audit_log WHERE patient_id = $1 ORDER BY at DESC, id DESC LIMIT 500`, id)
	if err == nil {
		p.Access, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditRow, error) {
			var a AuditRow
			return a, r.Scan(&a.At, &a.Actor, &a.Action, &a.Detail)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("console: patient %d audit: %w", id, err)
	}
	return p, nil
}

func (c *Console) patientPage(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "No such patient.", nil)
		return
	}
	p, err := LoadPatient(r.Context(), c.cfg.Pool, id)
	if errors.Is(err, pgx.ErrNoRows) {
		c.fail(w, r, s, http.StatusNotFound, "No such patient.", nil)
		return
	}
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The patient could not be read.", err)
		return
	}
	if err := c.audit(r.Context(), s.user, "console-view", &id, nil, "patient page"); err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The view could not be audited, so it is not shown.", err)
		return
	}
	c.render(w, r, s, "patient", page{Title: "Patient " + strconv.FormatInt(id, 10), Nav: "messages", Data: p})
}
