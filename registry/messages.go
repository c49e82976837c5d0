package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// MessageFilter selects stored messages (the operators' message browser).
// Zero fields do not filter.
type MessageFilter struct {
	Facility  string
	ControlID string // MSH-10
	Type      string // MSH-9.1: VXU, QBP, ...
	Ack       string // AA, AE, AR
	ErrCode   string // HL7 0357 code, e.g. 101
	// Outcome is a query's answer: Z32, Z42, Z31, Z33 NF, Z33 TM, Z33 PD,
	// Z33 AE, Z33 AR or ACK AR (queries only).
	Outcome  string
	From, To time.Time
	// Patient: family name (with an optional given name after a comma),
	// birth date, identifier (PID-3 value).
	Name       string
	BirthDate  time.Time
	Identifier string
	// Before is the keyset cursor: messages received before (time, id).
	BeforeTime time.Time
	BeforeID   int64
}

// MessageSummary is one stored message in a list.
type MessageSummary struct {
	ID         int64
	Facility   string
	ControlID  string
	Type       string
	Kind       string
	Ack        string
	Transport  string
	Received   time.Time
	Issues     []string
	PatientID  *int64
	Outcome    string // the match outcome
	ReplacedAt *time.Time
	// QueryOutcome is a query's answer (see MessageFilter.Outcome); ""
	// for other messages.
	QueryOutcome string
}

// summaryCols are the source_reports columns of a MessageSummary (alias r).
const summaryCols = `r.id, r.facility, r.control_id, r.message_type, r.kind, r.ack_code, r.transport, r.received_at,
	r.issues, r.patient_id, r.match_outcome, r.replaced_at, r.query_outcome`

func scanSummary(r pgx.CollectableRow) (MessageSummary, error) {
	var m MessageSummary
	err := r.Scan(&m.ID, &m.Facility, &m.ControlID, &m.Type, &m.Kind, &m.Ack, &m.Transport, &m.Received,
		&m.Issues, &m.PatientID, &m.Outcome, &m.ReplacedAt, &m.QueryOutcome)
	return m, err
}

// SearchMessages returns up to limit messages matching f, newest first
// (received time, then id), and whether more follow. Every filter is
// served by an index (received time, facility, control id, ACK code, ERR
// code, query answer, patient name and birth date, identifier), and the
// keyset cursor (f.BeforeTime, f.BeforeID) makes every page as cheap as
// the first.
func (s *Store) SearchMessages(ctx context.Context, f MessageFilter, limit int) ([]MessageSummary, bool, error) {
	var out []MessageSummary
	for _, w := range errWindows(f, time.Now()) {
		sql, args := searchSQL(f, limit, w)
		// Planned for these values each time (no cached generic plan): how
		// many rows a code or facility has decides the plan, and the time
		// window the partitions of message_errors planned.
		rows, err := s.pool.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
		if err != nil {
			return nil, false, fmt.Errorf("registry: search messages: %w", err)
		}
		out, err = pgx.CollectRows(rows, scanSummary)
		if err != nil {
			return nil, false, fmt.Errorf("registry: search messages: %w", err)
		}
		out = slices.CompactFunc(out, func(a, b MessageSummary) bool { return a.ID == b.ID })
		if len(out) > limit {
			return out[:limit], true, nil
		}
	}
	return out, false, nil
}

// window is a time range [from, to) of a search; a zero window does not bound.
type window = span

// errWindows returns the time windows an ERR-code search tries in turn,
// each wider than the one before, until one fills a page: the last month
// before the newest time the filter allows, the last 400 days, then all
// time. message_errors is partitioned by period and kind: a bounded
// window plans the few partitions it covers instead of all of them. A
// search without an ERR code (on source_reports) has one, unbounded.
func errWindows(f MessageFilter, now time.Time) []window {
	if f.ErrCode == "" {
		return []window{{}}
	}
	top := now.Add(24 * time.Hour) // received times are the registry's own clock
	if !f.To.IsZero() && f.To.Before(top) {
		top = f.To
	}
	if f.BeforeID != 0 && !f.BeforeTime.After(top) {
		top = f.BeforeTime.Add(time.Microsecond) // the cursor's time itself is in range
	}
	out := []window{}
	for _, back := range []time.Duration{31 * 24 * time.Hour, 400 * 24 * time.Hour} {
		from := top.Add(-back)
		if !f.From.IsZero() && !from.After(f.From) {
			break // the filter's own range is narrower
		}
		out = append(out, window{from, top})
	}
	return append(out, window{})
}

