package registry

import (
	"context"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/match"
	"github.com/iisproject/iis/registry/consolidate"
	"github.com/jackc/pgx/v5"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ApplyBulk applies msgs in order inside tx with set-based statements: a
// fixed number of round trips and statements for the whole slice instead
// of a few per message. The results are those of applying the messages
// one by one: messages later in the slice see the patients created or
// updated by earlier ones (resolved in memory, since the candidate query
// runs once for all).
//
// Round trips: (1) advisory locks and id reservation; (2) the source
// reports (their unique key detects redeliveries) and the candidates of
// every report; (3) the existing source vaccinations of the linked
// patients; (4) every write.
func (s *Store) ApplyBulk(ctx context.Context, tx pgx.Tx, msgs []*Message) ([]Result, error) {
	out := make([]Result, len(msgs))
	if len(msgs) == 0 {
		return out, nil
	}
	items, lockKeys, nPat, nDose := prepareBulk(msgs)
	ids, err := lockAndReserve(ctx, tx, lockKeys, nPat, nDose)
	if err != nil {
		return nil, err
	}
	dbRecs, err := s.storeReportsAndCandidates(ctx, tx, items, out)
	if err != nil {
		return nil, err
	}
	var w bulkWrites
	touched, order := s.decideBulk(items, dbRecs, ids, &w, out)
	existing, err := lockLinkedPatients(ctx, tx, touched, order)
	if err != nil {
		return nil, err
	}
	s.consolidateBulk(order, existing, &w, out)
	return out, sendBulkWrites(ctx, tx, &w)
}

// bulkItem is one message of a slice given to ApplyBulk.
type bulkItem struct {
	m        *Message
	msgTime  *time.Time
	rec      *match.Record
	keys     []string
	reportID int64
	cands    []int64
}

// bulkPatient is a patient that a slice given to ApplyBulk creates or
// links reports to.
type bulkPatient struct {
	id       int64
	rec      *match.Record
	keys     []string
	isNew    bool
	first    *iis.Patient
	updates  []*iis.Patient
	newReps  []consolidate.Report
	newRepOf []int           // item index of each new report
	added    []*match.Record // this slice's reports linked to an existing patient
	lastItem int
}

// prepareBulk decodes what each message needs (its message time, its
// normalized match record and blocking keys) and gathers the sorted,
// distinct advisory lock keys and the number of patient and dose ids to
// reserve.
func prepareBulk(msgs []*Message) (items []bulkItem, lockKeys []int64, nPat, nDose int) {
	items = make([]bulkItem, len(msgs))
	for i, m := range msgs {
		it := &items[i]
		it.m = m
		if m.Decoded != nil && !m.Decoded.Header.Time.IsZero() {
			t := m.Decoded.Header.Time
			it.msgTime = &t
		}
		lockKeys = append(lockKeys, LockKeys(m)...)
		if v := m.vxu(); v != nil {
			nPat++
			nDose += len(v.Vaccinations)
			it.rec = MatchRecord(&v.Patient)
			match.Normalize(it.rec)
			it.keys = match.BlockingKeys(it.rec)
		}
	}
	slices.Sort(lockKeys)
	lockKeys = slices.Compact(lockKeys)
	return items, lockKeys, nPat, nDose
}

// lockAndReserve is round trip 1: it takes the advisory locks in key order
// and reserves nPat patient ids and nDose source vaccination ids.
func lockAndReserve(ctx context.Context, tx pgx.Tx, lockKeys []int64, nPat, nDose int) (*idPool, error) {
	ids := &idPool{}
	if err := tx.QueryRow(ctx, `SELECT
		(SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k FROM unnest($1::bigint[]) AS u(k) ORDER BY k) s),
		ARRAY(SELECT nextval('patients_id_seq') FROM generate_series(1, $2)),
		ARRAY(SELECT nextval('source_vaccinations_id_seq') FROM generate_series(1, $3))`,
		lockKeys, nPat, nDose).Scan(nil, &ids.patients, &ids.doses); err != nil {
		return nil, fmt.Errorf("registry: lock and reserve ids: %w", err)
	}
	return ids, nil
}

// bulkReportRows holds the source report columns of a slice and the
// candidate query's arguments (qi, qh, qs).
type bulkReportRows struct {
	fac, ctl, typ, kind, ack, trans []string
	issues                          []string
	recv                            []time.Time
	mtime                           []*time.Time
	seq                             []int64
	raw, ackBody                    [][]byte
	first                           []bool // the first of its facility and MSH-10 in the slice
	sums                            []string
	qi                              []int32
	qh                              []int64
	qs                              []bool
}

// reportRows gathers the columns of the source reports and, per report,
// the distinct hashes of its blocking keys.
func reportRows(items []bulkItem) *bulkReportRows {
	n := len(items)
	r := &bulkReportRows{
		fac: make([]string, n), ctl: make([]string, n), typ: make([]string, n),
		kind: make([]string, n), ack: make([]string, n), trans: make([]string, n),
		issues: make([]string, n),
		recv:   make([]time.Time, n),
		mtime:  make([]*time.Time, n),
		seq:    make([]int64, n),
		raw:    make([][]byte, n), ackBody: make([][]byte, n),
		first: make([]bool, n),
		sums:  make([]string, n),
	}
	seen := make(map[[2]string]bool, n)
	for i := range items {
		m := items[i].m
		r.fac[i], r.ctl[i], r.typ[i], r.kind[i], r.ack[i], r.trans[i] = m.Facility, m.ControlID, m.Type, m.Kind, m.Ack, m.Transport
		r.recv[i], r.mtime[i], r.seq[i], r.raw[i] = m.Received, items[i].msgTime, int64(m.StreamSeq), m.Raw
		r.issues[i], r.ackBody[i] = m.Issues, m.AckBody
		r.sums[i] = strconv.FormatUint(uint64(crc32.Checksum(m.Raw, castagnoli)), 16)
		if k := [2]string{m.Facility, m.ControlID}; !seen[k] {
			seen[k], r.first[i] = true, true
		}
		start := len(r.qh)
		for _, k := range items[i].keys {
			h := blockingKeyHash(k)
			if slices.Contains(r.qh[start:], h) {
				continue
			}
			r.qi, r.qh, r.qs = append(r.qi, int32(i)), append(r.qh, h), append(r.qs, !weakKey(k))
		}
	}
	return r
}

// queueReports queues the statements of round trip 2: store the reports,
// store new versions of corrected VXUs, read the candidates.
func queueReports(b *pgx.Batch, r *bulkReportRows, maxBlock int) {
	// A redelivery (same facility and MSH-10) changes nothing. A rejected
	// report is replaced by a later one under the same identity: the
	// sender's corrected resend, or an operator's resend after a fix.
	b.Queue(`WITH u AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
				$7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::bytea[], $11::text[], $12::bytea[], $13::bool[])
				AS u(f, c, t, k, a, tr, rt, mt, sq, rw, iss, ab, first)
			WHERE first),
		ins AS (INSERT INTO source_reports AS r
			(facility, control_id, message_type, kind, ack_code, transport, received_at, message_time, stream_seq, raw_digest,
			 issues)
			SELECT f, c, t, k, a, tr, rt, mt, sq, sha256(rw), coalesce(string_to_array(nullif(iss, ''), ';'), '{}')
			FROM u
			ON CONFLICT (facility, control_id) DO UPDATE SET
				message_type = EXCLUDED.message_type, kind = EXCLUDED.kind, ack_code = EXCLUDED.ack_code,
				transport = EXCLUDED.transport, message_time = EXCLUDED.message_time, stream_seq = EXCLUDED.stream_seq,
				raw_digest = EXCLUDED.raw_digest, issues = EXCLUDED.issues,
				replaced_at = now()
			WHERE r.kind = 'rejected' AND (EXCLUDED.kind <> r.kind OR EXCLUDED.raw_digest <> r.raw_digest OR EXCLUDED.issues <> r.issues)
			RETURNING id, facility, control_id, received_at, kind, xmax <> 0 AS replaced),
		old AS (DELETE FROM message_bodies b USING ins
			WHERE ins.replaced AND b.report_id = ins.id AND b.received_at = ins.received_at),
		body AS (INSERT INTO message_bodies (report_id, received_at, kind, raw, ack)
			SELECT ins.id, ins.received_at, ins.kind, u.rw, u.ab
			FROM ins JOIN u ON u.f = ins.facility AND u.c = ins.control_id
			WHERE ins.received_at >= message_store_horizon(ins.kind))
		SELECT id, facility, control_id FROM ins`,
		r.fac, r.ctl, r.typ, r.kind, r.ack, r.trans, r.recv, r.mtime, r.seq, r.raw, r.issues, r.ackBody, r.first)
	// A VXU whose facility and MSH-10 were stored before with other content
	// (a corrected message sent again under the same MSH-10) was accepted
	// and answered AA: it is kept as a new version of that report, its
	// control id suffixed with '#' and a checksum of its content, so that a
	// redelivery of that version is still recognised.
	b.Queue(`WITH u AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
				$7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::bytea[], $11::text[], $12::bytea[], $13::text[])
				AS u(f, c, t, k, a, tr, rt, mt, sq, rw, iss, ab, h)
			WHERE k = 'vxu' AND EXISTS (SELECT 1 FROM source_reports r WHERE r.facility = u.f AND r.control_id = u.c
				AND r.stream_seq IS DISTINCT FROM u.sq AND r.raw_digest <> sha256(u.rw))),
		ins AS (INSERT INTO source_reports
			(facility, control_id, message_type, kind, ack_code, transport, received_at, message_time, stream_seq, raw_digest,
			 issues)
			SELECT f, c || '#' || h, t, k, a, tr, rt, mt, sq, sha256(rw), coalesce(string_to_array(nullif(iss, ''), ';'), '{}')
			FROM u
			ON CONFLICT (facility, control_id) DO NOTHING
			RETURNING id, stream_seq, facility, control_id, received_at, kind),
		body AS (INSERT INTO message_bodies (report_id, received_at, kind, raw, ack)
			SELECT DISTINCT ON (ins.id) ins.id, ins.received_at, ins.kind, u.rw, u.ab
			FROM ins JOIN u ON u.f = ins.facility AND u.c || '#' || u.h = ins.control_id
			WHERE ins.received_at >= message_store_horizon(ins.kind)
			ORDER BY ins.id)
		SELECT id, stream_seq, facility, control_id FROM ins`,
		r.fac, r.ctl, r.typ, r.kind, r.ack, r.trans, r.recv, r.mtime, r.seq, r.raw, r.issues, r.ackBody, r.sums)
	b.Queue(bulkCandidateQuery, r.qi, r.qh, r.qs, maxBlock)
}

// storeReportsAndCandidates is round trip 2: it stores the source reports,
// reads every report's candidates (returned by patient id, normalized),
// and sets each item's report id, or marks its result a duplicate.
func (s *Store) storeReportsAndCandidates(ctx context.Context, tx pgx.Tx, items []bulkItem, out []Result) (map[int64]*match.Record, error) {
	r := reportRows(items)
	b := &pgx.Batch{}
	queueReports(b, r, s.cfg.MaxBlock)
	br := tx.SendBatch(ctx, b)
	stored, err := readStoredReports(br)
	if err != nil {
		br.Close()
		return nil, err
	}
	versions, err := readReportVersions(br)
	if err != nil {
		br.Close()
		return nil, err
	}
	dbRecs, err := readBulkCandidates(br, items)
	if err != nil {
		br.Close()
		return nil, err
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("registry: candidates: %w", err)
	}
	assignReports(items, r.first, stored, versions, out)
	return dbRecs, nil
}

// readStoredReports reads the ids of the reports stored (or replaced), by
// facility and MSH-10.
func readStoredReports(br pgx.BatchResults) (map[[2]string]int64, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("registry: store reports: %w", err)
	}
	stored := map[[2]string]int64{}
	for rows.Next() {
		var id int64
		var f, c string
		if err := rows.Scan(&id, &f, &c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("registry: store reports: %w", err)
		}
		stored[[2]string{f, c}] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: store reports: %w", err)
	}
	return stored, nil
}

