package coverage_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/coverage"
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

func (o orgs) Organizations(_ context.Context, kinds ...accounts.OrgKind) ([]accounts.Organization, error) {
	return o, nil
}

func TestPages(t *testing.T) {
	s, a := open(t)
	ids := store(t, s,
		VXU("CLINA", "a1", kid{"A1", "Able", "Ann", "20230115", "Hartford", "Hartford"}, routine...),
		VXU("CLINA", "a2", kid{"A2", "Baker", "Bea", "20230115", "Hartford", "Hartford"}, earlyHepB3()...),
		VXU("CLINB", "b1", kid{"B1", "Cole", "Cara", "20230115", "Mystic", "New London"}, routine...),
	)
	pages, err := coverage.NewPages(coverage.PagesConfig{Registry: s, Assessor: a,
		Organizations: orgs{{ID: 1, Kind: accounts.Clinic, Name: "Clinic A", FacilityID: "CLINA"}, {ID: 2, Kind: accounts.Clinic, Name: "Clinic B", FacilityID: "CLINB"},
			{ID: 3, Kind: accounts.Program, Name: "Program"}},
		Now: func() time.Time { return asOf }})
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]coverage.PageFunc{}
	pages.Register(func(pattern string, perm accounts.Permission, page coverage.PageFunc) {
		routes[strings.TrimPrefix(pattern, "GET ")] = page // POST routes keep their method
	})
	coord := accounts.User{Username: "coord", FullName: "Vic Coordinator", OrgID: 1, Role: accounts.VaccineCoordinator}
	staff := accounts.User{Username: "staff", FullName: "Pat Program", OrgID: 3, Role: accounts.ProgramStaff}
	get := func(u accounts.User, target string) (int, string) {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, target, nil)
		w := httptest.NewRecorder()
		path, _, _ := strings.Cut(target, "?")
		routes[path](w, r, u, "tok")
		b, _ := io.ReadAll(w.Result().Body)
		return w.Code, string(b)
	}
	code, body := get(coord, "/coverage?run=1&asof=2025-06-30")
	if code != 200 || !strings.Contains(body, "2 children at CLINA") || !strings.Contains(body, `data-measure="4:3:1:3:3:1:4">50.0%`) ||
		!strings.Contains(body, `<svg id="bars"`) || !strings.Contains(body, `<svg id="trend"`) {
		t.Fatalf("coordinator's report: %d\n%s", code, body)
	}
	// On the portal's layout, with its navigation marking Coverage current.
	if !strings.Contains(body, `id="nav-coverage" aria-current="page"`) || !strings.Contains(body, `id="whoami">Vic Coordinator`) ||
		strings.Count(body, "<html") != 1 {
		t.Errorf("the report is not on the portal's layout with Coverage current:\n%.1500s", body)
	}
	code, body = get(coord, "/coverage/children?run=1&asof=2025-06-30&measure=HepB")
	if code != 200 || !strings.Contains(body, "Baker, Bea") || !strings.Contains(body, "dose 4 of HepB 4-dose series is due") ||
		strings.Contains(body, "Able, Ann") {
		t.Fatalf("drill-down: %d\n%s", code, body)
	}
	code, body = get(coord, "/coverage/children?run=1&asof=2025-06-30&measure=HepB&format=csv")
	if code != 200 || !strings.Contains(body, `"Baker, Bea",2023-01-15,CLINA`) {
		t.Fatalf("drill-down CSV: %d\n%s", code, body)
	}
	if code, body = get(coord, "/coverage?run=1&clinic=CLINB"); code != 403 || !strings.Contains(body, "your own clinic only") {
		t.Fatalf("another clinic's report: %d\n%s", code, body)
	}
	if code, body = get(coord, "/coverage?run=1&asof=30/06/2025"); code != 400 || !strings.Contains(body, "must be a date like") {
		t.Fatalf("bad date: %d\n%s", code, body)
	}
	if code, body = get(staff, "/coverage?run=1&cohort=birth&from=2024-01-01"); code != 400 || !strings.Contains(body, "last birth date") {
		t.Fatalf("birth cohort without its end: %d\n%s", code, body)
	}
	code, body = get(staff, "/coverage?run=1&asof=2025-06-30")
	if code != 200 || !strings.Contains(body, "3 children statewide") || !strings.Contains(body, "Clinic B") || !strings.Contains(body, "New London") {
		t.Fatalf("statewide: %d\n%s", code, body)
	}
	code, body = get(staff, "/coverage?format=csv&asof=2025-06-30")
	if code != 200 || !strings.Contains(body, "total,,3,") || !strings.Contains(body, "clinic,Clinic B,1,") {
		t.Fatalf("statewide CSV: %d\n%s", code, body)
	}
	// The coordinator marks Bea moved or gone elsewhere: she leaves the
	// clinic's report; Cara, another clinic's, cannot be marked.
	post := func(u accounts.User, form url.Values) (int, string) {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "/coverage/moge", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		routes["POST /coverage/moge"](w, r, u, "tok")
		return w.Code, w.Header().Get("Location")
	}
	if code, loc := post(coord, url.Values{"patient": {fmt.Sprint(ids[1])}, "back": {"/coverage/children?run=1&asof=2025-06-30"}}); code != 303 || loc != "/coverage/children?run=1&asof=2025-06-30" {
		t.Fatalf("mark: %d %s", code, loc)
	}
	if code, body = get(coord, "/coverage?run=1&asof=2025-06-30"); !strings.Contains(body, "1 children at CLINA") {
		t.Fatalf("after the mark: %d\n%s", code, body)
	}
	if code, _ := post(coord, url.Values{"patient": {fmt.Sprint(ids[2])}}); code != 403 {
		t.Fatalf("marking another clinic's child: %d", code)
	}
	if code, _ := post(coord, url.Values{"patient": {fmt.Sprint(ids[1])}, "undo": {"1"}}); code != 303 {
		t.Fatalf("unmark: %d", code)
	}
	if code, body = get(coord, "/coverage?run=1&asof=2025-06-30"); !strings.Contains(body, "2 children at CLINA") {
		t.Fatalf("after the unmark: %d\n%s", code, body)
	}
	// Bea's record protected (PD1-12 Y): the clinic sees why she is not up
	// to date but not who she is; program staff see her.
	if _, err := s.Pool().Exec(context.Background(), `UPDATE patients SET protection = 'Y' WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	pages2, _ := coverage.NewPages(coverage.PagesConfig{Registry: s, Assessor: a, Organizations: orgs{{ID: 1, Kind: accounts.Clinic, Name: "Clinic A", FacilityID: "CLINA"}, {ID: 3, Kind: accounts.Program, Name: "Program"}},
		Now: func() time.Time { return asOf }})
	pages2.Register(func(pattern string, perm accounts.Permission, page coverage.PageFunc) {
		routes[strings.TrimPrefix(pattern, "GET ")] = page
	})
	if _, body = get(coord, "/coverage/children?run=1&asof=2025-06-30&measure=HepB"); strings.Contains(body, "Baker") || !strings.Contains(body, "Record not disclosed") ||
		!strings.Contains(body, "dose 4 of HepB 4-dose series is due") {
		t.Fatalf("a protected child in the clinic's drill-down:\n%s", body)
	}
	if _, body = get(staff, "/coverage/children?run=1&asof=2025-06-30&measure=HepB"); !strings.Contains(body, "Baker, Bea") {
		t.Fatalf("a protected child in the program's drill-down:\n%s", body)
	}
	var audits int
	if err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'coverage-report'`).Scan(&audits); err != nil || audits < 3 {
		t.Fatalf("%d coverage-report audit rows, %v", audits, err)
	}
}
