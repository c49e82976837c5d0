package quality

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/console"
	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

// Shell is the operations console the pages are mounted into;
// *console.Console is one.
type Shell interface {
	Mount(pattern string, min console.Role, navLabel, navHref, nav string, h func(http.ResponseWriter, *http.Request, console.Operator))
	Render(w http.ResponseWriter, r *http.Request, op console.Operator, status int, title, nav string, body template.HTML)
	Fail(w http.ResponseWriter, r *http.Request, op console.Operator, status int, msg string, err error)
}

// Statuses are the facilities' onboarding statuses; *facility.Onboarding
// is one.
type Statuses interface {
	Status(facility string) facility.StatusRecord
	Recorded() []facility.StatusRecord
	Set(ctx context.Context, facility string, to facility.Status, by, note string) (facility.Status, error)
	History(ctx context.Context, facility string) ([]facility.StatusChange, error)
}

// AuditLog records who did what; *registry.Store is one.
type AuditLog interface {
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
}

// PagesConfig configures the console's data quality pages.
type PagesConfig struct {
	Store    *Store
	Statuses Statuses
	Audit    AuditLog
	// CatchUp bounds how long a page waits for the analysis of messages
	// stored since the last run (default 2s); the rest are counted as
	// pending.
	CatchUp time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Pages are the integration engineers' data quality pages in the
// operations console: every facility's score over a period, a facility's
// report with its examples, CSV and PDF exports, and its onboarding
// status.
type Pages struct {
	cfg   PagesConfig
	shell Shell
	tmpl  *template.Template
}

// NewPages returns the pages; Mount puts them into the console.
func NewPages(cfg PagesConfig) (*Pages, error) {
	if cfg.Store == nil || cfg.Statuses == nil || cfg.Audit == nil {
		return nil, errors.New("quality: pages need the store, the facility statuses and the audit log")
	}
	if cfg.CatchUp <= 0 {
		cfg.CatchUp = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t, err := template.New("quality").Funcs(pageFuncs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("quality: templates: %w", err)
	}
	return &Pages{cfg: cfg, tmpl: t}, nil
}

// Mount adds the pages to the console under /console/quality.
func (p *Pages) Mount(s Shell) {
	p.shell = s
	s.Mount("GET /console/quality", console.Viewer, "Quality", "/console/quality", "quality", p.overview)
	s.Mount("GET /console/quality/report", console.Viewer, "", "", "", p.report)
	s.Mount("GET /console/quality/report.csv", console.Viewer, "", "", "", p.exportCSV)
	s.Mount("GET /console/quality/report.pdf", console.Viewer, "", "", "", p.exportPDF)
	s.Mount("GET /console/quality/examples", console.Viewer, "", "", "", p.examples)
	s.Mount("POST /console/quality/status", console.Engineer, "", "", "", p.setStatus)
}

var pageFuncs = template.FuncMap{
	"date": func(t time.Time) string { return t.Format("2006-01-02") },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"pct":  func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + "%" },
	"join": strings.Join,
	"mulf": func(a, b float64) float64 { return a * b },
}

// period reads from and to (YYYY-MM-DD, inclusive); the last 30 days by
// default.
func (p *Pages) period(q url.Values) (Period, error) {
	loc := p.cfg.Store.Location()
	y, m, d := p.cfg.Now().In(loc).Date()
	per := Period{To: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
	per.From = per.To.AddDate(0, 0, -29)
	for key, dst := range map[string]*time.Time{"from": &per.From, "to": &per.To} {
		if v := strings.TrimSpace(q.Get(key)); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				return per, fmt.Errorf("%s: %q is not a date (YYYY-MM-DD)", key, v)
			}
			*dst = t
		}
	}
	if per.To.Before(per.From) {
		return per, fmt.Errorf("the period ends (%s) before it starts (%s)", per.To.Format("2006-01-02"), per.From.Format("2006-01-02"))
	}
	if per.Days() > 366 {
		return per, fmt.Errorf("the period is %d days long; at most 366", per.Days())
	}
	return per, nil
}

// render executes template name into the console's layout.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, op console.Operator, title, name string, data any) {
	var b bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		p.shell.Fail(w, r, op, http.StatusInternalServerError, "The page could not be rendered.", err)
		return
	}
	p.shell.Render(w, r, op, http.StatusOK, title, "quality", template.HTML(b.String()))
}

type overviewData struct {
	Period     Period
	Facilities []facilityRow
	Pending    int
}

type facilityRow struct {
	FacilityTotals
	Status facility.StatusRecord
	Score  int
}

