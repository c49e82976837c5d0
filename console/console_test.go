package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iisproject/iis/console"
	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

type env struct {
	srv    *httptest.Server
	store  *registry.Store
	dir    *facility.Directory
	resent []string
	notice atomic.Value // the string Config.Notice returns
}

// newEnv serves a console over a registry holding a few messages: an
// accepted one, one rejected at MSH-11, two with RXA-17 missing from
// CLINIC A and one from CLINIC B.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	dir, err := facility.Open(ctx, st.Pool(), immz.Config{ProcessingIDs: []string{"P"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: st, dir: dir}
	c, err := console.New(console.Config{
		Messages: st, Patients: st, Audit: st, Facilities: dir, Reviews: st, Auth: testUsers,
		Resend: func(ctx context.Context, facility, operator string, msg []byte) []byte {
			e.resent = append(e.resent, facility+"/"+operator)
			return []byte("MSH|^~\\&|IIS|IIS|X|Y|20260101||ACK^V04^ACK|1|P|2.5.1\rMSA|AA|X\r")
		},
		Notice: func() string { s, _ := e.notice.Load().(string); return s },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(c)
	t.Cleanup(e.srv.Close)
	now := time.Now()
	rows := []struct {
		fac, ctl, typ, kind, ack string
		issues                   []string
		ago                      time.Duration
	}{
		{"CLINIC A", "OK-1", "VXU", "vxu", "AA", nil, time.Hour},
		{"CLINIC A", "T-1", "VXU", "rejected", "AR", []string{"E:202:0:MSH-11"}, 50 * time.Minute},
		{"CLINIC A", "LOT-1", "VXU", "vxu", "AE", []string{"E:101:6:RXA-17", "W:103:3:RXA-9"}, 40 * time.Minute},
		{"CLINIC A", "LOT-2", "VXU", "vxu", "AE", []string{"E:101:6:RXA-17"}, 30 * time.Minute},
		{"CLINIC B", "LOT-1", "VXU", "vxu", "AE", []string{"E:101:6:RXA-17"}, 20 * time.Minute},
	}
	for _, r := range rows {
		ack := "MSH|^~\\&|IIS|IIS|EHR|" + r.fac + "|20260101||ACK^V04^ACK|A" + r.ctl + "|P|2.5.1\rMSA|" + r.ack + "|" + r.ctl + "\r"
		if len(r.issues) > 0 {
			ack += "ERR||RXA^1^17^1^1|101^Required field missing^HL70357|E|6^Required observation missing^HL70533|||RXA-17 (manufacturer) is required\r"
		}
		if _, err := st.Pool().Exec(ctx, `WITH ins AS (INSERT INTO source_reports (facility, control_id, message_type, kind, ack_code, transport,
			received_at, raw_digest, issues) VALUES ($1, $2, $3, $4, $5, 'mllp', $6, sha256($7), $8) RETURNING id, received_at, kind)
			INSERT INTO message_bodies (report_id, received_at, kind, raw, ack) SELECT id, received_at, kind, $7, $9 FROM ins`,
			r.fac, r.ctl, r.typ, r.kind, r.ack, now.Add(-r.ago), []byte("MSH|^~\\&|EHR|"+r.fac+"|IIS|IIS|20260101||VXU^V04^VXU_V04|"+r.ctl+"|P|2.5.1\rPID|1||123^^^A^MR||Doe^Jane\r"),
			nonNil(r.issues), []byte(ack)); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// client is a browser: a cookie jar, redirects followed, Origin set on
// POSTs as a browser does.
func (e *env) client(testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: originTransport{e.srv.URL}}
}

type originTransport struct{ origin string }

func (o originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.Header.Get("Origin") == "" {
		r.Header.Set("Origin", o.origin)
	}
	return http.DefaultTransport.RoundTrip(r)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func get(t testing.TB, c *http.Client, u string) (int, string) {
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t testing.TB, c *http.Client, u string, form url.Values) (int, string) {
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// setUser signs c in as user (see testUsers).
func (e *env) setUser(c *http.Client, user string) {
	u, _ := url.Parse(e.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "test_session", Value: user, Path: "/"}})
}

// login signs in and returns the session's CSRF token, read from a page.
func (e *env) login(t testing.TB, c *http.Client, user string) string {
	e.setUser(c, user)
	code, body := get(t, c, e.srv.URL+"/console/messages")
	if code != 200 || !strings.Contains(body, user) {
		t.Fatalf("console as %s: %d %s", user, code, body)
	}
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the page after sign-in")
	}
	return m[1]
}

func TestCSRFAndRoles(t *testing.T) {
	e := newEnv(t)
	viewer := e.client(t)
	vtok := e.login(t, viewer, "vera")
	var id int64
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT id FROM source_reports WHERE control_id = 'T-1'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	resendURL := e.srv.URL + "/console/messages/" + strconv.FormatInt(id, 10) + "/resend"
	// A viewer may look but not resend.
	if code, body := get(t, viewer, e.srv.URL+"/console/messages/"+strconv.FormatInt(id, 10)); code != 200 || strings.Contains(body, `id="resend"`) {
		t.Errorf("viewer's message page: %d, resend button shown: %v", code, strings.Contains(body, `id="resend"`))
	}
	if code, _ := post(t, viewer, resendURL, url.Values{"csrf": {vtok}}); code != http.StatusForbidden {
		t.Errorf("viewer resend: %d, want 403", code)
	}
	eng := e.client(t)
	etok := e.login(t, eng, "ed")
	// No token, another session's token, or a cross-site Origin: refused.
	for name, r := range map[string]*http.Request{
		"no token":      form(resendURL, "", e.srv.URL),
		"viewer token":  form(resendURL, vtok, e.srv.URL),
		"foreign site":  form(resendURL, etok, "https://evil.example"),
		"right, origin": form(resendURL, etok, e.srv.URL),
	} {
		resp, err := eng.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusForbidden
		if name == "right, origin" {
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, want)
		}
	}
	if len(e.resent) != 1 || e.resent[0] != "CLINIC A/ed" {
		t.Errorf("resends = %q, want one by ed for CLINIC A", e.resent)
	}
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE report_id = $1 AND action = 'resend' AND actor = 'console:ed'`, id).Scan(&n); err != nil || n != 1 {
		t.Errorf("resend audit rows = %d (%v)", n, err)
	}
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE report_id = $1 AND action = 'console-view' AND actor = 'console:vera'`, id).Scan(&n); err != nil || n != 1 {
		t.Errorf("view audit rows = %d (%v)", n, err)
	}
}