// reportVersion is a stored new version of a report: its id and its
// suffixed control id.
type reportVersion struct {
	id      int64
	control string
}

// versionKey identifies a report version by stream sequence, facility and
// MSH-10: one JetStream message can carry several reports (a queue
// envelope), never two of one identity.
type versionKey struct {
	seq               int64
	facility, control string
}

// readReportVersions reads the stored new versions of corrected VXUs.
func readReportVersions(br pgx.BatchResults) (map[versionKey]reportVersion, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("registry: store report versions: %w", err)
	}
	versions := map[versionKey]reportVersion{}
	for rows.Next() {
		var id, sq int64
		var f, c string
		if err := rows.Scan(&id, &sq, &f, &c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("registry: store report versions: %w", err)
		}
		base := c
		if j := strings.LastIndexByte(c, '#'); j >= 0 {
			base = c[:j]
		}
		versions[versionKey{sq, f, base}] = reportVersion{id, c}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: store report versions: %w", err)
	}
	return versions, nil
}

// readBulkCandidates reads the candidate rows: it appends each candidate
// to its item's and returns the normalized match records by patient id.
func readBulkCandidates(br pgx.BatchResults, items []bulkItem) (map[int64]*match.Record, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("registry: candidates: %w", err)
	}
	defer rows.Close()
	dbRecs := map[int64]*match.Record{}
	for rows.Next() {
		var i int32
		var id int64
		var rb []byte
		if err := rows.Scan(&i, &id, &rb); err != nil {
			return nil, fmt.Errorf("registry: candidates: %w", err)
		}
		if _, ok := dbRecs[id]; !ok {
			r := &match.Record{}
			if err := decodeMatchRecord(rb, r); err != nil {
				return nil, fmt.Errorf("registry: patient %d match record: %w", id, err)
			}
			match.Normalize(r)
			dbRecs[id] = r
		}
		items[i].cands = append(items[i].cands, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: candidates: %w", err)
	}
	return dbRecs, nil
}

