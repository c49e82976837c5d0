package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iisproject/iis/registry"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Dose is an administered dose of an inventory clinic as the registry
// stored it (a source_vaccinations row), with what its lot is matched on.
type Dose struct {
	ID          int64 // source vaccination id
	Patient     int64
	Clinic      string
	On          time.Time
	CVX, NDC    string
	MVX, Lot    string
	Funding     string // OBX 30963-3 code
	Eligibility string // OBX 64994-7 code
}

// drawn is a dose's current draw (an active inventory_doses row).
type drawn struct {
	ID     int64
	Clinic string
	Lot    int64 // 0: unmatched
	Taken  int
}

// draw is what the Hook decided for a dose: the lot (nil: unmatched) and
// the doses taken from its stock and given beyond it.
type draw struct {
	dose      Dose
	lot       *Lot
	taken     int
	shortfall int
}

// Plan is the rule that keeps the doses drawn equal to the doses that
// stand: it returns the standing doses not yet drawn (to draw) and the
// draws whose dose no longer stands (deleted by RXA-21 D, replaced by an
// update or a resend of its filler order: to reverse).
func Plan(standing []Dose, current []drawn) (add []Dose, reverse []drawn) {
	stands := make(map[int64]bool, len(standing))
	for _, d := range standing {
		stands[d.ID] = true
	}
	have := make(map[int64]bool, len(current))
	for _, c := range current {
		have[c.ID] = true
		if !stands[c.ID] {
			reverse = append(reverse, c)
		}
	}
	for _, d := range standing {
		if !have[d.ID] {
			add = append(add, d)
		}
	}
	return add, reverse
}

// MatchLot is the rule that finds a dose's lot among the clinic's lots of
// its lot number (or the lot its lot text was mapped to): the one whose
// funding is the dose's reported funding source, then whose CVX, then NDC,
// then manufacturer agree, then one with stock, then the oldest.
func MatchLot(d Dose, cands []*Lot) *Lot {
	if len(cands) == 0 {
		return nil
	}
	f := FundingOf(d.Funding)
	score := func(l *Lot) int {
		s := 0
		if f != "" && l.Funding == f {
			s += 16
		}
		if d.CVX != "" && l.CVX == d.CVX {
			s += 8
		}
		if d.NDC != "" && l.NDC == d.NDC {
			s += 4
		}
		if d.MVX != "" && strings.EqualFold(l.MVX, d.MVX) {
			s += 2
		}
		if l.OnHand > 0 {
			s++
		}
		return s
	}
	return slices.MaxFunc(slices.Clone(cands), func(a, b *Lot) int {
		if c := cmp.Compare(score(a), score(b)); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID) // the older lot wins a tie
	})
}

// Allocate is the decrement rule: doses in id order each take one dose of
// their matched lot's stock, or are a shortfall when it has none left;
// a dose without a lot is unmatched. lots' OnHand is updated in place.
func Allocate(doses []Dose, match func(Dose) *Lot) []draw {
	doses = slices.Clone(doses)
	slices.SortFunc(doses, func(a, b Dose) int { return cmp.Compare(a.ID, b.ID) })
	out := make([]draw, len(doses))
	for i, d := range doses {
		out[i].dose = d
		l := match(d)
		if l == nil {
			continue
		}
		out[i].lot = l
		if l.OnHand > 0 {
			l.OnHand--
			out[i].taken = 1
		} else {
			out[i].shortfall = 1
		}
	}
	return out
}

