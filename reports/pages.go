package reports

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"slices"
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

// Pages serves /reports: the runs the user may see, the forms starting a
// run of each kind, each run's progress and result, its CSV and files,
// and the children behind its figures.
type Pages struct {
	runner *Runner
	orgs   Organizations
	log    *slog.Logger
	now    func() time.Time
	tmpl   *portal.Pages
	groups []string
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
	pg := &Pages{runner: r, orgs: orgs, log: log, now: now, tmpl: tmpl}
	if rc, ok := r.reports[KindRecall].(Recall); ok && rc.Forecaster != nil {
		pg.groups = rc.Forecaster.VaccineGroups()
	}
	return pg, nil
}

// Register hands each page to handle (portal's Handle).
func (p *Pages) Register(handle func(pattern string, perm accounts.Permission, page PageFunc)) {
	handle("GET /reports", accounts.ViewCoverage, p.list)
	handle("POST /reports/{kind}", accounts.ViewCoverage, p.start)
	handle("GET /reports/{id}", accounts.ViewCoverage, p.show)
	handle("GET /reports/{id}/csv", accounts.ViewCoverage, p.csv)
	handle("GET /reports/{id}/files/{name}", accounts.ViewCoverage, p.file)
	handle("GET /reports/{id}/children", accounts.ViewCoverage, p.children)
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
	Month   string // last month, for the monthly list
	Year    int
	Groups  []string // reminder/recall's vaccine groups
}

// view is a run as the pages show it.
type view struct {
	registry.ReportRun
	Summary *Summary
	Params  string
}

