package quality

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/iisproject/iis/registry"
)

// Messages gives the stored messages to analyse; *registry.Store is one.
type Messages interface {
	ReceivedMessages(ctx context.Context, ids []int64) ([]registry.ReceivedMessage, error)
}

// Store keeps the analysed messages and their per-day sums (the quality_*
// tables, migration 0055) and answers the reports.
type Store struct {
	pool *pgxpool.Pool
	msgs Messages
	loc  *time.Location
	log  *slog.Logger
}

// NewStore returns a Store over the registry's database. loc is the time
// zone of the reports' days (nil: time.Local).
func NewStore(pool *pgxpool.Pool, msgs Messages, loc *time.Location, log *slog.Logger) *Store {
	if loc == nil {
		loc = time.Local
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{pool: pool, msgs: msgs, loc: loc, log: log}
}

// Location is the time zone of the reports' days.
func (s *Store) Location() *time.Location { return s.loc }

// AnalyseBatch analyses up to limit of the messages stored or replaced
// since they were last analysed, in one transaction, and returns how many
// it took. Several processes may run it at once: each takes other
// messages.
func (s *Store) AnalyseBatch(ctx context.Context, limit int) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM quality_pending WHERE report_id IN (
			SELECT report_id FROM quality_pending ORDER BY report_id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING report_id`, limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(ids) == 0 {
			return err
		}
		n = len(ids)
		msgs, err := s.msgs.ReceivedMessages(ctx, ids)
		if err != nil {
			return err
		}
		as := make([]Analysis, len(msgs))
		for i := range msgs {
			as[i] = Analyse(msgs[i], s.loc)
		}
		return writeAnalyses(ctx, tx, ids, as)
	})
	if err != nil {
		return 0, fmt.Errorf("quality: analyse messages: %w", err)
	}
	return n, nil
}

// writeAnalyses replaces the rows of messages ids with as.
func writeAnalyses(ctx context.Context, tx pgx.Tx, ids []int64, as []Analysis) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM quality_findings WHERE report_id = ANY($1)`, ids)
	b.Queue(`DELETE FROM quality_messages WHERE report_id = ANY($1)`, ids)
	var m messageCols
	var f findingCols
	for i := range as {
		m.add(&as[i])
		for _, x := range as[i].Findings {
			f.add(&as[i], x)
		}
	}
	if len(as) > 0 {
		b.Queue(`INSERT INTO quality_messages (report_id, facility, day, received_at, control_id, kind, ack_code, has_error, has_warning,
			doses, administered, historical, lot, mvx, vis, eligibility, funding)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::date[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
				$8::bool[], $9::bool[], $10::int[], $11::int[], $12::int[], $13::int[], $14::int[], $15::int[], $16::int[], $17::int[])`,
			m.id, m.facility, m.day, m.received, m.control, m.kind, m.ack, m.err, m.warn,
			m.doses, m.admin, m.hist, m.lot, m.mvx, m.vis, m.elig, m.fund)
	}
	if len(f.id) > 0 {
		b.Queue(`INSERT INTO quality_findings (report_id, detection, severity, facility, day, positions, sent)
			SELECT r, d, sv, fa, dy, CASE WHEN p = '' THEN '{}'::text[] ELSE string_to_array(p, ',') END, st
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::date[], $6::text[], $7::text[]) AS u(r, d, sv, fa, dy, p, st)`,
			f.id, f.detection, f.severity, f.facility, f.day, f.positions, f.sent)
	}
	return tx.SendBatch(ctx, b).Close()
}

type messageCols struct {
	id                                            []int64
	facility, control, kind, ack                  []string
	day, received                                 []time.Time
	err, warn                                     []bool
	doses, admin, hist, lot, mvx, vis, elig, fund []int32
}

func (c *messageCols) add(a *Analysis) {
	c.id = append(c.id, a.ReportID)
	c.facility, c.control = append(c.facility, a.Facility), append(c.control, a.ControlID)
	c.kind, c.ack = append(c.kind, a.Kind), append(c.ack, a.Ack)
	c.day, c.received = append(c.day, a.Day), append(c.received, a.Received)
	c.err, c.warn = append(c.err, a.HasError), append(c.warn, a.HasWarning)
	d := a.Doses
	c.doses, c.admin, c.hist = append(c.doses, int32(d.Doses)), append(c.admin, int32(d.Administered)), append(c.hist, int32(d.Historical))
	c.lot, c.mvx, c.vis = append(c.lot, int32(d.Lot)), append(c.mvx, int32(d.Manufacturer)), append(c.vis, int32(d.VIS))
	c.elig, c.fund = append(c.elig, int32(d.Eligibility)), append(c.fund, int32(d.FundingSource))
}

type findingCols struct {
	id                                             []int64
	detection, severity, facility, positions, sent []string
	day                                            []time.Time
}

func (c *findingCols) add(a *Analysis, f Finding) {
	c.id, c.detection, c.severity = append(c.id, a.ReportID), append(c.detection, f.Detection), append(c.severity, f.Severity)
	c.facility, c.day = append(c.facility, a.Facility), append(c.day, a.Day)
	c.positions, c.sent = append(c.positions, strings.Join(f.Positions, ",")), append(c.sent, f.Sent)
}

// Pending returns how many messages wait to be analysed.
func (s *Store) Pending(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM quality_pending`).Scan(&n); err != nil {
		return 0, fmt.Errorf("quality: pending messages: %w", err)
	}
	return n, nil
}

// CatchUp analyses waiting messages for at most budget and returns how
// many still wait.
func (s *Store) CatchUp(ctx context.Context, budget time.Duration) (int, error) {
	deadline := time.Now().Add(budget)
	for time.Now().Before(deadline) {
		n, err := s.AnalyseBatch(ctx, 1000)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, nil
		}
	}
	return s.Pending(ctx)
}

// Run analyses new messages as they are stored, every interval, until
// ctx ends.
func (s *Store) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.CatchUp(ctx, every); err != nil && ctx.Err() == nil {
			s.log.Warn("quality: messages not analysed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