func form(u, tok, origin string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(url.Values{"csrf": {tok}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", origin)
	return r
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		query string
		want  []string // facility/control, newest first
	}{
		{"all", "", []string{"CLINIC B/LOT-1", "CLINIC A/LOT-2", "CLINIC A/LOT-1", "CLINIC A/T-1", "CLINIC A/OK-1"}},
		{"facility", "facility=CLINIC+A", []string{"CLINIC A/LOT-2", "CLINIC A/LOT-1", "CLINIC A/T-1", "CLINIC A/OK-1"}},
		{"MSH-10", "control_id=LOT-1", []string{"CLINIC B/LOT-1", "CLINIC A/LOT-1"}},
		{"ACK", "ack=ar", []string{"CLINIC A/T-1"}},
		{"ERR code", "err=101", []string{"CLINIC B/LOT-1", "CLINIC A/LOT-2", "CLINIC A/LOT-1"}},
		{"warning code", "err=103", []string{"CLINIC A/LOT-1"}},
		{"facility and ERR code", "facility=CLINIC+A&err=202", []string{"CLINIC A/T-1"}},
		{"nothing", "control_id=NOPE", nil},
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.query)
		f, bad := console.ParseFilter(q)
		if len(bad) > 0 {
			t.Fatalf("%s: %v", c.name, bad)
		}
		rows, _, err := console.Search(ctx, e.store, f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.Facility+"/"+r.ControlID)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if _, bad := console.ParseFilter(url.Values{"err": {"x"}, "dob": {"2020-01-01"}, "from": {"yesterday"}}); len(bad) != 3 {
		t.Errorf("bad filters reported: %q", bad)
	}
}

func TestErrorGroups(t *testing.T) {
	e := newEnv(t)
	groups, err := console.ErrorGroups(context.Background(), e.store, time.Now().Add(-24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups {
		got = append(got, g.Facility+" "+g.Position+" "+g.Code+" x"+strconv.Itoa(g.Messages))
	}
	want := []string{"CLINIC A RXA-17 101 x2", "CLINIC A MSH-11 202 x1", "CLINIC B RXA-17 101 x1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("groups %q, want %q", got, want)
	}
	if groups[0].CodeText == "" || groups[0].AppText == "" {
		t.Errorf("group without code names: %+v", groups[0])
	}
	// A rejected message replaced by its accepted correction leaves the
	// error counts (message_errors follows source_reports.issues).
	if _, err := e.store.Pool().Exec(context.Background(), `UPDATE source_reports SET issues = '{}', ack_code = 'AA', kind = 'vxu'
		WHERE control_id = 'T-1'`); err != nil {
		t.Fatal(err)
	}
	groups, err = console.ErrorGroups(context.Background(), e.store, time.Now().Add(-24*time.Hour), "CLINIC A")
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Code != "101" {
		t.Errorf("after the correction: %+v", groups)
	}
}

func TestFacilitySettingsChangeValidation(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	tok := e.login(t, c, "ed")
	code, body := post(t, c, e.srv.URL+"/console/facilities", url.Values{"csrf": {tok}, "facility": {"NEWCLINIC"}, "processing_id": {"P", "T"}, "note": {"onboarding"}})
	if code != 200 || !strings.Contains(body, "NEWCLINIC") || !strings.Contains(body, "P, T") {
		t.Fatalf("save: %d %s", code, body)
	}
	if code, _ := post(t, c, e.srv.URL+"/console/facilities", url.Values{"csrf": {tok}, "facility": {"X"}, "processing_id": {"Z"}}); code != http.StatusBadRequest {
		t.Errorf("processing ID Z accepted: %d", code)
	}
	// The new settings apply at once: NEWCLINIC's T messages pass MSH-11,
	// other facilities' do not.
	msg := []byte("MSH|^~\\&|EHR|NEWCLINIC|IIS|IIS|20260101||VXU^V04^VXU_V04|1|T|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r")
	v := e.dir.Validator("NEWCLINIC")
	if v == nil {
		t.Fatal("no validator for NEWCLINIC after saving its settings")
	}
	for _, is := range v.Decode(msg).Issues {
		if is.Code == immz.CodeUnsupportedProcID {
			t.Errorf("NEWCLINIC's T rejected: %s", is.Message)
		}
	}
	if e.dir.Validator("CLINIC A") != nil {
		t.Error("a facility without settings got its own validator")
	}
}

func TestReviewQueue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids [4]int64
	for i, p := range []struct{ fam, given, dob string }{{"Rivera", "Ana", "2024-01-02"}, {"Rivera", "Anna", "2024-01-02"}, {"Okafor", "Chidi", "2023-05-06"}, {"Okafor", "Chidi", "2023-06-05"}} {
		if err := e.store.Pool().QueryRow(ctx, `INSERT INTO patients (family_name, given_name, birth_date, sex) VALUES ($1, $2, $3, 'F') RETURNING id`,
			p.fam, p.given, p.dob).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	var r1, r2 int64
	if err := e.store.Pool().QueryRow(ctx, `INSERT INTO match_reviews (patient_id, candidate_id, score, reason) VALUES ($1, $2, 30, 'first name nickname') RETURNING id`, ids[1], ids[0]).Scan(&r1); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Pool().QueryRow(ctx, `INSERT INTO match_reviews (patient_id, candidate_id, score, reason) VALUES ($1, $2, 28, 'day and month swapped') RETURNING id`, ids[3], ids[2]).Scan(&r2); err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	tok := e.login(t, c, "ed")
	code, body := get(t, c, e.srv.URL+"/console/reviews")
	if code != 200 || !strings.Contains(body, "Rivera, Anna") || !strings.Contains(body, "Okafor, Chidi") || !strings.Contains(body, "2023-06-05") {
		t.Fatalf("review queue: %d %s", code, body)
	}
	if code, _ := post(t, c, e.srv.URL+"/console/reviews/"+strconv.FormatInt(r1, 10), url.Values{"csrf": {tok}, "decision": {"linked"}}); code != 200 {
		t.Fatalf("link: %d", code)
	}
	if code, _ := post(t, c, e.srv.URL+"/console/reviews/"+strconv.FormatInt(r2, 10), url.Values{"csrf": {tok}, "decision": {"distinct"}}); code != 200 {
		t.Fatalf("distinct: %d", code)
	}
	if code, _ := post(t, c, e.srv.URL+"/console/reviews/"+strconv.FormatInt(r2, 10), url.Values{"csrf": {tok}, "decision": {"linked"}}); code != http.StatusConflict {
		t.Errorf("second decision on a closed review: %d, want 409", code)
	}
	var merged *int64
	var s1, s2, by string
	if err := e.store.Pool().QueryRow(ctx, `SELECT p.merged_into, r1.status, r2.status, r1.decided_by FROM patients p, match_reviews r1, match_reviews r2
		WHERE p.id = $1 AND r1.id = $2 AND r2.id = $3`, ids[1], r1, r2).Scan(&merged, &s1, &s2, &by); err != nil {
		t.Fatal(err)
	}
	if merged == nil || *merged != ids[0] || s1 != "linked" || s2 != "distinct" || by != "console:ed" {
		t.Errorf("after decisions: merged into %v, statuses %s/%s by %s", merged, s1, s2, by)
	}
	if _, body := get(t, c, e.srv.URL+"/console/reviews"); strings.Contains(body, "Rivera") {
		t.Error("decided reviews still listed")
	}
	// The merge can be undone from the patient's page.
	_, body = get(t, c, e.srv.URL+"/console/patients/"+strconv.FormatInt(ids[1], 10))
	m := regexp.MustCompile(`action="/console/links/(\d+)/undo"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no undo button on the merged patient's page: %s", body)
	}
	if code, body := post(t, c, e.srv.URL+"/console/links/"+m[1]+"/undo", url.Values{"csrf": {tok}}); code != 200 || !strings.Contains(body, "separate records again") {
		t.Fatalf("undo: %d %s", code, body)
	}
	if err := e.store.Pool().QueryRow(ctx, `SELECT merged_into FROM patients WHERE id = $1`, ids[1]).Scan(&merged); err != nil || merged != nil {
		t.Errorf("after undo merged_into = %v (%v)", merged, err)
	}
}
