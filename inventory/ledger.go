package inventory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// entry is one ledger row to write; quantity is the change of the lot's
// stock.
type entry struct {
	clinic    string
	lot       int64
	kind      string
	quantity  int
	shortfall int
	reason    string
	dose      int64 // source vaccination id, or 0
	countID   int64
	on        time.Time
	actor     string
	note      string
}

// lockLots locks the lots ids (in id order, so that two writers never
// wait for each other in a cycle) and returns them by id. Every change of
// a lot's stock happens under this lock, in the transaction that writes
// its ledger row.
func lockLots(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64]*Lot, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	rows, err := tx.Query(ctx, `SELECT `+lotColumns+` FROM inventory_lots WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, fmt.Errorf("inventory: lock lots: %w", err)
	}
	lots, err := scanLots(rows)
	if err != nil {
		return nil, fmt.Errorf("inventory: lock lots: %w", err)
	}
	out := make(map[int64]*Lot, len(lots))
	for i := range lots {
		out[lots[i].ID] = &lots[i]
	}
	return out, nil
}

const lotColumns = `id, clinic, cvx, ndc, mvx, lot_number, expires_on, funding, on_hand, created_at`

func scanLots(rows pgx.Rows) ([]Lot, error) {
	defer rows.Close()
	var out []Lot
	for rows.Next() {
		var l Lot
		var exp *time.Time
		if err := rows.Scan(&l.ID, &l.Clinic, &l.CVX, &l.NDC, &l.MVX, &l.Number, &exp, &l.Funding, &l.OnHand, &l.CreatedAt); err != nil {
			return nil, err
		}
		if exp != nil {
			l.Expires = *exp
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// applyEntries checks the entries against the locked lots (no stock below
// zero), then queues the balance updates and the ledger rows on b. The
// lots' OnHand is updated in place.
func applyEntries(b *pgx.Batch, lots map[int64]*Lot, es []entry) error {
	_, err := checkEntries(b, lots, es)
	return err
}

func checkEntries(b *pgx.Batch, lots map[int64]*Lot, es []entry) (bool, error) {
	for _, e := range es {
		l := lots[e.lot]
		if l == nil {
			return false, inputErr("no such lot")
		}
		if l.OnHand+e.quantity < 0 {
			return false, inputErr("lot %s has %d doses on hand, fewer than the %d asked for", l.Number, l.OnHand, -e.quantity)
		}
		l.OnHand += e.quantity
	}
	return queueEntries(b, es), nil
}

// queueEntries queues the balance change of each lot, then the ledger
// rows (returning their ids); it reports whether the balance update was
// queued.
func queueEntries(b *pgx.Batch, es []entry) bool {
	if len(es) == 0 {
		return false
	}
	n := len(es)
	clinic, kind, reason, actor, note := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	lot, dose, count := make([]int64, n), make([]*int64, n), make([]*int64, n)
	qty, short := make([]int32, n), make([]int32, n)
	on := make([]time.Time, n)
	delta := map[int64]int{}
	for i, e := range es {
		clinic[i], kind[i], reason[i], actor[i], note[i] = e.clinic, e.kind, e.reason, e.actor, e.note
		lot[i], qty[i], short[i], on[i] = e.lot, int32(e.quantity), int32(e.shortfall), dateOf(e.on)
		if e.dose != 0 {
			dose[i] = &es[i].dose
		}
		if e.countID != 0 {
			count[i] = &es[i].countID
		}
		delta[e.lot] += e.quantity
	}
	var ids []int64
	var deltas []int32
	for id, d := range delta {
		if d != 0 {
			ids, deltas = append(ids, id), append(deltas, int32(d))
		}
	}
	upd := len(ids) > 0
	if upd {
		b.Queue(`UPDATE inventory_lots l SET on_hand = l.on_hand + u.d FROM unnest($1::bigint[], $2::int[]) AS u(id, d) WHERE l.id = u.id`, ids, deltas)
	}
	b.Queue(`INSERT INTO inventory_transactions (clinic, lot_id, kind, quantity, shortfall, reason, source_vaccination_id, count_id,
			occurred_on, actor, note)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::int[], $6::text[], $7::bigint[], $8::bigint[],
			$9::date[], $10::text[], $11::text[])
		RETURNING id`,
		clinic, lot, kind, qty, short, reason, dose, count, on, actor, note)
	return upd
}

// post locks the entries' lots, checks and writes the entries in tx; it
// returns the ledger rows' ids.
func post(ctx context.Context, tx pgx.Tx, es []entry) ([]int64, error) {
	ids := make([]int64, len(es))
	for i, e := range es {
		ids[i] = e.lot
	}
	lots, err := lockLots(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if l := lots[e.lot]; l == nil || l.Clinic != e.clinic {
			return nil, inputErr("no such lot at clinic %s", e.clinic)
		}
	}
	b := &pgx.Batch{}
	upd, err := checkEntries(b, lots, es)
	if err != nil {
		return nil, err
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if upd {
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("inventory: write stock: %w", err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("inventory: write ledger: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("inventory: write ledger: %w", err)
	}
	return out, br.Close()
}
