package recall

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

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

//go:embed templates/recall.html
var templateFS embed.FS

// Config configures the reminder/recall pages.
type Config struct {
	Registry   *registry.Store
	Accounts   *accounts.Store
	Forecaster *forecast.Engine
	Now        func() time.Time
	Logger     *slog.Logger
	// FamiliesPerPage is how many families a page of the list shows (the
	// downloads have them all); 0: 200.
	FamiliesPerPage int
}

// Pages serves reminder/recall on the people's pages: clinic users and
// vaccine coordinators for their own clinic, program staff for any clinic.
type Pages struct {
	cfg  Config
	rc   *Recaller
	tmpl *portal.Pages
}

// New returns the pages.
func New(cfg Config) (*Pages, error) {
	if cfg.Registry == nil || cfg.Accounts == nil || cfg.Forecaster == nil {
		return nil, errors.New("recall: a registry, an accounts store and a forecaster are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FamiliesPerPage <= 0 {
		cfg.FamiliesPerPage = 200
	}
	t, err := portal.ParsePages(templateFS, template.FuncMap{"date": isoDate, "due": DueList}, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("recall: %w", err)
	}
	return &Pages{cfg: cfg, tmpl: t, rc: &Recaller{Registry: cfg.Registry, Forecaster: cfg.Forecaster}}, nil
}

// Mount adds the pages to p.
func (pg *Pages) Mount(p *portal.Portal) {
	p.HandleSignedIn("GET /recall", pg.page)
	p.HandleSignedIn("GET /recall/list.csv", pg.download("csv"))
	p.HandleSignedIn("GET /recall/letters.pdf", pg.download("letters"))
	p.HandleSignedIn("GET /recall/labels.pdf", pg.download("labels"))
	p.HandleSignedIn("POST /recall/contact", pg.contact)
}

// view is what the template gets (as .Data), with the notices the
// layout shows (Error, Flash).
type view struct {
	MayRun    bool // the user may run reminder/recall: the form is shown
	Program   bool
	Clinics   []accounts.Organization
	Clinic    accounts.Organization
	Groups    []groupChoice
	Form      url.Values
	Query     template.URL // the run's parameters (url.Values.Encode), for the download links
	Back      string       // the run's parameters and page, for the contact form
	Error     string
	Flash     string
	Result    *Result
	Shown     []Family // the families of this page of the list
	Page      int      // from 1
	Pages     int
	PrevQuery template.URL
	NextQuery template.URL
	Excluded  []string
	Methods   []string
	Today     string
	Languages []Language
}

type groupChoice struct {
	Name    string
	Checked bool
}

// mayRecall: program staff, clinic users and vaccine coordinators.
func mayRecall(u accounts.User) bool {
	return !u.Disabled() && (u.Role.Program() || u.Role == accounts.ClinicUser || u.Role == accounts.VaccineCoordinator)
}

// errRefused is a run over a clinic the user may not see.
var errRefused = errors.New("refused")

// clinicFor is the clinic a run of u's is for: u's own clinic, or for
// program staff the clinic the form names.
func (pg *Pages) clinicFor(ctx context.Context, u accounts.User, form url.Values) (accounts.Organization, error) {
	switch {
	case u.Disabled():
		return accounts.Organization{}, errRefused
	case u.Role.Program():
		id, err := strconv.ParseInt(form.Get("clinic"), 10, 64)
		if err != nil || id <= 0 {
			return accounts.Organization{}, errors.New("choose a clinic")
		}
		o, err := pg.cfg.Accounts.Organization(ctx, id)
		if err != nil || o.Kind != accounts.Clinic {
			return accounts.Organization{}, errors.New("no such clinic")
		}
		return o, nil
	case u.Role == accounts.ClinicUser || u.Role == accounts.VaccineCoordinator:
		o, err := pg.cfg.Accounts.Organization(ctx, u.OrgID)
		if err != nil {
			return o, err
		}
		if c := form.Get("clinic"); c != "" && c != strconv.FormatInt(o.ID, 10) {
			return o, errRefused
		}
		return o, nil
	}
	return accounts.Organization{}, errRefused
}

// params reads a run's parameters from the form.
func (pg *Pages) params(form url.Values) (Params, error) {
	var p Params
	var err error
	if p.By, err = formDate(form, "by", "the due-by date"); err != nil {
		return p, err
	}
	if p.BornFrom, err = formDate(form, "born_from", "the earliest birth date"); err != nil {
		return p, err
	}
	if p.BornTo, err = formDate(form, "born_to", "the latest birth date"); err != nil {
		return p, err
	}
	if lo, hi := strings.TrimSpace(form.Get("age_min")), strings.TrimSpace(form.Get("age_max")); lo != "" || hi != "" {
		min, err1 := strconv.Atoi(lo)
		max, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || min < 0 || max < min || max > 1200 {
			return p, errors.New("give the age range as two whole numbers of months, the first not above the second")
		}
		if p.By.IsZero() {
			return p, errors.New("give the date by which children are due")
		}
		p.BornFrom, p.BornTo = BornBetween(p.By, min, max)
	}
	p.Groups = form["group"]
	p.OverdueOnly = form.Get("overdue_only") == "on"
	if err := p.Validate(pg.cfg.Forecaster.VaccineGroups()); err != nil {
		return p, err
	}
	return p, nil
}

func formDate(form url.Values, key, what string) (time.Time, error) {
	s := strings.TrimSpace(form.Get(key))
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, fmt.Errorf("%s %q is not a date (YYYY-MM-DD)", what, s)
	}
	return t, nil
}

