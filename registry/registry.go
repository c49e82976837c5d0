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
	"encoding/json"
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

// Open connects to PostgreSQL, applies the pending migrations and returns
// the store.
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
	Kind      string // vxu or rejected (the queue subject's kind)
	Facility  string
	ControlID string
	Type      string
	Ack       string
	Transport string
	Received  time.Time
	StreamSeq uint64
	Raw       []byte
	// Decoded is the immz decoding of Raw; required for Kind "vxu".
	Decoded *immz.Result
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
// recomputed events. Applying the same message again changes nothing.
func (s *Store) Apply(ctx context.Context, tx pgx.Tx, m *Message) (Result, error) {
	res, err := s.ApplyBatch(ctx, tx, []*Message{m})
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

// ApplyBatch applies msgs in order inside tx. It first takes the advisory
// locks of every message (LockKeys, in ascending order) and reserves the
// row ids the batch may need, in one round trip; each message then costs
// two round trips when its patient is new, three when it is linked to an
// existing patient (whose other reports must be read to consolidate).
func (s *Store) ApplyBatch(ctx context.Context, tx pgx.Tx, msgs []*Message) ([]Result, error) {
	var keys []int64
	nPat, nDose := 0, 0
	for _, m := range msgs {
		keys = append(keys, LockKeys(m)...)
		if m.vxu() != nil {
			nPat++
			nDose += len(m.vxu().Vaccinations)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	ids := &idPool{}
	err := tx.QueryRow(ctx, `SELECT
		(SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k FROM unnest($1::bigint[]) AS u(k) ORDER BY k) s),
		ARRAY(SELECT nextval('patients_id_seq') FROM generate_series(1, $2)),
		ARRAY(SELECT nextval('source_vaccinations_id_seq') FROM generate_series(1, $3))`,
		keys, nPat, nDose).Scan(nil, &ids.patients, &ids.doses)
	if err != nil {
		return nil, fmt.Errorf("registry: lock and reserve ids: %w", err)
	}
	out := make([]Result, len(msgs))
	for i, m := range msgs {
		if out[i], err = s.apply(ctx, tx, m, ids); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// idPool hands out the row ids reserved for a batch.
type idPool struct{ patients, doses []int64 }

func (p *idPool) patient() int64 { id := p.patients[0]; p.patients = p.patients[1:]; return id }
func (p *idPool) dose() int64    { id := p.doses[0]; p.doses = p.doses[1:]; return id }

func (m *Message) vxu() *immz.VXU {
	if m.Kind != "vxu" || m.Decoded == nil {
		return nil
	}
	return m.Decoded.VXU
}

func (s *Store) apply(ctx context.Context, tx pgx.Tx, m *Message, ids *idPool) (Result, error) {
	var res Result
	var msgTime *time.Time
	if m.Decoded != nil && !m.Decoded.Header.Time.IsZero() {
		t := m.Decoded.Header.Time
		msgTime = &t
	}
	vxu := m.vxu()

	// Round trip 1: the source report (its unique key makes a redelivery a
	// no-op) and the candidate patients.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO source_reports
		(facility, control_id, message_type, kind, ack_code, transport, received_at, message_time, stream_seq, raw)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (facility, control_id) DO NOTHING RETURNING id`,
		m.Facility, m.ControlID, m.Type, m.Kind, m.Ack, m.Transport, m.Received, msgTime, int64(m.StreamSeq), m.Raw)
	var rec *match.Record
	var keys []string
	if vxu != nil {
		rec = MatchRecord(&vxu.Patient)
		match.Normalize(rec)
		keys = match.BlockingKeys(rec)
		s.queueCandidates(b, keys)
	}
	br := tx.SendBatch(ctx, b)
	var reportID int64
	err := br.QueryRow().Scan(&reportID)
	if errors.Is(err, pgx.ErrNoRows) {
		res.Duplicate = true
		return res, br.Close()
	}
	if err != nil {
		br.Close()
		return res, fmt.Errorf("registry: store report: %w", err)
	}
	if vxu == nil {
		res.StoredOnly = true
		return res, br.Close()
	}
	cands, err := readCandidates(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	found := s.decide(rec, cands)
	res.Outcome = found.outcome
	p := &vxu.Patient

	// Round trip 2: the patient, its details, the source vaccinations; for
	// a new patient its events too, for a linked one the reading of all
	// its source vaccinations.
	b = &pgx.Batch{}
	pid := found.id
	if pid == 0 {
		pid = ids.patient()
		if err := queueInsertPatient(b, pid, p, rec); err != nil {
			return res, err
		}
	} else if err := queueUpdatePatient(b, pid, p, mergeRecords(found.rec, rec)); err != nil {
		return res, err
	}
	res.PatientID = pid
	for _, c := range found.possible {
		b.Queue(`INSERT INTO match_reviews (patient_id, candidate_id, report_id, score, reason) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, pid, c.id, reportID, c.score, string(c.reason))
	}
	queuePatientDetails(b, pid, reportID, res.Outcome, s.cfg.Actor,
		fmt.Sprintf("facility=%s control_id=%s doses=%d", m.Facility, m.ControlID, len(vxu.Vaccinations)), p, keys)
	reps := newReports(m, msgTime, ids)
	res.Doses = len(reps)
	if found.id == 0 {
		// A new patient has no other reports: consolidate now.
		cr := s.cons.Consolidate(slices.Clone(reps))
		queueVaccinations(b, reportID, pid, m, msgTime, reps, &cr)
		queueEvents(b, pid, cr, false)
		res.Actions = cr.Actions
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return res, fmt.Errorf("registry: store patient: %w", err)
		}
		return res, nil
	}
	queueVaccinations(b, reportID, pid, m, msgTime, reps, nil)
	n := b.Len()
	b.Queue(selectReports, pid)
	br = tx.SendBatch(ctx, b)
	for range n {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return res, fmt.Errorf("registry: store patient %d: %w", pid, err)
		}
	}
	all, err := readReports(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, fmt.Errorf("registry: consolidate %d: %w", pid, err)
	}

	// Round trip 3: the linked patient's events, rebuilt.
	cr := s.cons.Consolidate(all)
	b = &pgx.Batch{}
	queueEvents(b, pid, cr, true)
	queueConsolidation(b, all, cr)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return res, fmt.Errorf("registry: consolidate %d: %w", pid, err)
	}
	res.Actions = cr.Actions
	return res, nil
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

// candidateQuery returns the patients that share with the report two
// blocking keys, or one discriminating key: an identifier (I:), phone (P:),
// street address (A:), first and last name Soundex (N:) or first name
// Soundex and birth day (F:). A birth date (D:) or a last-name Soundex and
// birth year (L:) alone gather hundreds of strangers in a large registry
// and no pair that could reach Match: a duplicate sharing only one of them
// differs in first-name and last-name Soundex and shares no identifier,
// phone or address. Keys shared by $2 patients or more are skipped.
const candidateQuery = `WITH hits AS (
		SELECT y.pid, count(*) AS n, bool_or(y.strong) AS strong FROM (
			SELECT unnest(b.ids) AS pid, left(k.key, 2) NOT IN ('D:', 'L:') AS strong
			FROM unnest($1::text[]) AS k(key)
			CROSS JOIN LATERAL (SELECT array_agg(patient_id) AS ids FROM
				(SELECT patient_id FROM patient_blocking_keys WHERE key = k.key LIMIT $2) x) b
			WHERE cardinality(b.ids) < $2) y
		GROUP BY y.pid)
	SELECT p.id, p.match_record FROM patients p JOIN hits h ON p.id = h.pid
	WHERE (h.n >= 2 OR h.strong) AND p.merged_into IS NULL`

// queueCandidates asks for the candidate patients of a report (see
// candidateQuery).
func (s *Store) queueCandidates(b *pgx.Batch, keys []string) {
	b.Queue(candidateQuery, keys, s.cfg.MaxBlock)
}

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
		if err := json.Unmarshal(raw, c.rec); err != nil {
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
	var best *candidate
	var possible []candidate
	identifier := false
	for i := range cands {
		c := &cands[i]
		if !c.rec.Normalized() {
			match.Normalize(c.rec)
		}
		r := s.m.Compare(rec, c.rec)
		c.score, c.reason = r.Score, r.Reason
		switch r.Outcome {
		case match.Match:
			sharesID := sharesIdentifier(rec, c.rec)
			switch {
			case best == nil,
				sharesID && !identifier,
				sharesID == identifier && c.score > best.score:
				best, identifier = c, sharesID
			}
		case match.PossibleMatch:
			possible = append(possible, *c)
		}
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

// sharesIdentifier reports whether a and b carry the same identifier from
// the same named assigning authority.
func sharesIdentifier(a, b *match.Record) bool {
	for _, x := range a.Identifiers {
		if x.Authority == "" {
			continue
		}
		for _, y := range b.Identifiers {
			if strings.EqualFold(x.Value, y.Value) && strings.EqualFold(x.Authority, y.Authority) && x.Type == y.Type {
				return true
			}
		}
	}
	return false
}

func dateOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func queueInsertPatient(b *pgx.Batch, id int64, p *iis.Patient, rec *match.Record) error {
	js, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("registry: match record: %w", err)
	}
	n := p.LegalName()
	b.Queue(`INSERT INTO patients (id, family_name, given_name, middle_name, suffix, birth_date, sex,
		multiple_birth, birth_order, mother_maiden_family, mother_maiden_given, death_date,
		protection, protection_date, publicity_code, publicity_date, registry_status, registry_status_date, match_record)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		id, n.Family, n.Given, n.Middle, n.Suffix, dateOrNil(p.BirthDate), p.Sex,
		p.MultipleBirth, p.BirthOrder, p.MotherMaidenName.Family, p.MotherMaidenName.Given, dateOrNil(p.DeathDate),
		p.Protection, dateOrNil(p.ProtectionDate), p.PublicityCode.Code, dateOrNil(p.PublicityDate),
		p.RegistryStatus, dateOrNil(p.RegistryStatusDate), js)
	return nil
}

// queueUpdatePatient records a linked report: the protection, publicity
// and registry status it carries (when it carries them) become the
// patient's, the match record grows, and the row lock serializes
// consolidation of the patient.
func queueUpdatePatient(b *pgx.Batch, id int64, p *iis.Patient, rec *match.Record) error {
	js, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("registry: match record: %w", err)
	}
	b.Queue(`UPDATE patients SET updated_at = now(), match_record = $2,
		protection = CASE WHEN $3 = '' THEN protection ELSE $3 END,
		protection_date = COALESCE($4, protection_date),
		publicity_code = CASE WHEN $5 = '' THEN publicity_code ELSE $5 END,
		publicity_date = COALESCE($6, publicity_date),
		registry_status = CASE WHEN $7 = '' THEN registry_status ELSE $7 END,
		registry_status_date = COALESCE($8, registry_status_date),
		death_date = COALESCE($9, death_date),
		mother_maiden_family = CASE WHEN mother_maiden_family = '' THEN $10 ELSE mother_maiden_family END,
		multiple_birth = CASE WHEN $11 = '' THEN multiple_birth ELSE $11 END,
		birth_order = CASE WHEN $12 = 0 THEN birth_order ELSE $12 END
		WHERE id = $1`,
		id, js, p.Protection, dateOrNil(p.ProtectionDate), p.PublicityCode.Code, dateOrNil(p.PublicityDate),
		p.RegistryStatus, dateOrNil(p.RegistryStatusDate), dateOrNil(p.DeathDate), p.MotherMaidenName.Family,
		p.MultipleBirth, p.BirthOrder)
	return nil
}

// queuePatientDetails adds, in one statement, the reported identifiers,
// names, addresses, phones, guardians and blocking keys the patient does
// not have yet, links the source report to the patient and writes the
// audit row.
func queuePatientDetails(b *pgx.Batch, pid, reportID int64, outcome MatchOutcome, actor, detail string, p *iis.Patient, keys []string) {
	var idv, ida, idt []string
	for _, id := range p.Identifiers {
		if id.Value != "" {
			idv, ida, idt = append(idv, id.Value), append(ida, id.Authority), append(idt, id.Type)
		}
	}
	var nf, ng, nm, ns, nt []string
	for _, n := range p.Names {
		nf, ng, nm, ns, nt = append(nf, n.Family), append(ng, n.Given), append(nm, n.Middle), append(ns, n.Suffix), append(nt, n.Type)
	}
	var as, ao, ac, ast, az, aco, acy, at []string
	for _, a := range p.Addresses {
		as, ao, ac, ast = append(as, a.Street), append(ao, a.Other), append(ac, a.City), append(ast, a.State)
		az, aco, acy, at = append(az, a.Zip), append(aco, a.Country), append(acy, a.County), append(at, a.Type)
	}
	var pn, pe, pu, pq []string
	for _, ph := range p.Phones {
		pn, pe, pu, pq = append(pn, ph.Number()), append(pe, ph.Email), append(pu, ph.Use), append(pq, ph.Equipment)
	}
	var gf, gg, gr, gp []string
	for _, g := range p.Guardians {
		phone := ""
		if len(g.Phones) > 0 {
			phone = g.Phones[0].Number()
		}
		gf, gg, gr, gp = append(gf, g.Name.Family), append(gg, g.Name.Given), append(gr, g.Relationship.Code), append(gp, phone)
	}
	b.Queue(`WITH
		i AS (INSERT INTO patient_identifiers (patient_id, value, authority, type)
			SELECT DISTINCT $1::bigint, u.v, u.a, u.t FROM unnest($2::text[], $3::text[], $4::text[]) AS u(v, a, t) ON CONFLICT DO NOTHING),
		n AS (INSERT INTO patient_names (patient_id, family, given, middle, suffix, type)
			SELECT DISTINCT $1::bigint, u.f, u.g, u.m, u.s, u.t FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS u(f, g, m, s, t) ON CONFLICT DO NOTHING),
		a AS (INSERT INTO patient_addresses (patient_id, street, other, city, state, zip, country, county, type)
			SELECT DISTINCT $1::bigint, u.* FROM unnest($10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[]) AS u ON CONFLICT DO NOTHING),
		ph AS (INSERT INTO patient_phones (patient_id, number, email, use, equipment)
			SELECT DISTINCT $1::bigint, u.* FROM unnest($18::text[], $19::text[], $20::text[], $21::text[]) AS u ON CONFLICT DO NOTHING),
		g AS (INSERT INTO patient_guardians (patient_id, family, given, relationship, phone)
			SELECT DISTINCT $1::bigint, u.* FROM unnest($22::text[], $23::text[], $24::text[], $25::text[]) AS u ON CONFLICT DO NOTHING),
		k AS (INSERT INTO patient_blocking_keys (key, patient_id)
			SELECT DISTINCT u.k, $1::bigint FROM unnest($26::text[]) AS u(k) ON CONFLICT DO NOTHING),
		r AS (UPDATE source_reports SET patient_id = $1, match_outcome = $28 WHERE id = $27)
		INSERT INTO audit_log (actor, action, patient_id, report_id, detail) VALUES ($29, $30, $1, $27, $31)`,
		pid, idv, ida, idt, nf, ng, nm, ns, nt, as, ao, ac, ast, az, aco, acy, at, pn, pe, pu, pq, gf, gg, gr, gp,
		keys, reportID, string(outcome), actor, auditAction(outcome), detail)
}

// queueVaccinations adds one source_vaccinations row per accepted dose
// group (reps, with reserved ids), keyed on (facility, control id,
// position), with its consolidation when cr is given.
func queueVaccinations(b *pgx.Batch, reportID, pid int64, m *Message, msgTime *time.Time, reps []consolidate.Report, cr *consolidate.Result) {
	vs := m.vxu().Vaccinations
	if len(vs) == 0 {
		return
	}
	n := len(vs)
	var (
		id         = make([]int64, n)
		pos        = make([]int32, n)
		filler     = make([]string, n)
		cvx        = make([]string, n)
		ndc        = make([]string, n)
		date       = make([]*time.Time, n)
		lot        = make([]string, n)
		mvx        = make([]string, n)
		historical = make([]bool, n)
		action     = make([]string, n)
		completion = make([]string, n)
		refusals   = make([]string, n)
	)
	for i := range vs {
		v, r := &vs[i], &reps[i]
		id[i] = r.ID
		pos[i] = int32(v.Position)
		filler[i] = r.FillerOrder
		cvx[i], ndc[i] = v.CVX, v.NDC
		date[i] = dateOrNil(v.AdministeredAt)
		lot[i], mvx[i] = r.Lot, r.MVX
		historical[i] = v.Historical
		action[i], completion[i] = r.Action, r.Completion
		var rs []string
		for _, x := range v.RefusalReasons {
			rs = append(rs, x.Code)
		}
		refusals[i] = strings.Join(rs, ",")
	}
	event, status := make([]*int64, n), make([]string, n)
	if cr != nil {
		event, status = consolidation(reps, *cr)
	}
	b.Queue(`INSERT INTO source_vaccinations (id, report_id, patient_id, facility, control_id, message_time, received_at,
		position, filler_order, cvx, ndc, administered_on, lot, mvx, historical, action, completion_status, refusal_reasons,
		event_id, consolidation)
		SELECT u.id, $1, $2, $3, $4, $5, $6, u.pos, u.filler, u.cvx, u.ndc, u.d, u.lot, u.mvx, u.hist, u.act, u.comp,
			CASE WHEN u.ref = '' THEN '{}'::text[] ELSE string_to_array(u.ref, ',') END, u.ev, u.st
		FROM unnest($7::bigint[], $8::int[], $9::text[], $10::text[], $11::text[], $12::date[], $13::text[], $14::text[],
			$15::bool[], $16::text[], $17::text[], $18::text[], $19::bigint[], $20::text[])
			AS u(id, pos, filler, cvx, ndc, d, lot, mvx, hist, act, comp, ref, ev, st)
		ON CONFLICT (facility, control_id, position) DO NOTHING`,
		reportID, pid, m.Facility, m.ControlID, msgTime, m.Received,
		id, pos, filler, cvx, ndc, date, lot, mvx, historical, action, completion, refusals, event, status)
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

func readReports(br pgx.BatchResults) ([]consolidate.Report, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	return scanReports(rows)
}

func scanReports(rows pgx.Rows) ([]consolidate.Report, error) {
	defer rows.Close()
	var reps []consolidate.Report
	for rows.Next() {
		var r consolidate.Report
		var mt, d *time.Time
		if err := rows.Scan(&r.ID, &r.Facility, &r.ControlID, &r.Position, &mt, &r.Received, &r.FillerOrder,
			&r.CVX, &r.NDC, &d, &r.Lot, &r.MVX, &r.Historical, &r.Action, &r.Completion); err != nil {
			return nil, err
		}
		if mt != nil {
			r.MessageTime = *mt
		}
		if d != nil {
			r.Date = *d
		}
		reps = append(reps, r)
	}
	return reps, rows.Err()
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
// its status: winner, duplicate, not_event (refusal, not administered,
// 998), delete, or superseded (by an update or a delete).
func consolidation(reps []consolidate.Report, res consolidate.Result) ([]*int64, []string) {
	type place struct {
		event  int64
		winner bool
	}
	where := make(map[int64]place, len(reps))
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
		case r.Completion == "RE" || r.Completion == "NA" || r.CVX == codeset.CVXNoVaccineAdministered:
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