func (p *Pages) newView(r registry.ReportRun) view {
	v := view{ReportRun: r, Params: string(r.Params)}
	if plan, err := p.runner.Plan(r.Kind, r.Params, time.Time{}); err == nil {
		v.Params = plan.Describe()
	}
	var s Summary
	if json.Unmarshal(r.Summary, &s) == nil && r.Status == "done" {
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
	now := p.now().UTC()
	pg := listPage{Program: sc.all, Clinic: sc.clinic, AsOf: now.Format(time.DateOnly), Month: now.AddDate(0, -1, 0).Format("2006-01"),
		Year: now.Year(), Groups: p.groups}
	for _, run := range runs {
		pg.Runs = append(pg.Runs, p.newView(run))
	}
	p.tmpl.Render(w, status, "list", u, csrf, portal.Page{Title: "Report runs", Nav: "coverage", Error: msg, Data: pg})
}

// start starts a run of the path's kind with the form's parameters (the
// fields named as the kind's JSON parameters; a field sent several times,
// like reminder/recall's vaccine groups, is joined with commas): a clinic
// user's run covers their clinic.
func (p *Pages) start(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	kind := r.PathValue("kind")
	if !p.runner.Has(kind) {
		p.fail(w, u, csrf, http.StatusNotFound, "No such report.")
		return
	}
	sc, refusal, err := p.scope(r.Context(), u)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	if refusal != "" {
		p.fail(w, u, csrf, http.StatusForbidden, refusal)
		return
	}
	r.ParseForm()
	form := map[string]string{}
	for k, vs := range r.PostForm {
		var keep []string
		for _, v := range vs {
			if v = strings.TrimSpace(v); v != "" {
				keep = append(keep, v)
			}
		}
		if k != "csrf" && len(keep) > 0 {
			form[k] = strings.Join(keep, ",")
		}
	}
	if !sc.all {
		if c := form["clinic"]; c != "" && c != sc.facility {
			p.listWith(w, r, u, csrf, http.StatusForbidden, "You may run reports for your own clinic only ("+sc.clinic+").")
			return
		}
		if form["town"] != "" || form["county"] != "" || kind == KindOutreach {
			p.listWith(w, r, u, csrf, http.StatusForbidden, "Reports by town, county or IAP area are for the immunization program; yours covers your clinic.")
			return
		}
		form["clinic"] = sc.facility
	}
	raw, _ := json.Marshal(form)
	plan, err := p.runner.Plan(kind, raw, time.Time{})
	if err != nil {
		p.listWith(w, r, u, csrf, http.StatusBadRequest, "Bad parameters: "+err.Error()+".")
		return
	}
	if !sc.all && plan.Facility() != sc.facility {
		p.listWith(w, r, u, csrf, http.StatusForbidden, "You may run reports for your own clinic only ("+sc.clinic+").")
		return
	}
	id, err := p.runner.Start(r.Context(), kind, raw, u.Actor())
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
	Refresh  bool
	Files    []registry.ReportFileInfo
	Measures []measureLink // coverage: the drill-down of each measure
	Counts   []count
}

type measureLink struct {
	Name string
	Rate float64
}

type count struct {
	Name string
	N    int
}

func (p *Pages) show(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	run, ok := p.run(w, r, u, csrf)
	if !ok {
		return
	}
	pg := showPage{view: p.newView(run), Refresh: run.Status == "queued" || run.Status == "running"}
	if run.Status == "done" {
		files, err := p.runner.store.ReportRunFiles(r.Context(), run.ID)
		if err != nil {
			p.internal(w, r, u, csrf, err)
			return
		}
		pg.Files = files
	}
	if s := pg.Summary; s != nil {
		for _, name := range slices.Sorted(maps.Keys(s.Rates)) {
			pg.Measures = append(pg.Measures, measureLink{name, s.Rates[name]})
		}
		for _, name := range slices.Sorted(maps.Keys(s.Counts)) {
			pg.Counts = append(pg.Counts, count{name, s.Counts[name]})
		}
	}
	p.tmpl.Render(w, http.StatusOK, "run", u, csrf, portal.Page{Title: fmt.Sprintf("Report run %d", run.ID), Nav: "coverage", Data: pg})
}

// finished reads the run of the path if the user may see it and it is
// done.
func (p *Pages) finished(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) (registry.ReportRun, bool) {
	run, ok := p.run(w, r, u, csrf)
	if ok && run.Status != "done" {
		p.fail(w, u, csrf, http.StatusConflict, "This run has no result yet.")
		return run, false
	}
	return run, ok
}

// csv sends the run's CSV (a list's restricted rows without who for a
// clinic).
func (p *Pages) csv(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	run, ok := p.finished(w, r, u, csrf)
	if !ok {
		return
	}
	b, err := p.runner.store.ReportRunCSV(r.Context(), run.ID)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	p.send(w, r, u, csrf, run, registry.ReportFile{Name: run.Kind + ".csv", ContentType: csvType, Body: b}, b)
}

// file sends one of the run's files.
func (p *Pages) file(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	run, ok := p.finished(w, r, u, csrf)
	if !ok {
		return
	}
	f, err := p.runner.store.ReportRunFile(r.Context(), run.ID, r.PathValue("name"))
	if errors.Is(err, registry.ErrNoReportFile) {
		p.fail(w, u, csrf, http.StatusNotFound, "This run has no such file.")
		return
	}
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	var list []byte
	if run.Kind == KindRecall {
		if list, err = p.runner.store.ReportRunCSV(r.Context(), run.ID); err != nil {
			p.internal(w, r, u, csrf, err)
			return
		}
	}
	p.send(w, r, u, csrf, run, f, list)
}

// send audits the download of f and sends it: a CSV as the user may see
// it (ReadTable). A reminder/recall run's files disclose the children of
// its list (list, its CSV): each is recorded in the accounting of
// disclosures, as the live reminder/recall pages do.
func (p *Pages) send(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string, run registry.ReportRun, f registry.ReportFile, list []byte) {
	sc, _, err := p.scope(r.Context(), u)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	body := f.Body
	if strings.HasSuffix(f.Name, ".csv") {
		t, err := ReadTable(body, sc.all)
		if err != nil {
			p.internal(w, r, u, csrf, err)
			return
		}
		body = t.CSV()
	}
	audit := registry.AuditEntry{Actor: u.Actor(), Action: "report-run-download", Detail: fmt.Sprintf("run %d: %s", run.ID, f.Name)}
	if run.Kind == KindRecall {
		err = p.disclose(r.Context(), u, run, f.Name, list, audit)
	} else {
		err = p.runner.store.RecordAudit(r.Context(), audit)
	}
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%d-%s"`, run.Kind, run.ID, f.Name))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}

// disclose records the disclosure of a reminder/recall run's children
// and audits the download, in one transaction.
func (p *Pages) disclose(ctx context.Context, u accounts.User, run registry.ReportRun, name string, list []byte, audit registry.AuditEntry) error {
	t, err := ReadTable(list, true)
	if err != nil {
		return err
	}
	org, err := p.orgs.Organization(ctx, u.OrgID)
	if err != nil {
		return err
	}
	to := cmp.Or(org.FacilityID, org.Name)
	what := fmt.Sprintf("Reminder/recall run %d, %s: name, birth date, guardian, address, phone, vaccines due (people's pages, user %s, %s)",
		run.ID, name, u.Username, u.Role.Label())
	at := p.now()
	var ds []registry.Disclosure
	for _, id := range t.PatientIDs() {
		ds = append(ds, registry.Disclosure{At: at, Facility: to, PatientID: id, What: what})
	}
	return p.runner.store.RecordDisclosuresAudited(ctx, ds, audit)
}

// shownRows is how many children the drill-down page lists (the CSV has
// all).
const shownRows = 500

type childrenPage struct {
	view
	Measure string
	Table   *Table
	More    int
	CSV     string
}

// children shows the children behind a run's figures: for coverage, those
// not up to date for the measure asked (all measures when none) with why;
// for a list, its rows.
func (p *Pages) children(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	run, ok := p.finished(w, r, u, csrf)
	if !ok {
		return
	}
	sc, _, err := p.scope(r.Context(), u)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	var body []byte
	csvLink := fmt.Sprintf("/reports/%d/csv", run.ID)
	if run.Kind == KindCoverage {
		f, err := p.runner.store.ReportRunFile(r.Context(), run.ID, FileChildren)
		if err != nil && !errors.Is(err, registry.ErrNoReportFile) {
			p.internal(w, r, u, csrf, err)
			return
		}
		body, csvLink = f.Body, fmt.Sprintf("/reports/%d/files/%s", run.ID, FileChildren)
	} else if body, err = p.runner.store.ReportRunCSV(r.Context(), run.ID); err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	t, err := ReadTable(body, sc.all)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	measure := r.URL.Query().Get("measure")
	t.Filter(MeasuresColumn, measure)
	pg := childrenPage{view: p.newView(run), Measure: measure, Table: t, CSV: csvLink}
	if n := len(t.Rows); n > shownRows {
		t.Rows, pg.More = t.Rows[:shownRows], n-shownRows
	}
	audit := registry.AuditEntry{Actor: u.Actor(), Action: "report-run-view", Detail: fmt.Sprintf("run %d: children %s", run.ID, measure)}
	if run.Kind == KindRecall {
		err = p.disclose(r.Context(), u, run, "list on screen", body, audit)
	} else {
		err = p.runner.store.RecordAudit(r.Context(), audit)
	}
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	title := fmt.Sprintf("Report run %d: the children", run.ID)
	if measure != "" {
		title = fmt.Sprintf("Report run %d: not up to date for %s", run.ID, measure)
	}
	p.tmpl.Render(w, http.StatusOK, "children", u, csrf, portal.Page{Title: title, Nav: "coverage", Data: pg})
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
