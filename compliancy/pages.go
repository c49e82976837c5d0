package compliancy

import (
	"context"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

// Registry is what the pages need of the registry (registry.Store).
type Registry interface {
	Source
	Patients(ctx context.Context, ids []int64) (map[int64]iis.Patient, error)
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
	IAPAreas(ctx context.Context) ([]registry.IAPArea, error)
	SetIAPArea(ctx context.Context, town, area, actor string) error
}

// Config configures Pages.
type Config struct {
	Registry      Registry
	Organizations coverage.Organizations
	Engine        *forecast.Engine
	Logger        *slog.Logger
	Now           func() time.Time
}

// Pages serves the compliancy lists (see the package doc).
type Pages struct {
	cfg   Config
	lists *Lists
	pages *portal.Pages
}

// PageFunc is a page as portal.Portal.Handle mounts it.
type PageFunc = func(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string)

// New returns the pages.
func New(cfg Config) (*Pages, error) {
	if cfg.Registry == nil || cfg.Organizations == nil || cfg.Engine == nil {
		return nil, errors.New("compliancy: a registry, organizations and a forecast engine are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ps, err := portal.ParsePages(templateFS, template.FuncMap{"date": func(t time.Time) string { return t.Format(time.DateOnly) }}, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("compliancy: %w", err)
	}
	return &Pages{cfg: cfg, pages: ps, lists: &Lists{Source: cfg.Registry, Engine: cfg.Engine}}, nil
}

// Register mounts the pages with handle (portal.Portal.Handle): anyone
// who may run coverage reports; the outreach lists and the IAP map check
// for program staff themselves.
func (p *Pages) Register(handle func(pattern string, perm accounts.Permission, page PageFunc)) {
	handle("GET /compliancy", accounts.ViewCoverage, p.monthly)
	handle("GET /compliancy/goldenrod", accounts.ViewCoverage, p.goldenrod)
	handle("GET /compliancy/outreach", accounts.ViewCoverage, p.outreach)
	handle("GET /compliancy/iap", accounts.ViewCoverage, p.iap)
	handle("POST /compliancy/iap", accounts.ViewCoverage, p.setIAP)
}

const oops = "Something went wrong on our side; please try again in a moment."

// rowView is one child of a list as shown.
type rowView struct {
	Row
	Name  string
	Links bool // the patient's page and data entry
}

// listView is what compliancy.html gets (the monthly and Goldenrod lists).
type listView struct {
	Goldenrod  bool
	Program    bool
	Clinics    []accounts.Organization
	Clinic     string
	Month      string
	Year       string
	Ran        bool
	Heading    string
	Considered string
	Rows       []rowView
	CSV        template.URL
}

// clinic is the clinic (facility id) a list is for: the user's own, or
// for program staff the one the form names; status and msg say why not.
func (p *Pages) clinic(ctx context.Context, u accounts.User, q url.Values, v *listView) (int, string) {
	want := strings.TrimSpace(q.Get("clinic"))
	if u.Role.Program() {
		clinics, err := p.cfg.Organizations.Organizations(ctx, accounts.Clinic)
		if err != nil {
			p.cfg.Logger.Error("compliancy: clinics", "err", err)
			return http.StatusInternalServerError, oops
		}
		v.Program, v.Clinics, v.Clinic = true, clinics, want
		if want == "" && q.Get("run") != "" {
			return http.StatusBadRequest, "Choose a clinic."
		}
		for _, c := range clinics {
			if c.FacilityID == want {
				return 0, ""
			}
		}
		if want != "" {
			return http.StatusBadRequest, fmt.Sprintf("No clinic has the facility id %q.", want)
		}
		return 0, ""
	}
	org, err := p.cfg.Organizations.Organization(ctx, u.OrgID)
	if err != nil {
		p.cfg.Logger.Error("compliancy: organization", "err", err)
		return http.StatusInternalServerError, oops
	}
	if org.Kind != accounts.Clinic {
		return http.StatusForbidden, "These lists are a clinic's; " + org.Name + " is not a clinic."
	}
	if org.FacilityID == "" {
		return http.StatusForbidden, org.Name + " has no facility id in the registry yet, so no child is attributed to it; ask the immunization program to add it."
	}
	if want != "" && want != org.FacilityID {
		return http.StatusForbidden, "You may see the lists of your own clinic only (" + org.Name + ")."
	}
	v.Clinics, v.Clinic = []accounts.Organization{org}, org.FacilityID
	return 0, ""
}

// monthly serves /compliancy: the children who turned 8 or 20 months in
// the chosen month and were not up to date for their age.
func (p *Pages) monthly(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	q := r.URL.Query()
	now := p.cfg.Now().UTC()
	v := &listView{Month: cmpOr(q.Get("month"), now.AddDate(0, -1, 0).Format("2006-01"))}
	if status, msg := p.clinic(r.Context(), u, q, v); status != 0 {
		p.fail(w, u, csrf, "compliancy", "Compliancy at 8 and 20 months", status, msg, v)
		return
	}
	month, err := time.Parse("2006-01", strings.TrimSpace(v.Month))
	if err != nil {
		p.fail(w, u, csrf, "compliancy", "Compliancy at 8 and 20 months", http.StatusBadRequest, "The month must be a month like 2025-05.", v)
		return
	}
	if month.After(now) {
		p.fail(w, u, csrf, "compliancy", "Compliancy at 8 and 20 months", http.StatusBadRequest, "The month cannot be in the future.", v)
		return
	}
	if q.Get("run") == "" && q.Get("format") != "csv" || v.Clinic == "" {
		p.pages.Render(w, http.StatusOK, "compliancy", u, csrf, portal.Page{Title: "Compliancy at 8 and 20 months", Nav: "compliancy", Data: v})
		return
	}
	m, err := p.lists.Monthly(r.Context(), v.Clinic, month)
	if err != nil {
		p.internal(w, u, csrf, err)
		return
	}
	detail := fmt.Sprintf("compliancy monthly list for clinic %s, %s: %d at 8 months, %d at 20 months, %d not up to date", v.Clinic, v.Month, m.Considered[8], m.Considered[20], len(m.Rows))
	v.Heading = fmt.Sprintf("Children of %s who turned 8 or 20 months old in %s and were not up to date for their age", v.Clinic, month.Format("January 2006"))
	v.Considered = fmt.Sprintf("%d children turned 8 months and %d turned 20 months; %d were not up to date.", m.Considered[8], m.Considered[20], len(m.Rows))
	p.answer(w, r, u, csrf, v, m.Rows, detail, "compliancy-"+v.Clinic+"-"+v.Month)
}

// goldenrod serves /compliancy/goldenrod: the yearly 2-year-old clean-up.
func (p *Pages) goldenrod(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	q := r.URL.Query()
	now := p.cfg.Now().UTC()
	v := &listView{Goldenrod: true, Year: cmpOr(strings.TrimSpace(q.Get("year")), strconv.Itoa(now.Year()))}
	const title = "2-year-old clean-up (Goldenrod)"
	if status, msg := p.clinic(r.Context(), u, q, v); status != 0 {
		p.fail(w, u, csrf, "compliancy", title, status, msg, v)
		return
	}
	year, err := strconv.Atoi(v.Year)
	if err != nil || year < 1900 || year > now.Year() {
		p.fail(w, u, csrf, "compliancy", title, http.StatusBadRequest, fmt.Sprintf("The year must be a year like %d, not after this one.", now.Year()), v)
		return
	}
	if q.Get("run") == "" && q.Get("format") != "csv" || v.Clinic == "" {
		p.pages.Render(w, http.StatusOK, "compliancy", u, csrf, portal.Page{Title: title, Nav: "compliancy", Data: v})
		return
	}
	g, err := p.lists.Goldenrod(r.Context(), v.Clinic, year, now)
	if err != nil {
		p.internal(w, u, csrf, err)
		return
	}
	detail := fmt.Sprintf("compliancy Goldenrod list for clinic %s, %d (2nd birthdays to %s): %d children, %d not up to date", v.Clinic, year, g.AsOf.Format(time.DateOnly), g.Considered, len(g.Rows))
	v.Heading = fmt.Sprintf("Children of %s turning 2 in %d (to %s) not up to date for 4:3:1:3:3:1:4", v.Clinic, year, g.AsOf.Format(time.DateOnly))
	v.Considered = fmt.Sprintf("%d children turned 2; %d were not up to date at their 2nd birthday.", g.Considered, len(g.Rows))
	p.answer(w, r, u, csrf, v, g.Rows, detail, "goldenrod-"+v.Clinic+"-"+v.Year)
}

// answer audits a run and sends its list (CSV when asked).
func (p *Pages) answer(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string, v *listView, rows []Row, detail, file string) {
	csvOut := r.URL.Query().Get("format") == "csv"
	if csvOut {
		detail += " (CSV)"
	}
	if err := p.cfg.Registry.RecordAudit(r.Context(), registry.AuditEntry{Actor: u.Actor(), Action: "compliancy-report", Detail: detail}); err != nil {
		p.internal(w, u, csrf, err)
		return
	}
	views, err := p.named(r.Context(), rows, v.Program)
	if err != nil {
		p.internal(w, u, csrf, err)
		return
	}
	if csvOut {
		writeCSV(w, file, views)
		return
	}
	q := r.URL.Query()
	q.Set("format", "csv")
	q.Del("run")
	v.Ran, v.Rows, v.CSV = true, views, template.URL("?"+q.Encode())
	title := "Compliancy at 8 and 20 months"
	if v.Goldenrod {
		title = "2-year-old clean-up (Goldenrod)"
	}
	p.pages.Render(w, http.StatusOK, "compliancy", u, csrf, portal.Page{Title: title, Nav: "compliancy", Data: v})
}

// named adds names: an opted-out or protected child is named to program
// staff only (a clinic sees what is missing, without name or links).
func (p *Pages) named(ctx context.Context, rows []Row, program bool) ([]rowView, error) {
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		if !r.NotDisclosed || program {
			ids = append(ids, r.PatientID)
		}
	}
	people, err := p.cfg.Registry.Patients(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]rowView, len(rows))
	for i, r := range rows {
		rv := rowView{Row: r, Links: !r.NotDisclosed || program}
		if !rv.Links {
			rv.Name = "Record not disclosed (opted out or protected)"
		} else if pp := people[r.PatientID]; len(pp.Names) > 0 {
			rv.Name = pp.Names[0].Family + ", " + pp.Names[0].Given
		}
		out[i] = rv
	}
	return out, nil
}

