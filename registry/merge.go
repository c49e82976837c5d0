package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/iisproject/iis/match"
	"github.com/jackc/pgx/v5"
)

// Review decisions.
const (
	DecisionLinked   = "linked"   // the same person: the records are merged
	DecisionDistinct = "distinct" // different people: nothing changes
)

// ErrReviewClosed is returned when a review was already decided.
var ErrReviewClosed = errors.New("registry: review already decided")

// ResolveReview records a person's decision on an open possible match. A
// "linked" decision merges the new record into the existing candidate
// (Merge); "distinct" closes the review.
func (s *Store) ResolveReview(ctx context.Context, reviewID int64, decision, actor string) error {
	if decision != DecisionLinked && decision != DecisionDistinct {
		return fmt.Errorf("registry: review decision %q: want %q or %q", decision, DecisionLinked, DecisionDistinct)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var pid, cand int64
		var status string
		err := tx.QueryRow(ctx, `SELECT patient_id, candidate_id, status FROM match_reviews WHERE id = $1 FOR UPDATE`, reviewID).
			Scan(&pid, &cand, &status)
		if err != nil {
			return fmt.Errorf("registry: review %d: %w", reviewID, err)
		}
		if status != "open" {
			return ErrReviewClosed
		}
		if _, err := tx.Exec(ctx, `UPDATE match_reviews SET status = $2, decided_by = $3, decided_at = now() WHERE id = $1`,
			reviewID, decision, actor); err != nil {
			return fmt.Errorf("registry: review %d: %w", reviewID, err)
		}
		if decision == DecisionLinked {
			return s.merge(ctx, tx, cand, pid, actor)
		}
		_, err = tx.Exec(ctx, `INSERT INTO audit_log (actor, action, patient_id, detail) VALUES ($1, 'review: distinct', $2, $3)`,
			actor, pid, fmt.Sprintf("candidate=%d review=%d", cand, reviewID))
		return err
	})
}

// Merge folds patient merged into survivor: its source reports, doses,
// identifiers, names, addresses, phones, guardians and blocking keys move
// to the survivor, the survivor's events are rebuilt from all the doses,
// the merged row points to the survivor (merged_into), and the link and an
// audit row are written.
func (s *Store) Merge(ctx context.Context, survivor, merged int64, actor string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return s.merge(ctx, tx, survivor, merged, actor) })
}

func (s *Store) merge(ctx context.Context, tx pgx.Tx, survivor, merged int64, actor string) error {
	if survivor == merged {
		return errors.New("registry: merge of a patient into itself")
	}
	// Lock both rows in id order.
	var recs [2][]byte
	rows, err := tx.Query(ctx, `SELECT id, match_record, merged_into FROM patients WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`, survivor, merged)
	if err != nil {
		return fmt.Errorf("registry: merge: %w", err)
	}
	n := 0
	for rows.Next() {
		var id int64
		var rec []byte
		var into *int64
		if err := rows.Scan(&id, &rec, &into); err != nil {
			rows.Close()
			return fmt.Errorf("registry: merge: %w", err)
		}
		if into != nil {
			rows.Close()
			return fmt.Errorf("registry: merge: patient %d is already merged into %d", id, *into)
		}
		if id == survivor {
			recs[0] = rec
		} else {
			recs[1] = rec
		}
		n++
	}
	rows.Close()
	if n != 2 {
		return fmt.Errorf("registry: merge: patients %d and %d not both found", survivor, merged)
	}
	var a, b match.Record
	if err := json.Unmarshal(recs[0], &a); err != nil {
		return fmt.Errorf("registry: merge: %w", err)
	}
	if err := json.Unmarshal(recs[1], &b); err != nil {
		return fmt.Errorf("registry: merge: %w", err)
	}
	js, err := json.Marshal(mergeRecords(&a, &b))
	if err != nil {
		return fmt.Errorf("registry: merge: %w", err)
	}
	bt := &pgx.Batch{}
	bt.Queue(`UPDATE source_reports SET patient_id = $1 WHERE patient_id = $2`, survivor, merged)
	bt.Queue(`UPDATE source_vaccinations SET patient_id = $1 WHERE patient_id = $2`, survivor, merged)
	for _, t := range []string{"patient_identifiers", "patient_names", "patient_addresses", "patient_phones", "patient_guardians", "patient_blocking_keys"} {
		// Rows the survivor already has stay once: insert the others, then
		// drop the merged patient's.
		bt.Queue(fmt.Sprintf(`INSERT INTO %[1]s SELECT (jsonb_populate_record(NULL::%[1]s, to_jsonb(x) || jsonb_build_object('patient_id', $1::bigint))).*
			FROM %[1]s x WHERE x.patient_id = $2 ON CONFLICT DO NOTHING`, t), survivor, merged)
		bt.Queue(fmt.Sprintf(`DELETE FROM %s WHERE patient_id = $1`, t), merged)
	}
	bt.Queue(`DELETE FROM vaccination_events WHERE patient_id = $1`, merged)
	bt.Queue(`UPDATE patients SET merged_into = $1, updated_at = now() WHERE id = $2`, survivor, merged)
	bt.Queue(`UPDATE patients SET match_record = $2, updated_at = now() WHERE id = $1`, survivor, js)
	bt.Queue(`INSERT INTO patient_links (survivor_id, merged_id, kind, decided_by) VALUES ($1, $2, 'merge', $3)`, survivor, merged, actor)
	bt.Queue(`INSERT INTO audit_log (actor, action, patient_id, detail) VALUES ($1, 'merge', $2, $3)`, actor, survivor, fmt.Sprintf("merged=%d", merged))
	if err := tx.SendBatch(ctx, bt).Close(); err != nil {
		return fmt.Errorf("registry: merge %d into %d: %w", merged, survivor, err)
	}
	if _, err := s.Reconsolidate(ctx, tx, survivor); err != nil {
		return err
	}
	return nil
}
