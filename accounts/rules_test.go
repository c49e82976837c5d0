package accounts

import (
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestScope(t *testing.T) {
	reported := Relationship{Reported: true}
	queried := Relationship{Queried: true}
	searched := Relationship{Searched: true, SearchReason: "new patient transferring in"}
	searchedNoReason := Relationship{Searched: true}
	none := Relationship{}
	optedOut := Relationship{Reported: true, OptedOut: true}
	tests := []struct {
		role Role
		rel  Relationship
		want Access
	}{
		{ProgramAdmin, none, FullRecord},
		{ProgramStaff, none, FullRecord},
		{ProgramStaff, optedOut, FullRecord},
		{ProgramAdmin, optedOut, FullRecord},
		{ClinicUser, reported, FullRecord},
		{ClinicUser, queried, FullRecord},
		{ClinicUser, searched, FullRecord},
		{ClinicUser, searchedNoReason, NoAccess},
		{ClinicUser, none, NoAccess},
		{ClinicUser, optedOut, NoAccess},
		{VaccineCoordinator, reported, FullRecord},
		{VaccineCoordinator, Relationship{Searched: true, SearchReason: "x", OptedOut: true}, NoAccess},
		{SchoolNurse, searched, CertificateOnly},
		{SchoolNurse, reported, NoAccess}, // a school does not report doses; it finds by name and birth date
		{SchoolNurse, searchedNoReason, NoAccess},
		{SchoolNurse, Relationship{Searched: true, SearchReason: "kindergarten entry", OptedOut: true}, NoAccess},
		{IntegrationEngineer, reported, NoAccess},
		{IntegrationEngineer, searched, NoAccess},
		{Role("stranger"), reported, NoAccess},
	}
	for _, tc := range tests {
		if got := Scope(tc.role, tc.rel); got != tc.want {
			t.Errorf("Scope(%s, %+v) = %s, want %s", tc.role, tc.rel, got, tc.want)
		}
	}
}

func TestRolePermissions(t *testing.T) {
	tests := []struct {
		role                               Role
		decide, reset, manage, outbox, org bool
		totp                               bool
		kind                               OrgKind
		requestable                        bool
	}{
		{ProgramAdmin, true, true, true, true, true, true, Program, false},
		{ProgramStaff, true, true, false, false, false, true, Program, false},
		{ClinicUser, false, false, false, false, false, false, Clinic, true},
		{VaccineCoordinator, false, false, false, false, false, false, Clinic, true},
		{SchoolNurse, false, false, false, false, false, false, School, true},
		{IntegrationEngineer, false, false, false, false, false, false, Program, false},
	}
	for _, tc := range tests {
		got := []bool{tc.role.May(DecideRequests), tc.role.May(ResetPasswords), tc.role.May(ManageUsers), tc.role.May(ReadOutbox),
			tc.role.May(ManageOrganizations), tc.role.TOTPRequired()}
		want := []bool{tc.decide, tc.reset, tc.manage, tc.outbox, tc.org, tc.totp}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: permission %d = %v, want %v", tc.role, i, got[i], want[i])
			}
		}
		if tc.role.OrgKind() != tc.kind || tc.role.Requestable() != tc.requestable || !tc.role.Valid() {
			t.Errorf("%s: kind %s requestable %v valid %v", tc.role, tc.role.OrgKind(), tc.role.Requestable(), tc.role.Valid())
		}
	}
	if Role("admin").Valid() {
		t.Error("console role admin taken for an accounts role")
	}
}

func TestRoleForConsole(t *testing.T) {
	for in, want := range map[string]Role{"viewer": IntegrationEngineer, "engineer": IntegrationEngineer, "admin": ProgramAdmin} {
		if got, err := RoleForConsole(in); err != nil || got != want {
			t.Errorf("RoleForConsole(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := RoleForConsole("root"); err == nil {
		t.Error("RoleForConsole(root) accepted")
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		user, pw string
		ok       bool
	}{
		{"ana@clinic.org", "correct horse battery", true},
		{"ana@clinic.org", "short-pw", false},
		{"ana@clinic.org", "", false},
		{"ana", "my-name-is-ANA-2026", false},
		{"ana", "aaaaaaaaaaaaaaaa", false},
		{"ana", "ééééééééééé", false}, // 11 characters, 22 bytes
		{"ana", "éééééééééééx", true},
	}
	for _, tc := range tests {
		err := CheckPassword(tc.user, tc.pw)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrWeakPassword) {
			t.Errorf("CheckPassword(%q, %q) = %v, want ok=%v", tc.user, tc.pw, err, tc.ok)
		}
	}
}

func TestMatchCode(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXP"
	now := time.Unix(1_800_000_015, 0)
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	step := now.Unix() / 30
	tests := []struct {
		name     string
		code     string
		last     int64
		ok       bool
		wantStep int64
	}{
		{"current", code(now), 0, true, step},
		{"previous period", code(now.Add(-30 * time.Second)), 0, true, step - 1},
		{"next period (clock skew)", code(now.Add(30 * time.Second)), 0, true, step + 1},
		{"two periods old", code(now.Add(-60 * time.Second)), 0, false, 0},
		{"replayed", code(now), step, false, 0},
		{"older than the last used", code(now.Add(-30 * time.Second)), step - 1, false, 0},
		{"wrong", "000000", 0, code(now) == "000000", step},
		{"too short", code(now)[:5], 0, false, 0},
	}
	for _, tc := range tests {
		got, ok := matchCode(secret, tc.code, now, tc.last)
		if ok != tc.ok || ok && got != tc.wantStep {
			t.Errorf("%s: matchCode = %d, %v; want %d, %v", tc.name, got, ok, tc.wantStep, tc.ok)
		}
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)} }

