package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
)

// ErrorGroup counts the messages of one facility that got one error at one
// position since a date: "RXA-17 missing on 312 messages since Monday",
// with the codes' names.
type ErrorGroup struct {
	registry.ErrorCount
	CodeText string // HL7 0357
	AppText  string // CDC 0533
}

// ErrorGroups groups the error rows (severity E) of messages answered AE
// or AR since since, by facility, code and position, most frequent first.
func ErrorGroups(ctx context.Context, db MessageStore, since time.Time, facility string) ([]ErrorGroup, error) {
	counts, err := db.ErrorCounts(ctx, since, facility)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	codes := codeset.Default()
	groups := make([]ErrorGroup, len(counts))
	for i, n := range counts {
		g := ErrorGroup{ErrorCount: n}
		if x, ok := codes.ErrorCondition().Lookup(g.Code); ok {
			g.CodeText = x.Display
		}
		if x, ok := codes.ApplicationError().Lookup(g.AppCode); ok {
			g.AppText = x.Display
		}
		groups[i] = g
	}
	return groups, nil
}

type errorsData struct {
	Since       time.Time
	SinceValue  string
	Facility    string
	Groups      []ErrorGroup
	Dead        []queue.DeadLetter
	DeadGroups  []deadGroup
	DeadMissing string
}

type deadGroup struct {
	Facility string
	Reason   string
	Count    int
}

// MessagesURL links a group to the message browser, filtered to it.
func (g ErrorGroup) MessagesURL(since time.Time) string {
	q := url.Values{"facility": {g.Facility}, "err": {g.Code}, "from": {since.Format("2006-01-02T15:04")}}
	return "/console/messages?" + q.Encode()
}

func (c *Console) errorsPage(w http.ResponseWriter, r *http.Request, s *session) {
	since := c.now().AddDate(0, 0, -7)
	v := r.URL.Query().Get("since")
	if v != "" {
		if t, err := time.ParseInLocation("2006-01-02", v, time.Local); err == nil {
			since = t
		}
	}
	d := errorsData{Since: since, SinceValue: since.Format("2006-01-02"), Facility: strings.TrimSpace(r.URL.Query().Get("facility"))}
	var err error
	if d.Groups, err = ErrorGroups(r.Context(), c.cfg.Messages, since, d.Facility); err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The errors could not be counted.", err)
		return
	}
	if c.cfg.Queue != nil {
		dead, err := c.cfg.Queue.DeadLetters(r.Context(), 200)
		if err != nil {
			d.DeadMissing = "The dead-letter stream could not be read."
			c.log.Error("console: dead letters", "err", err)
		}
		byKey := map[[2]string]int{}
		for _, x := range dead {
			if d.Facility != "" && x.Facility != d.Facility {
				continue
			}
			d.Dead = append(d.Dead, x)
			reason, _, _ := strings.Cut(x.Reason, " (after")
			k := [2]string{x.Facility, reason}
			if _, ok := byKey[k]; !ok {
				byKey[k] = len(d.DeadGroups)
				d.DeadGroups = append(d.DeadGroups, deadGroup{Facility: x.Facility, Reason: reason})
			}
			d.DeadGroups[byKey[k]].Count++
		}
	}
	c.render(w, r, s, "errors", page{Title: "Errors", Nav: "errors", Data: d})
}

func (c *Console) redrive(w http.ResponseWriter, r *http.Request, s *session) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || c.cfg.Queue == nil {
		c.fail(w, r, s, http.StatusNotFound, "No such dead letter.", nil)
		return
	}
	dl, err := c.cfg.Queue.DeadLetter(r.Context(), seq)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "No such dead letter (already resent?).", err)
		return
	}
	// The attempt is audited whether or not it succeeds.
	if _, err := c.cfg.Queue.Redrive(r.Context(), seq, s.user); err != nil {
		detail := fmt.Sprintf("dead letter %d (%s %s) could not be queued again: %v", seq, dl.Facility, dl.ControlID, err)
		if aErr := c.audit(r.Context(), s.user, "redrive-failed", nil, nil, detail); aErr != nil {
			c.log.Error("console: failed redrive not audited", "seq", seq, "err", aErr)
		}
		c.fail(w, r, s, http.StatusServiceUnavailable, "The dead letter could not be queued again; nothing changed. Try again later.", err)
		return
	}
	detail := fmt.Sprintf("dead letter %d (%s %s) queued again for the worker; it had failed with: %s", seq, dl.Facility, dl.ControlID, dl.Reason)
	if err := c.audit(r.Context(), s.user, "redrive", nil, nil, detail); err != nil {
		c.log.Error("console: redrive not audited", "seq", seq, "err", err)
	}
	http.Redirect(w, r, "/console/errors?flash="+url.QueryEscape(fmt.Sprintf("Dead letter %s %s queued again.", dl.Facility, dl.ControlID)), http.StatusSeeOther)
}
