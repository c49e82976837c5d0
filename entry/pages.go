package entry

import (
	"cmp"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/registry"
)

// patientData is the new patient page's.
type patientData struct {
	Entry         string // the MSH-10 this showing of the form will send
	Form          PatientForm
	Errors        Problems
	Warnings      Problems
	Relationships []option
}

// doseData is the dose pages'.
type doseData struct {
	Entry       string // the MSH-10 the dose form will send
	DeleteEntry string // the delete button's
	PatientID   int64
	Patient     iis.Patient
	Name        iis.Name // the patient's legal name
	Clinic      string
	Action      string // the form's address
	Edit        *registry.SourceDose
	Form        DoseForm
	Errors      Problems
	Warnings    Problems
	Doses       []registry.SourceDose
	Note        string // why the dose is read-only
	Opts        *options
}

func (p *Pages) patientForm(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	if _, ok := p.clinicOf(w, r, u, csrf); !ok {
		return
	}
	p.render(w, http.StatusOK, "patient", page{Title: "Register a patient", User: &u, CSRF: csrf,
		Data: patientData{Entry: NewControlID(), Errors: Problems{}, Warnings: Problems{}, Relationships: relationshipOptions()}})
}

func (p *Pages) registerPatient(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	c, ok := p.clinicOf(w, r, u, csrf)
	if !ok {
		return
	}
	_ = r.ParseForm()
	form := ReadPatientForm(r.PostForm)
	again := func(errs, warns Problems) {
		p.render(w, http.StatusUnprocessableEntity, "patient", page{Title: "Register a patient", User: &u, CSRF: csrf,
			Error: "The patient was not registered: see the messages beside the fields.",
			Data:  patientData{Entry: NewControlID(), Form: form, Errors: errs, Warnings: warns, Relationships: relationshipOptions()}})
	}
	h := p.header(c, r)
	probs := Problems{}
	pt := form.Patient(c.facility, h.ControlID, probs)
	if len(probs) > 0 {
		again(probs, Problems{})
		return
	}
	verdict, err := p.send(r.Context(), c, BuildVXU(h, &pt, nil), nil)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	if !verdict.Accepted() {
		again(verdict.Errors, verdict.Warnings)
		return
	}
	p.afterEntry(w, r, c, h.ControlID, "patient", verdict.Warnings)
}

