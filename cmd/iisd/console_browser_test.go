package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/soap"
	"github.com/iisproject/iis/synth"
)

// TestConsoleInBrowser is the integration engineer's path through the
// console in headless Chromium: sign in on the people's sign-in page, find a rejected message by MSH-10,
// open it and read its ERR rows, fix the facility's settings, resend the
// message and see it accepted and stored, and watch the live counters move.
// Screenshots of each step are saved as test artifacts (go test -artifacts).
func TestConsoleInBrowser(t *testing.T) {
	exe := chromium(t)
	hash, err := soap.HashPassword("onboard-2026")
	if err != nil {
		t.Fatal(err)
	}
	s := startTest(t, func(c *Config) {
		c.ProcessingIDs = []string{"P"} // the registry takes production traffic only
		c.ConsoleUsers = []ConsoleUser{{Username: "ana", PasswordHash: hash, Role: "engineer"}}
	})
	ctx := context.Background()
	send := func(msg []byte) string {
		t.Helper()
		return sendMLLP(t, s, msg).Get("MSA-1").String()
	}
	// A clinic being onboarded sends its first message flagged T (testing).
	gen := synth.New(synth.Config{Seed: 11, MalformedRate: -1, ResendRate: -1, OtherRate: -1})
	first := gen.Next()
	onboarding := strings.Replace(string(first.Body), "|"+first.ControlID+"|P|", "|ONBOARD-0001|T|", 1)
	onboarding = strings.Replace(onboarding, "|"+first.Facility+"|", "|NEWCLINIC|", 1)
	if !strings.Contains(onboarding, "|ONBOARD-0001|T|") || !strings.Contains(onboarding, "|NEWCLINIC|") {
		t.Fatalf("could not rewrite the synthetic message's MSH: %q", first.Body[:200])
	}
	if got := send([]byte(onboarding)); got != "AR" {
		t.Fatalf("message with MSH-11 T answered %s, want AR", got)
	}
	for _, m := range gen.Take(5) {
		send(m.Body)
	}
	// The worker stores the rejected message asynchronously: wait for it,
	// or a loaded machine searches before it is there.
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		var n int
		if err := s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM source_reports WHERE control_id = 'ONBOARD-0001'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatal("the rejected message never reached the message store")
		}
	}

	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Width: 1400, Height: 1000, Timeout: 3 * time.Minute})
	bctx, dir, run, text, shot, waitURL := b.ctx, b.dir, b.run, b.text, b.shot, b.waitURL

	// Sign in: the console sends an anonymous visitor to the people's
	// sign-in page, where ana (a console_users engineer, imported as an
	// integration engineer: no second factor) signs in and lands back in
	// the console.
	run("sign in",
		chromedp.Navigate(base+"/console/messages"),
		chromedp.WaitVisible("#username"),
		waitURL("/signin?next="+url.QueryEscape("/console/messages")),
		chromedp.SendKeys("#username", "ana"),
		chromedp.SendKeys("#password", "onboard-2026"),
		chromedp.Click("#signin"),
		chromedp.WaitVisible("#f-control"),
		shot("1-signed-in"),
	)
	if who := text("#whoami"); who != "ana (engineer)" {
		t.Errorf("signed in as %q", who)
	}
	if loc, _ := chromedp.Run(bctx, chromedp.Location()); loc != base+"/console/messages" {
		t.Errorf("after sign-in at %s, want the console page asked for", loc)
	}

	// Find the rejected message by its MSH-10 and open it.
	link := `//table[@id="messages"]//a[text()="ONBOARD-0001"]`
	run("find the message",
		chromedp.SendKeys("#f-control", "ONBOARD-0001"),
		chromedp.Click("#search"),
		waitURL("control_id=ONBOARD-0001"),
		chromedp.WaitVisible(link),
		shot("2-search"),
	)
	if listed := text("#messages"); !strings.Contains(listed, "NEWCLINIC") || !strings.Contains(listed, "AR") {
		t.Errorf("search result: %q", listed)
	}
	run("open the message", chromedp.Click(link), chromedp.WaitVisible("#err-rows"), shot("3-rejected-message"))
	errRows, ackCode := text("#err-rows"), text("#ack-code")
	if ackCode != "AR" || !strings.Contains(errRows, "MSH-11") || !strings.Contains(errRows, "202") {
		t.Fatalf("message page: ACK %q, ERR rows %q", ackCode, errRows)
	}
	msgURL, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}

	// Fix the facility's configuration: NEWCLINIC may send T while onboarding.
	run("facility settings",
		chromedp.Navigate(base+"/console/facilities?facility="+url.QueryEscape("NEWCLINIC")),
		chromedp.WaitVisible("#facility-form"),
		chromedp.Click("#s-proc-default"),
		chromedp.Click("#s-proc-P"),
		chromedp.Click("#s-proc-T"),
		chromedp.Click("#s-save"),
		chromedp.WaitVisible("#flash"),
		shot("4-facility-fixed"),
	)
	if table := text("#facilities"); !strings.Contains(table, "NEWCLINIC") || !strings.Contains(table, "P, T") {
		t.Fatalf("facility table after saving: %q", table)
	}

	// While it onboards, make one data quality detection an error for it
	// (VFC eligibility past its age limit, MQE0227).
	run("detection severity",
		chromedp.Navigate(base+"/console/facilities?facility="+url.QueryEscape("NEWCLINIC")),
		chromedp.WaitVisible("#severity-form"),
		chromedp.SetValue("#sev-detection", "MQE0227"),
		chromedp.SetValue("#sev-severity", "E"),
		chromedp.Click("#sev-save"),
		chromedp.WaitVisible("#flash"),
		shot("4b-detection-severity"),
	)
	if row := strings.TrimSpace(text("#sev-MQE0227")); !strings.HasSuffix(row, "E") {
		t.Fatalf("severity row after saving: %q", row)
	}

	// Resend it: now accepted, and the worker stores it.
	run("resend", chromedp.Navigate(msgURL), chromedp.WaitVisible("#resend"), chromedp.Click("#resend"), chromedp.WaitVisible("#flash"))
	if flash := text("#flash"); !strings.Contains(flash, "answered AA") {
		t.Fatalf("after resend: %q", flash)
	}
	var outcome string
	deadline := time.Now().Add(60 * time.Second)
	for {
		run("reload", chromedp.Navigate(msgURL), chromedp.WaitVisible("#ack-code"))
		ackCode, outcome = text("#ack-code"), text("#outcome")
		if ackCode == "AA" && strings.Contains(outcome, "patient #") || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	run("stored", shot("5-resent-and-stored"))
	if ackCode != "AA" || !strings.Contains(outcome, "patient #") {
		t.Fatalf("after resend the message shows ACK %q, registry %q", ackCode, outcome)
	}
	if audit := text("#audit"); !strings.Contains(audit, "resend") || !strings.Contains(audit, "console:ana") {
		t.Errorf("audit trail does not show the resend: %q", audit)
	}
	// The patient it created, with who saw the record.
	run("patient", chromedp.Click(`//td[@id="outcome"]/a`), chromedp.WaitVisible("#access"), shot("5b-patient"))
	if events, access := text("#events"), text("#access"); !strings.Contains(events, "-") || !strings.Contains(access, "console-view") {
		t.Errorf("patient page: events %q, access %q", events, access)
	}

	// A clinic's query and the registry's answer, side by side: the IG
	// example child is reported, then asked for over SOAP (Z44).
	if got := send(readSample(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")); got != "AA" {
		t.Fatalf("IG example VXU answered %s", got)
	}
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		var n int
		s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM patient_identifiers WHERE value = '432155'`).Scan(&n)
		if n > 0 {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatal("the IG example child was never stored")
		}
	}
	sc := &soap.Client{URL: base + "/soap", Username: "clinic", Password: "s3cret", FacilityID: "CLINIC1"}
	if reply, err := sc.SubmitSingleMessage(ctx, queryMsg("QBP-BROWSER-1")); err != nil || !strings.Contains(string(reply), "|Z42^") {
		t.Fatalf("query over SOAP: %q %v", reply, err)
	}
	queryLink := `//table[@id="messages"]//a[text()="QBP-BROWSER-1"]`
	var listed string
	for start := time.Now(); ; time.Sleep(300 * time.Millisecond) {
		run("queries", chromedp.Navigate(base+"/console/messages?type=QBP"), chromedp.WaitVisible("#messages"))
		if listed = text("#messages"); strings.Contains(listed, "QBP-BROWSER-1") || time.Since(start) > time.Minute {
			break
		}
	}
	if !strings.Contains(listed, "QBP-BROWSER-1") || !strings.Contains(listed, "Z42") || strings.Contains(listed, "ONBOARD-0001") {
		t.Fatalf("messages of type QBP: %q", listed)
	}
	run("open the query", shot("7-queries"), chromedp.Click(queryLink), chromedp.WaitVisible("#exchange.side-by-side"), shot("8-query-and-answer"))
	if qbp, rsp, outcome := text("#hl7"), text("#ack"), text("#query-outcome"); !strings.Contains(qbp, "QPD") ||
		!strings.Contains(rsp, "QAK") || !strings.Contains(rsp, "RXA") || outcome != "Z42" {
		t.Errorf("query page: QBP %.200q, RSP %.200q, outcome %q", qbp, rsp, outcome)
	}

	// The live view's counters move as messages arrive.
	poll := func(expr string) step {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
			return err
		})
	}
	run("live", chromedp.Navigate(base+"/console/live"), chromedp.WaitVisible("#total-messages"),
		poll(`document.getElementById("total-messages").textContent !== "–"`))
	before := text("#total-messages")
	for _, m := range gen.Take(25) {
		send(m.Body)
	}
	run("live moves",
		poll(fmt.Sprintf(`document.getElementById("total-messages").textContent !== %q`, before)),
		chromedp.Sleep(2500*time.Millisecond), // one more sample, so the charts have a slope
		shot("6-live"),
	)
	after := text("#total-messages")
	if before == after {
		t.Errorf("live counter did not move: %s -> %s", before, after)
	}
	t.Logf("screenshots in %s; live messages %s -> %s", dir, before, after)
}
