package compliancy_test

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
	"github.com/iisproject/iis/compliancy"
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
	var out []accounts.Organization
	for _, x := range o {
		if len(kinds) == 0 || x.Kind == kinds[0] {
			out = append(out, x)
		}
	}
	return out, nil
}

func TestPages(t *testing.T) {
	s, e, ids := fixturePopulation(t)
	pages, err := compliancy.New(compliancy.Config{Registry: s, Engine: e,
		Organizations: orgs{{ID: 1, Kind: accounts.Clinic, Name: "Clinic A", FacilityID: "CLINA"}, {ID: 2, Kind: accounts.Clinic, Name: "Clinic B", FacilityID: "CLINB"},
			{ID: 3, Kind: accounts.Program, Name: "Program"}, {ID: 4, Kind: accounts.School, Name: "Elm School"}},
		Now: func() time.Time { return today.Add(10 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]compliancy.PageFunc{}
	pages.Register(func(pattern string, perm accounts.Permission, page compliancy.PageFunc) {
		if perm != accounts.ViewCoverage {
			t.Errorf("%s mounted with permission %v", pattern, perm)
		}
		routes[pattern] = page
	})
	coord := accounts.User{Username: "coord", OrgID: 1, Role: accounts.VaccineCoordinator}
	staff := accounts.User{Username: "staff", OrgID: 3, Role: accounts.ProgramStaff}
	school := accounts.User{Username: "school", OrgID: 4, Role: accounts.ClinicUser}
	do := func(u accounts.User, method, target string, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		r := httptest.NewRequest(method, target, body)
		if form != nil {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		path, _, _ := strings.Cut(target, "?")
		routes[method+" "+path](w, r, u, "tok")
		b, _ := io.ReadAll(w.Result().Body)
		if w.Code == http.StatusSeeOther {
			return w.Code, w.Header().Get("Location")
		}
		return w.Code, string(b)
	}
	get := func(u accounts.User, target string) (int, string) {
		t.Helper()
		return do(u, http.MethodGet, target, nil)
	}

	// The coordinator's monthly list: Bea (8 months, no DTaP) and Cara (20
	// months, no MMR), each with links to answer; not Ann (up to date).
	code, body := get(coord, "/compliancy?run=1&month=2025-05")
	if code != 200 || !strings.Contains(body, "Baker, Bea") || !strings.Contains(body, "Cole, Cara") || strings.Contains(body, "Able, Ann") ||
		!strings.Contains(body, fmt.Sprintf(`href="/patients/%d/doses/new"`, ids[1])) || !strings.Contains(body, fmt.Sprintf(`href="/patients/%d"`, ids[2])) ||
		!strings.Contains(body, "MMR dose 1") || !strings.Contains(body, "2 children turned 8 months and 1 turned 20 months; 2 were not up to date.") {
		t.Fatalf("coordinator's monthly list: %d\n%s", code, body)
	}
	code, body = get(coord, "/compliancy?month=2025-05&format=csv")
	if code != 200 || !strings.Contains(body, fmt.Sprintf("%d,\"Baker, Bea\",2024-09-15,8,2025-05-15,CLINA,Hartford,Hartford,DTaP/Tdap/Td dose 1", ids[1])) {
		t.Fatalf("monthly CSV: %d\n%s", code, body)
	}
	for _, c := range []struct {
		u      accounts.User
		target string
		code   int
		msg    string
	}{
		{coord, "/compliancy?run=1&month=2025-05&clinic=CLINB", 403, "your own clinic only"},
		{coord, "/compliancy/goldenrod?run=1&clinic=CLINB", 403, "your own clinic only"},
		{school, "/compliancy?run=1&month=2025-05", 403, "not a clinic"},
		{coord, "/compliancy?run=1&month=May", 400, "a month like 2025-05"},
		{coord, "/compliancy?run=1&month=2026-01", 400, "cannot be in the future"},
		{coord, "/compliancy/goldenrod?run=1&year=20x5", 400, "a year like 2025"},
		{staff, "/compliancy?run=1&month=2025-05", 400, "Choose a clinic"},
		{staff, "/compliancy?run=1&month=2025-05&clinic=NOPE", 400, "No clinic has the facility id"},
		{coord, "/compliancy/outreach?run=1", 403, "immunization program"},
		{coord, "/compliancy/iap", 403, "immunization program"},
		{staff, "/compliancy/outreach?run=1&months=0", 400, "from 1 to 216"},
		{staff, "/compliancy/outreach?run=1&asof=30/06/2025", 400, "a date like"},
	} {
		if code, body := get(c.u, c.target); code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("%s as %s: %d, want %d with %q\n%s", c.target, c.u.Username, code, c.code, c.msg, body)
		}
	}
	// Program staff: any clinic's list.
	if code, body = get(staff, "/compliancy?run=1&month=2025-05&clinic=CLINB"); code != 200 || !strings.Contains(body, "Dunn, Dan") || strings.Contains(body, "Baker") {
		t.Fatalf("staff, CLINB's list: %d\n%s", code, body)
	}
	code, body = get(coord, "/compliancy/goldenrod?run=1&year=2025")
	if code != 200 || !strings.Contains(body, "Gray, Gus") || strings.Contains(body, "Ford, Fay") || !strings.Contains(body, "HepB") {
		t.Fatalf("Goldenrod: %d\n%s", code, body)
	}
	// The IAP map, then the outreach lists by area.
	if code, _ := do(coord, http.MethodPost, "/compliancy/iap", url.Values{"town": {"Hartford"}, "area": {"North Central"}}); code != 403 {
		t.Fatalf("a coordinator edited the IAP map: %d", code)
	}
	if code, body := do(staff, http.MethodPost, "/compliancy/iap", url.Values{"town": {""}, "area": {"x"}}); code != 400 || !strings.Contains(body, "Give a town") {
		t.Fatalf("no town: %d\n%s", code, body)
	}
	if code, loc := do(staff, http.MethodPost, "/compliancy/iap", url.Values{"town": {"Hartford"}, "area": {"North Central"}}); code != 303 || loc != "/compliancy/iap" {
		t.Fatalf("map Hartford: %d %s", code, loc)
	}
	if code, body = get(staff, "/compliancy/iap"); code != 200 || !strings.Contains(body, `<tr data-town="hartford"><td>hartford</td><td>North Central</td>`) {
		t.Fatalf("the map: %d\n%s", code, body)
	}
	code, body = get(staff, "/compliancy/outreach?run=1&asof=2025-06-30")
	if code != 200 || !strings.Contains(body, "North Central:") || !strings.Contains(body, "(no IAP area):") || !strings.Contains(body, "Dunn, Dan") ||
		strings.Index(body, "Baker, Bea") > strings.Index(body, "(no IAP area):") {
		t.Fatalf("outreach: %d\n%s", code, body)
	}
	code, body = get(staff, "/compliancy/outreach?asof=2025-06-30&format=csv&area=North+Central")
	if code != 200 || !strings.Contains(body, "North Central,Hartford,") || strings.Contains(body, "Mystic") {
		t.Fatalf("outreach CSV: %d\n%s", code, body)
	}
	// Bea protected: the clinic sees what is missing, not who or a link;
	// program staff see her.
	if _, err := s.Pool().Exec(context.Background(), `UPDATE patients SET protection = 'Y' WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, body = get(coord, "/compliancy?run=1&month=2025-05"); strings.Contains(body, "Baker") || !strings.Contains(body, "Record not disclosed") ||
		strings.Contains(body, fmt.Sprintf("/patients/%d", ids[1])) {
		t.Fatalf("a protected child in the clinic's list:\n%s", body)
	}
	if _, body = get(staff, "/compliancy?run=1&month=2025-05&clinic=CLINA"); !strings.Contains(body, "Baker, Bea") {
		t.Fatalf("a protected child in the program's list:\n%s", body)
	}
	var audits int
	if err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'compliancy-report'`).Scan(&audits); err != nil || audits != 8 {
		t.Fatalf("%d compliancy-report audit rows, %v", audits, err)
	}
}
