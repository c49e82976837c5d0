package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	js, err := json.Marshal(match.Merge(&a, &b))
	if err != nil {
		return fmt.Errorf("registry: merge: %w", err)
	}
	// What an unmerge needs, read before anything moves: the merged
	// patient's rows and the reports that will move.
	// The match records are kept as JSON strings, so that they come back
	// byte for byte (jsonb would reorder their keys).
	undo := map[string]json.RawMessage{}
	for k, rec := range map[string][]byte{"merged_record": recs[1], "survivor_record": recs[0]} {
		b, err := json.Marshal(string(rec))
		if err != nil {
			return fmt.Errorf("registry: merge: %w", err)
		}
		undo[k] = b
	}
	var moved []int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(id), '{}') FROM source_reports WHERE patient_id = $1`, merged).Scan(&moved); err != nil {
		return fmt.Errorf("registry: merge: %w", err)
	}
	for _, t := range patientTables {
		var rows json.RawMessage
		if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]') FROM %s x WHERE x.patient_id = $1`, t), merged).Scan(&rows); err != nil {
			return fmt.Errorf("registry: merge: %w", err)
		}
		undo["merged:"+t] = rows
	}
	bt := &pgx.Batch{}
	bt.Queue(`UPDATE source_reports SET patient_id = $1 WHERE patient_id = $2`, survivor, merged)
	bt.Queue(`UPDATE source_vaccinations SET patient_id = $1 WHERE patient_id = $2`, survivor, merged)
	bt.Queue(`UPDATE patient_observations SET patient_id = $1 WHERE patient_id = $2`, survivor, merged)
	added := make([]*pgx.QueuedQuery, len(patientTables))
	for i, t := range patientTables {
		// Rows the survivor already has stay once: insert the others (and
		// remember them), then drop the merged patient's.
		added[i] = bt.Queue(fmt.Sprintf(`WITH ins AS (INSERT INTO %[1]s SELECT (jsonb_populate_record(NULL::%[1]s, to_jsonb(x) || jsonb_build_object('patient_id', $1::bigint))).*
			FROM %[1]s x WHERE x.patient_id = $2 ON CONFLICT DO NOTHING RETURNING *)
			SELECT coalesce(jsonb_agg(to_jsonb(ins)), '[]') FROM ins`, t), survivor, merged)
		tbl := t
		added[i].QueryRow(func(row pgx.Row) error {
			var rows json.RawMessage
			if err := row.Scan(&rows); err != nil {
				return err
			}
			undo["added:"+tbl] = rows
			return nil
		})
		bt.Queue(fmt.Sprintf(`DELETE FROM %s WHERE patient_id = $1`, t), merged)
	}
	bt.Queue(`DELETE FROM vaccination_events WHERE patient_id = $1`, merged)
	bt.Queue(`UPDATE patients SET merged_into = $1, updated_at = now() WHERE id = $2`, survivor, merged)
	bt.Queue(`UPDATE patients SET match_record = $2, updated_at = now() WHERE id = $1`, survivor, js)
	// An opt-out stays: the survivor of a merge with an opted-out patient
	// is opted out too, with the opt-out's history (an unmerge leaves both
	// opted out; program staff reverse it where the form says so).
	bt.Queue(`UPDATE patients SET opted_out = true WHERE id = $1 AND NOT opted_out AND EXISTS (SELECT 1 FROM patients WHERE id = $2 AND opted_out)`, survivor, merged)
	bt.Queue(`UPDATE patient_opt_outs SET patient_id = $1 WHERE patient_id = $2`, survivor, merged)
	bt.Queue(`INSERT INTO audit_log (actor, action, patient_id, detail) VALUES ($1, 'merge', $2, $3)`, actor, survivor, fmt.Sprintf("merged=%d", merged))
	if err := tx.SendBatch(ctx, bt).Close(); err != nil {
		return fmt.Errorf("registry: merge %d into %d: %w", merged, survivor, err)
	}
	undoJSON, err := json.Marshal(undo)
	if err != nil {
		return fmt.Errorf("registry: merge: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO patient_links (survivor_id, merged_id, kind, decided_by, moved_reports, undo) VALUES ($1, $2, 'merge', $3, $4, $5)`,
		survivor, merged, actor, moved, undoJSON); err != nil {
		return fmt.Errorf("registry: merge %d into %d: %w", merged, survivor, err)
	}
	if _, err := s.Reconsolidate(ctx, tx, survivor); err != nil {
		return err
	}
	return nil
}

// patientTables are the per-patient child tables a merge moves.
var patientTables = []string{"patient_identifiers", "patient_names", "patient_addresses", "patient_phones", "patient_guardians", "patient_blocking_keys"}

