package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/mllp"
	"github.com/iisproject/iis/soap"
)

// TestCoverageInBrowser walks the coverage report in headless Chromium
// against a real iisd and PostgreSQL: after VXUs over MLLP for three
// children 28 months old (one with HepB #3 given at 23 weeks), a vaccine
// coordinator runs her clinic's AFIX report, sees the rate, opens the
// HepB drill-down and reads that child's reason, and is refused another
// clinic's report, runs it in the background and sees its result; program
// staff run the statewide report and see her run in the list.
func TestCoverageInBrowser(t *testing.T) {
	exe := chromium(t)
	s := startTest(t, nil)
	ctx := context.Background()
	acc := s.accounts
	const password = "correct-horse-battery-9"
	hash, err := soap.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	org := func(o accounts.Organization) int64 {
		id, err := acc.CreateOrganization(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	program := org(accounts.Organization{Kind: accounts.Program, Name: "Connecticut Immunization Program"})
	riverside := org(accounts.Organization{Kind: accounts.Clinic, Name: "Riverside Pediatrics", Town: "Hartford", FacilityID: "RIVERSIDE"})
	org(accounts.Organization{Kind: accounts.Clinic, Name: "Hilltop Family Practice", Town: "Bristol", FacilityID: "HILLTOP"})
	secrets := map[string]string{}
	for _, u := range []accounts.NewUser{
		{Username: "vic", FullName: "Vic Coordinator", OrgID: riverside, Role: accounts.VaccineCoordinator, Coordinator: accounts.Primary},
		{Username: "pia", FullName: "Pia Staff", OrgID: program, Role: accounts.ProgramStaff},
	} {
		u.Email, u.PasswordHash = u.Username+"@example.org", hash
		id, err := acc.CreateUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if u.Role.TOTPRequired() {
			usr, _ := acc.User(ctx, id)
			e, err := acc.BeginTOTP(ctx, usr)
			if err != nil {
				t.Fatal(err)
			}
			code, _ := totp.GenerateCode(e.Secret, time.Now())
			if err := acc.ConfirmTOTP(ctx, usr, code, "127.0.0.1"); err != nil {
				t.Fatal(err)
			}
			secrets[u.Username] = e.Secret
		}
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
	mc, err := mllp.Dial(ctx, s.mllpLn.Addr().String(), &mllp.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	for _, m := range [][]byte{
		homeVXU("RIVERSIDE", "CV-1", "CV1", "Ada", "Avery", dob.Format("20060102"), routine(183)...),
		homeVXU("RIVERSIDE", "CV-2", "CV2", "Eve", "Ellison", dob.Format("20060102"), routine(161)...),
		homeVXU("HILLTOP", "CV-3", "CV3", "Hal", "Hughes", dob.Format("20060102"), routine(183)...),
	} {
		reply, err := mc.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if ack, err := hl7.Parse(reply); err != nil || !ack.Get("MSA-1").Equal("AA") {
			t.Fatalf("VXU not accepted: %q", reply)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		s.store.Pool().QueryRow(ctx, `SELECT count(DISTINCT patient_id) FROM vaccination_events`).Scan(&n)
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the VXUs never reached the registry")
		}
	}

	base := "http://" + s.httpLn.Addr().String()
	alloc, cancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"), chromedp.WindowSize(1400, 1000))...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()
	type step = chromedp.Action[chromedp.Void]
	run := func(what string, steps ...step) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			loc, _ := chromedp.Run(bctx, chromedp.Location())
			body, _ := chromedp.Run(bctx, chromedp.Text("body"))
			t.Fatalf("%s: %v (at %s: %.600s)", what, err, loc, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	signIn := func(user string) {
		t.Helper()
		run("sign in "+user, chromedp.Navigate(base+"/signin"), chromedp.WaitVisible("#username"),
			chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", password), chromedp.Click("#signin"))
		if secret := secrets[user]; secret != "" {
			code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
			run("second factor", chromedp.WaitVisible("#code"), chromedp.SendKeys("#code", code), chromedp.Click("#verify"))
		}
		run("home of "+user, chromedp.WaitVisible("#whoami"))
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
	bars, err := chromedp.Run(bctx, chromedp.TextContent("#bars"))
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
	var audited int
	s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'coverage-report' AND actor IN ('user:vic', 'user:pia')`).Scan(&audited)
	if audited < 3 {
		t.Errorf("%d coverage-report audit rows", audited)
	}
}
