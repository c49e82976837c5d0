// Package accountability is the Vaccines for Children program's
// accountability pages: the VFC doses-administered report (doses by
// vaccine, age group and eligibility category, per clinic and month) and
// the lot recall search (every patient who received a lot, or a
// manufacturer's lots in a date range, with the clinic and date), each
// with its CSV. The counts and searches are the registry's
// (registry.VFCDosesAdministered, registry.LotRecall).
//
// Who sees what: a clinic's users see their clinic's doses; program staff
// see every clinic's. A recall search shows program staff the patients
// who opted out of the registry or are protected as well (marked), since
// the program must reach every recipient of a recalled lot; a clinic's
// search leaves them out, as every clinic page does. Every recall search
// and export is audited.
package accountability

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

// Registry is what the pages read and write of the registry
// (registry.Store).
type Registry interface {
	VFCDosesAdministered(ctx context.Context, q registry.VFCQuery) ([]registry.VFCRow, error)
	LotRecall(ctx context.Context, q registry.LotRecallQuery) ([]registry.LotRecallRow, error)
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
}

// Orgs is what the pages read of the accounts (accounts.Store).
type Orgs interface {
	Organization(ctx context.Context, id int64) (accounts.Organization, error)
}

// Config configures the pages.
type Config struct {
	Registry Registry
	Orgs     Orgs
	Now      func() time.Time
	Logger   *slog.Logger
}

// Pages serves the VFC report and the lot recall search.
type Pages struct {
	cfg  Config
	tmpl *portal.Pages
}

// New returns the pages.
func New(cfg Config) (*Pages, error) {
	if cfg.Registry == nil || cfg.Orgs == nil {
		return nil, errors.New("accountability: the registry and the organizations are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t, err := portal.ParsePages(templateFS, template.FuncMap{"date": isoDate, "month": func(t time.Time) string { return t.Format("2006-01") }}, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("accountability: %w", err)
	}
	return &Pages{cfg: cfg, tmpl: t}, nil
}

// Mount adds the pages to p.
func (pg *Pages) Mount(p *portal.Portal) {
	p.Handle("GET /vfc", accounts.ViewVFCReport, pg.vfc)
	p.Handle("GET /vfc/report.csv", accounts.ViewVFCReport, pg.vfcCSV)
	p.Handle("GET /lotrecall", accounts.RecallLots, pg.recall)
	p.Handle("GET /lotrecall/patients.csv", accounts.RecallLots, pg.recallCSV)
}

var errRefused = errors.New("refused")

// clinicOf is the clinic (facility id) whose doses u sees: their
// organization's, or for program staff the one ?clinic= names ("" every
// clinic).
func (pg *Pages) clinicOf(ctx context.Context, u accounts.User, r *http.Request) (string, error) {
	if u.Role.Program() {
		return strings.TrimSpace(r.FormValue("clinic")), nil
	}
	o, err := pg.cfg.Orgs.Organization(ctx, u.OrgID)
	if err != nil {
		return "", fmt.Errorf("accountability: organization: %w", err)
	}
	if o.Kind != accounts.Clinic || o.FacilityID == "" {
		return "", errRefused
	}
	return o.FacilityID, nil
}

// failure is the status and message for people of err.
func (pg *Pages) failure(what string, err error) (int, string) {
	switch {
	case errors.Is(err, errRefused):
		return http.StatusForbidden, "Your organization gives no vaccine doses here."
	case errors.Is(err, registry.ErrQuery) || errors.Is(err, errInput):
		return http.StatusUnprocessableEntity, strings.TrimPrefix(strings.TrimPrefix(err.Error(), "registry: query: "), "accountability: ")
	}
	pg.cfg.Logger.Error("accountability: "+what, "err", err)
	return http.StatusInternalServerError, "The registry could not answer; try again."
}

var errInput = errors.New("accountability")

func isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

func (pg *Pages) audit(ctx context.Context, u accounts.User, action, detail string) {
	if err := pg.cfg.Registry.RecordAudit(ctx, registry.AuditEntry{Actor: u.Actor(), Action: action, Detail: detail}); err != nil {
		pg.cfg.Logger.Error("accountability: audit", "action", action, "err", err)
	}
}

// csvSafe keeps a free-text cell from being read as a formula by a
// spreadsheet (a leading =, +, - or @ is quoted with ').
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}
