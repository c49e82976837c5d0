package ordering

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/inventory"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

//go:embed templates/orders.html
var templateFS embed.FS

// Auditor records the people's actions (registry.Store).
type Auditor interface {
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
}

// Orgs is what the pages read of the accounts (accounts.Store).
type Orgs interface {
	Organization(ctx context.Context, id int64) (accounts.Organization, error)
}

// PagesConfig configures the order pages.
type PagesConfig struct {
	Store  *Store
	Orgs   Orgs
	Audit  Auditor
	Now    func() time.Time
	Logger *slog.Logger
}

// Pages serves the orders on the people's pages: a clinic's users see its
// orders and its vaccine coordinator builds, submits and receives them;
// program staff see every clinic's and decide them.
type Pages struct {
	cfg  PagesConfig
	tmpl *portal.Pages
}

// NewPages returns the pages.
func NewPages(cfg PagesConfig) (*Pages, error) {
	if cfg.Store == nil || cfg.Orgs == nil || cfg.Audit == nil {
		return nil, errors.New("ordering: a store, the organizations and an auditor are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t, err := portal.ParsePages(templateFS, template.FuncMap{"date": isoDate}, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("ordering: %w", err)
	}
	return &Pages{cfg: cfg, tmpl: t}, nil
}

// Mount adds the pages to p.
func (pg *Pages) Mount(p *portal.Portal) {
	p.Handle("GET /orders", accounts.ViewOrders, pg.list)
	p.Handle("GET /orders/new", accounts.PlaceOrders, pg.suggest)
	p.Handle("POST /orders", accounts.PlaceOrders, pg.submit)
	p.Handle("GET /orders/{id}", accounts.ViewOrders, pg.show)
	p.Handle("GET /orders/{id}/export.csv", accounts.ViewOrders, pg.export)
	p.Handle("POST /orders/{id}/decision", accounts.DecideOrders, pg.decide)
	p.Handle("POST /orders/{id}/receipt", accounts.PlaceOrders, pg.receive)
}

// view is what the template gets.
type view struct {
	Section     string
	Program     bool
	MayPlace    bool
	MayDecide   bool
	Clinic      string
	Status      string
	Orders      []Order
	Order       *Order
	Lines       []Line
	Rule        Rule
	Fundings    []string
	Statuses    []string
	Today       string
	ExportNames string
}

var errRefused = errors.New("refused")

// clinicOf is the clinic (facility id) of a clinic's user; "" for
// program staff.
func (pg *Pages) clinicOf(ctx context.Context, u accounts.User) (string, error) {
	if u.Role.Program() {
		return "", nil
	}
	o, err := pg.cfg.Orgs.Organization(ctx, u.OrgID)
	if err != nil {
		return "", fmt.Errorf("ordering: organization: %w", err)
	}
	if o.Kind != accounts.Clinic || o.FacilityID == "" {
		return "", errRefused
	}
	return o.FacilityID, nil
}

func (pg *Pages) newView(u accounts.User, section string) *view {
	return &view{Section: section, Program: u.Role.Program(), MayPlace: u.Role.May(accounts.PlaceOrders), MayDecide: u.Role.May(accounts.DecideOrders),
		Rule: pg.cfg.Store.Rule(), Fundings: Fundings, Statuses: []string{Submitted, Approved, Denied, Received},
		Today: isoDate(pg.cfg.Now()), ExportNames: strings.Join(ExportColumns, ",")}
}

// render sends the page; err (if any) is shown as the page's error.
func (pg *Pages) render(w http.ResponseWriter, u accounts.User, csrf string, v *view, flash string, err error) {
	status, msg := http.StatusOK, ""
	switch {
	case err == nil:
	case errors.Is(err, errRefused):
		status, msg = http.StatusForbidden, "Your organization places no vaccine orders here."
	case IsInput(err):
		status, msg = http.StatusUnprocessableEntity, err.Error()
	default:
		pg.cfg.Logger.Error("ordering: page", "section", v.Section, "err", err)
		status, msg = http.StatusInternalServerError, "The orders could not be read or changed; try again."
	}
	pg.tmpl.Render(w, status, "orders", u, csrf, portal.Page{Title: "Vaccine orders", Nav: "orders", Flash: flash, Error: msg, Data: v})
}

// list shows the orders: a clinic's own; program staff every clinic's,
// those waiting for a decision first unless ?status= says otherwise.
func (pg *Pages) list(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	v := pg.newView(u, "list")
	clinic, err := pg.clinicOf(r.Context(), u)
	if err == nil {
		if v.Program {
			clinic = strings.TrimSpace(r.FormValue("clinic"))
		}
		v.Clinic, v.Status = clinic, r.FormValue("status")
		v.Orders, err = pg.cfg.Store.Orders(r.Context(), clinic, v.Status, 500)
	}
	pg.render(w, u, csrf, v, flashes[r.FormValue("done")], err)
}

var flashes = map[string]string{
	"submitted": "The order is submitted to the immunization program.",
	"approved":  "The order is approved.",
	"denied":    "The order is denied.",
	"received":  "The shipment is received: its lots are in the inventory.",
}

// suggest shows the suggested order for the coordinator to adjust.
func (pg *Pages) suggest(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	v := pg.newView(u, "new")
	clinic, err := pg.clinicOf(r.Context(), u)
	if err == nil {
		v.Clinic = clinic
		v.Lines, err = pg.cfg.Store.Suggestion(r.Context(), clinic)
	}
	pg.render(w, u, csrf, v, "", err)
}

// submit records the coordinator's order: the suggestion's lines with the
// doses the form gives (fields cvx and doses, repeated in step).
func (pg *Pages) submit(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	ctx := r.Context()
	v := pg.newView(u, "new")
	clinic, err := pg.clinicOf(ctx, u)
	var id int64
	if err == nil {
		v.Clinic = clinic
		v.Lines, err = pg.linesFromForm(ctx, r, clinic)
	}
	if err == nil {
		id, err = pg.cfg.Store.Submit(ctx, clinic, u.Actor(), r.FormValue("funding"), r.FormValue("note"), v.Lines)
	}
	if err != nil {
		pg.render(w, u, csrf, v, "", err)
		return
	}
	pg.audit(ctx, u, "order-submit", id, fmt.Sprintf("clinic=%s doses=%d", clinic, total(v.Lines)))
	http.Redirect(w, r, fmt.Sprintf("/orders/%d?done=submitted", id), http.StatusSeeOther)
}

func total(ls []Line) int {
	n := 0
	for _, l := range ls {
		n += l.Requested
	}
	return n
}

// linesFromForm merges the form's doses into today's suggestion (a vaccine
// the suggestion lacks is added with what the form gives).
func (pg *Pages) linesFromForm(ctx context.Context, r *http.Request, clinic string) ([]Line, error) {
	sug, err := pg.cfg.Store.Suggestion(ctx, clinic)
	if err != nil {
		return nil, err
	}
	if err := r.ParseForm(); err != nil {
		return nil, inputErr("the form could not be read")
	}
	cvxs, doses := r.PostForm["cvx"], r.PostForm["doses"]
	if len(cvxs) != len(doses) {
		return nil, inputErr("the form's vaccines and doses do not match")
	}
	at := map[string]int{}
	for i, l := range sug {
		at[l.CVX] = i
	}
	for i, c := range cvxs {
		c = strings.TrimSpace(c)
		n, err := atoiBlank(doses[i])
		if err != nil {
			return nil, inputErr("vaccine %s: the doses must be a whole number", c)
		}
		if j, ok := at[c]; ok && c != "" {
			sug[j].Requested = n
			continue
		}
		sug = append(sug, Line{CVX: c, Requested: n})
		at[c] = len(sug) - 1
	}
	return sug, nil
}

func atoiBlank(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	return strconv.Atoi(s)
}

// order reads the order of the path, of the user's clinic unless they are
// program staff.
func (pg *Pages) order(ctx context.Context, r *http.Request, u accounts.User) (*Order, error) {
	clinic, err := pg.clinicOf(ctx, u)
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, inputErr("no such order")
	}
	return pg.cfg.Store.Order(ctx, clinic, id)
}

