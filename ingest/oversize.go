package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"

	"github.com/iisproject/iis/hl7/immz"
)

// issueTooLarge is the ERR row of a message over the transport's size
// limit. HL7 table 0357 (v2.5.1) has no code for a message too large: 207
// "application internal error" is its catch-all for what the other codes
// do not cover, whereas 100-103 describe a parsed message's segments and
// fields, which this one never was. The severity E and MSA-1 AR say the
// message was rejected whole; the text says why, names the limit, and
// tells the sender that sending it again unchanged will fail again (unlike
// the 207 of a queue outage, which asks for a resend).
func issueTooLarge(limit int) immz.Issue {
	return immz.Issue{
		Location: immz.ErrorLocation{Segment: "MSH", Sequence: 1},
		Code:     immz.CodeApplicationInternal, Severity: immz.Error, Scope: immz.ScopeEnvelope,
		Message: "The message is larger than this registry accepts (" + strconv.Itoa(limit) +
			" bytes) and was not read or recorded; sending it again unchanged will fail again. Send it in smaller parts (split the batch).",
		Rule: "message too large",
	}
}

// ServeOversize answers a message too large for the transport to receive
// (mllp.OversizeHandler): head is its beginning, limit the transport's
// size limit in bytes. The message was never read whole, so the reply is
// an AR built from the MSH segment found in head, if any (MSH-10 in MSA-2,
// sender and receiver swapped), with one ERR naming the limit. Nothing is
// queued: there is no message to store.
func (h *Handler) ServeOversize(ctx context.Context, head []byte, limit int) []byte {
	start := h.now()
	src, _ := SourceFromContext(ctx)
	r := h.v.Check(mshOf(head))
	// Only the envelope speaks: what Check says of a message cut short is
	// not the sender's mistake.
	r.Issues = nil
	facility := src.Facility
	if facility == "" {
		facility = r.Header.SendingFacility.Name
		if facility == "" {
			facility = r.Header.SendingFacility.ID
		}
	}
	is := issueTooLarge(limit)
	reply := h.v.Ack(r, is)
	h.m.observe(src.Transport, facility, r, "AR", []immz.Issue{is}, len(head), h.now().Sub(start))
	h.log.LogAttrs(ctx, slog.LevelWarn, "message over the size limit rejected",
		slog.String("transport", src.Transport), slog.String("facility", facility),
		slog.String("control_id", r.Header.ControlID), slog.Int("limit", limit))
	return reply
}

// mshOf returns the first MSH segment in head (a message's, or the first
// of a batch file's), or nil.
func mshOf(head []byte) []byte {
	for len(head) > 0 {
		seg := head
		if i := bytes.IndexAny(head, "\r\n"); i >= 0 {
			seg, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		if bytes.HasPrefix(seg, []byte("MSH")) {
			return seg
		}
	}
	return nil
}
