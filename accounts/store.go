package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/soap"
)

// Auditor writes audit events (the registry's store implements it).
type Auditor interface {
	RecordAudit(ctx context.Context, e registry.AuditEntry) error
}

// Config configures a Store.
type Config struct {
	// Pool is the registry's PostgreSQL, migrated (registry.Migrate
	// applies the accounts tables too).
	Pool *pgxpool.Pool
	// Audit receives sign-ins, failures, approvals, denials, disables and
	// resets. Required.
	Audit Auditor
	// IdleTimeout ends a session unused this long (default 30m);
	// SessionMax ends any session this long after sign-in (default 12h).
	IdleTimeout time.Duration
	SessionMax  time.Duration
	// SetPasswordTTL is how long the link sent on approval works (default
	// 72h); ResetTTL the same for a password-reset link (default 1h).
	SetPasswordTTL time.Duration
	ResetTTL       time.Duration
	// Issuer names the registry in authenticator apps (default "IIS").
	Issuer   string
	Throttle ThrottleConfig
	Logger   *slog.Logger
	Now      func() time.Time
}

// Store is the accounts database.
type Store struct {
	cfg      Config
	pool     *pgxpool.Pool
	audit    Auditor
	throttle *Throttle
	dummy    string        // a hash checked for unknown usernames, so they take as long
	sem      chan struct{} // bounds concurrent password hashing
	log      *slog.Logger
	now      func() time.Time
}

// Errors the store returns; pages turn them into sentences.
var (
	ErrNotFound         = errors.New("accounts: not found")
	ErrUsernameTaken    = errors.New("accounts: username already in use")
	ErrCoordinatorTaken = errors.New("accounts: the clinic already has a vaccine coordinator in that place")
	ErrBadCredentials   = errors.New("accounts: wrong username or password")
	ErrDisabled         = errors.New("accounts: account disabled")
	ErrWeakPassword     = errors.New("accounts: password too weak")
	ErrInvalidLink      = errors.New("accounts: link invalid, used or expired")
	ErrBadCode          = errors.New("accounts: wrong or reused authentication code")
	ErrDecided          = errors.New("accounts: request already decided")
	ErrInvalid          = errors.New("accounts: invalid input")
	ErrOrgExists        = errors.New("accounts: organization exists")
)

// ThrottledError refuses a sign-in tried too soon after failures.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("accounts: too many failed sign-ins; try again in %s", e.Wait.Round(time.Second))
}

