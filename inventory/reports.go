package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lots returns clinic's lots, those with stock first, by vaccine and
// expiration.
func (s *Store) Lots(ctx context.Context, clinic string) ([]Lot, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+lotColumns+` FROM inventory_lots WHERE clinic = $1
		ORDER BY on_hand = 0, cvx, expires_on NULLS LAST, id`, clinic)
	if err != nil {
		return nil, fmt.Errorf("inventory: lots: %w", err)
	}
	lots, err := scanLots(rows)
	if err != nil {
		return nil, fmt.Errorf("inventory: lots: %w", err)
	}
	return lots, nil
}

// Lot returns clinic's lot id.
func (s *Store) Lot(ctx context.Context, clinic string, id int64) (*Lot, error) {
	return lotOf(ctx, s.pool, clinic, id)
}

// Ledger returns a lot's transactions, newest first.
func (s *Store) Ledger(ctx context.Context, clinic string, lot int64) ([]Transaction, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, clinic, lot_id, kind, quantity, shortfall, reason, coalesce(counterpart, 0),
			coalesce(source_vaccination_id, 0), occurred_on, actor, note
		FROM inventory_transactions WHERE clinic = $1 AND lot_id = $2 ORDER BY id DESC`, clinic, lot)
	if err != nil {
		return nil, fmt.Errorf("inventory: ledger: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Transaction, error) {
		var t Transaction
		var q, sf int32
		err := r.Scan(&t.ID, &t.Clinic, &t.LotID, &t.Kind, &q, &sf, &t.Reason, &t.Counterpart, &t.Dose, &t.OccurredOn, &t.Actor, &t.Note)
		t.Quantity, t.Shortfall = int(q), int(sf)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: ledger: %w", err)
	}
	return out, nil
}

// OnHand returns clinic's doses on hand by vaccine (CVX), expired lots
// left out: what an order starts from.
func (s *Store) OnHand(ctx context.Context, clinic string, today time.Time) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT cvx, sum(on_hand)::int FROM inventory_lots
		WHERE clinic = $1 AND on_hand > 0 AND (expires_on IS NULL OR expires_on >= $2) GROUP BY cvx`, clinic, dateOf(today))
	if err != nil {
		return nil, fmt.Errorf("inventory: on hand: %w", err)
	}
	return collectCounts(rows, "on hand")
}

