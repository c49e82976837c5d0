package portal

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
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/soap"
)

type site struct {
	srv   *httptest.Server
	acc   *accounts.Store
	mu    sync.Mutex
	now   time.Time
	users map[accounts.Role]accounts.User
}

func (s *site) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *site) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// newSite serves the pages over a fresh database with one user of each
// role at the program, a clinic and a school; program users have an
// authenticator unless bare.
func newSite(t *testing.T) *site {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := registry.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s := &site{now: time.Now(), users: map[accounts.Role]accounts.User{}}
	acc, err := accounts.New(accounts.Config{Pool: pool, Audit: registry.New(pool, registry.Config{}), Now: s.clock})
	if err != nil {
		t.Fatal(err)
	}
	s.acc = acc
	hash, err := soap.HashPassword("a long test password")
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.Bootstrap(ctx, accounts.Bootstrap{Program: "DPH", AdminUsername: "admin", AdminPasswordHash: hash,
		Organizations: []accounts.Organization{{Kind: accounts.Clinic, Name: "Elm", FacilityID: "ELM"}, {Kind: accounts.School, Name: "Lincoln"}}}); err != nil {
		t.Fatal(err)
	}
	orgs, _ := acc.Organizations(ctx)
	byKind := map[accounts.OrgKind]int64{}
	for _, o := range orgs {
		byKind[o.Kind] = o.ID
	}
	for _, r := range accounts.Roles {
		name := string(r)
		if r == accounts.ProgramAdmin {
			name = "admin"
		} else {
			nu := accounts.NewUser{Username: name, FullName: name, Email: name + "@example.org", OrgID: byKind[r.OrgKind()], Role: r, PasswordHash: hash}
			if r == accounts.VaccineCoordinator {
				nu.Coordinator = accounts.Primary
			}
			if _, err := acc.CreateUser(ctx, nu); err != nil {
				t.Fatal(err)
			}
		}
		u, err := acc.UserByUsername(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if r.TOTPRequired() {
			e, err := acc.BeginTOTP(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			code, _ := totp.GenerateCode(e.Secret, s.clock())
			if err := acc.ConfirmTOTP(ctx, u, code, "test"); err != nil {
				t.Fatal(err)
			}
			u, _ = acc.User(ctx, u.ID)
		}
		s.users[r] = u
	}
	p, err := New(Config{Accounts: acc})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(p)
	p.SetPublicURL(s.srv.URL)
	t.Cleanup(s.srv.Close)
	return s
}

// client is a browser without redirects followed, signed in as role (or
// anonymous if role is empty).
type client struct {
	t    *testing.T
	site *site
	c    *http.Client
	csrf string
}

func (s *site) client(t *testing.T, role accounts.Role) *client {
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, site: s, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if role != "" {
		tok, ss, err := s.acc.StartSession(context.Background(), s.users[role], true, "test")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(s.srv.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: tok, Path: "/"}})
		c.csrf = ss.CSRF
	}
	return c
}

var tokenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(method, path string, form url.Values, origin string) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.site.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// formToken loads an anonymous form and returns its token.
func (c *client) formToken(path string) string {
	_, body := c.do("GET", path, nil, "")
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no token in %s", path)
	}
	return m[1]
}

func TestSecurityHeaders(t *testing.T) {
	s := newSite(t)
	resp, _ := s.client(t, "").do("GET", "/signin", nil, "")
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
		"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
	} {
		if got := resp.Header.Get(k); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if ck := resp.Header.Get("Set-Cookie"); !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") {
		t.Errorf("form cookie %q", ck)
	}
}