func writeCSV(w http.ResponseWriter, file string, rows []rowView) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFile(file)+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"patient id", "name", "birth date", "age (months)", "assessed on", "clinic", "town", "county", "missing"})
	for _, r := range rows {
		id := strconv.FormatInt(r.PatientID, 10)
		if !r.Links {
			id = ""
		}
		_ = cw.Write([]string{id, csvSafe(r.Name), r.BirthDate.Format(time.DateOnly), strconv.Itoa(r.Age), r.Reached.Format(time.DateOnly),
			csvSafe(r.Facility), csvSafe(r.Town), csvSafe(r.County), csvSafe(strings.Join(r.Missing, "; "))})
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func safeFile(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (p *Pages) fail(w http.ResponseWriter, u accounts.User, csrf, page, title string, status int, msg string, data any) {
	p.pages.Render(w, status, page, u, csrf, portal.Page{Title: title, Nav: "compliancy", Error: msg, Data: data})
}

func (p *Pages) internal(w http.ResponseWriter, u accounts.User, csrf string, err error) {
	p.cfg.Logger.Error("compliancy: run", "err", err)
	p.pages.Render(w, http.StatusInternalServerError, "compliancy", u, csrf, portal.Page{Title: "Compliancy", Nav: "compliancy", Error: oops, Data: &listView{}})
}
