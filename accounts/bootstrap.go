package accounts

import (
	"context"
	"errors"
	"fmt"
)

// Bootstrap is what a fresh registry starts with: the state program, its
// first program administrator, and the clinics and schools named in the
// configuration.
type Bootstrap struct {
	// Program names the state immunization program's organization.
	Program string
	// Admin is created as a program administrator of Program if no user
	// of that username exists; AdminPasswordHash is a bcrypt or argon2id
	// hash (iisd hash-password).
	AdminUsername     string
	AdminFullName     string
	AdminEmail        string
	AdminPasswordHash string
	// Organizations are created if missing (by kind and name).
	Organizations []Organization
}

// Bootstrap creates what b names and is missing; it changes nothing that
// exists, so it runs at every start.
func (s *Store) Bootstrap(ctx context.Context, b Bootstrap) error {
	orgs := b.Organizations
	if b.Program != "" {
		orgs = append([]Organization{{Kind: Program, Name: b.Program}}, orgs...)
	}
	for _, o := range orgs {
		if _, err := s.CreateOrganization(ctx, o); err != nil && !errors.Is(err, ErrOrgExists) {
			return fmt.Errorf("accounts: bootstrap: %w", err)
		}
	}
	if b.AdminUsername == "" {
		return nil
	}
	if b.Program == "" || b.AdminPasswordHash == "" {
		return errors.New("accounts: bootstrap: the first administrator needs the program's name and a password hash")
	}
	if _, err := s.UserByUsername(ctx, b.AdminUsername); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	var programID int64
	if err := s.pool.QueryRow(ctx, `SELECT id FROM organizations WHERE kind = 'program' AND name = $1`, b.Program).Scan(&programID); err != nil {
		return fmt.Errorf("accounts: bootstrap: %w", err)
	}
	name := b.AdminFullName
	if name == "" {
		name = "Program administrator"
	}
	_, err := s.CreateUser(ctx, NewUser{Username: b.AdminUsername, FullName: name, Email: b.AdminEmail, OrgID: programID,
		Role: ProgramAdmin, PasswordHash: b.AdminPasswordHash})
	if errors.Is(err, ErrUsernameTaken) {
		return nil // another iisd starting at the same time
	}
	if err != nil {
		return fmt.Errorf("accounts: bootstrap: %w", err)
	}
	return s.record(ctx, "system", "account-bootstrap", "program administrator "+b.AdminUsername)
}
