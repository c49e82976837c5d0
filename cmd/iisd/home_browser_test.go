package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/soap"
)

// homeVXU is a VXU from facility fac for a synthetic child with doses
// "cvx:date" (RXA-3 dates), guardian and address.
func homeVXU(fac, ctl, mrn, given, family, dob string, doses ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|%s||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, time.Now().Format("20060102150405"), ctl)
	fmt.Fprintf(&b, "PID|1||%s^^^%s^MR||%s^%s^^^^^L|Smith^^^^^^M|%s|F|||1 Main St^^Hartford^CT^06101^USA^P\r", mrn, fac, family, given, dob)
	fmt.Fprintf(&b, "NK1|1|%s^Maria^^^^^L|MTH^Mother^HL70063\r", family)
	for i, d := range doses {
		cvx, date, _ := strings.Cut(d, ":")
		fmt.Fprintf(&b, "ORC|RE||%s-%d^%s\r", ctl, i+1, fac)
		fmt.Fprintf(&b, "RXA|0|1|%s||%s^vaccine^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||L%d||MSD^Merck^MVX|||CP|A\r", date, cvx, i)
	}
	return []byte(b.String())
}

// TestImmunizationHomeInBrowser walks the Immunization Home's journeys in
// headless Chromium against a real iisd and PostgreSQL:
//
//	(a) a clinic user finds a patient her clinic reported by VXU over MLLP,
//	    sees the Recommender and a dose's sources;
//	(b) a user of another clinic cannot open that record without a reason,
//	    and can after giving one (audited);
//	(c) a school nurse looks the child up, prints the certificate (the PDF's
//	    text checked with pdftotext when installed) and is refused the
//	    record;
//	(d) once the parent's opt-out is recorded the child disappears from a
//	    QBP answer (Z33, PD) and from the clinic's search, while program
//	    staff still find the child.
func TestImmunizationHomeInBrowser(t *testing.T) {
	exe := chromium(t)
	// The clinic queries over plain MLLP: a closed test set-up, so unauthenticated
	// queries are allowed here (TestQueryNeedsAuthentication covers the default).
	s := startTest(t, func(c *Config) { c.QueryAllowUnauthenticated = true })
	ctx := context.Background()
	acc := s.accounts

	// Organizations and their users (passwords set; program staff with an
	// authenticator app, as the program requires).
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
	hilltop := org(accounts.Organization{Kind: accounts.Clinic, Name: "Hilltop Family Practice", Town: "Bristol", FacilityID: "HILLTOP"})
	school := org(accounts.Organization{Kind: accounts.School, Name: "Lincoln Elementary", Town: "Hartford"})
	secrets := map[string]string{}
	for _, u := range []accounts.NewUser{
		{Username: "ann", FullName: "Ann Reyes", OrgID: riverside, Role: accounts.ClinicUser},
		{Username: "bob", FullName: "Bob Li", OrgID: hilltop, Role: accounts.ClinicUser},
		{Username: "nina", FullName: "Nina Park", OrgID: school, Role: accounts.SchoolNurse},
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

	// Riverside reports Ada over MLLP; Hilltop reports another child.
	send := func(msg []byte) *hl7.Message {
		t.Helper()
		return sendMLLP(t, s, msg)
	}
	dob := time.Now().AddDate(0, -7, 0)
	d := func(days int) string { return dob.AddDate(0, 0, days).Format("20060102") }
	for _, m := range [][]byte{
		homeVXU("RIVERSIDE", "RS-1", "RS77", "Ada", "Quennell", dob.Format("20060102"), "08:"+d(0), "20:"+d(62), "20:"+d(124)),
		homeVXU("HILLTOP", "HT-1", "HT12", "Ben", "Okafor", "20220704", "20:20220904"),
	} {
		if ack := send(m); !ack.Get("MSA-1").Equal("AA") {
			t.Fatalf("VXU not accepted: %q", ack.Bytes())
		}
	}
	var ada int64
	for deadline := time.Now().Add(30 * time.Second); ada == 0; time.Sleep(100 * time.Millisecond) {
		s.store.Pool().QueryRow(ctx, `SELECT patient_id FROM patient_identifiers WHERE value = 'RS77'`).Scan(&ada)
		if time.Now().After(deadline) {
			t.Fatal("Ada's VXU never reached the registry")
		}
	}
	adaPath := fmt.Sprintf("/patients/%d", ada)
	dobField := dob.Format("01022006") // what a date input takes as keys (en-US: month, day, year)

	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Width: 1400, Height: 1000, Lang: "en-US", Timeout: 5 * time.Minute})
	bctx, run, text, shot := b.ctx, b.run, b.text, b.shot
	signIn := func(user string) {
		t.Helper()
		b.signIn(base, user, password)
		if secret := secrets[user]; secret != "" {
			// The enrolment used the current step: the next one is new.
			code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
			run("second factor", chromedp.WaitVisible("#code"), chromedp.SendKeys("#code", code), chromedp.Click("#verify"))
		}
		run("home of "+user, chromedp.WaitVisible("#whoami"))
	}
	signOut := func() { run("sign out", chromedp.Click("#signout"), chromedp.WaitVisible("#username")) }
	search := func(family, given string) {
		t.Helper()
		run("search "+family, chromedp.Navigate(base+"/patients"), chromedp.WaitVisible("#family"),
			chromedp.SendKeys("#family", family), chromedp.SendKeys("#given", given), chromedp.SendKeys("#dob", dobField),
			chromedp.Click("#search"), chromedp.WaitVisible("#hits, #no-hits"))
	}
	// status fetches path with the browser's session and returns the
	// status and body (a PDF is not rendered by headless Chromium).
	fetch := func(path string) (int, []byte) {
		t.Helper()
		ck, err := chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", base+path, nil)
		for _, c := range ck.Cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	// (a) Ann finds Ada, reported by her clinic, with a typo in the name.
	signIn("ann")
	search("Quenell", "Ada")
	run("open Ada", shot("a1-search"), chromedp.Click(fmt.Sprintf("#open-%d", ada)), chromedp.WaitVisible("#recommender"), shot("a2-record"))
	if rec := text("#recommender"); !strings.Contains(rec, "DTaP/Tdap/Td") || !strings.Contains(rec, "HepB") {
		t.Errorf("Recommender: %s", rec)
	}
	if src := text("li.source"); !strings.Contains(src, "RIVERSIDE") || !strings.Contains(src, "VXU over MLLP") {
		t.Errorf("a dose's source: %q", src)
	}
	run("timeline", chromedp.WaitVisible("#timeline"))
	signOut()

	// (b) Bob, of another clinic, is refused Ada's record until he gives a
	// reason for it.
	signIn("bob")
	run("Ada without a reason", chromedp.Navigate(base+adaPath), chromedp.WaitVisible("#error"))
	if msg := text("#error"); !strings.Contains(msg, "not open to your organization") {
		t.Errorf("Bob's refusal: %q", msg)
	}
	search("Quennell", "Ada")
	run("give a reason", chromedp.WaitVisible(fmt.Sprintf("#reason-%d", ada)), shot("b1-reason"),
		chromedp.SendKeys(fmt.Sprintf("#reason-%d", ada), "new patient transferring in"),
		chromedp.Click(fmt.Sprintf("#give-reason-%d", ada)), chromedp.WaitVisible("#recommender"))
	var audited int
	s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'user:bob' AND action = 'search-reason' AND patient_id = $1`, ada).Scan(&audited)
	if audited != 1 {
		t.Errorf("%d search-reason audit rows for Bob, want 1", audited)
	}
	signOut()

	// (c) Nina, a school nurse, looks Ada up and prints her certificate;
	// the record itself is refused.
	signIn("nina")
	run("nurse lookup", chromedp.Navigate(base+"/certificates"), chromedp.WaitVisible("#family"),
		chromedp.SendKeys("#family", "Quennell"), chromedp.SendKeys("#given", "Ada"), chromedp.SendKeys("#dob", dobField),
		chromedp.Click("#lookup"), chromedp.WaitVisible(fmt.Sprintf("#certificate-%d", ada)),
		chromedp.Click(fmt.Sprintf("#certificate-%d", ada)), chromedp.WaitVisible("#print-certificate"), shot("c1-certificate"))
	code, pdf := fetch(fmt.Sprintf("/certificates/%d/pdf", ada))
	if code != 200 || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("certificate: %d %.40q", code, pdf)
	}
	if p, err := exec.LookPath("pdftotext"); err == nil {
		f := filepath.Join(t.TempDir(), "cert.pdf")
		os.WriteFile(f, pdf, 0o644)
		out, err := exec.Command(p, "-layout", f, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Quennell", "Ada", "Lincoln Elementary", "Nina Park", dob.Format("01/02/2006")} {
			if !strings.Contains(string(out), want) {
				t.Errorf("certificate text lacks %q:\n%s", want, out)
			}
		}
	} else {
		t.Log("pdftotext not installed: the certificate's text is not checked")
	}
	if code, _ := fetch(adaPath); code != http.StatusForbidden {
		t.Errorf("nurse opening the record: %d, want 403", code)
	}
	run("nurse refused", chromedp.Navigate(base+adaPath), chromedp.WaitVisible("#error"))
	var prints int
	s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'user:nina' AND action = 'certificate-print' AND patient_id = $1`, ada).Scan(&prints)
	if prints != 1 {
		t.Errorf("%d certificate prints audited, want 1", prints)
	}
	signOut()

	// (d) Ann records the parent's opt-out; a QBP then gets PD (Z33), her
	// search no longer lists Ada, program staff still find her.
	qbp := func(tag string) *hl7.Message {
		return send([]byte("MSH|^~\\&|EHR|HILLTOP|IIS|IIS|20261125||QBP^Q11^QBP_Q11|" + tag + "|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS\r" +
			"QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|" + tag + "|RS77^^^RIVERSIDE^MR|Quennell^Ada^^^^^L||" + dob.Format("20060102") + "|F\r" +
			"RCP|I|5^RD&Records&HL70126\r"))
	}
	if m := qbp("QB-1"); !m.Get("QAK-2").Equal("OK") {
		t.Fatalf("QBP before the opt-out: %q", m.Bytes())
	}
	signIn("ann")
	run("record the opt-out", chromedp.Navigate(base+adaPath+"/opt-out"), chromedp.WaitVisible("#form_ref"),
		chromedp.SendKeys("#signed_on", time.Now().Format("01022006")), chromedp.SendKeys("#form_ref", "SCAN-2026-0042"),
		shot("d1-optout"), chromedp.Click("#record-optout"), chromedp.WaitVisible("#flash"))
	if m := qbp("QB-2"); !m.Get("QAK-2").Equal("PD") || !m.Get("MSH-21.1").Equal("Z33") || m.Count("PID") != 0 {
		t.Errorf("QBP after the opt-out: %q", m.Bytes())
	}
	search("Quennell", "Ada")
	if _, err := chromedp.Run(bctx, chromedp.Text("#no-hits")); err != nil {
		t.Errorf("Ann's search after the opt-out still lists Ada: %s", text("main"))
	}
	signOut()
	signIn("pia")
	search("Quennell", "Ada")
	run("program staff find Ada", chromedp.WaitVisible(fmt.Sprintf("#open-%d", ada)), shot("d2-program"),
		chromedp.Click(fmt.Sprintf("#open-%d", ada)), chromedp.WaitVisible("#opted-out"))
}
