package inventory

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReceiveTx is Receive in the caller's transaction tx: a vaccine order's
// shipment (package ordering) becomes lots in the transaction that marks
// the order received, so the two commit or roll back together.
func (s *Store) ReceiveTx(ctx context.Context, tx pgx.Tx, clinic, actor string, on time.Time, lines []ReceiptLine) ([]int64, error) {
	if clinic == "" || len(lines) == 0 {
		return nil, inputErr("a clinic and at least one lot are required")
	}
	for _, l := range lines {
		if err := l.Check(); err != nil {
			return nil, err
		}
	}
	if err := startClinicTx(ctx, tx, clinic, on); err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(lines))
	es := make([]entry, 0, len(lines))
	for _, l := range lines {
		id, err := upsertLot(ctx, tx, clinic, l)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
		es = append(es, entry{clinic: clinic, lot: id, kind: KindReceipt, quantity: l.Doses, on: on, actor: actor})
	}
	if _, err := post(ctx, tx, es); err != nil {
		return nil, err
	}
	return ids, nil
}
