package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PageSize is how many messages a browser page lists.
const PageSize = 50

// Filter is a message search.
type Filter struct {
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

// ParseFilter reads a Filter from query parameters; bad values are reported.
func ParseFilter(q url.Values) (Filter, []string) {
	f := Filter{
		Facility: strings.TrimSpace(q.Get("facility")), ControlID: strings.TrimSpace(q.Get("control_id")),
		Type: strings.ToUpper(strings.TrimSpace(q.Get("type"))), Ack: strings.ToUpper(strings.TrimSpace(q.Get("ack"))),
		ErrCode: strings.TrimSpace(q.Get("err")), Name: strings.TrimSpace(q.Get("name")),
		Identifier: strings.TrimSpace(q.Get("identifier")),
		Outcome:    strings.ToUpper(strings.Join(strings.Fields(q.Get("outcome")), " ")),
	}
	var bad []string
	date := func(key string, end bool) time.Time {
		v := strings.TrimSpace(q.Get(key))
		if v == "" {
			return time.Time{}
		}
		for _, layout := range []string{"2006-01-02T15:04", time.RFC3339, "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
				if end && layout == "2006-01-02" {
					t = t.AddDate(0, 0, 1) // "to" a day includes that day
				}
				return t
			}
		}
		bad = append(bad, key+": "+v+" is not a date (YYYY-MM-DD)")
		return time.Time{}
	}
	f.From, f.To = date("from", false), date("to", true)
	if v := strings.TrimSpace(q.Get("dob")); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			bad = append(bad, "dob: "+v+" is not a date (YYYY-MM-DD)")
		}
		f.BirthDate = t
	}
	if f.ErrCode != "" {
		if _, err := strconv.Atoi(f.ErrCode); err != nil {
			bad = append(bad, "err: "+f.ErrCode+" is not an HL7 table 0357 code (a number such as 101)")
			f.ErrCode = ""
		}
	}
	if f.Ack != "" && f.Ack != "AA" && f.Ack != "AE" && f.Ack != "AR" {
		bad = append(bad, "ack: "+f.Ack+" is not AA, AE or AR")
		f.Ack = ""
	}
	if f.Outcome != "" && !slices.Contains(QueryOutcomes, f.Outcome) {
		bad = append(bad, "outcome: "+f.Outcome+" is not one of "+strings.Join(QueryOutcomes, ", "))
		f.Outcome = ""
	}
	if v := q.Get("before"); v != "" {
		ts, id, ok := strings.Cut(v, "_")
		n, err1 := strconv.ParseInt(ts, 10, 64)
		i, err2 := strconv.ParseInt(id, 10, 64)
		if ok && err1 == nil && err2 == nil {
			f.BeforeTime, f.BeforeID = time.UnixMicro(n), i
		}
	}
	if !f.BirthDate.IsZero() && f.Name == "" && f.Identifier == "" {
		bad = append(bad, "dob: give a family name or an identifier with the birth date")
		f.BirthDate = time.Time{}
	}
	return f, bad
}

// Query returns the filter without its cursor, as URL parameters.
func (f Filter) Query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("facility", f.Facility)
	set("control_id", f.ControlID)
	set("type", f.Type)
	set("ack", f.Ack)
	set("err", f.ErrCode)
	set("outcome", f.Outcome)
	set("name", f.Name)
	set("identifier", f.Identifier)
	if !f.BirthDate.IsZero() {
		q.Set("dob", f.BirthDate.Format("2006-01-02"))
	}
	if !f.From.IsZero() {
		q.Set("from", f.From.Format("2006-01-02T15:04"))
	}
	if !f.To.IsZero() {
		q.Set("to", f.To.Format("2006-01-02T15:04"))
	}
	return q
}

// MessageRow is one message in a list.
type MessageRow struct {
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
	Outcome    string
	ReplacedAt *time.Time
	// QueryOutcome is a query's answer (see Filter.Outcome); "" for
	// other messages.
	QueryOutcome string
}

// QueryOutcomes are the answers a stored query may have had.
var QueryOutcomes = []string{"Z32", "Z42", "Z31", "Z33 NF", "Z33 TM", "Z33 PD", "Z33 AE", "Z33 AR", "ACK AR"}

// messageCols are the source_reports columns of a MessageRow (alias r).
const messageCols = `r.id, r.facility, r.control_id, r.message_type, r.kind, r.ack_code, r.transport, r.received_at,
	r.issues, r.patient_id, r.match_outcome, r.replaced_at, r.query_outcome`

