package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Request is an account request from the public form.
type Request struct {
	ID          int64
	FullName    string
	Email       string
	Phone       string
	OrgID       int64
	OrgName     string
	OrgKind     OrgKind
	Role        Role
	Coordinator Coordinator
	Reason      string
	Status      string // pending, approved, denied
	CreatedAt   time.Time
	// HasPrimary and HasBackup: whether the clinic already has an enabled
	// primary and backup vaccine coordinator (a clinic user is given
	// access only once both are there).
	HasPrimary bool
	HasBackup  bool
}

// checkRequest validates a request from the public form.
func checkRequest(r *Request, org Organization) error {
	r.FullName, r.Email, r.Phone, r.Reason = strings.TrimSpace(r.FullName), strings.TrimSpace(r.Email), strings.TrimSpace(r.Phone), strings.TrimSpace(r.Reason)
	if r.FullName == "" || len(r.FullName) > 200 {
		return fmt.Errorf("%w: give your full name", ErrInvalid)
	}
	if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email || len(r.Email) > 254 {
		return fmt.Errorf("%w: give an email address such as name@clinic.org", ErrInvalid)
	}
	if !r.Role.Requestable() {
		return fmt.Errorf("%w: choose a clinic or school role", ErrInvalid)
	}
	if r.Role.OrgKind() != org.Kind {
		return fmt.Errorf("%w: a %s belongs to a %s; %q is a %s", ErrInvalid, r.Role.Label(), r.Role.OrgKind(), org.Name, org.Kind)
	}
	if (r.Role == VaccineCoordinator) != (r.Coordinator == Primary || r.Coordinator == Backup) {
		return fmt.Errorf("%w: say whether you are the primary or the backup vaccine coordinator", ErrInvalid)
	}
	if r.Reason == "" || len(r.Reason) > 2000 || len(r.Phone) > 40 {
		return fmt.Errorf("%w: say why you need access (and a phone number under 40 characters)", ErrInvalid)
	}
	return nil
}

// SubmitRequest stores a request from the public form and returns its id.
func (s *Store) SubmitRequest(ctx context.Context, r Request, addr string) (int64, error) {
	org, err := s.Organization(ctx, r.OrgID)
	if errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("%w: choose your clinic or school from the list", ErrInvalid)
	}
	if err != nil {
		return 0, err
	}
	if err := checkRequest(&r, org); err != nil {
		return 0, err
	}
	var id int64
	err = s.pool.QueryRow(ctx, `INSERT INTO account_requests (full_name, email, phone, org_id, role, coordinator, reason)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7) RETURNING id`,
		r.FullName, r.Email, r.Phone, r.OrgID, r.Role, r.Coordinator, r.Reason).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("accounts: submit request: %w", err)
	}
	return id, s.record(ctx, "public", "account-request", fmt.Sprintf("request %d for %s at %s from %s", id, r.Role, org.Name, addr))
}

