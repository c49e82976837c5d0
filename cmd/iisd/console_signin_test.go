package main

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/soap"
)

// httpBrowser is an HTTP client that keeps cookies, follows redirects, sets
// Origin on POSTs as a httpBrowser does, and comes from addr (through the
// trusted proxy at 127.0.0.1, which appends X-Forwarded-For).
type httpBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

type forwardedFor struct{ origin, addr string }

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if r.Method == http.MethodPost {
		r.Header.Set("Origin", f.origin)
	}
	r.Header.Set("X-Forwarded-For", f.addr)
	return http.DefaultTransport.RoundTrip(r)
}

func newHTTPBrowser(t *testing.T, s *server, addr string) *httpBrowser {
	base := "http://" + s.httpLn.Addr().String()
	jar, _ := cookiejar.New(nil)
	return &httpBrowser{t: t, base: base, c: &http.Client{Jar: jar, Transport: forwardedFor{base, addr}}}
}

// do sends a request and returns the status, the final path and the body.
func (b *httpBrowser) do(method, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = b.c.PostForm(b.base+path, form)
	} else {
		resp, err = b.c.Get(b.base + path)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.RequestURI(), string(body)
}

var (
	formCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	formNext = regexp.MustCompile(`name="next" value="([^"]*)"`)
)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := formCSRF.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in %.300s", body)
	}
	return m[1]
}

// signIn opens page (a console page) as an anonymous visitor, which lands
// on the people's sign-in, and signs in with password (and the TOTP code
// of secret, if given); it returns where that ends.
func (b *httpBrowser) signIn(page, user, password, secret string) (int, string, string) {
	b.t.Helper()
	code, at, body := b.do(http.MethodGet, page, nil)
	if want := "/signin?next=" + url.QueryEscape(page); code != 200 || at != want {
		b.t.Fatalf("anonymous %s: %d at %s, want the sign-in page %s", page, code, at, want)
	}
	code, at, body = b.do(http.MethodPost, "/signin", url.Values{"csrf": {csrfOf(b.t, body)}, "username": {user}, "password": {password},
		"next": {page}})
	if secret == "" || !strings.HasPrefix(at, "/signin/code") {
		return code, at, body
	}
	otp, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		b.t.Fatal(err)
	}
	next := formNext.FindStringSubmatch(body) // as the browser sends it
	if next == nil {
		b.t.Fatalf("no next on the code page: %.300s", body)
	}
	return b.do(http.MethodPost, "/signin/code", url.Values{"csrf": {csrfOf(b.t, body)}, "code": {otp}, "next": {html.UnescapeString(next[1])}})
}