// run runs reminder/recall for the request's clinic and parameters, and
// audits it (what: list, csv, letters, labels).
func (pg *Pages) run(ctx context.Context, u accounts.User, org accounts.Organization, p Params, what string, page int) (*Result, []Family, error) {
	start := time.Now()
	res, err := pg.rc.Run(ctx, Clinic{OrgID: org.ID, Facility: org.FacilityID, Name: org.Name}, p)
	if err != nil {
		return nil, nil, err
	}
	shown := res.Families
	if page >= 0 {
		shown = shown[min(page*pg.cfg.FamiliesPerPage, len(shown)):min((page+1)*pg.cfg.FamiliesPerPage, len(shown))]
	}
	detail := fmt.Sprintf("reminder/recall %s for clinic %d (%s): due by %s, groups %s, born %s to %s, overdue only %v: %d children considered, %d due in %d families, %d left out",
		what, org.ID, org.FacilityID, isoDate(p.By), strings.Join(res.Params.Groups, ","), isoDate(p.BornFrom), isoDate(p.BornTo), p.OverdueOnly,
		res.Considered, len(res.Children), len(res.Families), res.Considered-len(res.Children))
	ds, err := pg.disclosures(ctx, u, what, shown)
	if err != nil {
		return nil, nil, err
	}
	if err := pg.cfg.Registry.RecordDisclosuresAudited(ctx, ds, registry.AuditEntry{Actor: u.Actor(), Action: "recall-run", Detail: detail}); err != nil {
		return nil, nil, err
	}
	pg.cfg.Logger.Info("recall: run", "clinic", org.ID, "output", what, "children", len(res.Children), "elapsed", time.Since(start))
	return res, shown, nil
}

// disclosures are the accounting of disclosures of a run: each child of
// the families shown or downloaded, to the user's organization (its facility id, or its name).
func (pg *Pages) disclosures(ctx context.Context, u accounts.User, what string, fams []Family) ([]registry.Disclosure, error) {
	org, err := pg.cfg.Accounts.Organization(ctx, u.OrgID)
	if err != nil {
		return nil, err
	}
	to := org.FacilityID
	if to == "" {
		to = org.Name
	}
	at := pg.cfg.Now()
	w := fmt.Sprintf("Reminder/recall %s: name, birth date, guardian, address, phone, vaccines due (people's pages, user %s, %s)", what, u.Username, u.Role.Label())
	var ds []registry.Disclosure
	for i := range fams {
		for _, c := range fams[i].Children {
			ds = append(ds, registry.Disclosure{At: at, Facility: to, PatientID: c.ID, What: w})
		}
	}
	return ds, nil
}

