// Package console is the operations console integration engineers use to
// onboard and watch clinics: a message browser over the registry's message
// store (search, detail with the message pretty-printed field by field, the
// ACK sent back, what the worker did, the audit trail), an errors view
// grouping rejected and dead-lettered messages by facility and ERR code,
// resend of a message after a fix, per-facility settings, and a live view
// of throughput, ACK codes, latency and queue lag.
//
// Pages are rendered on the server (html/template); the live view's charts
// poll a JSON endpoint. People sign in on the registry's people's pages
// (package accounts, through Config.Auth); their accounts role decides
// whether they may open the console, resend and change settings. Every
// form carries the accounts session's CSRF token. Opening a message (it
// holds patient data) and every change are audited.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Role is what a console user may do.
type Role string

// Roles, from least to most.
const (
	// Viewer sees messages, errors and the live view.
	Viewer Role = "viewer"
	// Engineer may also resend messages and change facility settings.
	Engineer Role = "engineer"
	// Admin may do everything.
	Admin Role = "admin"
)

func (r Role) valid() bool { return r == Viewer || r == Engineer || r == Admin }

// mayChange reports whether r may resend messages and change settings.
func (r Role) mayChange() bool { return r == Engineer || r == Admin }

// MessageStore is the registry's message store as the console reads it;
// *registry.Store is one.
type MessageStore interface {
	SearchMessages(ctx context.Context, f registry.MessageFilter, limit int) ([]registry.MessageSummary, bool, error)
	MessageDetail(ctx context.Context, id int64) (*registry.MessageDetail, error)
	MessageBody(ctx context.Context, id int64) (registry.MessageBody, error)
	ErrorCounts(ctx context.Context, since time.Time, facility string) ([]registry.ErrorCount, error)
}

// PatientStore gives the registry's patients, their merges and the open
// possible matches; *registry.Store is one.
type PatientStore interface {
	PatientOverview(ctx context.Context, id int64) (*registry.PatientOverview, error)
	MergeLink(ctx context.Context, id int64) (registry.PatientLink, error)
	OpenReviews(ctx context.Context, limit int) ([]registry.Review, error)
}

// AuditLog records who did what; *registry.Store is one.
type AuditLog interface {
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
}

// FacilitySettings are the per-facility settings; *facility.Directory is
// one.
type FacilitySettings interface {
	List() []facility.Settings
	Get(facility string) facility.Settings
	Put(ctx context.Context, s facility.Settings) error
	// Severities and SetSeverity are the facility's data quality (MQE)
	// severities (see facilities.go).
	Severities(facility string) facility.Severities
	SetSeverity(ctx context.Context, facility, code string, sev immz.Severity, by string) error
}

// Config configures a Console.
type Config struct {
	// Messages, Patients and Audit are the registry (required).
	Messages MessageStore
	Patients PatientStore
	Audit    AuditLog
	// Auth tells who is signed in, and with which console role.
	Auth Auth
	// Resend handles a stored message again as the listeners would, for
	// facility, on behalf of operator, and returns the reply. nil disables
	// resend.
	Resend func(ctx context.Context, facility, operator string, msg []byte) []byte
	// Facilities are the per-facility settings; nil hides the page.
	Facilities FacilitySettings
	// Reviews decides possible matches (the registry store); nil: the
	// review queue is read-only.
	Reviews Reviewer
	// Queue gives the dead letters; nil hides them.
	Queue *queue.Queue
	// Gatherer is the Prometheus registry the live view samples.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	Now      func() time.Time
	// Notice, when set, returns a warning for operators shown as a banner
	// on every signed-in page ("" for none), e.g. that the forecaster's
	// CDC release no longer covers the season.
	Notice func() string
}

// Console serves the console under /console/.
type Console struct {
	cfg  Config
	tmpl map[string]*template.Template
	live *Live
	mux  *http.ServeMux
	// links are the navigation entries of pages mounted by other packages.
	links []navLink
	log   *slog.Logger
	now   func() time.Time
}

