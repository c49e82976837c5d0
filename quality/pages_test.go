package quality_test

import (
	"context"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/console"
	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/quality"
)

// shell is the console as the pages see it, with one signed-in operator.
type shell struct {
	mux *http.ServeMux
	op  console.Operator
}

func (s *shell) Mount(pattern string, min console.Role, _, _, _ string, h func(http.ResponseWriter, *http.Request, console.Operator)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if min == console.Engineer && !s.op.MayChange {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h(w, r, s.op)
	})
}

func (s *shell) Render(w http.ResponseWriter, _ *http.Request, _ console.Operator, status int, title, _ string, body template.HTML) {
	w.WriteHeader(status)
	_, _ = w.Write([]byte("<title>" + title + "</title>" + string(body)))
}

func (s *shell) Fail(w http.ResponseWriter, _ *http.Request, _ console.Operator, status int, msg string, _ error) {
	http.Error(w, msg, status)
}

func newPages(t *testing.T, mayChange bool) (*env, http.Handler) {
	t.Helper()
	e := newEnv(t)
	onb, err := facility.OpenOnboarding(context.Background(), e.reg.Pool(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := quality.NewPages(quality.PagesConfig{Store: e.q, Statuses: onb, Audit: e.reg,
		Now: func() time.Time { return time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	sh := &shell{mux: http.NewServeMux(), op: console.Operator{User: "ana", Role: console.Engineer, CSRF: "x", MayChange: mayChange}}
	p.Mount(sh)
	flu := sample(t, "vxu-nist-ad-2.1-adult-flu.hl7")
	e.store(t, "CLINIC_A", "A1", flu, "W:103:5:RXR-1", day("2026-03-02").Add(10*time.Hour), true)
	return e, sh.mux
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

func TestPages(t *testing.T) {
	e, h := newPages(t, true)
	for _, c := range []struct {
		path   string
		status int
		has    string
	}{
		{"/console/quality", 200, "CLINIC_A"}, // default period: the 30 days to 2026-03-31
		{"/console/quality?from=2026-04-01", 400, "ends (2026-03-31) before it starts"},
		{"/console/quality?from=2025-01-01&to=2026-03-31", 400, "at most 366"},
		{"/console/quality?to=March", 400, "not a date"},
		{"/console/quality/report?facility=CLINIC_A", 200, "C28161^Intramuscular^NCIT"},
		{"/console/quality/report", 400, "facility is missing"},
		{"/console/quality/examples?facility=CLINIC_A&detection=103:5:RXR-1", 200, "/console/messages/"},
		{"/console/quality/examples?facility=CLINIC_A&detection=103:5:RXR-1", 200, "<td>2026-03-02</td><td>1</td>"},
		{"/console/quality/examples?facility=CLINIC_A", 400, "detection is missing"},
		{"/console/quality/report.csv?facility=CLINIC_A", 200, "detection,103:5:RXR-1,Table value not found at RXR-1,W,1,100.0"},
	} {
		w := get(h, c.path)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.has) {
			t.Errorf("GET %s: %d, want %d with %q:\n%.600s", c.path, w.Code, c.status, c.has, w.Body.String())
		}
	}
	w := get(h, "/console/quality/report.pdf?facility=CLINIC_A&from=2026-03-01&to=2026-03-31")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/pdf" || !strings.HasPrefix(w.Body.String(), "%PDF") ||
		w.Header().Get("Content-Disposition") != `attachment; filename="quality-CLINIC_A-20260301-20260331.pdf"` {
		t.Errorf("PDF: %d %v", w.Code, w.Header())
	}
	var n int
	if err := e.reg.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'quality-export' AND actor = 'console:ana'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("exports audited: %d, %v; want 2 (CSV and PDF)", n, err)
	}
}

func TestSetStatusPage(t *testing.T) {
	e, h := newPages(t, true)
	post := func(form url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/console/quality/status", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := post(url.Values{"facility": {"CLINIC_A"}, "status": {"live"}}); w.Code != 400 {
		t.Errorf("bad status: %d", w.Code)
	}
	if w := post(url.Values{"status": {"test"}}); w.Code != 400 {
		t.Errorf("no facility: %d", w.Code)
	}
	if w := post(url.Values{"facility": {"CLINIC_NEW"}, "status": {"test"}}); w.Code != http.StatusSeeOther {
		t.Errorf("a facility without messages put in test: %d", w.Code)
	}
	if got := get(h, "/console/quality").Body.String(); !strings.Contains(got, `data-facility="CLINIC_NEW"`) {
		t.Errorf("a facility in test without messages is not listed:\n%.800s", got)
	}
	w := post(url.Values{"facility": {"CLINIC_A"}, "status": {"test"}, "note": {"onboarding"}, "from": {"2026-03-01"}, "to": {"2026-03-31"}})
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "facility=CLINIC_A") {
		t.Fatalf("set status: %d %s", w.Code, w.Header().Get("Location"))
	}
	if got := get(h, "/console/quality/report?facility=CLINIC_A"); !strings.Contains(got.Body.String(), `id="status" class="status-test">test<`) {
		t.Errorf("report after the change does not say test:\n%.400s", got.Body.String())
	}
	var detail string
	if err := e.reg.Pool().QueryRow(context.Background(), `SELECT detail FROM audit_log WHERE action = 'facility-status' AND detail LIKE '%CLINIC_A%'`).Scan(&detail); err != nil ||
		detail != "facility CLINIC_A: status production -> test (onboarding)" {
		t.Errorf("audit %q, %v", detail, err)
	}
	_, viewer := newPages(t, false)
	r := httptest.NewRequest("POST", "/console/quality/status", strings.NewReader("facility=CLINIC_A&status=production"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	vw := httptest.NewRecorder()
	viewer.ServeHTTP(vw, r)
	if vw.Code != http.StatusForbidden {
		t.Errorf("a viewer changed the status: %d", vw.Code)
	}
}
