package portal

import (
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"strings"

	"github.com/iisproject/iis/accounts"
)

// Pages are the page templates of a package mounted on the portal (with
// Handle or HandleSignedIn), each parsed with the portal's layout: the
// header with the signed-in user's navigation and sign-out form, the
// skip link, and the flash and error notices. A page template defines
// "content" and may define "head" (extra elements of the document's
// head). The template gets the Page's fields (.Title, .Flash, .Error,
// .Data) and the layout's: .CSRF, the session's token for the page's
// forms, .User, .PatientPages.
type Pages struct {
	tmpl map[string]*template.Template
	log  *slog.Logger
}

// Page is what a mounted page shows.
type Page struct {
	Title string
	// Nav marks a link of the navigation as the current page: "enter"
	// (Register a patient), "patients" (the patient pages), or one of
	// the portal's own.
	Nav   string
	Flash string
	Error string
	Data  any
}

// ParsePages parses each templates/*.html in fsys (a package's embedded
// templates; a layout.html there is skipped) as a page named for its
// file, with the portal's layout, the portal's template funcs and funcs
// (which take precedence over them). Render logs to log (nil: discarded).
//
//	//go:embed templates/*.html
//	var templateFS embed.FS
//	pages, err := portal.ParsePages(templateFS, funcs, logger)
//	…
//	pages.Render(w, http.StatusOK, "search", u, csrf, portal.Page{Title: "Find a patient", Data: view})
func ParsePages(fsys fs.FS, funcs template.FuncMap, log *slog.Logger) (*Pages, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tmpl, err := parsePages(fsys, funcs)
	if err != nil {
		return nil, err
	}
	return &Pages{tmpl: tmpl, log: log}, nil
}

// parsePages parses fsys's templates/*.html (all but a layout.html) with
// the layout.
func parsePages(fsys fs.FS, extra template.FuncMap) (map[string]*template.Template, error) {
	fm := maps.Clone(funcs)
	maps.Copy(fm, extra)
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("portal: templates: %w", err)
	}
	tmpl := map[string]*template.Template{}
	for _, f := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(fm).ParseFS(templateFS, "templates/layout.html")
		if err == nil {
			t, err = t.ParseFS(fsys, f)
		}
		if err != nil {
			return nil, fmt.Errorf("portal: template %s: %w", name, err)
		}
		tmpl[name] = t
	}
	return tmpl, nil
}

// Render sends page name to u, signed in (the page is behind the
// portal's gate), with csrf the session's token, answering status.
func (ps *Pages) Render(w http.ResponseWriter, status int, name string, u accounts.User, csrf string, pg Page) {
	v := &visitor{user: u, sess: accounts.Session{TOTPOK: true, CSRF: csrf}}
	execute(w, ps.log, ps.tmpl[name], status, name, page{Title: pg.Title, Nav: pg.Nav, V: v, CSRF: csrf, Flash: pg.Flash, Error: pg.Error, Data: pg.Data})
}

// execute renders t's layout with pg and sends it.
func execute(w http.ResponseWriter, log *slog.Logger, t *template.Template, status int, name string, pg page) {
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", pg); err != nil {
		log.Error("portal: render", "page", name, "err", err)
		http.Error(w, "page failed to render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}
