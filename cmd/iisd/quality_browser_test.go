package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/soap"
)

// TestQualityReportInBrowser is the onboarding engineer's path in headless
// Chromium: a clinic in test status sends VXUs (answered, kept in the
// message store, not written to the registry); the engineer opens its
// data quality report, follows a detection to the offending message, and
// moves the clinic to production, after which its VXUs reach the registry.
func TestQualityReportInBrowser(t *testing.T) {
	exe := chromium(t)
	hash, err := soap.HashPassword("onboard-2026")
	if err != nil {
		t.Fatal(err)
	}
	s := startTest(t, func(c *Config) {
		c.ConsoleUsers = []ConsoleUser{{Username: "ana", PasswordHash: hash, Role: "engineer"}}
	})
	ctx := context.Background()
	if _, err := s.onboard.Set(ctx, "ONBOARDCLINIC", facility.Test, "setup", "first messages"); err != nil {
		t.Fatal(err)
	}
	flu := strings.Replace(string(readSample(t, "vxu-nist-ad-2.1-adult-flu.hl7")), "|RI88140101|", "|ONBOARDCLINIC|", 1)
	vxu := func(control, site string) []byte {
		m := strings.Replace(flu, "|NIST-IZ-AD-2.1_Send_V04_Z22|", "|"+control+"|", 1)
		return []byte(strings.Replace(m, "|LD^Left Arm^HL70163", "|"+site, 1))
	}
	for _, m := range [][]byte{vxu("Q-GOOD-1", "LD^Left Arm^HL70163"), vxu("Q-BADSITE-1", "ZZ^Elbow^HL70163")} {
		if ack := sendMLLP(t, s, m).Get("MSA-1").String(); ack != "AA" && ack != "AE" {
			t.Fatalf("test-status VXU answered %s", ack)
		}
	}
	count := func(sql string) int {
		var n int
		if err := s.store.Pool().QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for start := time.Now(); count(`SELECT count(*) FROM source_reports WHERE facility = 'ONBOARDCLINIC'`) < 2; time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatal("the test-status messages never reached the message store")
		}
	}
	if n := count(`SELECT count(*) FROM patients`); n != 0 {
		t.Fatalf("%d patients written for a facility in test status", n)
	}

	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Width: 1400, Height: 1000, Timeout: 3 * time.Minute})
	b.signIn(base, "ana", "onboard-2026")
	row := `//table[@id="quality-facilities"]//a[text()="ONBOARDCLINIC"]`
	b.run("quality overview", chromedp.Navigate(base+"/console/quality"), chromedp.WaitVisible(row), b.shot("q1-overview"))
	b.run("open the report", chromedp.Click(row), chromedp.WaitVisible("#detections"), b.shot("q2-report"))
	if st, msgs := b.text("#status"), b.text("#messages"); st != "test" || msgs != "2" {
		t.Fatalf("report: status %q, messages %q", st, msgs)
	}
	detections := b.text("#detections")
	if !strings.Contains(detections, "RXR-2") || !strings.Contains(detections, "Q-BADSITE-1 RXR-2.1 sent ZZ") {
		t.Fatalf("detections do not show the bad site and what was sent: %q", detections)
	}
	if c := b.text("#completeness"); !strings.Contains(c, "Lot number (RXA-15)\t2\t100.0%") {
		t.Errorf("completeness: %q", c)
	}

	reportURL, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	// Follow the detection to the offending message.
	example := `//table[@id="detections"]//tr[contains(., "RXR-2")]//a[@class="example"]`
	b.run("follow the detection", chromedp.Click(example), chromedp.WaitVisible("#err-rows"), b.shot("q3-message"))
	if rows, hl7 := b.text("#err-rows"), b.text("#hl7"); !strings.Contains(rows, "RXR-2") || !strings.Contains(hl7, "Q-BADSITE-1") {
		t.Fatalf("message page: ERR rows %q", rows)
	}

	// Move the clinic to production.
	b.run("back to the report", chromedp.Navigate(reportURL), chromedp.WaitVisible("#status-form"))
	b.run("move to production",
		chromedp.SetValue("#status-select", "production"),
		chromedp.SendKeys("#status-note", "vendor fixed RXR-2"),
		chromedp.Click("#status-save"),
		chromedp.WaitVisible("#flash"),
		b.shot("q4-production"),
	)
	if st, hist := b.text("#status"), b.text("#status-history"); st != "production" || !strings.Contains(hist, "ana") ||
		!strings.Contains(hist, "vendor fixed RXR-2") {
		t.Fatalf("after the change: status %q, history %q", st, hist)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'facility-status' AND actor = 'console:ana'
		AND detail LIKE '%ONBOARDCLINIC: status test -> production%'`); n != 1 {
		t.Errorf("status change audited %d times, want 1", n)
	}
	// From now on its VXUs reach the registry.
	reportAccepted(t, s, 1, vxu("Q-PROD-1", "LD^Left Arm^HL70163"))
}
