package portal

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/accounts"
)

// flashes are the fixed messages a redirect may ask a page to show.
var flashes = map[string]string{
	"approved":   "Request approved: the user has been sent a link to choose a password.",
	"denied":     "Request denied: the requester has been sent the reason.",
	"disabled":   "Account disabled; its sessions have ended.",
	"enabled":    "Account enabled again.",
	"reset":      "A password-reset link has been sent to the user.",
	"org-added":  "Organization added.",
	"created":    "Account created: the user has been sent a link to choose a password.",
	"totp-reset": "Authenticator removed; the user's sessions have ended. Program users set up a new one at their next sign-in.",
	"password":   "Your password has been changed.",
	"totp":       "Your authenticator app is set up: from now on, sign-in asks for its code.",
	"set":        "Your password is set. Sign in with your username and the new password.",
	"out":        "You have signed out.",
}

func flash(r *http.Request) string { return flashes[r.URL.Query().Get("done")] }

func (p *Portal) home(w http.ResponseWriter, r *http.Request, v *visitor) {
	org, err := p.acc.Organization(r.Context(), v.user.OrgID)
	if err != nil {
		p.internal(w, r, v, err)
		return
	}
	var pending int
	if v.may(accounts.DecideRequests) {
		reqs, err := p.acc.PendingRequests(r.Context())
		if err != nil {
			p.internal(w, r, v, err)
			return
		}
		pending = len(reqs)
	}
	p.render(w, http.StatusOK, "home", page{Title: "Home", Nav: "home", V: v, Flash: flash(r), Data: map[string]any{
		"Org": org, "Pending": pending, "Idle": p.acc.IdleTimeout(),
	}})
}

