package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	sessionCookie = "iis_console"
	loginCookie   = "iis_console_login" // the login form's CSRF token
)

type session struct {
	token   string
	user    string
	role    Role
	csrf    string
	expires time.Time
}

// sessions are kept in memory: a restart logs everyone out, and behind a
// load balancer the console needs sticky sessions (it is an operators'
// tool, not the data path).
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, ttl: ttl, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) create(user string, role Role) *session {
	s := &session{token: randomToken(), user: user, role: role, csrf: randomToken(), expires: ss.now().Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for k, x := range ss.m {
		if now.After(x.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[s.token] = s
	return s
}

// get returns the live session for token and extends it.
func (ss *sessions) get(token string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[token]
	if s == nil {
		return nil
	}
	now := ss.now()
	if now.After(s.expires) {
		delete(ss.m, token)
		return nil
	}
	s.expires = now.Add(ss.ttl)
	return s
}

// throttle counts failed sign-ins per username: after maxFailures within
// failureWindow the username is locked for the rest of the window, so
// passwords cannot be guessed at the rate the hash allows.
type throttle struct {
	mu       sync.Mutex
	failures map[string][]time.Time
	now      func() time.Time
}

const (
	maxFailures   = 5
	failureWindow = 15 * time.Minute
)

func (th *throttle) recent(user string) []time.Time {
	cut := th.now().Add(-failureWindow)
	fs := th.failures[user]
	i := 0
	for i < len(fs) && fs[i].Before(cut) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(th.failures, user)
	} else {
		th.failures[user] = fs
	}
	return fs
}

func (th *throttle) locked(user string) bool {
	th.mu.Lock()
	defer th.mu.Unlock()
	return len(th.recent(user)) >= maxFailures
}

func (th *throttle) fail(user string) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.failures[user] = append(th.recent(user), th.now())
}

func (th *throttle) reset(user string) {
	th.mu.Lock()
	defer th.mu.Unlock()
	delete(th.failures, user)
}

func (ss *sessions) drop(token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, token)
}

func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/console", MaxAge: maxAge,
		HttpOnly: true, Secure: c.cfg.SecureCookies, SameSite: http.SameSiteStrictMode}
}

// authed wraps h: the request needs a session whose role is at least
// min, and a POST needs the session's CSRF token and a same-origin Origin.
func (c *Console) authed(min Role, h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if ck, err := r.Cookie(sessionCookie); err == nil {
			s = c.sess.get(ck.Value)
		}
		if s == nil {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, ".json") {
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "login required", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
				c.fail(w, r, s, http.StatusForbidden, "The form has expired or did not come from this console; reload the page and try again.", nil)
				return
			}
		}
		if min == Engineer && !s.role.mayChange() || min == Admin && s.role != Admin {
			c.fail(w, r, s, http.StatusForbidden, "Your role ("+string(s.role)+") may not do this.", nil)
			return
		}
		h(w, r, s)
	}
}

// sameOrigin rejects a cross-site POST whose Origin (or Referer) names
// another host; requests without either (some clients) rely on the token.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		o = r.Header.Get("Referer")
	}
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	tok := randomToken()
	http.SetCookie(w, c.cookie(loginCookie, tok, 600))
	c.render(w, r, nil, "login", page{Title: "Sign in", CSRF: tok, Data: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(loginCookie)
	next := safeNext(r.PostFormValue("next"))
	if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 || !sameOrigin(r) {
		tok := randomToken()
		http.SetCookie(w, c.cookie(loginCookie, tok, 600))
		c.renderStatus(w, r, nil, "login", http.StatusForbidden, page{Title: "Sign in", CSRF: tok, Data: next, Error: "The sign-in form expired; please try again."})
		return
	}
	user := r.PostFormValue("username")
	if c.throttle.locked(user) {
		c.log.Warn("console: sign-in refused, too many failures", "user", user)
		_ = c.audit(r.Context(), user, "console-login-locked", nil, nil, "")
		tok := randomToken()
		http.SetCookie(w, c.cookie(loginCookie, tok, 600))
		c.renderStatus(w, r, nil, "login", http.StatusTooManyRequests, page{Title: "Sign in", CSRF: tok, Data: next,
			Error: "Too many failed sign-ins for this user; try again in 15 minutes or ask an administrator."})
		return
	}
	if _, err := c.auth.Authenticate(r.Context(), user, r.PostFormValue("password"), ""); err != nil {
		c.throttle.fail(user)
		c.log.Warn("console: sign-in refused", "user", user)
		_ = c.audit(r.Context(), user, "console-login-failed", nil, nil, "")
		tok := randomToken()
		http.SetCookie(w, c.cookie(loginCookie, tok, 600))
		c.renderStatus(w, r, nil, "login", http.StatusUnauthorized, page{Title: "Sign in", CSRF: tok, Data: next, Error: "Wrong username or password."})
		return
	}
	c.throttle.reset(user)
	s := c.sess.create(user, c.roles[user])
	http.SetCookie(w, c.cookie(loginCookie, "", -1))
	http.SetCookie(w, c.cookie(sessionCookie, s.token, 0))
	_ = c.audit(r.Context(), user, "console-login", nil, nil, "role "+string(s.role))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sess.drop(s.token)
	http.SetCookie(w, c.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/live"
	}
	return next
}
