// Package entry is direct data entry on the people's pages: a clinic user
// or vaccine coordinator registers a new patient, records a dose given at
// the clinic or a historical one, and corrects or deletes a dose the
// clinic itself reported.
//
// Every entry is a source report like any other: the page writes an HL7
// v2.5.1 VXU^V04 (profile Z22) under the clinic's facility id (MSH-4) and
// hands it to the same message handler the MLLP and SOAP transports use
// (Ingest), as transport "web". The handler validates it with the same
// rules, queues it, and answers with an ACK; the worker then matches the
// patient, stores the report and consolidates the doses, so a dose
// entered by hand and the same dose arriving from the clinic's EHR become
// one vaccination event. The ACK decides what the page shows: AA, saved
// (with any warning); AE or AR, the form again with each ERR row beside
// the field its ERR-2 names.
//
// Each dose entered gets its own ORC-3 filler order id; a correction is
// the same dose again with RXA-21 U under that ORC-3, a deletion RXA-21 D,
// as the CDC implementation guide has senders do. Doses the clinic
// reported through its EHR are corrected the same way, under the EHR's
// ORC-3; doses other clinics reported are not offered.
//
// A new patient's registry id is known only once the worker has stored
// the report: the entry is tracked by its MSH-10, and the page waits a
// moment for the registry to file it, then goes to the patient or says
// that it is being processed.
package entry

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/ingest"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

// Ingest takes a message as a transport hands it over and returns the
// reply: ingest.Handler.
type Ingest interface {
	ServeHL7(ctx context.Context, msg []byte) []byte
}

// Registry is what the pages read of the registry.
type Registry interface {
	Patient(ctx context.Context, id int64) (iis.Patient, error)
	ReportPatient(ctx context.Context, facility, controlID string) (registry.StoredReport, error)
	SourceDose(ctx context.Context, id int64) (registry.SourceDose, error)
	FacilityDoses(ctx context.Context, patientID int64, facility string) ([]registry.SourceDose, error)
	ReportedBy(ctx context.Context, patientID int64, facility string) (bool, error)
}

// Disclosures keeps the accounting of disclosures (the registry's
// RecordDisclosures): each dose page shown is one.
type Disclosures interface {
	RecordDisclosures(ctx context.Context, ds []registry.Disclosure) error
}

// Organizations gives a user's organization (its facility id).
type Organizations interface {
	Organization(ctx context.Context, id int64) (accounts.Organization, error)
}

// Config configures the pages.
type Config struct {
	Ingest        Ingest
	Registry      Registry
	Organizations Organizations
	// Disclosures, when set, records every dose page shown (the patient's
	// name, birth date and sex and the clinic's doses) as a disclosure to
	// the clinic's facility.
	Disclosures Disclosures
	// Relationships, when set, decides which patients a clinic may enter
	// doses for (accounts.PatientAccess, full record); without it, the
	// patients the clinic has reported.
	Relationships accounts.Relationships
	Codes         *codeset.Set // default codeset.Default()
	// ProcessingID is MSH-11 of the entries (default P).
	ProcessingID string
	// Wait is how long a page waits for the worker to store an entry
	// before saying that it is being processed (default 4 s).
	Wait time.Duration
	// RecordPath is where a stored patient is shown (default
	// "/patients/%d/doses/new": the patient's dose page).
	RecordPath string
	Logger     *slog.Logger
	Now        func() time.Time
}

// Pages serves the data entry pages.
type Pages struct {
	cfg     Config
	tmpl    *portal.Pages
	options *options
	log     *slog.Logger
}

// New returns the pages.
func New(cfg Config) (*Pages, error) {
	if cfg.Ingest == nil || cfg.Registry == nil || cfg.Organizations == nil {
		return nil, errors.New("entry: Ingest, Registry and Organizations are required")
	}
	if cfg.Codes == nil {
		cfg.Codes = codeset.Default()
	}
	if cfg.Wait == 0 {
		cfg.Wait = 4 * time.Second
	}
	if cfg.RecordPath == "" {
		cfg.RecordPath = "/patients/%d/doses/new"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pages{cfg: cfg, log: cfg.Logger, options: buildOptions(cfg.Codes)}
	tmpl, err := portal.ParsePages(templateFS, funcs, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("entry: %w", err)
	}
	p.tmpl = tmpl
	return p, nil
}

// PageFunc is a page behind the portal's gate: the signed-in user (second
// factor given) and the session's CSRF token for its forms; a POST has
// been checked against it.
type PageFunc = func(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string)

// Register hands each page to handle (the portal's Handle), which serves
// it to signed-in users with permission perm.
func (p *Pages) Register(handle func(pattern string, perm accounts.Permission, page PageFunc)) {
	handle("GET /patients/new", accounts.EnterData, p.patientForm)
	handle("POST /patients/new", accounts.EnterData, p.registerPatient)
	handle("GET /entries/{control}", accounts.EnterData, p.entryStatus)
	handle("GET /patients/{id}/doses/new", accounts.EnterData, p.doseForm)
	handle("POST /patients/{id}/doses/new", accounts.EnterData, p.recordDose)
	handle("GET /patients/{id}/doses/{dose}/edit", accounts.EnterData, p.editForm)
	handle("POST /patients/{id}/doses/{dose}/edit", accounts.EnterData, p.correctDose)
	handle("POST /patients/{id}/doses/{dose}/delete", accounts.EnterData, p.deleteDose)
}

// clinic is the signed-in user's clinic as the pages need it.
type clinic struct {
	user     accounts.User
	csrf     string
	name     string
	facility string
}

// clinicOf finds u's clinic facility id; without one the user is told so.
func (p *Pages) clinicOf(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) (*clinic, bool) {
	org, err := p.cfg.Organizations.Organization(r.Context(), u.OrgID)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return nil, false
	}
	if org.FacilityID == "" {
		p.fail(w, u, csrf, http.StatusForbidden, org.Name+" has no facility id in the registry yet, so it cannot report doses; ask the immunization program to add it.")
		return nil, false
	}
	return &clinic{user: u, csrf: csrf, name: org.Name, facility: org.FacilityID}, true
}