// searchSQL builds the search statement for f and a page of limit rows
// (it asks for more, to tell whether another page follows), in time window
// w of an ERR-code search (none if zero).
func searchSQL(f MessageFilter, limit int, w window) (sql string, args []any) {
	var where []string
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Facility != "" {
		where = append(where, "r.facility = "+arg(f.Facility))
	}
	if f.ControlID != "" {
		where = append(where, "r.control_id = "+arg(f.ControlID))
	}
	if f.Type != "" {
		where = append(where, "r.message_type = "+arg(f.Type))
	}
	if f.Ack != "" {
		where = append(where, "r.ack_code = "+arg(f.Ack))
	}
	if f.Outcome != "" {
		// The partial index on (query_outcome, received_at) serves it.
		where = append(where, "r.kind = 'query' AND r.query_outcome = "+arg(f.Outcome))
	}
	if !f.From.IsZero() {
		where = append(where, "r.received_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "r.received_at < "+arg(f.To))
	}
	if f.Name != "" || f.Identifier != "" {
		where = append(where, patientCondition(f, arg))
	}
	fetch := limit + 1
	if f.ErrCode != "" {
		// Walk message_errors in time order (index on code or facility and
		// code, then time) and join each hit to its message: the scan stops
		// once a page is full, however many messages have the code. A
		// message with the code at two severities appears twice; the
		// duplicates are dropped by SearchMessages, so fetch enough for a full
		// page.
		where = append(where, "e.code = "+arg(f.ErrCode))
		if f.Facility != "" {
			// e.facility lets the (facility, code, time) index serve.
			where = append(where, "e.facility = "+arg(f.Facility))
		}
		if !f.From.IsZero() {
			where = append(where, "e.received_at >= "+arg(f.From))
		}
		if !f.To.IsZero() {
			where = append(where, "e.received_at < "+arg(f.To))
		}
		if !w.from.IsZero() {
			where = append(where, "e.received_at >= "+arg(w.from), "e.received_at < "+arg(w.to))
		}
		if f.BeforeID != 0 {
			where = append(where, "(e.received_at, e.report_id) < ("+arg(f.BeforeTime)+", "+arg(f.BeforeID)+")")
		}
		fetch *= 3
		sql = "SELECT " + summaryCols + " FROM message_errors e JOIN source_reports r ON r.id = e.report_id WHERE " +
			strings.Join(where, " AND ") + " ORDER BY e.received_at DESC, e.report_id DESC LIMIT " + strconv.Itoa(fetch)
		return sql, args
	}
	if f.BeforeID != 0 {
		where = append(where, "(r.received_at, r.id) < ("+arg(f.BeforeTime)+", "+arg(f.BeforeID)+")")
	}
	sql = "SELECT " + summaryCols + " FROM source_reports r"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY r.received_at DESC, r.id DESC LIMIT " + strconv.Itoa(fetch)
	return sql, args
}

// patientCondition restricts a search to the messages of the patients f
// names (by name and birth date, or identifier; at most 1,000 patients).
func patientCondition(f MessageFilter, arg func(any) string) string {
	var pw []string
	from := "patients p"
	if f.Identifier != "" {
		from = "patient_identifiers i JOIN patients p ON p.id = i.patient_id"
		pw = append(pw, "i.value = "+arg(f.Identifier))
	}
	if f.Name != "" {
		family, given, _ := strings.Cut(f.Name, ",")
		pw = append(pw, "lower(p.family_name) = lower("+arg(strings.TrimSpace(family))+")")
		if g := strings.TrimSpace(given); g != "" {
			pw = append(pw, "lower(p.given_name) = lower("+arg(g)+")")
		}
	}
	if !f.BirthDate.IsZero() {
		pw = append(pw, "p.birth_date = "+arg(f.BirthDate))
	}
	return "r.id IN (SELECT sv.report_id FROM source_vaccinations sv WHERE sv.patient_id IN (SELECT p.id FROM " +
		from + " WHERE " + strings.Join(pw, " AND ") + " LIMIT 1000))"
}

// MessageDetail is one stored message with what the worker did with it
// and its audit trail.
type MessageDetail struct {
	MessageSummary
	MessageTime *time.Time // MSH-7
	StreamSeq   *int64     // JetStream sequence
	Raw         []byte
	AckBody     []byte // the ACK (or a query's answer) sent back
	// Pruned: the raw message and its ACK were dropped under the message
	// store's retention (Raw and AckBody are nil); the report's row, its
	// ERR summary and its doses' provenance remain.
	Pruned bool
	Doses  []MessageDose
	Audit  []AuditRow
}

// MessageDose is what the worker did with one RXA of a message.
type MessageDose struct {
	Position      int
	CVX           string
	Administered  *time.Time
	Lot           string
	Action        string
	Completion    string
	Consolidation string
	EventID       *int64
}

// MessageDetail reads message id with its doses and audit trail (oldest
// first). A missing message is an error wrapping pgx.ErrNoRows.
func (s *Store) MessageDetail(ctx context.Context, id int64) (*MessageDetail, error) {
	d := &MessageDetail{}
	m := &d.MessageSummary
	err := s.pool.QueryRow(ctx, `SELECT id, facility, control_id, message_type, kind, ack_code, transport,
		received_at, issues, patient_id, match_outcome, replaced_at, query_outcome, message_time, stream_seq
		FROM source_reports WHERE id = $1`, id).Scan(&m.ID, &m.Facility, &m.ControlID, &m.Type, &m.Kind, &m.Ack, &m.Transport,
		&m.Received, &m.Issues, &m.PatientID, &m.Outcome, &m.ReplacedAt, &m.QueryOutcome, &d.MessageTime, &d.StreamSeq)
	if err != nil {
		return nil, fmt.Errorf("registry: message %d: %w", id, err)
	}
	if d.Raw, d.AckBody, err = s.body(ctx, id, m.Received, m.Kind); err != nil {
		return nil, err
	}
	d.Pruned = d.Raw == nil
	rows, err := s.pool.Query(ctx, `SELECT position, cvx, administered_on, lot, action, completion_status, consolidation, event_id
		FROM source_vaccinations WHERE facility = $1 AND control_id = $2 AND report_id = $3 ORDER BY position`, m.Facility, m.ControlID, id)
	if err == nil {
		d.Doses, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (MessageDose, error) {
			var x MessageDose
			err := r.Scan(&x.Position, &x.CVX, &x.Administered, &x.Lot, &x.Action, &x.Completion, &x.Consolidation, &x.EventID)
			return x, err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("registry: message %d doses: %w", id, err)
	}
	d.Audit, err = s.auditRows(ctx, `SELECT at, actor, action, detail FROM audit_log WHERE report_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("registry: message %d audit: %w", id, err)
	}
	return d, nil
}

// MessageBody is what it takes to handle a stored message again.
type MessageBody struct {
	Facility  string
	Kind      string // vxu, rejected, query
	Raw       []byte
	PatientID *int64
}

// ErrMessagePruned: the message's raw bytes were dropped under the
// message store's retention.
var ErrMessagePruned = errors.New("message body pruned under retention")

// body reads the raw message and ACK of report id received at received
// of kind kind; nil, nil once pruned. The report's time and kind are given
// as values so that PostgreSQL plans the one partition that holds them
// (a join from source_reports would plan every partition).
func (s *Store) body(ctx context.Context, id int64, received time.Time, kind string) (raw, ack []byte, err error) {
	err = s.pool.QueryRow(ctx, `SELECT raw, ack FROM message_bodies WHERE report_id = $1 AND received_at = $2 AND kind = $3`,
		pgx.QueryExecModeExec, id, received, kind).Scan(&raw, &ack)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("registry: message %d body: %w", id, err)
	}
	return raw, ack, nil
}

// MessageBody reads the raw bytes of message id and whose they are. A
// missing message is an error wrapping pgx.ErrNoRows; a message whose body
// was pruned, one wrapping ErrMessagePruned.
func (s *Store) MessageBody(ctx context.Context, id int64) (MessageBody, error) {
	var b MessageBody
	var received time.Time
	if err := s.pool.QueryRow(ctx, `SELECT facility, kind, received_at, patient_id FROM source_reports WHERE id = $1`, id).
		Scan(&b.Facility, &b.Kind, &received, &b.PatientID); err != nil {
		return b, fmt.Errorf("registry: message %d: %w", id, err)
	}
	var err error
	if b.Raw, _, err = s.body(ctx, id, received, b.Kind); err != nil {
		return b, err
	}
	if b.Raw == nil {
		return b, fmt.Errorf("registry: message %d: %w", id, ErrMessagePruned)
	}
	return b, nil
}

// ErrorCount counts the messages of one facility that got one error at
// one position in a time span: "RXA-17 missing on 312 messages since
// Monday".
type ErrorCount struct {
	Facility string
	Code     string // HL7 0357
	AppCode  string // CDC 0533; "" if none
	Position string // RXA-17
	Messages int
	First    time.Time
	Last     time.Time
	LastID   int64 // the newest message's id
}

// ErrorCounts groups the error rows (severity E) of messages answered AE
// or AR since since (of facility, if not ""), by facility, code and
// position, most frequent first (at most 500 groups).
func (s *Store) ErrorCounts(ctx context.Context, since time.Time, facility string) ([]ErrorCount, error) {
	sql := `SELECT e.facility, e.code, split_part(p, ':', 1), split_part(p, ':', 2),
			count(*), min(e.received_at), max(e.received_at), max(e.report_id)
		FROM message_errors e CROSS JOIN LATERAL unnest(e.positions) AS p
		WHERE e.received_at >= $1 AND e.severity = 'E' AND e.ack_code <> 'AA'`
	args := []any{since}
	if facility != "" {
		sql += ` AND e.facility = $2`
		args = append(args, facility)
	}
	sql += ` GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC, 1, 2, 4 LIMIT 500`
	rows, err := s.pool.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("registry: error counts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ErrorCount, error) {
		var g ErrorCount
		err := r.Scan(&g.Facility, &g.Code, &g.AppCode, &g.Position, &g.Messages, &g.First, &g.Last, &g.LastID)
		if g.AppCode == "0" {
			g.AppCode = ""
		}
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: error counts: %w", err)
	}
	return out, nil
}