// assignReports sets each item's report id: the report stored for the
// first copy of its identity in the slice, or the new version stored for
// it; any other item is a duplicate.
func assignReports(items []bulkItem, first []bool, stored map[[2]string]int64, versions map[versionKey]reportVersion, out []Result) {
	for i := range items {
		k := [2]string{items[i].m.Facility, items[i].m.ControlID}
		if id, ok := stored[k]; ok && first[i] {
			items[i].reportID = id
			delete(stored, k) // a second copy in the same slice is a duplicate
		} else if v, ok := versions[versionKey{int64(items[i].m.StreamSeq), k[0], k[1]}]; ok {
			items[i].reportID, items[i].m.ControlID = v.id, v.control
		} else {
			out[i].Duplicate = true
		}
	}
}

// decideBulk decides, in message order, each stored VXU's patient against
// the database's candidates and the patients this slice has already
// touched, and gathers its report's rows in w. It returns the touched
// patients by id and in order of first touch.
func (s *Store) decideBulk(items []bulkItem, dbRecs map[int64]*match.Record, ids *idPool, w *bulkWrites, out []Result) (map[int64]*bulkPatient, []*bulkPatient) {
	touched := map[int64]*bulkPatient{}
	var order []*bulkPatient
	for i := range items {
		it := &items[i]
		v := it.m.vxu()
		if out[i].Duplicate {
			continue
		}
		if v == nil {
			out[i].StoredOnly = true
			continue
		}
		f := s.decide(it.rec, bulkCandidates(it, dbRecs, touched, order))
		res := &out[i]
		res.Outcome = f.outcome
		var p *bulkPatient
		if f.id == 0 {
			p = &bulkPatient{id: ids.patient(), rec: it.rec, keys: slices.Clone(it.keys), isNew: true, first: &v.Patient}
			touched[p.id] = p
			order = append(order, p)
		} else {
			p = touched[f.id]
			if p == nil {
				p = &bulkPatient{id: f.id, rec: f.rec}
				touched[p.id] = p
				order = append(order, p)
			}
			p.link(it, &v.Patient)
		}
		p.lastItem = i
		res.PatientID = p.id
		res.Doses = s.queueItemWrites(w, i, it, v, p, f, ids)
	}
	return touched, order
}

// bulkCandidates returns an item's candidates: its database candidates
// (with the match record of this slice's version of those it touched),
// then the patients this slice touched whose keys pass the candidate
// query's rule.
func bulkCandidates(it *bulkItem, dbRecs map[int64]*match.Record, touched map[int64]*bulkPatient, order []*bulkPatient) []candidate {
	var cands []candidate
	seen := map[int64]bool{}
	for _, id := range it.cands {
		if seen[id] {
			continue
		}
		seen[id] = true
		rec := dbRecs[id]
		if p, ok := touched[id]; ok {
			rec = p.rec
		}
		cands = append(cands, candidate{id: id, rec: rec})
	}
	for _, p := range order {
		if !seen[p.id] && passesFilter(it.keys, p.keys) {
			seen[p.id] = true
			cands = append(cands, candidate{id: p.id, rec: p.rec})
		}
	}
	return cands
}

// link folds a report linked to p into its match record, keys and
// updates.
func (p *bulkPatient) link(it *bulkItem, pat *iis.Patient) {
	p.rec = match.Merge(p.rec, it.rec)
	match.Normalize(p.rec)
	p.added = append(p.added, it.rec)
	for _, k := range it.keys {
		if !slices.Contains(p.keys, k) {
			p.keys = append(p.keys, k)
		}
	}
	p.updates = append(p.updates, pat)
}