// page shows the form and, once the form is sent, the list.
func (pg *Pages) page(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	ctx := r.Context()
	form := r.URL.Query()
	v := &view{MayRun: true, Program: u.Role.Program(), Form: form, Methods: registry.RecallMethods,
		Today: isoDate(pg.cfg.Now()), Languages: []Language{FamilyLanguage, English, Spanish}}
	if form.Get("done") == "contact" {
		v.Flash = "Contact recorded."
	}
	if !mayRecall(u) {
		pg.render(w, http.StatusForbidden, u, csrf, &view{Error: "Your role (" + u.Role.Label() + ") may not run reminder/recall."})
		return
	}
	if v.Program {
		cs, err := pg.cfg.Accounts.Organizations(ctx, accounts.Clinic)
		if err != nil {
			pg.internal(w, r, err)
			return
		}
		v.Clinics = cs
	}
	chosen := form["group"]
	if len(chosen) == 0 {
		chosen = DefaultGroups
	}
	for _, g := range pg.cfg.Forecaster.VaccineGroups() {
		v.Groups = append(v.Groups, groupChoice{Name: g, Checked: slices.Contains(chosen, g)})
	}
	if !form.Has("by") {
		if !v.Program {
			v.Clinic, _ = pg.clinicFor(ctx, u, url.Values{})
		}
		pg.render(w, http.StatusOK, u, csrf, v)
		return
	}
	org, p, status, err := pg.request(ctx, u, form)
	v.Clinic = org
	if err != nil {
		v.Error = err.Error()
		pg.render(w, status, u, csrf, v)
		return
	}
	page := 0
	if s := form.Get("page"); s != "" {
		if page, err = strconv.Atoi(s); err != nil || page < 1 {
			v.Error = "the page number must be a whole number from 1"
			pg.render(w, http.StatusBadRequest, u, csrf, v)
			return
		}
		page--
	}
	res, shown, err := pg.run(ctx, u, org, p, "list", page)
	if err != nil {
		v.Error = "The list could not be made: " + err.Error()
		pg.render(w, http.StatusInternalServerError, u, csrf, v)
		return
	}
	q := runQuery(form)
	v.Back = q.Encode() // back to this page after a contact
	q.Del("page")
	v.Result, v.Shown, v.Query = res, shown, template.URL(q.Encode())
	v.Page, v.Pages = page+1, max(1, (len(res.Families)+pg.cfg.FamiliesPerPage-1)/pg.cfg.FamiliesPerPage)
	if v.Page > 1 {
		q.Set("page", strconv.Itoa(v.Page-1))
		v.PrevQuery = template.URL(q.Encode())
	}
	if v.Page < v.Pages {
		q.Set("page", strconv.Itoa(v.Page+1))
		v.NextQuery = template.URL(q.Encode())
	}
	for reason, n := range res.Excluded {
		v.Excluded = append(v.Excluded, fmt.Sprintf("%d %s", n, reason))
	}
	slices.Sort(v.Excluded)
	pg.render(w, http.StatusOK, u, csrf, v)
}

// request reads the clinic and the parameters of a run, or the status and
// message that refuse it.
func (pg *Pages) request(ctx context.Context, u accounts.User, form url.Values) (accounts.Organization, Params, int, error) {
	if !mayRecall(u) {
		return accounts.Organization{}, Params{}, http.StatusForbidden, errors.New("your role (" + u.Role.Label() + ") may not run reminder/recall")
	}
	org, err := pg.clinicFor(ctx, u, form)
	if errors.Is(err, errRefused) {
		return org, Params{}, http.StatusForbidden, errors.New("you may run reminder/recall for your own clinic only")
	}
	if err != nil {
		return org, Params{}, http.StatusBadRequest, err
	}
	if org.FacilityID == "" {
		return org, Params{}, http.StatusBadRequest, fmt.Errorf("%s has no facility id: it reports no patients to the registry", org.Name)
	}
	p, err := pg.params(form)
	if err != nil {
		return org, p, http.StatusBadRequest, err
	}
	return org, p, http.StatusOK, nil
}

// runQuery keeps a form's run parameters (for links and redirects).
func runQuery(form url.Values) url.Values {
	q := url.Values{}
	for _, k := range []string{"clinic", "by", "born_from", "born_to", "age_min", "age_max", "group", "overdue_only", "lang", "page"} {
		if vs, ok := form[k]; ok {
			q[k] = vs
		}
	}
	return q
}

