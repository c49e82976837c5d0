package accounts

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/soap"
)

type fixture struct {
	s       *Store
	pool    *pgxpool.Pool
	reg     *registry.Store
	clock   *clock
	program int64
	clinic  int64
	school  int64
	admin   User
	staff   User
}

var testHash = func() string {
	h, err := soap.HashPassword("program-admin-pw")
	if err != nil {
		panic(err)
	}
	return h
}()

func newFixture(t testing.TB) *fixture {
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
	f := &fixture{pool: pool, reg: registry.New(pool, registry.Config{}), clock: newClock()}
	f.s = f.store(t)
	if err := f.s.Bootstrap(ctx, Bootstrap{Program: "Department of Public Health", AdminUsername: "admin", AdminEmail: "admin@dph.example",
		AdminPasswordHash: testHash, Organizations: []Organization{
			{Kind: Clinic, Name: "Elm Street Pediatrics", Town: "Hartford", FacilityID: "ELMPEDS"},
			{Kind: School, Name: "Lincoln Elementary", Town: "New Haven"},
		}}); err != nil {
		t.Fatal(err)
	}
	orgs, err := f.s.Organizations(ctx)
	if err != nil || len(orgs) != 3 {
		t.Fatalf("organizations %v %v", orgs, err)
	}
	for _, o := range orgs {
		switch o.Kind {
		case Program:
			f.program = o.ID
		case Clinic:
			f.clinic = o.ID
		case School:
			f.school = o.ID
		}
	}
	if f.admin, err = f.s.UserByUsername(ctx, "ADMIN"); err != nil {
		t.Fatal(err)
	}
	id, err := f.s.CreateUser(ctx, NewUser{Username: "sam", FullName: "Sam Staff", Email: "sam@dph.example", OrgID: f.program, Role: ProgramStaff, PasswordHash: testHash})
	if err != nil {
		t.Fatal(err)
	}
	if f.staff, err = f.s.User(ctx, id); err != nil {
		t.Fatal(err)
	}
	return f
}