// signinPage shows the sign-in form (or sends a signed-in user on to
// next, through the step still due if any).
func (p *Portal) signinPage(w http.ResponseWriter, r *http.Request) {
	if v := p.visitor(r); v != nil {
		next := safeNext(r.URL.Query().Get("next"))
		if step := nextStep(v); step != "" {
			next = step + "?next=" + url.QueryEscape(next)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "signin", page{Title: "Sign in", CSRF: p.formToken(w), Flash: flash(r), Data: safeNext(r.URL.Query().Get("next"))})
}

func (p *Portal) signin(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	again := func(status int, msg string) {
		p.render(w, status, "signin", page{Title: "Sign in", CSRF: p.formToken(w), Error: msg, Data: next})
	}
	if !p.formOK(r) {
		again(http.StatusForbidden, "The sign-in form expired; please try again.")
		return
	}
	addr := p.addr(r)
	u, err := p.acc.SignIn(r.Context(), r.PostFormValue("username"), r.PostFormValue("password"), addr)
	var te *accounts.ThrottledError
	switch {
	case errors.As(err, &te):
		again(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins from here for this user. Wait %s and try again, or use “Forgot your password?”.",
			te.Wait.Round(time.Second)))
		return
	case errors.Is(err, accounts.ErrBadCredentials):
		again(http.StatusUnauthorized, "Wrong username or password.")
		return
	case errors.Is(err, accounts.ErrDisabled):
		again(http.StatusForbidden, "This account is disabled. Contact the immunization program.")
		return
	case err != nil:
		p.internal(w, r, nil, err)
		return
	}
	tok, _, err := p.acc.StartSession(r.Context(), u, !accounts.NeedsTOTP(u), addr)
	if err != nil {
		p.internal(w, r, nil, err)
		return
	}
	http.SetCookie(w, p.cookie(formCookie, "", -1))
	http.SetCookie(w, p.cookie(sessionCookie, tok, 0))
	if accounts.NeedsTOTP(u) {
		next = "/signin/code?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Portal) codePage(w http.ResponseWriter, r *http.Request, v *visitor) {
	if v.sess.TOTPOK {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "code", page{Title: "Authentication code", V: v, Data: safeNext(r.URL.Query().Get("next"))})
}

func (p *Portal) code(w http.ResponseWriter, r *http.Request, v *visitor) {
	next := safeNext(r.PostFormValue("next"))
	err := p.acc.VerifyTOTP(r.Context(), v.user, r.PostFormValue("code"), p.addr(r))
	var te *accounts.ThrottledError
	switch {
	case errors.As(err, &te):
		p.render(w, http.StatusTooManyRequests, "code", page{Title: "Authentication code", V: v, Data: next,
			Error: fmt.Sprintf("Too many wrong codes. Wait %s and try again.", te.Wait.Round(time.Second))})
		return
	case errors.Is(err, accounts.ErrBadCode):
		p.render(w, http.StatusUnauthorized, "code", page{Title: "Authentication code", V: v, Data: next,
			Error: "That code is wrong or was already used. Enter the current code from your authenticator app."})
		return
	case err != nil:
		p.internal(w, r, v, err)
		return
	}
	if err := p.acc.FinishSignIn(r.Context(), v.token, v.user, p.addr(r)); err != nil {
		p.internal(w, r, v, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Portal) signout(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := p.acc.SignOut(r.Context(), v.token, v.user); err != nil {
		p.internal(w, r, v, err)
		return
	}
	http.SetCookie(w, p.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/signin?done=out", http.StatusSeeOther)
}

func (p *Portal) passwordPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	p.render(w, http.StatusOK, "password", page{Title: "Change your password", V: v, Data: accounts.MinPasswordLength})
}

func (p *Portal) changePassword(w http.ResponseWriter, r *http.Request, v *visitor) {
	pw := r.PostFormValue("new_password")
	msg, err := p.checkCurrentPassword(r, v)
	if err != nil {
		p.internal(w, r, v, err)
		return
	}
	if msg == "" && pw != r.PostFormValue("confirm_password") {
		msg = "The two passwords differ."
	}
	if msg == "" {
		err := p.acc.ChangePassword(r.Context(), v.user, pw, v.token)
		if errors.Is(err, accounts.ErrWeakPassword) {
			msg = "Choose a stronger password: " + reasonOf(err) + "."
		} else if err != nil {
			p.internal(w, r, v, err)
			return
		}
	}
	if msg != "" {
		p.render(w, http.StatusBadRequest, "password", page{Title: "Change your password", V: v, Error: msg, Data: accounts.MinPasswordLength})
		return
	}
	http.Redirect(w, r, "/?done=password", http.StatusSeeOther)
}

// checkCurrentPassword asks for the current password on a voluntary change
// (a session left open must not be enough to take the account); the first
// sign-in's forced change follows the password just given. It returns what
// to tell the user if it is wrong.
func (p *Portal) checkCurrentPassword(r *http.Request, v *visitor) (string, error) {
	if v.user.MustChangePassword {
		return "", nil
	}
	_, err := p.acc.SignIn(r.Context(), v.user.Username, r.PostFormValue("current_password"), p.addr(r))
	var te *accounts.ThrottledError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("Too many wrong passwords. Wait %s and try again.", te.Wait.Round(time.Second)), nil
	case errors.Is(err, accounts.ErrBadCredentials):
		return "Your current password is not right.", nil
	}
	return "", err
}

// reasonOf is the part of a store error after its sentinel's text.
func reasonOf(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

func (p *Portal) totpPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	if v.user.TOTPEnabled {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.showTOTP(w, r, v, http.StatusOK, "")
}

func (p *Portal) showTOTP(w http.ResponseWriter, r *http.Request, v *visitor, status int, msg string) {
	e, err := p.acc.BeginTOTP(r.Context(), v.user)
	if err != nil {
		p.internal(w, r, v, err)
		return
	}
	p.render(w, status, "totp", page{Title: "Set up your authenticator app", V: v, Error: msg, Data: map[string]any{
		"Enrolment": e, "Required": v.user.Role.TOTPRequired(),
		"QR": template.URL(e.QRPNG), // a data: URI the store made, not user input
	}})
}

func (p *Portal) confirmTOTP(w http.ResponseWriter, r *http.Request, v *visitor) {
	err := p.acc.ConfirmTOTP(r.Context(), v.user, r.PostFormValue("code"), p.addr(r))
	var te *accounts.ThrottledError
	switch {
	case errors.As(err, &te):
		p.showTOTP(w, r, v, http.StatusTooManyRequests, fmt.Sprintf("Too many wrong codes. Wait %s and try again.", te.Wait.Round(time.Second)))
		return
	case errors.Is(err, accounts.ErrBadCode):
		p.showTOTP(w, r, v, http.StatusBadRequest, "That code does not match. Check the app shows the code for this registry, and that your device's clock is right.")
		return
	case err != nil:
		p.internal(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/?done=totp", http.StatusSeeOther)
}

// requestForm is the account request form's choices and values.
type requestForm struct {
	Orgs    []accounts.Organization
	Values  accounts.Request
	RoleKey string
	Done    bool
}

var requestRoles = []struct{ Key, Label string }{
	{"clinic_user", "Clinic user"},
	{"vaccine_coordinator:primary", "Vaccine coordinator (primary)"},
	{"vaccine_coordinator:backup", "Vaccine coordinator (backup)"},
	{"school_nurse", "School nurse"},
}

// RequestRoles are the roles the request form offers.
func (requestForm) Roles() []struct{ Key, Label string } { return requestRoles }

func (p *Portal) requestPage(w http.ResponseWriter, r *http.Request) {
	orgs, err := p.acc.Organizations(r.Context(), accounts.Clinic, accounts.School)
	if err != nil {
		p.internal(w, r, nil, err)
		return
	}
	p.render(w, http.StatusOK, "request", page{Title: "Request an account", CSRF: p.formToken(w), Data: requestForm{Orgs: orgs}})
}

func (p *Portal) submitRequest(w http.ResponseWriter, r *http.Request) {
	orgs, err := p.acc.Organizations(r.Context(), accounts.Clinic, accounts.School)
	if err != nil {
		p.internal(w, r, nil, err)
		return
	}
	orgID, _ := strconv.ParseInt(r.PostFormValue("org"), 10, 64)
	key := r.PostFormValue("role")
	role, coord, _ := strings.Cut(key, ":")
	f := requestForm{Orgs: orgs, RoleKey: key, Values: accounts.Request{FullName: r.PostFormValue("name"), Email: r.PostFormValue("email"),
		Phone: r.PostFormValue("phone"), OrgID: orgID, Role: accounts.Role(role), Coordinator: accounts.Coordinator(coord), Reason: r.PostFormValue("reason")}}
	if !p.formOK(r) {
		p.render(w, http.StatusForbidden, "request", page{Title: "Request an account", CSRF: p.formToken(w), Data: f,
			Error: "The form expired; please send it again."})
		return
	}
	var te *accounts.ThrottledError
	if _, err := p.acc.SubmitRequest(r.Context(), f.Values, p.addr(r)); errors.As(err, &te) {
		p.render(w, http.StatusTooManyRequests, "request", page{Title: "Request an account", CSRF: p.formToken(w), Data: f,
			Error: fmt.Sprintf("Many requests have come from your address; please send this one in %s.", te.Wait.Round(time.Second))})
		return
	} else if errors.Is(err, accounts.ErrInvalid) {
		p.render(w, http.StatusBadRequest, "request", page{Title: "Request an account", CSRF: p.formToken(w), Data: f,
			Error: "Please correct the form: " + reasonOf(err) + "."})
		return
	} else if err != nil {
		p.internal(w, r, nil, err)
		return
	}
	http.SetCookie(w, p.cookie(formCookie, "", -1))
	f.Done = true
	p.render(w, http.StatusOK, "request", page{Title: "Request sent", Data: f})
}

func (p *Portal) linkPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	u, err := p.acc.LinkUser(r.Context(), tok)
	if errors.Is(err, accounts.ErrInvalidLink) {
		p.render(w, http.StatusGone, "error", page{Title: "Link expired", Error: "This link has expired or was already used. " +
			"Ask for a new one with “Forgot your password?” on the sign-in page."})
		return
	} else if err != nil {
		p.internal(w, r, nil, err)
		return
	}
	p.render(w, http.StatusOK, "setpassword", page{Title: "Choose your password", CSRF: p.formToken(w), Data: map[string]any{
		"Token": tok, "Username": u.Username, "Min": accounts.MinPasswordLength}})
}

func (p *Portal) useLink(w http.ResponseWriter, r *http.Request) {
	tok, pw := r.PostFormValue("token"), r.PostFormValue("new_password")
	again := func(status int, msg, username string) {
		p.render(w, status, "setpassword", page{Title: "Choose your password", CSRF: p.formToken(w), Error: msg, Data: map[string]any{
			"Token": tok, "Username": username, "Min": accounts.MinPasswordLength}})
	}
	u, err := p.acc.LinkUser(r.Context(), tok)
	switch {
	case !p.formOK(r):
		again(http.StatusForbidden, "The form expired; please try again.", u.Username)
		return
	case errors.Is(err, accounts.ErrInvalidLink):
		p.render(w, http.StatusGone, "error", page{Title: "Link expired", Error: "This link has expired or was already used."})
		return
	case err != nil:
		p.internal(w, r, nil, err)
		return
	case pw != r.PostFormValue("confirm_password"):
		again(http.StatusBadRequest, "The two passwords differ.", u.Username)
		return
	}
	if _, err := p.acc.UseLink(r.Context(), tok, pw); errors.Is(err, accounts.ErrWeakPassword) {
		again(http.StatusBadRequest, "Choose a stronger password: "+reasonOf(err)+".", u.Username)
		return
	} else if err != nil {
		p.internal(w, r, nil, err)
		return
	}
	http.SetCookie(w, p.cookie(formCookie, "", -1))
	http.Redirect(w, r, "/signin?done=set", http.StatusSeeOther)
}

func (p *Portal) forgotPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, "forgot", page{Title: "Forgot your password?", CSRF: p.formToken(w)})
}

func (p *Portal) forgot(w http.ResponseWriter, r *http.Request) {
	if !p.formOK(r) {
		p.render(w, http.StatusForbidden, "forgot", page{Title: "Forgot your password?", CSRF: p.formToken(w), Error: "The form expired; please try again."})
		return
	}
	if err := p.acc.ForgotPassword(r.Context(), r.PostFormValue("who"), p.addr(r), p.baseURL()); err != nil {
		p.internal(w, r, nil, err)
		return
	}
	http.SetCookie(w, p.cookie(formCookie, "", -1))
	p.render(w, http.StatusOK, "forgot", page{Title: "Check your email", Data: true})
}

func (p *Portal) requestsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	p.showRequests(w, r, v, http.StatusOK, flash(r), "")
}

func (p *Portal) showRequests(w http.ResponseWriter, r *http.Request, v *visitor, status int, fl, msg string) {
	reqs, err := p.acc.PendingRequests(r.Context())
	if err != nil {
		p.internal(w, r, v, err)
		return
	}
	p.render(w, status, "requests", page{Title: "Account requests", Nav: "requests", V: v, Flash: fl, Error: msg, Data: reqs})
}

func (p *Portal) decide(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		p.fail(w, r, v, http.StatusNotFound, "No such request.")
		return
	}
	var done string
	switch r.PostFormValue("decision") {
	case "approve":
		_, err = p.acc.Approve(r.Context(), v.user, id, p.baseURL())
		done = "approved"
	case "deny":
		err, done = p.acc.Deny(r.Context(), v.user, id, r.PostFormValue("reason")), "denied"
	default:
		err = fmt.Errorf("%w: approve or deny", accounts.ErrInvalid)
	}
	switch {
	case errors.Is(err, accounts.ErrDecided), errors.Is(err, accounts.ErrNotFound):
		p.showRequests(w, r, v, http.StatusConflict, "", "That request was already decided (perhaps by a colleague).")
	case errors.Is(err, accounts.ErrUsernameTaken):
		p.showRequests(w, r, v, http.StatusConflict, "", "An account with that email address as its username exists already: deny the request, giving that as the reason.")
	case errors.Is(err, accounts.ErrCoordinatorTaken):
		p.showRequests(w, r, v, http.StatusConflict, "", "The clinic already has an enabled vaccine coordinator in that place: deny the request, or disable the current one first.")
	case errors.Is(err, accounts.ErrInvalid):
		p.showRequests(w, r, v, http.StatusBadRequest, "", "Cannot do that: "+reasonOf(err)+".")
	case err != nil:
		p.internal(w, r, v, err)
	default:
		http.Redirect(w, r, "/admin/requests?done="+done, http.StatusSeeOther)
	}
}