func scanMessageRow(r pgx.CollectableRow) (MessageRow, error) {
	var m MessageRow
	err := r.Scan(&m.ID, &m.Facility, &m.ControlID, &m.Type, &m.Kind, &m.Ack, &m.Transport, &m.Received,
		&m.Issues, &m.PatientID, &m.Outcome, &m.ReplacedAt, &m.QueryOutcome)
	return m, err
}

// Search returns up to PageSize messages matching f, newest first, and the
// cursor of the next page ("" if none). Every filter is served by an index
// (received time, facility, control id, ACK code, ERR code, patient name
// and birth date, identifier).
func Search(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, f Filter) ([]MessageRow, string, error) {
	var where []string
	var args []any
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
		where = append(where, "r.id IN (SELECT sv.report_id FROM source_vaccinations sv WHERE sv.patient_id IN (SELECT p.id FROM "+
			from+" WHERE "+strings.Join(pw, " AND ")+" LIMIT 1000))")
	}
	cols := messageCols
	limit := PageSize + 1
	var sql string
	if f.ErrCode != "" {
		// Walk message_errors in time order (index on code or facility and
		// code, then time) and join each hit to its message: the scan stops
		// once a page is full, however many messages have the code. A
		// message with the code at two severities appears twice; the
		// duplicates are dropped below, so fetch enough for a full page.
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
		if f.BeforeID != 0 {
			where = append(where, "(e.received_at, e.report_id) < ("+arg(f.BeforeTime)+", "+arg(f.BeforeID)+")")
		}
		limit *= 3
		sql = "SELECT " + cols + " FROM message_errors e JOIN source_reports r ON r.id = e.report_id WHERE " +
			strings.Join(where, " AND ") + " ORDER BY e.received_at DESC, e.report_id DESC LIMIT " + strconv.Itoa(limit)
	} else {
		if f.BeforeID != 0 {
			where = append(where, "(r.received_at, r.id) < ("+arg(f.BeforeTime)+", "+arg(f.BeforeID)+")")
		}
		sql = "SELECT " + cols + " FROM source_reports r"
		if len(where) > 0 {
			sql += " WHERE " + strings.Join(where, " AND ")
		}
		sql += " ORDER BY r.received_at DESC, r.id DESC LIMIT " + strconv.Itoa(limit)
	}
	// Planned for these values each time (no cached generic plan): how
	// many rows a code or facility has decides the plan.
	rows, err := db.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, "", fmt.Errorf("console: search messages: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanMessageRow)
	if err != nil {
		return nil, "", fmt.Errorf("console: search messages: %w", err)
	}
	out = slices.CompactFunc(out, func(a, b MessageRow) bool { return a.ID == b.ID })
	next := ""
	if len(out) > PageSize {
		out = out[:PageSize]
		last := out[len(out)-1]
		next = strconv.FormatInt(last.Received.UnixMicro(), 10) + "_" + strconv.FormatInt(last.ID, 10)
	}
	return out, next, nil
}

type messagesData struct {
	Filter   Filter
	Outcomes []string // the query answers to filter by
	Problems []string
	Rows     []MessageRow
	NextURL  string
	Elapsed  time.Duration
}

func (c *Console) messagesPage(w http.ResponseWriter, r *http.Request, s *session) {
	f, bad := ParseFilter(r.URL.Query())
	start := time.Now()
	rows, next, err := Search(r.Context(), c.cfg.Pool, f)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The message store could not be searched.", err)
		return
	}
	d := messagesData{Filter: f, Outcomes: QueryOutcomes, Problems: bad, Rows: rows, Elapsed: time.Since(start).Round(time.Millisecond / 10)}
	if next != "" {
		q := f.Query()
		q.Set("before", next)
		d.NextURL = "/console/messages?" + q.Encode()
	}
	c.render(w, r, s, "messages", page{Title: "Messages", Nav: "messages", Data: d})
}

// MessageDetail is everything the detail view shows.
type MessageDetail struct {
	MessageRow
	MessageTime *time.Time
	StreamSeq   *int64
	Raw         []byte
	AckBody     []byte // the ACK sent back
	Segments    []SegmentView
	AckSegments []SegmentView
	Errors      []ErrRow
	Doses       []DoseRow
	Audit       []AuditRow
}

// DoseRow is what the worker did with one RXA of the message.
type DoseRow struct {
	Position      int
	CVX           string
	Administered  *time.Time
	Lot           string
	Action        string
	Completion    string
	Consolidation string
	EventID       *int64
}

