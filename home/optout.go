package home

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/registry"
)

type optOutView struct {
	ID       int64
	Name     string
	OptedOut bool
	History  []registry.OptOut
	SignedOn string
	FormRef  string
}

// optOutPage shows the form that records a parent's opt-out (or, for an
// opted-out patient, its reversal) and the history.
func (h *Home) optOutPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, ok := h.needAccess(w, r, v, accounts.FullRecord)
	if !ok {
		return
	}
	h.showOptOut(w, r, v, id, http.StatusOK, "", optOutView{})
}

func (h *Home) showOptOut(w http.ResponseWriter, r *http.Request, v *visitor, id int64, status int, msg string, view optOutView) {
	hits, err := h.reg.PatientHits(r.Context(), []int64{id})
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	if len(hits) == 0 {
		h.fail(w, v, http.StatusNotFound, "No such patient.")
		return
	}
	view.ID, view.OptedOut = id, hits[0].OptedOut
	view.Name = strings.TrimSpace(hits[0].Given + " " + hits[0].Family)
	if view.History, err = h.reg.OptOutHistory(r.Context(), id); err != nil {
		h.internal(w, r, v, err)
		return
	}
	h.render(w, status, "optout", page{Title: "Opt-out", V: v, Error: msg, Data: view})
}

// recordOptOut records the opt-out or its reversal. A clinic user who
// records an opt-out no longer sees the patient: the page then goes back
// to the search.
func (h *Home) recordOptOut(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, ok := h.needAccess(w, r, v, accounts.FullRecord)
	if !ok {
		return
	}
	view := optOutView{SignedOn: strings.TrimSpace(r.PostFormValue("signed_on")), FormRef: strings.TrimSpace(r.PostFormValue("form_ref"))}
	signed, err := time.Parse(time.DateOnly, view.SignedOn)
	if err != nil || signed.After(h.cfg.Now()) {
		h.showOptOut(w, r, v, id, http.StatusBadRequest, "Give the date the parent signed the form (YYYY-MM-DD, not in the future).", view)
		return
	}
	reversal := r.PostFormValue("kind") == "reversal"
	err = h.reg.RecordOptOut(r.Context(), registry.OptOut{PatientID: id, Reversal: reversal, SignedOn: signed, FormRef: view.FormRef,
		RecordedBy: v.User.Actor(), OrgID: v.User.OrgID})
	switch {
	case errors.Is(err, registry.ErrInvalidOptOut):
		h.showOptOut(w, r, v, id, http.StatusBadRequest, "Cannot record it: "+strings.TrimPrefix(err.Error(), registry.ErrInvalidOptOut.Error()+": ")+".", view)
		return
	case errors.Is(err, registry.ErrOptOutState):
		h.showOptOut(w, r, v, id, http.StatusConflict, "Nothing recorded: the patient was already in that state (perhaps a colleague recorded it).", view)
		return
	case err != nil:
		h.internal(w, r, v, err)
		return
	}
	switch {
	case reversal:
		http.Redirect(w, r, fmt.Sprintf("/patients/%d?done=reversed", id), http.StatusSeeOther)
	case v.User.Role.Program():
		http.Redirect(w, r, fmt.Sprintf("/patients/%d?done=opted-out", id), http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/patients?done=opted-out", http.StatusSeeOther)
	}
}
