package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReportRun is one run of a population report (table report_runs).
type ReportRun struct {
	ID          int64
	Kind        string          // "coverage"
	Params      json.RawMessage // the report's parameters
	Facility    string          // the clinic the run covers; "" beyond one clinic
	DataVersion int64           // max(source_reports.id) when the run started
	DataAt      *time.Time      // that report's received time
	Status      string          // queued, running, done, failed
	Progress    int             // 0-100
	RequestedBy string
	Schedule    string // the schedule's name for a scheduled run
	Slot        *time.Time
	RequestedAt time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	Summary     json.RawMessage
	Error       string
}

// ErrNoReportRun is returned for a run that does not exist.
var ErrNoReportRun = errors.New("registry: no such report run")

const reportRunCols = `id, kind, params, facility, data_version, data_at, status, progress, requested_by,
	coalesce(schedule, ''), slot, requested_at, started_at, finished_at, coalesce(summary, 'null'), error`

func scanReportRun(row pgx.Row) (ReportRun, error) {
	var r ReportRun
	err := row.Scan(&r.ID, &r.Kind, &r.Params, &r.Facility, &r.DataVersion, &r.DataAt, &r.Status, &r.Progress, &r.RequestedBy,
		&r.Schedule, &r.Slot, &r.RequestedAt, &r.StartedAt, &r.FinishedAt, &r.Summary, &r.Error)
	return r, err
}

// CreateReportRun records a queued run requested by someone and returns
// its id.
func (s *Store) CreateReportRun(ctx context.Context, kind string, params json.RawMessage, facility, requestedBy string) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO report_runs (kind, params, facility, requested_by) VALUES ($1, $2, $3, $4) RETURNING id`,
		kind, params, facility, requestedBy).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("registry: create report run: %w", err)
	}
	return id, nil
}

// ClaimScheduledRun records the queued run of a schedule's slot unless
// another replica has: it takes the transaction-level advisory lock of
// (kind, schedule, slot) without waiting and inserts the slot's row,
// which is unique. ok is false when the slot is another's (locked now or
// already recorded).
func (s *Store) ClaimScheduledRun(ctx context.Context, kind, schedule string, slot time.Time, params json.RawMessage, facility, requestedBy string) (id int64, ok bool, err error) {
	h := fnv.New64a()
	fmt.Fprintf(h, "report_runs|%s|%s|%s", kind, schedule, slot.UTC().Format(time.RFC3339))
	key := int64(h.Sum64())
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, key).Scan(&locked); err != nil || !locked {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO report_runs (kind, params, facility, requested_by, schedule, slot) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (schedule, slot) DO NOTHING RETURNING id`, kind, params, facility, requestedBy, schedule, slot.UTC()).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("registry: claim scheduled run: %w", err)
	}
	return id, ok, nil
}

// StartReportRun marks a run running and records the data version it is
// computed on: the newest source report at this moment.
func (s *Store) StartReportRun(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE report_runs r SET status = 'running', started_at = now(), progress = 0,
		data_version = coalesce(v.id, 0), data_at = v.received_at
		FROM (SELECT NULL) d LEFT JOIN LATERAL (SELECT id, received_at FROM source_reports ORDER BY id DESC LIMIT 1) v ON true
		WHERE r.id = $1`, id)
	if err != nil {
		return fmt.Errorf("registry: start report run %d: %w", id, err)
	}
	return nil
}

// ReportRunProgress records a running run's progress (0-100).
func (s *Store) ReportRunProgress(ctx context.Context, id int64, percent int) error {
	percent = max(0, min(100, percent))
	if _, err := s.pool.Exec(ctx, `UPDATE report_runs SET progress = $2 WHERE id = $1 AND status = 'running'`, id, percent); err != nil {
		return fmt.Errorf("registry: report run %d progress: %w", id, err)
	}
	return nil
}

// ReportFile is a file of a finished run: its drill-down, list, letters.
type ReportFile struct {
	Name        string // children.csv, letters.pdf: lower case, digits, '-', .csv or .pdf
	ContentType string
	Body        []byte
}

// FinishReportRun stores a run's result: its CSV, JSON summary and
// files, in one transaction.
func (s *Store) FinishReportRun(ctx context.Context, id int64, csv []byte, summary json.RawMessage, files ...ReportFile) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, f := range files {
			if _, err := tx.Exec(ctx, `INSERT INTO report_run_files (run_id, name, content_type, body) VALUES ($1, $2, $3, $4)`,
				id, f.Name, f.ContentType, f.Body); err != nil {
				return fmt.Errorf("file %s: %w", f.Name, err)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE report_runs SET status = 'done', progress = 100, finished_at = now(),
			result_csv = $2, summary = $3 WHERE id = $1`, id, csv, summary)
		return err
	})
	if err != nil {
		return fmt.Errorf("registry: finish report run %d: %w", id, err)
	}
	return nil
}

