package registry

import (
	"context"
	"fmt"
	"hash/crc32"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// KindQuery is the kind of a stored QBP (Message.Kind).
const KindQuery = "query"

// StoreQueries stores queries (Kind "query") in the message store inside
// tx: the QBP (with MSH-7 from Decoded, if set) and its answer in message_bodies,
// QueryOutcome in query_outcome.
// A query changes nothing else. The same query delivered again (same
// facility, MSH-10 and content) is stored once (Result.Duplicate); a query
// whose MSH-10 the facility used before for another message is stored under
// that MSH-10 suffixed with '#' and a checksum of its content, as a
// corrected VXU is, so that it neither replaces nor hides the other one.
func (s *Store) StoreQueries(ctx context.Context, tx pgx.Tx, msgs []*Message) ([]Result, error) {
	b := &pgx.Batch{}
	for _, m := range msgs {
		if m.Kind != KindQuery {
			return nil, fmt.Errorf("registry: StoreQueries given a %q message", m.Kind)
		}
		var msgTime *time.Time
		if m.Decoded != nil && !m.Decoded.Header.Time.IsZero() {
			msgTime = &m.Decoded.Header.Time
		}
		sum := strconv.FormatUint(uint64(crc32.Checksum(m.Raw, castagnoli)), 16)
		// One statement per query, in order: each sees the ones before it.
		b.Queue(`WITH ins AS (INSERT INTO source_reports AS r
				(facility, control_id, message_type, kind, ack_code, transport, received_at, stream_seq, raw_digest, issues,
				 query_outcome, message_time)
				SELECT $1, CASE WHEN EXISTS (SELECT 1 FROM source_reports o WHERE o.facility = $1 AND o.control_id = $2)
					THEN $2 || '#' || $12 ELSE $2 END,
					$3, 'query', $4, $5, $6, $7, sha256($8), coalesce(string_to_array(nullif($9, ''), ';'), '{}'), $11, $13
				WHERE NOT EXISTS (SELECT 1 FROM source_reports o WHERE o.facility = $1 AND o.control_id IN ($2, $2 || '#' || $12)
					AND o.kind = 'query' AND o.raw_digest = sha256($8))
				ON CONFLICT (facility, control_id) DO NOTHING
				RETURNING id, received_at),
			body AS (INSERT INTO message_bodies (report_id, received_at, kind, raw, ack)
				SELECT id, received_at, 'query', $8, $10 FROM ins WHERE received_at >= message_store_horizon('query'))
			SELECT count(*) FROM ins`,
			m.Facility, m.ControlID, m.Type, m.Ack, m.Transport, m.Received, int64(m.StreamSeq), m.Raw, m.Issues, m.AckBody,
			m.QueryOutcome, sum, msgTime)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	res := make([]Result, len(msgs))
	for i := range msgs {
		var stored int
		if err := br.QueryRow().Scan(&stored); err != nil {
			return nil, fmt.Errorf("registry: store query: %w", err)
		}
		res[i] = Result{StoredOnly: true, Duplicate: stored == 0}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("registry: store query: %w", err)
	}
	return res, nil
}
