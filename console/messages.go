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

	"github.com/iisproject/iis/registry"
)

// PageSize is how many messages a browser page lists.
const PageSize = 50

// Filter is a message search (see registry.MessageFilter for its fields).
type Filter registry.MessageFilter

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

// QueryOutcomes are the answers a stored query may have had.
var QueryOutcomes = []string{"Z32", "Z42", "Z31", "Z33 NF", "Z33 TM", "Z33 PD", "Z33 AE", "Z33 AR", "ACK AR"}

// Search returns up to PageSize messages matching f, newest first, and the
// cursor of the next page ("" if none).
func Search(ctx context.Context, db MessageStore, f Filter) ([]registry.MessageSummary, string, error) {
	out, more, err := db.SearchMessages(ctx, registry.MessageFilter(f), PageSize)
	if err != nil {
		return nil, "", fmt.Errorf("console: %w", err)
	}
	next := ""
	if more && len(out) > 0 {
		last := out[len(out)-1]
		next = strconv.FormatInt(last.Received.UnixMicro(), 10) + "_" + strconv.FormatInt(last.ID, 10)
	}
	return out, next, nil
}

type messagesData struct {
	Filter   Filter
	Outcomes []string // the query answers to filter by
	Problems []string
	Rows     []registry.MessageSummary
	NextURL  string
	Elapsed  time.Duration
}

func (c *Console) messagesPage(w http.ResponseWriter, r *http.Request, s *session) {
	f, bad := ParseFilter(r.URL.Query())
	start := time.Now()
	rows, next, err := Search(r.Context(), c.cfg.Messages, f)
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

// MessageDetail is everything the detail view shows: the stored message
// and its fields, its ACK's and its ERR rows, pretty-printed.
type MessageDetail struct {
	registry.MessageDetail
	Segments    []SegmentView
	AckSegments []SegmentView
	Errors      []ErrRow
}

// LoadMessage reads message id with the worker's outcome and audit trail.
func LoadMessage(ctx context.Context, db MessageStore, id int64) (*MessageDetail, error) {
	m, err := db.MessageDetail(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return &MessageDetail{MessageDetail: *m, Segments: Segments(m.Raw), AckSegments: Segments(m.AckBody), Errors: ErrRows(m.AckBody)}, nil
}

func (c *Console) messagePage(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "No such message.", nil)
		return
	}
	d, err := LoadMessage(r.Context(), c.cfg.Messages, id)
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
	msg, err := c.cfg.Messages.MessageBody(r.Context(), id)
	if errors.Is(err, registry.ErrMessagePruned) {
		c.fail(w, r, s, http.StatusGone, "This message was pruned under retention: there is nothing to resend.", nil)
		return
	}
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "No such message.", err)
		return
	}
	if msg.Kind == registry.KindQuery {
		// Running a query again would disclose a patient's record to the
		// console rather than to the facility that asked.
		c.fail(w, r, s, http.StatusBadRequest, "A query is not resent: its answer went to the facility that asked.", nil)
		return
	}
	reply := c.cfg.Resend(r.Context(), msg.Facility, s.user, msg.Raw)
	code := ackCode(reply)
	detail := "resent; ACK " + code
	if errs := ErrRows(reply); len(errs) > 0 {
		detail += fmt.Sprintf(" with %d ERR rows, first: %s %s", len(errs), errs[0].Code, errs[0].Location)
	}
	if err := c.audit(r.Context(), s.user, "resend", msg.PatientID, &id, detail); err != nil {
		c.log.Error("console: resend not audited", "report", id, "err", err)
	}
	c.log.Info("console: message resent", "report", id, "operator", s.user, "ack", code)
	http.Redirect(w, r, fmt.Sprintf("/console/messages/%d?flash=%s", id, url.QueryEscape("Resent: the registry answered "+code+".")), http.StatusSeeOther)
}