// queueItemWrites gathers in w the rows of item i linked to p (details,
// reviews, report link and audit, observations, doses), adds its doses to
// p's new reports, and returns the number of doses.
func (s *Store) queueItemWrites(w *bulkWrites, i int, it *bulkItem, v *immz.VXU, p *bulkPatient, f found, ids *idPool) int {
	w.details(p.id, p.isNew, &v.Patient, it.keys)
	for _, c := range f.possible {
		w.review(p.id, c.id, it.reportID, c.score, string(c.reason))
	}
	w.report(it.reportID, p.id, string(f.outcome), s.cfg.Actor, auditAction(f.outcome),
		fmt.Sprintf("facility=%s control_id=%s doses=%d", it.m.Facility, it.m.ControlID, len(v.Vaccinations)))
	w.observations(it.reportID, p.id, v.Patient.Observations)
	reps := newReports(it.m, it.msgTime, ids)
	for j := range reps {
		p.newReps = append(p.newReps, reps[j])
		p.newRepOf = append(p.newRepOf, i)
		w.dose(it.reportID, p.id, it.m, it.msgTime, &v.Vaccinations[j], &reps[j])
	}
	return len(reps)
}

// lockLinkedPatients is round trip 3: it locks the linked patients (in id
// order), then reads their current match records and other reports. The
// lock makes a concurrent transaction that links a report to the same
// patient wait for this one's commit, and the reads after it see that
// transaction's committed rows, so neither consolidation nor the match
// record loses the other's reports. It returns the existing reports by
// patient id.
func lockLinkedPatients(ctx context.Context, tx pgx.Tx, touched map[int64]*bulkPatient, order []*bulkPatient) (map[int64][]consolidate.Report, error) {
	var linked []int64
	for _, p := range order {
		if !p.isNew {
			linked = append(linked, p.id)
		}
	}
	existing := map[int64][]consolidate.Report{}
	if len(linked) == 0 {
		return existing, nil
	}
	slices.Sort(linked)
	b := &pgx.Batch{}
	b.Queue(`SELECT id, match_record FROM patients WHERE id = ANY($1) ORDER BY id FOR UPDATE`, linked)
	b.Queue(`SELECT patient_id, id, facility, control_id, position, message_time, received_at, filler_order,
			cvx, ndc, administered_on, lot, mvx, historical, action, completion_status
			FROM source_vaccinations WHERE patient_id = ANY($1)`, linked)
	br := tx.SendBatch(ctx, b)
	if err := readLockedPatients(br, touched); err != nil {
		br.Close()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, fmt.Errorf("registry: consolidate: %w", err)
	}
	reps, err := scanReportsWithPatient(rows)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("registry: consolidate: %w", err)
	}
	for _, r := range reps {
		existing[r.patient] = append(existing[r.patient], r.Report)
	}
	return existing, nil
}

// readLockedPatients reads the locked patients' current match records and
// sets each one's record to it merged with this slice's linked reports.
func readLockedPatients(br pgx.BatchResults, touched map[int64]*bulkPatient) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("registry: lock patients: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var rb []byte
		if err := rows.Scan(&id, &rb); err != nil {
			return fmt.Errorf("registry: lock patients: %w", err)
		}
		fresh := &match.Record{}
		if err := decodeMatchRecord(rb, fresh); err != nil {
			return fmt.Errorf("registry: patient %d match record: %w", id, err)
		}
		p := touched[id]
		for _, r := range p.added {
			fresh = match.Merge(fresh, r)
		}
		p.rec = fresh
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("registry: lock patients: %w", err)
	}
	return nil
}

// consolidateBulk consolidates each touched patient's existing and new
// reports and gathers in w the dose statuses, events, and new or updated
// patient rows; the consolidation's actions go to the result of the
// patient's last item.
func (s *Store) consolidateBulk(order []*bulkPatient, existing map[int64][]consolidate.Report, w *bulkWrites, out []Result) {
	for _, p := range order {
		all := append(slices.Clone(existing[p.id]), p.newReps...)
		cr := s.cons.Consolidate(slices.Clone(all))
		out[p.lastItem].Actions = cr.Actions
		events, status := consolidation(all, cr)
		ne := len(existing[p.id])
		for j := range all {
			if j < ne {
				w.reconsolidate(all[j].ID, events[j], status[j])
			} else {
				w.setDose(all[j].ID, events[j], status[j])
			}
		}
		for _, e := range cr.Events {
			w.event(p.id, e)
		}
		js := appendMatchRecord(nil, p.rec)
		if p.isNew {
			w.newPatient(p.id, p.first, js)
		} else {
			w.replaced = append(w.replaced, p.id)
		}
		if !p.isNew || len(p.updates) > 0 {
			w.updatePatient(p.id, js, p.updates)
		}
	}
}

// sendBulkWrites is round trip 4: every write, if any.
func sendBulkWrites(ctx context.Context, tx pgx.Tx, w *bulkWrites) error {
	b := w.batch()
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("registry: write: %w", err)
		}
	}
	return nil
}

// bulkCandidateQuery is candidateQuery for many reports at once: $1 the
// report (its index in the slice) of each key, $2 the key's hash, $3
// whether it is a discriminating key; it returns (report, patient id,
// match record) rows. Each key's block is read with LIMIT $4, and skipped
// when it reaches $4 patients, so a key shared by many costs at most $4
// index entries.
const bulkCandidateQuery = `WITH blocks AS (
		SELECT q.i, q.strong, x.patient_id AS pid, count(*) OVER (PARTITION BY q.n) AS size
		FROM unnest($1::int[], $2::bigint[], $3::bool[]) WITH ORDINALITY AS q(i, h, strong, n)
		CROSS JOIN LATERAL (SELECT patient_id FROM patient_blocking_keys WHERE key = q.h LIMIT $4) x),
	hits AS (
		SELECT i, pid FROM blocks WHERE size < $4 GROUP BY i, pid HAVING count(*) >= 2 OR bool_or(strong))
	SELECT h.i, p.id, p.match_record FROM hits h JOIN patients p ON p.id = h.pid
	WHERE p.merged_into IS NULL`