// addUser creates an account of role in the organization named org (of
// the role's kind, created if missing) with password, and returns the
// TOTP secret it enrolled if the role needs one.
func addUser(t *testing.T, s *server, org, user, password string, role accounts.Role) string {
	t.Helper()
	ctx := context.Background()
	hash, err := soap.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	orgID, err := s.accounts.CreateOrganization(ctx, accounts.Organization{Kind: role.OrgKind(), Name: org})
	if errors.Is(err, accounts.ErrOrgExists) {
		orgs, _ := s.accounts.Organizations(ctx, role.OrgKind())
		for _, o := range orgs {
			if o.Name == org {
				orgID, err = o.ID, nil
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.accounts.CreateUser(ctx, accounts.NewUser{Username: user, FullName: user, Email: user + "@example.org", OrgID: orgID,
		Role: role, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	if !role.TOTPRequired() {
		return ""
	}
	u, err := s.accounts.User(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.accounts.BeginTOTP(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(e.Secret, time.Now().Add(-30*time.Second)) // the sign-in's code is the next one
	if err := s.accounts.ConfirmTOTP(ctx, u, code, "test"); err != nil {
		t.Fatal(err)
	}
	return e.Secret
}

func startBehindProxy(t *testing.T, mutate func(*Config)) *server {
	return startTest(t, func(c *Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		if mutate != nil {
			mutate(c)
		}
	})
}

// TestConsoleRolesFromAccounts: the console's permissions follow the
// accounts role of the people's sign-in: program staff read the console
// (no resend, no settings), a clinic user is refused it, and a config
// console_users engineer signs in on the people's pages as an integration
// engineer and may change settings with the accounts session's CSRF token.
func TestConsoleRolesFromAccounts(t *testing.T) {
	hash, err := soap.HashPassword("onboard-2026")
	if err != nil {
		t.Fatal(err)
	}
	s := startBehindProxy(t, func(c *Config) {
		c.Accounts.Program = "Department of Public Health"
		c.ConsoleUsers = []ConsoleUser{{Username: "ana", PasswordHash: hash, Role: "engineer"}}
	})
	secret := addUser(t, s, "Department of Public Health", "sam", "staff-password-1", accounts.ProgramStaff)
	addUser(t, s, "Riverside Clinic", "cleo", "clinic-password-1", accounts.ClinicUser)

	ana, err := s.accounts.UserByUsername(context.Background(), "ana")
	if err != nil || ana.Role != accounts.IntegrationEngineer || ana.OrgName != "Department of Public Health" {
		t.Fatalf("imported console user: %+v %v", ana, err)
	}

	staff := newHTTPBrowser(t, s, "198.51.100.1")
	page := "/console/messages?facility=CLINIC1&type=VXU" // the query survives the code step
	code, at, body := staff.signIn(page, "sam", "staff-password-1", secret)
	if code != 200 || at != page || !strings.Contains(body, `<span id="whoami">sam (viewer)</span>`) {
		t.Fatalf("program staff: %d at %s: %.500s", code, at, body)
	}
	if code, _, _ := staff.do(http.MethodPost, "/console/facilities", url.Values{"csrf": {csrfOf(t, body)}, "facility": {"NEWCLINIC"},
		"processing_id": {"P", "T"}}); code != http.StatusForbidden {
		t.Errorf("program staff changed a facility's settings: %d, want 403", code)
	}

	// A console page opened between the password and the code goes to the
	// code step, then to the page.
	secret2 := addUser(t, s, "Department of Public Health", "sue", "staff-password-2", accounts.ProgramStaff)
	half := newHTTPBrowser(t, s, "198.51.100.4")
	if _, at, _ := half.signIn("/console/errors", "sue", "staff-password-2", ""); !strings.HasPrefix(at, "/signin/code") {
		t.Fatalf("password only: at %s, want the code step", at)
	}
	code, at, body = half.do(http.MethodGet, "/console/errors", nil)
	if want := "/signin/code?next=" + url.QueryEscape("/console/errors"); code != 200 || at != want {
		t.Fatalf("console page before the code: %d at %s, want %s", code, at, want)
	}
	otp, _ := totp.GenerateCode(secret2, time.Now())
	if code, at, _ := half.do(http.MethodPost, "/signin/code", url.Values{"csrf": {csrfOf(t, body)}, "code": {otp}, "next": {"/console/errors"}}); code != 200 || at != "/console/errors" {
		t.Errorf("after the code: %d at %s", code, at)
	}

	clinic := newHTTPBrowser(t, s, "198.51.100.2")
	code, at, body = clinic.signIn("/console/messages", "cleo", "clinic-password-1", "")
	if code != http.StatusForbidden || at != "/console/messages" || !strings.Contains(body, "Your role (Clinic user) has no access to the operations console") {
		t.Errorf("clinic user: %d at %s: %.500s", code, at, body)
	}
	if code, at, body := clinic.do(http.MethodGet, "/", nil); code != 200 || at != "/" || strings.Contains(body, `id="console-link"`) {
		t.Errorf("clinic user's home: %d at %s, console link shown: %v", code, at, strings.Contains(body, `id="console-link"`))
	}
	if _, _, body := staff.do(http.MethodGet, "/", nil); !strings.Contains(body, `id="console-link"`) {
		t.Error("no console link on program staff's home page")
	}

	eng := newHTTPBrowser(t, s, "198.51.100.3")
	code, at, body = eng.signIn("/console/facilities?facility=NEWCLINIC", "ana", "onboard-2026", "")
	if code != 200 || at != "/console/facilities?facility=NEWCLINIC" || !strings.Contains(body, `<span id="whoami">ana (engineer)</span>`) {
		t.Fatalf("integration engineer: %d at %s: %.500s", code, at, body)
	}
	if code, _, body := eng.do(http.MethodPost, "/console/facilities", url.Values{"csrf": {csrfOf(t, body)}, "facility": {"NEWCLINIC"},
		"processing_id": {"P", "T"}}); code != 200 {
		t.Errorf("engineer's settings change: %d %.300s", code, body)
	}
	// One sign-in: signing out on the console's form ends the session for
	// the console and the people's pages alike.
	_, _, body = eng.do(http.MethodGet, "/console/live", nil)
	if code, at, _ := eng.do(http.MethodPost, "/signout", url.Values{"csrf": {csrfOf(t, body)}}); code != 200 || !strings.HasPrefix(at, "/signin") {
		t.Errorf("sign-out: %d at %s", code, at)
	}
	if code, at, _ := eng.do(http.MethodGet, "/console/live", nil); code != 200 || !strings.HasPrefix(at, "/signin?next=") {
		t.Errorf("console after sign-out: %d at %s", code, at)
	}
}

// TestConsoleUserNotLockedOutByAnother: five wrong passwords for a console
// user from one address slow that address down but do not keep the user
// out from their own.
func TestConsoleUserNotLockedOutByAnother(t *testing.T) {
	hash, err := soap.HashPassword("onboard-2026")
	if err != nil {
		t.Fatal(err)
	}
	s := startBehindProxy(t, func(c *Config) {
		c.ConsoleUsers = []ConsoleUser{{Username: "ana", PasswordHash: hash, Role: "engineer"}}
	})
	attacker := newHTTPBrowser(t, s, "203.0.113.66")
	for i := range 5 {
		code, at, _ := attacker.signIn("/console/messages", "ana", "guess-"+string(rune('a'+i)), "")
		if (code != http.StatusUnauthorized && code != http.StatusTooManyRequests) || !strings.HasPrefix(at, "/signin") {
			t.Errorf("wrong password %d: %d at %s", i+1, code, at)
		}
	}
	if code, _, _ := attacker.signIn("/console/messages", "ana", "onboard-2026", ""); code != http.StatusTooManyRequests {
		t.Errorf("the guessing address with the right password: %d, want 429 (it must wait)", code)
	}
	ana := newHTTPBrowser(t, s, "198.51.100.9")
	if code, at, body := ana.signIn("/console/messages", "ana", "onboard-2026", ""); code != 200 || at != "/console/messages" ||
		!strings.Contains(body, "ana (engineer)") {
		t.Errorf("ana from her own address: %d at %s: %.300s", code, at, body)
	}
}