// Applied keeps the inventory of the clinics whose doses the registry just
// stored (msgs and their results from registry.ApplyBulk) in step with
// them, in tx, the registry's transaction: a dose stored and standing
// draws on its lot, a dose deleted or corrected gives its draw back. The
// worker calls it after ApplyBulk, before the commit, so the draws commit
// or roll back with the doses, and a redelivered message (a duplicate to
// the registry, which stores nothing) draws nothing; the dose id (the
// key of inventory_doses) keeps each dose drawn at most once.
//
// A failure of the inventory's own (a constraint, a bug) is rolled back
// to a savepoint and logged: the registry's write still commits. A
// failure of the database (connection, deadlock) is returned, so the
// worker retries the whole transaction.
func (s *Store) Applied(ctx context.Context, tx pgx.Tx, msgs []*registry.Message, res []registry.Result) error {
	in := collect(msgs, res)
	if len(in.patients) == 0 {
		return nil
	}
	err := s.applied(ctx, tx, in)
	if err == nil || !ownFailure(err) {
		return err
	}
	s.log.Error("inventory: administered doses not applied to the inventory", "err", err)
	if _, rerr := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT inventory`); rerr != nil {
		return fmt.Errorf("inventory: rollback to savepoint: %w", rerr)
	}
	return nil
}

// ownFailure reports whether err is the inventory's own: an integrity,
// data or statement error, or a refused rule, not the database being
// unreachable or asking for a retry.
func ownFailure(err error) bool {
	if errors.Is(err, ErrInput) {
		return true
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code[:2] {
	case "22", "23", "42", "P0", "XX":
		return true
	}
	return false
}

// hookInput is what Applied reads from the messages.
type hookInput struct {
	patients []int64
	fac, ctl []string              // the stored reports' identities
	obs      map[doseKey][2]string // funding, eligibility by dose
}

type doseKey struct {
	facility, control string
	position          int
}

// collect gathers the patients of the stored VXUs, their reports'
// identities and each dose's funding source and eligibility.
func collect(msgs []*registry.Message, res []registry.Result) hookInput {
	in := hookInput{obs: map[doseKey][2]string{}}
	for i, m := range msgs {
		r := res[i]
		if r.Duplicate || r.StoredOnly || r.PatientID == 0 || m.Decoded == nil || m.Decoded.VXU == nil {
			continue
		}
		in.patients = append(in.patients, r.PatientID)
		in.fac, in.ctl = append(in.fac, m.Facility), append(in.ctl, m.ControlID)
		for _, v := range m.Decoded.VXU.Vaccinations {
			if v.FundingSource.Code != "" || v.FundingEligibility.Code != "" {
				in.obs[doseKey{m.Facility, m.ControlID, v.Position}] = [2]string{v.FundingSource.Code, v.FundingEligibility.Code}
			}
		}
	}
	slices.Sort(in.patients)
	in.patients = slices.Compact(in.patients)
	return in
}

// dosesQuery reads, in one pass over the patients' source rows at
// inventory clinics, each row with whether it may stand and draw on a
// clinic's stock (administered: not historical, RXA-20 CP or PA; not
// replaced or deleted: consolidation winner or duplicate; on or after the
// clinic started its inventory), whether this transaction's reports
// stored it ($2, $3), and its inventory_doses row if it has one (active:
// drawn). The row is probed by its key for each source row (OFFSET 0
// keeps the planner from turning the probe into a scan of every drawn
// dose), so the read costs the patients' rows, not the inventory's size.
// Rows come in (event, clinic, id) order: a clinic's resend of a dose is
// one dose, the first.
const dosesQuery = `SELECT s.id, s.event_id, s.patient_id, s.facility, s.control_id, s.position, s.administered_on, s.cvx, s.ndc, s.mvx, s.lot,
		coalesce(c.clinic IS NOT NULL AND s.consolidation IN ('winner', 'duplicate') AND NOT s.historical
			AND s.completion_status IN ('CP', 'PA') AND s.administered_on >= c.started_on, false),
		coalesce((s.facility, s.control_id) IN (SELECT * FROM unnest($2::text[], $3::text[])), false),
		d.clinic IS NOT NULL, coalesce(d.active, false), coalesce(d.clinic, ''), coalesce(d.lot_id, 0), coalesce(d.taken, 0)
	FROM source_vaccinations s
	LEFT JOIN inventory_clinics c ON c.clinic = s.facility
	LEFT JOIN LATERAL (SELECT d.clinic, d.active, d.lot_id, d.taken FROM inventory_doses d
		WHERE d.source_vaccination_id = s.id OFFSET 0) d ON true
	WHERE s.patient_id = ANY($1) AND (c.clinic IS NOT NULL OR d.clinic IS NOT NULL)
	ORDER BY s.event_id, s.facility, s.id`

// applied is Applied's work. One round trip reads the standing and drawn
// doses and locks the lots the new reports' doses may match (by clinic and
// lot key, or a mapped lot text); if the doses drawn must change, a second
// writes the draws and reversals. A dose or reversal whose lot that lock
// did not cover (a dose standing again, a reversal on another lot) has its
// lots locked by a round trip in between.
func (s *Store) applied(ctx context.Context, tx pgx.Tx, in hookInput) error {
	b := &pgx.Batch{}
	// The estimates of these reads by a list of patients can pass the JIT
	// threshold; compiling them costs far more than running them.
	b.Queue(`SET LOCAL jit = off`)
	b.Queue(`SAVEPOINT inventory`)
	// The patients' source rows as they are now (a merge moves rows
	// between patients; inventory_doses.patient_id is the patient at the
	// draw).
	b.Queue(dosesQuery, in.patients, in.fac, in.ctl)
	b.Queue(newKeys+`SELECT k.clinic, k.key, coalesce(a.lot_id, 0) FROM k
		LEFT JOIN inventory_lot_aliases a ON a.clinic = k.clinic AND a.lot_key = k.key`, in.patients, in.fac, in.ctl)
	b.Queue(newKeys+`SELECT `+lotColumns+` FROM inventory_lots
		WHERE (clinic, lot_key) IN (SELECT clinic, key FROM k)
			OR id IN (SELECT a.lot_id FROM inventory_lot_aliases a JOIN k ON a.clinic = k.clinic AND a.lot_key = k.key)
		ORDER BY id FOR UPDATE`, in.patients, in.fac, in.ctl)
	br := tx.SendBatch(ctx, b)
	standing, current, err := readDoses(br, in)
	var lk *locked
	if err == nil {
		lk, err = readLocked(br)
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("inventory: read doses: %w", cerr)
	}
	if err != nil {
		return err
	}
	add, reverse := Plan(standing, current)
	if len(add) == 0 && len(reverse) == 0 {
		return nil
	}
	if !lk.covers(add, reverse) {
		if lk, err = lockDoseLots(ctx, tx, add, reverse); err != nil {
			return err
		}
	}
	wb := &pgx.Batch{}
	queueDraws(wb, lk.lots, lk.aliases, add, reverse, s.now())
	if err := tx.SendBatch(ctx, wb).Close(); err != nil {
		return fmt.Errorf("inventory: write draws: %w", err)
	}
	return nil
}

// newKeys is the (clinic, lot key) of each administered dose of the new
// reports ($2, $3) of the patients ($1) at an inventory clinic; the key
// as LotKey makes it.
const newKeys = `WITH k AS (SELECT DISTINCT s.facility AS clinic, upper(translate(s.lot, E' -./\t', '')) AS key
		FROM source_vaccinations s JOIN inventory_clinics c ON c.clinic = s.facility
		WHERE s.patient_id = ANY($1) AND (s.facility, s.control_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))
			AND NOT s.historical AND s.completion_status IN ('CP', 'PA') AND s.consolidation IN ('winner', 'duplicate')
			AND s.lot <> '')
	`

// locked is the lots a transaction holds locked, the mapped lot texts,
// and the (clinic, lot key) pairs whose lots those are.
type locked struct {
	lots    map[int64]*Lot
	aliases map[[2]string]int64
	keys    map[[2]string]bool
}

// covers reports whether the doses to draw and reverse need no lot
// beyond those locked.
func (lk *locked) covers(add []Dose, reverse []drawn) bool {
	for _, d := range add {
		if k := LotKey(d.Lot); k != "" && !lk.keys[[2]string{d.Clinic, k}] {
			return false
		}
	}
	for _, r := range reverse {
		if r.Lot != 0 && lk.lots[r.Lot] == nil {
			return false
		}
	}
	return true
}

// readLocked reads the keys with their mapped lots, then the locked lots.
func readLocked(br pgx.BatchResults) (*locked, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("inventory: lot keys: %w", err)
	}
	lk := &locked{aliases: map[[2]string]int64{}, keys: map[[2]string]bool{}}
	for rows.Next() {
		var c, k string
		var id int64
		if err := rows.Scan(&c, &k, &id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("inventory: lot keys: %w", err)
		}
		lk.keys[[2]string{c, k}] = true
		if id != 0 {
			lk.aliases[[2]string{c, k}] = id
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inventory: lot keys: %w", err)
	}
	if lk.lots, err = readLots(br); err != nil {
		return nil, err
	}
	return lk, nil
}

func readLots(br pgx.BatchResults) (map[int64]*Lot, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("inventory: lock lots: %w", err)
	}
	list, err := scanLots(rows)
	if err != nil {
		return nil, fmt.Errorf("inventory: lock lots: %w", err)
	}
	lots := make(map[int64]*Lot, len(list))
	for i := range list {
		lots[list[i].ID] = &list[i]
	}
	return lots, nil
}

func readDoses(br pgx.BatchResults, in hookInput) ([]Dose, []drawn, error) {
	for range 2 { // jit, savepoint
		if _, err := br.Exec(); err != nil {
			return nil, nil, fmt.Errorf("inventory: savepoint: %w", err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("inventory: doses: %w", err)
	}
	defer rows.Close()
	var standing []Dose
	var current []drawn
	seen := map[eventKey]bool{} // (clinic, event) with a standing dose
	for rows.Next() {
		r, err := scanDoseRow(rows, in)
		if err != nil {
			return nil, nil, fmt.Errorf("inventory: doses: %w", err)
		}
		if r.active {
			current = append(current, r.drawn)
		}
		k := eventKey{r.dose.Clinic, -1}
		if r.event != nil {
			k.event = *r.event
		}
		if r.eligible && (r.stored || r.hasRow) && !seen[k] {
			seen[k] = true
			standing = append(standing, r.dose)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("inventory: doses: %w", err)
	}
	return standing, current, nil
}

type eventKey struct {
	clinic string
	event  int64
}

// doseRow is one row of dosesQuery.
type doseRow struct {
	dose                             Dose
	event                            *int64 // null events are one, as DISTINCT ON has them
	eligible, stored, hasRow, active bool
	drawn                            drawn
}

func scanDoseRow(rows pgx.Rows, in hookInput) (doseRow, error) {
	var r doseRow
	var ctl string
	var pos, taken int32
	var on *time.Time
	d := &r.dose
	err := rows.Scan(&d.ID, &r.event, &d.Patient, &d.Clinic, &ctl, &pos, &on, &d.CVX, &d.NDC, &d.MVX, &d.Lot,
		&r.eligible, &r.stored, &r.hasRow, &r.active, &r.drawn.Clinic, &r.drawn.Lot, &taken)
	if err != nil {
		return r, err
	}
	if on != nil {
		d.On = *on
	}
	o := in.obs[doseKey{d.Clinic, ctl, int(pos)}]
	d.Funding, d.Eligibility = o[0], o[1]
	r.drawn.ID, r.drawn.Taken = d.ID, int(taken)
	return r, nil
}

// lockDoseLots locks (in id order) the lots the doses to draw may match,
// by clinic and lot key or through a mapped lot text, and the lots of the
// draws to reverse.
func lockDoseLots(ctx context.Context, tx pgx.Tx, add []Dose, reverse []drawn) (*locked, error) {
	var cl, keys []string
	for _, d := range add {
		if k := LotKey(d.Lot); k != "" {
			cl, keys = append(cl, d.Clinic), append(keys, k)
		}
	}
	var ids []int64
	for _, r := range reverse {
		if r.Lot != 0 {
			ids = append(ids, r.Lot)
		}
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT k.c, k.k, coalesce(a.lot_id, 0) FROM unnest($1::text[], $2::text[]) AS k(c, k)
		LEFT JOIN inventory_lot_aliases a ON a.clinic = k.c AND a.lot_key = k.k`, cl, keys)
	b.Queue(`SELECT `+lotColumns+` FROM inventory_lots
		WHERE (clinic, lot_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
			OR id IN (SELECT lot_id FROM inventory_lot_aliases WHERE (clinic, lot_key) IN (SELECT * FROM unnest($1::text[], $2::text[])))
			OR id = ANY($3)
		ORDER BY id FOR UPDATE`, cl, keys, ids)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	lk, err := readLocked(br)
	if err != nil {
		return nil, err
	}
	return lk, br.Close()
}