// New returns a Store over cfg.Pool.
func New(cfg Config) (*Store, error) {
	if cfg.Pool == nil || cfg.Audit == nil {
		return nil, errors.New("accounts: a database pool and an auditor are required")
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if cfg.SetPasswordTTL <= 0 {
		cfg.SetPasswordTTL = 72 * time.Hour
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = time.Hour
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "IIS"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dummy, err := soap.HashPassword(randomToken())
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return &Store{cfg: cfg, pool: cfg.Pool, audit: cfg.Audit, throttle: NewThrottle(cfg.Throttle, cfg.Now),
		dummy: dummy, sem: make(chan struct{}, runtime.GOMAXPROCS(0)), log: cfg.Logger, now: cfg.Now}, nil
}

// IdleTimeout is how long an unused session lasts.
func (s *Store) IdleTimeout() time.Duration { return s.cfg.IdleTimeout }

// Organization is the state program, a clinic or a school.
type Organization struct {
	ID   int64
	Kind OrgKind
	Name string
	Town string
	// FacilityID is a clinic's facility identity in HL7 traffic (MSH-4,
	// the SOAP account's facility, the client certificate's CN).
	FacilityID string
}

// User is a person with an account.
type User struct {
	ID                 int64
	Username           string
	FullName           string
	Email              string
	Phone              string
	OrgID              int64
	OrgName            string
	OrgKind            OrgKind
	Role               Role
	Coordinator        Coordinator // for vaccine coordinators
	PasswordSet        bool
	MustChangePassword bool
	TOTPEnabled        bool
	DisabledAt         *time.Time
	DisabledReason     string
	LastSignIn         *time.Time
	PrevSignIn         *time.Time // the sign-in before the last one
	CreatedAt          time.Time
}

// Disabled reports whether the account is disabled.
func (u User) Disabled() bool { return u.DisabledAt != nil }

// Actor is how u appears in the audit log.
func (u User) Actor() string { return "user:" + u.Username }

// NewUser describes a user to create.
type NewUser struct {
	Username     string
	FullName     string
	Email        string
	Phone        string
	OrgID        int64
	Role         Role
	Coordinator  Coordinator
	PasswordHash string // empty: set through a link
	// MustChangePassword makes the first sign-in change the password.
	MustChangePassword bool
}

// CreateOrganization adds an organization and returns its id.
func (s *Store) CreateOrganization(ctx context.Context, o Organization) (int64, error) {
	o.Name, o.FacilityID, o.Town = strings.TrimSpace(o.Name), strings.TrimSpace(o.FacilityID), strings.TrimSpace(o.Town)
	if o.Name == "" || (o.Kind != Program && o.Kind != Clinic && o.Kind != School) || (o.FacilityID != "" && o.Kind != Clinic) {
		return 0, fmt.Errorf("%w: an organization needs a name and a kind (program, clinic, school); only clinics have a facility id", ErrInvalid)
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO organizations (kind, name, town, facility_id) VALUES ($1, $2, $3, NULLIF($4, ''))
		ON CONFLICT (kind, name) DO NOTHING RETURNING id`, o.Kind, o.Name, o.Town, o.FacilityID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%w: %s %q", ErrOrgExists, o.Kind, o.Name)
	}
	if uniqueViolation(err, "organizations_facility") {
		return 0, fmt.Errorf("%w: facility id %q belongs to another clinic", ErrInvalid, o.FacilityID)
	}
	if err != nil {
		return 0, fmt.Errorf("accounts: create organization: %w", err)
	}
	return id, nil
}

// AddOrganization adds an organization on behalf of a program
// administrator, and audits it.
func (s *Store) AddOrganization(ctx context.Context, by User, o Organization) (int64, error) {
	if !by.Role.May(ManageOrganizations) {
		return 0, fmt.Errorf("%w: %s may not add organizations", ErrInvalid, by.Role.Label())
	}
	id, err := s.CreateOrganization(ctx, o)
	if err != nil {
		return 0, err
	}
	return id, s.record(ctx, by.Actor(), "organization-add", fmt.Sprintf("%s %q facility %q", o.Kind, o.Name, o.FacilityID))
}

// Organizations lists the organizations of the given kinds (all if none),
// by kind then name.
func (s *Store) Organizations(ctx context.Context, kinds ...OrgKind) ([]Organization, error) {
	ks := make([]string, len(kinds))
	for i, k := range kinds {
		ks[i] = string(k)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, kind, name, town, coalesce(facility_id, '') FROM organizations
		WHERE cardinality($1::text[]) = 0 OR kind = ANY($1) ORDER BY kind, name`, ks)
	if err != nil {
		return nil, fmt.Errorf("accounts: organizations: %w", err)
	}
	defer rows.Close()
	var out []Organization
	for rows.Next() {
		var o Organization
		if err := rows.Scan(&o.ID, &o.Kind, &o.Name, &o.Town, &o.FacilityID); err != nil {
			return nil, fmt.Errorf("accounts: organizations: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Organization returns one organization.
func (s *Store) Organization(ctx context.Context, id int64) (Organization, error) {
	var o Organization
	err := s.pool.QueryRow(ctx, `SELECT id, kind, name, town, coalesce(facility_id, '') FROM organizations WHERE id = $1`, id).
		Scan(&o.ID, &o.Kind, &o.Name, &o.Town, &o.FacilityID)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNotFound
	}
	if err != nil {
		return o, fmt.Errorf("accounts: organization: %w", err)
	}
	return o, nil
}

// OrganizationByFacility returns the clinic whose facility id is id.
func (s *Store) OrganizationByFacility(ctx context.Context, facilityID string) (Organization, error) {
	var o Organization
	err := s.pool.QueryRow(ctx, `SELECT id, kind, name, town, facility_id FROM organizations WHERE facility_id = $1`, facilityID).
		Scan(&o.ID, &o.Kind, &o.Name, &o.Town, &o.FacilityID)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNotFound
	}
	if err != nil {
		return o, fmt.Errorf("accounts: organization by facility: %w", err)
	}
	return o, nil
}

// checkUser validates a new user's fields against its organization.
func checkUser(u *NewUser, org Organization) error {
	u.Username, u.Email, u.FullName = strings.TrimSpace(u.Username), strings.TrimSpace(u.Email), strings.TrimSpace(u.FullName)
	switch {
	case u.Username == "" || u.FullName == "":
		return fmt.Errorf("%w: a user needs a username and a name", ErrInvalid)
	case !u.Role.Valid():
		return fmt.Errorf("%w: role %q", ErrInvalid, u.Role)
	case u.Role.OrgKind() != org.Kind:
		return fmt.Errorf("%w: a %s belongs to a %s, not to %s %q", ErrInvalid, u.Role.Label(), u.Role.OrgKind(), org.Kind, org.Name)
	case (u.Role == VaccineCoordinator) != (u.Coordinator == Primary || u.Coordinator == Backup):
		return fmt.Errorf("%w: a vaccine coordinator is primary or backup, and only coordinators are", ErrInvalid)
	}
	return nil
}

// CreateUser adds a user and returns its id.
func (s *Store) CreateUser(ctx context.Context, u NewUser) (int64, error) {
	return s.createUser(ctx, s.pool, u)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) createUser(ctx context.Context, q querier, u NewUser) (int64, error) {
	var org Organization
	err := q.QueryRow(ctx, `SELECT id, kind, name FROM organizations WHERE id = $1`, u.OrgID).Scan(&org.ID, &org.Kind, &org.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%w: organization %d", ErrNotFound, u.OrgID)
	}
	if err != nil {
		return 0, fmt.Errorf("accounts: create user: %w", err)
	}
	if err := checkUser(&u, org); err != nil {
		return 0, err
	}
	var id int64
	err = q.QueryRow(ctx, `INSERT INTO users (username, full_name, email, phone, org_id, role, coordinator, password_hash, must_change_pw)
		VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), $8, $9) RETURNING id`,
		u.Username, u.FullName, u.Email, u.Phone, u.OrgID, u.Role, u.Coordinator, u.PasswordHash, u.MustChangePassword).Scan(&id)
	switch {
	case uniqueViolation(err, "users_username"):
		return 0, ErrUsernameTaken
	case uniqueViolation(err, "users_coordinator"):
		return 0, ErrCoordinatorTaken
	case err != nil:
		return 0, fmt.Errorf("accounts: create user: %w", err)
	}
	return id, nil
}

func uniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}

const userColumns = `u.id, u.username, u.full_name, u.email, u.phone, u.org_id, o.name, o.kind, u.role, coalesce(u.coordinator, ''),
	u.password_hash <> '', u.must_change_pw, u.totp_enabled, u.disabled_at, u.disabled_reason, u.last_sign_in, u.prev_sign_in, u.created_at`

func scanUser(row pgx.Row, extra ...any) (User, error) {
	var u User
	dest := append([]any{&u.ID, &u.Username, &u.FullName, &u.Email, &u.Phone, &u.OrgID, &u.OrgName, &u.OrgKind, &u.Role,
		&u.Coordinator, &u.PasswordSet, &u.MustChangePassword, &u.TOTPEnabled, &u.DisabledAt, &u.DisabledReason,
		&u.LastSignIn, &u.PrevSignIn, &u.CreatedAt}, extra...)
	err := row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("accounts: user: %w", err)
	}
	return u, nil
}

// User returns a user by id.
func (s *Store) User(ctx context.Context, id int64) (User, error) {
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u JOIN organizations o ON o.id = u.org_id WHERE u.id = $1`, id))
}

// UserByUsername returns a user by username (case-insensitive).
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u JOIN organizations o ON o.id = u.org_id
		WHERE lower(u.username) = lower($1)`, strings.TrimSpace(username)))
}

