package recall_test

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

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp/totp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/recall"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

var today = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t      *testing.T
	srv    *httptest.Server
	reg    *registry.Store
	tokens map[string]string
	csrf   map[string]string
	orgs   map[string]int64
}

func newFixture(t *testing.T, perPage int) *fixture {
	t.Helper()
	ctx := context.Background()
	reg, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	acc, err := accounts.New(accounts.Config{Pool: reg.Pool(), Audit: reg})
	if err != nil {
		t.Fatal(err)
	}
	p, err := portal.New(portal.Config{Accounts: acc})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := recall.New(recall.Config{Registry: reg, Accounts: acc, Forecaster: fc, Now: func() time.Time { return today }, FamiliesPerPage: perPage})
	if err != nil {
		t.Fatal(err)
	}
	pages.Mount(p)
	f := &fixture{t: t, srv: httptest.NewServer(p), reg: reg, tokens: map[string]string{}, csrf: map[string]string{}, orgs: map[string]int64{}}
	t.Cleanup(f.srv.Close)
	for k, o := range map[string]accounts.Organization{
		"program": {Kind: accounts.Program, Name: "State Program"},
		"clinicA": {Kind: accounts.Clinic, Name: "Riverside Pediatrics", FacilityID: "CLINIC_A"},
		"clinicB": {Kind: accounts.Clinic, Name: "Hilltop Family Practice", FacilityID: "CLINIC_B"},
		"clinicC": {Kind: accounts.Clinic, Name: "New Clinic"},
		"school":  {Kind: accounts.School, Name: "Lincoln Elementary"},
	} {
		if f.orgs[k], err = acc.CreateOrganization(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct {
		name, org string
		role      accounts.Role
	}{{"staff", "program", accounts.ProgramStaff}, {"ann", "clinicA", accounts.ClinicUser}, {"nina", "school", accounts.SchoolNurse}} {
		id, err := acc.CreateUser(ctx, accounts.NewUser{Username: u.name, FullName: u.name, Email: u.name + "@example.org", OrgID: f.orgs[u.org], Role: u.role})
		if err != nil {
			t.Fatal(err)
		}
		usr, _ := acc.User(ctx, id)
		if u.role.TOTPRequired() {
			e, _ := acc.BeginTOTP(ctx, usr)
			code, _ := totp.GenerateCode(e.Secret, time.Now())
			if err := acc.ConfirmTOTP(ctx, usr, code, "127.0.0.1"); err != nil {
				t.Fatal(err)
			}
		}
		tok, ss, err := acc.StartSession(ctx, usr, true, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[u.name], f.csrf[u.name] = tok, ss.CSRF
	}
	return f
}

var validator = immz.New(immz.Config{Now: func() time.Time { return today }})

func (f *fixture) report(fac, ctl, given, family, dob string, doses ...string) int64 {
	f.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|20250101120000||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, ctl)
	fmt.Fprintf(&b, "PID|1||%s-MRN^^^%s^MR||%s^%s^^^^^L|Smith^^^^^^M|%s|F|||1 Main St^^Hartford^CT^06101^USA^P\r", ctl, fac, family, given, dob)
	fmt.Fprintf(&b, "NK1|1|%s^Maria^^^^^L|MTH^Mother^HL70063\r", family)
	for i, d := range doses {
		cvx, date, _ := strings.Cut(d, ":")
		fmt.Fprintf(&b, "ORC|RE||%s-%d^%s\r", ctl, i+1, fac)
		fmt.Fprintf(&b, "RXA|0|1|%s||%s^vaccine^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||L%d||MSD^Merck^MVX|||CP|A\r", date, cvx, i)
	}
	raw := []byte(b.String())
	res := validator.Decode(raw)
	if res.VXU == nil {
		f.t.Fatalf("not an accepted VXU: %+v", res.Issues)
	}
	m := &registry.Message{Kind: "vxu", Facility: fac, ControlID: ctl, Type: "VXU", Ack: "AA", Transport: "mllp", Received: time.Now(), Raw: raw, Decoded: res}
	var out registry.Result
	if err := pgx.BeginFunc(context.Background(), f.reg.Pool(), func(tx pgx.Tx) error {
		rs, err := f.reg.ApplyBulk(context.Background(), tx, []*registry.Message{m})
		if err == nil {
			out = rs[0]
		}
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return out.PatientID
}

func (f *fixture) do(user, method, path string, form url.Values) (int, string) {
	f.t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		form.Set("csrf", f.csrf[user])
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, body)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", f.srv.URL)
	}
	req.AddCookie(&http.Cookie{Name: "iis_session", Value: f.tokens[user]})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Who may run reminder/recall for which clinic, and the clear message a
// bad parameter gets.
func TestPages(t *testing.T) {
	f := newFixture(t, 0)
	ada := f.report("CLINIC_A", "m1", "Ada", "Lovelace", "20240110", "20:20240310")
	eve := f.report("CLINIC_A", "m2", "Eve", "Moved", "20240110", "20:20240310")
	// Clinic A marks Eve moved or gone elsewhere on its coverage report.
	if err := f.reg.MarkMovedOrGoneElsewhere(context.Background(), eve, "CLINIC_A", "user:ann"); err != nil {
		t.Fatal(err)
	}
	f.report("CLINIC_B", "m3", "Ben", "Okafor", "20240110", "20:20240310")
	a, b, c := f.orgs["clinicA"], f.orgs["clinicB"], f.orgs["clinicC"]
	for _, tc := range []struct {
		user, path string
		status     int
		want, not  string
	}{
		{"ann", "/recall?by=2025-03-01", 200, "Ada Lovelace", "Ben Okafor"},
		{"ann", "/recall?by=2025-03-01", 200, "1 moved or gone elsewhere", "Eve Moved"},
		{"ann", fmt.Sprintf("/recall?by=2025-03-01&clinic=%d", a), 200, "Ada Lovelace", ""},
		{"ann", fmt.Sprintf("/recall?by=2025-03-01&clinic=%d", b), 403, "your own clinic only", "Ben Okafor"},
		{"ann", "/recall/list.csv?by=2025-03-01", 200, "Lovelace,Ada", "Okafor"},
		{"ann", fmt.Sprintf("/recall/list.csv?by=2025-03-01&clinic=%d", b), 403, "your own clinic only", "Okafor"},
		{"staff", fmt.Sprintf("/recall?by=2025-03-01&clinic=%d", b), 200, "Ben Okafor", "Ada Lovelace"},
		{"staff", "/recall?by=2025-03-01", 400, "choose a clinic", ""},
		{"staff", fmt.Sprintf("/recall?by=2025-03-01&clinic=%d", c), 400, "has no facility id", ""},
		{"staff", fmt.Sprintf("/recall?by=2025-03-01&clinic=%d", f.orgs["school"]), 400, "no such clinic", ""},
		{"nina", "/recall?by=2025-03-01", 403, "may not run reminder/recall", "Ada"},
		{"nina", "/recall/letters.pdf?by=2025-03-01", 403, "may not run reminder/recall", ""},
		{"ann", "/recall?by=2025-02-30", 400, "is not a date", ""},
		{"ann", "/recall?by=", 400, "give the date by which children are due", ""},
		{"ann", "/recall?by=2025-03-01&group=Measles", 400, "&#34;Measles&#34; is not a vaccine group", ""},
		{"ann", "/recall?by=2025-03-01&age_min=24&age_max=12", 400, "age range", ""},
		{"ann", "/recall?by=2025-03-01&age_min=0&age_max=6", 200, "0 children due", "Ada Lovelace"},
		{"ann", "/recall?by=2025-03-01&age_min=12&age_max=23", 200, "Ada Lovelace", ""},
		{"ann", "/recall?by=2025-03-01&born_from=2025-01-01&born_to=2024-01-01", 400, "after the latest", ""},
		{"ann", "/recall?by=2025-03-01&page=0", 400, "page number", ""},
		{"ann", "/recall?by=2025-03-01&page=1", 200, "Ada Lovelace", "Page 1 of"},
		{"ann", "/recall/letters.pdf?by=2025-03-01&lang=fr", 400, "English (en), Spanish (es) or each family", ""},
		{"ann", "/recall/letters.pdf?by=2025-03-01&lang=es", 200, "%PDF-", ""},
		{"ann", "/recall/labels.pdf?by=2025-03-01", 200, "%PDF-", ""},
	} {
		status, body := f.do(tc.user, "GET", tc.path, nil)
		if status != tc.status || !strings.Contains(body, tc.want) || tc.not != "" && strings.Contains(body, tc.not) {
			t.Errorf("%s %s: %d, want %d with %q and without %q:\n%.1500s", tc.user, tc.path, status, tc.status, tc.want, tc.not, body)
		}
	}

	// Contacts: for the clinic's own children only.
	for _, tc := range []struct {
		user   string
		form   url.Values
		status int
	}{
		{"ann", url.Values{"patient": {fmt.Sprint(ada)}, "method": {"phone"}, "on": {"2025-03-01"}, "back": {"by=2025-03-01"}}, http.StatusSeeOther},
		{"ann", url.Values{"patient": {fmt.Sprint(ada)}, "method": {"pigeon"}, "on": {"2025-03-01"}}, http.StatusBadRequest},
		{"ann", url.Values{"patient": {fmt.Sprint(ada)}, "method": {"phone"}}, http.StatusBadRequest},
		{"ann", url.Values{"patient": {fmt.Sprint(ada)}, "method": {"phone"}, "on": {"2025-03-01"}, "clinic": {fmt.Sprint(b)}}, http.StatusForbidden},
		{"staff", url.Values{"patient": {fmt.Sprint(ada)}, "method": {"phone"}, "on": {"2025-03-01"}, "clinic": {fmt.Sprint(b)}}, http.StatusForbidden},
		{"nina", url.Values{"patient": {fmt.Sprint(ada)}, "method": {"phone"}, "on": {"2025-03-01"}}, http.StatusForbidden},
	} {
		if status, body := f.do(tc.user, "POST", "/recall/contact", tc.form); status != tc.status {
			t.Errorf("%s contact %v: %d, want %d: %.300s", tc.user, tc.form, status, tc.status, body)
		}
	}
	if _, body := f.do("ann", "GET", "/recall?by=2025-03-01", nil); !strings.Contains(body, "reminded once, no visit") {
		t.Errorf("after a contact the list lacks it:\n%s", body)
	}
	var runs int
	f.reg.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'recall-run'`).Scan(&runs)
	if runs != 11 {
		t.Errorf("%d runs audited, want 11 (every run that produced a list or a file)", runs)
	}
	var disclosed, toProgram int
	f.reg.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'disclose' AND patient_id = $1 AND actor = 'facility:CLINIC_A' AND detail LIKE 'Reminder/recall%'`, ada).Scan(&disclosed)
	f.reg.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'disclose' AND actor = 'facility:State Program' AND detail LIKE 'Reminder/recall list%'`).Scan(&toProgram)
	if disclosed != 9 || toProgram != 1 {
		t.Errorf("Ada disclosed to her clinic %d times (want 9: the runs listing her), Ben to the program %d (want 1)", disclosed, toProgram)
	}
}

// The list shows a page of families at a time; a contact brings the user
// back to the same page; the downloads have every family.
func TestListPages(t *testing.T) {
	f := newFixture(t, 1)
	f.report("CLINIC_A", "m1", "Ada", "Lovelace", "20240110", "20:20240310")
	dan := f.report("CLINIC_A", "m2", "Dan", "Moss", "20240110", "20:20240310")
	status, body := f.do("ann", "GET", "/recall?by=2025-03-01", nil)
	if status != 200 || !strings.Contains(body, "Ada Lovelace") || strings.Contains(body, "Dan Moss") || !strings.Contains(body, "Page 1 of 2") ||
		!strings.Contains(body, `href="/recall?by=2025-03-01&amp;page=2"`) {
		t.Fatalf("page 1: %d\n%s", status, body)
	}
	status, body = f.do("ann", "GET", "/recall?by=2025-03-01&page=2", nil)
	if status != 200 || strings.Contains(body, "Ada Lovelace") || !strings.Contains(body, "Dan Moss") || !strings.Contains(body, "Page 2 of 2") ||
		!strings.Contains(body, `name="back" value="by=2025-03-01&amp;page=2"`) {
		t.Fatalf("page 2: %d\n%s", status, body)
	}
	status, body = f.do("ann", "POST", "/recall/contact", url.Values{"patient": {fmt.Sprint(dan)}, "method": {"text"}, "on": {"2025-03-01"}, "back": {"by=2025-03-01&page=2"}})
	if status != http.StatusSeeOther {
		t.Fatalf("contact: %d %s", status, body)
	}
	if _, csv := f.do("ann", "GET", "/recall/list.csv?by=2025-03-01&page=2", nil); !strings.Contains(csv, "Lovelace") || !strings.Contains(csv, "Moss") {
		t.Errorf("the CSV lacks a family:\n%s", csv)
	}
}

// The page is on the portal's layout: the user's own navigation, with
// Reminder/recall current, and the sign-out form, a refused user's too.
func TestLayout(t *testing.T) {
	f := newFixture(t, 0)
	for _, tc := range []struct {
		user      string
		status    int
		want, not []string
	}{
		{"ann", 200, []string{`id="nav-recall" aria-current="page"`, `id="nav-coverage"`, `id="whoami"`, `id="signout"`, `id="recallform"`}, nil},
		{"nina", 403, []string{`id="whoami"`, `id="signout"`, `href="/certificates"`, "may not run reminder/recall"}, []string{`id="recallform"`, `href="/patients"`}},
	} {
		status, body := f.do(tc.user, "GET", "/recall", nil)
		if status != tc.status || strings.Count(body, "<html") != 1 {
			t.Errorf("%s: %d, want %d, one document:\n%.1500s", tc.user, status, tc.status, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %s:\n%.1500s", tc.user, w, body)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(body, n) {
				t.Errorf("%s: has %s:\n%.1500s", tc.user, n, body)
			}
		}
	}
}
