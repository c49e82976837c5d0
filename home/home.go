// Package home serves the Immunization Home: the patient pages of the
// registry's people's pages (mounted by package portal). A clinic user
// searches for a patient (name with the matcher's tolerance for typos and
// nicknames, birth date, identifier) and opens the patient's record:
// demographics, guardians, every consolidated dose by vaccine group with
// its CDSi evaluation and each report it came from, the forecast per
// vaccine group (the Recommender), refusals, evidence of immunity and a
// timeline of doses against the schedule (server-side SVG). Program staff
// and clinic users record a parent's opt-out and its reversal; clinic
// users and school nurses print the official immunization certificate.
//
// Who sees what is accounts.Scope applied to the organization's relation
// to the patient (Relationships). Every view of a record, certificate
// summary and certificate is written to the accounting of disclosures
// before it is sent; recorded reasons, opt-outs and prints are audited.
package home

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/certificate"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

// Config configures a Home.
type Config struct {
	Registry   *registry.Store
	Accounts   *accounts.Store
	Forecaster *forecast.Engine
	// Certificates returns the issuer of immunization certificates; nil,
	// or an error from it, and certificates are not printed.
	Certificates func() (*certificate.Issuer, error)
	Now          func() time.Time // nil: time.Now
	Logger       *slog.Logger
}

// Home serves the patient pages.
type Home struct {
	cfg  Config
	reg  *registry.Store
	acc  *accounts.Store
	tmpl *portal.Pages
	log  *slog.Logger
}

