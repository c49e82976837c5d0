package home

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/registry"
)

// searchLimit bounds the patients a search lists.
const searchLimit = 50

// searchForm is the search's fields as typed.
type searchForm struct {
	Family, Given, DOB, Identifier string
}

func (f searchForm) empty() bool {
	return f.Family == "" && f.Given == "" && f.DOB == "" && f.Identifier == ""
}

// query returns the registry search, or a message saying what is wrong.
func (f searchForm) query() (registry.PatientSearch, string) {
	q := registry.PatientSearch{Family: f.Family, Given: f.Given, Identifier: f.Identifier}
	if f.DOB != "" {
		d, err := time.Parse(time.DateOnly, f.DOB)
		if err != nil {
			return q, "Give the birth date as YYYY-MM-DD."
		}
		q.BirthDate = d
	}
	return q, ""
}

func formOf(get func(string) string) searchForm {
	return searchForm{Family: strings.TrimSpace(get("family")), Given: strings.TrimSpace(get("given")),
		DOB: strings.TrimSpace(get("dob")), Identifier: strings.TrimSpace(get("identifier"))}
}

// hitView is one patient listed by a search.
type hitView struct {
	ID          int64
	Name        string
	BirthDate   string
	Sex         string
	Birth       string // "multiple birth, born 2nd"
	Guardian    string
	Town        string
	Identifiers []string // masked
	Open        bool     // the record is open to the user
	NeedsReason bool     // found by exact name and birth date: open with a reason
	OptedOut    bool     // shown to program staff only
}

type searchView struct {
	CanEnter bool // data entry (a clinic's users)
	Form     searchForm
	Searched bool
	Hits     []hitView
	Program  bool
}

// searchPage lists the patients a search finds that the user may know of:
// those related to the user's clinic; others found by exact name and
// birth date, to be opened with a reason; opted-out patients only for
// program staff.
func (h *Home) searchPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	f := formOf(r.URL.Query().Get)
	view := searchView{Form: f, Program: v.User.Role.Program(), CanEnter: entersData(v.User.Role)}
	if f.empty() {
		h.render(w, http.StatusOK, "search", page{Title: "Find a patient", V: v, Flash: flashes[r.URL.Query().Get("done")], Data: view})
		return
	}
	q, msg := f.query()
	if msg != "" {
		h.render(w, http.StatusBadRequest, "search", page{Title: "Find a patient", V: v, Error: msg, Data: view})
		return
	}
	hits, err := h.reg.SearchPatients(r.Context(), q, searchLimit)
	if errors.Is(err, registry.ErrSearchTooVague) {
		h.render(w, http.StatusBadRequest, "search", page{Title: "Find a patient", V: v, Data: view,
			Error: "Give an identifier, or a family name with a given name or a birth date."})
		return
	}
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	view.Searched = true
	view.Hits, err = h.visibleHits(r, v, hits)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	if err := h.disclose(r.Context(), v, "search result: name, birth date, sex, guardian, town, masked identifiers", hitIDs(view.Hits)...); err != nil {
		h.internal(w, r, v, err)
		return
	}
	if err := h.auditSearch(r, v, len(view.Hits)); err != nil {
		h.internal(w, r, v, err)
		return
	}
	h.render(w, http.StatusOK, "search", page{Title: "Find a patient", V: v, Flash: flashes[r.URL.Query().Get("done")], Data: view})
}

// auditSearch writes the search (not its terms) to the audit log.
func (h *Home) auditSearch(r *http.Request, v *visitor, listed int) error {
	return h.reg.RecordAudit(r.Context(), registry.AuditEntry{Actor: v.User.Actor(), Action: "patient-search",
		Detail: fmt.Sprintf("%d patients listed", listed)})
}

var flashes = map[string]string{
	"opted-out": "The opt-out is recorded: the patient is no longer disclosed to queries nor listed in searches, except to program staff.",
	"reversed":  "The opt-out is reversed: the patient is disclosed again.",
}

