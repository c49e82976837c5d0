package coverage

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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/accounts"
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
	Relation(ctx context.Context, patientID, orgID int64, facility string) (registry.Relation, error)
	MarkMovedOrGoneElsewhere(ctx context.Context, patientID int64, facility, actor string) error
	UnmarkMovedOrGoneElsewhere(ctx context.Context, patientID int64, facility, actor string) error
}

// Organizations finds clinics (accounts.Store).
type Organizations interface {
	Organization(ctx context.Context, id int64) (accounts.Organization, error)
	Organizations(ctx context.Context, kinds ...accounts.OrgKind) ([]accounts.Organization, error)
}

// PagesConfig configures Pages.
type PagesConfig struct {
	Registry      Registry
	Organizations Organizations
	Assessor      *Assessor
	Logger        *slog.Logger
	Now           func() time.Time
}

// Pages serves the coverage report: /coverage (the figures, the bar chart
// by clinic, the trend by month), /coverage/children (the drill-down) and
// their CSV downloads. Clinic users and vaccine coordinators see their
// own clinic's; program staff any clinic's, a town's or county's, or the
// state's.
type Pages struct {
	cfg  PagesConfig
	log  *slog.Logger
	tmpl *portal.Pages

	mu    sync.Mutex
	cache map[string]cached // recent reports by parameters, for the drill-down
}

type cached struct {
	r  *Report
	at time.Time
}

