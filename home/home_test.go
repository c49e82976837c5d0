package home_test

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

	"github.com/pquerna/otp/totp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/certificate"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/home"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// fixture is a registry with the people's pages and the Immunization Home
// served by httptest, a signed-in user of each role, and patients.
type fixture struct {
	t     *testing.T
	srv   *httptest.Server
	reg   *registry.Store
	acc   *accounts.Store
	users map[string]session
	orgs  map[string]int64
	// ada was reported by clinic A; ben by clinic B; cal by clinic A and
	// opted out.
	ada, ben, cal int64
}

type session struct {
	user  accounts.User
	token string
	csrf  string
}

var engine = func() *forecast.Engine {
	e, err := forecast.Default()
	if err != nil {
		panic(err)
	}
	return e
}()

var today = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
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
	dir := t.TempDir()
	if _, err := certificate.GenerateKeyFile(dir, today); err != nil {
		t.Fatal(err)
	}
	keys, err := certificate.OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := certificate.NewIssuer(certificate.Config{Keys: keys, IssuerURL: "https://iis.example.org", Registry: "Test Immunization Program"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := home.New(home.Config{Registry: reg, Accounts: acc, Forecaster: engine, Now: func() time.Time { return today },
		Certificates: func() (*certificate.Issuer, error) { return issuer, nil }})
	if err != nil {
		t.Fatal(err)
	}
	h.Mount(p)
	f := &fixture{t: t, srv: httptest.NewServer(p), reg: reg, acc: acc, users: map[string]session{}}
	t.Cleanup(f.srv.Close)
	orgs := map[string]accounts.Organization{
		"program": {Kind: accounts.Program, Name: "State Program"},
		"clinicA": {Kind: accounts.Clinic, Name: "Riverside Pediatrics", FacilityID: "CLINIC_A"},
		"clinicB": {Kind: accounts.Clinic, Name: "Hilltop Family Practice", FacilityID: "CLINIC_B"},
		"school":  {Kind: accounts.School, Name: "Lincoln Elementary"},
	}
	ids := map[string]int64{}
	f.orgs = ids
	for k, o := range orgs {
		if ids[k], err = acc.CreateOrganization(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct {
		name, org string
		role      accounts.Role
	}{
		{"staff", "program", accounts.ProgramStaff}, {"ann", "clinicA", accounts.ClinicUser}, {"bob", "clinicB", accounts.ClinicUser},
		{"nina", "school", accounts.SchoolNurse}, {"eng", "program", accounts.IntegrationEngineer},
	} {
		f.users[u.name] = f.signIn(u.name, ids[u.org], u.role)
	}
	f.ada = f.report("CLINIC_A", "m1", "Ada", "Lovelace", "20230110", "20:20230120", "20:20230310", "20:20230510", "08:20230110")
	f.ben = f.report("CLINIC_B", "m2", "Ben", "Okafor", "20220704", "20:20220904")
	f.cal = f.report("CLINIC_A", "m3", "Cal", "Reyes", "20210202", "03:20220301")
	if err := reg.RecordOptOut(ctx, registry.OptOut{PatientID: f.cal, SignedOn: today.AddDate(0, 0, -3), FormRef: "OPT-1", RecordedBy: "user:ann", OrgID: ids["clinicA"]}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) signIn(username string, org int64, role accounts.Role) session {
	f.t.Helper()
	ctx := context.Background()
	id, err := f.acc.CreateUser(ctx, accounts.NewUser{Username: username, FullName: strings.ToUpper(username[:1]) + username[1:] + " Tester",
		Email: username + "@example.org", OrgID: org, Role: role})
	if err != nil {
		f.t.Fatal(err)
	}
	u, err := f.acc.User(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	if role.TOTPRequired() {
		e, err := f.acc.BeginTOTP(ctx, u)
		if err != nil {
			f.t.Fatal(err)
		}
		code, err := totp.GenerateCode(e.Secret, time.Now())
		if err != nil {
			f.t.Fatal(err)
		}
		if err := f.acc.ConfirmTOTP(ctx, u, code, "127.0.0.1"); err != nil {
			f.t.Fatal(err)
		}
	}
	tok, ss, err := f.acc.StartSession(ctx, u, true, "127.0.0.1")
	if err != nil {
		f.t.Fatal(err)
	}
	return session{user: u, token: tok, csrf: ss.CSRF}
}

var validator = immz.New(immz.Config{Now: func() time.Time { return today }})

// report stores a VXU from facility fac for a child, doses "cvx:date".
func (f *fixture) report(fac, ctl, given, family, dob string, doses ...string) int64 {
	f.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|20250101120000||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, ctl)
	fmt.Fprintf(&b, "PID|1||%s-MRN-%s^^^%s^MR||%s^%s^^^^^L|Smith^^^^^^M|%s|F|||1 Main St^^Hartford^CT^06101^USA^P\r", ctl, given, fac, family, given, dob)
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
	m := &registry.Message{Kind: "vxu", Facility: fac, ControlID: ctl, Type: "VXU", Ack: validator.AckCode(res), Transport: "mllp",
		Received: time.Now(), Raw: raw, Decoded: res}
	out, err := f.reg.ApplyLocked(context.Background(), m)
	if err != nil {
		f.t.Fatal(err)
	}
	return out.PatientID
}

// do sends a request as user (GET, or POST with form values and the
// session's CSRF token) and returns the status and body.
func (f *fixture) do(user, method, path string, form url.Values) (int, string) {
	f.t.Helper()
	s := f.users[user]
	var body io.Reader
	if method == http.MethodPost {
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", s.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(&http.Cookie{Name: "iis_session", Value: s.token})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.reg.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// TestAccess is who opens which record: a clinic its own patients, others
// after a reason; program staff every record, opted-out ones included;
// integration engineers and school nurses no record.
func TestAccess(t *testing.T) {
	f := newFixture(t)
	rec := func(id int64) string { return fmt.Sprintf("/patients/%d", id) }
	for _, tc := range []struct {
		user string
		path string
		want int
	}{
		{"ann", rec(f.ada), 200},
		{"ann", rec(f.ben), 403},
		{"ann", rec(f.cal), 403}, // opted out: even the clinic that reported it
		{"bob", rec(f.ben), 200},
		{"bob", rec(f.ada), 403},
		{"staff", rec(f.ada), 200},
		{"staff", rec(f.cal), 200},
		{"eng", rec(f.ada), 403},
		{"nina", rec(f.ada), 403},
		{"ann", rec(999999), 404},
		{"ann", "/patients/x", 404},
	} {
		if got, body := f.do(tc.user, "GET", tc.path, nil); got != tc.want {
			t.Errorf("%s GET %s: %d, want %d\n%.300s", tc.user, tc.path, got, tc.want, body)
		}
	}
	// The accounts.Relationships the registry's records give.
	rels := accounts.RegistryRelationships{Registry: f.reg, Accounts: f.acc}
	if rel, err := rels.Relationship(context.Background(), f.ada, f.orgs["clinicA"]); err != nil || !rel.Reported || rel.Searched || rel.OptedOut {
		t.Errorf("Ada to clinic A: %+v %v", rel, err)
	}
	if a, err := accounts.PatientAccess(context.Background(), rels, f.users["bob"].user, f.ada, ""); err != nil || a != accounts.NoAccess {
		t.Errorf("bob's access to Ada: %v %v", a, err)
	}
	// Bob finds Ada by exact name and birth date and gives a reason.
	_, body := f.do("bob", "GET", "/patients?family=Lovelace&given=Ada&dob=2023-01-10", nil)
	if !strings.Contains(body, fmt.Sprintf(`action="/patients/%d/reason"`, f.ada)) || strings.Contains(body, fmt.Sprintf(`id="open-%d"`, f.ada)) {
		t.Fatalf("bob's exact search does not offer to open Ada with a reason:\n%s", body)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'disclose' AND patient_id = $1 AND actor = 'facility:CLINIC_B' AND detail LIKE 'search result%'`, f.ada); n != 1 {
		t.Errorf("%d disclosures of the search result to clinic B, want 1", n)
	}
	form := url.Values{"family": {"Lovelace"}, "given": {"Ada"}, "dob": {"2023-01-10"}}
	if got, _ := f.do("bob", "POST", fmt.Sprintf("/patients/%d/reason", f.ada), form); got != 400 {
		t.Errorf("reason without a reason: %d, want 400", got)
	}
	form.Set("reason", "new patient transferring in")
	if got, _ := f.do("bob", "POST", fmt.Sprintf("/patients/%d/reason", f.ben), form); got != 403 {
		t.Errorf("a reason for a record the name and birth date do not lead to: %d, want 403", got)
	}
	if got, _ := f.do("bob", "POST", fmt.Sprintf("/patients/%d/reason", f.ada), form); got != 303 {
		t.Errorf("reason: %d, want 303", got)
	}
	if got, _ := f.do("bob", "GET", rec(f.ada), nil); got != 200 {
		t.Errorf("bob after the reason: %d, want 200", got)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE actor = 'user:bob' AND action = 'search-reason' AND patient_id = $1`, f.ada); n != 1 {
		t.Errorf("%d search-reason audit rows, want 1", n)
	}
}

// TestNurseSeesOnlyCertificates: a school nurse looks a child up by exact
// name and birth date (audited), sees the certificate summary and prints
// the PDF (audited); every other patient page refuses her.
func TestNurseSeesOnlyCertificates(t *testing.T) {
	f := newFixture(t)
	ada := fmt.Sprint(f.ada)
	if got, _ := f.do("nina", "GET", "/certificates/"+ada, nil); got != 403 {
		t.Errorf("certificate before the lookup: %d, want 403", got)
	}
	_, body := f.do("nina", "POST", "/certificates", url.Values{"family": {"lovelace"}, "given": {"ADA"}, "dob": {"2023-01-10"}, "reason": {"Kindergarten entry"}})
	if !strings.Contains(body, `id="certificate-`+ada+`"`) {
		t.Fatalf("lookup did not list Ada:\n%s", body)
	}
	_, body = f.do("nina", "POST", "/certificates", url.Values{"family": {"Reyes"}, "given": {"Cal"}, "dob": {"2021-02-02"}, "reason": {"x"}})
	if !strings.Contains(body, `id="no-hits"`) {
		t.Errorf("an opted-out child was listed to a nurse:\n%s", body)
	}
	if got, body := f.do("nina", "GET", "/certificates/"+ada, nil); got != 200 || !strings.Contains(body, "Ada Lovelace") || !strings.Contains(body, "2023-03-10") {
		t.Errorf("summary: %d\n%s", got, body)
	}
	got, pdf := f.do("nina", "GET", "/certificates/"+ada+"/pdf", nil)
	if got != 200 || !strings.HasPrefix(pdf, "%PDF-") {
		t.Fatalf("PDF: %d %.40q", got, pdf)
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/patients"},
		{"GET", "/patients?family=Lovelace&given=Ada&dob=2023-01-10"},
		{"GET", "/patients/" + ada},
		{"POST", "/patients/" + ada + "/reason"},
		{"GET", "/patients/" + ada + "/opt-out"},
		{"POST", "/patients/" + ada + "/opt-out"},
	} {
		if got, _ := f.do("nina", tc.method, tc.path, url.Values{"reason": {"x"}, "family": {"Lovelace"}, "given": {"Ada"}, "dob": {"2023-01-10"}}); got != 403 {
			t.Errorf("nurse %s %s: %d, want 403", tc.method, tc.path, got)
		}
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE actor = 'user:nina' AND action = 'certificate-print' AND patient_id = $1`, f.ada); n != 1 {
		t.Errorf("%d certificate-print audit rows, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE actor = 'user:nina' AND action = 'certificate-lookup'`); n != 2 {
		t.Errorf("%d lookup audit rows, want 2", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'disclose' AND patient_id = $1 AND actor = 'facility:Lincoln Elementary'`, f.ada); n != 3 {
		t.Errorf("%d disclosures to the school, want 3 (lookup result, summary, PDF)", n)
	}
}

// TestRecordPage: the Immunization Home shows the Recommender, each dose
// by vaccine group with its evaluation and sources, the timeline; the view
// is in the accounting of disclosures.
func TestRecordPage(t *testing.T) {
	f := newFixture(t)
	f.report("CLINIC_B", "m9", "Ada", "Lovelace", "20230110", "20:20230310") // the same DTaP dose again
	got, body := f.do("ann", "GET", fmt.Sprintf("/patients/%d", f.ada), nil)
	if got != 200 {
		t.Fatalf("record: %d\n%s", got, body)
	}
	for _, want := range []string{`id="recommender"`, "DTaP/Tdap/Td", "HepB", "too young", `class="status overdue"`, `<svg`, `class="dose"`,
		"CLINIC_A, VXU over MLLP", "CLINIC_B, VXU over MLLP", "same dose reported again", "Maria Lovelace (mother)", "Not Valid"} {
		if !strings.Contains(body, want) {
			t.Errorf("record lacks %q", want)
		}
	}
	if n := f.count(`SELECT count(*) FROM audit_log WHERE action = 'disclose' AND patient_id = $1 AND actor = 'facility:CLINIC_A'`, f.ada); n != 1 {
		t.Errorf("%d disclosures, want 1", n)
	}
	// Each of the clinic's own reports links to data entry's correction
	// page; the other clinic's report does not.
	if n := strings.Count(body, ">correct or delete</a>"); n != 4 {
		t.Errorf("%d correction links, want 4 (the clinic's own four doses)", n)
	}
}

// TestSearchScope: a clinic's search lists its patients and others only
// by exact name and birth date; opted-out patients only to program staff.
func TestSearchScope(t *testing.T) {
	f := newFixture(t)
	open := func(id int64) string { return fmt.Sprintf(`id="open-%d"`, id) }
	reason := func(id int64) string { return fmt.Sprintf(`id="reason-%d"`, id) }
	for _, tc := range []struct {
		user, query string
		want, lack  []string
	}{
		{"ann", "family=Lovelce&given=Ada&dob=2023-01-10", []string{open(f.ada)}, nil},                    // typo, own patient
		{"ann", "family=Okafor&given=Benjamin&dob=2022-07-04", nil, []string{open(f.ben), reason(f.ben)}}, // nickname, not hers, not exact
		{"ann", "family=Okafor&given=Ben&dob=2022-07-04", []string{reason(f.ben)}, []string{open(f.ben)}},
		{"bob", "family=Okafor&given=Benjamin&dob=2022-07-04", []string{open(f.ben)}, nil},
		{"ann", "family=Reyes&given=Cal&dob=2021-02-02", []string{`id="no-hits"`}, []string{open(f.cal), reason(f.cal)}},
		{"staff", "family=Reyes&given=Cal&dob=2021-02-02", []string{open(f.cal), "opted out"}, nil},
		{"ann", "identifier=m1-MRN-Ada", []string{open(f.ada)}, nil},
	} {
		got, body := f.do(tc.user, "GET", "/patients?"+tc.query, nil)
		if got != 200 {
			t.Errorf("%s %s: %d", tc.user, tc.query, got)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s: lacks %s", tc.user, tc.query, w)
			}
		}
		for _, l := range tc.lack {
			if strings.Contains(body, l) {
				t.Errorf("%s %s: shows %s", tc.user, tc.query, l)
			}
		}
	}
}

// TestOptOutPages: a clinic user records an opt-out and loses the record;
// program staff see it and reverse it.
func TestOptOutPages(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/patients/%d/opt-out", f.ada)
	if got, _ := f.do("ann", "POST", path, url.Values{"signed_on": {"2025-02-27"}}); got != 400 {
		t.Errorf("opt-out without the form's reference: %d, want 400", got)
	}
	if got, _ := f.do("ann", "POST", path, url.Values{"signed_on": {"2025-02-27"}, "form_ref": {"SCAN-12"}}); got != 303 {
		t.Fatalf("opt-out: %d, want 303", got)
	}
	if got, _ := f.do("ann", "GET", fmt.Sprintf("/patients/%d", f.ada), nil); got != 403 {
		t.Errorf("clinic after the opt-out: %d, want 403", got)
	}
	if got, body := f.do("staff", "GET", fmt.Sprintf("/patients/%d", f.ada), nil); got != 200 || !strings.Contains(body, "SCAN-12") {
		t.Errorf("program staff after the opt-out: %d", got)
	}
	if got, _ := f.do("staff", "POST", path, url.Values{"kind": {"reversal"}, "signed_on": {"2025-02-28"}, "form_ref": {"SCAN-13"}}); got != 303 {
		t.Fatalf("reversal: %d", got)
	}
	if got, _ := f.do("ann", "GET", fmt.Sprintf("/patients/%d", f.ada), nil); got != 200 {
		t.Errorf("clinic after the reversal: %d, want 200", got)
	}
}
