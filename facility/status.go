package facility

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Status is a facility's onboarding status.
type Status string

// Statuses. A facility without a recorded status is in production.
const (
	// Test: the facility is being onboarded. Its messages are validated,
	// answered, kept in the message store and reported on, but not
	// written to the registry.
	Test Status = "test"
	// Production: its messages are written to the registry.
	Production Status = "production"
)

// ParseStatus reads "test" or "production".
func ParseStatus(s string) (Status, error) {
	switch st := Status(strings.ToLower(strings.TrimSpace(s))); st {
	case Test, Production:
		return st, nil
	}
	return "", fmt.Errorf("facility: status %q is not test or production", s)
}

// StatusRecord is a facility's current status and who set it.
type StatusRecord struct {
	Facility  string
	Status    Status
	Note      string
	ChangedBy string
	ChangedAt time.Time // zero: never set (production)
}

// StatusChange is one change of a facility's status.
type StatusChange struct {
	From, To  Status
	Note      string
	ChangedBy string
	ChangedAt time.Time
}

// Onboarding holds every facility's status in memory. A change made
// through Set applies in this process at once; other processes pick it up
// within their refresh interval (Run).
type Onboarding struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	cur  atomic.Pointer[map[string]StatusRecord]
}

// OpenOnboarding loads the statuses.
func OpenOnboarding(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) (*Onboarding, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &Onboarding{pool: pool, log: log}
	o.cur.Store(&map[string]StatusRecord{})
	if err := o.Reload(ctx); err != nil {
		return nil, err
	}
	return o, nil
}

// InTest reports whether facility is in test status: its messages are
// not to be written to the registry. It implements worker.Onboarding.
func (o *Onboarding) InTest(facility string) bool {
	return (*o.cur.Load())[facility].Status == Test
}

// Status returns facility's status record (production, never set, when
// it has none).
func (o *Onboarding) Status(facility string) StatusRecord {
	if r, ok := (*o.cur.Load())[facility]; ok {
		return r
	}
	return StatusRecord{Facility: facility, Status: Production}
}

// Recorded returns the facilities that were given a status, by facility.
func (o *Onboarding) Recorded() []StatusRecord {
	m := *o.cur.Load()
	out := make([]StatusRecord, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b StatusRecord) int { return strings.Compare(a.Facility, b.Facility) })
	return out
}

// Set records facility's new status, with who changed it and why, and
// keeps the change in the facility's history. It returns the status the
// facility had.
func (o *Onboarding) Set(ctx context.Context, facility string, to Status, by, note string) (Status, error) {
	facility = strings.TrimSpace(facility)
	if facility == "" || by == "" {
		return "", fmt.Errorf("facility: a status change needs a facility and who made it")
	}
	if _, err := ParseStatus(string(to)); err != nil {
		return "", err
	}
	var from Status
	err := pgx.BeginFunc(ctx, o.pool, func(tx pgx.Tx) error {
		var prev string
		err := tx.QueryRow(ctx, `SELECT status FROM facility_status WHERE facility = $1 FOR UPDATE`, facility).Scan(&prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		from = Status(prev)
		if from == "" {
			from = Production
		}
		if _, err := tx.Exec(ctx, `INSERT INTO facility_status (facility, status, note, changed_by, changed_at)
			VALUES ($1, $2, $3, $4, now())
			ON CONFLICT (facility) DO UPDATE SET status = EXCLUDED.status, note = EXCLUDED.note,
				changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at`, facility, string(to), note, by); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO facility_status_changes (facility, from_status, to_status, note, changed_by)
			VALUES ($1, $2, $3, $4, $5)`, facility, string(from), string(to), note, by)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("facility: set status of a facility: %w", err)
	}
	return from, o.Reload(ctx)
}

// History returns facility's status changes, newest first (at most 100).
func (o *Onboarding) History(ctx context.Context, facility string) ([]StatusChange, error) {
	rows, err := o.pool.Query(ctx, `SELECT from_status, to_status, note, changed_by, changed_at
		FROM facility_status_changes WHERE facility = $1 ORDER BY changed_at DESC, id DESC LIMIT 100`, facility)
	if err != nil {
		return nil, fmt.Errorf("facility: status history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StatusChange, error) {
		var c StatusChange
		var from, to string
		err := r.Scan(&from, &to, &c.Note, &c.ChangedBy, &c.ChangedAt)
		c.From, c.To = Status(from), Status(to)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("facility: status history: %w", err)
	}
	return out, nil
}

// Reload reads the statuses from the database.
func (o *Onboarding) Reload(ctx context.Context) error {
	rows, err := o.pool.Query(ctx, `SELECT facility, status, note, changed_by, changed_at FROM facility_status`)
	if err != nil {
		return fmt.Errorf("facility: load statuses: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StatusRecord, error) {
		var s StatusRecord
		var st string
		err := r.Scan(&s.Facility, &st, &s.Note, &s.ChangedBy, &s.ChangedAt)
		s.Status = Status(st)
		return s, err
	})
	if err != nil {
		return fmt.Errorf("facility: load statuses: %w", err)
	}
	m := make(map[string]StatusRecord, len(list))
	for _, s := range list {
		m[s.Facility] = s
	}
	o.cur.Store(&m)
	return nil
}

// Run reloads the statuses every interval until ctx ends.
func (o *Onboarding) Run(ctx context.Context, every time.Duration) {
	reloadEvery(ctx, every, o.Reload, o.log, "facility statuses not reloaded")
}
