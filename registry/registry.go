// Package registry is the immunization registry's PostgreSQL store: the
// schema (embedded migrations applied at start), patient matching against
// the stored population, and the write path that turns one received
// message into source rows, a linked or new patient and consolidated
// vaccination events, keyed on the message's source identity so that
// applying it twice changes nothing.
package registry

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/match"
	"github.com/iisproject/iis/registry/consolidate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures a Store.
type Config struct {
	// URL is the PostgreSQL connection string (DATABASE_URL).
	URL string
	// MaxConns bounds the pool (default 16).
	MaxConns int32
	// Matcher scores candidates (default match.New(match.DefaultConfig())).
	Matcher *match.Matcher
	// Codes provides CVX vaccine groups (default codeset.Default()).
	Codes *codeset.Set
	// MaxBlock: a blocking key shared by this many patients or more is
	// skipped when looking for candidates (a clinic's phone, a very common
	// name pair). Default 1000.
	MaxBlock int
	// Actor names the writer in the audit log (default "worker").
	Actor string
}

// Store is the registry database.
type Store struct {
	pool  *pgxpool.Pool
	m     *match.Matcher
	cons  *consolidate.Consolidator
	cfg   Config
	owned bool
}

// Open connects to PostgreSQL, applies the pending migrations, rebuilds
// the blocking keys if their version changed (BlockingKeysVersion) and
// returns the store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("registry: database URL: %w", err)
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	pc.MaxConns = cfg.MaxConns
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("registry: connect: %w", err)
	}
	if _, err := Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := New(pool, cfg)
	s.owned = true
	if err := s.ensureBlockingKeys(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// New returns a Store on an existing pool whose schema is migrated.
func New(pool *pgxpool.Pool, cfg Config) *Store {
	if cfg.Matcher == nil {
		cfg.Matcher = match.New(match.DefaultConfig())
	}
	if cfg.MaxBlock <= 0 {
		cfg.MaxBlock = 1000
	}
	if cfg.Actor == "" {
		cfg.Actor = "worker"
	}
	return &Store{pool: pool, m: cfg.Matcher, cons: consolidate.New(cfg.Codes), cfg: cfg}
}

// Pool returns the connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool if Open created it.
func (s *Store) Close() {
	if s.owned {
		s.pool.Close()
	}
}

// Message is one queued message to store.
type Message struct {
	Kind      string // vxu, rejected or query (the queue subject's kind)
	Facility  string
	ControlID string
	Type      string
	Ack       string
	Transport string
	Received  time.Time
	StreamSeq uint64
	Raw       []byte
	// Issues is the ACK's ERR rows in immz.Summary form; AckBody the ACK.
	Issues  string
	AckBody []byte
	// Decoded is the immz decoding of Raw; required for Kind "vxu".
	Decoded *immz.Result
	// QueryOutcome is, for Kind "query", the answer's profile and status
	// ("Z42", "Z33 NF", …); see StoreQueries.
	QueryOutcome string
	// StoreOnly keeps a VXU in the message store only: its patient and
	// doses are not written (a facility in onboarding, test status).
	StoreOnly bool
}

// MatchOutcome says how a message's patient was found.
type MatchOutcome string

// Match outcomes.
const (
	OutcomeIdentifier MatchOutcome = "identifier" // same identifier and authority, confirmed by the matcher
	OutcomeMatch      MatchOutcome = "match"      // linked by probabilistic matching
	OutcomePossible   MatchOutcome = "possible"   // new patient, queued for review against candidates
	OutcomeNew        MatchOutcome = "new"        // new patient
)

// Result is what Apply did.
type Result struct {
	// Duplicate: the message (facility, control id) was already stored;
	// nothing changed.
	Duplicate bool
	// StoredOnly: the message was kept in the message store only
	// (rejected, or not a VXU).
	StoredOnly bool
	Outcome    MatchOutcome
	PatientID  int64
	Doses      int
	Actions    consolidate.Actions
}

// ErrPermanent marks errors that a retry cannot fix (the message itself is
// unusable).
var ErrPermanent = errors.New("permanent")

// LockKeys returns the advisory lock keys to hold while applying m: every
// writer of a patient who could match m serializes on them, so two
// workers do not create the same new patient at once. They are hashes of
// the birth date (every candidate shares it, except reports with a
// mistyped one) and of each identifier.
func LockKeys(m *Message) []int64 {
	if m.Decoded == nil || m.Decoded.VXU == nil {
		return nil
	}
	p := &m.Decoded.VXU.Patient
	var keys []int64
	keys = append(keys, hashKey("D:"+p.BirthDate.Format("20060102")))
	for _, id := range p.Identifiers {
		keys = append(keys, hashKey("I:"+id.Type+":"+id.Value))
	}
	return keys
}

func hashKey(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return int64(h.Sum64())
}

// LockAll takes transaction-scoped advisory locks on keys in ascending
// order (sorted so that concurrent batches cannot deadlock on them).
func LockAll(ctx context.Context, tx pgx.Tx, keys []int64) error {
	if len(keys) == 0 {
		return nil
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	_, err := tx.Exec(ctx, `SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k FROM unnest($1::bigint[]) AS u(k) ORDER BY k) s`, keys)
	if err != nil {
		return fmt.Errorf("registry: lock: %w", err)
	}
	return nil
}

// Apply stores m inside tx: the source report, and for an accepted VXU the
// patient (matched, linked or created), its source vaccinations and its
// recomputed events. Applying the same message again changes nothing. It
// is ApplyBulk of one message.
func (s *Store) Apply(ctx context.Context, tx pgx.Tx, m *Message) (Result, error) {
	res, err := s.ApplyBulk(ctx, tx, []*Message{m})
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

// ApplyLocked stores m in a transaction of its own, holding m's lock keys
// (LockKeys) as the worker does: a message applied alone, outside a batch.
func (s *Store) ApplyLocked(ctx context.Context, m *Message) (Result, error) {
	var res Result
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := LockAll(ctx, tx, LockKeys(m)); err != nil {
			return err
		}
		var err error
		res, err = s.Apply(ctx, tx, m)
		return err
	})
	return res, err
}

// idPool hands out the row ids reserved for a batch.
type idPool struct{ patients, doses []int64 }

func (p *idPool) patient() int64 { id := p.patients[0]; p.patients = p.patients[1:]; return id }
func (p *idPool) dose() int64    { id := p.doses[0]; p.doses = p.doses[1:]; return id }

func (m *Message) vxu() *immz.VXU {
	if m.Kind != "vxu" || m.Decoded == nil || m.StoreOnly {
		return nil
	}
	return m.Decoded.VXU
}

// newReports turns the message's accepted doses into consolidation reports
// with reserved ids.
func newReports(m *Message, msgTime *time.Time, ids *idPool) []consolidate.Report {
	vs := m.vxu().Vaccinations
	reps := make([]consolidate.Report, len(vs))
	for i := range vs {
		v := &vs[i]
		r := consolidate.Report{
			ID: ids.dose(), Facility: m.Facility, ControlID: m.ControlID, Position: v.Position, Received: m.Received,
			FillerOrder: fillerOrder(v.FillerOrder), CVX: v.CVX, NDC: v.NDC, Date: v.AdministeredAt,
			MVX: v.Manufacturer.Code, Historical: v.Historical,
			Action: orDefault(v.Action, "A"), Completion: orDefault(v.CompletionStatus, "CP"),
		}
		if msgTime != nil {
			r.MessageTime = *msgTime
		}
		if len(v.Lots) > 0 {
			r.Lot = v.Lots[0]
		}
		reps[i] = r
	}
	return reps
}

func auditAction(o MatchOutcome) string {
	switch o {
	case OutcomeIdentifier, OutcomeMatch:
		return "link report"
	case OutcomePossible:
		return "create patient, review queued"
	}
	return "create patient"
}

type candidate struct {
	id     int64
	rec    *match.Record
	score  float64
	reason match.Reason
}

type found struct {
	id       int64
	rec      *match.Record // the linked patient's stored record
	outcome  MatchOutcome
	possible []candidate
}

// Blocking keys are stored as 64-bit hashes (patient_blocking_keys.key
// bigint, migration 0003): an index entry of two bigints instead of a
// text key, a much smaller index to keep in memory. The hash is the first
// eight bytes of the key's MD5, read as a big-endian signed integer; the
// SQL function blocking_key_hash(text) computes the same value, for
// queries that pass the keys as text (candidateQuery). Two keys with the
// same hash only add a candidate for the matcher to score, never a link.
func blockingKeyHash(key string) int64 {
	sum := md5.Sum([]byte(key))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// weakKey reports whether a blocking key is one of the kinds that alone
// gather hundreds of strangers: birth date (D:) and last-name Soundex with
// birth year (L:). See candidateQuery.
func weakKey(key string) bool {
	return strings.HasPrefix(key, "D:") || strings.HasPrefix(key, "L:")
}

// appendKeyHashes appends the hashes of keys, each once.
func appendKeyHashes(dst []int64, keys []string) []int64 {
	start := len(dst)
	for _, k := range keys {
		h := blockingKeyHash(k)
		if !slices.Contains(dst[start:], h) {
			dst = append(dst, h)
		}
	}
	return dst
}

// candidateQuery returns the patients that share with the report two
// blocking keys, or one discriminating key: an identifier (I:), phone (P:),
// street address (A:), first and last name Soundex (N:) or first name
// Soundex and birth day (F:). A birth date (D:) or a last-name Soundex and
// birth year (L:) alone gather hundreds of strangers in a large registry
// and no pair that could reach Match: a duplicate sharing only one of them
// differs in first-name and last-name Soundex and shares no identifier,
// phone or address. Keys shared by $2 patients or more are skipped.
const candidateQuery = `WITH blocks AS (
		SELECT k.strong, x.patient_id AS pid, count(*) OVER (PARTITION BY k.n) AS size
		FROM (SELECT blocking_key_hash(u.key) AS h, left(u.key, 2) NOT IN ('D:', 'L:') AS strong, u.n
			FROM unnest($1::text[]) WITH ORDINALITY AS u(key, n)) k
		CROSS JOIN LATERAL (SELECT patient_id FROM patient_blocking_keys WHERE key = k.h LIMIT $2) x),
	hits AS (
		SELECT pid FROM blocks WHERE size < $2 GROUP BY pid HAVING count(*) >= 2 OR bool_or(strong))
	SELECT p.id, p.match_record FROM patients p JOIN hits h ON p.id = h.pid
	WHERE p.merged_into IS NULL`

// readCandidates reads a candidate query's (id, match_record) rows.
func readCandidates(br pgx.BatchResults) ([]candidate, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("registry: candidates: %w", err)
	}
	defer rows.Close()
	var cands []candidate
	for rows.Next() {
		var c candidate
		var raw []byte
		if err := rows.Scan(&c.id, &raw); err != nil {
			return nil, fmt.Errorf("registry: candidates: %w", err)
		}
		c.rec = &match.Record{}
		if err := decodeMatchRecord(raw, c.rec); err != nil {
			return nil, fmt.Errorf("registry: patient %d match record: %w", c.id, err)
		}
		cands = append(cands, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: candidates: %w", err)
	}
	return cands, nil
}

// decide scores the candidates: first those sharing an identifier with the
// same assigning authority (deterministic step: linked if the matcher
// confirms), then the best Match by score; PossibleMatch candidates are
// returned for review.
func (s *Store) decide(rec *match.Record, cands []candidate) found {
	slices.SortFunc(cands, func(a, b candidate) int { return cmp.Compare(a.id, b.id) })
	recs := make([]*match.Record, len(cands))
	for i := range cands {
		if !cands[i].rec.Normalized() {
			match.Normalize(cands[i].rec)
		}
		recs[i] = cands[i].rec
	}
	var possible []candidate
	b, identifier := s.m.Choose(rec, recs, func(i int, r match.Result) {
		cands[i].score, cands[i].reason = r.Score, r.Reason
		if r.Outcome == match.PossibleMatch {
			possible = append(possible, cands[i])
		}
	})
	var best *candidate
	if b >= 0 {
		best = &cands[b]
	}
	if best != nil {
		o := OutcomeMatch
		if identifier {
			o = OutcomeIdentifier
		}
		return found{id: best.id, rec: best.rec, outcome: o}
	}
	if len(possible) > 0 {
		slices.SortFunc(possible, func(a, b candidate) int {
			if c := cmp.Compare(b.score, a.score); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		})
		if len(possible) > 5 {
			possible = possible[:5]
		}
		return found{outcome: OutcomePossible, possible: possible}
	}
	return found{outcome: OutcomeNew}
}

func dateOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fillerOrder(id iis.Identifier) string {
	if id.Value == "" {
		return ""
	}
	if id.Authority == "" {
		return id.Value
	}
	return id.Value + "^" + id.Authority
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

const selectReports = `SELECT id, facility, control_id, position, message_time, received_at, filler_order,
		cvx, ndc, administered_on, lot, mvx, historical, action, completion_status
		FROM source_vaccinations WHERE patient_id = $1`

func scanReports(rows pgx.Rows) ([]consolidate.Report, error) {
	defer rows.Close()
	var reps []consolidate.Report
	for rows.Next() {
		var r consolidate.Report
		if err := scanReport(rows, &r); err != nil {
			return nil, err
		}
		reps = append(reps, r)
	}
	return reps, rows.Err()
}

// scanReport scans one row of selectReports' columns into r, after the
// columns lead receives.
func scanReport(rows pgx.Rows, r *consolidate.Report, lead ...any) error {
	var mt, d *time.Time
	if err := rows.Scan(append(lead, &r.ID, &r.Facility, &r.ControlID, &r.Position, &mt, &r.Received, &r.FillerOrder,
		&r.CVX, &r.NDC, &d, &r.Lot, &r.MVX, &r.Historical, &r.Action, &r.Completion)...); err != nil {
		return err
	}
	if mt != nil {
		r.MessageTime = *mt
	}
	if d != nil {
		r.Date = *d
	}
	return nil
}

// Reconsolidate rebuilds patient pid's vaccination events from all its
// source vaccinations (registry/consolidate) and records in each source
// row which event it went to and why.
func (s *Store) Reconsolidate(ctx context.Context, tx pgx.Tx, pid int64) (consolidate.Actions, error) {
	rows, err := tx.Query(ctx, selectReports, pid)
	if err != nil {
		return consolidate.Actions{}, fmt.Errorf("registry: consolidate %d: %w", pid, err)
	}
	reps, err := scanReports(rows)
	if err != nil {
		return consolidate.Actions{}, fmt.Errorf("registry: consolidate %d: %w", pid, err)
	}
	res := s.cons.Consolidate(reps)
	b := &pgx.Batch{}
	queueEvents(b, pid, res, true)
	queueConsolidation(b, reps, res)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return res.Actions, fmt.Errorf("registry: consolidate %d: %w", pid, err)
	}
	return res.Actions, nil
}

// consolidation returns, for each report, its event id (nil if none) and
// its status: winner, duplicate, not_event (a standing refusal, not
// administered or 998 report), delete, or superseded (by an update or a
// delete).
func consolidation(reps []consolidate.Report, res consolidate.Result) ([]*int64, []string) {
	type place struct {
		event  int64
		winner bool
	}
	where := make(map[int64]place, len(reps))
	standing := make(map[int64]bool, len(res.NotEvents))
	for _, id := range res.NotEvents {
		standing[id] = true
	}
	for _, e := range res.Events {
		for j, src := range e.Sources {
			where[src] = place{e.Winner, j == 0}
		}
	}
	events := make([]*int64, len(reps))
	status := make([]string, len(reps))
	for i, r := range reps {
		if p, ok := where[r.ID]; ok {
			e := p.event
			events[i] = &e
			status[i] = "duplicate"
			if p.winner {
				status[i] = "winner"
			}
			continue
		}
		switch {
		case standing[r.ID]:
			status[i] = "not_event"
		case r.Action == "D":
			status[i] = "delete"
		default:
			status[i] = "superseded"
		}
	}
	return events, status
}

// queueEvents writes the patient's events (after deleting the old ones
// when replace is set).
func queueEvents(b *pgx.Batch, pid int64, res consolidate.Result, replace bool) {
	if replace {
		b.Queue(`DELETE FROM vaccination_events WHERE patient_id = $1`, pid)
	}
	n := len(res.Events)
	if n == 0 {
		return
	}
	var (
		ids    = make([]int64, n)
		groups = make([]string, n)
		cvx    = make([]string, n)
		dates  = make([]time.Time, n)
		lots   = make([]string, n)
		mvx    = make([]string, n)
		hist   = make([]bool, n)
		count  = make([]int32, n)
	)
	for i, e := range res.Events {
		ids[i], cvx[i], dates[i], lots[i], mvx[i], hist[i] = e.Winner, e.CVX, e.Date, e.Lot, e.MVX, e.Historical
		groups[i] = strings.Join(e.Groups, ",")
		count[i] = int32(len(e.Sources))
	}
	b.Queue(`INSERT INTO vaccination_events (id, patient_id, vaccine_groups, cvx, administered_on, lot, mvx, historical, source_count)
		SELECT u.id, $1, string_to_array(u.g, ','), u.cvx, u.d, u.lot, u.mvx, u.hist, u.n
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::date[], $6::text[], $7::text[], $8::bool[], $9::int[])
			AS u(id, g, cvx, d, lot, mvx, hist, n)`,
		pid, ids, groups, cvx, dates, lots, mvx, hist, count)
}

// queueConsolidation records each source row's event and status.
func queueConsolidation(b *pgx.Batch, reps []consolidate.Report, res consolidate.Result) {
	events, status := consolidation(reps, res)
	ids := make([]int64, len(reps))
	for i, r := range reps {
		ids[i] = r.ID
	}
	b.Queue(`UPDATE source_vaccinations sv SET event_id = u.e, consolidation = u.s
		FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(id, e, s)
		WHERE sv.id = u.id AND (sv.event_id IS DISTINCT FROM u.e OR sv.consolidation <> u.s)`, ids, events, status)
}
