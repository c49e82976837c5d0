package console

import "net/http"

// Visitor is the signed-in user of a request, as the registry's sign-in
// (package accounts, through the people's pages) knows them.
type Visitor struct {
	Username string
	// Role is the console access the user's role gives; any other value
	// (empty) refuses the console with a 403 naming RoleLabel.
	Role Role
	// RoleLabel is the user's role for people ("Clinic user").
	RoleLabel string
	// CSRF is the session's CSRF token, which every POST must carry.
	CSRF string
}

// Auth tells who signed in. The console has no sign-in of its own: an
// anonymous visitor is sent to the people's sign-in page (/signin) with
// the console page as next.
type Auth interface {
	// Visitor returns r's signed-in user; false when there is none or the
	// sign-in is not complete (second factor, password change or
	// authenticator enrolment still due).
	Visitor(r *http.Request) (Visitor, bool)
}