// NewPages returns the pages.
func NewPages(cfg PagesConfig) (*Pages, error) {
	if cfg.Registry == nil || cfg.Organizations == nil || cfg.Assessor == nil {
		return nil, errors.New("coverage: Registry, Organizations and Assessor are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tmpl, err := portal.ParsePages(templateFS, funcs, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("coverage: %w", err)
	}
	return &Pages{cfg: cfg, log: cfg.Logger, tmpl: tmpl, cache: map[string]cached{}}, nil
}

// PageFunc is a page behind the portal's gate.
type PageFunc = func(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string)

// Register hands each page to handle (portal's Handle).
func (p *Pages) Register(handle func(pattern string, perm accounts.Permission, page PageFunc)) {
	handle("GET /coverage", accounts.ViewCoverage, p.report)
	handle("GET /coverage/children", accounts.ViewCoverage, p.children)
	handle("POST /coverage/moge", accounts.ViewCoverage, p.moge)
}

// moge marks (or, with undo, unmarks) a child "moved or gone elsewhere"
// for the user's clinic, which must have reported the child; then back to
// the drill-down, whose report is computed again.
func (p *Pages) moge(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	if u.Role.Program() {
		p.fail(w, u, csrf, http.StatusForbidden, "A clinic marks its own children moved or gone elsewhere.")
		return
	}
	id, err := strconv.ParseInt(r.PostFormValue("patient"), 10, 64)
	if err != nil || id <= 0 {
		p.fail(w, u, csrf, http.StatusBadRequest, "No child given.")
		return
	}
	org, err := p.cfg.Organizations.Organization(r.Context(), u.OrgID)
	if err != nil || org.FacilityID == "" {
		p.fail(w, u, csrf, http.StatusForbidden, "Your organization has no facility id in the registry, so no child is attributed to it.")
		return
	}
	rel, err := p.cfg.Registry.Relation(r.Context(), id, org.ID, org.FacilityID)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	if !rel.Reported {
		p.fail(w, u, csrf, http.StatusForbidden, "Your clinic has not reported this child.")
		return
	}
	if r.PostFormValue("undo") != "" {
		err = p.cfg.Registry.UnmarkMovedOrGoneElsewhere(r.Context(), id, org.FacilityID, u.Actor())
	} else {
		err = p.cfg.Registry.MarkMovedOrGoneElsewhere(r.Context(), id, org.FacilityID, u.Actor())
	}
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	p.mu.Lock()
	clear(p.cache) // the attribution changed
	p.mu.Unlock()
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/coverage") || strings.HasPrefix(back, "//") {
		back = "/coverage"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// request is a report's parameters as the pages take them.
type request struct {
	Params
	Measure  Measure
	Clinics  []accounts.Organization // the clinics the user may choose
	Program  bool
	ClinicOf string // the user's own clinic's facility id
}

// parse reads and checks the parameters: a clear message when bad, and
// refusal of a clinic the user may not see.
func (p *Pages) parse(r *http.Request, u accounts.User) (*request, int, string) {
	q := r.URL.Query()
	req := &request{Program: u.Role.Program()}
	req.AsOf = p.cfg.Now().UTC().Truncate(24 * time.Hour)
	var err error
	if s := q.Get("asof"); s != "" {
		if req.AsOf, err = time.Parse(time.DateOnly, s); err != nil {
			return nil, http.StatusBadRequest, "The assessment date must be a date like 2025-06-30."
		}
	}
	switch q.Get("cohort") {
	case "", "afix":
		req.Cohort = AFIX
	case "teens":
		req.Cohort = Teens
	case "birth":
		req.Cohort = BirthCohort
		if req.BornFrom, err = time.Parse(time.DateOnly, q.Get("from")); err != nil {
			return nil, http.StatusBadRequest, "A birth cohort needs its first birth date, like 2023-01-01."
		}
		if req.BornTo, err = time.Parse(time.DateOnly, q.Get("to")); err != nil {
			return nil, http.StatusBadRequest, "A birth cohort needs its last birth date, like 2023-12-31."
		}
	default:
		return nil, http.StatusBadRequest, "The cohort must be afix, teens or birth."
	}
	switch q.Get("timing") {
	case "", "24m":
	case "asof":
		req.Timing = AtAssessment
	default:
		return nil, http.StatusBadRequest, "The timing must be 24m (doses before the 2nd birthday) or asof (doses up to the assessment date)."
	}
	if _, _, err := req.Born(); err != nil {
		return nil, http.StatusBadRequest, "Bad parameters: " + err.Error() + "."
	}
	req.Measure = nMeasures
	if s := q.Get("measure"); s != "" {
		for _, m := range req.Measures() {
			if m.String() == s {
				req.Measure = m
			}
		}
		if req.Measure == nMeasures {
			return nil, http.StatusBadRequest, fmt.Sprintf("No measure %q in this report.", s)
		}
	}
	req.Facility, req.Town, req.County = strings.TrimSpace(q.Get("clinic")), strings.TrimSpace(q.Get("town")), strings.TrimSpace(q.Get("county"))
	return p.scope(r, u, req)
}

// scope applies what the user may see: a clinic user only their clinic.
func (p *Pages) scope(r *http.Request, u accounts.User, req *request) (*request, int, string) {
	if req.Program {
		clinics, err := p.cfg.Organizations.Organizations(r.Context(), accounts.Clinic)
		if err != nil {
			p.log.Error("coverage: clinics", "err", err)
			return nil, http.StatusInternalServerError, "Something went wrong on our side; please try again in a moment."
		}
		req.Clinics = clinics
		return req, 0, ""
	}
	org, err := p.cfg.Organizations.Organization(r.Context(), u.OrgID)
	if err != nil {
		p.log.Error("coverage: organization", "err", err)
		return nil, http.StatusInternalServerError, "Something went wrong on our side; please try again in a moment."
	}
	if org.FacilityID == "" {
		return nil, http.StatusForbidden, org.Name + " has no facility id in the registry yet, so no child is attributed to it; ask the immunization program to add it."
	}
	if req.Facility != "" && req.Facility != org.FacilityID {
		return nil, http.StatusForbidden, "You may run coverage reports for your own clinic only (" + org.Name + ")."
	}
	if req.Town != "" || req.County != "" {
		return nil, http.StatusForbidden, "Reports by town or county are for the immunization program; yours covers your clinic."
	}
	req.Facility, req.ClinicOf = org.FacilityID, org.FacilityID
	req.Clinics = []accounts.Organization{org}
	return req, 0, ""
}

// run computes the report (or takes it from the last ten minutes' runs
// with the same parameters) and audits the run, whichever it was.
func (p *Pages) run(ctx context.Context, u accounts.User, req *request) (*Report, error) {
	key := fmt.Sprintf("%d|%s|%s|%s|%d|%s|%s|%s", req.Cohort, req.AsOf.Format(time.DateOnly), req.BornFrom.Format(time.DateOnly),
		req.BornTo.Format(time.DateOnly), req.Timing, req.Facility, req.Town, req.County)
	p.mu.Lock()
	c, ok := p.cache[key]
	p.mu.Unlock()
	how := "computed"
	r := c.r
	if ok && p.cfg.Now().Sub(c.at) < 10*time.Minute {
		how = "from the run of " + c.at.UTC().Format(time.RFC3339)
	} else {
		var err error
		if r, err = Run(ctx, p.cfg.Registry, p.cfg.Assessor, req.Params); err != nil {
			return nil, err
		}
		p.remember(key, r)
	}
	err := p.cfg.Registry.RecordAudit(ctx, registry.AuditEntry{Actor: u.Actor(), Action: "coverage-report",
		Detail: fmt.Sprintf("%s; %d children; %s in %v", describe(req), r.Total.Children, how, r.Took.Round(time.Millisecond))})
	return r, err
}

// remember keeps a report for the drill-down and CSV that follow.
func (p *Pages) remember(key string, r *Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, c := range p.cache {
		if p.cfg.Now().Sub(c.at) >= 10*time.Minute || len(p.cache) > 16 {
			delete(p.cache, k)
		}
	}
	p.cache[key] = cached{r, p.cfg.Now()}
}

// describe names a report's parameters in words (no patient data).
func describe(req *request) string {
	var b strings.Builder
	switch req.Cohort {
	case AFIX:
		b.WriteString("AFIX cohort (24-35 months)")
	case Teens:
		b.WriteString("adolescents (13-17 years)")
	case BirthCohort:
		fmt.Fprintf(&b, "born %s to %s", req.BornFrom.Format(time.DateOnly), req.BornTo.Format(time.DateOnly))
	}
	fmt.Fprintf(&b, " on %s", req.AsOf.Format(time.DateOnly))
	if req.Cohort != Teens {
		b.WriteString([2]string{", doses by 24 months", ", doses by the assessment date"}[req.Timing])
	}
	switch {
	case req.Facility != "":
		b.WriteString(", clinic " + req.Facility)
	case req.Town != "":
		b.WriteString(", town " + req.Town)
	case req.County != "":
		b.WriteString(", county " + req.County)
	default:
		b.WriteString(", statewide")
	}
	return b.String()
}

// query is the request's parameters as a query string (without measure).
func (req *request) query() url.Values {
	v := url.Values{"asof": {req.AsOf.Format(time.DateOnly)}}
	switch req.Cohort {
	case Teens:
		v.Set("cohort", "teens")
	case BirthCohort:
		v.Set("cohort", "birth")
		v.Set("from", req.BornFrom.Format(time.DateOnly))
		v.Set("to", req.BornTo.Format(time.DateOnly))
	default:
		v.Set("cohort", "afix")
	}
	if req.Timing == AtAssessment {
		v.Set("timing", "asof")
	} else {
		v.Set("timing", "24m")
	}
	for k, s := range map[string]string{"clinic": req.Facility, "town": req.Town, "county": req.County} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// row is one line of a figures table.
type row struct {
	Label, Link string
	Measure     Measure // for a measure's row
	Tally       *Tally
}

type reportPage struct {
	Req      *request
	Report   *Report
	Measures []Measure
	Rows     []row // per measure: Link is the drill-down
	ByClinic []row
	ByCounty []row
	ByTown   []row
	Bars     template.HTML
	Trend    template.HTML
	CSV      string
	// SeriesMeasure is the full series, the measure of the charts and
	// breakdowns.
	SeriesMeasure Measure
	SeriesName    string
}

func (p *Pages) report(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	req, status, msg := p.parse(r, u)
	if req == nil {
		p.fail(w, u, csrf, status, msg)
		return
	}
	pg := reportPage{Req: req, Measures: req.Measures()}
	if r.URL.Query().Get("run") == "" && r.URL.Query().Get("format") == "" {
		p.render(w, http.StatusOK, "report", u, csrf, "Coverage", pg) // the form alone
		return
	}
	rep, err := p.run(r.Context(), u, req)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	names := clinicNames(req.Clinics)
	if r.URL.Query().Get("format") == "csv" {
		p.figuresCSV(w, rep, names)
		return
	}
	pg.Report = rep
	q := req.query()
	q.Set("run", "1")
	for _, m := range pg.Measures {
		q.Set("measure", m.String())
		pg.Rows = append(pg.Rows, row{Label: m.String(), Link: "/coverage/children?" + q.Encode(), Measure: m, Tally: &rep.Total})
	}
	q.Del("measure")
	q.Set("format", "csv")
	pg.CSV = "/coverage?" + q.Encode()
	pg.ByClinic = groupRows(rep.ByFacility, names, req, "clinic")
	if req.Program {
		pg.ByCounty = groupRows(rep.ByCounty, nil, req, "county")
		pg.ByTown = groupRows(rep.ByTown, nil, req, "town")
	}
	series := pg.Measures[len(pg.Measures)-1]
	pg.SeriesMeasure, pg.SeriesName = series, series.String()
	pg.Bars = barChart(pg.ByClinic, series)
	pg.Trend = trendChart(rep, series)
	p.render(w, http.StatusOK, "report", u, csrf, "Coverage", pg)
}

func clinicNames(orgs []accounts.Organization) map[string]string {
	m := map[string]string{"": "No clinic (none or moved or gone elsewhere)"}
	for _, o := range orgs {
		if o.FacilityID != "" {
			m[o.FacilityID] = o.Name
		}
	}
	return m
}

// groupRows lists a breakdown's groups, largest first, each linking to
// the report narrowed to it (for program staff).
func groupRows(m map[string]*Tally, names map[string]string, req *request, param string) []row {
	var out []row
	for k, t := range m {
		label := k
		if n, ok := names[k]; ok {
			label = n
		} else if k == "" {
			label = "(unknown)"
		}
		link := ""
		if req.Program && k != "" {
			q := req.query()
			q.Del("clinic")
			q.Del("town")
			q.Del("county")
			q.Set(param, k)
			q.Set("run", "1")
			link = "/coverage?" + q.Encode()
		}
		out = append(out, row{Label: label, Link: link, Tally: t})
	}
	slices.SortFunc(out, func(a, b row) int {
		if a.Tally.Children != b.Tally.Children {
			return b.Tally.Children - a.Tally.Children
		}
		return strings.Compare(a.Label, b.Label)
	})
	return out
}

func (p *Pages) figuresCSV(w http.ResponseWriter, rep *Report, names map[string]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="coverage.csv"`)
	cw := csv.NewWriter(w)
	head := []string{"group", "name", "children"}
	ms := rep.Measures()
	for _, m := range ms {
		head = append(head, m.String()+" up to date", m.String()+" %")
	}
	cw.Write(append(head, "contraindicated", "refused"))
	line := func(group, name string, t *Tally) {
		rec := []string{group, name, strconv.Itoa(t.Children)}
		for _, m := range ms {
			rec = append(rec, strconv.Itoa(t.UpToDate[m]), strconv.FormatFloat(t.Rate(m), 'f', 1, 64))
		}
		cw.Write(append(rec, strconv.Itoa(t.Contraindicated), strconv.Itoa(t.Refused)))
	}
	line("total", "", &rep.Total)
	for _, k := range sortedKeys(rep.ByFacility) {
		n := names[k]
		if n == "" {
			n = k
		}
		line("clinic", n, rep.ByFacility[k])
	}
	for _, k := range sortedKeys(rep.ByCounty) {
		line("county", k, rep.ByCounty[k])
	}
	for _, k := range rep.Months() {
		line("month", k, rep.ByMonth[k])
	}
	cw.Flush()
}

func sortedKeys(m map[string]*Tally) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// childRow is one child of the drill-down.
type childRow struct {
	Child
	Name    string
	Reasons []string
	Flags   string
}

type childrenPage struct {
	Req     *request
	Report  *Report
	Measure Measure
	Rows    []childRow
	More    int
	Back    string
	CSV     string
	Here    string // this page, to come back to after a mark
	Clinic  bool   // the user is a clinic's: may mark children MOGE
}

// shown is how many children the drill-down page lists (the CSV has all).
const shown = 500

func (p *Pages) children(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	req, status, msg := p.parse(r, u)
	if req == nil {
		p.fail(w, u, csrf, status, msg)
		return
	}
	if req.Measure == nMeasures {
		req.Measure = req.Measures()[len(req.Measures())-1]
	}
	rep, err := p.run(r.Context(), u, req)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	var kids []Child
	for _, c := range rep.NotUpToDate {
		if !c.UpToDate[req.Measure] {
			kids = append(kids, c)
		}
	}
	csvOut := r.URL.Query().Get("format") == "csv"
	list := kids
	if !csvOut && len(list) > shown {
		list = list[:shown]
	}
	rows, err := p.childRows(r.Context(), list, req.Measure, req.Program)
	if err != nil {
		p.internal(w, r, u, csrf, err)
		return
	}
	if csvOut {
		childrenCSV(w, rows)
		return
	}
	q := req.query()
	q.Set("run", "1")
	back := "/coverage?" + q.Encode()
	q.Set("measure", req.Measure.String())
	q.Set("format", "csv")
	p.render(w, http.StatusOK, "children", u, csrf, "Not up to date: "+req.Measure.String(), childrenPage{
		Req: req, Report: rep, Measure: req.Measure, Rows: rows, More: len(kids) - len(list), Back: back, CSV: "/coverage/children?" + q.Encode(),
		Here: r.URL.RequestURI(), Clinic: !req.Program})
}

// childRows adds names and the reasons that concern m (for the series,
// every gap). An opted-out or protected child is named to program staff
// only (as the Immunization Home's scope says); a clinic sees the reasons.
func (p *Pages) childRows(ctx context.Context, kids []Child, m Measure, program bool) ([]childRow, error) {
	ids := make([]int64, 0, len(kids))
	for _, c := range kids {
		if !c.NotDisclosed || program {
			ids = append(ids, c.PatientID)
		}
	}
	people, err := p.cfg.Registry.Patients(ctx, ids)
	if err != nil {
		return nil, err
	}
	rows := make([]childRow, len(kids))
	for i, c := range kids {
		cr := childRow{Child: c}
		pp := people[c.PatientID]
		if c.NotDisclosed && !program {
			cr.Name = "Record not disclosed (opted out or protected)"
		} else if len(pp.Names) > 0 {
			cr.Name = pp.Names[0].Family + ", " + pp.Names[0].Given
		}
		for _, g := range c.Gaps {
			if g.Measure == m || m == Series4313314 || m == Adolescent {
				cr.Reasons = append(cr.Reasons, g.Measure.String()+": "+g.Reason)
			}
		}
		var fl []string
		if c.Flags&Contraindicated != 0 {
			fl = append(fl, "contraindicated or exempt")
		}
		if c.Flags&Refused != 0 {
			fl = append(fl, "refusal reported")
		}
		cr.Flags = strings.Join(fl, ", ")
		rows[i] = cr
	}
	return rows, nil
}

func childrenCSV(w http.ResponseWriter, rows []childRow) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="coverage-children.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"patient id", "name", "birth date", "clinic", "town", "county", "flags", "reasons"})
	for _, r := range rows {
		cw.Write([]string{strconv.FormatInt(r.PatientID, 10), r.Name, r.BirthDate.Format(time.DateOnly), r.Facility, r.Town, r.County,
			r.Flags, strings.Join(r.Reasons, "; ")})
	}
	cw.Flush()
}

// render sends page name on the portal's layout, its data under .Data.
func (p *Pages) render(w http.ResponseWriter, status int, name string, u accounts.User, csrf, title string, data any) {
	p.tmpl.Render(w, status, name, u, csrf, portal.Page{Title: title, Nav: "coverage", Data: data})
}

func (p *Pages) fail(w http.ResponseWriter, u accounts.User, csrf string, status int, msg string) {
	p.tmpl.Render(w, status, "message", u, csrf, portal.Page{Title: http.StatusText(status), Nav: "coverage", Error: msg})
}

func (p *Pages) internal(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string, err error) {
	p.log.Error("coverage", "path", r.URL.Path, "err", err)
	p.fail(w, u, csrf, http.StatusInternalServerError, "Something went wrong on our side; please try again in a moment.")
}

var funcs = template.FuncMap{
	"rate":   func(t *Tally, m Measure) string { return strconv.FormatFloat(t.Rate(m), 'f', 1, 64) + "%" },
	"utd":    func(t *Tally, m Measure) int { return t.UpToDate[m] },
	"date":   func(t time.Time) string { return t.Format(time.DateOnly) },
	"notutd": func(t *Tally, m Measure) int { return t.Children - t.UpToDate[m] },
	"dict":   func(rows []row, m Measure) map[string]any { return map[string]any{"Rows": rows, "M": m} },
}
