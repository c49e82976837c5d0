package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// patientPage is the console's page of one registry patient: who, what
// was reported for them, and every access to their record — the
// accounting of disclosures (query answers to facilities) and the console
// views.
func (c *Console) patientPage(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "No such patient.", nil)
		return
	}
	p, err := c.cfg.Patients.PatientOverview(r.Context(), id)
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
