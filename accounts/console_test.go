package accounts

import (
	"context"
	"testing"
)

func TestConsoleAccess(t *testing.T) {
	for _, tc := range []struct {
		role Role
		want ConsoleAccess
	}{
		{ProgramAdmin, ConsoleAdmin},
		{IntegrationEngineer, ConsoleChange},
		{ProgramStaff, ConsoleView},
		{ClinicUser, NoConsole},
		{VaccineCoordinator, NoConsole},
		{SchoolNurse, NoConsole},
		{"nobody", NoConsole},
	} {
		if got := tc.role.Console(); got != tc.want {
			t.Errorf("%s: console %q, want %q", tc.role, got, tc.want)
		}
	}
	// Every role a console user is imported as opens the console.
	for _, cr := range []string{"viewer", "engineer", "admin"} {
		r, err := RoleForConsole(cr)
		if err != nil || r.Console() == NoConsole {
			t.Errorf("console role %s: %s %v", cr, r, err)
		}
	}
}

// TestImportConsoleUsers: console_users become accounts of the program
// with their password hashes, once; existing usernames are left alone.
func TestImportConsoleUsers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	users := []ConsoleUser{
		{Username: "vic", PasswordHash: testHash, Role: "viewer"},
		{Username: "eng", PasswordHash: testHash, Role: "engineer"},
		{Username: "boss", PasswordHash: testHash, Role: "admin"},
		{Username: "sam", PasswordHash: testHash, Role: "admin"}, // program staff already
	}
	for range 2 { // every start
		if err := f.s.ImportConsoleUsers(ctx, "Department of Public Health", users, nil); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]Role{"vic": IntegrationEngineer, "eng": IntegrationEngineer, "boss": ProgramAdmin, "sam": ProgramStaff} {
		u, err := f.s.UserByUsername(ctx, name)
		if err != nil || u.Role != want || u.OrgID != f.program {
			t.Errorf("%s: %+v %v, want a %s of the program", name, u, err, want)
		}
	}
	if u, err := f.s.SignIn(ctx, "eng", "program-admin-pw", "192.0.2.1"); err != nil || u.Username != "eng" {
		t.Errorf("imported user's password: %v", err)
	}
	if n := f.audits(t, "account-import-console"); n != 3 {
		t.Errorf("%d import audit rows, want 3", n)
	}
	if err := f.s.ImportConsoleUsers(ctx, "Department of Public Health", []ConsoleUser{{Username: "x", PasswordHash: testHash, Role: "root"}}, nil); err == nil {
		t.Error("unknown console role accepted")
	}
	if err := f.s.ImportConsoleUsers(ctx, "No Such Program", []ConsoleUser{{Username: "y", PasswordHash: testHash, Role: "viewer"}}, nil); err == nil {
		t.Error("import into a missing program accepted")
	}
}