// AuditRow is one audit_log row about the message.
type AuditRow struct {
	At     time.Time
	Actor  string
	Action string
	Detail string
}

// LoadMessage reads message id with the worker's outcome and audit trail.
func LoadMessage(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, id int64) (*MessageDetail, error) {
	d := &MessageDetail{}
	m := &d.MessageRow
	err := db.QueryRow(ctx, `SELECT id, facility, control_id, message_type, kind, ack_code, transport, received_at,
		issues, patient_id, match_outcome, replaced_at, query_outcome, message_time, stream_seq, raw, ack
		FROM source_reports WHERE id = $1`, id).Scan(&m.ID, &m.Facility, &m.ControlID, &m.Type, &m.Kind, &m.Ack, &m.Transport,
		&m.Received, &m.Issues, &m.PatientID, &m.Outcome, &m.ReplacedAt, &m.QueryOutcome, &d.MessageTime, &d.StreamSeq, &d.Raw, &d.AckBody)
	if err != nil {
		return nil, fmt.Errorf("console: message %d: %w", id, err)
	}
	rows, err := db.Query(ctx, `SELECT position, cvx, administered_on, lot, action, completion_status, consolidation, event_id
		FROM source_vaccinations WHERE facility = $1 AND control_id = $2 AND report_id = $3 ORDER BY position`, m.Facility, m.ControlID, id)
	if err != nil {
		return nil, fmt.Errorf("console: message %d doses: %w", id, err)
	}
	d.Doses, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DoseRow, error) {
		var x DoseRow
		err := r.Scan(&x.Position, &x.CVX, &x.Administered, &x.Lot, &x.Action, &x.Completion, &x.Consolidation, &x.EventID)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("console: message %d doses: %w", id, err)
	}
	rows, err = db.Query(ctx, `SELECT at, actor, action, detail FROM audit_log WHERE report_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("console: message %d audit: %w", id, err)
	}
	d.Audit, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditRow, error) {
		var x AuditRow
		err := r.Scan(&x.At, &x.Actor, &x.Action, &x.Detail)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("console: message %d audit: %w", id, err)
	}
	d.Segments = Segments(d.Raw)
	d.AckSegments = Segments(d.AckBody)
	d.Errors = ErrRows(d.AckBody)
	return d, nil
}

func (c *Console) messagePage(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "No such message.", nil)
		return
	}
	d, err := LoadMessage(r.Context(), c.cfg.Pool, id)
	if errors.Is(err, pgx.ErrNoRows) {
		c.fail(w, r, s, http.StatusNotFound, "No such message.", nil)
		return
	}
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The message could not be read.", err)
		return
	}
	// The message holds patient data: who looked at it is on record.
	if err := c.audit(r.Context(), s.user, "console-view", d.PatientID, &d.ID, ""); err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The view could not be audited, so it is not shown.", err)
		return
	}
	c.render(w, r, s, "message", page{Title: "Message " + d.ControlID, Nav: "messages", Data: d})
}

func (c *Console) resendMessage(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || c.cfg.Resend == nil {
		c.fail(w, r, s, http.StatusNotFound, "No such message, or resend is not enabled.", nil)
		return
	}
	var facility, kind string
	var raw []byte
	var patient *int64
	if err := c.cfg.Pool.QueryRow(r.Context(), `SELECT facility, kind, raw, patient_id FROM source_reports WHERE id = $1`, id).Scan(&facility, &kind, &raw, &patient); err != nil {
		c.fail(w, r, s, http.StatusNotFound, "No such message.", err)
		return
	}
	if kind == "query" {
		// Running a query again would disclose a patient's record to the
		// console rather than to the facility that asked.
		c.fail(w, r, s, http.StatusBadRequest, "A query is not resent: its answer went to the facility that asked.", nil)
		return
	}
	reply := c.cfg.Resend(r.Context(), facility, s.user, raw)
	code := ackCode(reply)
	detail := "resent; ACK " + code
	if errs := ErrRows(reply); len(errs) > 0 {
		detail += fmt.Sprintf(" with %d ERR rows, first: %s %s", len(errs), errs[0].Code, errs[0].Location)
	}
	if err := c.audit(r.Context(), s.user, "resend", patient, &id, detail); err != nil {
		c.log.Error("console: resend not audited", "report", id, "err", err)
	}
	c.log.Info("console: message resent", "report", id, "operator", s.user, "ack", code)
	http.Redirect(w, r, fmt.Sprintf("/console/messages/%d?flash=%s", id, url.QueryEscape("Resent: the registry answered "+code+".")), http.StatusSeeOther)
}