// store is another Store over the same database (a second iisd).
func (f *fixture) store(t testing.TB) *Store {
	s, err := New(Config{Pool: f.pool, Audit: f.reg, Now: f.clock.now,
		Throttle: ThrottleConfig{FreeFailures: 3, BaseDelay: time.Second, MaxDelay: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) audits(t *testing.T, action string) int {
	var n int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var linkRE = regexp.MustCompile(`/set-password\?token=([A-Za-z0-9_-]+)`)

// lastLink returns the one-time link token in the newest mail to addr.
func (f *fixture) lastMail(t *testing.T, to string) (Mail, string) {
	t.Helper()
	ms, err := f.s.Outbox(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.To == to {
			tok := ""
			if sm := linkRE.FindStringSubmatch(m.Body); sm != nil {
				tok = sm[1]
			}
			return m, tok
		}
	}
	t.Fatalf("no mail to %s in %d", to, len(ms))
	return Mail{}, ""
}

func TestRequestApproveSetPassword(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good := Request{FullName: "Nora Nurse", Email: "Nora@Elm.example", Phone: "860-555-0100", OrgID: f.clinic, Role: ClinicUser,
		Reason: "I give the vaccines at Elm Street"}
	bad := []struct {
		name string
		edit func(*Request)
	}{
		{"no name", func(r *Request) { r.FullName = " " }},
		{"bad email", func(r *Request) { r.Email = "nora at elm" }},
		{"email with a name", func(r *Request) { r.Email = "Nora <nora@elm.example>" }},
		{"program role", func(r *Request) { r.Role = ProgramAdmin }},
		{"school role at a clinic", func(r *Request) { r.Role = SchoolNurse }},
		{"clinic role at a school", func(r *Request) { r.OrgID = f.school }},
		{"coordinator without place", func(r *Request) { r.Role = VaccineCoordinator }},
		{"place without coordinator", func(r *Request) { r.Coordinator = Primary }},
		{"no reason", func(r *Request) { r.Reason = "" }},
		{"unknown organization", func(r *Request) { r.OrgID = 999 }},
	}
	for _, b := range bad {
		r := good
		b.edit(&r)
		if _, err := f.s.SubmitRequest(ctx, r, "192.0.2.1"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", b.name, err)
		}
	}
	id, err := f.s.SubmitRequest(ctx, good, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := f.s.PendingRequests(ctx)
	if err != nil || len(pending) != 1 || pending[0].ID != id || pending[0].OrgName != "Elm Street Pediatrics" || pending[0].HasPrimary {
		t.Fatalf("pending %+v %v", pending, err)
	}
	// A clinic user may not decide.
	clinicUser := User{ID: 0, Role: ClinicUser}
	if _, err := f.s.Approve(ctx, clinicUser, id, "http://iis.example"); !errors.Is(err, ErrInvalid) {
		t.Errorf("clinic user approved: %v", err)
	}
	u, err := f.s.Approve(ctx, f.staff, id, "http://iis.example/")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "nora@elm.example" || u.Role != ClinicUser || u.OrgName != "Elm Street Pediatrics" || u.PasswordSet {
		t.Errorf("approved user %+v", u)
	}
	if _, err := f.s.Approve(ctx, f.staff, id, "http://iis.example"); !errors.Is(err, ErrDecided) {
		t.Errorf("approved twice: %v", err)
	}
	m, tok := f.lastMail(t, "Nora@Elm.example")
	if tok == "" || !strings.Contains(m.Body, "nora@elm.example") || !strings.Contains(m.Body, "http://iis.example/set-password?token=") || m.Status != "pending" {
		t.Fatalf("approval mail %+v", m)
	}
	// No password yet: nobody can sign in as Nora.
	if _, err := f.s.SignIn(ctx, "nora@elm.example", "", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("sign-in before a password: %v", err)
	}
	if _, err := f.s.UseLink(ctx, tok, "short"); !errors.Is(err, ErrWeakPassword) {
		t.Errorf("weak password: %v", err)
	}
	if _, err := f.s.UseLink(ctx, "forged"+tok[6:], "a long enough passphrase"); !errors.Is(err, ErrInvalidLink) {
		t.Errorf("forged link: %v", err)
	}
	if _, err := f.s.UseLink(ctx, tok, "a long enough passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UseLink(ctx, tok, "another long passphrase"); !errors.Is(err, ErrInvalidLink) {
		t.Errorf("link used twice: %v", err)
	}
	got, err := f.s.SignIn(ctx, "Nora@elm.example", "a long enough passphrase", "192.0.2.1")
	if err != nil || got.ID != u.ID || NeedsTOTP(got) {
		t.Fatalf("sign-in %+v %v", got, err)
	}
	for _, a := range []string{"account-request", "account-approve", "password-set-by-link", "sign-in-failed"} {
		if f.audits(t, a) == 0 {
			t.Errorf("no %s in the audit log", a)
		}
	}
	// The link's token itself is nowhere in the database.
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM user_tokens WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%'`, tok).Scan(&n); err != nil || n != 0 {
		t.Errorf("token stored in clear: %d %v", n, err)
	}
}

func TestDeny(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id, err := f.s.SubmitRequest(ctx, Request{FullName: "Sid School", Email: "sid@lincoln.example", OrgID: f.school, Role: SchoolNurse,
		Reason: "kindergarten entry checks"}, "192.0.2.2")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Deny(ctx, f.staff, id, "  "); !errors.Is(err, ErrInvalid) {
		t.Errorf("denial without reason: %v", err)
	}
	if err := f.s.Deny(ctx, f.staff, id, "Lincoln Elementary's nurse already has an account; ask her."); err != nil {
		t.Fatal(err)
	}
	m, tok := f.lastMail(t, "sid@lincoln.example")
	if tok != "" || !strings.Contains(m.Body, "denied") || !strings.Contains(m.Body, "already has an account") {
		t.Errorf("denial mail %+v", m)
	}
	if err := f.s.Deny(ctx, f.staff, id, "again"); !errors.Is(err, ErrDecided) {
		t.Errorf("denied twice: %v", err)
	}
	if p, _ := f.s.PendingRequests(ctx); len(p) != 0 {
		t.Errorf("still pending: %+v", p)
	}
	if f.audits(t, "account-deny") != 1 {
		t.Error("denial not audited")
	}
}

func TestCoordinators(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mk := func(name string, c Coordinator) (int64, error) {
		return f.s.CreateUser(ctx, NewUser{Username: name, FullName: name, Email: name + "@elm.example", OrgID: f.clinic, Role: VaccineCoordinator, Coordinator: c})
	}
	first, err := mk("pat", Primary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mk("bea", Backup); err != nil {
		t.Fatal(err)
	}
	if _, err := mk("pia", Primary); !errors.Is(err, ErrCoordinatorTaken) {
		t.Errorf("second primary: %v", err)
	}
	if _, err := mk("PAT", Backup); !errors.Is(err, ErrUsernameTaken) {
		t.Errorf("username differing in case: %v", err)
	}
	if _, err := f.s.CreateUser(ctx, NewUser{Username: "x", FullName: "x", OrgID: f.clinic, Role: ClinicUser, Coordinator: Primary}); !errors.Is(err, ErrInvalid) {
		t.Errorf("clinic user as coordinator: %v", err)
	}
	if _, err := f.s.CreateUser(ctx, NewUser{Username: "y", FullName: "y", OrgID: f.school, Role: ClinicUser}); !errors.Is(err, ErrInvalid) {
		t.Errorf("clinic user at a school: %v", err)
	}
	// Disabling the primary frees the place; re-enabling it then clashes.
	if err := f.s.Disable(ctx, f.staff, first, "left"); !errors.Is(err, ErrInvalid) {
		t.Errorf("program staff disabled a user: %v", err)
	}
	if err := f.s.Disable(ctx, f.admin, first, "left the clinic"); err != nil {
		t.Fatal(err)
	}
	if _, err := mk("pia", Primary); err != nil {
		t.Fatalf("primary after the first was disabled: %v", err)
	}
	if err := f.s.Enable(ctx, f.admin, first); !errors.Is(err, ErrCoordinatorTaken) {
		t.Errorf("re-enabling a second primary: %v", err)
	}
	// The backup becomes primary once the place is free; roles must fit
	// the organization.
	bea, _ := f.s.UserByUsername(ctx, "bea")
	if err := f.s.ChangeRole(ctx, f.admin, bea.ID, VaccineCoordinator, Primary); !errors.Is(err, ErrCoordinatorTaken) {
		t.Errorf("second primary by role change: %v", err)
	}
	pia, _ := f.s.UserByUsername(ctx, "pia")
	if err := f.s.ChangeRole(ctx, f.admin, pia.ID, ClinicUser, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.s.ChangeRole(ctx, f.admin, bea.ID, VaccineCoordinator, Primary); err != nil {
		t.Errorf("backup to primary: %v", err)
	}
	if err := f.s.ChangeRole(ctx, f.admin, pia.ID, SchoolNurse, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("school nurse at a clinic: %v", err)
	}
	if err := f.s.ChangeRole(ctx, f.staff, pia.ID, VaccineCoordinator, Backup); !errors.Is(err, ErrInvalid) {
		t.Errorf("program staff changed a role: %v", err)
	}
	if got, _ := f.s.User(ctx, bea.ID); got.Role != VaccineCoordinator || got.Coordinator != Primary {
		t.Errorf("bea is %s %s", got.Role, got.Coordinator)
	}
	if err := f.s.Disable(ctx, f.admin, f.admin.ID, "oops"); !errors.Is(err, ErrInvalid) {
		t.Errorf("disabled oneself: %v", err)
	}
}

func TestSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u, err := f.s.SignIn(ctx, "admin", "program-admin-pw", "192.0.2.3")
	if err != nil {
		t.Fatal(err)
	}
	tok, ss, err := f.s.StartSession(ctx, u, false, "192.0.2.3")
	if err != nil {
		t.Fatal(err)
	}
	// A second iisd sees the session.
	other := f.store(t)
	got, gu, err := other.Session(ctx, tok)
	if err != nil || got.CSRF != ss.CSRF || got.TOTPOK || gu.ID != u.ID {
		t.Fatalf("session from another store: %+v %+v %v", got, gu, err)
	}
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM user_sessions WHERE token_hash = convert_to($1, 'UTF8')`, tok).Scan(&n); err != nil || n != 0 {
		t.Errorf("token stored in clear: %d %v", n, err)
	}
	if err := f.s.FinishSignIn(ctx, tok, u, "192.0.2.3"); err != nil {
		t.Fatal(err)
	}
	if got, gu, err := f.s.Session(ctx, tok); err != nil || !got.TOTPOK || gu.LastSignIn == nil {
		t.Errorf("after the second factor: %+v %+v %v", got, gu, err)
	}
	// Used within the idle timeout it lasts; idle past it, it ends.
	f.clock.add(29 * time.Minute)
	if _, _, err := f.s.Session(ctx, tok); err != nil {
		t.Errorf("session after 29 idle minutes: %v", err)
	}
	f.clock.add(31 * time.Minute)
	if _, _, err := f.s.Session(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("session after 31 idle minutes: %v", err)
	}
	// A disabled user's sessions end at once.
	staffTok, _, err := f.s.StartSession(ctx, f.staff, true, "192.0.2.4")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Disable(ctx, f.admin, f.staff.ID, "left"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Session(ctx, staffTok); !errors.Is(err, ErrNotFound) {
		t.Errorf("disabled user's session: %v", err)
	}
	if _, err := f.s.SignIn(ctx, "sam", "program-admin-pw", "192.0.2.4"); !errors.Is(err, ErrDisabled) {
		t.Errorf("disabled user's sign-in: %v", err)
	}
	if err := f.s.Enable(ctx, f.admin, f.staff.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SignIn(ctx, "sam", "program-admin-pw", "192.0.2.4"); err != nil {
		t.Errorf("re-enabled user's sign-in: %v", err)
	}
	for _, a := range []string{"account-disable", "account-enable", "sign-in", "sign-in-disabled"} {
		if f.audits(t, a) == 0 {
			t.Errorf("no %s in the audit log", a)
		}
	}
}

func TestSignInThrottledPerAddress(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		_, err := f.s.SignIn(ctx, "admin", "guess", "203.0.113.9")
		var te *ThrottledError
		if !errors.Is(err, ErrBadCredentials) && !errors.As(err, &te) {
			t.Fatalf("try %d: %v", i, err)
		}
	}
	var te *ThrottledError
	if _, err := f.s.SignIn(ctx, "admin", "program-admin-pw", "203.0.113.9"); !errors.As(err, &te) {
		t.Errorf("the attacker's address is not delayed: %v", err)
	}
	// Another iisd over the same database counts the same failures.
	if _, err := f.store(t).SignIn(ctx, "admin", "program-admin-pw", "203.0.113.9"); !errors.As(err, &te) {
		t.Errorf("the attacker's address is not delayed by another iisd: %v", err)
	}
	if _, err := f.s.SignIn(ctx, "admin", "program-admin-pw", "198.51.100.7"); err != nil {
		t.Errorf("the real user, from another address: %v", err)
	}
	// Once the windows have passed, housekeeping forgets the failures.
	f.clock.add(time.Hour + time.Second)
	if err := f.s.PurgeSessions(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM signin_failures`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d failures left after the windows, %v", n, err)
	}
	if f.audits(t, "sign-in-throttled") == 0 || f.audits(t, "sign-in-failed") != 3 {
		t.Errorf("audit: throttled %d, failed %d", f.audits(t, "sign-in-throttled"), f.audits(t, "sign-in-failed"))
	}
}

func TestPasswordResetLinks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// By staff: the link works once, within the hour.
	if err := f.s.ResetPassword(ctx, f.staff, f.admin.ID, "http://iis.example"); err != nil {
		t.Fatal(err)
	}
	_, tok := f.lastMail(t, "admin@dph.example")
	f.clock.add(61 * time.Minute)
	if _, err := f.s.UseLink(ctx, tok, "a brand new passphrase"); !errors.Is(err, ErrInvalidLink) {
		t.Errorf("expired link: %v", err)
	}
	if _, err := f.s.SignIn(ctx, "admin", "program-admin-pw", "192.0.2.5"); err != nil {
		t.Errorf("the old password stops working before the link is used: %v", err)
	}
	// Forgotten by the user: unknown names send nothing, the same answer.
	before, _ := f.s.Outbox(ctx, 100)
	if err := f.s.ForgotPassword(ctx, "nobody@example", "192.0.2.5", "http://iis.example"); err != nil {
		t.Fatal(err)
	}
	if after, _ := f.s.Outbox(ctx, 100); len(after) != len(before) {
		t.Errorf("mail sent for an unknown user")
	}
	if err := f.s.ForgotPassword(ctx, "SAM@dph.example", "192.0.2.5", "http://iis.example"); err != nil {
		t.Fatal(err)
	}
	// Asking again at once sends nothing more.
	n, _ := f.s.Outbox(ctx, 100)
	if err := f.s.ForgotPassword(ctx, "sam", "192.0.2.5", "http://iis.example"); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.s.Outbox(ctx, 100); len(again) != len(n) {
		t.Error("a second reset mail within five minutes")
	}
	_, tok = f.lastMail(t, "sam@dph.example")
	staffTok, _, err := f.s.StartSession(ctx, f.staff, true, "192.0.2.5")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UseLink(ctx, tok, "a fresh passphrase 2027"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Session(ctx, staffTok); !errors.Is(err, ErrNotFound) {
		t.Errorf("sessions survive a password reset: %v", err)
	}
	if _, err := f.s.SignIn(ctx, "sam", "program-admin-pw", "192.0.2.5"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password after reset: %v", err)
	}
	if _, err := f.s.SignIn(ctx, "sam", "a fresh passphrase 2027", "192.0.2.5"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestTOTPEnrolment(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	e, err := f.s.BeginTOTP(ctx, f.admin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URI, "otpauth://totp/IIS:admin?") || !strings.Contains(e.URI, "secret="+e.Secret) || !strings.HasPrefix(e.QRPNG, "data:image/png;base64,") {
		t.Errorf("enrolment %+v", e)
	}
	again, err := f.s.BeginTOTP(ctx, f.admin)
	if err != nil || again.Secret != e.Secret {
		t.Errorf("reloading the enrolment changed the secret: %v", err)
	}
	code, _ := totp.GenerateCode(e.Secret, f.clock.now())
	if err := f.s.VerifyTOTP(ctx, f.admin, code, "x"); !errors.Is(err, ErrBadCode) {
		t.Errorf("verify before enrolment: %v", err)
	}
	if err := f.s.ConfirmTOTP(ctx, f.admin, code, "x"); err != nil {
		t.Fatal(err)
	}
	u, _ := f.s.User(ctx, f.admin.ID)
	if !NeedsTOTP(u) {
		t.Fatal("enrolled user needs no code")
	}
	if _, err := f.s.BeginTOTP(ctx, u); !errors.Is(err, ErrInvalid) {
		t.Errorf("enrolling twice: %v", err)
	}
	if err := f.s.VerifyTOTP(ctx, u, code, "x"); !errors.Is(err, ErrBadCode) {
		t.Errorf("code replayed: %v", err)
	}
	f.clock.add(30 * time.Second)
	next, _ := totp.GenerateCode(e.Secret, f.clock.now())
	if err := f.s.VerifyTOTP(ctx, u, next, "x"); err != nil {
		t.Errorf("next code: %v", err)
	}
	// The phone is lost: staff remove the authenticator; enrolment starts over.
	if err := f.s.ResetTOTP(ctx, User{Role: ClinicUser}, u.ID); !errors.Is(err, ErrInvalid) {
		t.Errorf("clinic user reset an authenticator: %v", err)
	}
	if err := f.s.ResetTOTP(ctx, f.staff, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.s.ResetTOTP(ctx, f.staff, u.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("reset twice: %v", err)
	}
	u, _ = f.s.User(ctx, u.ID)
	if NeedsTOTP(u) {
		t.Error("authenticator still in force")
	}
	if e2, err := f.s.BeginTOTP(ctx, u); err != nil || e2.Secret == e.Secret {
		t.Errorf("new enrolment: %v, same secret %v", err, e2.Secret == e.Secret)
	}
}

func TestDeliver(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.s.ResetPassword(ctx, f.staff, f.admin.ID, "http://iis.example"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.ResetPassword(ctx, f.admin, f.staff.ID, "http://iis.example"); err != nil {
		t.Fatal(err)
	}
	var sentTo []string
	flaky := 2 // the server refuses the first two tries to admin
	send := func(_ context.Context, m Mail) error {
		if m.To == "admin@dph.example" && flaky > 0 {
			flaky--
			return errors.New("451 try again later")
		}
		sentTo = append(sentTo, m.To)
		return nil
	}
	if n, fl, err := f.s.Deliver(ctx, send, 10); err != nil || n != 1 || fl != 0 {
		t.Fatalf("first round: sent %d failed %d %v", n, fl, err)
	}
	if n, _, _ := f.s.Deliver(ctx, send, 10); n != 0 {
		t.Errorf("retried before its time")
	}
	f.clock.add(time.Minute)
	if n, _, _ := f.s.Deliver(ctx, send, 10); n != 0 || flaky != 0 {
		t.Errorf("second try: sent %d, refusals left %d", n, flaky)
	}
	f.clock.add(2 * time.Minute)
	if n, _, _ := f.s.Deliver(ctx, send, 10); n != 1 {
		t.Errorf("third try sent %d", n)
	}
	ms, _ := f.s.Outbox(ctx, 10)
	for _, m := range ms {
		if m.Status != "sent" || m.SentAt == nil {
			t.Errorf("mail %d: %s", m.ID, m.Status)
		}
		if strings.Contains(m.Body, "token=") && !strings.Contains(m.Body, "token=(removed once sent)") {
			t.Errorf("sent mail %d keeps its link: %s", m.ID, m.Body)
		}
		if m.To == "admin@dph.example" && (m.Attempts != 3 || m.LastError != "") {
			t.Errorf("admin's mail: %d attempts, last error %q", m.Attempts, m.LastError)
		}
	}
	// A server that always refuses: failed after MaxAttempts.
	if err := f.s.ResetPassword(ctx, f.staff, f.admin.ID, "http://iis.example"); err != nil {
		t.Fatal(err)
	}
	refuse := func(context.Context, Mail) error { return errors.New("550 no such user") }
	for i := 0; i < MaxAttempts; i++ {
		f.clock.add(time.Duration(1<<i) * time.Minute)
		if _, _, err := f.s.Deliver(ctx, refuse, 10); err != nil {
			t.Fatal(err)
		}
	}
	ms, _ = f.s.Outbox(ctx, 1)
	if ms[0].Status != "failed" || ms[0].Attempts != MaxAttempts || ms[0].LastError != "550 no such user" {
		t.Errorf("undeliverable mail: %+v", ms[0])
	}
	if err := f.s.Retry(ctx, f.staff, ms[0].ID); !errors.Is(err, ErrInvalid) {
		t.Errorf("program staff retried: %v", err)
	}
	if err := f.s.Retry(ctx, f.admin, ms[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Retry(ctx, f.admin, ms[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("retrying a pending mail: %v", err)
	}
	if n, _, _ := f.s.Deliver(ctx, send, 10); n != 1 {
		t.Errorf("retried mail not sent: %d", n)
	}
}

func TestCreateAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	nu := NewUser{FullName: "Ivy Interface", Email: "Ivy@dph.example", OrgID: f.program, Role: IntegrationEngineer}
	if _, err := f.s.CreateAccount(ctx, f.staff, nu, "http://iis.example"); !errors.Is(err, ErrInvalid) {
		t.Errorf("program staff created an account: %v", err)
	}
	u, err := f.s.CreateAccount(ctx, f.admin, nu, "http://iis.example")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "ivy@dph.example" || u.Role != IntegrationEngineer || u.PasswordSet {
		t.Errorf("created %+v", u)
	}
	if _, tok := f.lastMail(t, "Ivy@dph.example"); tok == "" {
		t.Error("no set-password link sent")
	}
	if _, err := f.s.CreateAccount(ctx, f.admin, nu, "http://iis.example"); !errors.Is(err, ErrUsernameTaken) {
		t.Errorf("created twice: %v", err)
	}
	nu.Email, nu.Role = "x@dph.example", SchoolNurse
	if _, err := f.s.CreateAccount(ctx, f.admin, nu, "http://iis.example"); !errors.Is(err, ErrInvalid) {
		t.Errorf("school nurse at the program: %v", err)
	}
	if f.audits(t, "account-create") != 1 {
		t.Error("not audited")
	}
}

func TestRegistryRelationships(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	fake := fakeRegistry{"ELMPEDS": {Reported: true}, "": {}}
	rels := RegistryRelationships{Accounts: f.s, Registry: fake}
	nurse := User{Role: SchoolNurse, OrgID: f.school}
	clinic := User{Role: ClinicUser, OrgID: f.clinic}
	for _, tc := range []struct {
		u      User
		reason string
		want   Access
	}{
		{clinic, "", FullRecord},
		{nurse, "", NoAccess},
		{nurse, "kindergarten entry", CertificateOnly},
		{User{Role: ClinicUser, OrgID: f.clinic, DisabledAt: &f.clock.t}, "", NoAccess},
	} {
		got, err := PatientAccess(ctx, rels, tc.u, 1, tc.reason)
		if err != nil || got != tc.want {
			t.Errorf("%s %q: %s %v, want %s", tc.u.Role, tc.reason, got, err, tc.want)
		}
	}
}

// fakeRegistry answers by facility id.
type fakeRegistry map[string]registry.Relation

func (f fakeRegistry) Relation(_ context.Context, _ int64, _ int64, facility string) (registry.Relation, error) {
	return f[facility], nil
}

func TestRequestsThrottledPerAddress(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := Request{FullName: "Spam", Email: "spam@example.org", OrgID: f.clinic, Role: ClinicUser, Reason: "x"}
	for i := 0; i < 3; i++ {
		if _, err := f.s.SubmitRequest(ctx, r, "203.0.113.9"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	var te *ThrottledError
	if _, err := f.s.SubmitRequest(ctx, r, "203.0.113.9"); !errors.As(err, &te) {
		t.Errorf("fourth request at once: %v", err)
	}
	if _, err := f.s.SubmitRequest(ctx, r, "198.51.100.7"); err != nil {
		t.Errorf("from another address: %v", err)
	}
	f.clock.add(te.Wait)
	if _, err := f.s.SubmitRequest(ctx, r, "203.0.113.9"); err != nil {
		t.Errorf("after the wait: %v", err)
	}
}