// matcher returns the lot matching rule over the locked lots: a mapped
// lot text names its lot; otherwise MatchLot among the clinic's lots of
// that key.
func matcher(lots map[int64]*Lot, aliases map[[2]string]int64) func(Dose) *Lot {
	byKey := map[[2]string][]*Lot{}
	for _, l := range lots {
		k := [2]string{l.Clinic, LotKey(l.Number)}
		byKey[k] = append(byKey[k], l)
	}
	return func(d Dose) *Lot {
		k := [2]string{d.Clinic, LotKey(d.Lot)}
		if k[1] == "" {
			return nil
		}
		if id, ok := aliases[k]; ok && lots[id] != nil {
			return lots[id]
		}
		return MatchLot(d, byKey[k])
	}
}

// queueDraws gives the reversed draws back to their lots first (a
// correction from a lot to the same lot then never meets an empty lot),
// then allocates the new doses, and queues the dose rows and ledger rows.
func queueDraws(b *pgx.Batch, lots map[int64]*Lot, aliases map[[2]string]int64, add []Dose, reverse []drawn, now time.Time) {
	var es []entry
	var revIDs []int64
	for _, r := range reverse {
		revIDs = append(revIDs, r.ID)
		if l := lots[r.Lot]; l != nil {
			l.OnHand += r.Taken
			es = append(es, entry{clinic: r.Clinic, lot: r.Lot, kind: KindReversal, quantity: r.Taken, dose: r.ID, on: now,
				reason: "dose deleted or corrected by the clinic"})
		}
	}
	if len(revIDs) > 0 {
		b.Queue(`UPDATE inventory_doses SET active = false WHERE source_vaccination_id = ANY($1)`, revIDs)
	}
	draws := Allocate(add, matcher(lots, aliases))
	for _, d := range draws {
		if d.lot != nil {
			es = append(es, entry{clinic: d.dose.Clinic, lot: d.lot.ID, kind: KindAdministered, quantity: -d.taken, shortfall: d.shortfall,
				dose: d.dose.ID, on: orNow(d.dose.On, now)})
		}
	}
	queueDoseRows(b, draws)
	queueEntries(b, es)
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// queueDoseRows writes (or re-activates) the doses' inventory_doses rows.
func queueDoseRows(b *pgx.Batch, draws []draw) {
	if len(draws) == 0 {
		return
	}
	n := len(draws)
	id, pat := make([]int64, n), make([]int64, n)
	lot := make([]*int64, n)
	on := make([]*time.Time, n)
	clinic, cvx, ndc, mvx, lt, fund, elig := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	taken, short := make([]int32, n), make([]int32, n)
	for i, d := range draws {
		x := d.dose
		id[i], pat[i], clinic[i], on[i] = x.ID, x.Patient, x.Clinic, dateOrNil(x.On)
		cvx[i], ndc[i], mvx[i], lt[i], fund[i], elig[i] = x.CVX, x.NDC, x.MVX, x.Lot, x.Funding, x.Eligibility
		taken[i], short[i] = int32(d.taken), int32(d.shortfall)
		if d.lot != nil {
			lot[i] = &d.lot.ID
		}
	}
	b.Queue(`INSERT INTO inventory_doses AS d (source_vaccination_id, patient_id, clinic, administered_on, cvx, ndc, mvx, lot,
			funding, eligibility, lot_id, taken, shortfall)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::date[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::bigint[], $12::int[], $13::int[])
		ON CONFLICT (source_vaccination_id) DO UPDATE SET active = true, lot_id = EXCLUDED.lot_id, patient_id = EXCLUDED.patient_id,
			taken = EXCLUDED.taken, shortfall = EXCLUDED.shortfall,
			funding = CASE WHEN EXCLUDED.funding = '' THEN d.funding ELSE EXCLUDED.funding END,
			eligibility = CASE WHEN EXCLUDED.eligibility = '' THEN d.eligibility ELSE EXCLUDED.eligibility END
		WHERE NOT d.active`,
		id, pat, clinic, on, cvx, ndc, mvx, lt, fund, elig, lot, taken, short)
}