// New returns a Home.
func New(cfg Config) (*Home, error) {
	if cfg.Registry == nil || cfg.Accounts == nil || cfg.Forecaster == nil {
		return nil, errors.New("home: a registry, an accounts store and a forecaster are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Home{cfg: cfg, reg: cfg.Registry, acc: cfg.Accounts, log: cfg.Logger}
	tmpl, err := portal.ParsePages(templateFS, funcs, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	h.tmpl = tmpl
	return h, nil
}

// visitor is the signed-in user of a page and the session's CSRF token.
type visitor struct {
	User accounts.User
	CSRF string
	org  *accounts.Organization // the user's organization, read once per request (org)
}

// org returns v's organization.
func (h *Home) org(ctx context.Context, v *visitor) (accounts.Organization, error) {
	if v.org == nil {
		o, err := h.acc.Organization(ctx, v.User.OrgID)
		if err != nil {
			return o, err
		}
		v.org = &o
	}
	return *v.org, nil
}

// Mount adds the patient pages to p.
func (h *Home) Mount(p *portal.Portal) {
	handle := func(pattern string, page func(http.ResponseWriter, *http.Request, *visitor)) {
		p.HandleSignedIn(pattern, func(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
			page(w, r, &visitor{User: u, CSRF: csrf})
		})
	}
	handle("GET /patients", h.only(clinical, h.searchPage))
	handle("GET /patients/{id}", h.only(clinical, h.recordPage))
	handle("POST /patients/{id}/reason", h.only(clinical, h.giveReason))
	handle("GET /patients/{id}/opt-out", h.only(clinical, h.optOutPage))
	handle("POST /patients/{id}/opt-out", h.only(clinical, h.recordOptOut))
	handle("GET /certificates", h.only(nurses, h.certSearchPage))
	handle("POST /certificates", h.only(nurses, h.certSearch))
	handle("GET /certificates/{id}", h.only(certifiers, h.certSummary))
	handle("GET /certificates/{id}/pdf", h.only(certifiers, h.certPDF))
}

// The roles each group of pages admits.
var (
	clinical   = []accounts.Role{accounts.ProgramAdmin, accounts.ProgramStaff, accounts.ClinicUser, accounts.VaccineCoordinator}
	nurses     = []accounts.Role{accounts.SchoolNurse}
	certifiers = []accounts.Role{accounts.ProgramAdmin, accounts.ProgramStaff, accounts.ClinicUser, accounts.VaccineCoordinator, accounts.SchoolNurse}
)

// only refuses users whose role is not one of roles.
func (h *Home) only(roles []accounts.Role, page func(http.ResponseWriter, *http.Request, *visitor)) func(http.ResponseWriter, *http.Request, *visitor) {
	return func(w http.ResponseWriter, r *http.Request, v *visitor) {
		for _, role := range roles {
			if v.User.Role == role && !v.User.Disabled() {
				page(w, r, v)
				return
			}
		}
		h.fail(w, v, http.StatusForbidden, "Your role ("+v.User.Role.Label()+") may not open this page.")
	}
}

// errNoPatient answers a path naming no patient.
var errNoPatient = errors.New("no such patient")

// access is what v's user may see of the patient the path names
// (accounts.Scope of the organization's relation to the patient).
func (h *Home) access(r *http.Request, v *visitor) (int64, accounts.Access, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, accounts.NoAccess, errNoPatient
	}
	if v.User.Disabled() {
		return id, accounts.NoAccess, nil
	}
	org, err := h.org(r.Context(), v)
	if err != nil {
		return id, accounts.NoAccess, err
	}
	rel, err := h.reg.Relation(r.Context(), id, org.ID, org.FacilityID)
	if errors.Is(err, registry.ErrNoPatient) {
		return id, accounts.NoAccess, errNoPatient
	}
	if err != nil {
		return id, accounts.NoAccess, err
	}
	return id, accounts.Scope(v.User.Role, accounts.RelationshipOf(rel)), nil
}

// needAccess answers the request itself unless v's user has at least
// want on the patient; it returns the patient id and whether to go on.
func (h *Home) needAccess(w http.ResponseWriter, r *http.Request, v *visitor, want accounts.Access) (int64, bool) {
	id, a, err := h.access(r, v)
	switch {
	case errors.Is(err, errNoPatient):
		h.fail(w, v, http.StatusNotFound, "No such patient.")
		return 0, false
	case err != nil:
		h.internal(w, r, v, err)
		return 0, false
	case a < want:
		msg := "This patient's record is not open to your organization. Find the patient by exact name and birth date and give the reason you need the record."
		if v.User.Role == accounts.SchoolNurse {
			msg = "Look the child up by exact name and birth date on the Certificates page first."
		}
		h.fail(w, v, http.StatusForbidden, msg)
		return 0, false
	}
	return id, true
}

// disclose writes a view of patients' data by v's user to the accounting
// of disclosures (one row per patient); the page is sent only once it is
// written.
func (h *Home) disclose(ctx context.Context, v *visitor, what string, patientIDs ...int64) error {
	if len(patientIDs) == 0 {
		return nil
	}
	ds, err := h.disclosures(ctx, v, what, patientIDs...)
	if err != nil {
		return err
	}
	return h.reg.RecordDisclosures(ctx, ds)
}

// disclosures are the rows of the accounting of disclosures for a view of
// patients' data by v's user: to the user's clinic (its facility id) or
// organization, saying what and who.
func (h *Home) disclosures(ctx context.Context, v *visitor, what string, patientIDs ...int64) ([]registry.Disclosure, error) {
	org, err := h.org(ctx, v)
	if err != nil {
		return nil, err
	}
	to := org.FacilityID
	if to == "" {
		to = org.Name
	}
	at := h.cfg.Now()
	what = fmt.Sprintf("%s (people's pages, user %s, %s)", what, v.User.Username, v.User.Role.Label())
	ds := make([]registry.Disclosure, len(patientIDs))
	for i, id := range patientIDs {
		ds[i] = registry.Disclosure{At: at, Facility: to, PatientID: id, What: what}
	}
	return ds, nil
}

// page is what a page shows to the visitor.
type page struct {
	Title string
	V     *visitor
	Flash string
	Error string
	Data  any
}

// render sends a page with the portal's layout; the patient pages' link
// is the current one.
func (h *Home) render(w http.ResponseWriter, status int, name string, pg page) {
	h.tmpl.Render(w, status, name, pg.V.User, pg.V.CSRF, portal.Page{Title: pg.Title, Nav: "patients", Flash: pg.Flash, Error: pg.Error, Data: pg.Data})
}

func (h *Home) fail(w http.ResponseWriter, v *visitor, status int, msg string) {
	h.render(w, status, "error", page{Title: http.StatusText(status), V: v, Error: msg})
}

func (h *Home) internal(w http.ResponseWriter, r *http.Request, v *visitor, err error) {
	h.log.Error("home", "path", r.URL.Path, "err", err)
	h.fail(w, v, http.StatusInternalServerError, "Something went wrong on our side; please try again in a moment.")
}

var funcs = template.FuncMap{
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("2006-01-02")
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("2006-01-02 15:04")
	},
}
