// Package portal serves the registry's pages for people — clinic staff,
// school nurses, the state immunization program — at the site's root,
// beside the operations console at /console/: sign-in with a password and
// a TOTP second factor, the first-sign-in password change and
// authenticator enrolment, the public account request form, the program's
// pages to approve or deny requests, manage users and organizations and
// read the outbox, and the home page. Accounts, sessions and the rules
// live in package accounts; this package only renders and routes.
//
// Pages are rendered on the server (html/template, no script). Session
// cookies are HttpOnly, SameSite=Strict and Secure over HTTPS; every form
// carries a CSRF token and must come from the same origin; pages are sent
// with a strict Content-Security-Policy, X-Frame-Options DENY and
// Cache-Control no-store.
//
// Packages of pages mounted here (Handle, HandleSignedIn) render them with
// the same layout and navigation through ParsePages and Pages.Render.
package portal

import (
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/iisproject/iis/accounts"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures a Portal.
type Config struct {
	Accounts *accounts.Store
	// PublicURL is the pages' address as users reach it, for links in
	// mail ("https://iis.example.org"); empty: what SetPublicURL sets.
	PublicURL string
	// MailSent says whether an SMTP server delivers the outbox; if not,
	// the outbox page says so and is the only way to read the messages.
	MailSent bool
	// SecureCookies marks cookies Secure (set when served over HTTPS).
	SecureCookies bool
	// ClientAddr returns the client's address for sign-in throttling and
	// the audit log (default: the connection's remote IP; behind a reverse
	// proxy, ClientAddr(its addresses)).
	ClientAddr func(*http.Request) string
	Logger     *slog.Logger
}

// Portal serves the people's pages.
type Portal struct {
	cfg  Config
	acc  *accounts.Store
	tmpl map[string]*template.Template
	mux  *http.ServeMux
	log  *slog.Logger
	// public is the address in mailed links.
	public atomic.Pointer[string]
}

const (
	sessionCookie = "iis_session"
	formCookie    = "iis_form" // the CSRF token of forms shown before sign-in
)

// New returns a Portal.
func New(cfg Config) (*Portal, error) {
	if cfg.Accounts == nil {
		return nil, errors.New("portal: no accounts store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = ClientAddr(nil)
	}
	p := &Portal{cfg: cfg, acc: cfg.Accounts, log: cfg.Logger}
	if cfg.PublicURL != "" {
		u := strings.TrimRight(cfg.PublicURL, "/")
		p.public.Store(&u)
	}
	tmpl, err := parsePages(templateFS, nil)
	if err != nil {
		return nil, err
	}
	p.tmpl = tmpl
	p.routes()
	return p, nil
}

// ServeHTTP implements http.Handler.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin") // set-password links carry their token in the address: never sent to other sites; "no-referrer" would make browsers send "Origin: null" with every form, which sameOrigin refuses
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	p.mux.ServeHTTP(w, r)
}

// Handle serves pattern with page behind the portal's gate: signed in,
// second factor given, permission perm; a POST must carry the session's
// CSRF token (form field "csrf") from the same origin. page gets the user
// and that token for its forms. Packages of pages (entry) mount this way.
func (p *Portal) Handle(pattern string, perm accounts.Permission, page func(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string)) {
	p.mux.HandleFunc(pattern, p.gate(permission, perm, func(w http.ResponseWriter, r *http.Request, v *visitor) { page(w, r, v.user, v.sess.CSRF) }))
}

// need is what a page requires of its user.
type need int

const (
	anyone     need = iota // signed in, any role
	partial                // a session whose second factor is still due
	setup                  // signed in; the password change or enrolment is the page itself
	permission             // signed in with a permission (see perm)
)

func (p *Portal) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /{$}", p.gate(anyone, 0, p.home))
	m.HandleFunc("GET /signin", p.signinPage)
	m.HandleFunc("POST /signin", p.signin)
	m.HandleFunc("GET /signin/code", p.gate(partial, 0, p.codePage))
	m.HandleFunc("POST /signin/code", p.gate(partial, 0, p.code))
	m.HandleFunc("POST /signout", p.gate(partial, 0, p.signout))
	m.HandleFunc("GET /account/password", p.gate(setup, 0, p.passwordPage))
	m.HandleFunc("POST /account/password", p.gate(setup, 0, p.changePassword))
	m.HandleFunc("GET /account/totp", p.gate(setup, 0, p.totpPage))
	m.HandleFunc("POST /account/totp", p.gate(setup, 0, p.confirmTOTP))
	m.HandleFunc("GET /request-account", p.requestPage)
	m.HandleFunc("POST /request-account", p.submitRequest)
	m.HandleFunc("GET /set-password", p.linkPage)
	m.HandleFunc("POST /set-password", p.useLink)
	m.HandleFunc("GET /forgot-password", p.forgotPage)
	m.HandleFunc("POST /forgot-password", p.forgot)
	m.HandleFunc("GET /admin/requests", p.gate(permission, accounts.DecideRequests, p.requestsPage))
	m.HandleFunc("POST /admin/requests/{id}", p.gate(permission, accounts.DecideRequests, p.decide))
	m.HandleFunc("GET /admin/users", p.gate(permission, accounts.ResetPasswords, p.usersPage))
	m.HandleFunc("POST /admin/users", p.gate(permission, accounts.ManageUsers, p.addUser))
	m.HandleFunc("POST /admin/users/{id}", p.gate(permission, accounts.ResetPasswords, p.userAction))
	m.HandleFunc("GET /admin/outbox", p.gate(permission, accounts.ReadOutbox, p.outboxPage))
	m.HandleFunc("POST /admin/outbox/{id}", p.gate(permission, accounts.ReadOutbox, p.retryMail))
	m.HandleFunc("GET /admin/organizations", p.gate(permission, accounts.ManageOrganizations, p.orgsPage))
	m.HandleFunc("POST /admin/organizations", p.gate(permission, accounts.ManageOrganizations, p.addOrg))
	p.mux = m
}