// Users lists every user, by organization then name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users u JOIN organizations o ON o.id = u.org_id
		ORDER BY o.kind, o.name, u.full_name, u.id`)
	if err != nil {
		return nil, fmt.Errorf("accounts: users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Disable disables u's account and ends its sessions; by is the program
// administrator doing it.
func (s *Store) Disable(ctx context.Context, by User, userID int64, reason string) error {
	if !by.Role.May(ManageUsers) {
		return fmt.Errorf("%w: %s may not disable users", ErrInvalid, by.Role.Label())
	}
	if by.ID == userID {
		return fmt.Errorf("%w: you cannot disable your own account", ErrInvalid)
	}
	var username string
	err := s.pool.QueryRow(ctx, `WITH d AS (DELETE FROM user_sessions WHERE user_id = $1)
		UPDATE users SET disabled_at = $2, disabled_reason = $3 WHERE id = $1 AND disabled_at IS NULL RETURNING username`,
		userID, s.now(), strings.TrimSpace(reason)).Scan(&username)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("accounts: disable: %w", err)
	}
	return s.record(ctx, by.Actor(), "account-disable", "user "+username+": "+reason)
}

// Enable re-enables a disabled account.
func (s *Store) Enable(ctx context.Context, by User, userID int64) error {
	if !by.Role.May(ManageUsers) {
		return fmt.Errorf("%w: %s may not enable users", ErrInvalid, by.Role.Label())
	}
	var username string
	err := s.pool.QueryRow(ctx, `UPDATE users SET disabled_at = NULL, disabled_reason = '' WHERE id = $1 AND disabled_at IS NOT NULL
		RETURNING username`, userID).Scan(&username)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if uniqueViolation(err, "users_coordinator") {
		return ErrCoordinatorTaken
	}
	if err != nil {
		return fmt.Errorf("accounts: enable: %w", err)
	}
	return s.record(ctx, by.Actor(), "account-enable", "user "+username)
}

// record writes an audit event; a failure is returned (an action whose
// audit row cannot be written is reported as failed to the caller).
func (s *Store) record(ctx context.Context, actor, action, detail string) error {
	if err := s.audit.RecordAudit(ctx, registry.AuditEntry{Actor: actor, Action: action, Detail: detail}); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	return nil
}