func (p *Pages) overview(w http.ResponseWriter, r *http.Request, op console.Operator) {
	per, err := p.period(r.URL.Query())
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusBadRequest, err.Error(), nil)
		return
	}
	pending, err := p.cfg.Store.CatchUp(r.Context(), p.cfg.CatchUp)
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusInternalServerError, "The messages could not be analysed.", err)
		return
	}
	fs, err := p.cfg.Store.Facilities(r.Context(), per)
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusInternalServerError, "The facilities could not be read.", err)
		return
	}
	d := overviewData{Period: per, Pending: pending}
	seen := map[string]bool{}
	for _, f := range fs {
		seen[f.Facility] = true
		d.Facilities = append(d.Facilities, facilityRow{FacilityTotals: f, Status: p.cfg.Statuses.Status(f.Facility), Score: f.Score()})
	}
	// Facilities being onboarded are listed even before their first message.
	for _, st := range p.cfg.Statuses.Recorded() {
		if st.Status == facility.Test && !seen[st.Facility] {
			d.Facilities = append(d.Facilities, facilityRow{FacilityTotals: FacilityTotals{Facility: st.Facility}, Status: st, Score: -1})
		}
	}
	slices.SortFunc(d.Facilities, func(a, b facilityRow) int { return strings.Compare(a.Facility, b.Facility) })
	p.render(w, r, op, "Data quality", "overview", d)
}

type reportData struct {
	*Report
	Status    facility.StatusRecord
	History   []facility.StatusChange
	Op        console.Operator
	Query     string // facility, from and to, for links
	Chart     []bar
	ChartW    int
	MayChange bool
}

// bar is one day of the trend chart (SVG coordinates).
type bar struct {
	X, W, Y, H, EY, EH int
	Title              string
}

func (p *Pages) load(w http.ResponseWriter, r *http.Request, op console.Operator) (*Report, bool) {
	q := r.URL.Query()
	fac := strings.TrimSpace(q.Get("facility"))
	if fac == "" {
		p.shell.Fail(w, r, op, http.StatusBadRequest, "Which facility? (facility is missing)", nil)
		return nil, false
	}
	per, err := p.period(q)
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusBadRequest, err.Error(), nil)
		return nil, false
	}
	pending, err := p.cfg.Store.CatchUp(r.Context(), p.cfg.CatchUp)
	if err == nil {
		var rep *Report
		if rep, err = p.cfg.Store.Report(r.Context(), fac, per); err == nil {
			rep.Pending = pending
			return rep, true
		}
	}
	p.shell.Fail(w, r, op, http.StatusInternalServerError, "The report could not be made.", err)
	return nil, false
}

func reportQuery(rep *Report) string {
	return url.Values{"facility": {rep.Facility}, "from": {rep.Period.From.Format("2006-01-02")}, "to": {rep.Period.To.Format("2006-01-02")}}.Encode()
}

func (p *Pages) report(w http.ResponseWriter, r *http.Request, op console.Operator) {
	rep, ok := p.load(w, r, op)
	if !ok {
		return
	}
	hist, err := p.cfg.Statuses.History(r.Context(), rep.Facility)
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusInternalServerError, "The facility's status history could not be read.", err)
		return
	}
	d := reportData{Report: rep, Status: p.cfg.Statuses.Status(rep.Facility), History: hist, Op: op,
		Query: reportQuery(rep), MayChange: op.MayChange}
	d.Chart, d.ChartW = chart(rep.Period, rep.Days)
	p.render(w, r, op, "Data quality "+rep.Facility, "report", d)
}

// chart lays out every day of the period as a bar of its messages, with
// the messages with an error in front; days without messages are empty.
func chart(per Period, days []Day) ([]bar, int) {
	const h, width = 100, 730
	n := per.Days()
	bw := max(1, width/n-1)
	most := 1
	byDay := make(map[time.Time]Day, len(days))
	for _, d := range days {
		most = max(most, d.Messages)
		byDay[d.Day] = d
	}
	out := make([]bar, n)
	for i := range n {
		day := per.From.AddDate(0, 0, i)
		d := byDay[day]
		bh, eh := d.Messages*h/most, d.WithErrors*h/most
		out[i] = bar{X: i * (bw + 1), W: bw, Y: h - bh, H: bh, EY: h - eh, EH: eh,
			Title: fmt.Sprintf("%s: %d messages, %d with errors", day.Format("2006-01-02"), d.Messages, d.WithErrors)}
	}
	return out, n * (bw + 1)
}