// visitor is a signed-in user and the session.
type visitor struct {
	user  accounts.User
	sess  accounts.Session
	token string
}

func (v *visitor) may(perm accounts.Permission) bool { return v != nil && v.user.Role.May(perm) }

// gate wraps a page: it needs a session, the second factor given (unless
// partial), the password changed and an authenticator enrolled where
// required (unless the page is that step), the permission, and for a POST
// the session's CSRF token from the same origin.
func (p *Portal) gate(n need, perm accounts.Permission, h func(http.ResponseWriter, *http.Request, *visitor)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.visitor(r)
		if v == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			p.fail(w, r, nil, http.StatusUnauthorized, "Your session has ended (signed out, or unused for too long). Sign in again.")
			return
		}
		if r.Method == http.MethodPost && (!sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(v.sess.CSRF)) != 1) {
			p.fail(w, r, v, http.StatusForbidden, "The form has expired or did not come from this site; reload the page and try again.")
			return
		}
		if n != partial {
			if next := nextStep(v); next != "" && next != r.URL.Path {
				http.Redirect(w, r, next, http.StatusSeeOther)
				return
			}
		}
		if n == permission && !v.may(perm) {
			p.fail(w, r, v, http.StatusForbidden, "Your role ("+v.user.Role.Label()+") may not open this page.")
			return
		}
		h(w, r, v)
	}
}

// HandleSignedIn is Handle for pages open to every signed-in user (the
// second factor given, required steps done), whose roles the page checks
// itself (the Immunization Home: what a user sees depends on the patient).
func (p *Portal) HandleSignedIn(pattern string, page func(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string)) {
	p.mux.HandleFunc(pattern, p.gate(anyone, 0, func(w http.ResponseWriter, r *http.Request, v *visitor) { page(w, r, v.user, v.sess.CSRF) }))
}

// nextStep is the page a signed-in user must go through before any other:
// the TOTP code, a required password change, a required enrolment.
func nextStep(v *visitor) string {
	switch {
	case !v.sess.TOTPOK:
		return "/signin/code"
	case v.user.MustChangePassword:
		return "/account/password"
	case v.user.Role.TOTPRequired() && !v.user.TOTPEnabled:
		return "/account/totp"
	}
	return ""
}

// SignedIn returns r's signed-in user and session once the sign-in is
// complete (second factor given, no password change or authenticator
// enrolment due), for the operations console, which signs people in
// here: the session cookie's path is "/".
func (p *Portal) SignedIn(r *http.Request) (accounts.User, accounts.Session, bool) {
	v := p.visitor(r)
	if v == nil || nextStep(v) != "" {
		return accounts.User{}, accounts.Session{}, false
	}
	return v.user, v.sess, true
}

func (p *Portal) visitor(r *http.Request) *visitor {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	ss, u, err := p.acc.Session(r.Context(), ck.Value)
	if err != nil {
		if !errors.Is(err, accounts.ErrNotFound) {
			p.log.Error("portal: session", "err", err)
		}
		return nil
	}
	return &visitor{user: u, sess: ss, token: ck.Value}
}

