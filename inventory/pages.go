package inventory

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
	"strings"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

//go:embed templates/inventory.html
var templateFS embed.FS

// Auditor records the people's actions (registry.Store).
type Auditor interface {
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
}

// PagesConfig configures the inventory pages.
type PagesConfig struct {
	Store    *Store
	Accounts *accounts.Store
	Audit    Auditor
	Now      func() time.Time
	Logger   *slog.Logger
}

// Pages serves the inventory on the people's pages: a clinic's users see
// its stock (program staff any clinic's, ?clinic=facility), its vaccine
// coordinator records what changes it.
type Pages struct {
	cfg  PagesConfig
	tmpl *portal.Pages
}

// NewPages returns the pages.
func NewPages(cfg PagesConfig) (*Pages, error) {
	if cfg.Store == nil || cfg.Accounts == nil || cfg.Audit == nil {
		return nil, errors.New("inventory: a store, an accounts store and an auditor are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t, err := portal.ParsePages(templateFS, template.FuncMap{"date": isoDate, "neg": func(n int) int { return -n }}, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return &Pages{cfg: cfg, tmpl: t}, nil
}

// Mount adds the pages to p.
func (pg *Pages) Mount(p *portal.Portal) {
	view, manage := accounts.ViewInventory, accounts.ManageInventory
	p.Handle("GET /inventory", view, pg.show("stock"))
	p.Handle("GET /inventory/lots/{id}", view, pg.show("ledger"))
	p.Handle("GET /inventory/alerts", view, pg.show("alerts"))
	p.Handle("GET /inventory/unmatched", view, pg.show("unmatched"))
	p.Handle("GET /inventory/borrowing", view, pg.show("borrowing"))
	p.Handle("GET /inventory/receive", manage, pg.show("receive"))
	p.Handle("GET /inventory/transfer", manage, pg.show("transfer"))
	p.Handle("GET /inventory/wastage", manage, pg.show("wastage"))
	p.Handle("GET /inventory/count", manage, pg.show("count"))
	p.Handle("POST /inventory/receive", manage, pg.act("receive", pg.receive))
	p.Handle("POST /inventory/receive/csv", manage, pg.act("receive", pg.receiveCSV))
	p.Handle("POST /inventory/transfer", manage, pg.act("transfer", pg.transfer))
	p.Handle("POST /inventory/wastage", manage, pg.act("wastage", pg.waste))
	p.Handle("POST /inventory/count", manage, pg.act("count", pg.count))
	p.Handle("POST /inventory/unmatched", manage, pg.act("unmatched", pg.mapLot))
	p.Handle("POST /inventory/par", manage, pg.act("alerts", pg.par))
}

// view is what the template gets.
type view struct {
	Section    string
	Clinic     string
	ClinicName string
	Program    bool
	MayManage  bool
	Today      string
	Flash      string
	Lots       []Lot
	Short      map[int64]int
	Lot        *Lot
	Ledger     []Transaction
	Alerts     []Alert
	Unmatched  []Unmatched
	Borrowed   []Borrowed
	Clinics    []accounts.Organization
	Reasons    []string
	Fundings   []string
	Columns    string
	Adjusted   []Adjustment
	From, To   string
}

var errRefused = errors.New("refused")

// clinicOf is the clinic (facility id) u works on: their own clinic's, or
// for program staff the one ?clinic= names.
func (pg *Pages) clinicOf(ctx context.Context, u accounts.User, r *http.Request) (string, string, error) {
	if u.Role.Program() {
		c := strings.TrimSpace(r.FormValue("clinic"))
		if c == "" {
			return "", "", errors.New("choose a clinic: add ?clinic= and its facility id")
		}
		return c, c, nil
	}
	o, err := pg.cfg.Accounts.Organization(ctx, u.OrgID)
	if err != nil {
		return "", "", err
	}
	if o.Kind != accounts.Clinic || o.FacilityID == "" {
		return "", "", errRefused
	}
	return o.FacilityID, o.Name, nil
}

// show serves a section's page.
func (pg *Pages) show(section string) func(http.ResponseWriter, *http.Request, accounts.User, string) {
	return func(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
		pg.render(w, r, u, csrf, section, http.StatusOK, "", nil)
	}
}

// render loads a section's data and sends the page (with msg as an
// error when set).
func (pg *Pages) render(w http.ResponseWriter, r *http.Request, u accounts.User, csrf, section string, status int, msg string, adj []Adjustment) {
	ctx := r.Context()
	title := "Vaccine inventory"
	clinic, name, err := pg.clinicOf(ctx, u, r)
	v := &view{Section: section, Clinic: clinic, ClinicName: name, Program: u.Role.Program(), MayManage: u.Role.May(accounts.ManageInventory),
		Today: isoDate(pg.cfg.Now()), Flash: flashes[r.URL.Query().Get("done")], Reasons: WasteReasons, Fundings: Fundings,
		Columns: strings.Join(ReceiptColumns, ","), Adjusted: adj}
	if adj != nil {
		v.Flash = flashes["counted"]
	}
	if err == nil {
		err = pg.load(ctx, r, v)
	}
	if err != nil {
		if errors.Is(err, errRefused) {
			status, msg = http.StatusForbidden, "Your organization keeps no vaccine inventory here."
		} else if msg == "" {
			status, msg = http.StatusBadRequest, err.Error()
			if !IsInput(err) && !strings.HasPrefix(err.Error(), "choose") {
				pg.cfg.Logger.Error("inventory: page", "section", section, "err", err)
				status, msg = http.StatusInternalServerError, "The inventory could not be read; try again."
			}
		}
	}
	pg.tmpl.Render(w, status, "inventory", u, csrf, portal.Page{Title: title, Nav: "inventory", Flash: v.Flash, Error: msg, Data: v})
}

// load reads what a section shows.
func (pg *Pages) load(ctx context.Context, r *http.Request, v *view) error {
	var err error
	today := pg.cfg.Now()
	switch v.Section {
	case "stock", "count", "transfer", "wastage", "unmatched":
		if v.Lots, err = pg.cfg.Store.Lots(ctx, v.Clinic); err != nil {
			return err
		}
		if v.Short, err = pg.cfg.Store.Shortfalls(ctx, v.Clinic); err != nil {
			return err
		}
	}
	switch v.Section {
	case "ledger":
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if v.Lot, err = pg.cfg.Store.Lot(ctx, v.Clinic, id); err != nil {
			return err
		}
		v.Ledger, err = pg.cfg.Store.Ledger(ctx, v.Clinic, id)
	case "stock", "alerts":
		v.Alerts, err = pg.cfg.Store.Alerts(ctx, v.Clinic, today)
	case "unmatched":
		v.Unmatched, err = pg.cfg.Store.Unmatched(ctx, v.Clinic)
	case "transfer":
		v.Clinics, err = pg.cfg.Accounts.Organizations(ctx, accounts.Clinic)
	case "borrowing":
		from, to := today.AddDate(0, -3, 0), today.AddDate(0, 0, 1)
		if t, perr := ParseDate(r.FormValue("from")); perr == nil {
			from = t
		}
		if t, perr := ParseDate(r.FormValue("to")); perr == nil {
			to = t
		}
		v.From, v.To = isoDate(from), isoDate(to)
		v.Borrowed, err = pg.cfg.Store.Borrowing(ctx, v.Clinic, from, to)
	}
	return err
}

// flashes are the notices after an action (?done=).
var flashes = map[string]string{
	"received":    "The shipment is in the inventory.",
	"transferred": "The transfer is recorded at both clinics.",
	"wasted":      "The wastage is recorded.",
	"counted":     "The count is recorded and the stock reconciled.",
	"mapped":      "The lot is mapped; its doses are drawn from it.",
	"par":         "The par level is set.",
}

// act runs a form's action for the signed-in coordinator's clinic: on
// success it audits and redirects with a notice, on a refused request it
// shows the form again with the reason.
func (pg *Pages) act(section string, do func(ctx context.Context, r *http.Request, clinic, actor string) (string, []Adjustment, error)) func(http.ResponseWriter, *http.Request, accounts.User, string) {
	return func(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
		ctx := r.Context()
		clinic, _, err := pg.clinicOf(ctx, u, r)
		if err != nil {
			pg.render(w, r, u, csrf, section, http.StatusForbidden, "", nil)
			return
		}
		actor := "user:" + u.Username
		done, adj, err := do(ctx, r, clinic, actor)
		if err != nil {
			status, msg := http.StatusUnprocessableEntity, err.Error()
			if !IsInput(err) {
				pg.cfg.Logger.Error("inventory: action", "section", section, "err", err)
				status, msg = http.StatusInternalServerError, "The inventory could not be changed; try again."
			}
			pg.render(w, r, u, csrf, section, status, msg, nil)
			return
		}
		if err := pg.cfg.Audit.RecordAudit(ctx, registry.AuditEntry{Actor: actor, Action: "inventory-" + section,
			Detail: "clinic=" + clinic + " " + done}); err != nil {
			pg.cfg.Logger.Error("inventory: audit", "err", err)
		}
		if adj != nil {
			pg.render(w, r, u, csrf, section, http.StatusOK, "", adj)
			return
		}
		http.Redirect(w, r, "/inventory?"+url.Values{"done": {strings.Fields(done)[0]}}.Encode(), http.StatusSeeOther)
	}
}

func isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

func formInt(r *http.Request, name, what string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(r.FormValue(name)))
	if err != nil {
		return 0, inputErr("%s must be a whole number", what)
	}
	return n, nil
}

func formID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.FormValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, inputErr("choose a lot")
	}
	return n, nil
}

// formDay reads a date field; empty is today.
func (pg *Pages) formDay(r *http.Request, name string) (time.Time, error) {
	s := strings.TrimSpace(r.FormValue(name))
	if s == "" {
		return pg.cfg.Now(), nil
	}
	return ParseDate(s)
}
