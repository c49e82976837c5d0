// Package fhirclients is the people's pages where program staff register
// the FHIR backend clients (SMART Backend Services: an EHR, a school
// system, a health plan) that may ask for access tokens — their facility
// or statewide reach, their scopes, their public keys — and disable or
// re-enable them. The clients are kept by package smart's store.
package fhirclients

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/smart"
)

//go:embed templates/*.html
var templateFS embed.FS

// DefaultScopes are offered for a new client: read the exported types,
// manage its Groups.
const DefaultScopes = "system/Patient.rs system/Immunization.rs system/ImmunizationRecommendation.rs system/Group.cruds"

// Organizations lists the clinics a client may act for (accounts.Store).
type Organizations interface {
	Organizations(ctx context.Context, kinds ...accounts.OrgKind) ([]accounts.Organization, error)
}

// Auditor records the staff's actions (registry.Store).
type Auditor interface {
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
}

// Config configures the pages.
type Config struct {
	Clients       *smart.Store
	Organizations Organizations
	Audit         Auditor
	Logger        *slog.Logger
}

// Pages serves /admin/fhir-clients.
type Pages struct {
	cfg   Config
	pages *portal.Pages
}

// PageFunc is a page as portal.Portal.Handle mounts it.
type PageFunc = func(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string)

// New returns the pages.
func New(cfg Config) (*Pages, error) {
	if cfg.Clients == nil || cfg.Organizations == nil || cfg.Audit == nil {
		return nil, errors.New("fhirclients: a client store, organizations and an auditor are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ps, err := portal.ParsePages(templateFS, template.FuncMap{"scopes": smart.FormatScopes}, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("fhirclients: %w", err)
	}
	return &Pages{cfg: cfg, pages: ps}, nil
}

// Register mounts the pages with handle (portal.Portal.Handle).
func (p *Pages) Register(handle func(pattern string, perm accounts.Permission, page PageFunc)) {
	handle("GET /admin/fhir-clients", accounts.ManageFHIRClients, p.list)
	handle("POST /admin/fhir-clients", accounts.ManageFHIRClients, p.register)
	handle("POST /admin/fhir-clients/{id}/enabled", accounts.ManageFHIRClients, p.setEnabled)
}

// form is what the registration form holds (kept on a refusal).
type form struct {
	ID, Name, Facility, Scopes, JWKS, JWKSURL string
}

// view is what clients.html gets.
type view struct {
	Clients []smart.Client
	Clinics []accounts.Organization
	Form    form
}

const oops = "Something went wrong on our side; please try again in a moment."

var flashes = map[string]string{"registered": "The client is registered.", "disabled": "The client is disabled; its tokens no longer work.",
	"enabled": "The client is enabled again."}

func (p *Pages) list(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	p.show(w, r, u, csrf, http.StatusOK, flashes[r.URL.Query().Get("done")], "", form{Scopes: DefaultScopes})
}

func (p *Pages) show(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string, status int, flash, msg string, f form) {
	v := &view{Form: f}
	var err error
	if v.Clients, err = p.cfg.Clients.Clients(r.Context()); err == nil {
		v.Clinics, err = p.cfg.Organizations.Organizations(r.Context(), accounts.Clinic)
	}
	if err != nil {
		p.cfg.Logger.Error("fhirclients: list", "err", err)
		status, msg = http.StatusInternalServerError, oops
	}
	p.pages.Render(w, status, "clients", u, csrf, portal.Page{Title: "FHIR clients", Nav: "fhirclients", Flash: flash, Error: msg, Data: v})
}

// register records a new client (POST /admin/fhir-clients).
func (p *Pages) register(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	f := form{ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Facility: strings.TrimSpace(r.PostFormValue("facility")), Scopes: strings.TrimSpace(r.PostFormValue("scopes")),
		JWKS: strings.TrimSpace(r.PostFormValue("jwks")), JWKSURL: strings.TrimSpace(r.PostFormValue("jwks_url"))}
	scopes, err := smart.ParseScopes(f.Scopes)
	if err == nil && f.JWKSURL != "" && !strings.HasPrefix(f.JWKSURL, "https://") {
		err = errors.New("the JWK Set URL must be an https:// address")
	}
	if err == nil {
		err = p.cfg.Clients.Register(r.Context(), smart.Client{ID: f.ID, Name: f.Name, FacilityID: f.Facility, Scopes: scopes,
			JWKS: f.JWKS, JWKSURL: f.JWKSURL, CreatedBy: u.Actor()})
	}
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "smart: register client: ")
		if errors.Is(err, smart.ErrClientExists) {
			msg = "A client with that id is registered already."
		}
		p.show(w, r, u, csrf, http.StatusBadRequest, "", "The client was not registered: "+msg, f)
		return
	}
	reach := "statewide"
	if f.Facility != "" {
		reach = "facility " + f.Facility
	}
	if !p.audit(w, r, u, csrf, "fhir-client-register", fmt.Sprintf("client %s (%s): %s", f.ID, reach, smart.FormatScopes(scopes))) {
		return
	}
	http.Redirect(w, r, "/admin/fhir-clients?done=registered", http.StatusSeeOther)
}

// setEnabled disables or re-enables a client (POST …/{id}/enabled, enabled=0|1).
func (p *Pages) setEnabled(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	id, enabled := r.PathValue("id"), r.PostFormValue("enabled") == "1"
	if err := p.cfg.Clients.SetEnabled(r.Context(), id, enabled); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, smart.ErrNoClient) {
			status = http.StatusNotFound
		} else {
			p.cfg.Logger.Error("fhirclients: enable", "err", err)
		}
		p.show(w, r, u, csrf, status, "", "The client could not be changed.", form{Scopes: DefaultScopes})
		return
	}
	action, done := "fhir-client-disable", "disabled"
	if enabled {
		action, done = "fhir-client-enable", "enabled"
	}
	if !p.audit(w, r, u, csrf, action, "client "+id) {
		return
	}
	http.Redirect(w, r, "/admin/fhir-clients?done="+done, http.StatusSeeOther)
}

func (p *Pages) audit(w http.ResponseWriter, r *http.Request, u accounts.User, csrf, action, detail string) bool {
	if err := p.cfg.Audit.RecordAudit(r.Context(), registry.AuditEntry{Actor: u.Actor(), Action: action, Detail: detail}); err != nil {
		p.cfg.Logger.Error("fhirclients: audit", "err", err)
		p.show(w, r, u, csrf, http.StatusInternalServerError, "", oops, form{Scopes: DefaultScopes})
		return false
	}
	return true
}
