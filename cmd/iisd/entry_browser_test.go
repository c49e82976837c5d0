package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/mllp"
	"github.com/iisproject/iis/soap"
)

// TestDataEntryInBrowser is a clinic user's direct data entry in headless
// Chromium against a real iisd: sign in, register a patient, record the
// dose given today; the clinic's EHR then reports the same dose over
// MLLP and the registry holds one vaccination event from both reports;
// the user corrects the dose's lot, then deletes it (the EHR's report
// stays); an entry the rules refuse (a date in the future) comes back with
// the validator's message beside the date field.
func TestDataEntryInBrowser(t *testing.T) {
	exe := chromium(t)
	s := startTest(t, nil)
	ctx := context.Background()
	pool := s.store.Pool()

	const facility = "ELMPEDS"
	hash, err := soap.HashPassword("entry-2026!")
	if err != nil {
		t.Fatal(err)
	}
	orgID, err := s.accounts.CreateOrganization(ctx, accounts.Organization{Kind: accounts.Clinic, Name: "Elm Street Pediatrics", Town: "Hartford", FacilityID: facility})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.accounts.CreateUser(ctx, accounts.NewUser{Username: "nora@elmpeds.example", FullName: "Nora Reyes",
		Email: "nora@elmpeds.example", OrgID: orgID, Role: accounts.ClinicUser, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	birth := now.AddDate(0, -6, -3)
	given := now.AddDate(0, 0, -1)
	iso := func(t time.Time) string { return t.Format(time.DateOnly) }

	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Width: 1200, Height: 1000})
	bctx, dir, run, text, shot := b.ctx, b.dir, b.run, b.text, b.shot
	fill := func(kv ...string) []step {
		var out []step
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, chromedp.SetValue("#f-"+kv[i], kv[i+1]))
		}
		return out
	}

	// Sign in (no second factor for clinic roles) and land on the form.
	run("sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", "nora@elmpeds.example"),
		chromedp.SendKeys("#password", "entry-2026!"),
		chromedp.Click("#signin"),
		chromedp.WaitVisible(`header nav a[href="/patients/new"]`),
		chromedp.Click(`header nav a[href="/patients/new"]`),
		chromedp.WaitVisible("#patient-form"),
	)

	started := time.Now()
	// Register the patient; the page waits for the worker, then shows the
	// patient's dose page (or a "being processed" page that refreshes).
	run("register", append(fill("family", "Quinlan", "given", "Maeve", "middle", "Rose", "birth_date", iso(birth), "sex", "F",
		"mother_family", "Okafor", "mother_given", "Adaeze", "mrn", "ELM-4471", "street", "12 Elm St", "city", "Hartford",
		"state", "CT", "zip", "06105", "phone", "860-555-0142", "guardian_family", "Quinlan", "guardian_given", "Adaeze",
		"guardian_relationship", "MTH"),
		shot("1-register"), chromedp.Click("#f-submit"), chromedp.WaitVisible("#patient-id"), shot("2-registered"))...)
	if f := text("#flash"); !strings.Contains(f, "registered") && !strings.Contains(f, "stored") {
		t.Errorf("after registering: %q", f)
	}
	registered := time.Since(started)
	var pid int64
	fmt.Sscan(text("#patient-id"), &pid)
	if name := text("#patient-name"); pid == 0 || !strings.Contains(name, "Maeve") {
		t.Fatalf("registered patient %d %q", pid, name)
	}

	// Record the dose given yesterday.
	started = time.Now()
	run("record", append(fill("cvx", "20", "date", iso(given), "lot", "JRN-LOT1", "mvx", "SKB", "expiration", iso(now.AddDate(1, 0, 0)),
		"site", "LT", "route", "C28161", "amount", "0.5", "vis_document", "253088698300003511210806", "vis_date", iso(given),
		"eligibility", "V02", "funding_source", "VXC1", "clinician_family", "Lindqvist", "clinician_given", "Petra", "clinician_id", "1234567893"),
		chromedp.Click("#f-submit"), chromedp.WaitVisible("#clinic-doses"), shot("3-dose-recorded"))...)
	if f, doses := text("#flash"), text("#clinic-doses"); !strings.Contains(f, "Dose saved") || !strings.Contains(doses, "JRN-LOT1") {
		t.Fatalf("after recording: flash %q, doses %q", f, doses)
	}
	t.Logf("form filled and sent to the patient's page, stored: registration %v, dose %v", registered.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))

	// The clinic's EHR reports the same dose (its own ORC-3) over MLLP.
	vxu := strings.Join([]string{
		"MSH|^~\\&|ElmEHR|" + facility + "|IIS|IIS|" + now.Format("20060102150405") + "||VXU^V04^VXU_V04|EHR-000778|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS",
		"PID|1||ELM-4471^^^" + facility + "^MR||Quinlan^Maeve^Rose^^^^L|Okafor^Adaeze^^^^^M|" + birth.Format("20060102") + "|F|||12 Elm St^^Hartford^CT^06105^USA^L",
		"ORC|RE||EHR-778^" + facility,
		"RXA|0|1|" + given.Format("20060102") + "||20^DTaP^CVX|0.5|mL^milliliter^UCUM||00^New immunization record^NIP001|||||||JRN-LOT1||SKB^GlaxoSmithKline^MVX|||CP|A",
		"RXR|C28161^Intramuscular^NCIT|LT^Left Thigh^HL70163",
		"OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V02^VFC eligible - Medicaid/Medicaid Managed Care^HL70064||||||F|||" + given.Format("20060102") + "|||VXC40^Eligibility captured at the immunization level^CDCPHINVS",
	}, "\r") + "\r"
	mc, err := mllp.Dial(ctx, s.mllpLn.Addr().String(), &mllp.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	reply, err := mc.Send(ctx, []byte(vxu))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := hl7.Parse(reply); err != nil || m.Get("MSA-1").String() != "AA" {
		t.Fatalf("EHR's VXU answered %q", reply)
	}
	waitFor(t, "the EHR's report stored", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM source_reports WHERE control_id = 'EHR-000778' AND patient_id IS NOT NULL`).Scan(&n)
		return n == 1
	})
	events := func() [][2]int {
		t.Helper()
		rows, err := pool.Query(ctx, `SELECT count(*) OVER (), source_count FROM vaccination_events WHERE patient_id = $1`, pid)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out [][2]int
		for rows.Next() {
			var n, c int
			if err := rows.Scan(&n, &c); err != nil {
				t.Fatal(err)
			}
			out = append(out, [2]int{n, c})
		}
		return out
	}
	if ev := events(); len(ev) != 1 || ev[0][1] != 2 {
		t.Fatalf("events after the EHR's report: %v, want one event from 2 sources", ev)
	}

	// Correct the web-entered dose's lot: still one event of two sources.
	webDose := func() int64 {
		t.Helper()
		var id int64
		if err := pool.QueryRow(ctx, `SELECT v.id FROM source_vaccinations v JOIN source_reports r ON r.id = v.report_id
			WHERE v.patient_id = $1 AND r.transport = 'web' AND v.cvx = '20' AND v.consolidation IN ('winner', 'duplicate')`, pid).Scan(&id); err != nil {
			t.Fatalf("the web-entered dose: %v", err)
		}
		return id
	}
	editURL := fmt.Sprintf("%s/patients/%d/doses/%d/edit", base, pid, webDose())
	run("correct", chromedp.Navigate(editURL), chromedp.WaitVisible("#dose-form"), chromedp.SetValue("#f-lot", "JRN-LOT2"),
		chromedp.Click("#f-submit"), chromedp.WaitVisible("#flash"), shot("4-corrected"))
	if f, doses := text("#flash"), text("#clinic-doses"); !strings.Contains(f, "corrected") || !strings.Contains(doses, "JRN-LOT2") {
		t.Fatalf("after correcting: flash %q, doses %q", f, doses)
	}
	var lot string
	if err := pool.QueryRow(ctx, `SELECT lot FROM source_vaccinations WHERE id = $1`, webDose()).Scan(&lot); err != nil || lot != "JRN-LOT2" {
		t.Errorf("corrected dose's lot %q, %v", lot, err)
	}
	if ev := events(); len(ev) != 1 || ev[0][1] != 2 {
		t.Errorf("events after the correction: %v, want one event from 2 sources", ev)
	}

	// Delete it: the EHR's report remains, one event of one source.
	editURL = fmt.Sprintf("%s/patients/%d/doses/%d/edit", base, pid, webDose())
	run("delete", chromedp.Navigate(editURL), chromedp.WaitVisible("#f-delete"), chromedp.Click("#f-delete"),
		chromedp.WaitVisible("#flash"), shot("5-deleted"))
	if f := text("#flash"); !strings.Contains(f, "deleted") {
		t.Fatalf("after deleting: %q", f)
	}
	if ev := events(); len(ev) != 1 || ev[0][1] != 1 {
		t.Errorf("events after the delete: %v, want the EHR's alone", ev)
	}

	// A dose dated in the future: the validator's message beside the date.
	run("future dose", append([]step{chromedp.Navigate(fmt.Sprintf("%s/patients/%d/doses/new", base, pid)), chromedp.WaitVisible("#dose-form")},
		append(fill("cvx", "20", "date", iso(now.AddDate(0, 1, 0)), "lot", "JRN-LOT3", "mvx", "SKB", "amount", "0.5", "eligibility", "V02"),
			chromedp.Click("#f-submit"), chromedp.WaitVisible("#err-date"), shot("6-future-date"))...)...)
	if msg := text("#err-date"); !strings.Contains(msg, "is in the future") {
		t.Errorf("beside the date: %q", msg)
	}
	if v, err := chromedp.Run(bctx, chromedp.Value("#f-lot")); err != nil || v != "JRN-LOT3" {
		t.Errorf("the form lost what was typed: lot %q, %v", v, err)
	}
	// Another clinic's report of the patient: its dose is read-only here.
	other := strings.Join([]string{
		"MSH|^~\\&|OakEHR|OAKCLINIC|IIS|IIS|" + now.Format("20060102150405") + "||VXU^V04^VXU_V04|OAK-1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS",
		"PID|1||ELM-4471^^^" + facility + "^MR||Quinlan^Maeve^Rose^^^^L|Okafor^Adaeze^^^^^M|" + birth.Format("20060102") + "|F|||12 Elm St^^Hartford^CT^06105^USA^L",
		"ORC|RE||OAK-9^OAKCLINIC",
		"RXA|0|1|" + birth.AddDate(0, 0, 1).Format("20060102") + "||08^Hep B^CVX|999|||01^Historical^NIP001||||||||||||A",
	}, "\r") + "\r"
	if reply, err := mc.Send(ctx, []byte(other)); err != nil || !strings.Contains(string(reply), "MSA|AA|") {
		t.Fatalf("the other clinic's VXU: %q, %v", reply, err)
	}
	var otherDose int64
	waitFor(t, "the other clinic's report stored", func() bool {
		return pool.QueryRow(ctx, `SELECT id FROM source_vaccinations WHERE control_id = 'OAK-1' AND patient_id = $1`, pid).Scan(&otherDose) == nil
	})
	run("another clinic's dose", chromedp.Navigate(fmt.Sprintf("%s/patients/%d/doses/%d/edit", base, pid, otherDose)), chromedp.WaitVisible("#read-only"))
	if note := text("#read-only"); !strings.Contains(note, "another provider") {
		t.Errorf("another clinic's dose: %q", note)
	}

	// Each dose page shown is in the patient's accounting of disclosures.
	ds, err := s.store.Disclosures(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	shown := 0
	for _, d := range ds {
		if d.Facility == facility && strings.Contains(d.What, "data entry page") && strings.Contains(d.What, "user:nora@elmpeds.example") {
			shown++
		}
	}
	if shown < 6 {
		t.Errorf("%d data entry pages in the accounting of disclosures, want at least 6: %+v", shown, ds)
	}
	t.Logf("screenshots in %s", dir)
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatalf("%s: not within a minute", what)
		}
	}
}