func (p *Portal) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: p.cfg.SecureCookies, SameSite: http.SameSiteStrictMode}
}

// sameOrigin rejects a cross-site POST whose Origin (or Referer) names
// another host; requests without either rely on the token.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		o = r.Header.Get("Referer")
	}
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// formToken gives an anonymous form (sign-in, request, set password) its
// CSRF token, in a cookie that the POST must match.
func (p *Portal) formToken(w http.ResponseWriter) string {
	tok := accounts.RandomToken()
	http.SetCookie(w, p.cookie(formCookie, tok, 3600))
	return tok
}

func (p *Portal) formOK(r *http.Request) bool {
	ck, err := r.Cookie(formCookie)
	return err == nil && sameOrigin(r) && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) == 1
}

// baseURL is where links in mail point. It never comes from the request:
// a forged Host header on the public forgot-password form would otherwise
// send a user a reset link to another site.
func (p *Portal) baseURL() string {
	if u := p.public.Load(); u != nil {
		return *u
	}
	return "http://localhost"
}

// SetPublicURL sets the address of these pages in mailed links, unless
// Config.PublicURL did (iisd passes its HTTP listener's address).
func (p *Portal) SetPublicURL(u string) {
	if p.cfg.PublicURL == "" {
		u = strings.TrimRight(u, "/")
		p.public.Store(&u)
	}
}

// safeNext keeps a post-sign-in redirect on this site's pages (the
// operations console's included).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/console/login") ||
		strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, "/signin") {
		return "/"
	}
	return next
}

// page is what every template gets.
type page struct {
	Title    string
	Nav      string
	V        *visitor
	CSRF     string
	Flash    string
	Error    string
	MailSent bool
	Data     any
}

// User is the signed-in user, for the templates.
func (pg page) User() *accounts.User {
	if pg.V == nil || !pg.V.sess.TOTPOK {
		return nil
	}
	return &pg.V.user
}

// PatientPages is the address of the patient pages the signed-in user
// may use: the Immunization Home's search, a school nurse's certificates,
// or none.
func (pg page) PatientPages() string {
	u := pg.User()
	switch {
	case u == nil || nextStep(pg.V) != "" || u.Role == accounts.IntegrationEngineer:
		return ""
	case u.Role == accounts.SchoolNurse:
		return "/certificates"
	}
	return "/patients"
}

// May reports whether the signed-in user has the named permission.
func (pg page) May(name string) bool {
	perm, ok := map[string]accounts.Permission{"requests": accounts.DecideRequests, "users": accounts.ResetPasswords,
		"outbox": accounts.ReadOutbox, "orgs": accounts.ManageOrganizations, "manage": accounts.ManageUsers, "enter": accounts.EnterData,
		"coverage": accounts.ViewCoverage, "fhirclients": accounts.ManageFHIRClients,
		"inventory": accounts.ViewInventory,
		"orders":    accounts.ViewOrders, "vfc": accounts.ViewVFCReport, "lotrecall": accounts.RecallLots}[name]
	return ok && pg.User() != nil && pg.V.may(perm) && nextStep(pg.V) == ""
}

func (p *Portal) render(w http.ResponseWriter, status int, name string, pg page) {
	if pg.V != nil && pg.CSRF == "" {
		pg.CSRF = pg.V.sess.CSRF
	}
	pg.MailSent = p.cfg.MailSent
	execute(w, p.log, p.tmpl[name], status, name, pg)
}

func (p *Portal) fail(w http.ResponseWriter, r *http.Request, v *visitor, status int, msg string) {
	p.render(w, status, "error", page{Title: http.StatusText(status), V: v, Error: msg})
}

// internal answers a storage failure without details.
func (p *Portal) internal(w http.ResponseWriter, r *http.Request, v *visitor, err error) {
	p.log.Error("portal", "path", r.URL.Path, "err", err)
	p.fail(w, r, v, http.StatusInternalServerError, "Something went wrong on our side; please try again in a moment.")
}

var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if !v.IsZero() {
				return v.Local().Format("2006-01-02 15:04")
			}
		case *time.Time:
			if v != nil {
				return v.Local().Format("2006-01-02 15:04")
			}
		}
		return ""
	},
	"minutes": func(d time.Duration) int { return int(d.Minutes()) },
}

// ctxAddr is the client's address for r.
func (p *Portal) addr(r *http.Request) string { return p.cfg.ClientAddr(r) }