// visibleHits applies the scope rules to a search's hits.
func (h *Home) visibleHits(r *http.Request, v *visitor, hits []registry.PatientHit) ([]hitView, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	org, err := h.org(r.Context(), v)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(hits))
	for i, x := range hits {
		ids[i] = x.PatientID
	}
	rels, err := h.reg.Relations(r.Context(), ids, org.ID, org.FacilityID)
	if err != nil {
		return nil, err
	}
	var out []hitView
	for _, x := range hits {
		rel := accounts.RelationshipOf(rels[x.PatientID])
		access := accounts.Scope(v.User.Role, rel)
		hv := hitOf(x)
		switch {
		case access == accounts.FullRecord:
			hv.Open = true
		case rel.OptedOut:
			continue // never listed outside the program
		case x.Exact:
			hv.NeedsReason = true
		default:
			continue
		}
		out = append(out, hv)
	}
	return out, nil
}

func hitOf(x registry.PatientHit) hitView {
	hv := hitView{ID: x.PatientID, Name: strings.TrimSpace(x.Given + " " + x.Middle + " " + x.Family), Sex: sexLabel(x.Sex),
		Guardian: x.Guardian, Town: x.Town, OptedOut: x.OptedOut}
	if !x.BirthDate.IsZero() {
		hv.BirthDate = x.BirthDate.Format(time.DateOnly)
	}
	hv.Birth = birthLabel(x.MultipleBirth, x.BirthOrder)
	for _, id := range x.Identifiers {
		hv.Identifiers = append(hv.Identifiers, maskIdentifier(id))
	}
	return hv
}

func sexLabel(s string) string {
	switch strings.ToUpper(s) {
	case "F":
		return "female"
	case "M":
		return "male"
	case "":
		return ""
	}
	return "other/unknown"
}

func birthLabel(multiple string, order int) string {
	switch {
	case order > 1 || (order == 1 && strings.EqualFold(multiple, "Y")):
		return "multiple birth, born " + ordinal(order)
	case strings.EqualFold(multiple, "Y"):
		return "multiple birth"
	}
	return ""
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

// maskIdentifier shows an identifier's last four characters, its type and
// its assigning authority: enough to tell two records apart, not enough to
// copy.
func maskIdentifier(id iis.Identifier) string {
	v := id.Value
	if n := len(v); n > 4 {
		v = strings.Repeat("•", min(n-4, 6)) + v[n-4:]
	} else {
		v = strings.Repeat("•", n)
	}
	label := strings.Trim(id.Type+" "+id.Authority, " ")
	if label == "" {
		return v
	}
	return v + " (" + label + ")"
}

// giveReason records why the user opens a record found by exact name and
// birth date outside the clinic's relationships, then opens it. The name
// and birth date are checked again: a reason opens only a record its
// exact name and birth date lead to.
func (h *Home) giveReason(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, v, http.StatusNotFound, "No such patient.")
		return
	}
	f := formOf(r.PostFormValue)
	back := "/patients?" + url.Values{"family": {f.Family}, "given": {f.Given}, "dob": {f.DOB}}.Encode()
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		h.fail(w, v, http.StatusBadRequest, "Say why you need this record (for example: new patient transferring in).")
		return
	}
	dob, err := time.Parse(time.DateOnly, f.DOB)
	if err != nil {
		h.fail(w, v, http.StatusBadRequest, "Give the birth date as YYYY-MM-DD.")
		return
	}
	exact, err := h.reg.ExactPatients(r.Context(), f.Family, f.Given, dob)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	org, err := h.org(r.Context(), v)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	rel, err := h.reg.Relation(r.Context(), id, org.ID, org.FacilityID)
	if err != nil && !errors.Is(err, registry.ErrNoPatient) {
		h.internal(w, r, v, err)
		return
	}
	if !slices.Contains(exact, id) || rel.OptedOut {
		h.fail(w, v, http.StatusForbidden, "That record is not the one the exact name and birth date lead to. Search again: "+back)
		return
	}
	if err := h.reg.RecordSearchReason(r.Context(), registry.SearchReason{PatientID: id, OrgID: v.User.OrgID, User: v.User.Actor(), Reason: reason}); err != nil {
		h.internal(w, r, v, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/patients/%d", id), http.StatusSeeOther)
}

func hitIDs(hs []hitView) []int64 {
	ids := make([]int64, len(hs))
	for i, x := range hs {
		ids[i] = x.ID
	}
	return ids
}

// entersData reports whether role may use data entry (a clinic's users).
func entersData(r accounts.Role) bool {
	return r == accounts.ClinicUser || r == accounts.VaccineCoordinator
}
