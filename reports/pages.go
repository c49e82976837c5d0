package reports

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

// Organizations finds a user's organization (accounts.Store).
type Organizations interface {
	Organization(ctx context.Context, id int64) (accounts.Organization, error)
}

// PageFunc is a page behind the portal's gate.
type PageFunc = func(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string)

// Pages serves /reports: the runs the user may see, a form starting a
// coverage run, each run's progress and result, and its CSV.
type Pages struct {
	runner *Runner
	orgs   Organizations
	log    *slog.Logger
	now    func() time.Time
	tmpl   *portal.Pages
}

// NewPages returns the pages; now is the clock (nil: time.Now).
func NewPages(r *Runner, orgs Organizations, now func() time.Time, log *slog.Logger) (*Pages, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	tmpl, err := portal.ParsePages(templateFS, template.FuncMap{"when": when}, log)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	return &Pages{runner: r, orgs: orgs, log: log, now: now, tmpl: tmpl}, nil
}

// Register hands each page to handle (portal's Handle).
func (p *Pages) Register(handle func(pattern string, perm accounts.Permission, page PageFunc)) {
	handle("GET /reports", accounts.ViewCoverage, p.list)
	handle("POST /reports/coverage", accounts.ViewCoverage, p.start)
	handle("GET /reports/{id}", accounts.ViewCoverage, p.show)
	handle("GET /reports/{id}/csv", accounts.ViewCoverage, p.csv)
}

// scope is the facility whose runs the user sees: all for program staff.
type scope struct {
	all      bool
	facility string
	clinic   string // the clinic's name
}

func (p *Pages) scope(ctx context.Context, u accounts.User) (scope, string, error) {
	if u.Role.Program() {
		return scope{all: true}, "", nil
	}
	org, err := p.orgs.Organization(ctx, u.OrgID)
	if err != nil {
		return scope{}, "", err
	}
	if org.FacilityID == "" {
		return scope{}, org.Name + " has no facility id in the registry yet; ask the immunization program to add it.", nil
	}
	return scope{facility: org.FacilityID, clinic: org.Name}, "", nil
}

func (sc scope) sees(r registry.ReportRun) bool {
	return sc.all || (sc.facility != "" && r.Facility == sc.facility)
}

type listPage struct {
	Runs    []view
	Program bool
	Clinic  string
	AsOf    string
}

// view is a run as the pages show it.
type view struct {
	registry.ReportRun
	Summary *Summary
	Params  string
}

func newView(r registry.ReportRun) view {
	v := view{ReportRun: r, Params: describe(r.Params)}
	var s Summary
	if json.Unmarshal(r.Summary, &s) == nil && s.Rates != nil {
		v.Summary = &s
	}
	return v
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	p.listWith(w, r, u, csrf, http.StatusOK, "")
}

func (p *Pages) listWith(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string, status int, msg string) {
	sc, refusal, err := p.scope(r.Context(), u)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	if refusal != "" {
		p.fail(w, u, csrf, http.StatusForbidden, refusal)
		return
	}
	runs, err := p.runner.store.ReportRuns(r.Context(), sc.all, sc.facility, 100)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	pg := listPage{Program: sc.all, Clinic: sc.clinic, AsOf: p.now().UTC().Format(time.DateOnly)}
	for _, run := range runs {
		pg.Runs = append(pg.Runs, newView(run))
	}
	p.tmpl.Render(w, status, "list", u, csrf, portal.Page{Title: "Report runs", Nav: "coverage", Error: msg, Data: pg})
}

