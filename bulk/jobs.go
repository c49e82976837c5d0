package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/smart"
)

// The states of an export.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusComplete  = "complete"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Export is one $export job.
type Export struct {
	ID         string
	Grant      smart.Grant // the grant it was asked under, and runs under
	GroupID    string
	Types      []string
	Since      time.Time // zero: everything
	RequestURL string
	Status     string
	Progress   string
	Error      string
	Created    time.Time
	Finished   time.Time
	Expires    time.Time
}

// Output is one NDJSON file of a finished export.
type Output struct {
	Type  string
	Count int
}

// storedGrant is the grant as kept with the job.
type storedGrant struct {
	ClientID   string `json:"client_id"`
	ClientName string `json:"client_name"`
	FacilityID string `json:"facility_id"`
	Scopes     string `json:"scopes"`
}

// CreateExport queues e and returns its id.
func (s *Store) CreateExport(ctx context.Context, e Export) (string, error) {
	id, err := newID("x")
	if err != nil {
		return "", err
	}
	g, err := json.Marshal(storedGrant{ClientID: e.Grant.ClientID, ClientName: e.Grant.ClientName, FacilityID: e.Grant.FacilityID,
		Scopes: smart.FormatScopes(e.Grant.Scopes)})
	if err != nil {
		return "", fmt.Errorf("bulk: export grant: %w", err)
	}
	var since *time.Time
	if !e.Since.IsZero() {
		since = &e.Since
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO bulk_exports (id, client_id, grant_json, group_id, types, since, request_url, transaction_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now())`, id, e.Grant.ClientID, g, e.GroupID, e.Types, since, e.RequestURL); err != nil {
		return "", fmt.Errorf("bulk: create export: %w", err)
	}
	return id, nil
}

const exportColumns = `id, grant_json, group_id, types, since, request_url, status, progress, error,
	transaction_time, finished_at, expires_at`

func scanExport(row pgx.Row) (Export, error) {
	var e Export
	var g storedGrant
	var since, finished, expires *time.Time
	if err := row.Scan(&e.ID, &g, &e.GroupID, &e.Types, &since, &e.RequestURL, &e.Status, &e.Progress, &e.Error,
		&e.Created, &finished, &expires); err != nil {
		return Export{}, err
	}
	scopes, err := smart.ParseScopes(g.Scopes)
	if err != nil {
		return Export{}, err
	}
	e.Grant = smart.Grant{ClientID: g.ClientID, ClientName: g.ClientName, FacilityID: g.FacilityID, Scopes: scopes}
	for src, dst := range map[*time.Time]*time.Time{since: &e.Since, finished: &e.Finished, expires: &e.Expires} {
		if src != nil {
			*dst = *src
		}
	}
	return e, nil
}

// Export returns export id of clientID; ErrNotFound if there is none,
// it is another client's, or its files expired.
func (s *Store) Export(ctx context.Context, id, clientID string) (Export, error) {
	e, err := scanExport(s.pool.QueryRow(ctx, `SELECT `+exportColumns+` FROM bulk_exports
		WHERE id = $1 AND client_id = $2 AND status <> 'cancelled' AND (expires_at IS NULL OR expires_at > now())`, id, clientID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Export{}, fmt.Errorf("bulk: export %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Export{}, fmt.Errorf("bulk: export %s: %w", id, err)
	}
	return e, nil
}

// Cancel cancels export id of clientID and deletes its files.
func (s *Store) Cancel(ctx context.Context, id, clientID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE bulk_exports SET status = 'cancelled', finished_at = now()
		WHERE id = $1 AND client_id = $2 AND status <> 'cancelled' AND (expires_at IS NULL OR expires_at > now())`, id, clientID)
	if err != nil {
		return fmt.Errorf("bulk: cancel export %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("bulk: cancel export %s: %w", id, ErrNotFound)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM bulk_export_chunks WHERE export_id = $1`, id); err != nil {
		return fmt.Errorf("bulk: cancel export %s: %w", id, err)
	}
	return nil
}

// Claim takes the oldest queued export, or one whose runner stopped
// sending heartbeats for longer than stale (its process died), for
// worker; nil if there is none. SKIP LOCKED lets replicas claim
// different jobs at once, and each job once.
func (s *Store) Claim(ctx context.Context, worker string, stale time.Duration) (*Export, error) {
	e, err := scanExport(s.pool.QueryRow(ctx, `UPDATE bulk_exports SET status = 'running', claimed_by = $1, heartbeat = now()
		WHERE id = (SELECT id FROM bulk_exports
			WHERE status = 'queued' OR (status = 'running' AND heartbeat < now() - $2::interval)
			ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
		RETURNING `+exportColumns, worker, stale))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bulk: claim export: %w", err)
	}
	// A job taken over from a runner that died starts again.
	if _, err := s.pool.Exec(ctx, `DELETE FROM bulk_export_chunks WHERE export_id = $1`, e.ID); err != nil {
		return nil, fmt.Errorf("bulk: claim export: %w", err)
	}
	return &e, nil
}