// send hands an entry's VXU to the ingest handler as the clinic's own
// report over the web, and reads the ACK.
func (p *Pages) send(ctx context.Context, c *clinic, raw []byte, v *iis.Vaccination) (Verdict, error) {
	ctx = ingest.WithSource(ctx, ingest.Source{Facility: c.facility, Transport: "web", Authenticated: true})
	ack := p.cfg.Ingest.ServeHL7(ctx, raw)
	return ReadAck(ack, v)
}

// header is an entry's envelope: its MSH-10 is the one the form was
// given when shown (field "entry"), so that the form sent twice is one
// entry; a form without one gets a fresh id.
func (p *Pages) header(c *clinic, r *http.Request) Header {
	control := r.PostFormValue("entry")
	if !validControlID(control) {
		control = NewControlID()
	}
	return Header{Facility: c.facility, ControlID: control, Time: p.cfg.Now(), ProcessingID: p.cfg.ProcessingID}
}

// awaitStored waits up to cfg.Wait for the worker to store the entry.
func (p *Pages) awaitStored(ctx context.Context, facility, control string) (registry.StoredReport, error) {
	deadline := time.Now().Add(p.cfg.Wait)
	for {
		rep, err := p.cfg.Registry.ReportPatient(ctx, facility, control)
		if err != nil || rep.Stored || time.Now().After(deadline) {
			return rep, err
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (p *Pages) recordURL(id int64) string { return fmt.Sprintf(p.cfg.RecordPath, id) }

// pathID reads a numeric path value.
func pathID(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil && id > 0
}

// patientOf checks that c may enter data for the patient in the path and
// returns the patient as the registry holds it.
func (p *Pages) patientOf(w http.ResponseWriter, r *http.Request, c *clinic) (int64, iis.Patient, bool) {
	id, ok := pathID(r, "id")
	if !ok {
		p.fail(w, c.user, c.csrf, http.StatusNotFound, "There is no such patient.")
		return 0, iis.Patient{}, false
	}
	allowed, err := p.mayEnter(r.Context(), c, id)
	if err != nil {
		p.internal(w, r, c.user, c.csrf, err)
		return 0, iis.Patient{}, false
	}
	if !allowed {
		p.fail(w, c.user, c.csrf, http.StatusForbidden, "This patient has no relationship with "+c.name+"; find the patient from the Immunization Home first.")
		return 0, iis.Patient{}, false
	}
	pt, err := p.cfg.Registry.Patient(r.Context(), id)
	if err != nil {
		p.internal(w, r, c.user, c.csrf, err)
		return 0, iis.Patient{}, false
	}
	return id, pt, true
}

func (p *Pages) mayEnter(ctx context.Context, c *clinic, patientID int64) (bool, error) {
	if p.cfg.Relationships != nil {
		a, err := accounts.PatientAccess(ctx, p.cfg.Relationships, c.user, patientID, "")
		return a == accounts.FullRecord, err
	}
	return p.cfg.Registry.ReportedBy(ctx, patientID, c.facility)
}

// page is what every template gets.
type page struct {
	Title string
	User  *accounts.User
	CSRF  string
	Flash string
	Error string
	Data  any
}

// render sends a page with the portal's layout; the registration form's
// link is the current one on that form.
func (p *Pages) render(w http.ResponseWriter, status int, name string, pg page) {
	nav := ""
	if pg.Title == "Register a patient" {
		nav = "enter"
	}
	p.tmpl.Render(w, status, name, *pg.User, pg.CSRF, portal.Page{Title: pg.Title, Nav: nav, Flash: pg.Flash, Error: pg.Error, Data: pg.Data})
}

func (p *Pages) fail(w http.ResponseWriter, u accounts.User, csrf string, status int, msg string) {
	p.render(w, status, "message", page{Title: http.StatusText(status), User: &u, CSRF: csrf, Error: msg})
}

func (p *Pages) internal(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string, err error) {
	p.log.Error("entry", "path", r.URL.Path, "err", err)
	p.fail(w, u, csrf, http.StatusInternalServerError, "Something went wrong on our side; please try again in a moment.")
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.DateOnly)
	},
	"query":    url.QueryEscape,
	"problems": problems,
	"choices":  choices,
}