// Usage returns clinic's administered doses by vaccine (CVX) given in
// [from, to): drawn, short or unmatched, deleted doses left out. An order
// suggestion and the VFC doses-administered report start from it.
func (s *Store) Usage(ctx context.Context, clinic string, from, to time.Time) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT cvx, count(*)::int FROM inventory_doses
		WHERE clinic = $1 AND active AND administered_on >= $2 AND administered_on < $3 GROUP BY cvx`, clinic, dateOf(from), dateOf(to))
	if err != nil {
		return nil, fmt.Errorf("inventory: usage: %w", err)
	}
	return collectCounts(rows, "usage")
}

func collectCounts(rows pgx.Rows, what string) (map[string]int, error) {
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int32
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("inventory: %s: %w", what, err)
		}
		out[k] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", what, err)
	}
	return out, nil
}

// Unmatched is a lot text of a clinic's administered doses that matches
// none of its lots.
type Unmatched struct {
	Lot         string
	CVX, MVX    string
	Doses       int
	First, Last time.Time
}

// Unmatched lists clinic's unmatched lot texts (by lot, vaccine and
// manufacturer), most doses first.
func (s *Store) Unmatched(ctx context.Context, clinic string) ([]Unmatched, error) {
	rows, err := s.pool.Query(ctx, `SELECT lot, cvx, mvx, count(*)::int, min(administered_on), max(administered_on)
		FROM inventory_doses WHERE clinic = $1 AND lot_id IS NULL AND active
		GROUP BY lot, cvx, mvx ORDER BY count(*) DESC, lot, cvx LIMIT 500`, clinic)
	if err != nil {
		return nil, fmt.Errorf("inventory: unmatched: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Unmatched, error) {
		var u Unmatched
		var n int32
		var first, last *time.Time
		err := r.Scan(&u.Lot, &u.CVX, &u.MVX, &n, &first, &last)
		u.Doses = int(n)
		if first != nil {
			u.First, u.Last = *first, *last
		}
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: unmatched: %w", err)
	}
	return out, nil
}

// MapLot resolves clinic's unmatched doses whose lot text is lotText:
// the text is mapped to lot (later doses with it match that lot), and
// each such dose draws on the lot now. It returns the doses resolved.
func (s *Store) MapLot(ctx context.Context, clinic, lotText string, lot int64, actor string) (int, error) {
	key := LotKey(lotText)
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		lots, err := lockLots(ctx, tx, []int64{lot})
		if err != nil {
			return err
		}
		l := lots[lot]
		if l == nil || l.Clinic != clinic {
			return inputErr("no such lot at clinic %s", clinic)
		}
		ds, err := unmatchedDoses(ctx, tx, clinic, key)
		if err != nil {
			return err
		}
		n = len(ds)
		draws := Allocate(ds, func(Dose) *Lot { return l })
		b := &pgx.Batch{}
		if key != "" {
			b.Queue(`INSERT INTO inventory_lot_aliases (clinic, lot_key, lot_id) VALUES ($1, $2, $3)
				ON CONFLICT (clinic, lot_key) DO UPDATE SET lot_id = EXCLUDED.lot_id`, clinic, key, lot)
		}
		var es []entry
		for _, d := range draws {
			b.Queue(`UPDATE inventory_doses SET lot_id = $2, taken = $3, shortfall = $4 WHERE source_vaccination_id = $1`,
				d.dose.ID, lot, d.taken, d.shortfall)
			es = append(es, entry{clinic: clinic, lot: lot, kind: KindAdministered, quantity: -d.taken, shortfall: d.shortfall,
				dose: d.dose.ID, on: orNow(d.dose.On, s.now()), actor: actor, note: "unmatched lot " + lotText + " mapped"})
		}
		queueEntries(b, es)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("inventory: map lot: %w", err)
		}
		return nil
	})
	return n, err
}

// unmatchedDoses locks clinic's unmatched doses of a lot key.
func unmatchedDoses(ctx context.Context, tx pgx.Tx, clinic, key string) ([]Dose, error) {
	rows, err := tx.Query(ctx, `SELECT source_vaccination_id, patient_id, administered_on, cvx, ndc, mvx, lot, funding, eligibility
		FROM inventory_doses WHERE clinic = $1 AND lot_id IS NULL AND active ORDER BY source_vaccination_id FOR UPDATE`, clinic)
	if err != nil {
		return nil, fmt.Errorf("inventory: unmatched doses: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Dose, error) {
		d := Dose{Clinic: clinic}
		var on *time.Time
		err := r.Scan(&d.ID, &d.Patient, &on, &d.CVX, &d.NDC, &d.MVX, &d.Lot, &d.Funding, &d.Eligibility)
		if on != nil {
			d.On = *on
		}
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: unmatched doses: %w", err)
	}
	var out []Dose
	for _, d := range all {
		if LotKey(d.Lot) == key {
			out = append(out, d)
		}
	}
	return out, nil
}

// Alert is a lot expiring soon or a vaccine below its par level.
type Alert struct {
	Kind   string // "expiring" or "below par"
	Days   int    // expiring: 30, 60 or 90 (the window it falls in); 0 if expired
	Lot    *Lot   // expiring
	CVX    string // below par
	OnHand int
	Par    int
}

// ExpiryWindow is the rule for an expiring lot's alert: the window (30,
// 60 or 90 days) its expiration falls in, 0 if it has expired, -1 if it
// is more than 90 days away or not known.
func ExpiryWindow(expires, today time.Time) int {
	if expires.IsZero() {
		return -1
	}
	d := int(dateOf(expires).Sub(dateOf(today)).Hours() / 24)
	switch {
	case d < 0:
		return 0
	case d <= 30:
		return 30
	case d <= 60:
		return 60
	case d <= 90:
		return 90
	}
	return -1
}

// Alerts returns clinic's lots with stock expiring within 90 days (or
// expired), soonest first, and its vaccines below their par level.
func (s *Store) Alerts(ctx context.Context, clinic string, today time.Time) ([]Alert, error) {
	lots, err := s.Lots(ctx, clinic)
	if err != nil {
		return nil, err
	}
	var out []Alert
	for i := range lots {
		l := &lots[i]
		if w := ExpiryWindow(l.Expires, today); l.OnHand > 0 && w >= 0 {
			out = append(out, Alert{Kind: "expiring", Days: w, Lot: l, OnHand: l.OnHand})
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT p.cvx, p.par, coalesce((SELECT sum(on_hand) FROM inventory_lots l
			WHERE l.clinic = p.clinic AND l.cvx = p.cvx AND (l.expires_on IS NULL OR l.expires_on >= $2)), 0)::int
		FROM inventory_par p WHERE p.clinic = $1 ORDER BY p.cvx`, clinic, dateOf(today))
	if err != nil {
		return nil, fmt.Errorf("inventory: par: %w", err)
	}
	pars, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Alert, error) {
		a := Alert{Kind: "below par"}
		var par, on int32
		err := r.Scan(&a.CVX, &par, &on)
		a.Par, a.OnHand = int(par), int(on)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: par: %w", err)
	}
	for _, a := range pars {
		if a.OnHand < a.Par {
			out = append(out, a)
		}
	}
	return out, nil
}