// PendingRequests lists the requests awaiting a decision, oldest first.
func (s *Store) PendingRequests(ctx context.Context) ([]Request, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.id, r.full_name, r.email, r.phone, r.org_id, o.name, o.kind, r.role,
			coalesce(r.coordinator, ''), r.reason, r.status, r.created_at,
			EXISTS (SELECT 1 FROM users c WHERE c.org_id = r.org_id AND c.coordinator = 'primary' AND c.disabled_at IS NULL),
			EXISTS (SELECT 1 FROM users c WHERE c.org_id = r.org_id AND c.coordinator = 'backup' AND c.disabled_at IS NULL)
		FROM account_requests r JOIN organizations o ON o.id = r.org_id
		WHERE r.status = 'pending' ORDER BY r.created_at, r.id`)
	if err != nil {
		return nil, fmt.Errorf("accounts: pending requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		var r Request
		if err := rows.Scan(&r.ID, &r.FullName, &r.Email, &r.Phone, &r.OrgID, &r.OrgName, &r.OrgKind, &r.Role,
			&r.Coordinator, &r.Reason, &r.Status, &r.CreatedAt, &r.HasPrimary, &r.HasBackup); err != nil {
			return nil, fmt.Errorf("accounts: pending requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// lockPending locks a pending request in tx.
func lockPending(ctx context.Context, tx pgx.Tx, id int64) (Request, error) {
	var r Request
	err := tx.QueryRow(ctx, `SELECT r.id, r.full_name, r.email, r.phone, r.org_id, o.name, r.role, coalesce(r.coordinator, ''), r.status
		FROM account_requests r JOIN organizations o ON o.id = r.org_id WHERE r.id = $1 FOR UPDATE OF r`, id).
		Scan(&r.ID, &r.FullName, &r.Email, &r.Phone, &r.OrgID, &r.OrgName, &r.Role, &r.Coordinator, &r.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("accounts: request %d: %w", id, err)
	}
	if r.Status != "pending" {
		return r, ErrDecided
	}
	return r, nil
}

// Approve creates the requested account (username: the email address) and
// sends its owner a one-time link to set a password; by is the program
// staff member deciding. baseURL is the address of the people's pages.
func (s *Store) Approve(ctx context.Context, by User, requestID int64, baseURL string) (User, error) {
	if !by.Role.May(DecideRequests) {
		return User{}, fmt.Errorf("%w: %s may not decide account requests", ErrInvalid, by.Role.Label())
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return User{}, fmt.Errorf("accounts: approve: %w", err)
	}
	defer tx.Rollback(ctx)
	r, err := lockPending(ctx, tx, requestID)
	if err != nil {
		return User{}, err
	}
	username := strings.ToLower(r.Email)
	id, err := s.createUser(ctx, tx, NewUser{Username: username, FullName: r.FullName, Email: r.Email, Phone: r.Phone,
		OrgID: r.OrgID, Role: r.Role, Coordinator: r.Coordinator})
	if err != nil {
		return User{}, err
	}
	tok, err := s.issueLink(ctx, tx, id, purposeSet, s.cfg.SetPasswordTTL)
	if err != nil {
		return User{}, err
	}
	body := fmt.Sprintf("Hello %s,\n\nYour request for access to the immunization registry as %s at %s was approved.\n\n"+
		"Your username: %s\n\nChoose your password with this link within %s (it works once):\n\n%s\n\n"+
		"Then sign in at %s/signin.\n", r.FullName, r.Role.Label(), r.OrgName, username, s.cfg.SetPasswordTTL,
		linkURL(baseURL, tok), strings.TrimRight(baseURL, "/"))
	if err := s.enqueue(ctx, tx, r.Email, "Your immunization registry account", body); err != nil {
		return User{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE account_requests SET status = 'approved', decided_by = $2, decided_at = $3, user_id = $4 WHERE id = $1`,
		r.ID, by.ID, s.now(), id); err != nil {
		return User{}, fmt.Errorf("accounts: approve: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return User{}, fmt.Errorf("accounts: approve: %w", err)
	}
	u, err := s.User(ctx, id)
	if err != nil {
		return u, err
	}
	return u, s.record(ctx, by.Actor(), "account-approve", fmt.Sprintf("request %d: user %s, %s at %s", r.ID, username, r.Role, r.OrgName))
}

// Deny refuses a request with a reason, which is sent to the requester.
func (s *Store) Deny(ctx context.Context, by User, requestID int64, reason string) error {
	if !by.Role.May(DecideRequests) {
		return fmt.Errorf("%w: %s may not decide account requests", ErrInvalid, by.Role.Label())
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return fmt.Errorf("%w: give the reason for the denial; it is sent to the requester", ErrInvalid)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("accounts: deny: %w", err)
	}
	defer tx.Rollback(ctx)
	r, err := lockPending(ctx, tx, requestID)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("Hello %s,\n\nYour request for access to the immunization registry as %s at %s was denied.\n\nReason: %s\n\n"+
		"If you have questions, contact the immunization program.\n", r.FullName, r.Role.Label(), r.OrgName, reason)
	if err := s.enqueue(ctx, tx, r.Email, "Your immunization registry account request", body); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE account_requests SET status = 'denied', decided_by = $2, decided_at = $3, decision_reason = $4 WHERE id = $1`,
		r.ID, by.ID, s.now(), reason); err != nil {
		return fmt.Errorf("accounts: deny: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("accounts: deny: %w", err)
	}
	return s.record(ctx, by.Actor(), "account-deny", fmt.Sprintf("request %d: %s", r.ID, reason))
}
