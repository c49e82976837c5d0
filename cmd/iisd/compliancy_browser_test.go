package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/accounts"
)

// TestCompliancyInBrowser walks the compliancy lists in headless Chromium
// against a real iisd and PostgreSQL: after VXUs over MLLP for two
// children who turned 8 months last month (one without DTaP), a vaccine
// coordinator opens Compliancy from the navigation, makes her clinic's
// list, reads what is missing and follows the link to enter the doses;
// program staff map Hartford to an IAP area and make the outreach lists.
func TestCompliancyInBrowser(t *testing.T) {
	exe := chromium(t)
	s := startTest(t, nil)
	ctx := context.Background()
	acc := s.accounts
	people := newJourneyPeople(t, acc)
	org := people.org
	program := org(accounts.Organization{Kind: accounts.Program, Name: "Connecticut Immunization Program"})
	riverside := org(accounts.Organization{Kind: accounts.Clinic, Name: "Riverside Pediatrics", Town: "Hartford", FacilityID: "RIVERSIDE"})
	for _, u := range []accounts.NewUser{
		{Username: "vic", FullName: "Vic Coordinator", OrgID: riverside, Role: accounts.VaccineCoordinator, Coordinator: accounts.Primary},
		{Username: "pia", FullName: "Pia Staff", OrgID: program, Role: accounts.ProgramStaff},
	} {
		people.user(u)
	}

	// Two children who turned 8 months on the 15th of last month; Eve has
	// no DTaP.
	now := time.Now().UTC()
	last := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 14)
	dob := last.AddDate(0, -8, 0)
	d := func(days int) string { return dob.AddDate(0, 0, days).Format("20060102") }
	infant := func(dtap bool) []string {
		out := []string{"08:" + d(0), "08:" + d(31), "08:" + d(183)}
		for _, cvx := range []string{"20", "10", "48", "133", "116"} {
			if cvx == "20" && !dtap {
				continue
			}
			out = append(out, cvx+":"+d(59), cvx+":"+d(120), cvx+":"+d(183))
		}
		return out
	}
	reportAccepted(t, s, 2,
		homeVXU("RIVERSIDE", "CP-1", "CP1", "Ada", "Avery", dob.Format("20060102"), infant(true)...),
		homeVXU("RIVERSIDE", "CP-2", "CP2", "Eve", "Ellison", dob.Format("20060102"), infant(false)...),
	)

	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Width: 1400, Height: 1000, Lang: "en-US", Timeout: 3 * time.Minute})
	run, text := b.run, b.text
	signIn := func(user string) {
		t.Helper()
		people.signIn(b, base, user)
	}
	signOut := func() { run("sign out", chromedp.Click("#signout"), chromedp.WaitVisible("#username")) }

	// The coordinator makes last month's list and answers it.
	signIn("vic")
	run("compliancy form", chromedp.Click("#nav-compliancy"), chromedp.WaitVisible("#c-run"), chromedp.Click("#c-run"), chromedp.WaitVisible("#children"))
	if c := text("#considered"); !strings.Contains(c, "2 children turned 8 months") || !strings.Contains(c, "1 were not up to date") {
		t.Errorf("considered: %q", c)
	}
	if list := text("#children"); !strings.Contains(list, "Ellison, Eve") || !strings.Contains(list, "DTaP/Tdap/Td dose 1") || strings.Contains(list, "Avery") {
		t.Errorf("list: %q", list)
	}
	run("enter doses", chromedp.Click(`#children a[href$="/doses/new"]`), chromedp.WaitVisible("#patient-name"))
	if name := text("#patient-name"); !strings.Contains(name, "Eve") {
		t.Errorf("data entry for %q", name)
	}
	run("outreach refused", chromedp.Navigate(base+"/compliancy/outreach"), chromedp.WaitVisible("#error"))
	signOut()

	// Program staff map Hartford and make the outreach lists.
	signIn("pia")
	run("IAP map", chromedp.Navigate(base+"/compliancy/iap"), chromedp.WaitVisible("#i-town"),
		chromedp.SendKeys("#i-town", "Hartford"), chromedp.SendKeys("#i-area", "North Central"), chromedp.Click("#i-save"),
		chromedp.WaitVisible(`tr[data-town="hartford"]`))
	if m := text("#areas"); !strings.Contains(m, "North Central") {
		t.Errorf("map: %q", m)
	}
	run("outreach", chromedp.Navigate(base+"/compliancy/outreach"), chromedp.WaitVisible("#o-run"), chromedp.Click("#o-run"), chromedp.WaitVisible("section.area"))
	if a := text("section.area"); !strings.Contains(a, "North Central: 1 late") || !strings.Contains(a, "Ellison, Eve") {
		t.Errorf("outreach: %q", a)
	}
	var audited int
	s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'compliancy-report' AND actor IN ('user:vic', 'user:pia')`).Scan(&audited)
	if audited != 2 {
		t.Errorf("%d compliancy-report audit rows, want 2", audited)
	}
}