// passesFilter mirrors the candidate query's rule on two key sets.
func passesFilter(a, b []string) bool {
	n, strong := 0, false
	for _, k := range a {
		if slices.Contains(b, k) {
			n++
			if !strings.HasPrefix(k, "D:") && !strings.HasPrefix(k, "L:") {
				strong = true
			}
		}
	}
	return n >= 2 || strong
}

type reportOf struct {
	consolidate.Report
	patient int64
}

func scanReportsWithPatient(rows pgx.Rows) ([]reportOf, error) {
	defer rows.Close()
	var reps []reportOf
	for rows.Next() {
		var r reportOf
		if err := scanReport(rows, &r.Report, &r.patient); err != nil {
			return nil, err
		}
		reps = append(reps, r)
	}
	return reps, rows.Err()
}

// bulkWrites gathers the rows of a slice's writes, column by column.
type bulkWrites struct {
	// The details (identifiers, names, addresses, phones, guardians,
	// blocking keys) of new patients, which cannot be stored yet, and of
	// linked ones, which may be.
	fresh, linked detailRows
	// reviews
	rvP, rvC, rvR []int64
	rvS           []float64
	rvW           []string
	// report links and audit
	rpID, rpP              []int64
	rpO, auActor, auAction []string
	auDetail               []string
	// doses
	dID, dRep, dPat   []int64
	dFac, dCtl        []string
	dMT               []*time.Time
	dRecv             []time.Time
	dPos              []int32
	dFill, dCVX, dNDC []string
	dDate             []*time.Time
	dLot, dMVX        []string
	dHist             []bool
	dAct, dComp, dRef []string
	dEv               []*int64
	dSt, dDet         []string
	doseIndex         map[int64]int
	// patient-level observations
	obP, obR []int64
	obS      []int32
	obD      []string
	// reconsolidated existing doses
	cID []int64
	cEv []*int64
	cSt []string
	// events
	eID, eP    []int64
	eG, eCVX   []string
	eD         []time.Time
	eLot, eMVX []string
	eHist      []bool
	eN         []int32
	replaced   []int64 // patients whose old events are deleted
	// new patients
	npID                                     []int64
	npFam, npGiven, npMid, npSuf, npSex      []string
	npMult, npMMFam, npMMGiven, npProt       []string
	npPub, npStatus                          []string
	npRace, npEth, npDI, npLang              []string
	npOrder                                  []int32
	npDOB, npDeath, npProtD, npPubD, npStatD []*time.Time
	npJS                                     [][]byte
	upd                                      []patientUpdate
}

type patientUpdate struct {
	id                                                int64
	js                                                []byte
	protection, publicity, status, mmFamily, multiple string
	races, ethnicities, deathIndicator, language      string
	protDate, pubDate, statusDate, death              *time.Time
	order                                             int
}

// detailRows gathers a slice's patient details, column by column.
type detailRows struct {
	idP                               []int64
	idV, idA, idT                     []string
	nP                                []int64
	nF, nG, nM, nS, nT                []string
	aP                                []int64
	aS, aO, aC, aSt, aZ, aCo, aCy, aT []string
	phP                               []int64
	phN, phE, phU, phQ                []string
	gP                                []int64
	gF, gG, gR, gPh, gPU, gPE, gD     []string
	kP, kH                            []int64
}

// details adds a report's details to the rows of a new patient (isNew) or
// of a linked one.
func (w *bulkWrites) details(pid int64, isNew bool, p *iis.Patient, keys []string) {
	if isNew {
		w.fresh.add(pid, p, keys)
	} else {
		w.linked.add(pid, p, keys)
	}
}

func (w *detailRows) add(pid int64, p *iis.Patient, keys []string) {
	for _, id := range p.Identifiers {
		if id.Value != "" {
			w.idP, w.idV, w.idA, w.idT = append(w.idP, pid), append(w.idV, id.Value), append(w.idA, id.Authority), append(w.idT, id.Type)
		}
	}
	for _, n := range p.Names {
		w.nP, w.nF, w.nG, w.nM, w.nS, w.nT = append(w.nP, pid), append(w.nF, n.Family), append(w.nG, n.Given), append(w.nM, n.Middle), append(w.nS, n.Suffix), append(w.nT, n.Type)
	}
	for _, a := range p.Addresses {
		w.aP, w.aS, w.aO, w.aC, w.aSt = append(w.aP, pid), append(w.aS, a.Street), append(w.aO, a.Other), append(w.aC, a.City), append(w.aSt, a.State)
		w.aZ, w.aCo, w.aCy, w.aT = append(w.aZ, a.Zip), append(w.aCo, a.Country), append(w.aCy, a.County), append(w.aT, a.Type)
	}
	for _, ph := range p.Phones {
		w.phP, w.phN, w.phE, w.phU, w.phQ = append(w.phP, pid), append(w.phN, ph.Number()), append(w.phE, ph.Email), append(w.phU, ph.Use), append(w.phQ, ph.Equipment)
	}
	for _, g := range p.Guardians {
		var ph iis.Phone
		if len(g.Phones) > 0 {
			ph = g.Phones[0]
		}
		w.gP, w.gF, w.gG, w.gR, w.gPh = append(w.gP, pid), append(w.gF, g.Name.Family), append(w.gG, g.Name.Given), append(w.gR, g.Relationship.Code), append(w.gPh, ph.Number())
		w.gPU, w.gPE, w.gD = append(w.gPU, ph.Use), append(w.gPE, ph.Equipment), append(w.gD, encodeGuardian(&g))
	}
	start := len(w.kH)
	w.kH = appendKeyHashes(w.kH, keys)
	for range w.kH[start:] {
		w.kP = append(w.kP, pid)
	}
}