// show shows an order, with the decision form for program staff and the
// receipt form for the coordinator.
func (pg *Pages) show(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	v := pg.newView(u, "order")
	var err error
	v.Order, err = pg.order(r.Context(), r, u)
	pg.render(w, u, csrf, v, flashes[r.FormValue("done")], err)
}

// export sends an approved order's VTrckS-style order file.
func (pg *Pages) export(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	o, err := pg.order(r.Context(), r, u)
	if err == nil && o.Status != Approved && o.Status != Received {
		err = inputErr("order %d is %s: only an approved order is exported", o.ID, o.Status)
	}
	if err != nil {
		pg.render(w, u, csrf, pg.newView(u, "order"), "", err)
		return
	}
	pg.audit(r.Context(), u, "order-export", o.ID, "clinic="+o.Clinic)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="order-%d.csv"`, o.ID))
	if err := ExportCSV(w, o); err != nil {
		pg.cfg.Logger.Error("ordering: export", "order", o.ID, "err", err)
	}
}

// decide records program staff's decision: decision=approve (approved_<cvx>
// fields give changed quantities) or deny, with reason.
func (pg *Pages) decide(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	ctx := r.Context()
	v := pg.newView(u, "order")
	o, err := pg.order(ctx, r, u)
	approve := r.FormValue("decision") == "approve"
	if err == nil {
		v.Order = o
		var approved map[string]int
		if approved, err = approvedFromForm(r, o); err == nil {
			err = pg.cfg.Store.Decide(ctx, o.ID, u.Actor(), approve, approved, r.FormValue("reason"))
		}
	}
	if err != nil {
		pg.render(w, u, csrf, v, "", err)
		return
	}
	status := Denied
	if approve {
		status = Approved
	}
	action := map[bool]string{true: "order-approve", false: "order-deny"}[approve]
	pg.audit(ctx, u, action, o.ID, fmt.Sprintf("clinic=%s reason=%q", o.Clinic, strings.TrimSpace(r.FormValue("reason"))))
	http.Redirect(w, r, fmt.Sprintf("/orders/%d?done=%s", o.ID, status), http.StatusSeeOther)
}

func approvedFromForm(r *http.Request, o *Order) (map[string]int, error) {
	out := map[string]int{}
	for _, l := range o.Lines {
		s := strings.TrimSpace(r.FormValue("approved_" + l.CVX))
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, inputErr("vaccine %s: the approved doses must be a whole number", l.CVX)
		}
		out[l.CVX] = n
	}
	return out, nil
}

// receive records the shipment of an approved order: per vaccine its lot
// (lot_<cvx>, mvx_<cvx>, ndc_<cvx>, expires_<cvx>, doses_<cvx>).
func (pg *Pages) receive(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	ctx := r.Context()
	v := pg.newView(u, "order")
	o, err := pg.order(ctx, r, u)
	var on time.Time
	if err == nil {
		v.Order = o
		on, err = dayOr(r.FormValue("received"), pg.cfg.Now())
	}
	var shipped []Shipped
	if err == nil {
		shipped, err = shippedFromForm(r, o)
	}
	if err == nil {
		err = pg.cfg.Store.Receive(ctx, o.Clinic, o.ID, u.Actor(), on, shipped)
	}
	if err != nil {
		pg.render(w, u, csrf, v, "", err)
		return
	}
	pg.audit(ctx, u, "order-receive", o.ID, fmt.Sprintf("clinic=%s lots=%d", o.Clinic, len(shipped)))
	http.Redirect(w, r, fmt.Sprintf("/orders/%d?done=received", o.ID), http.StatusSeeOther)
}

func shippedFromForm(r *http.Request, o *Order) ([]Shipped, error) {
	var out []Shipped
	for _, l := range o.Lines {
		if l.Approved <= 0 {
			continue
		}
		n, err := atoiBlank(r.FormValue("doses_" + l.CVX))
		if err != nil {
			return nil, inputErr("vaccine %s: the doses received must be a whole number", l.CVX)
		}
		sh := Shipped{CVX: l.CVX, Lot: strings.TrimSpace(r.FormValue("lot_" + l.CVX)), MVX: r.FormValue("mvx_" + l.CVX),
			NDC: strings.TrimSpace(r.FormValue("ndc_" + l.CVX)), Doses: n}
		if s := strings.TrimSpace(r.FormValue("expires_" + l.CVX)); s != "" {
			if sh.Expires, err = inventory.ParseDate(s); err != nil {
				return nil, err
			}
		}
		out = append(out, sh)
	}
	return out, nil
}

func dayOr(s string, def time.Time) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return def, nil
	}
	return inventory.ParseDate(s)
}

func (pg *Pages) audit(ctx context.Context, u accounts.User, action string, order int64, detail string) {
	if err := pg.cfg.Audit.RecordAudit(ctx, registry.AuditEntry{Actor: u.Actor(), Action: action,
		Detail: fmt.Sprintf("order=%d %s", order, detail)}); err != nil {
		pg.cfg.Logger.Error("ordering: audit", "action", action, "err", err)
	}
}

func isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}