// Borrowed is an administered dose whose stock's funding does not fit the
// child's eligibility.
type Borrowed struct {
	Dose        int64
	Patient     int64
	On          time.Time
	CVX         string
	Lot         string
	Funding     string // the lot's
	Eligibility string // the dose's OBX 64994-7
	Direction   string // "private stock to a VFC-eligible child" or "VFC stock to a private-pay child"
}

// Borrowing is the rule for a funding mismatch: a VFC-eligible child
// (V02–V05) given private stock, or a private-pay child (V01) given VFC
// stock; "" when the dose fits.
func Borrowing(eligibility, lotFunding string) string {
	switch {
	case VFCEligible(eligibility) && lotFunding == Private:
		return "private stock to a VFC-eligible child"
	case PrivatePay(eligibility) && lotFunding == VFC:
		return "VFC stock to a private-pay child"
	}
	return ""
}

// Borrowing lists clinic's doses given in [from, to) whose lot's funding
// does not fit the child's eligibility, newest first.
func (s *Store) Borrowing(ctx context.Context, clinic string, from, to time.Time) ([]Borrowed, error) {
	rows, err := s.pool.Query(ctx, `SELECT d.source_vaccination_id, d.patient_id, d.administered_on, d.cvx, l.lot_number, l.funding, d.eligibility
		FROM inventory_doses d JOIN inventory_lots l ON l.id = d.lot_id
		WHERE d.clinic = $1 AND d.active AND d.administered_on >= $2 AND d.administered_on < $3
			AND ((upper(d.eligibility) IN ('V02', 'V03', 'V04', 'V05') AND l.funding = 'private')
				OR (upper(d.eligibility) = 'V01' AND l.funding = 'VFC'))
		ORDER BY d.administered_on DESC, d.source_vaccination_id LIMIT 1000`, clinic, dateOf(from), dateOf(to))
	if err != nil {
		return nil, fmt.Errorf("inventory: borrowing: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Borrowed, error) {
		var b Borrowed
		var on *time.Time
		err := r.Scan(&b.Dose, &b.Patient, &on, &b.CVX, &b.Lot, &b.Funding, &b.Eligibility)
		if on != nil {
			b.On = *on
		}
		b.Direction = Borrowing(b.Eligibility, b.Funding)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: borrowing: %w", err)
	}
	return out, nil
}

// Shortfalls returns, by lot id, the doses clinic gave beyond the lot's
// stock (active doses).
func (s *Store) Shortfalls(ctx context.Context, clinic string) (map[int64]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT lot_id, sum(shortfall)::int FROM inventory_doses
		WHERE clinic = $1 AND active AND shortfall > 0 GROUP BY lot_id`, clinic)
	if err != nil {
		return nil, fmt.Errorf("inventory: shortfalls: %w", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int32
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("inventory: shortfalls: %w", err)
		}
		out[id] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inventory: shortfalls: %w", err)
	}
	return out, nil
}
