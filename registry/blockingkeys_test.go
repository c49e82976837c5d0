package registry

import (
	"context"
	"slices"
	"testing"

	"github.com/iisproject/iis/match"
	msynth "github.com/iisproject/iis/match/synth"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func testPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestBlockingKeyHashMatchesSQL: the Go hash and the SQL function agree,
// on every kind of key and on non-ASCII text.
func TestBlockingKeyHashMatchesSQL(t *testing.T) {
	pool := testPool(t)
	if _, err := Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	keys := []string{"", "D:20190101:M", "L:S530:2019:J", "N:J500:S530:03", "F:M600:0309", "I:MR:12345",
		"P:8605550123", "A:06103:12:N MAIN ST", "N:Zoë", "I:MR:名前", "A:\x01"}
	for _, r := range msynth.Generate(msynth.DefaultConfig(50)).Records {
		match.Normalize(r)
		keys = append(keys, match.BlockingKeys(r)...)
	}
	var got []int64
	if err := pool.QueryRow(context.Background(), `SELECT array_agg(blocking_key_hash(k) ORDER BY n)
		FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n)`, keys).Scan(&got); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if want := blockingKeyHash(k); got[i] != want {
			t.Errorf("%q: SQL %d, Go %d", k, got[i], want)
		}
	}
}

