package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReceiptLine is one lot of a shipment.
type ReceiptLine struct {
	CVX, NDC, MVX string
	Lot           string
	Expires       time.Time
	Funding       string
	Doses         int
}

// Check reports what is wrong with the line, in words for people.
func (l ReceiptLine) Check() error {
	switch {
	case strings.TrimSpace(l.Lot) == "" || LotKey(l.Lot) == "":
		return inputErr("a lot number is required")
	case l.CVX == "" && l.NDC == "":
		return inputErr("lot %s: a CVX or an NDC is required", l.Lot)
	case !ValidFunding(l.Funding):
		return inputErr("lot %s: funding must be one of %s", l.Lot, strings.Join(Fundings, ", "))
	case l.Doses <= 0:
		return inputErr("lot %s: the doses received must be a positive number", l.Lot)
	case l.Doses > 1_000_000:
		return inputErr("lot %s: %d doses is more than a shipment holds", l.Lot, l.Doses)
	}
	return nil
}

// Receive records a shipment at clinic: each line's lot is created (or
// found, by clinic, lot number, vaccine and funding) and credited with a
// receipt. It returns the lots' ids, one per line.
func (s *Store) Receive(ctx context.Context, clinic, actor string, on time.Time, lines []ReceiptLine) ([]int64, error) {
	var ids []int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		ids, err = s.ReceiveTx(ctx, tx, clinic, actor, on, lines)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// upsertLot returns the id of clinic's lot matching l, made if new; a
// known expiration or manufacturer is kept unless l gives one.
func upsertLot(ctx context.Context, tx pgx.Tx, clinic string, l ReceiptLine) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO inventory_lots (clinic, cvx, ndc, mvx, lot_number, lot_key, expires_on, funding)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (clinic, lot_key, cvx, ndc, funding) DO UPDATE SET
			expires_on = COALESCE(EXCLUDED.expires_on, inventory_lots.expires_on),
			mvx = CASE WHEN EXCLUDED.mvx = '' THEN inventory_lots.mvx ELSE EXCLUDED.mvx END
		RETURNING id`,
		clinic, strings.TrimSpace(l.CVX), strings.TrimSpace(l.NDC), strings.ToUpper(strings.TrimSpace(l.MVX)),
		strings.TrimSpace(l.Lot), LotKey(l.Lot), dateOrNil(l.Expires), l.Funding).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("inventory: lot %s: %w", l.Lot, err)
	}
	return id, nil
}

// Transfer moves doses of lot from clinic to clinic to: a transfer_out at
// the sender and a transfer_in at the receiver (its lot of the same
// vaccine, number and funding, made if new), each naming the other.
func (s *Store) Transfer(ctx context.Context, from string, lot int64, to string, doses int, actor, note string, on time.Time) error {
	if doses <= 0 {
		return inputErr("the doses transferred must be a positive number")
	}
	if to == "" || to == from {
		return inputErr("choose another clinic to transfer to")
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := startClinicTx(ctx, tx, to, on); err != nil {
			return err
		}
		src, err := lotOf(ctx, tx, from, lot)
		if err != nil {
			return err
		}
		dst, err := upsertLot(ctx, tx, to, ReceiptLine{CVX: src.CVX, NDC: src.NDC, MVX: src.MVX, Lot: src.Number, Expires: src.Expires, Funding: src.Funding})
		if err != nil {
			return err
		}
		ids, err := post(ctx, tx, []entry{
			{clinic: from, lot: lot, kind: KindTransferOut, quantity: -doses, reason: "to " + to, on: on, actor: actor, note: note},
			{clinic: to, lot: dst, kind: KindTransferIn, quantity: doses, reason: "from " + from, on: on, actor: actor, note: note},
		})
		if err != nil {
			return err
		}
		// Each side names the other.
		_, err = tx.Exec(ctx, `UPDATE inventory_transactions SET counterpart = CASE id WHEN $1 THEN $2 ELSE $1 END WHERE id IN ($1, $2)`,
			ids[0], ids[1])
		if err != nil {
			return fmt.Errorf("inventory: transfer: %w", err)
		}
		return nil
	})
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// lotOf reads clinic's lot id.
func lotOf(ctx context.Context, tx querier, clinic string, id int64) (*Lot, error) {
	rows, err := tx.Query(ctx, `SELECT `+lotColumns+` FROM inventory_lots WHERE id = $1 AND clinic = $2`, id, clinic)
	if err != nil {
		return nil, fmt.Errorf("inventory: lot: %w", err)
	}
	lots, err := scanLots(rows)
	if err != nil {
		return nil, fmt.Errorf("inventory: lot: %w", err)
	}
	if len(lots) == 0 {
		return nil, inputErr("no such lot at clinic %s", clinic)
	}
	return &lots[0], nil
}

// Waste records doses of a lot wasted (kind KindWastage) or returned to
// the distributor (KindReturn) for one of WasteReasons.
func (s *Store) Waste(ctx context.Context, clinic string, lot int64, kind string, doses int, reason, actor, note string, on time.Time) error {
	if kind != KindWastage && kind != KindReturn {
		return inputErr("wastage or return")
	}
	if !slices.Contains(WasteReasons, reason) {
		return inputErr("choose a reason: %s", strings.Join(WasteReasons, ", "))
	}
	if reason == ReasonOther && strings.TrimSpace(note) == "" {
		return inputErr("say what happened when the reason is other")
	}
	if doses <= 0 {
		return inputErr("the doses must be a positive number")
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := post(ctx, tx, []entry{{clinic: clinic, lot: lot, kind: kind, quantity: -doses, reason: reason, on: on, actor: actor, note: note}})
		return err
	})
}

// CountLine is a lot's physical count.
type CountLine struct {
	Lot     int64
	Counted int
	Reason  string // why the count differs from the stock (required then)
}

// Adjustment is what the count of a lot changed.
type Adjustment struct {
	Lot      int64
	Expected int
	Counted  int
	Change   int
}

// Reconcile is the rule of a count line: the change that makes the stock
// the count, and an error when the count is negative or differs without a
// reason.
func Reconcile(expected int, l CountLine) (int, error) {
	if l.Counted < 0 {
		return 0, inputErr("a count cannot be negative")
	}
	d := l.Counted - expected
	if d != 0 && strings.TrimSpace(l.Reason) == "" {
		return 0, inputErr("the count differs from the stock by %+d: give the reason", d)
	}
	return d, nil
}

// Count records clinic's physical count of its lots on a date: each lot's
// stock is locked, compared with the count, and a difference reconciled by
// an adjustment transaction with the line's reason. It returns the count's
// id and the adjustments made.
func (s *Store) Count(ctx context.Context, clinic, actor string, on time.Time, lines []CountLine) (int64, []Adjustment, error) {
	if len(lines) == 0 {
		return 0, nil, inputErr("count at least one lot")
	}
	var countID int64
	var adj []Adjustment
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		adj = adj[:0]
		ids := make([]int64, len(lines))
		for i, l := range lines {
			ids[i] = l.Lot
		}
		lots, err := lockLots(ctx, tx, ids)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO inventory_counts (clinic, counted_on, actor) VALUES ($1, $2, $3) RETURNING id`,
			clinic, dateOf(on), actor).Scan(&countID); err != nil {
			return fmt.Errorf("inventory: count: %w", err)
		}
		b := &pgx.Batch{}
		var es []entry
		for _, l := range lines {
			lot := lots[l.Lot]
			if lot == nil || lot.Clinic != clinic {
				return inputErr("no such lot at clinic %s", clinic)
			}
			d, err := Reconcile(lot.OnHand, l)
			if err != nil {
				return fmt.Errorf("lot %s: %w", lot.Number, err)
			}
			b.Queue(`INSERT INTO inventory_count_lines (count_id, lot_id, expected, counted, reason) VALUES ($1, $2, $3, $4, $5)`,
				countID, l.Lot, lot.OnHand, l.Counted, strings.TrimSpace(l.Reason))
			adj = append(adj, Adjustment{Lot: l.Lot, Expected: lot.OnHand, Counted: l.Counted, Change: d})
			if d != 0 {
				es = append(es, entry{clinic: clinic, lot: l.Lot, kind: KindAdjustment, quantity: d, reason: strings.TrimSpace(l.Reason),
					countID: countID, on: on, actor: actor})
			}
		}
		if err := applyEntries(b, lots, es); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("inventory: count: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return countID, adj, nil
}

// SetPar sets the par level of a vaccine (CVX) at clinic.
func (s *Store) SetPar(ctx context.Context, clinic, cvx string, par int) error {
	if cvx == "" || par < 0 {
		return inputErr("a CVX and a par level of zero or more are required")
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := startClinicTx(ctx, tx, clinic, s.now()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO inventory_par (clinic, cvx, par) VALUES ($1, $2, $3)
			ON CONFLICT (clinic, cvx) DO UPDATE SET par = EXCLUDED.par`, clinic, cvx, par)
		if err != nil {
			return fmt.Errorf("inventory: par: %w", err)
		}
		return nil
	})
}

// IsInput reports whether err is a request the rules refused (its message
// is for the person who made it).
func IsInput(err error) bool { return errors.Is(err, ErrInput) }