func (w *bulkWrites) review(pid, cand, report int64, score float64, reason string) {
	w.rvP, w.rvC, w.rvR, w.rvS, w.rvW = append(w.rvP, pid), append(w.rvC, cand), append(w.rvR, report), append(w.rvS, score), append(w.rvW, reason)
}

func (w *bulkWrites) report(id, pid int64, outcome, actor, action, detail string) {
	w.rpID, w.rpP, w.rpO = append(w.rpID, id), append(w.rpP, pid), append(w.rpO, outcome)
	w.auActor, w.auAction, w.auDetail = append(w.auActor, actor), append(w.auAction, action), append(w.auDetail, detail)
}

func (w *bulkWrites) dose(report, pid int64, m *Message, mt *time.Time, v *iis.Vaccination, r *consolidate.Report) {
	if w.doseIndex == nil {
		w.doseIndex = map[int64]int{}
	}
	w.doseIndex[r.ID] = len(w.dID)
	var rs []string
	for _, x := range v.RefusalReasons {
		rs = append(rs, x.Code)
	}
	w.dID, w.dRep, w.dPat = append(w.dID, r.ID), append(w.dRep, report), append(w.dPat, pid)
	w.dFac, w.dCtl, w.dMT, w.dRecv = append(w.dFac, m.Facility), append(w.dCtl, m.ControlID), append(w.dMT, mt), append(w.dRecv, m.Received)
	w.dPos, w.dFill, w.dCVX, w.dNDC = append(w.dPos, int32(v.Position)), append(w.dFill, r.FillerOrder), append(w.dCVX, v.CVX), append(w.dNDC, v.NDC)
	w.dDate, w.dLot, w.dMVX, w.dHist = append(w.dDate, dateOrNil(v.AdministeredAt)), append(w.dLot, r.Lot), append(w.dMVX, r.MVX), append(w.dHist, v.Historical)
	w.dAct, w.dComp, w.dRef = append(w.dAct, r.Action), append(w.dComp, r.Completion), append(w.dRef, strings.Join(rs, ","))
	w.dEv, w.dSt, w.dDet = append(w.dEv, nil), append(w.dSt, ""), append(w.dDet, encodeDose(v))
}

// observations adds a report's patient-level observations.
func (w *bulkWrites) observations(report, pid int64, obs []iis.Observation) {
	for i, o := range obs {
		w.obP, w.obR, w.obS, w.obD = append(w.obP, pid), append(w.obR, report), append(w.obS, int32(i+1)), append(w.obD, encodeObservation(o))
	}
}

func (w *bulkWrites) setDose(id int64, ev *int64, st string) {
	i := w.doseIndex[id]
	w.dEv[i], w.dSt[i] = ev, st
}

func (w *bulkWrites) reconsolidate(id int64, ev *int64, st string) {
	w.cID, w.cEv, w.cSt = append(w.cID, id), append(w.cEv, ev), append(w.cSt, st)
}

func (w *bulkWrites) event(pid int64, e consolidate.Event) {
	w.eID, w.eP, w.eG, w.eCVX = append(w.eID, e.Winner), append(w.eP, pid), append(w.eG, strings.Join(e.Groups, ",")), append(w.eCVX, e.CVX)
	w.eD, w.eLot, w.eMVX, w.eHist, w.eN = append(w.eD, e.Date), append(w.eLot, e.Lot), append(w.eMVX, e.MVX), append(w.eHist, e.Historical), append(w.eN, int32(len(e.Sources)))
}

func (w *bulkWrites) newPatient(id int64, p *iis.Patient, js []byte) {
	n := p.LegalName()
	w.npID, w.npFam, w.npGiven, w.npMid, w.npSuf = append(w.npID, id), append(w.npFam, n.Family), append(w.npGiven, n.Given), append(w.npMid, n.Middle), append(w.npSuf, n.Suffix)
	w.npDOB, w.npSex, w.npMult, w.npOrder = append(w.npDOB, dateOrNil(p.BirthDate)), append(w.npSex, p.Sex), append(w.npMult, p.MultipleBirth), append(w.npOrder, int32(p.BirthOrder))
	w.npMMFam, w.npMMGiven, w.npDeath = append(w.npMMFam, p.MotherMaidenName.Family), append(w.npMMGiven, p.MotherMaidenName.Given), append(w.npDeath, dateOrNil(p.DeathDate))
	w.npProt, w.npProtD, w.npPub, w.npPubD = append(w.npProt, p.Protection), append(w.npProtD, dateOrNil(p.ProtectionDate)), append(w.npPub, p.PublicityCode.Code), append(w.npPubD, dateOrNil(p.PublicityDate))
	w.npStatus, w.npStatD, w.npJS = append(w.npStatus, p.RegistryStatus), append(w.npStatD, dateOrNil(p.RegistryStatusDate)), append(w.npJS, js)
	w.npRace, w.npEth, w.npDI = append(w.npRace, encodeCodes(p.Races)), append(w.npEth, encodeCodes(p.Ethnicities)), append(w.npDI, p.DeathIndicator)
	w.npLang = append(w.npLang, p.PrimaryLanguage.Code)
}

// updatePatient folds the linked reports' values in message order: a
// value sent replaces the stored one, an empty one keeps it.
func (w *bulkWrites) updatePatient(id int64, js []byte, reports []*iis.Patient) {
	u := patientUpdate{id: id, js: js}
	for _, p := range reports {
		if p.Protection != "" {
			u.protection = p.Protection
		}
		if d := dateOrNil(p.ProtectionDate); d != nil {
			u.protDate = d
		}
		if p.PublicityCode.Code != "" {
			u.publicity = p.PublicityCode.Code
		}
		if d := dateOrNil(p.PublicityDate); d != nil {
			u.pubDate = d
		}
		if p.RegistryStatus != "" {
			u.status = p.RegistryStatus
		}
		if d := dateOrNil(p.RegistryStatusDate); d != nil {
			u.statusDate = d
		}
		if d := dateOrNil(p.DeathDate); d != nil {
			u.death = d
		}
		if u.mmFamily == "" {
			u.mmFamily = p.MotherMaidenName.Family
		}
		if p.MultipleBirth != "" {
			u.multiple = p.MultipleBirth
		}
		if p.BirthOrder != 0 {
			u.order = p.BirthOrder
		}
		if len(p.Races) > 0 {
			u.races = encodeCodes(p.Races)
		}
		if len(p.Ethnicities) > 0 {
			u.ethnicities = encodeCodes(p.Ethnicities)
		}
		if p.DeathIndicator != "" {
			u.deathIndicator = p.DeathIndicator
		}
		if p.PrimaryLanguage.Code != "" {
			u.language = p.PrimaryLanguage.Code
		}
	}
	w.upd = append(w.upd, u)
}

