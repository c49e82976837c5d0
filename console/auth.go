package console

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// signInPath is the people's sign-in page (package portal), which signs
// console users in too; it takes the page to return to as next.
const signInPath = "/signin"

// session is the signed-in user of one request, as Config.Auth tells.
type session struct {
	user  string
	role  Role
	label string // the user's role for people
	csrf  string
}

// authed wraps h: the request needs a signed-in user whose role gives
// console access of at least min, and a POST needs the session's CSRF
// token and a same-origin Origin.
func (c *Console) authed(min Role, h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := c.cfg.Auth.Visitor(r)
		if !ok {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, ".json") {
				http.Redirect(w, r, signInURL(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign-in required", http.StatusUnauthorized)
			return
		}
		s := &session{user: v.Username, role: v.Role, label: v.RoleLabel, csrf: v.CSRF}
		if s.label == "" {
			s.label = string(s.role)
		}
		if r.Method == http.MethodPost {
			if s.csrf == "" || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
				c.fail(w, r, s, http.StatusForbidden, "The form has expired or did not come from this console; reload the page and try again.", nil)
				return
			}
		}
		if !s.role.valid() {
			c.log.Info("console: refused, role without console access", "user", s.user, "role", s.label)
			c.fail(w, r, nil, http.StatusForbidden, "Your role ("+s.label+") has no access to the operations console. "+
				"It is for integration engineers and the state immunization program; ask a program administrator if you need it.", nil)
			return
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

// signInURL is the people's sign-in page, returning to next.
func signInURL(next string) string {
	return signInPath + "?next=" + url.QueryEscape(safeNext(next))
}

// loginPage sends the console's former sign-in address (GET or POST) to
// the people's sign-in, keeping next.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	http.Redirect(w, r, signInURL(next), http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, "/console/login") {
		return "/console/live"
	}
	return next
}
