package portal

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/iisproject/iis/accounts"
)

// TestParsePagesRender: a mounted package's page is rendered inside the
// portal's layout with the signed-in user's navigation, the session's
// CSRF token, the notices, its own funcs and its "head" block.
func TestParsePagesRender(t *testing.T) {
	fsys := fstest.MapFS{
		"templates/thing.html": {Data: []byte(`{{define "head"}}<meta name="x-test" content="1">{{end}}{{define "content"}}<p id="data">{{shout .Data}}</p><input name="csrf" value="{{.CSRF}}">{{end}}`)},
		"templates/plain.html": {Data: []byte(`{{define "content"}}<p>plain</p>{{end}}`)},
	}
	ps, err := ParsePages(fsys, template.FuncMap{"shout": strings.ToUpper}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := accounts.User{Username: "clin", FullName: "Cora Lin", Role: accounts.ClinicUser, TOTPEnabled: true}
	cases := []struct {
		name, page string
		pg         Page
		want, not  []string
	}{
		{"clinic user, patients current", "thing", Page{Title: "A thing", Nav: "patients", Flash: "Saved.", Data: "quiet"},
			[]string{`<title>A thing · Immunization Registry</title>`, `<meta name="x-test" content="1">`, `<a class="skip" href="#main">Skip to content</a>`,
				`<span id="whoami">Cora Lin</span>`, `<input type="hidden" name="csrf" value="tok-1">`, `<p id="data">QUIET</p>`, `<input name="csrf" value="tok-1">`,
				`<a href="/patients" id="nav-patients" aria-current="page">Patients</a>`, `<a href="/patients/new">Register a patient</a>`,
				`<p class="flash" id="flash" role="status">Saved.</p>`, `<main id="main">`},
			[]string{`/admin/users`, `id="error"`}},
		{"register current, error notice", "plain", Page{Title: "Register a patient", Nav: "enter", Error: "No."},
			[]string{`<a href="/patients/new" aria-current="page">Register a patient</a>`, `<a href="/patients" id="nav-patients">Patients</a>`,
				`<p class="error" id="error" role="alert">No.</p>`},
			[]string{`id="flash"`, `x-test`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			ps.Render(rec, http.StatusTeapot, c.page, u, "tok-1", c.pg)
			body := rec.Body.String()
			if rec.Code != http.StatusTeapot || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("missing %s in\n%s", w, body)
				}
			}
			for _, n := range c.not {
				if strings.Contains(body, n) {
					t.Errorf("unexpected %s in\n%s", n, body)
				}
			}
		})
	}
	rec := httptest.NewRecorder()
	ps.Render(rec, http.StatusOK, "layout", u, "tok-1", Page{})
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("unknown page: status %d", rec.Code)
	}
}