// Heartbeat records that worker still runs export id with progress; false
// if the export is no longer its to run (cancelled, or taken over).
func (s *Store) Heartbeat(ctx context.Context, id, worker, progress string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE bulk_exports SET heartbeat = now(), progress = $3
		WHERE id = $1 AND claimed_by = $2 AND status = 'running'`, id, worker, progress)
	if err != nil {
		return false, fmt.Errorf("bulk: heartbeat %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// SaveChunk stores the seq-th piece of an export's file of resourceType.
func (s *Store) SaveChunk(ctx context.Context, id, resourceType string, seq, lines int, data []byte) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO bulk_export_chunks (export_id, type, seq, lines, data) VALUES ($1, $2, $3, $4, $5)`,
		id, resourceType, seq, lines, data); err != nil {
		return fmt.Errorf("bulk: save chunk: %w", err)
	}
	return nil
}

// Finish ends worker's run of export id: complete with files kept for
// keep, or failed with reason.
func (s *Store) Finish(ctx context.Context, id, worker string, keep time.Duration, reason string) error {
	status := StatusComplete
	if reason != "" {
		status = StatusFailed
	}
	if _, err := s.pool.Exec(ctx, `UPDATE bulk_exports SET status = $3, error = $4, finished_at = now(),
		expires_at = now() + $5::interval, progress = ''
		WHERE id = $1 AND claimed_by = $2 AND status = 'running'`, id, worker, status, reason, keep); err != nil {
		return fmt.Errorf("bulk: finish export %s: %w", id, err)
	}
	return nil
}

// Outputs returns the files of export id: each type and its count of
// resources, empty types left out.
func (s *Store) Outputs(ctx context.Context, id string) ([]Output, error) {
	rows, err := s.pool.Query(ctx, `SELECT type, sum(lines)::int FROM bulk_export_chunks WHERE export_id = $1
		GROUP BY type HAVING sum(lines) > 0 ORDER BY type`, id)
	if err != nil {
		return nil, fmt.Errorf("bulk: outputs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Output, error) {
		var o Output
		return o, r.Scan(&o.Type, &o.Count)
	})
	if err != nil {
		return nil, fmt.Errorf("bulk: outputs: %w", err)
	}
	return out, nil
}

// WriteFile streams export id's file of resourceType to fn, chunk by
// chunk, in order.
func (s *Store) WriteFile(ctx context.Context, id, resourceType string, fn func([]byte) error) error {
	for seq := 0; ; seq++ {
		var data []byte
		err := s.pool.QueryRow(ctx, `SELECT data FROM bulk_export_chunks WHERE export_id = $1 AND type = $2 AND seq = $3`,
			id, resourceType, seq).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bulk: file: %w", err)
		}
		if err := fn(data); err != nil {
			return err
		}
	}
}

// Expire deletes exports whose files expired and cancelled ones, with
// their files; it returns how many.
func (s *Store) Expire(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM bulk_exports WHERE expires_at < now() OR status = 'cancelled'`)
	if err != nil {
		return 0, fmt.Errorf("bulk: expire exports: %w", err)
	}
	return tag.RowsAffected(), nil
}