func (p *Portal) usersPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	p.showUsers(w, r, v, http.StatusOK, flash(r), "")
}

// usersData is the users page: the users, and the add-a-user form's
// choices.
type usersData struct {
	Users []accounts.User
	Orgs  []accounts.Organization
}

// RoleChoices are every role, a vaccine coordinator's place included, as
// form values ("vaccine_coordinator:backup") and labels.
func (usersData) RoleChoices() []struct{ Key, Label string } {
	var out []struct{ Key, Label string }
	for _, r := range accounts.Roles {
		if r == accounts.VaccineCoordinator {
			out = append(out, struct{ Key, Label string }{string(r) + ":primary", r.Label() + " (primary)"},
				struct{ Key, Label string }{string(r) + ":backup", r.Label() + " (backup)"})
			continue
		}
		out = append(out, struct{ Key, Label string }{string(r), r.Label()})
	}
	return out
}

func (p *Portal) showUsers(w http.ResponseWriter, r *http.Request, v *visitor, status int, fl, msg string) {
	users, err := p.acc.Users(r.Context())
	if err != nil {
		p.internal(w, r, v, err)
		return
	}
	orgs, err := p.acc.Organizations(r.Context())
	if err != nil {
		p.internal(w, r, v, err)
		return
	}
	p.render(w, status, "users", page{Title: "Users", Nav: "users", V: v, Flash: fl, Error: msg,
		Data: usersData{Users: users, Orgs: orgs}})
}

