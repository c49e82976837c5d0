package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/iisproject/iis/match"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Seed loads records as new patients with COPY — patients, identifiers and
// blocking keys — to build a large registry for benchmarks quickly, then
// vacuums and analyzes the tables it loaded (as autovacuum would after a
// bulk load: the visibility map lets the candidate query read the
// blocking-key index alone). The records need not be normalised. It
// returns the number of patients loaded.
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
		var hashes []int64
		now := time.Now()
		for i, r := range records[lo:hi] {
			id := first + int64(lo+i) + 1
			js := appendMatchRecord(nil, r)
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
			hashes = appendKeyHashes(hashes[:0], match.BlockingKeys(r))
			for _, h := range hashes {
				keys = append(keys, []any{h, id})
			}
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"patients"},
				[]string{"id", "created_at", "updated_at", "family_name", "given_name", "middle_name", "birth_date", "sex", "mother_maiden_family", "match_record"},
				pgx.CopyFromRows(pats)); err != nil {
				return err
			}
			// Identifier rows may repeat within a record (the same MRN
			// twice): copy them through a staging table. A new patient's
			// key hashes are distinct (appendKeyHashes).
			if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS seed_ids (patient_id bigint, value text, authority text, type text) ON COMMIT DELETE ROWS`); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"seed_ids"}, []string{"patient_id", "value", "authority", "type"}, pgx.CopyFromRows(ids)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO patient_identifiers SELECT DISTINCT patient_id, value, authority, type FROM seed_ids ON CONFLICT DO NOTHING`); err != nil {
				return err
			}
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"patient_blocking_keys"}, []string{"key", "patient_id"}, pgx.CopyFromRows(keys))
			return err
		})
		if err != nil {
			return lo, fmt.Errorf("registry: seed: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) patients, patient_identifiers, patient_blocking_keys`); err != nil {
		return len(records), fmt.Errorf("registry: seed: vacuum: %w", err)
	}
	return len(records), nil
}

// keysFormat names how the blocking keys are stored (blockingKeyHash, one
// row per key of every linked report). Change it with the storage.
const keysFormat = "md5-64"

// keysLock is the advisory lock key held while rebuilding the blocking
// keys after a change of their version.
const keysLock = 0x11500002

