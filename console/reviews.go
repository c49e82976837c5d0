package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Reviewer records decisions on possible matches and undoes merges;
// *registry.Store is one.
type Reviewer interface {
	ResolveReview(ctx context.Context, reviewID int64, decision, actor string) error
	Unmerge(ctx context.Context, linkID int64, actor string) error
}

func (c *Console) reviewsPage(w http.ResponseWriter, r *http.Request, s *session) {
	rows, err := c.cfg.Patients.OpenReviews(r.Context(), 100)
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
	link, err := c.cfg.Patients.MergeLink(r.Context(), id)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "No such merge.", err)
		return
	}
	survivor, merged := link.Survivor, link.Merged
	if err := c.cfg.Reviews.Unmerge(r.Context(), id, "console:"+s.user); err != nil {
		c.fail(w, r, s, http.StatusConflict, "The merge was not undone: "+err.Error(), err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/console/patients/%d?flash=%s", merged, url.QueryEscape(fmt.Sprintf("Merge undone: #%d and #%d are separate records again.", merged, survivor))), http.StatusSeeOther)
}