func (p *Portal) addUser(w http.ResponseWriter, r *http.Request, v *visitor) {
	orgID, _ := strconv.ParseInt(r.PostFormValue("org"), 10, 64)
	role, coord, _ := strings.Cut(r.PostFormValue("role"), ":")
	_, err := p.acc.CreateAccount(r.Context(), v.user, accounts.NewUser{FullName: r.PostFormValue("name"), Email: r.PostFormValue("email"),
		Phone: r.PostFormValue("phone"), OrgID: orgID, Role: accounts.Role(role), Coordinator: accounts.Coordinator(coord)}, p.baseURL())
	switch {
	case errors.Is(err, accounts.ErrUsernameTaken):
		p.showUsers(w, r, v, http.StatusConflict, "", "An account with that email address exists already.")
	case errors.Is(err, accounts.ErrCoordinatorTaken):
		p.showUsers(w, r, v, http.StatusConflict, "", "The clinic already has an enabled vaccine coordinator in that place.")
	case errors.Is(err, accounts.ErrInvalid), errors.Is(err, accounts.ErrNotFound):
		p.showUsers(w, r, v, http.StatusBadRequest, "", "Cannot add that user: "+reasonOf(err)+".")
	case err != nil:
		p.internal(w, r, v, err)
	default:
		http.Redirect(w, r, "/admin/users?done=created", http.StatusSeeOther)
	}
}

