package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// ConsoleAccess is what a role may do in the operations console
// (/console/). The console signs people in through this package, so its
// permissions follow the role.
type ConsoleAccess string

// The console access levels, from none to most.
const (
	// NoConsole: the console is refused.
	NoConsole ConsoleAccess = ""
	// ConsoleView reads messages, errors, possible matches and the live
	// view.
	ConsoleView ConsoleAccess = "viewer"
	// ConsoleChange also resends messages, decides possible matches and
	// changes facility settings.
	ConsoleChange ConsoleAccess = "engineer"
	// ConsoleAdmin may do everything in the console.
	ConsoleAdmin ConsoleAccess = "admin"
)

// Console is what users with role r may do in the operations console:
// integration engineers work there (engineer), program administrators
// administer it (admin), program staff read it (viewer); clinic users,
// vaccine coordinators and school nurses have no access.
func (r Role) Console() ConsoleAccess {
	switch r {
	case ProgramAdmin:
		return ConsoleAdmin
	case IntegrationEngineer:
		return ConsoleChange
	case ProgramStaff:
		return ConsoleView
	}
	return NoConsole
}

// RoleForConsole maps a role of the configuration file's console_users
// onto the accounts roles: viewer and engineer are integration engineers
// (who may resend and change facility settings), admin is a program
// administrator.
func RoleForConsole(consoleRole string) (Role, error) {
	switch consoleRole {
	case "viewer", "engineer":
		return IntegrationEngineer, nil
	case "admin":
		return ProgramAdmin, nil
	}
	return "", fmt.Errorf("accounts: console role %q is not viewer, engineer or admin", consoleRole)
}

// ConsoleUser is a console login from the configuration file
// (console_users), imported as an account.
type ConsoleUser struct {
	Username     string
	PasswordHash string // bcrypt or argon2id, kept as it is
	Role         string // viewer, engineer or admin
}

// ImportConsoleUsers creates an account in the program organization
// (named program) for each console user whose username is not taken, with
// the role RoleForConsole gives and the password hash unchanged, so that
// they sign in on the people's pages with the password they had. Existing
// accounts are left alone. It runs at every start.
func (s *Store) ImportConsoleUsers(ctx context.Context, program string, users []ConsoleUser, log *slog.Logger) error {
	if len(users) == 0 {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	programID, err := s.programID(ctx, program)
	if err != nil {
		return err
	}
	for _, cu := range users {
		role, err := RoleForConsole(cu.Role)
		if err != nil {
			return fmt.Errorf("console user %q: %w", cu.Username, err)
		}
		if cu.Username == "" || cu.PasswordHash == "" {
			return fmt.Errorf("accounts: console user %q needs a username and a password hash", cu.Username)
		}
		if _, err := s.UserByUsername(ctx, cu.Username); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		_, err = s.CreateUser(ctx, NewUser{Username: cu.Username, FullName: cu.Username, OrgID: programID, Role: role, PasswordHash: cu.PasswordHash})
		if errors.Is(err, ErrUsernameTaken) {
			continue // another iisd starting at the same time
		}
		if err != nil {
			return fmt.Errorf("accounts: import console user %q: %w", cu.Username, err)
		}
		if cu.Role == "viewer" {
			log.Warn("console user imported as an integration engineer, who may also resend messages and change facility settings; make the account program staff for read-only access",
				"user", cu.Username)
		}
		if err := s.record(ctx, "system", "account-import-console", fmt.Sprintf("%s %s (console role %s)", role, cu.Username, cu.Role)); err != nil {
			return err
		}
	}
	return nil
}

// programID is the id of the program organization named program.
func (s *Store) programID(ctx context.Context, program string) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT id FROM organizations WHERE kind = 'program' AND name = $1`, program).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("accounts: program organization %q: %w", program, err)
	}
	return id, nil
}
