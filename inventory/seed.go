package inventory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SeedSynthetic gives each clinic an inventory for a benchmark: five lots
// (CVX 08, 20, 110, 133 and 150, VFC, stock doses each), and maps every
// lot text in texts to one of them, so that each administered dose of
// synthetic traffic (package synth, whose lot numbers are random) draws on
// a few busy lots per clinic: the worst case for the lots' row locks.
// Clinics that keep an inventory already are left as they are.
func (s *Store) SeedSynthetic(ctx context.Context, clinics, texts []string, stock int) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE seed_clinics ON COMMIT DROP AS
			SELECT c FROM unnest($1::text[]) AS u(c) WHERE NOT EXISTS (SELECT 1 FROM inventory_clinics i WHERE i.clinic = u.c)`, clinics); err != nil {
			return fmt.Errorf("inventory: seed: %w", err)
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO inventory_clinics (clinic, started_on) SELECT c, DATE '2000-01-01' FROM seed_clinics`)
		b.Queue(`INSERT INTO inventory_lots (clinic, cvx, mvx, lot_number, lot_key, funding)
			SELECT c, v, 'MSD', 'SEED-' || v, 'SEED' || v, 'VFC' FROM seed_clinics, unnest('{08,20,110,133,150}'::text[]) AS v`)
		b.Queue(`INSERT INTO inventory_transactions (clinic, lot_id, kind, quantity, actor)
			SELECT l.clinic, l.id, 'receipt', $1, 'seed' FROM inventory_lots l JOIN seed_clinics s ON s.c = l.clinic`, stock)
		b.Queue(`UPDATE inventory_lots l SET on_hand = $1 FROM seed_clinics s WHERE s.c = l.clinic`, stock)
		b.Queue(`WITH lots AS (SELECT l.clinic, array_agg(l.id ORDER BY l.id) AS ids
				FROM inventory_lots l JOIN seed_clinics s ON s.c = l.clinic GROUP BY l.clinic)
			INSERT INTO inventory_lot_aliases (clinic, lot_key, lot_id)
			SELECT lots.clinic, t.k, lots.ids[1 + t.n % 5] FROM lots, unnest($1::text[]) WITH ORDINALITY AS t(k, n)`, lotKeys(texts))
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("inventory: seed: %w", err)
		}
		return nil
	})
}

func lotKeys(texts []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range texts {
		if k := LotKey(t); k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
