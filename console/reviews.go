package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reviewer records decisions on possible matches and undoes merges;
// *registry.Store is one.
type Reviewer interface {
	ResolveReview(ctx context.Context, reviewID int64, decision, actor string) error
	Unmerge(ctx context.Context, linkID int64, actor string) error
}

// ReviewRow is an open possible match: the record the matcher created and
// the existing one it resembles, side by side.
type ReviewRow struct {
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
	Identifiers string
	Address     string
	Phone       string
}

// OpenReviews returns up to limit open possible matches, oldest first.
func OpenReviews(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, limit int) ([]ReviewRow, error) {
	person := func(p string) string {
		return p + `.id, ` + p + `.family_name, ` + p + `.given_name, ` + p + `.middle_name, ` + p + `.birth_date, ` + p + `.sex,
			` + p + `.mother_maiden_family, ` + p + `.birth_order,
			coalesce((SELECT string_agg(i.value || ' (' || i.authority || ')', '; ' ORDER BY i.value) FROM patient_identifiers i WHERE i.patient_id = ` + p + `.id), ''),
			coalesce((SELECT a.street || ', ' || a.city || ' ' || a.state || ' ' || a.zip FROM patient_addresses a WHERE a.patient_id = ` + p + `.id LIMIT 1), ''),
			coalesce((SELECT ph.number FROM patient_phones ph WHERE ph.patient_id = ` + p + `.id AND ph.number <> '' LIMIT 1), '')`
	}
	rows, err := db.Query(ctx, `SELECT r.id, r.created_at, r.score, r.reason, `+person("n")+`, `+person("c")+`
		FROM match_reviews r JOIN patients n ON n.id = r.patient_id JOIN patients c ON c.id = r.candidate_id
		WHERE r.status = 'open' ORDER BY r.created_at, r.id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("console: open reviews: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReviewRow, error) {
		var x ReviewRow
		scan := func(p *ReviewPatient) []any {
			return []any{&p.ID, &p.Family, &p.Given, &p.Middle, &p.BirthDate, &p.Sex, &p.MotherMaid, &p.BirthOrder, &p.Identifiers, &p.Address, &p.Phone}
		}
		dst := append([]any{&x.ID, &x.Created, &x.Score, &x.Reason}, scan(&x.New)...)
		err := r.Scan(append(dst, scan(&x.Cand)...)...)
		return x, err
	})
}

func (c *Console) reviewsPage(w http.ResponseWriter, r *http.Request, s *session) {
	rows, err := OpenReviews(r.Context(), c.cfg.Pool, 100)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The review queue could not be read.", err)
		return
	}
	if err := c.audit(r.Context(), s.user, "console-view", nil, nil, fmt.Sprintf("review queue, %d possible matches", len(rows))); err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The view could not be audited, so it is not shown.", err)
		return
	}
	c.render(w, r, s, "reviews", page{Title: "Possible matches", Nav: "reviews", Data: rows})
}

func (c *Console) decideReview(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || c.cfg.Reviews == nil {
		c.fail(w, r, s, http.StatusNotFound, "No such review.", nil)
		return
	}
	decision := r.PostFormValue("decision")
	err = c.cfg.Reviews.ResolveReview(r.Context(), id, decision, "console:"+s.user)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		c.fail(w, r, s, http.StatusNotFound, "No such review.", nil)
		return
	case err != nil:
		c.fail(w, r, s, http.StatusConflict, "The decision was not recorded: "+err.Error(), err)
		return
	}
	msg := "Recorded: different people; both records stay."
	if decision == "linked" {
		msg = "Recorded: the same person; the records were merged."
	}
	http.Redirect(w, r, "/console/reviews?flash="+url.QueryEscape(msg), http.StatusSeeOther)
}

func (c *Console) unmerge(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || c.cfg.Reviews == nil {
		c.fail(w, r, s, http.StatusNotFound, "No such merge.", nil)
		return
	}
	var survivor, merged int64
	if err := c.cfg.Pool.QueryRow(r.Context(), `SELECT survivor_id, merged_id FROM patient_links WHERE id = $1`, id).Scan(&survivor, &merged); err != nil {
		c.fail(w, r, s, http.StatusNotFound, "No such merge.", err)
		return
	}
	if err := c.cfg.Reviews.Unmerge(r.Context(), id, "console:"+s.user); err != nil {
		c.fail(w, r, s, http.StatusConflict, "The merge was not undone: "+err.Error(), err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/console/patients/%d?flash=%s", merged, url.QueryEscape(fmt.Sprintf("Merge undone: #%d and #%d are separate records again.", merged, survivor))), http.StatusSeeOther)
}
