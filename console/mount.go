package console

import (
	"html/template"
	"net/http"
)

// Operator is the signed-in console user as a page mounted by another
// package sees it.
type Operator struct {
	User string
	Role Role
	// CSRF is the token every form of the page must post as "csrf".
	CSRF string
	// MayChange: the user may change things (engineer, admin).
	MayChange bool
}

// navLink is a section of the console served by another package.
type navLink struct{ Label, Href, Nav string }

// Mount serves h at pattern (an http.ServeMux pattern under /console/,
// e.g. "GET /console/quality") to signed-in users whose role is at least
// min; a POST must carry the session's CSRF token, as the console's own
// forms do. navLabel, when not "", adds a link to the console's
// navigation (marked when a page is rendered with Nav nav).
func (c *Console) Mount(pattern string, min Role, navLabel, navHref, nav string, h func(http.ResponseWriter, *http.Request, Operator)) {
	c.mux.HandleFunc(pattern, c.authed(min, func(w http.ResponseWriter, r *http.Request, s *session) {
		h(w, r, Operator{User: s.user, Role: s.role, CSRF: s.csrf, MayChange: s.role.mayChange()})
	}))
	if navLabel != "" {
		c.links = append(c.links, navLink{Label: navLabel, Href: navHref, Nav: nav})
	}
}

// Render writes body, made by the mounting package, inside the console's
// layout (navigation, banners), with the HTTP status.
func (c *Console) Render(w http.ResponseWriter, r *http.Request, op Operator, status int, title, nav string, body template.HTML) {
	s := &session{user: op.User, role: op.Role, csrf: op.CSRF}
	c.renderStatus(w, r, s, "mounted", status, page{Title: title, Nav: nav, Data: body})
}

// Fail renders an error page for a mounted page (err, if any, is logged).
func (c *Console) Fail(w http.ResponseWriter, r *http.Request, op Operator, status int, msg string, err error) {
	c.fail(w, r, &session{user: op.User, role: op.Role, csrf: op.CSRF}, status, msg, err)
}