// start starts a coverage run with the form's parameters: a clinic user's
// run covers their clinic.
func (p *Pages) start(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	sc, refusal, err := p.scope(r.Context(), u)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	if refusal != "" {
		p.fail(w, u, csrf, http.StatusForbidden, refusal)
		return
	}
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	c := CoverageParams{AsOf: f("asof"), Cohort: f("cohort"), From: f("from"), To: f("to"), Timing: f("timing"),
		Facility: f("clinic"), Town: f("town"), County: f("county")}
	if !sc.all {
		if c.Facility != "" && c.Facility != sc.facility {
			p.listWith(w, r, u, csrf, http.StatusForbidden, "You may run reports for your own clinic only ("+sc.clinic+").")
			return
		}
		if c.Town != "" || c.County != "" {
			p.listWith(w, r, u, csrf, http.StatusForbidden, "Reports by town or county are for the immunization program; yours covers your clinic.")
			return
		}
		c.Facility = sc.facility
	}
	if _, err := c.Coverage(); err != nil {
		p.listWith(w, r, u, csrf, http.StatusBadRequest, "Bad parameters: "+err.Error()+".")
		return
	}
	id, err := p.runner.StartCoverage(r.Context(), c, u.Actor())
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	http.Redirect(w, r, "/reports/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// run reads the run of the path, if the user may see it.
func (p *Pages) run(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) (registry.ReportRun, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		p.fail(w, u, csrf, http.StatusNotFound, "No such report run.")
		return registry.ReportRun{}, false
	}
	sc, refusal, err := p.scope(r.Context(), u)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return registry.ReportRun{}, false
	}
	run, err := p.runner.store.ReportRun(r.Context(), id)
	if errors.Is(err, registry.ErrNoReportRun) || (err == nil && (refusal != "" || !sc.sees(run))) {
		p.fail(w, u, csrf, http.StatusNotFound, "No such report run (or not one of your clinic's).")
		return run, false
	}
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return run, false
	}
	return run, true
}

type showPage struct {
	view
	Refresh bool
}

func (p *Pages) show(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	run, ok := p.run(w, r, u, csrf)
	if !ok {
		return
	}
	pg := showPage{view: newView(run), Refresh: run.Status == "queued" || run.Status == "running"}
	p.tmpl.Render(w, http.StatusOK, "run", u, csrf, portal.Page{Title: fmt.Sprintf("Report run %d", run.ID), Nav: "coverage", Data: pg})
}

func (p *Pages) csv(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	run, ok := p.run(w, r, u, csrf)
	if !ok {
		return
	}
	if run.Status != "done" {
		p.fail(w, u, csrf, http.StatusConflict, "This run has no result yet.")
		return
	}
	b, err := p.runner.store.ReportRunCSV(r.Context(), run.ID)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	if err := p.runner.store.RecordAudit(r.Context(), registry.AuditEntry{Actor: u.Actor(), Action: "report-run-download",
		Detail: fmt.Sprintf("run %d", run.ID)}); err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%d.csv"`, run.Kind, run.ID))
	w.Write(b)
}

// describe names a run's parameters in words.
func describe(raw json.RawMessage) string {
	var c CoverageParams
	if json.Unmarshal(raw, &c) != nil {
		return string(raw)
	}
	var b strings.Builder
	switch c.Cohort {
	case "teens":
		b.WriteString("adolescents (13-17 years)")
	case "birth":
		fmt.Fprintf(&b, "born %s to %s", c.From, c.To)
	default:
		b.WriteString("AFIX cohort (24-35 months)")
	}
	fmt.Fprintf(&b, " on %s", c.AsOf)
	if c.Timing == "asof" {
		b.WriteString(", doses by the assessment date")
	}
	switch {
	case c.Facility != "":
		b.WriteString(", clinic " + c.Facility)
	case c.Town != "":
		b.WriteString(", town " + c.Town)
	case c.County != "":
		b.WriteString(", county " + c.County)
	default:
		b.WriteString(", statewide")
	}
	return b.String()
}

// when formats a time or *time.Time ("" for nil).
func when(v any) string {
	switch t := v.(type) {
	case time.Time:
		return t.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if t != nil {
			return t.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	return ""
}

func (p *Pages) fail(w http.ResponseWriter, u accounts.User, csrf string, status int, msg string) {
	p.tmpl.Render(w, status, "message", u, csrf, portal.Page{Title: http.StatusText(status), Nav: "coverage", Error: msg})
}

func (p *Pages) internal(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string, err error) {
	p.log.Error("reports", "path", r.URL.Path, "err", err)
	p.fail(w, u, csrf, http.StatusInternalServerError, "Something went wrong on our side; please try again in a moment.")
}