// TestCandidateQueries: on a seeded population, candidateQuery (text keys,
// used for queries) and bulkCandidateQuery (hashes, used by the worker)
// return exactly the patients the filter rule selects, computed here from
// the records' keys: two shared keys or one discriminating key, keys
// shared by MaxBlock patients or more left out. A small MaxBlock makes the
// birth-date and surname blocks hit the limit.
func TestCandidateQueries(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	if _, err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	// Besides the synthetic population: a patient a report shares only
	// the two weak keys with (birth date and surname Soundex; a candidate)
	// and one it shares the birth date alone with (not a candidate).
	dob := match.Date{Year: 2020, Month: 1, Day: 15}
	twoWeak := &match.Record{First: "John", Last: "Smith", Sex: "M", BirthDate: dob}
	oneWeak := &match.Record{First: "Paul", Last: "Jones", Sex: "M", BirthDate: dob}
	weakReport := &match.Record{First: "Jake", Last: "Smyth", Sex: "M", BirthDate: dob}
	pop := append(msynth.Generate(msynth.DefaultConfig(3000)).Records, twoWeak, oneWeak)
	if _, err := Seed(ctx, pool, pop); err != nil {
		t.Fatal(err)
	}
	var first int64
	if err := pool.QueryRow(ctx, `SELECT min(id) FROM patients`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	keys := make([][]string, len(pop))
	blocks := map[string][]int{}
	for i, r := range pop {
		match.Normalize(r)
		keys[i] = match.BlockingKeys(r)
		for _, k := range keys[i] {
			blocks[k] = append(blocks[k], i)
		}
	}
	const maxBlock = 4
	big := 0
	for _, b := range blocks {
		if len(b) >= maxBlock {
			big++
		}
	}
	if big == 0 {
		t.Fatal("no block reaches MaxBlock: the limit is not exercised")
	}
	want := func(q []string) []int64 {
		n, strong := map[int]int{}, map[int]bool{}
		for _, k := range q {
			if len(blocks[k]) >= maxBlock {
				continue
			}
			for _, p := range blocks[k] {
				n[p]++
				strong[p] = strong[p] || !weakKey(k)
			}
		}
		var out []int64
		for p, c := range n {
			if c >= 2 || strong[p] {
				out = append(out, first+int64(p))
			}
		}
		slices.Sort(out)
		return out
	}
	// The reports: records of the population (each finds itself among
	// others) and new ones.
	others := msynth.DefaultConfig(200)
	others.Seed = 99
	reports := append(slices.Clone(pop[:200:200]), msynth.Generate(others).Records...)
	reports = append(reports, weakReport)
	if w := want(match.BlockingKeys(weakReport)); !slices.Equal(w, []int64{first + int64(len(pop)-2)}) {
		t.Fatalf("the report sharing two weak keys should find exactly that patient (%d), the rule says %v", first+int64(len(pop)-2), w)
	}
	var qi []int32
	var qh []int64
	var qs []bool
	for i, r := range reports {
		match.Normalize(r)
		for _, k := range match.BlockingKeys(r) {
			qi, qh, qs = append(qi, int32(i)), append(qh, blockingKeyHash(k)), append(qs, !weakKey(k))
		}
	}
	bulk := make([][]int64, len(reports))
	rows, err := pool.Query(ctx, bulkCandidateQuery, qi, qh, qs, maxBlock)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var i int32
		var id int64
		var raw []byte
		if err := rows.Scan(&i, &id, &raw); err != nil {
			t.Fatal(err)
		}
		bulk[i] = append(bulk[i], id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, r := range reports {
		w := want(match.BlockingKeys(r))
		total += len(w)
		rows, err := pool.Query(ctx, candidateQuery, match.BlockingKeys(r), maxBlock)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows,
			func(row pgx.CollectableRow) (int64, error) {
				var id int64
				var raw []byte
				err := row.Scan(&id, &raw)
				return id, err
			})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(bulk[i])
		if !slices.Equal(got, w) || !slices.Equal(bulk[i], w) {
			t.Errorf("report %d: candidateQuery %v, bulkCandidateQuery %v, want %v", i, got, bulk[i], w)
		}
	}
	if total < len(reports) {
		t.Errorf("only %d candidates for %d reports: the comparison proves little", total, len(reports))
	}
}

// TestMigrationHashesTextKeys: migration 0003 turns a registry's text
// keys into their hashes, each (hash, patient) once.
func TestMigrationHashesTextKeys(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	// The schema as it was before 0003.
	if _, err := pool.Exec(ctx, `CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 3 {
			break
		}
		if _, err := pool.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	keys := map[int64][]string{
		1: {"D:20200115:M", "L:S530:2020:J", "I:MR:123"},
		2: {"D:20200115:M", "P:8605550123"},
	}
	for id, ks := range keys {
		if _, err := pool.Exec(ctx, `INSERT INTO patients (id) VALUES ($1)`, id); err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			if _, err := pool.Exec(ctx, `INSERT INTO patient_blocking_keys (key, patient_id) VALUES ($1, $2)`, k, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	applied, err := Migrate(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(applied, 3) {
		t.Fatalf("applied %v, want 0003 among them", applied)
	}
	for id, ks := range keys {
		var got []int64
		if err := pool.QueryRow(ctx, `SELECT array_agg(key ORDER BY key) FROM patient_blocking_keys WHERE patient_id = $1`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		want := appendKeyHashes(nil, ks)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("patient %d: keys %v, want the hashes of %v: %v", id, got, ks, want)
		}
	}
}

// TestBlockingKeysRebuiltOnVersionChange: Open rebuilds the keys of a
// registry whose keys version is not the current one (a change of
// match.BlockingKeys, or of their storage), once, and records the new
// version.
func TestBlockingKeysRebuiltOnVersionChange(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	s, err := Open(ctx, Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pop := msynth.Generate(msynth.DefaultConfig(300)).Records
	if _, err := Seed(ctx, s.Pool(), pop); err != nil {
		t.Fatal(err)
	}
	snapshot := func() []string {
		var out []string
		if err := s.Pool().QueryRow(ctx, `SELECT coalesce(array_agg(key::text || ':' || patient_id::text ORDER BY key, patient_id), '{}')
			FROM patient_blocking_keys`).Scan(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	seeded := snapshot()
	if len(seeded) < 300 {
		t.Fatalf("only %d keys seeded", len(seeded))
	}
	version := func() string {
		v, err := s.keysVersion(ctx, s.Pool())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := version(); v != BlockingKeysVersion() {
		t.Fatalf("a new registry's keys version is %q, want %q", v, BlockingKeysVersion())
	}

	// Keys of another format (here: none, and a stray one), another version.
	if _, err := s.Pool().Exec(ctx, `DELETE FROM patient_blocking_keys WHERE patient_id % 2 = 0;
		INSERT INTO patient_blocking_keys (key, patient_id) SELECT 42, min(id) FROM patients;
		UPDATE blocking_keys_version SET version = 'text/0'`); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if got := snapshot(); !slices.Equal(got, seeded) {
		t.Errorf("after the rebuild %d keys, want the %d seeded ones", len(got), len(seeded))
	}
	if v := version(); v != BlockingKeysVersion() {
		t.Errorf("keys version %q after the rebuild, want %q", v, BlockingKeysVersion())
	}
	var leftover bool
	if err := s.Pool().QueryRow(ctx, `SELECT to_regclass('patient_blocking_keys_rebuild') IS NOT NULL`).Scan(&leftover); err != nil || leftover {
		t.Errorf("the rebuild's patient_id index is left behind (%v)", err)
	}
}
