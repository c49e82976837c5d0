package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/soap"
)

// TestPrunedMessageInBrowser: iisd creates the message store's partitions
// when it starts; a message older than its kind's retention is pruned by
// the maintenance, and an integration engineer who finds it in the console
// reads that its body was pruned, sees its ERR summary, and is offered no
// resend.
func TestPrunedMessageInBrowser(t *testing.T) {
	exe := chromium(t)
	hash, err := soap.HashPassword("prune-2026")
	if err != nil {
		t.Fatal(err)
	}
	s := startTest(t, func(c *Config) {
		c.ConsoleUsers = []ConsoleUser{{Username: "ana", PasswordHash: hash, Role: "engineer"}}
		c.MessageStore = MessageStoreConfig{RetentionMonths: map[string]int{"vxu": 3}}
	})
	ctx := context.Background()
	now := time.Now().UTC()
	current := fmt.Sprintf("message_bodies_p%04d%02d01_vxu", now.Year(), now.Month())
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		var exists bool
		if err := s.store.Pool().QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, current).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("iisd did not create %s at start", current)
		}
	}
	// A VXU received five months ago, answered AE (its body still there
	// until the maintenance runs).
	if _, err := s.store.Pool().Exec(ctx, `WITH ins AS (INSERT INTO source_reports (facility, control_id, message_type, kind, ack_code,
			transport, received_at, raw_digest, issues) VALUES ('OLDCLINIC', 'OLD-0001', 'VXU', 'vxu', 'AE', 'mllp', now() - interval '5 months',
			sha256('MSH|old'), ARRAY['E:101:6:RXA-17']) RETURNING id, received_at, kind)
		INSERT INTO message_bodies (report_id, received_at, kind, raw, ack) SELECT id, received_at, kind, 'MSH|old', 'MSA|AE' FROM ins`); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) { // the start's own run may still hold the lock
		ch, err := s.store.MaintainMessageStore(ctx, s.cfg.MessageStore.policy(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Skipped {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatal("the message store stayed locked")
		}
	}

	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Width: 1400, Height: 1000, Timeout: 3 * time.Minute})
	run, text, shot := b.run, b.text, b.shot
	link := `//table[@id="messages"]//a[text()="OLD-0001"]`
	run("sign in and find the message",
		chromedp.Navigate(base+"/console/messages?control_id=OLD-0001"),
		chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", "ana"),
		chromedp.SendKeys("#password", "prune-2026"),
		chromedp.Click("#signin"),
		chromedp.WaitVisible(link),
		shot("1-pruned-listed"),
	)
	run("open it", chromedp.Click(link), chromedp.WaitVisible("#pruned"), shot("2-pruned-message"))
	if notice, summary := text("#pruned"), text("#err-summary"); !strings.Contains(notice, "pruned under the message store's retention") ||
		!strings.Contains(summary, "E:101:6:RXA-17") {
		t.Errorf("pruned message page: notice %q, ERR summary %q", notice, summary)
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#resend").length`)); err != nil || n != 0 {
		t.Errorf("a pruned message offers %d resend buttons (%v)", n, err)
	}
}