// download serves the run as CSV, letters or labels.
func (pg *Pages) download(what string) func(http.ResponseWriter, *http.Request, accounts.User, string) {
	return func(w http.ResponseWriter, r *http.Request, u accounts.User, _ string) {
		ctx := r.Context()
		form := r.URL.Query()
		org, p, status, err := pg.request(ctx, u, form)
		lang, lerr := ParseLanguage(form.Get("lang"))
		if err == nil && lerr != nil {
			status, err = http.StatusBadRequest, lerr
		}
		if err != nil {
			http.Error(w, err.Error(), status)
			return
		}
		res, _, err := pg.run(ctx, u, org, p, what, -1)
		if err != nil {
			pg.internal(w, r, err)
			return
		}
		var b bytes.Buffer
		name, ctype := "", ""
		now := pg.cfg.Now()
		switch what {
		case "csv":
			name, ctype, err = "recall.csv", "text/csv; charset=utf-8", WriteCSV(&b, res.Children)
		case "letters":
			var pdf []byte
			pdf, err = Letters(res.Families, p.By, lang, Sender{Clinic: org.Name}, now)
			b.Write(pdf)
			name, ctype = "recall-letters-"+string(lang)+".pdf", "application/pdf"
		case "labels":
			var pdf []byte
			pdf, err = Labels(res.Families, now)
			b.Write(pdf)
			name, ctype = "recall-labels.pdf", "application/pdf"
		}
		if err != nil {
			pg.internal(w, r, err)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b.Bytes())
	}
}

// contact records that a family was contacted.
func (pg *Pages) contact(w http.ResponseWriter, r *http.Request, u accounts.User, _ string) {
	ctx := r.Context()
	back, _ := url.ParseQuery(r.PostFormValue("back"))
	org, err := pg.clinicFor(ctx, u, url.Values{"clinic": {r.PostFormValue("clinic")}})
	if err != nil {
		http.Error(w, "You may record contacts for your own clinic only.", http.StatusForbidden)
		return
	}
	var ids []int64
	for _, s := range r.PostForm["patient"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			http.Error(w, "The form names no such child.", http.StatusBadRequest)
			return
		}
		ids = append(ids, id)
	}
	on, err := formDate(r.PostForm, "on", "the contact date")
	if err == nil && on.IsZero() {
		err = errors.New("give the date of the contact")
	}
	if err == nil && !slices.Contains(registry.RecallMethods, r.PostFormValue("method")) {
		err = errors.New("choose how the family was contacted: phone, letter, text or email")
	}
	if err == nil && len(ids) == 0 {
		err = errors.New("the form names no child")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rels, err := pg.cfg.Registry.Relations(ctx, ids, org.ID, org.FacilityID)
	if err != nil {
		pg.internal(w, r, err)
		return
	}
	for _, id := range ids {
		if !rels[id].Reported {
			http.Error(w, "A child of the form is not one of the clinic's children.", http.StatusForbidden)
			return
		}
	}
	c := registry.RecallContact{PatientIDs: ids, OrgID: org.ID, Method: r.PostFormValue("method"), On: on, By: u.Actor(),
		Note: strings.TrimSpace(r.PostFormValue("note"))}
	if err := pg.cfg.Registry.RecordRecallContact(ctx, c); err != nil {
		pg.internal(w, r, err)
		return
	}
	q := runQuery(back)
	q.Set("done", "contact")
	http.Redirect(w, r, "/recall?"+q.Encode(), http.StatusSeeOther)
}

// render sends the page on the portal's layout.
func (pg *Pages) render(w http.ResponseWriter, status int, u accounts.User, csrf string, v *view) {
	pg.tmpl.Render(w, status, "recall", u, csrf, portal.Page{Title: "Reminder/recall", Nav: "recall", Flash: v.Flash, Error: v.Error, Data: v})
}

func (pg *Pages) internal(w http.ResponseWriter, r *http.Request, err error) {
	pg.cfg.Logger.Error("recall", "path", r.URL.Path, "err", err)
	http.Error(w, "Something went wrong on our side; please try again in a moment.", http.StatusInternalServerError)
}
