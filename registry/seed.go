package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/iisproject/iis/match"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Seed loads records as new patients with COPY — patients, identifiers and
// blocking keys — to build a large registry for benchmarks quickly. The
// records need not be normalised. It returns the number of patients
// loaded.
func Seed(ctx context.Context, pool *pgxpool.Pool, records []*match.Record) (int, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("registry: seed: %w", err)
	}
	defer conn.Release()
	var first int64
	if err := conn.QueryRow(ctx, `SELECT nextval('patients_id_seq')`).Scan(&first); err != nil {
		return 0, fmt.Errorf("registry: seed: %w", err)
	}
	last := first + int64(len(records))
	if _, err := conn.Exec(ctx, `SELECT setval('patients_id_seq', $1)`, last); err != nil {
		return 0, fmt.Errorf("registry: seed: %w", err)
	}
	const chunk = 50000
	for lo := 0; lo < len(records); lo += chunk {
		hi := min(lo+chunk, len(records))
		var pats, ids, keys [][]any
		now := time.Now()
		for i, r := range records[lo:hi] {
			id := first + int64(lo+i) + 1
			js, err := json.Marshal(r)
			if err != nil {
				return lo, fmt.Errorf("registry: seed: %w", err)
			}
			var dob *time.Time
			if !r.BirthDate.IsZero() {
				d := time.Date(r.BirthDate.Year, time.Month(r.BirthDate.Month), r.BirthDate.Day, 0, 0, 0, 0, time.UTC)
				dob = &d
			}
			pats = append(pats, []any{id, now, now, r.Last, r.First, r.Middle, dob, r.Sex, r.MotherMaidenName, js})
			for _, x := range r.Identifiers {
				ids = append(ids, []any{id, x.Value, x.Authority, x.Type})
			}
			match.Normalize(r)
			for _, k := range match.BlockingKeys(r) {
				keys = append(keys, []any{k, id})
			}
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"patients"},
				[]string{"id", "created_at", "updated_at", "family_name", "given_name", "middle_name", "birth_date", "sex", "mother_maiden_family", "match_record"},
				pgx.CopyFromRows(pats)); err != nil {
				return err
			}
			// Identifier and key rows may repeat within a record (the
			// same MRN twice): copy through a staging table.
			if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS seed_ids (patient_id bigint, value text, authority text, type text) ON COMMIT DELETE ROWS;
				CREATE TEMP TABLE IF NOT EXISTS seed_keys (key text, patient_id bigint) ON COMMIT DELETE ROWS`); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"seed_ids"}, []string{"patient_id", "value", "authority", "type"}, pgx.CopyFromRows(ids)); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"seed_keys"}, []string{"key", "patient_id"}, pgx.CopyFromRows(keys)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO patient_identifiers SELECT DISTINCT patient_id, value, authority, type FROM seed_ids ON CONFLICT DO NOTHING`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO patient_blocking_keys SELECT DISTINCT key, patient_id FROM seed_keys ON CONFLICT DO NOTHING`)
			return err
		})
		if err != nil {
			return lo, fmt.Errorf("registry: seed: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, `ANALYZE patients; ANALYZE patient_identifiers; ANALYZE patient_blocking_keys`); err != nil {
		return len(records), fmt.Errorf("registry: seed: analyze: %w", err)
	}
	return len(records), nil
}

// RebuildBlockingKeys recomputes every patient's blocking keys from its
// stored match record, chunk by chunk, each chunk in its own transaction.
// Run it after a change of match.BlockingKeys. The rebuilt keys are those
// of the patient's accumulated record: its main name, other last names,
// every identifier, phone and address; the first-name variants of
// individual linked reports are not kept apart. It returns the number of
// patients processed.
func (s *Store) RebuildBlockingKeys(ctx context.Context) (int, error) {
	const chunk = 10000
	var last int64
	total := 0
	for {
		rows, err := s.pool.Query(ctx, `SELECT id, match_record FROM patients WHERE id > $1 AND merged_into IS NULL ORDER BY id LIMIT $2`, last, chunk)
		if err != nil {
			return total, fmt.Errorf("registry: rebuild keys: %w", err)
		}
		var ids []int64
		var keys [][]any
		for rows.Next() {
			var id int64
			var raw []byte
			if err := rows.Scan(&id, &raw); err != nil {
				rows.Close()
				return total, fmt.Errorf("registry: rebuild keys: %w", err)
			}
			r := &match.Record{}
			if err := json.Unmarshal(raw, r); err != nil {
				rows.Close()
				return total, fmt.Errorf("registry: rebuild keys: patient %d: %w", id, err)
			}
			match.Normalize(r)
			for _, k := range match.BlockingKeys(r) {
				keys = append(keys, []any{k, id})
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("registry: rebuild keys: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM patient_blocking_keys WHERE patient_id = ANY($1)`, ids); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS rebuild_keys (key text, patient_id bigint) ON COMMIT DELETE ROWS`); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"rebuild_keys"}, []string{"key", "patient_id"}, pgx.CopyFromRows(keys)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO patient_blocking_keys SELECT DISTINCT key, patient_id FROM rebuild_keys ON CONFLICT DO NOTHING`)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("registry: rebuild keys: %w", err)
		}
		total += len(ids)
		last = ids[len(ids)-1]
	}
}
