package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/accounts"
)

// TestFHIRClientsInBrowser walks the FHIR client pages in headless
// Chromium against a real iisd and PostgreSQL: program staff open "FHIR
// clients", are refused a client whose key set is not JSON, register a
// clinic's EHR with its public keys; the EHR then gets an access token
// for its scopes (and no more), and reads its facility's Group; staff
// disable it, and its token and new assertions are refused; a clinic user
// may not open the page.
func TestFHIRClientsInBrowser(t *testing.T) {
	exe := chromium(t)
	s := startTest(t, func(c *Config) { c.FHIRBulk = true })
	base := "http://" + s.httpLn.Addr().String()
	people := newJourneyPeople(t, s.accounts)
	program := people.org(accounts.Organization{Kind: accounts.Program, Name: "Connecticut Immunization Program"})
	riverside := people.org(accounts.Organization{Kind: accounts.Clinic, Name: "Riverside Pediatrics", Town: "Hartford", FacilityID: "RIVERSIDE"})
	people.user(accounts.NewUser{Username: "pia", FullName: "Pia Staff", OrgID: program, Role: accounts.ProgramStaff})
	people.user(accounts.NewUser{Username: "cal", FullName: "Cal Clinic", OrgID: riverside, Role: accounts.ClinicUser})
	ehr := newBackendClient(t, base, "riverside-ehr")

	b := newBrowser(t, exe, browserConfig{Width: 1300, Height: 1000, Lang: "en-US", Timeout: 2 * time.Minute})
	run, text := b.run, b.text
	people.signIn(b, base, "pia")
	run("clients page", chromedp.Click("#nav-fhir-clients"), chromedp.WaitVisible("#clients"))
	if list := text("#clients"); !strings.Contains(list, "No client is registered yet") {
		t.Errorf("empty list: %q", list)
	}
	fill := func(jwks string, then step) []step {
		return []step{
			chromedp.SetValue("#c-id", ehr.id), chromedp.SetValue("#c-name", "Riverside EHR"),
			chromedp.SetValue("#c-facility", "RIVERSIDE"),
			chromedp.SetValue("#c-scopes", "system/Patient.rs system/Immunization.rs system/Group.cruds"),
			chromedp.SetValue("#c-jwks", jwks), chromedp.Click("#c-register"), then,
		}
	}
	run("a key set that is not JSON", fill("my key", chromedp.WaitVisible("#error"))...)
	if msg := text("#error"); !strings.Contains(msg, "JWK Set") {
		t.Errorf("bad key set: %q", msg)
	}
	run("register", fill(ehr.jwks(), chromedp.WaitVisible(`tr[data-client="riverside-ehr"]`))...)
	if row := text(`tr[data-client="riverside-ehr"]`); !strings.Contains(row, "RIVERSIDE") || !strings.Contains(row, "Enabled") ||
		!strings.Contains(row, "system/Group.cruds") {
		t.Errorf("registered client: %q", row)
	}
	b.shot("fhir-clients")

	// The EHR gets a token: the scopes asked for that it is allowed.
	status, token := ehr.token("system/Patient.rs system/Group.rs system/Observation.rs")
	if status != 200 || token == "" {
		t.Fatalf("token: %d", status)
	}
	if status, _, body := ehr.do(token, "GET", "/fhir/Group/facility-RIVERSIDE", ""); status != 200 || !strings.Contains(body, `"resourceType":"Group"`) {
		t.Fatalf("own facility's Group: %d %s", status, body)
	}
	if status, _, _ := ehr.do(token, "GET", "/fhir/Group/facility-HILLTOP", ""); status != 403 {
		t.Errorf("another facility's Group: %d, want 403", status)
	}

	run("disable", chromedp.Click(`tr[data-client="riverside-ehr"] button.disable`), chromedp.WaitVisible(`tr[data-client="riverside-ehr"] button.enable`))
	if row := text(`tr[data-client="riverside-ehr"] td.status`); row != "Disabled" {
		t.Errorf("status after disabling: %q", row)
	}
	if status, _, body := ehr.do(token, "GET", "/fhir/Group/facility-RIVERSIDE", ""); status != 401 || !strings.Contains(body, "OperationOutcome") {
		t.Errorf("disabled client's token: %d %s", status, body)
	}
	if status, _ := ehr.token("system/Patient.rs"); status != 401 {
		t.Errorf("disabled client asks for a token: %d, want 401", status)
	}
	var audited int
	s.store.Pool().QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE actor = 'user:pia' AND action IN ('fhir-client-register', 'fhir-client-disable')`).Scan(&audited)
	if audited != 2 {
		t.Errorf("%d audit rows for pia's actions, want 2", audited)
	}
	run("sign out", chromedp.Click("#signout"), chromedp.WaitVisible("#username"))

	people.signIn(b, base, "cal")
	run("clinic user refused", chromedp.Navigate(base+"/admin/fhir-clients"), chromedp.WaitVisible("#error"))
	if msg := text("#error"); !strings.Contains(msg, "may not open this page") {
		t.Errorf("clinic user: %q", msg)
	}
}