// New returns a Console. Start its live sampler with Run.
func New(cfg Config) (*Console, error) {
	if cfg.Messages == nil || cfg.Patients == nil || cfg.Audit == nil {
		return nil, errors.New("console: no registry (messages, patients and audit log are required)")
	}
	if cfg.Auth == nil {
		return nil, errors.New("console: no sign-in (Auth)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Console{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	c.live = NewLive(cfg.Gatherer, 2*time.Second, 180)
	c.routes()
	return c, nil
}

// Run samples the metrics for the live view until ctx ends.
func (c *Console) Run(ctx context.Context) { c.live.Run(ctx) }

// ServeHTTP implements http.Handler for paths under /console/.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login", c.loginPage)
	m.HandleFunc("GET /console/{$}", c.authed(Viewer, func(w http.ResponseWriter, r *http.Request, s *session) {
		http.Redirect(w, r, "/console/live", http.StatusSeeOther)
	}))
	m.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	m.HandleFunc("GET /console/live", c.authed(Viewer, c.livePage))
	m.HandleFunc("GET /console/live.json", c.authed(Viewer, c.liveJSON))
	m.HandleFunc("GET /console/messages", c.authed(Viewer, c.messagesPage))
	m.HandleFunc("GET /console/messages/{id}", c.authed(Viewer, c.messagePage))
	m.HandleFunc("POST /console/messages/{id}/resend", c.authed(Engineer, c.resendMessage))
	m.HandleFunc("GET /console/patients/{id}", c.authed(Viewer, c.patientPage))
	m.HandleFunc("GET /console/reviews", c.authed(Viewer, c.reviewsPage))
	m.HandleFunc("POST /console/reviews/{id}", c.authed(Engineer, c.decideReview))
	m.HandleFunc("POST /console/links/{id}/undo", c.authed(Engineer, c.unmerge))
	m.HandleFunc("GET /console/errors", c.authed(Viewer, c.errorsPage))
	m.HandleFunc("POST /console/dead/{seq}/resend", c.authed(Engineer, c.redrive))
	m.HandleFunc("GET /console/facilities", c.authed(Viewer, c.facilitiesPage))
	m.HandleFunc("POST /console/facilities", c.authed(Engineer, c.saveFacility))
	m.HandleFunc("POST /console/facilities/severity", c.authed(Engineer, c.saveSeverity))
	c.mux = m
}

// audit writes one audit_log row as console user actor (the store keeps
// the row storable whatever bytes a quoted message identity holds).
func (c *Console) audit(ctx context.Context, actor, action string, patientID, reportID *int64, detail string) error {
	if err := c.cfg.Audit.RecordAudit(ctx, registry.AuditEntry{Actor: "console:" + actor, Action: action, PatientID: patientID, ReportID: reportID, Detail: detail}); err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	User    string
	Role    Role
	CSRF    string
	Flash   string
	Error   string
	Notice  string // Config.Notice's banner
	CanEdit bool
	Data    any
	Links   []navLink // sections mounted by other packages
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, name string, p page) {
	c.renderStatus(w, r, s, name, http.StatusOK, p)
}

func (c *Console) renderStatus(w http.ResponseWriter, r *http.Request, s *session, name string, status int, p page) {
	if s != nil {
		p.User, p.Role, p.CSRF, p.CanEdit = s.user, s.role, s.csrf, s.role.mayChange()
		if c.cfg.Notice != nil {
			p.Notice = c.cfg.Notice()
		}
	}
	p.Links = c.links
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("flash")
	}
	t := c.tmpl[name]
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string, err error) {
	if err != nil {
		c.log.Error("console: "+msg, "path", r.URL.Path, "err", err)
	}
	c.renderStatus(w, r, s, "error", status, page{Title: "Error", Error: msg})
}