// ReportFileInfo names a run's file and its size.
type ReportFileInfo struct {
	Name  string
	Bytes int
}

// ReportRunFiles lists a run's files by name.
func (s *Store) ReportRunFiles(ctx context.Context, id int64) ([]ReportFileInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, length(body) FROM report_run_files WHERE run_id = $1 ORDER BY name`, id)
	if err != nil {
		return nil, fmt.Errorf("registry: report run %d files: %w", id, err)
	}
	fs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ReportFileInfo])
	if err != nil {
		return nil, fmt.Errorf("registry: report run %d files: %w", id, err)
	}
	return fs, nil
}

// ErrNoReportFile is returned for a file a run does not have.
var ErrNoReportFile = errors.New("registry: no such file of the report run")

// ReportRunFile returns one of a run's files.
func (s *Store) ReportRunFile(ctx context.Context, id int64, name string) (ReportFile, error) {
	f := ReportFile{Name: name}
	err := s.pool.QueryRow(ctx, `SELECT content_type, body FROM report_run_files WHERE run_id = $1 AND name = $2`, id, name).
		Scan(&f.ContentType, &f.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, ErrNoReportFile
	}
	if err != nil {
		return f, fmt.Errorf("registry: report run %d file %s: %w", id, name, err)
	}
	return f, nil
}

// PatientNames returns "Family, Given" of each patient of ids (the
// patients' current names), in one statement: for a report's drill-down.
func (s *Store) PatientNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, coalesce(family_name, ''), coalesce(given_name, '') FROM patients WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("registry: patient names: %w", err)
	}
	var id int64
	var fam, giv string
	_, err = pgx.ForEachRow(rows, []any{&id, &fam, &giv}, func() error {
		out[id] = fam + ", " + giv
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registry: patient names: %w", err)
	}
	return out, nil
}

// FailReportRun records why a run failed (text without patient data).
func (s *Store) FailReportRun(ctx context.Context, id int64, reason string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE report_runs SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1`,
		id, reason); err != nil {
		return fmt.Errorf("registry: fail report run %d: %w", id, err)
	}
	return nil
}

// ReportRun returns a run (without its CSV).
func (s *Store) ReportRun(ctx context.Context, id int64) (ReportRun, error) {
	r, err := scanReportRun(s.pool.QueryRow(ctx, `SELECT `+reportRunCols+` FROM report_runs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNoReportRun
	}
	if err != nil {
		return r, fmt.Errorf("registry: report run %d: %w", id, err)
	}
	return r, nil
}

// ReportRunCSV returns a finished run's CSV.
func (s *Store) ReportRunCSV(ctx context.Context, id int64) ([]byte, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT coalesce(result_csv, '') FROM report_runs WHERE id = $1`, id).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoReportRun
	}
	if err != nil {
		return nil, fmt.Errorf("registry: report run %d csv: %w", id, err)
	}
	return b, nil
}

// ReportRuns lists the newest runs, at most limit: all of them when
// allFacilities, else only those of facility.
func (s *Store) ReportRuns(ctx context.Context, allFacilities bool, facility string, limit int) ([]ReportRun, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+reportRunCols+` FROM report_runs
		WHERE $1 OR facility = $2 ORDER BY id DESC LIMIT $3`, allFacilities, facility, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: report runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReportRun, error) { return scanReportRun(r) })
	if err != nil {
		return nil, fmt.Errorf("registry: report runs: %w", err)
	}
	return runs, nil
}

// MaxPatientID is the highest patient id: reports read patients in id
// order, so the id a run has reached measures its progress.
func (s *Store) MaxPatientID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM patients`).Scan(&id); err != nil {
		return 0, fmt.Errorf("registry: max patient id: %w", err)
	}
	return id, nil
}

// FailStaleReportRuns records as failed the runs queued or running that
// were requested before cutoff: their iisd stopped or crashed during the
// run. It returns how many.
func (s *Store) FailStaleReportRuns(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE report_runs SET status = 'failed', finished_at = now(),
		error = 'interrupted: iisd stopped during the run; start it again'
		WHERE status IN ('queued', 'running') AND requested_at < $1`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("registry: fail stale report runs: %w", err)
	}
	return tag.RowsAffected(), nil
}
