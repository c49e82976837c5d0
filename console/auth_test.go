package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/iisproject/iis/console"
)

// fakeAuth stands for the accounts sign-in: the cookie "test_session"
// names the signed-in user.
type fakeAuth map[string]console.Visitor

func (f fakeAuth) Visitor(r *http.Request) (console.Visitor, bool) {
	ck, err := r.Cookie("test_session")
	if err != nil {
		return console.Visitor{}, false
	}
	v, ok := f[ck.Value]
	return v, ok
}

// testUsers: vera views, ed is an engineer, cleo is a clinic user.
var testUsers = fakeAuth{
	"vera":  {Username: "vera", Role: console.Viewer, RoleLabel: "Program staff", CSRF: "csrf-vera"},
	"ed":    {Username: "ed", Role: console.Engineer, RoleLabel: "Integration engineer", CSRF: "csrf-ed"},
	"bench": {Username: "bench", Role: console.Viewer, CSRF: "csrf-bench"},
	"cleo":  {Username: "cleo", RoleLabel: "Clinic user", CSRF: "csrf-cleo"},
}

// noFollow is c without following redirects.
func noFollow(c *http.Client) *http.Client {
	return &http.Client{Jar: c.Jar, Transport: c.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	// Anonymous: pages go to the people's sign-in with the page as next,
	// data endpoints say 401.
	for in, want := range map[string]string{
		"/console/messages?facility=A":              "/signin?next=" + url.QueryEscape("/console/messages?facility=A"),
		"/console/login?next=/console/errors":       "/signin?next=" + url.QueryEscape("/console/errors"),
		"/console/login?next=https://evil.example/": "/signin?next=" + url.QueryEscape("/console/live"),
		"/console/login":                            "/signin?next=" + url.QueryEscape("/console/live"),
	} {
		resp, err := noFollow(c).Get(e.srv.URL + in)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("anonymous %s: %d %s, want %s", in, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	resp, err := noFollow(c).PostForm(e.srv.URL+"/console/login", url.Values{"username": {"ed"}, "password": {"pw"}, "next": {"/console/errors"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "/signin?next=" + url.QueryEscape("/console/errors"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Errorf("POST /console/login: %d %s, want %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if code, _ := get(t, c, e.srv.URL+"/console/live.json"); code != http.StatusUnauthorized {
		t.Errorf("anonymous live.json: %d", code)
	}
	if code, _ := post(t, c, e.srv.URL+"/console/facilities", url.Values{"facility": {"X"}}); code != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d", code)
	}
	e.login(t, c, "ed")
	resp, err = c.Get(e.srv.URL + "/console/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

// TestRoleWithoutConsole: a signed-in user whose role has no console
// access (a clinic user) is refused every page with a 403 that says why.
func TestRoleWithoutConsole(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	e.setUser(c, "cleo")
	for _, path := range []string{"/console/", "/console/live", "/console/messages", "/console/errors", "/console/live.json"} {
		code, body := get(t, c, e.srv.URL+path)
		if code != http.StatusForbidden || (!strings.HasSuffix(path, ".json") && !strings.Contains(body, "Your role (Clinic user) has no access to the operations console")) {
			t.Errorf("clinic user, %s: %d %.300s", path, code, body)
		}
	}
	if code, _ := post(t, c, e.srv.URL+"/console/facilities", url.Values{"csrf": {"csrf-cleo"}, "facility": {"X"}, "processing_id": {"P"}}); code != http.StatusForbidden {
		t.Errorf("clinic user's POST: %d", code)
	}
}
