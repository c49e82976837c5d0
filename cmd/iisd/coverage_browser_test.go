package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/accounts"
)

// TestCoverageInBrowser walks the coverage report in headless Chromium
// against a real iisd and PostgreSQL: after VXUs over MLLP for three
// children 28 months old (one with HepB #3 given at 23 weeks), a vaccine
// coordinator runs her clinic's AFIX report, sees the rate, opens the
// HepB drill-down and reads that child's reason, and is refused another
// clinic's report, runs it in the background and sees its result and the
// stored drill-down; program staff run the statewide report (on screen
// and in the background, with its drill-down) and see her run in the
// list.
func TestCoverageInBrowser(t *testing.T) {
	exe := chromium(t)
	s := startTest(t, nil)
	ctx := context.Background()
	acc := s.accounts
	people := newJourneyPeople(t, acc)
	org := people.org
	program := org(accounts.Organization{Kind: accounts.Program, Name: "Connecticut Immunization Program"})
	riverside := org(accounts.Organization{Kind: accounts.Clinic, Name: "Riverside Pediatrics", Town: "Hartford", FacilityID: "RIVERSIDE"})
	org(accounts.Organization{Kind: accounts.Clinic, Name: "Hilltop Family Practice", Town: "Bristol", FacilityID: "HILLTOP"})
	for _, u := range []accounts.NewUser{
		{Username: "vic", FullName: "Vic Coordinator", OrgID: riverside, Role: accounts.VaccineCoordinator, Coordinator: accounts.Primary},
		{Username: "pia", FullName: "Pia Staff", OrgID: program, Role: accounts.ProgramStaff},
	} {
		people.user(u)
	}

	// Three children 28 months old on the routine schedule; Eve's HepB #3
	// at 23 weeks (161 days) is too young: not up to date.
	dob := time.Now().UTC().AddDate(0, -28, 0)
	d := func(days int) string { return dob.AddDate(0, 0, days).Format("20060102") }
	routine := func(hepB3 int) []string {
		return []string{"08:" + d(0), "08:" + d(30), "08:" + d(hepB3),
			"20:" + d(61), "20:" + d(122), "20:" + d(183), "20:" + d(457),
			"10:" + d(61), "10:" + d(122), "10:" + d(183),
			"48:" + d(61), "48:" + d(122), "48:" + d(183), "48:" + d(370),
			"133:" + d(61), "133:" + d(122), "133:" + d(183), "133:" + d(370),
			"03:" + d(370), "21:" + d(370)}
	}
	reportAccepted(t, s, 3,
		homeVXU("RIVERSIDE", "CV-1", "CV1", "Ada", "Avery", dob.Format("20060102"), routine(183)...),
		homeVXU("RIVERSIDE", "CV-2", "CV2", "Eve", "Ellison", dob.Format("20060102"), routine(161)...),
		homeVXU("HILLTOP", "CV-3", "CV3", "Hal", "Hughes", dob.Format("20060102"), routine(183)...),
	)

	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Width: 1400, Height: 1000, Lang: "en-US", Timeout: 3 * time.Minute})
	run, text := b.run, b.text
	signIn := func(user string) {
		t.Helper()
		people.signIn(b, base, user)
	}
	signOut := func() { run("sign out", chromedp.Click("#signout"), chromedp.WaitVisible("#username")) }

	// The coordinator runs her clinic's report from the navigation.
	signIn("vic")
	run("coverage form", chromedp.Click("#nav-coverage"), chromedp.WaitVisible("#run"), chromedp.Click("#run"), chromedp.WaitVisible("#figures"))
	if sum := text("#summary"); !strings.Contains(sum, "2 children at RIVERSIDE") {
		t.Errorf("summary: %q", sum)
	}
	if rate := text(`td.rate[data-measure="HepB"]`); rate != "50.0%" {
		t.Errorf("HepB rate %q, want 50.0%%", rate)
	}
	run("charts", chromedp.WaitVisible("#bars"), chromedp.WaitVisible("#trend"))
	run("drill down", chromedp.Click(`a.drill[data-measure="HepB"]`), chromedp.WaitVisible("#children"))
	if list := text("#children"); !strings.Contains(list, "Ellison, Eve") || !strings.Contains(list, "dose 4 of HepB 4-dose series is due") ||
		strings.Contains(list, "Avery") {
		t.Errorf("drill-down: %q", list)
	}
	// She runs it in the background: the run's page refreshes itself
	// until the result is there to download.
	run("report runs", chromedp.Navigate(base+"/coverage"), chromedp.Click("#report-runs"), chromedp.WaitVisible("#start"),
		chromedp.Click("#start"), chromedp.WaitVisible("#status"), chromedp.WaitVisible("#csv"))
	if sum := text("#summary"); !strings.Contains(sum, "2 children") {
		t.Errorf("run's summary: %q", sum)
	}
	if v := text("#data-version"); !strings.HasPrefix(v, "source report ") {
		t.Errorf("data version: %q", v)
	}
	// The stored run keeps its drill-down: Eve, and why.
	run("the run's drill-down", chromedp.Click(`a[data-measure="HepB"]`), chromedp.WaitVisible("#children-table"))
	if list := text("#children-table"); !strings.Contains(list, "Ellison, Eve") || !strings.Contains(list, "dose 4 of HepB 4-dose series is due") ||
		strings.Contains(list, "Avery") {
		t.Errorf("stored drill-down: %q", list)
	}
	run("another clinic", chromedp.Navigate(base+"/coverage?run=1&clinic=HILLTOP"), chromedp.WaitVisible("#error"))
	if msg := text("#error"); !strings.Contains(msg, "your own clinic only") {
		t.Errorf("another clinic's report: %q", msg)
	}
	signOut()

	// Program staff run the statewide report.
	signIn("pia")
	run("statewide", chromedp.Navigate(base+"/coverage"), chromedp.WaitVisible("#run"), chromedp.Click("#run"), chromedp.WaitVisible("#figures"))
	if sum := text("#summary"); !strings.Contains(sum, "3 children statewide") {
		t.Errorf("statewide summary: %q", sum)
	}
	if rate := text(`td.rate[data-measure="4:3:1:3:3:1:4"]`); rate != "66.7%" {
		t.Errorf("statewide series rate %q, want 66.7%%", rate)
	}
	bars, err := chromedp.Run(b.ctx, chromedp.TextContent("#bars"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bars, "Hilltop Family Practice") || !strings.Contains(bars, "Riverside Pediatrics") {
		t.Errorf("bar chart: %q", bars)
	}
	run("runs listed for program staff", chromedp.Navigate(base+"/reports"), chromedp.WaitVisible("#runs"))
	if runs := text("#runs"); !strings.Contains(runs, "clinic RIVERSIDE") || !strings.Contains(runs, "user:vic") {
		t.Errorf("runs: %q", runs)
	}
	// And the statewide report in the background, with its drill-down.
	run("statewide in the background", chromedp.Click("#start"), chromedp.WaitVisible("#status"), chromedp.WaitVisible("#csv"))
	if sum := text("#summary"); !strings.Contains(sum, "3 children") {
		t.Errorf("statewide run's summary: %q", sum)
	}
	run("statewide drill-down", chromedp.Click(`a[data-measure="4:3:1:3:3:1:4"]`), chromedp.WaitVisible("#children-table"))
	if list := text("#children-table"); !strings.Contains(list, "Ellison, Eve") || strings.Contains(list, "Hughes") {
		t.Errorf("statewide stored drill-down: %q", list)
	}
	var audited int
	s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'coverage-report' AND actor IN ('user:vic', 'user:pia')`).Scan(&audited)
	if audited < 3 {
		t.Errorf("%d coverage-report audit rows", audited)
	}
}