// afterEntry waits for the worker to store an accepted entry, then shows
// the patient's record, or says that the entry is being processed. An
// entry accepted with warnings (a value the registry ignored) shows them
// first, with the way on.
func (p *Pages) afterEntry(w http.ResponseWriter, r *http.Request, c *clinic, control, saved string, warnings Problems) {
	rep, err := p.awaitStored(r.Context(), c.facility, control)
	if err != nil {
		p.log.Warn("entry: waiting for the worker", "err", err)
	}
	next := "/entries/" + url.PathEscape(control)
	if rep.Stored && rep.PatientID != 0 {
		next = p.recordURL(rep.PatientID) + "?saved=" + saved
	}
	if len(warnings) == 0 {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	var notes []string
	for field, ms := range warnings {
		for _, m := range ms {
			if l := labels[field]; l != "" {
				m = l + ": " + m
			}
			notes = append(notes, m)
		}
	}
	slices.Sort(notes)
	p.render(w, http.StatusOK, "saved", page{Title: "Saved with notes", User: &c.user, CSRF: c.csrf, Flash: savedFlash(saved),
		Data: savedData{Next: next, Notes: notes}})
}

// savedData is the page of an entry accepted with warnings.
type savedData struct {
	Next  string
	Notes []string
}

// labels name the form's fields in the notes of an accepted entry.
var labels = map[string]string{
	fFamily: "Last name", fGiven: "First name", fMiddle: "Middle name", fBirthDate: "Birth date", fSex: "Sex", fLanguage: "Family's language",
	fBirthOrder: "Birth order", fMotherFamily: "Mother's maiden name", fMotherGiven: "Mother's first name",
	fStreet: "Street", fCity: "City", fState: "State", fZip: "ZIP code", fPhone: "Phone",
	fGuardianFamily: "Guardian", fGuardianGiven: "Guardian", fGuardianRel: "Guardian's relationship", fMRN: "Medical record number",
	fSource: "Source", fCVX: "Vaccine", fDate: "Date given", fLot: "Lot number", fMVX: "Manufacturer", fExpiration: "Lot expiration",
	fSite: "Site", fRoute: "Route", fAmount: "Dose amount", fUnits: "Units", fVISDoc: "VIS", fVISDate: "VIS presented on",
	fEligibility: "Funding eligibility", fFundingSource: "Funding source", fClinicianID: "Administered by",
	fClinicianFamily: "Administered by", fClinicianGiven: "Administered by",
}

// entryStatus follows an entry the worker had not stored yet.
func (p *Pages) entryStatus(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	c, ok := p.clinicOf(w, r, u, csrf)
	if !ok {
		return
	}
	control := r.PathValue("control")
	rep, err := p.cfg.Registry.ReportPatient(r.Context(), c.facility, control)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	switch {
	case rep.Stored && rep.PatientID != 0:
		http.Redirect(w, r, p.recordURL(rep.PatientID)+"?saved=entry", http.StatusSeeOther)
	case rep.Stored:
		p.fail(w, u, csrf, http.StatusOK, "The registry stored this entry ("+control+") without a patient record: it was not accepted. Enter it again.")
	default:
		p.render(w, http.StatusOK, "status", page{Title: "Being processed", User: &u, CSRF: csrf, Data: control})
	}
}

func (p *Pages) doseForm(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	c, d, ok := p.patientPage(w, r, u, csrf)
	if !ok {
		return
	}
	d.Form = DoseForm{Date: p.cfg.Now().Format(time.DateOnly), Units: "mL"}
	p.showDose(w, r, c, http.StatusOK, "", savedFlash(r.URL.Query().Get("saved")), d)
}

// patientPage checks the user's clinic and the patient in the path, and
// returns them (the patient in the dose page's data).
func (p *Pages) patientPage(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) (*clinic, doseData, bool) {
	c, ok := p.clinicOf(w, r, u, csrf)
	if !ok {
		return nil, doseData{}, false
	}
	id, pt, ok := p.patientOf(w, r, c)
	if !ok {
		return nil, doseData{}, false
	}
	return c, doseData{PatientID: id, Patient: pt}, true
}

// editPage is patientPage with the clinic's dose in the path (Edit) and
// why it may not be corrected (Note, "" if it may).
func (p *Pages) editPage(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) (*clinic, doseData, bool) {
	c, d, ok := p.patientPage(w, r, u, csrf)
	if !ok {
		return nil, d, false
	}
	d.Edit, d.Note, ok = p.clinicDose(w, r, c, d.PatientID)
	return c, d, ok
}

func savedFlash(saved string) string {
	return map[string]string{"patient": "Patient registered.", "dose": "Dose saved.", "corrected": "Dose corrected.",
		"deleted": "Dose deleted.", "entry": "Your entry has been stored."}[saved]
}

// showDose renders the dose page: the form (new or correction) and the
// clinic's doses of the patient.
func (p *Pages) showDose(w http.ResponseWriter, r *http.Request, c *clinic, status int, errMsg, flash string, d doseData) {
	doses, err := p.cfg.Registry.FacilityDoses(r.Context(), d.PatientID, c.facility)
	if err != nil {
		p.internal(w, r, c.user, c.csrf, err)
		return
	}
	// A registration's "no vaccine administered" (998) is no dose to list.
	doses = slices.DeleteFunc(doses, func(x registry.SourceDose) bool { return x.Vaccination.CVX == noVaccine })
	d.Doses, d.Clinic, d.Opts, d.Name = doses, c.name, p.options, d.Patient.LegalName()
	d.Entry, d.DeleteEntry = NewControlID(), NewControlID()
	if err := p.disclose(r, c, d.PatientID); err != nil {
		p.internal(w, r, c.user, c.csrf, err)
		return
	}
	if d.Errors == nil {
		d.Errors = Problems{}
	}
	if d.Warnings == nil {
		d.Warnings = Problems{}
	}
	title := "Record a dose"
	d.Action = "/patients/" + strconv.FormatInt(d.PatientID, 10) + "/doses/new"
	if d.Edit != nil {
		title = "Correct a dose"
		d.Action = "/patients/" + strconv.FormatInt(d.PatientID, 10) + "/doses/" + strconv.FormatInt(d.Edit.ID, 10) + "/edit"
	}
	p.render(w, status, "dose", page{Title: title, User: &c.user, CSRF: c.csrf, Flash: flash, Error: errMsg, Data: d})
}

// disclose records that c's user was shown the patient's summary and the
// clinic's doses.
func (p *Pages) disclose(r *http.Request, c *clinic, patientID int64) error {
	if p.cfg.Disclosures == nil {
		return nil
	}
	return p.cfg.Disclosures.RecordDisclosures(r.Context(), []registry.Disclosure{{At: p.cfg.Now(), Facility: c.facility,
		PatientID: patientID, What: "data entry page: name, birth date, sex and the clinic's doses, to " + c.user.Actor()}})
}

func (p *Pages) recordDose(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	c, d, ok := p.patientPage(w, r, u, csrf)
	if !ok {
		return
	}
	_ = r.ParseForm()
	d.Form = ReadDoseForm(r.PostForm)
	v := d.Form.Vaccination(p.cfg.Codes, c.facility, Problems{})
	h := p.header(c, r)
	v.FillerOrder = iis.Identifier{Value: FillerOrderFor(h.ControlID), Authority: c.facility}
	p.submitDose(w, r, c, h, d, &v, "dose", "The dose was not recorded")
}

// submitDose validates the form's own values, sends dose v of d's patient
// and shows the outcome.
func (p *Pages) submitDose(w http.ResponseWriter, r *http.Request, c *clinic, h Header, d doseData, v *iis.Vaccination, saved, notDone string) {
	probs := Problems{}
	d.Form.Vaccination(p.cfg.Codes, c.facility, probs)
	if len(probs) > 0 {
		d.Errors = probs
		p.showDose(w, r, c, http.StatusUnprocessableEntity, notDone+": see the messages beside the fields.", "", d)
		return
	}
	v.EnteredBy = iis.Provider{ID: c.user.Username}
	verdict, err := p.send(r.Context(), c, BuildVXU(h, &d.Patient, v), v)
	if err != nil {
		p.internal(w, r, c.user, c.csrf, err)
		return
	}
	if !verdict.Accepted() {
		d.Errors, d.Warnings = verdict.Errors, verdict.Warnings
		p.showDose(w, r, c, http.StatusUnprocessableEntity, notDone+": see the messages beside the fields.", "", d)
		return
	}
	warnings := verdict.Warnings
	if v.Action == "D" {
		warnings = nil // what the registry thought of the values of a dose now deleted does not matter
	}
	p.afterEntry(w, r, c, h.ControlID, saved, warnings)
}

// clinicDose loads the dose in the path and says whether the clinic may
// correct it (else why not).
func (p *Pages) clinicDose(w http.ResponseWriter, r *http.Request, c *clinic, patientID int64) (*registry.SourceDose, string, bool) {
	doseID, ok := pathID(r, "dose")
	var d registry.SourceDose
	var err error
	if ok {
		d, err = p.cfg.Registry.SourceDose(r.Context(), doseID)
	}
	if !ok || errors.Is(err, registry.ErrNoSuchDose) || (err == nil && d.PatientID != patientID) {
		p.fail(w, c.user, c.csrf, http.StatusNotFound, "This patient has no such dose.")
		return nil, "", false
	}
	if err != nil {
		p.internal(w, r, c.user, c.csrf, err)
		return nil, "", false
	}
	return &d, editable(&d, c.facility), true
}

// editable says why a clinic may not correct dose d ("" if it may).
func editable(d *registry.SourceDose, facility string) string {
	switch {
	case d.Facility != facility:
		return "This dose was reported by another provider; only they can correct it."
	case !d.Current():
		return "This version of the dose has since been corrected or deleted."
	case d.Consolidation == "not_event":
		return "This report is not a dose (a refusal, a dose not given or a record without a vaccine); correct it from your EHR."
	case d.Vaccination.FillerOrder.Value == "":
		return "Your EHR reported this dose without an order id (ORC-3), so a correction could not be tied to it; correct it from your EHR."
	}
	return ""
}

func (p *Pages) editForm(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	c, d, ok := p.editPage(w, r, u, csrf)
	if !ok {
		return
	}
	d.Form = DoseFormOf(&d.Edit.Vaccination)
	p.showDose(w, r, c, http.StatusOK, "", "", d)
}

func (p *Pages) correctDose(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	c, d, ok := p.editPage(w, r, u, csrf)
	if !ok {
		return
	}
	_ = r.ParseForm()
	d.Form = ReadDoseForm(r.PostForm)
	if d.Note != "" {
		p.showDose(w, r, c, http.StatusForbidden, d.Note, "", d)
		return
	}
	v := d.Form.Vaccination(p.cfg.Codes, c.facility, Problems{})
	v.FillerOrder, v.Action = d.Edit.Vaccination.FillerOrder, "U"
	p.submitDose(w, r, c, p.header(c, r), d, &v, "corrected", "The dose was not corrected")
}

func (p *Pages) deleteDose(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	c, d, ok := p.editPage(w, r, u, csrf)
	if !ok {
		return
	}
	d.Form = DoseFormOf(&d.Edit.Vaccination)
	if d.Note != "" {
		p.showDose(w, r, c, http.StatusForbidden, d.Note, "", d)
		return
	}
	v := d.Edit.Vaccination
	v.Action, v.Position = "D", 0
	p.submitDose(w, r, c, p.header(c, r), d, &v, "deleted", "The dose was not deleted")
}

// option is a choice in a select.
type option struct{ Code, Label string }

// options are the coded fields' choices, from the code tables.
type options struct {
	Vaccines, Manufacturers, Sites, Routes, Eligibility, Funding, VIS, Sources []option
}

func buildOptions(c *codeset.Set) *options {
	o := &options{}
	for e := range c.CVX().All() {
		if v, ok := c.Vaccine(e.Code); ok && v.Status == "Active" {
			o.Vaccines = append(o.Vaccines, option{e.Code, v.ShortName + " (CVX " + e.Code + ")"})
		}
	}
	sortOptions(o.Vaccines)
	for e := range c.MVX().All() {
		if e.Status == "Active" {
			o.Manufacturers = append(o.Manufacturers, option{e.Code, e.Display + " (" + e.Code + ")"})
		}
	}
	sortOptions(o.Manufacturers)
	for e := range c.Site().All() {
		if e.Status == "Active" {
			o.Sites = append(o.Sites, option{e.Code, e.Display})
		}
	}
	for e := range c.Route().All() {
		if e.Status == "Active" && strings.HasPrefix(e.Code, "C") {
			o.Routes = append(o.Routes, option{e.Code, e.Display})
		}
	}
	for e := range c.FinancialClass().All() {
		if e.Code >= "V01" && e.Code <= "V07" {
			o.Eligibility = append(o.Eligibility, option{e.Code, e.Code + " " + e.Display})
		}
	}
	for e := range c.Table("CDCPHINVS_FUNDING_SOURCE").All() {
		if e.Status == "Active" {
			o.Funding = append(o.Funding, option{e.Code, e.Display})
		}
	}
	for e := range c.VISDocuments().All() {
		if e.Status == "Current" {
			o.VIS = append(o.VIS, option{e.Code, e.Display})
		}
	}
	sortOptions(o.VIS)
	for e := range c.InformationSource().All() {
		if e.Code != "00" {
			o.Sources = append(o.Sources, option{e.Code, e.Display})
		}
	}
	return o
}

func sortOptions(os []option) {
	for i := 1; i < len(os); i++ {
		for j := i; j > 0 && strings.ToLower(os[j].Label) < strings.ToLower(os[j-1].Label); j-- {
			os[j], os[j-1] = os[j-1], os[j]
		}
	}
}

// choices are opts, and current when it is not one of them (a stored
// dose's inactive code stays what it was unless the user changes it).
func choices(opts []option, current string) []option {
	if current == "" {
		return opts
	}
	for _, o := range opts {
		if o.Code == current {
			return opts
		}
	}
	return append([]option{{current, current}}, opts...)
}

func relationshipOptions() []option {
	out := make([]option, len(relationships))
	for i, r := range relationships {
		out[i] = option{r.Code, r.Text}
	}
	return out
}

// problems renders the messages for one field: errors (role alert) then
// warnings.
func problems(errs, warns Problems, field string) template.HTML {
	var b strings.Builder
	if ms := errs[field]; len(ms) > 0 {
		b.WriteString(`<span class="error" role="alert" id="err-` + template.HTMLEscapeString(cmp.Or(field, "entry")) + `">`)
		b.WriteString(template.HTMLEscapeString(strings.Join(ms, " ")))
		b.WriteString(`</span>`)
	}
	if ms := warns[field]; len(ms) > 0 {
		b.WriteString(`<span class="note" id="warn-` + template.HTMLEscapeString(cmp.Or(field, "entry")) + `">`)
		b.WriteString(template.HTMLEscapeString(strings.Join(ms, " ")))
		b.WriteString(`</span>`)
	}
	return template.HTML(b.String())
}