// batch returns the writes as statements, in dependency order.
func (w *bulkWrites) batch() *pgx.Batch {
	b := &pgx.Batch{}
	if len(w.npID) > 0 {
		b.Queue(`INSERT INTO patients (id, family_name, given_name, middle_name, suffix, birth_date, sex,
			multiple_birth, birth_order, mother_maiden_family, mother_maiden_given, death_date,
			protection, protection_date, publicity_code, publicity_date, registry_status, registry_status_date, match_record,
			races, ethnicities, death_indicator, primary_language)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[], $7::text[],
				$8::text[], $9::int[], $10::text[], $11::text[], $12::date[],
				$13::text[], $14::date[], $15::text[], $16::date[], $17::text[], $18::date[], $19::bytea[],
				$20::text[], $21::text[], $22::text[], $23::text[])`,
			w.npID, w.npFam, w.npGiven, w.npMid, w.npSuf, w.npDOB, w.npSex, w.npMult, w.npOrder, w.npMMFam, w.npMMGiven, w.npDeath,
			w.npProt, w.npProtD, w.npPub, w.npPubD, w.npStatus, w.npStatD, w.npJS, w.npRace, w.npEth, w.npDI, w.npLang)
	}
	if len(w.upd) > 0 {
		n := len(w.upd)
		id, order := make([]int64, n), make([]int32, n)
		js := make([][]byte, n)
		prot, pub, st, mm, mult := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		race, eth, di, lang := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		pd, pubd, std, death := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		for i, u := range w.upd {
			id[i], js[i], order[i] = u.id, u.js, int32(u.order)
			prot[i], pub[i], st[i], mm[i], mult[i] = u.protection, u.publicity, u.status, u.mmFamily, u.multiple
			pd[i], pubd[i], std[i], death[i] = u.protDate, u.pubDate, u.statusDate, u.death
			race[i], eth[i], di[i], lang[i] = u.races, u.ethnicities, u.deathIndicator, u.language
		}
		b.Queue(`UPDATE patients p SET updated_at = now(), match_record = u.js,
			protection = CASE WHEN u.prot = '' THEN p.protection ELSE u.prot END,
			protection_date = COALESCE(u.pd, p.protection_date),
			publicity_code = CASE WHEN u.pub = '' THEN p.publicity_code ELSE u.pub END,
			publicity_date = COALESCE(u.pubd, p.publicity_date),
			registry_status = CASE WHEN u.st = '' THEN p.registry_status ELSE u.st END,
			registry_status_date = COALESCE(u.std, p.registry_status_date),
			death_date = COALESCE(u.death, p.death_date),
			mother_maiden_family = CASE WHEN p.mother_maiden_family = '' THEN u.mm ELSE p.mother_maiden_family END,
			multiple_birth = CASE WHEN u.mult = '' THEN p.multiple_birth ELSE u.mult END,
			birth_order = CASE WHEN u.ord = 0 THEN p.birth_order ELSE u.ord END,
			races = CASE WHEN u.race = '' THEN p.races ELSE u.race END,
			ethnicities = CASE WHEN u.eth = '' THEN p.ethnicities ELSE u.eth END,
			death_indicator = CASE WHEN u.di = '' THEN p.death_indicator ELSE u.di END,
			primary_language = CASE WHEN u.lang = '' THEN p.primary_language ELSE u.lang END
			FROM unnest($1::bigint[], $2::bytea[], $3::text[], $4::date[], $5::text[], $6::date[], $7::text[], $8::date[],
				$9::date[], $10::text[], $11::text[], $12::int[], $13::text[], $14::text[], $15::text[], $16::text[])
				AS u(id, js, prot, pd, pub, pubd, st, std, death, mm, mult, ord, race, eth, di, lang)
			WHERE p.id = u.id`, id, js, prot, pd, pub, pubd, st, std, death, mm, mult, order, race, eth, di, lang)
	}
	w.fresh.queue(b, "")
	w.linked.queue(b, " ON CONFLICT DO NOTHING")
	if len(w.rvP) > 0 {
		b.Queue(`INSERT INTO match_reviews (patient_id, candidate_id, report_id, score, reason)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::float8[], $5::text[]) ON CONFLICT DO NOTHING`,
			w.rvP, w.rvC, w.rvR, w.rvS, w.rvW)
	}
	if len(w.rpID) > 0 {
		b.Queue(`UPDATE source_reports r SET patient_id = u.p, match_outcome = u.o
			FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(id, p, o) WHERE r.id = u.id`, w.rpID, w.rpP, w.rpO)
		b.Queue(`INSERT INTO audit_log (actor, action, patient_id, report_id, detail)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])`,
			w.auActor, w.auAction, w.rpP, w.rpID, w.auDetail)
	}
	if len(w.dID) > 0 {
		// Doses are written only for a report this transaction stored
		// (a new one, a new version, or a rejected one replaced): no row
		// of its facility and control id can exist, so a plain insert,
		// without a second probe of the unique index for a conflict.
		b.Queue(`INSERT INTO source_vaccinations (id, report_id, patient_id, facility, control_id, message_time, received_at,
			position, filler_order, cvx, ndc, administered_on, lot, mvx, historical, action, completion_status, refusal_reasons,
			event_id, consolidation, detail)
			SELECT u.id, u.rep, u.pat, u.fac, u.ctl, u.mt, u.recv, u.pos, u.filler, u.cvx, u.ndc, u.d, u.lot, u.mvx, u.hist, u.act, u.comp,
				CASE WHEN u.ref = '' THEN '{}'::text[] ELSE string_to_array(u.ref, ',') END, u.ev, u.st, u.det
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
				$8::int[], $9::text[], $10::text[], $11::text[], $12::date[], $13::text[], $14::text[], $15::bool[], $16::text[],
				$17::text[], $18::text[], $19::bigint[], $20::text[], $21::text[])
				AS u(id, rep, pat, fac, ctl, mt, recv, pos, filler, cvx, ndc, d, lot, mvx, hist, act, comp, ref, ev, st, det)`,
			w.dID, w.dRep, w.dPat, w.dFac, w.dCtl, w.dMT, w.dRecv, w.dPos, w.dFill, w.dCVX, w.dNDC, w.dDate, w.dLot, w.dMVX,
			w.dHist, w.dAct, w.dComp, w.dRef, w.dEv, w.dSt, w.dDet)
	}
	if len(w.obP) > 0 {
		b.Queue(`INSERT INTO patient_observations (patient_id, report_id, seq, detail)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::text[])`, w.obP, w.obR, w.obS, w.obD)
	}
	if len(w.cID) > 0 {
		b.Queue(`UPDATE source_vaccinations sv SET event_id = u.e, consolidation = u.s
			FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(id, e, s)
			WHERE sv.id = u.id AND (sv.event_id IS DISTINCT FROM u.e OR sv.consolidation <> u.s)`, w.cID, w.cEv, w.cSt)
	}
	if len(w.replaced) > 0 {
		b.Queue(`DELETE FROM vaccination_events WHERE patient_id = ANY($1)`, w.replaced)
	}
	if len(w.eID) > 0 {
		b.Queue(`INSERT INTO vaccination_events (id, patient_id, vaccine_groups, cvx, administered_on, lot, mvx, historical, source_count)
			SELECT u.id, u.p, string_to_array(u.g, ','), u.cvx, u.d, u.lot, u.mvx, u.hist, u.n
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::date[], $6::text[], $7::text[], $8::bool[], $9::int[])
				AS u(id, p, g, cvx, d, lot, mvx, hist, n)`,
			w.eID, w.eP, w.eG, w.eCVX, w.eD, w.eLot, w.eMVX, w.eHist, w.eN)
	}
	return b
}

