package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
)

// TestPrunedMessage: a message whose body the message store pruned under
// its retention is still listed and shown, with its ERR summary and a
// notice instead of its segments; it cannot be resent.
func TestPrunedMessage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var id int64
	if err := e.store.Pool().QueryRow(ctx, `WITH ins AS (INSERT INTO source_reports (facility, control_id, message_type, kind, ack_code,
			transport, received_at, raw_digest, issues) VALUES ('CLINIC A', 'OLD-1', 'VXU', 'vxu', 'AE', 'mllp', now() - interval '5 months',
			sha256('MSH|old'), ARRAY['E:101:6:RXA-17']) RETURNING id, received_at, kind),
		body AS (INSERT INTO message_bodies (report_id, received_at, kind, raw, ack) SELECT id, received_at, kind, 'MSH|old', 'MSA|AE' FROM ins)
		SELECT id FROM ins`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	ch, err := e.store.MaintainMessageStore(ctx, registry.MessageStorePolicy{RetentionMonths: map[string]int{"vxu": 3}}, time.Now())
	if err != nil || len(ch.Dropped) == 0 {
		t.Fatalf("prune: %+v, %v", ch, err)
	}
	eng := e.client(t)
	tok := e.login(t, eng, "ed")
	page := e.srv.URL + "/console/messages/" + strconv.FormatInt(id, 10)
	code, body := get(t, eng, page)
	if code != http.StatusOK || !strings.Contains(body, `id="pruned"`) || strings.Contains(body, `id="resend"`) ||
		!strings.Contains(body, "E:101:6:RXA-17") || !strings.Contains(body, "OLD-1") {
		t.Errorf("pruned message page: %d, notice %v, resend button %v, ERR summary %v", code, strings.Contains(body, `id="pruned"`),
			strings.Contains(body, `id="resend"`), strings.Contains(body, "E:101:6:RXA-17"))
	}
	if code, _ := post(t, eng, page+"/resend", url.Values{"csrf": {tok}}); code != http.StatusGone {
		t.Errorf("resend of a pruned message: %d, want 410", code)
	}
	if len(e.resent) != 0 {
		t.Errorf("resent %q", e.resent)
	}
	if code, body := get(t, eng, e.srv.URL+"/console/messages?facility=CLINIC+A"); code != http.StatusOK || !strings.Contains(body, "OLD-1") {
		t.Errorf("the pruned message is not listed: %d", code)
	}
}