// ErrNotMerged is returned by Unmerge for a link that is not a merge in
// force (already undone, or the merged patient has moved on since).
var ErrNotMerged = errors.New("registry: not a merge in force")

// Unmerge undoes merge link linkID: the source reports that moved go back
// to the merged patient with their doses, the merged patient's own rows and
// match record come back, the rows the merge added to the survivor go, the
// survivor's match record is what it was before the merge, and both
// patients' vaccination events are rebuilt. Reports received after the
// merge stay with the survivor. An unmerge link and an audit row are
// written.
func (s *Store) Unmerge(ctx context.Context, linkID int64, actor string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var survivor, merged int64
		var kind string
		var moved []int64
		var undoJSON []byte
		var undone *time.Time
		err := tx.QueryRow(ctx, `SELECT survivor_id, merged_id, kind, coalesce(moved_reports, '{}'), undo, undone_at FROM patient_links WHERE id = $1 FOR UPDATE`, linkID).
			Scan(&survivor, &merged, &kind, &moved, &undoJSON, &undone)
		if err != nil {
			return fmt.Errorf("registry: unmerge link %d: %w", linkID, err)
		}
		var into *int64
		if err := tx.QueryRow(ctx, `SELECT merged_into FROM patients WHERE id = $1 FOR UPDATE`, merged).Scan(&into); err != nil {
			return fmt.Errorf("registry: unmerge link %d: %w", linkID, err)
		}
		if kind != "merge" || undone != nil || undoJSON == nil || into == nil || *into != survivor {
			return ErrNotMerged
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM patients WHERE id = $1 FOR UPDATE`, survivor); err != nil {
			return fmt.Errorf("registry: unmerge link %d: %w", linkID, err)
		}
		var undo map[string]json.RawMessage
		if err := json.Unmarshal(undoJSON, &undo); err != nil {
			return fmt.Errorf("registry: unmerge link %d: %w", linkID, err)
		}
		bt := &pgx.Batch{}
		bt.Queue(`UPDATE source_reports SET patient_id = $1 WHERE id = ANY($2) AND patient_id = $3`, merged, moved, survivor)
		bt.Queue(`UPDATE source_vaccinations SET patient_id = $1 WHERE report_id = ANY($2) AND patient_id = $3`, merged, moved, survivor)
		bt.Queue(`UPDATE patient_observations SET patient_id = $1 WHERE report_id = ANY($2) AND patient_id = $3`, merged, moved, survivor)
		for _, t := range patientTables {
			if rows := undo["added:"+t]; len(rows) > 0 {
				bt.Queue(fmt.Sprintf(`DELETE FROM %[1]s x USING jsonb_populate_recordset(NULL::%[1]s, $1) a
					WHERE (to_jsonb(x) - 'patient_id') = (to_jsonb(a) - 'patient_id') AND x.patient_id = $2`, t), rows, survivor)
			}
			if rows := undo["merged:"+t]; len(rows) > 0 {
				bt.Queue(fmt.Sprintf(`INSERT INTO %[1]s SELECT * FROM jsonb_populate_recordset(NULL::%[1]s, $1) ON CONFLICT DO NOTHING`, t), rows)
			}
		}
		var mergedRec, survivorRec string
		if err := json.Unmarshal(undo["merged_record"], &mergedRec); err != nil {
			return fmt.Errorf("registry: unmerge link %d: merged record: %w", linkID, err)
		}
		if err := json.Unmarshal(undo["survivor_record"], &survivorRec); err != nil {
			return fmt.Errorf("registry: unmerge link %d: survivor record: %w", linkID, err)
		}
		bt.Queue(`UPDATE patients SET merged_into = NULL, match_record = $2, updated_at = now() WHERE id = $1`, merged, []byte(mergedRec))
		bt.Queue(`UPDATE patients SET match_record = $2, updated_at = now() WHERE id = $1`, survivor, []byte(survivorRec))
		bt.Queue(`UPDATE patient_links SET undone_at = now(), undone_by = $2 WHERE id = $1`, linkID, actor)
		bt.Queue(`INSERT INTO patient_links (survivor_id, merged_id, kind, decided_by) VALUES ($1, $2, 'unmerge', $3)`, survivor, merged, actor)
		bt.Queue(`INSERT INTO audit_log (actor, action, patient_id, detail) VALUES ($1, 'unmerge', $2, $3), ($1, 'unmerge', $4, $5)`,
			actor, survivor, fmt.Sprintf("split %d off (link %d)", merged, linkID), merged, fmt.Sprintf("split from %d (link %d)", survivor, linkID))
		if err := tx.SendBatch(ctx, bt).Close(); err != nil {
			return fmt.Errorf("registry: unmerge link %d: %w", linkID, err)
		}
		for _, p := range []int64{survivor, merged} {
			if _, err := s.Reconsolidate(ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
}
