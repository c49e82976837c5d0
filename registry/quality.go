package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReceivedMessage is a stored message as the data quality reports read it:
// what the ACK said (immz.Summary entries) and the message as received.
type ReceivedMessage struct {
	ID        int64
	Facility  string
	ControlID string
	Kind      string // vxu, rejected, query
	Ack       string
	Received  time.Time
	Issues    []string
	Raw       []byte // empty once the raw store pruned the message's body
}

// ReceivedMessages reads the messages ids (those that exist), by id.
func (s *Store) ReceivedMessages(ctx context.Context, ids []int64) ([]ReceivedMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.id, r.facility, r.control_id, r.kind, r.ack_code, r.received_at, r.issues, coalesce(b.raw, '')
		FROM source_reports r
		LEFT JOIN message_bodies b ON b.report_id = r.id AND b.received_at = r.received_at AND b.kind = r.kind
		WHERE r.id = ANY($1) ORDER BY r.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("registry: stored reports: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReceivedMessage, error) {
		var x ReceivedMessage
		err := r.Scan(&x.ID, &x.Facility, &x.ControlID, &x.Kind, &x.Ack, &x.Received, &x.Issues, &x.Raw)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: stored reports: %w", err)
	}
	return out, nil
}