func TestThrottle(t *testing.T) {
	type step struct {
		advance time.Duration
		op      string // "fail", "ok", or "wait" (assert Wait)
		user    string
		addr    string
		want    time.Duration // for "wait"
	}
	cfg := ThrottleConfig{FreeFailures: 3, BaseDelay: time.Second, MaxDelay: 8 * time.Second, Forget: time.Hour, UserLimit: 20, UserWindow: 15 * time.Minute}
	tests := []struct {
		name      string
		userLimit int
		steps     []step
	}{
		{"free failures cost nothing", 0, []step{
			{op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "A"},
			{op: "wait", user: "ana", addr: "A", want: 0},
		}},
		{"delay doubles per failure and is capped", 0, []step{
			{op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "A"},
			{op: "wait", user: "ana", addr: "A", want: time.Second},
			{advance: time.Second, op: "fail", user: "ana", addr: "A"},
			{op: "wait", user: "ana", addr: "A", want: 2 * time.Second},
			{advance: 2 * time.Second, op: "fail", user: "ana", addr: "A"},
			{op: "wait", user: "ana", addr: "A", want: 4 * time.Second},
			{advance: 4 * time.Second, op: "fail", user: "ana", addr: "A"},
			{op: "wait", user: "ana", addr: "A", want: 8 * time.Second},
			{advance: 8 * time.Second, op: "fail", user: "ana", addr: "A"},
			{op: "wait", user: "ana", addr: "A", want: 8 * time.Second},
			{advance: 8 * time.Second, op: "wait", user: "ana", addr: "A", want: 0},
		}},
		{"another address is not delayed", 0, []step{
			{op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "A"},
			{op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "A"},
			{op: "wait", user: "ana", addr: "A", want: 4 * time.Second},
			{op: "wait", user: "ana", addr: "B", want: 0},
			{op: "wait", user: "bob", addr: "A", want: 0},
		}},
		{"usernames are case-insensitive", 0, []step{
			{op: "fail", user: "Ana", addr: "A"}, {op: "fail", user: "ANA ", addr: "A"}, {op: "fail", user: "ana", addr: "A"},
			{op: "wait", user: "ana", addr: "A", want: time.Second},
		}},
		{"success clears the address only", 0, []step{
			{op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "A"},
			{op: "fail", user: "ana", addr: "B"}, {op: "fail", user: "ana", addr: "B"}, {op: "fail", user: "ana", addr: "B"},
			{op: "ok", user: "ana", addr: "B"},
			{op: "wait", user: "ana", addr: "B", want: 0},
			{op: "wait", user: "ana", addr: "A", want: time.Second},
		}},
		{"the per-user limit spans addresses", 6, []step{
			{op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "B"}, {op: "fail", user: "ana", addr: "C"},
			{op: "fail", user: "ana", addr: "D"}, {op: "fail", user: "ana", addr: "E"},
			{op: "wait", user: "ana", addr: "F", want: 0},
			{advance: time.Minute, op: "fail", user: "ana", addr: "F"}, // the 6th within the window
			{op: "wait", user: "ana", addr: "G", want: 14 * time.Minute},
			{advance: 14 * time.Minute, op: "wait", user: "ana", addr: "G", want: 0},
		}},
		{"an address's failures are forgotten after an hour", 0, []step{
			{op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "A"}, {op: "fail", user: "ana", addr: "A"},
			{op: "fail", user: "ana", addr: "A"},
			{advance: time.Hour + 3*time.Second, op: "fail", user: "ana", addr: "A"},
			{op: "wait", user: "ana", addr: "A", want: 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			cfg := cfg
			if tc.userLimit > 0 {
				cfg.UserLimit = tc.userLimit
			}
			th := NewThrottle(cfg, c.now)
			for i, s := range tc.steps {
				c.add(s.advance)
				switch s.op {
				case "fail":
					th.Failure(s.user, s.addr)
				case "ok":
					th.Success(s.user, s.addr)
				case "wait":
					if got := th.Wait(s.user, s.addr); got != s.want {
						t.Errorf("step %d: Wait(%s, %s) = %s, want %s", i, s.user, s.addr, got, s.want)
					}
				}
			}
		})
	}
}

// TestThrottleOneAttacker: one address trying as fast as it is let through
// for the whole window reaches far fewer failures than the per-user limit,
// so it cannot lock the user out of other addresses.
func TestThrottleOneAttacker(t *testing.T) {
	c := newClock()
	th := NewThrottle(ThrottleConfig{}, c.now) // defaults: 3 free, 1s doubling to 15m; 100 per user in 15m
	tries := 0
	for end := c.t.Add(15 * time.Minute); c.t.Before(end); {
		if w := th.Wait("ana", "203.0.113.9"); w > 0 {
			c.add(w)
			continue
		}
		th.Failure("ana", "203.0.113.9")
		tries++
	}
	if tries >= 100/4 {
		t.Errorf("one address made %d tries in 15 minutes", tries)
	}
	if w := th.Wait("ana", "198.51.100.7"); w != 0 {
		t.Errorf("the user's own address must wait %s after an attack from another", w)
	}
	t.Logf("one address: %d tries in 15 minutes", tries)
}
