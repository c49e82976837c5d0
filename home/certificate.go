package home

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/certificate"
	"github.com/iisproject/iis/registry"
)

// defaultNurseReason is the reason a school nurse's lookup records unless
// she gives another.
const defaultNurseReason = "School immunization certificate"

type certSearchView struct {
	Form     searchForm
	Reason   string
	Searched bool
	Hits     []hitView
}

// certSearchPage is a school nurse's lookup form.
func (h *Home) certSearchPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.render(w, http.StatusOK, "certsearch", page{Title: "Immunization certificates", V: v, Data: certSearchView{Reason: defaultNurseReason}})
}

// certSearch looks a child up by exact name and birth date: each child
// found (not opted out) is opened to the nurse's school for the
// certificate, with the reason recorded and audited; the lookup itself is
// audited too.
func (h *Home) certSearch(w http.ResponseWriter, r *http.Request, v *visitor) {
	f := formOf(r.PostFormValue)
	view := certSearchView{Form: f, Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	dob, err := time.Parse(time.DateOnly, f.DOB)
	if f.Family == "" || f.Given == "" || err != nil || view.Reason == "" {
		h.render(w, http.StatusBadRequest, "certsearch", page{Title: "Immunization certificates", V: v, Data: view,
			Error: "Give the child's family name, given name and birth date (YYYY-MM-DD) exactly as on record, and the reason."})
		return
	}
	ids, err := h.reg.ExactPatients(r.Context(), f.Family, f.Given, dob)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	hits, err := h.reg.PatientHits(r.Context(), ids)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	view.Searched = true
	for _, x := range hits {
		if x.OptedOut {
			continue
		}
		if err := h.reg.RecordSearchReason(r.Context(), registry.SearchReason{PatientID: x.PatientID, OrgID: v.User.OrgID, User: v.User.Actor(), Reason: view.Reason}); err != nil {
			h.internal(w, r, v, err)
			return
		}
		view.Hits = append(view.Hits, hitOf(x))
	}
	if err := h.disclose(r.Context(), v, "certificate lookup result: name, birth date, sex, guardian", hitIDs(view.Hits)...); err != nil {
		h.internal(w, r, v, err)
		return
	}
	if err := h.reg.RecordAudit(r.Context(), registry.AuditEntry{Actor: v.User.Actor(), Action: "certificate-lookup",
		Detail: fmt.Sprintf("%d children found", len(view.Hits))}); err != nil {
		h.internal(w, r, v, err)
		return
	}
	h.render(w, http.StatusOK, "certsearch", page{Title: "Immunization certificates", V: v, Data: view})
}

type certView struct {
	ID         int64
	Name       string
	BirthDate  string
	Doses      []doseView
	Immunities []certificate.Immunity
	CanPrint   bool
	FullRecord bool
}

// certSummary shows what the certificate shows: name, birth date, doses,
// evidence of immunity.
func (h *Home) certSummary(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, ok := h.needAccess(w, r, v, accounts.CertificateOnly)
	if !ok {
		return
	}
	p, vs, err := h.reg.History(r.Context(), id)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	view := certView{ID: id, Name: patientName(&p), CanPrint: h.cfg.Certificates != nil, FullRecord: v.User.Role != accounts.SchoolNurse,
		Immunities: certificate.ImmunitiesFrom(&p, vs)}
	if !p.BirthDate.IsZero() {
		view.BirthDate = p.BirthDate.Format(time.DateOnly)
	}
	for _, d := range certificate.ShownDoses(vs) {
		view.Doses = append(view.Doses, doseOf(&d, h.cfg.Forecaster, nil))
	}
	if err := h.disclose(r.Context(), v, "immunization certificate summary: name, birth date, doses", id); err != nil {
		h.internal(w, r, v, err)
		return
	}
	h.render(w, http.StatusOK, "certificate", page{Title: "Certificate of " + view.Name, V: v, Data: view})
}

// certPDF issues the official certificate as a PDF; each print is written
// to the accounting of disclosures and the audit log before it is sent.
func (h *Home) certPDF(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, ok := h.needAccess(w, r, v, accounts.CertificateOnly)
	if !ok {
		return
	}
	if h.cfg.Certificates == nil {
		h.fail(w, v, http.StatusServiceUnavailable, "Certificates cannot be printed: the registry has no signing key configured.")
		return
	}
	issuer, err := h.cfg.Certificates()
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	p, vs, err := h.reg.History(r.Context(), id)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	org, err := h.org(r.Context(), v)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	if patientName(&p) == "" || p.BirthDate.IsZero() {
		h.fail(w, v, http.StatusUnprocessableEntity, "The record lacks what a certificate needs (a name and a birth date).")
		return
	}
	cert, err := issuer.Issue(certificate.Record{Patient: p, Doses: vs, Immunities: certificate.ImmunitiesFrom(&p, vs)},
		certificate.IssuedBy{Organization: org.Name, User: v.User.FullName})
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	ds, err := h.disclosures(r.Context(), v, "immunization certificate "+cert.ID+" (PDF)", id)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	pid := id
	if err := h.reg.RecordDisclosuresAudited(r.Context(), ds, registry.AuditEntry{Actor: v.User.Actor(), Action: "certificate-print",
		PatientID: &pid, Detail: "certificate " + cert.ID}); err != nil {
		h.internal(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="immunization-certificate-%s.pdf"`, cert.ID))
	_, _ = w.Write(cert.PDF)
}

func patientName(p *iis.Patient) string {
	if len(p.Names) == 0 {
		return ""
	}
	n := p.Names[0]
	return strings.Join(strings.Fields(n.Given+" "+n.Middle+" "+n.Family+" "+n.Suffix), " ")
}
