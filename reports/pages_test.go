package reports_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/reports"
)

type orgs []accounts.Organization

func (o orgs) Organization(_ context.Context, id int64) (accounts.Organization, error) {
	for _, x := range o {
		if x.ID == id {
			return x, nil
		}
	}
	return accounts.Organization{}, accounts.ErrNotFound
}

func TestPages(t *testing.T) {
	ctx := context.Background()
	s, a := open(t)
	runner := reports.NewRunner(ctx, s, a, nil)
	pages, err := reports.NewPages(runner, orgs{{ID: 1, Kind: accounts.Clinic, Name: "Clinic A", FacilityID: "CLINA"},
		{ID: 2, Kind: accounts.Clinic, Name: "Clinic B", FacilityID: "CLINB"}, {ID: 3, Kind: accounts.Program, Name: "Program"}},
		func() time.Time { return time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	do := serve(t, pages)
	// Bad parameters and another clinic are refused with a message.
	res, body := do("coord", "POST", "/reports/coverage", url.Values{"asof": {"2025-02-30"}})
	if res.StatusCode != 400 || !strings.Contains(body, "assessment date must be a date") {
		t.Fatalf("bad date: %d\n%s", res.StatusCode, body)
	}
	res, body = do("coord", "POST", "/reports/coverage", url.Values{"asof": {"2025-06-30"}, "clinic": {"CLINB"}})
	if res.StatusCode != 403 || !strings.Contains(body, "your own clinic only (Clinic A)") {
		t.Fatalf("another clinic: %d\n%s", res.StatusCode, body)
	}
	// A queued run shows its progress bar and refreshes itself.
	queued, err := s.CreateReportRun(ctx, reports.KindCoverage, []byte(`{"asof":"2025-06-30","cohort":"afix","clinic":"CLINA"}`), "CLINA", "user:coord")
	if err != nil {
		t.Fatal(err)
	}
	res, body = do("coord", "GET", "/reports/"+itoa(queued), nil)
	if res.StatusCode != 200 || !strings.Contains(body, `<progress id="progress" max="100" value="0">`) || !strings.Contains(body, `<meta http-equiv="refresh" content="2">`) {
		t.Fatalf("queued run: %d\n%s", res.StatusCode, body)
	}
	// Started from the form: to the run's page, done after the run.
	res, _ = do("coord", "POST", "/reports/coverage", url.Values{"asof": {"2025-06-30"}, "cohort": {"afix"}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/reports/") {
		t.Fatalf("start: %d %q", res.StatusCode, loc)
	}
	runner.Wait()
	res, body = do("coord", "GET", loc, nil)
	if res.StatusCode != 200 || !strings.Contains(body, `id="status">done`) || strings.Contains(body, "refresh") ||
		!strings.Contains(body, "AFIX cohort (24-35 months) on 2025-06-30, clinic CLINA") || !strings.Contains(body, `id="data-version"`) {
		t.Fatalf("done run: %d\n%s", res.StatusCode, body)
	}
	res, body = do("coord", "GET", loc+"/csv", nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(body, "group,name,children,") {
		t.Fatalf("csv: %d\n%s", res.StatusCode, body)
	}
	// Scope: another clinic sees neither the run nor its CSV; staff see all.
	for _, target := range []string{loc, loc + "/csv"} {
		if res, _ := do("other", "GET", target, nil); res.StatusCode != 404 {
			t.Fatalf("other clinic's %s: %d", target, res.StatusCode)
		}
	}
	if _, body := do("other", "GET", "/reports", nil); strings.Contains(body, `data-run=`) {
		t.Fatalf("other clinic's list shows runs:\n%s", body)
	}
	_, body = do("staff", "GET", "/reports", nil)
	if strings.Count(body, `data-run=`) != 2 || !strings.Contains(body, `/csv">CSV</a>`) {
		t.Fatalf("staff's list:\n%s", body)
	}
	res, _ = do("staff", "POST", "/reports/coverage", url.Values{"asof": {"2025-06-30"}, "county": {"Hartford"}})
	runner.Wait()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("statewide by staff: %d", res.StatusCode)
	}
	trail, err := s.AuditTrail(ctx, "user:coord", 10)
	if err != nil || len(trail) != 3 || trail[0].Action != "report-run-download" {
		t.Fatalf("audit: %+v %v", trail, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// serve mounts pages for three users (a coordinator of Clinic A, one of
// Clinic B, program staff) and returns a request helper.
func serve(t *testing.T, pages *reports.Pages) func(user, method, target string, form url.Values) (*http.Response, string) {
	mux := http.NewServeMux()
	users := map[string]accounts.User{
		"coord": {Username: "coord", FullName: "Vic Coordinator", OrgID: 1, Role: accounts.VaccineCoordinator},
		"other": {Username: "other", FullName: "Oz Other", OrgID: 2, Role: accounts.VaccineCoordinator},
		"staff": {Username: "staff", FullName: "Pat Program", OrgID: 3, Role: accounts.ProgramStaff},
	}
	pages.Register(func(pattern string, _ accounts.Permission, page reports.PageFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { page(w, r, users[r.Header.Get("X-User")], "tok") })
	})
	return func(user, method, target string, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		r := httptest.NewRequest(method, target, body)
		if form != nil {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		r.Header.Set("X-User", user)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		b, _ := io.ReadAll(w.Result().Body)
		return w.Result(), string(b)
	}
}