func TestFormsNeedTokenAndOrigin(t *testing.T) {
	s := newSite(t)
	anon := s.client(t, "")
	tok := anon.formToken("/signin")
	signin := url.Values{"username": {"admin"}, "password": {"a long test password"}, "next": {"/"}}
	with := func(v url.Values, k, val string) url.Values {
		out := url.Values{}
		for a, b := range v {
			out[a] = b
		}
		out.Set(k, val)
		return out
	}
	staff := s.client(t, accounts.ProgramStaff)
	tests := []struct {
		name   string
		c      *client
		path   string
		form   url.Values
		origin string
		want   int
	}{
		{"sign-in without token", anon, "/signin", signin, "", http.StatusForbidden},
		{"sign-in with a wrong token", anon, "/signin", with(signin, "csrf", "forged"), "", http.StatusForbidden},
		{"sign-in from another site", anon, "/signin", with(signin, "csrf", tok), "https://evil.example", http.StatusForbidden},
		{"request without token", anon, "/request-account", url.Values{"name": {"x"}}, "", http.StatusForbidden},
		{"decision without token", staff, "/admin/requests/1", url.Values{"decision": {"deny"}, "reason": {"x"}}, "", http.StatusForbidden},
		{"decision from another site", staff, "/admin/requests/1", url.Values{"decision": {"deny"}, "reason": {"x"}, "csrf": {staff.csrf}}, "https://evil.example", http.StatusForbidden},
		{"decision with token, same site", staff, "/admin/requests/1", url.Values{"decision": {"deny"}, "reason": {"x"}, "csrf": {staff.csrf}}, s.srv.URL, http.StatusConflict},
		{"sign-out without token", staff, "/signout", url.Values{}, "", http.StatusForbidden},
	}
	for _, tc := range tests {
		if resp, body := tc.c.do("POST", tc.path, tc.form, tc.origin); resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d (%.200s)", tc.name, resp.StatusCode, tc.want, body)
		}
	}
	// The right token from this site signs in; the program administrator
	// (with an authenticator) is asked for the code next.
	anon2 := s.client(t, "")
	resp, _ := anon2.do("POST", "/signin", with(signin, "csrf", anon2.formToken("/signin")), s.srv.URL)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin/code") {
		t.Errorf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := anon2.do("GET", "/admin/users", nil, ""); resp.Header.Get("Location") != "/signin/code" {
		t.Errorf("a page before the code: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRoleGates(t *testing.T) {
	s := newSite(t)
	pages := []string{"/", "/admin/requests", "/admin/users", "/admin/organizations", "/admin/outbox"}
	want := map[accounts.Role][]int{
		accounts.ProgramAdmin:        {200, 200, 200, 200, 200},
		accounts.ProgramStaff:        {200, 200, 200, 403, 403},
		accounts.ClinicUser:          {200, 403, 403, 403, 403},
		accounts.VaccineCoordinator:  {200, 403, 403, 403, 403},
		accounts.SchoolNurse:         {200, 403, 403, 403, 403},
		accounts.IntegrationEngineer: {200, 403, 403, 403, 403},
		"":                           {303, 303, 303, 303, 303},
	}
	for role, codes := range want {
		c := s.client(t, role)
		for i, p := range pages {
			if resp, _ := c.do("GET", p, nil, ""); resp.StatusCode != codes[i] {
				t.Errorf("%q GET %s: %d, want %d", role, p, resp.StatusCode, codes[i])
			}
		}
	}
	// A program role without an authenticator is sent to enrol first.
	ctx := context.Background()
	orgs, _ := s.acc.Organizations(ctx, accounts.Program)
	id, err := s.acc.CreateUser(ctx, accounts.NewUser{Username: "newstaff", FullName: "New Staff", OrgID: orgs[0].ID, Role: accounts.ProgramStaff})
	if err != nil {
		t.Fatal(err)
	}
	s.users["newstaff"], _ = s.acc.User(ctx, id)
	c := s.client(t, "newstaff")
	for _, p := range pages {
		if resp, _ := c.do("GET", p, nil, ""); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/totp" {
			t.Errorf("staff without authenticator, %s: %d to %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, body := c.do("GET", "/account/totp", nil, ""); resp.StatusCode != 200 || !strings.Contains(body, "otpauth://totp/") {
		t.Errorf("enrolment page: %d", resp.StatusCode)
	}
}

func TestIdleTimeout(t *testing.T) {
	s := newSite(t)
	c := s.client(t, accounts.ClinicUser)
	if resp, body := c.do("GET", "/", nil, ""); resp.StatusCode != 200 || !strings.Contains(body, "Elm") {
		t.Fatalf("home: %d", resp.StatusCode)
	}
	s.advance(29 * time.Minute)
	if resp, _ := c.do("GET", "/", nil, ""); resp.StatusCode != 200 {
		t.Errorf("after 29 idle minutes: %d", resp.StatusCode)
	}
	s.advance(30*time.Minute + time.Second)
	if resp, _ := c.do("GET", "/", nil, ""); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Errorf("after 30 idle minutes: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestForgotPasswordSaysNothing(t *testing.T) {
	s := newSite(t)
	var bodies []string
	for _, who := range []string{"clinic_user", "nobody-here"} {
		c := s.client(t, "")
		resp, body := c.do("POST", "/forgot-password", url.Values{"csrf": {c.formToken("/forgot-password")}, "who": {who}}, s.srv.URL)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", who, resp.StatusCode)
		}
		bodies = append(bodies, body)
	}
	if bodies[0] != bodies[1] {
		t.Error("the answer differs for a known and an unknown user")
	}
	ms, _ := s.acc.Outbox(context.Background(), 10)
	if len(ms) != 1 || ms[0].To != "clinic_user@example.org" {
		t.Errorf("outbox %+v", ms)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/users": "/admin/users", "": "/", "//evil.example/": "/", "https://evil.example/": "/",
		"/console/live": "/console/live", "/console/login?next=/x": "/", "/\\evil": "/", "/signin/code": "/", "/?done=x": "/?done=x",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFirstSignInPasswordChange: a user created with a temporary password
// must choose a new one before any other page.
func TestFirstSignInPasswordChange(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	hash, _ := soap.HashPassword("temporary-pw-123")
	id, err := s.acc.CreateUser(ctx, accounts.NewUser{Username: "tess", FullName: "Tess Temp", Email: "tess@elm.example",
		OrgID: s.users[accounts.ClinicUser].OrgID, Role: accounts.ClinicUser, PasswordHash: hash, MustChangePassword: true})
	if err != nil {
		t.Fatal(err)
	}
	s.users["tess"], _ = s.acc.User(ctx, id)
	c := s.client(t, "tess")
	for _, p := range []string{"/", "/account/totp"} {
		if resp, _ := c.do("GET", p, nil, ""); resp.Header.Get("Location") != "/account/password" {
			t.Errorf("%s before the change: %d to %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	form := url.Values{"csrf": {c.csrf}, "new_password": {"short"}, "confirm_password": {"short"}}
	if resp, _ := c.do("POST", "/account/password", form, s.srv.URL); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("weak password: %d", resp.StatusCode)
	}
	form.Set("new_password", "a much better passphrase")
	form.Set("confirm_password", "a much better passphrase")
	if resp, _ := c.do("POST", "/account/password", form, s.srv.URL); resp.Header.Get("Location") != "/?done=password" {
		t.Errorf("change: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := c.do("GET", "/", nil, ""); resp.StatusCode != 200 || !strings.Contains(body, "Tess Temp") {
		t.Errorf("home after the change: %d", resp.StatusCode)
	}
	if _, err := s.acc.SignIn(ctx, "tess", "a much better passphrase", "test"); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}
}

func TestAddUser(t *testing.T) {
	s := newSite(t)
	orgs, _ := s.acc.Organizations(context.Background(), accounts.Program)
	form := url.Values{"name": {"Ivy Interface"}, "email": {"ivy@dph.example"}, "org": {strconv.FormatInt(orgs[0].ID, 10)}, "role": {"integration_engineer"}}
	staff := s.client(t, accounts.ProgramStaff)
	form.Set("csrf", staff.csrf)
	if resp, _ := staff.do("POST", "/admin/users", form, s.srv.URL); resp.StatusCode != http.StatusForbidden {
		t.Errorf("program staff adding a user: %d", resp.StatusCode)
	}
	admin := s.client(t, accounts.ProgramAdmin)
	form.Set("csrf", admin.csrf)
	if resp, _ := admin.do("POST", "/admin/users", form, s.srv.URL); resp.Header.Get("Location") != "/admin/users?done=created" {
		t.Errorf("adding a user: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := admin.do("GET", "/admin/users", nil, ""); resp.StatusCode != 200 || !strings.Contains(body, "Ivy Interface") || !strings.Contains(body, "awaiting password") {
		t.Errorf("users page after adding: %d", resp.StatusCode)
	}
	if resp, body := admin.do("POST", "/admin/users", form, s.srv.URL); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "exists already") {
		t.Errorf("adding twice: %d", resp.StatusCode)
	}
}

// TestLinksIgnoreHost: a forged Host header on the public form does not
// choose where the mailed link points.
func TestLinksIgnoreHost(t *testing.T) {
	s := newSite(t)
	forged := func(method string, body io.Reader) *http.Request {
		req, _ := http.NewRequest(method, s.srv.URL+"/forgot-password", body)
		req.Host = "evil.example"
		return req
	}
	resp, err := http.DefaultClient.Do(forged("GET", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := tokenRE.FindSubmatch(b)
	if m == nil || len(resp.Cookies()) == 0 {
		t.Fatalf("no form token: %s", b)
	}
	req := forged("POST", strings.NewReader(url.Values{"csrf": {string(m[1])}, "who": {"clinic_user"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	req.AddCookie(resp.Cookies()[0])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ms, _ := s.acc.Outbox(context.Background(), 10)
	if resp.StatusCode != 200 || len(ms) != 1 || strings.Contains(ms[0].Body, "evil.example") || !strings.Contains(ms[0].Body, s.srv.URL+"/set-password?token=") {
		t.Errorf("status %d, outbox %+v", resp.StatusCode, ms)
	}
}

func TestVoluntaryPasswordChangeNeedsCurrent(t *testing.T) {
	s := newSite(t)
	c := s.client(t, accounts.ClinicUser)
	form := url.Values{"csrf": {c.csrf}, "current_password": {"not it"}, "new_password": {"a new long passphrase"}, "confirm_password": {"a new long passphrase"}}
	if resp, body := c.do("POST", "/account/password", form, s.srv.URL); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "current password is not right") {
		t.Errorf("wrong current password: %d", resp.StatusCode)
	}
	form.Set("current_password", "a long test password")
	if resp, _ := c.do("POST", "/account/password", form, s.srv.URL); resp.Header.Get("Location") != "/?done=password" {
		t.Errorf("right current password: %d", resp.StatusCode)
	}
	if _, err := s.acc.SignIn(context.Background(), "clinic_user", "a new long passphrase", "test"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestRemoveAuthenticator(t *testing.T) {
	s := newSite(t)
	admin := s.users[accounts.ProgramAdmin]
	staff := s.client(t, accounts.ProgramStaff)
	form := url.Values{"csrf": {staff.csrf}, "action": {"reset-totp"}}
	if resp, _ := staff.do("POST", "/admin/users/"+strconv.FormatInt(admin.ID, 10), form, s.srv.URL); resp.Header.Get("Location") != "/admin/users?done=totp-reset" {
		t.Fatalf("remove: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	u, _ := s.acc.User(context.Background(), admin.ID)
	if u.TOTPEnabled {
		t.Error("authenticator still enrolled")
	}
	// A new session of the administrator must enrol first.
	s.users[accounts.ProgramAdmin] = u
	c := s.client(t, accounts.ProgramAdmin)
	if resp, _ := c.do("GET", "/admin/users", nil, ""); resp.Header.Get("Location") != "/account/totp" {
		t.Errorf("after removal: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestChangeRolePage(t *testing.T) {
	s := newSite(t)
	u := s.users[accounts.ClinicUser]
	admin := s.client(t, accounts.ProgramAdmin)
	path := "/admin/users/" + strconv.FormatInt(u.ID, 10)
	form := url.Values{"csrf": {admin.csrf}, "action": {"role"}, "role": {"vaccine_coordinator:primary"}}
	// The clinic's primary place is taken (newSite made one).
	if resp, body := admin.do("POST", path, form, s.srv.URL); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "another enabled vaccine coordinator") {
		t.Errorf("taken place: %d", resp.StatusCode)
	}
	form.Set("role", "vaccine_coordinator:backup")
	if resp, _ := admin.do("POST", path, form, s.srv.URL); resp.Header.Get("Location") != "/admin/users?done=role" {
		t.Errorf("backup: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got, _ := s.acc.User(context.Background(), u.ID); got.Role != accounts.VaccineCoordinator || got.Coordinator != accounts.Backup {
		t.Errorf("now %s %s", got.Role, got.Coordinator)
	}
}