func (p *Portal) userAction(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		p.fail(w, r, v, http.StatusNotFound, "No such user.")
		return
	}
	action := r.PostFormValue("action")
	switch action {
	case "disable":
		err = p.acc.Disable(r.Context(), v.user, id, r.PostFormValue("reason"))
		action = "disabled"
	case "enable":
		err = p.acc.Enable(r.Context(), v.user, id)
		action = "enabled"
	case "reset":
		err = p.acc.ResetPassword(r.Context(), v.user, id, p.baseURL())
	case "role":
		role, coord, _ := strings.Cut(r.PostFormValue("role"), ":")
		err = p.acc.ChangeRole(r.Context(), v.user, id, accounts.Role(role), accounts.Coordinator(coord))
		action = "role"
	case "reset-totp":
		err = p.acc.ResetTOTP(r.Context(), v.user, id)
		action = "totp-reset"
	default:
		err = fmt.Errorf("%w: unknown action", accounts.ErrInvalid)
	}
	switch {
	case errors.Is(err, accounts.ErrCoordinatorTaken):
		p.showUsers(w, r, v, http.StatusConflict, "", "The clinic has another enabled vaccine coordinator in that place; disable that one first.")
	case errors.Is(err, accounts.ErrInvalid):
		p.showUsers(w, r, v, http.StatusBadRequest, "", "Cannot do that: "+reasonOf(err)+".")
	case errors.Is(err, accounts.ErrNotFound):
		p.showUsers(w, r, v, http.StatusConflict, "", "Nothing to do: the account was already in that state.")
	case err != nil:
		p.internal(w, r, v, err)
	default:
		http.Redirect(w, r, "/admin/users?done="+action, http.StatusSeeOther)
	}
}