func (p *Pages) exportCSV(w http.ResponseWriter, r *http.Request, op console.Operator) {
	rep, ok := p.load(w, r, op)
	if !ok {
		return
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, rep, string(p.cfg.Statuses.Status(rep.Facility).Status)); err != nil {
		p.shell.Fail(w, r, op, http.StatusInternalServerError, "The CSV could not be made.", err)
		return
	}
	p.send(w, r, op, rep, "text/csv; charset=utf-8", "csv", b.Bytes())
}

func (p *Pages) exportPDF(w http.ResponseWriter, r *http.Request, op console.Operator) {
	rep, ok := p.load(w, r, op)
	if !ok {
		return
	}
	pdf, err := PDF(rep, string(p.cfg.Statuses.Status(rep.Facility).Status), p.cfg.Now())
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusInternalServerError, "The PDF could not be made.", err)
		return
	}
	p.send(w, r, op, rep, "application/pdf", "pdf", pdf)
}

// send audits an export and sends it as a download.
func (p *Pages) send(w http.ResponseWriter, r *http.Request, op console.Operator, rep *Report, ctype, ext string, body []byte) {
	detail := fmt.Sprintf("data quality report of facility %s, %s to %s, %s", rep.Facility,
		rep.Period.From.Format("2006-01-02"), rep.Period.To.Format("2006-01-02"), ext)
	if err := p.cfg.Audit.RecordAudit(r.Context(), registry.AuditEntry{Actor: "console:" + op.User, Action: "quality-export", Detail: detail}); err != nil {
		p.shell.Fail(w, r, op, http.StatusInternalServerError, "The export could not be recorded in the audit log, so it was not made.", err)
		return
	}
	name := fmt.Sprintf("quality-%s-%s-%s.%s", safeName(rep.Facility), rep.Period.From.Format("20060102"), rep.Period.To.Format("20060102"), ext)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// safeName keeps letters, digits, '-' and '_' of a facility for a file
// name.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

type examplesData struct {
	Facility, Detection, Description, Query string
	Period                                  Period
	Examples                                []Example
	Days                                    []DayCount
}

// MaxExamples is how many messages the examples page lists.
const MaxExamples = 100

func (p *Pages) examples(w http.ResponseWriter, r *http.Request, op console.Operator) {
	q := r.URL.Query()
	per, err := p.period(q)
	fac, det := strings.TrimSpace(q.Get("facility")), strings.TrimSpace(q.Get("detection"))
	if err == nil && (fac == "" || det == "") {
		err = errors.New("which facility and detection? (facility or detection is missing)")
	}
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusBadRequest, err.Error(), nil)
		return
	}
	ex, err := p.cfg.Store.Examples(r.Context(), fac, det, per, MaxExamples)
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusInternalServerError, "The messages could not be read.", err)
		return
	}
	days, err := p.cfg.Store.DetectionDays(r.Context(), fac, det, per)
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusInternalServerError, "The messages could not be counted.", err)
		return
	}
	d := examplesData{Facility: fac, Detection: det, Description: DescribeDetection(det), Period: per, Examples: ex,
		Days: days, Query: reportQuery(&Report{Facility: fac, Period: per})}
	p.render(w, r, op, det+" "+fac, "examples", d)
}

func (p *Pages) setStatus(w http.ResponseWriter, r *http.Request, op console.Operator) {
	fac := strings.TrimSpace(r.PostFormValue("facility"))
	to, err := facility.ParseStatus(r.PostFormValue("status"))
	if err == nil && fac == "" {
		err = errors.New("which facility? (facility is missing)")
	}
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusBadRequest, "The status was not changed: "+err.Error(), nil)
		return
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	from, err := p.cfg.Statuses.Set(r.Context(), fac, to, op.User, note)
	if err != nil {
		p.shell.Fail(w, r, op, http.StatusInternalServerError, "The status was not changed.", err)
		return
	}
	detail := fmt.Sprintf("facility %s: status %s -> %s", fac, from, to)
	if note != "" {
		detail += " (" + note + ")"
	}
	if err := p.cfg.Audit.RecordAudit(r.Context(), registry.AuditEntry{Actor: "console:" + op.User, Action: "facility-status", Detail: detail}); err != nil {
		p.cfg.Logger.Error("quality: facility status change not audited", "err", err)
	}
	back := url.Values{"facility": {fac}, "from": {r.PostFormValue("from")}, "to": {r.PostFormValue("to")},
		"flash": {fmt.Sprintf("%s is now in %s status.", fac, to)}}
	http.Redirect(w, r, "/console/quality/report?"+back.Encode(), http.StatusSeeOther)
}