// BlockingKeysVersion identifies the stored form of the blocking keys: the
// storage format and a fingerprint of match.BlockingKeys on fixed sample
// records, so that a change of the matcher's keys changes the version
// too. Open rebuilds the keys when the registry's version differs.
func BlockingKeysVersion() string {
	h := fnv.New64a()
	for _, r := range keySamples() {
		match.Normalize(r)
		for _, k := range match.BlockingKeys(r) {
			h.Write([]byte(k))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return fmt.Sprintf("%s/%016x", keysFormat, h.Sum64())
}

// keySamples are records with every kind of blocking key: known and
// unknown sex, other last names and aliases, identifiers, phones,
// addresses, a missing birth date.
func keySamples() []*match.Record {
	return []*match.Record{
		{First: "Maria José", Middle: "Ann", Last: "García-López", Sex: "F", BirthDate: match.Date{Year: 2021, Month: 3, Day: 9},
			OtherLastNames: []string{"Smith"}, Aliases: []string{"Majo"}, MotherMaidenName: "Ruiz", MotherFirst: "Ana",
			Identifiers: []match.Identifier{{Value: "MR-00123", Authority: "CLINIC1", Type: "MR"}, {Value: "123456789", Type: "MA"}},
			Phones:      []string{"(860) 555-0123", "5551234"}, Addresses: []match.Address{{Street1: "12 North Main Street Apt 4", City: "Hartford", State: "CT", Zip: "06103-1234"}}},
		{First: "Jon", Last: "O'Neil Jr", BirthDate: match.Date{Year: 2019, Month: 12, Day: 31}},
		{First: "Li", Last: "Wu", Sex: "M", Guardians: []match.PersonName{{First: "Mei", Last: "Wu"}}},
		{Last: "Nguyen", Sex: "F", BirthDate: match.Date{Year: 2024, Month: 2, Day: 29}, MultipleBirth: match.MultipleBirthYes, BirthOrder: 2},
	}
}

// ensureBlockingKeys rebuilds the blocking keys when the registry's
// blocking_keys_version is not BlockingKeysVersion(), under an advisory
// lock so that processes starting together rebuild them once.
func (s *Store) ensureBlockingKeys(ctx context.Context) error {
	want := BlockingKeysVersion()
	have, err := s.keysVersion(ctx, s.pool)
	if err != nil || have == want {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("registry: blocking keys: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(keysLock)); err != nil {
		return fmt.Errorf("registry: blocking keys: lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(keysLock))
	}()
	if have, err = s.keysVersion(ctx, conn); err != nil || have == want {
		return err
	}
	if _, err := s.RebuildBlockingKeys(ctx); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `INSERT INTO blocking_keys_version (version) VALUES ($1)
		ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`, want); err != nil {
		return fmt.Errorf("registry: blocking keys version: %w", err)
	}
	return nil
}

func (s *Store) keysVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (string, error) {
	var v string
	err := q.QueryRow(ctx, `SELECT version FROM blocking_keys_version`).Scan(&v)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("registry: blocking keys version: %w", err)
	}
	return v, nil
}

// RebuildBlockingKeys recomputes every patient's blocking keys from its
// stored match record, chunk by chunk, each chunk in its own transaction.
// Open runs it when the keys' version changed (BlockingKeysVersion). The
// rebuilt keys are those of the patient's accumulated record: its main
// name, other last names, every identifier, phone and address; the
// first-name variants of individual linked reports are not kept apart. It
// returns the number of patients processed.
//
// Each chunk locks its patients (FOR UPDATE) while it replaces their
// keys, so a report linked at the same time either commits first (and its
// data is in the record read) or waits. An index on patient_id exists for
// the duration (the write path has no use for it).
func (s *Store) RebuildBlockingKeys(ctx context.Context) (int, error) {
	if _, err := s.pool.Exec(ctx, `CREATE INDEX IF NOT EXISTS patient_blocking_keys_rebuild ON patient_blocking_keys (patient_id)`); err != nil {
		return 0, fmt.Errorf("registry: rebuild keys: %w", err)
	}
	n, err := s.rebuildKeys(ctx)
	if err != nil {
		return n, err
	}
	if _, err := s.pool.Exec(ctx, `DROP INDEX IF EXISTS patient_blocking_keys_rebuild`); err != nil {
		return n, fmt.Errorf("registry: rebuild keys: %w", err)
	}
	return n, nil
}

func (s *Store) rebuildKeys(ctx context.Context) (int, error) {
	const chunk = 10000
	var last int64
	total := 0
	for {
		var ids []int64
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			ids = ids[:0]
			rows, err := tx.Query(ctx, `SELECT id, match_record FROM patients WHERE id > $1 AND merged_into IS NULL
				ORDER BY id LIMIT $2 FOR UPDATE`, last, chunk)
			if err != nil {
				return err
			}
			var keys [][]any
			var hashes []int64
			for rows.Next() {
				var id int64
				var raw []byte
				if err := rows.Scan(&id, &raw); err != nil {
					rows.Close()
					return err
				}
				r := &match.Record{}
				if err := decodeMatchRecord(raw, r); err != nil {
					rows.Close()
					return fmt.Errorf("patient %d: %w", id, err)
				}
				match.Normalize(r)
				hashes = appendKeyHashes(hashes[:0], match.BlockingKeys(r))
				for _, h := range hashes {
					keys = append(keys, []any{h, id})
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil || len(ids) == 0 {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM patient_blocking_keys WHERE patient_id = ANY($1)`, ids); err != nil {
				return err
			}
			_, err = tx.CopyFrom(ctx, pgx.Identifier{"patient_blocking_keys"}, []string{"key", "patient_id"}, pgx.CopyFromRows(keys))
			return err
		})
		if err != nil {
			return total, fmt.Errorf("registry: rebuild keys: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		total += len(ids)
		last = ids[len(ids)-1]
	}
}