// queue queues the inserts of the rows, each row once, with conflict
// appended to each statement: empty for new patients, whose rows cannot
// exist yet (a plain insert does not probe each unique index a second time
// for the conflict check), or ON CONFLICT DO NOTHING.
func (d *detailRows) queue(b *pgx.Batch, conflict string) {
	if len(d.idP) > 0 {
		b.Queue(`INSERT INTO patient_identifiers (patient_id, value, authority, type)
			SELECT DISTINCT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])`+conflict, d.idP, d.idV, d.idA, d.idT)
	}
	if len(d.nP) > 0 {
		// reported_at orders the variants by report within the slice.
		b.Queue(`INSERT INTO patient_names (patient_id, family, given, middle, suffix, type, reported_at)
			SELECT p, f, g, m, s, t, now() + max(o) * interval '1 microsecond'
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(p, f, g, m, s, t, o)
			GROUP BY p, f, g, m, s, t`+conflict,
			d.nP, d.nF, d.nG, d.nM, d.nS, d.nT)
	}
	if len(d.aP) > 0 {
		b.Queue(`INSERT INTO patient_addresses (patient_id, street, other, city, state, zip, country, county, type, reported_at)
			SELECT p, s, o2, c, st, z, co, cy, t, now() + max(o) * interval '1 microsecond'
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY AS u(p, s, o2, c, st, z, co, cy, t, o)
			GROUP BY p, s, o2, c, st, z, co, cy, t`+conflict, d.aP, d.aS, d.aO, d.aC, d.aSt, d.aZ, d.aCo, d.aCy, d.aT)
	}
	if len(d.phP) > 0 {
		b.Queue(`INSERT INTO patient_phones (patient_id, number, email, use, equipment)
			SELECT DISTINCT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])`+conflict,
			d.phP, d.phN, d.phE, d.phU, d.phQ)
	}
	if len(d.gP) > 0 {
		// One row per guardian and phone number: the latest report's
		// details win.
		onConflict := conflict
		if conflict != "" {
			onConflict = ` ON CONFLICT (patient_id, family, given, relationship, phone) DO UPDATE SET
				phone_use = EXCLUDED.phone_use, phone_equipment = EXCLUDED.phone_equipment, detail = EXCLUDED.detail
				WHERE patient_guardians.detail IS DISTINCT FROM EXCLUDED.detail
					OR patient_guardians.phone_use IS DISTINCT FROM EXCLUDED.phone_use
					OR patient_guardians.phone_equipment IS DISTINCT FROM EXCLUDED.phone_equipment`
		}
		b.Queue(`INSERT INTO patient_guardians (patient_id, family, given, relationship, phone, phone_use, phone_equipment, detail)
			SELECT DISTINCT ON (p, f, g, r, ph) p, f, g, r, ph, pu, pe, dt
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
				WITH ORDINALITY AS u(p, f, g, r, ph, pu, pe, dt, o)
			ORDER BY p, f, g, r, ph, o DESC`+onConflict,
			d.gP, d.gF, d.gG, d.gR, d.gPh, d.gPU, d.gPE, d.gD)
	}
	if len(d.kP) > 0 {
		b.Queue(`INSERT INTO patient_blocking_keys (key, patient_id)
			SELECT DISTINCT u.k, u.p FROM unnest($1::bigint[], $2::bigint[]) AS u(k, p)`+conflict, d.kH, d.kP)
	}
}