func (p *Portal) outboxPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	mails, err := p.acc.Outbox(r.Context(), 100)
	if err != nil {
		p.internal(w, r, v, err)
		return
	}
	p.render(w, http.StatusOK, "outbox", page{Title: "Outbox", Nav: "outbox", V: v, Flash: flash(r), Data: mails})
}

func (p *Portal) retryMail(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = p.acc.Retry(r.Context(), v.user, id)
	}
	switch {
	case errors.Is(err, accounts.ErrNotFound), errors.Is(err, strconv.ErrSyntax):
		p.fail(w, r, v, http.StatusConflict, "That message is not a failed one (perhaps already sent again).")
	case err != nil:
		p.internal(w, r, v, err)
	default:
		http.Redirect(w, r, "/admin/outbox?done=retry", http.StatusSeeOther)
	}
}

func (p *Portal) orgsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	p.showOrgs(w, r, v, http.StatusOK, flash(r), "")
}

func (p *Portal) showOrgs(w http.ResponseWriter, r *http.Request, v *visitor, status int, fl, msg string) {
	orgs, err := p.acc.Organizations(r.Context())
	if err != nil {
		p.internal(w, r, v, err)
		return
	}
	p.render(w, status, "orgs", page{Title: "Organizations", Nav: "orgs", V: v, Flash: fl, Error: msg, Data: orgs})
}

func (p *Portal) addOrg(w http.ResponseWriter, r *http.Request, v *visitor) {
	_, err := p.acc.AddOrganization(r.Context(), v.user, accounts.Organization{Kind: accounts.OrgKind(r.PostFormValue("kind")),
		Name: r.PostFormValue("name"), Town: r.PostFormValue("town"), FacilityID: r.PostFormValue("facility_id")})
	switch {
	case errors.Is(err, accounts.ErrInvalid), errors.Is(err, accounts.ErrOrgExists):
		p.showOrgs(w, r, v, http.StatusBadRequest, "", "Cannot add it: "+reasonOf(err)+".")
	case err != nil:
		p.internal(w, r, v, err)
	default:
		http.Redirect(w, r, "/admin/organizations?done=org-added", http.StatusSeeOther)
	}
}
