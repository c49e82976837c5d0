package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/iisproject/iis/soap"
)

// TestPortalInBrowser is a clinic user's way in, in headless Chromium: the
// public account request; the program administrator's first sign-in
// (password, then the forced authenticator enrolment with a code computed
// here from the secret shown); approving the request; the set-password
// link read from the outbox page (no mail server); the new user's first
// sign-in and home page; the user's own authenticator; five wrong
// passwords from another address, which do not lock the user out; and a
// sign-in with password and code. Screenshots are test artifacts.
func TestPortalInBrowser(t *testing.T) {
	exe := chromium(t)
	hash, err := soap.HashPassword("program-admin-2026")
	if err != nil {
		t.Fatal(err)
	}
	s := startTest(t, func(c *Config) {
		c.Accounts = AccountsConfig{Program: "Department of Public Health",
			Admin: &BootstrapAdmin{Username: "admin", PasswordHash: hash, FullName: "Pat Program", Email: "pat@dph.example"},
			Organizations: []OrganizationEntry{
				{Kind: "clinic", Name: "Elm Street Pediatrics", Town: "Hartford", FacilityID: "CLINIC1"},
				{Kind: "school", Name: "Lincoln Elementary", Town: "New Haven"},
			}}
	})
	ctx := context.Background()
	clinic, err := s.accounts.OrganizationByFacility(ctx, "CLINIC1")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Shots: "portal-"})

	// 1. Nora asks for an account at her clinic.
	b.run("request an account",
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible("#request-link"),
		chromedp.Click("#request-link"),
		chromedp.WaitVisible("#r-name"),
		chromedp.SendKeys("#r-name", "Nora Nurse"),
		chromedp.SendKeys("#r-email", "nora@elm.example"),
		chromedp.SendKeys("#r-phone", "860-555-0100"),
		chromedp.SetValue("#r-org", fmt.Sprint(clinic.ID)),
		chromedp.SetValue("#r-role", "clinic_user"),
		chromedp.SendKeys("#r-reason", "I record the vaccines we give at Elm Street."),
		b.shot("1-request"),
		chromedp.Click("#r-submit"),
		chromedp.WaitVisible("#request-sent"),
	)

	// 2. The program administrator signs in for the first time: the
	// authenticator enrolment is forced.
	b.signIn(base, "admin", "program-admin-2026")
	b.run("forced enrolment", b.waitURL("/account/totp"), chromedp.WaitVisible("#totp-secret"), b.shot("2-admin-enrol"))
	if uri := b.attr("#totp-qr", "src"); !strings.HasPrefix(uri, "data:image/png;base64,") {
		t.Errorf("QR image %.40q", uri)
	}
	adminSecret := b.text("#totp-secret")
	b.run("admin enrols", chromedp.SendKeys("#totp-code", code(t, adminSecret, 0)), chromedp.Click("#totp-confirm"), chromedp.WaitVisible("#flash"))
	if who, org := b.text("#whoami"), b.text("#me-org"); who != "Pat Program" || org != "Department of Public Health" {
		t.Errorf("admin's home: %q at %q", who, org)
	}

	// 3. Approve Nora's request; the outbox page shows the mail with her link.
	b.run("approve",
		chromedp.Click(`//a[@id="pending-count"]`),
		chromedp.WaitVisible("#requests"),
		b.shot("3-requests"),
	)
	if row := b.text("#requests"); !strings.Contains(row, "Nora Nurse") || !strings.Contains(row, "primary none") {
		t.Errorf("requests page: %q", row)
	}
	b.run("approve", chromedp.Click(`//table[@id="requests"]//button[text()="Approve"]`), b.waitURL("done=approved"), chromedp.WaitVisible("#no-requests"))
	b.run("users", chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible("#users"), b.shot("3b-users"))
	if users := b.text("#users"); !strings.Contains(users, "Nora Nurse") || !strings.Contains(users, "awaiting password") {
		t.Errorf("users page: %q", users)
	}
	b.run("outbox", chromedp.Navigate(base+"/admin/outbox"), chromedp.WaitVisible("#outbox"), chromedp.WaitVisible("#no-smtp"), b.shot("4-outbox"))
	mail := b.text("#outbox")
	link := regexp.MustCompile(`http://[^\s]+/set-password\?token=[A-Za-z0-9_-]+`).FindString(mail)
	if link == "" || !strings.Contains(mail, "nora@elm.example") || !strings.Contains(mail, "within 3 days") {
		t.Fatalf("no set-password link in the outbox: %q", mail)
	}
	b.run("admin signs out", chromedp.Click("#signout"), b.waitURL("/signin"))

	// 4. Nora follows the link, chooses a password (a weak one first), signs in.
	b.run("set password", chromedp.Navigate(link), chromedp.WaitVisible("#link-username"))
	if u := b.text("#link-username"); u != "nora@elm.example" {
		t.Errorf("link for %q", u)
	}
	b.run("weak password", chromedp.SendKeys("#new-password", "I am nora@elm.example"), chromedp.SendKeys("#confirm-password", "I am nora@elm.example"),
		chromedp.Click("#save-password"), chromedp.WaitVisible("#error"))
	b.run("good password", chromedp.SendKeys("#new-password", "elm street blue heron"), chromedp.SendKeys("#confirm-password", "elm street blue heron"),
		chromedp.Click("#save-password"), b.waitURL("done=set"), chromedp.WaitVisible("#flash"))
	b.run("link used", chromedp.Navigate(link), chromedp.WaitVisible("#error"))
	b.signIn(base, "nora@elm.example", "elm street blue heron")
	b.run("home", chromedp.WaitVisible("#me-org"), b.shot("5-nora-home"))
	if org, role, last := b.text("#me-org"), b.text("#me-role"), b.text("#me-last"); !strings.Contains(org, "Elm Street Pediatrics") ||
		role != "Clinic user" || last != "this is your first" {
		t.Errorf("Nora's home: %q, %q, %q", org, role, last)
	}
	b.run("no admin pages", chromedp.Navigate(base+"/admin/requests"), chromedp.WaitVisible("#error"))

	// 5. Nora adds an authenticator of her own (optional for her role).
	b.run("enrol", chromedp.Navigate(base+"/account/totp"), chromedp.WaitVisible("#totp-secret"))
	noraSecret := b.text("#totp-secret")
	b.run("confirm", chromedp.SendKeys("#totp-code", code(t, noraSecret, 0)), chromedp.Click("#totp-confirm"), b.waitURL("done=totp"),
		chromedp.Click("#signout"), b.waitURL("/signin"))

	// 6. Five wrong passwords for Nora from another address (127.0.0.2)
	// slow that address down but do not lock Nora out.
	statuses := wrongPasswords(t, base, "nora@elm.example", 5)
	if statuses[0] != http.StatusUnauthorized || statuses[4] != http.StatusTooManyRequests {
		t.Errorf("wrong passwords from 127.0.0.2 answered %v", statuses)
	}
	if st := wrongPasswordsWith(t, base, "nora@elm.example", "elm street blue heron"); st != http.StatusTooManyRequests {
		t.Errorf("the right password from the throttled address answered %d", st)
	}

	// 7. Nora signs in from her own address: password, then the code (the
	// next period's: the enrolment's code is used up).
	b.signIn(base, "nora@elm.example", "elm street blue heron")
	b.run("code", b.waitURL("/signin/code"), chromedp.WaitVisible("#code"), b.shot("6-code"))
	b.run("wrong code", chromedp.SendKeys("#code", "000000"), chromedp.Click("#verify"), chromedp.WaitVisible("#error"))
	b.run("right code", chromedp.SendKeys("#code", code(t, noraSecret, 30*time.Second)), chromedp.Click("#verify"), chromedp.WaitVisible("#me-org"), b.shot("7-signed-in"))
	if who, last := b.text("#whoami"), b.text("#me-last"); who != "Nora Nurse" || last == "this is your first" {
		t.Errorf("after sign-in with code: %q, previous sign-in %q", who, last)
	}

	// The audit log has the story.
	var actions string
	if err := s.store.Pool().QueryRow(ctx, `SELECT string_agg(DISTINCT action, ',' ORDER BY action) FROM audit_log`).Scan(&actions); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"account-request", "account-approve", "password-set-by-link", "sign-in", "sign-in-failed", "sign-in-throttled", "totp-enrol", "sign-in-code-failed"} {
		if !strings.Contains(","+actions+",", ","+a+",") {
			t.Errorf("audit log lacks %s: %s", a, actions)
		}
	}
	t.Logf("screenshots in %s", b.dir)
}

func code(t *testing.T, secret string, later time.Duration) string {
	c, err := totp.GenerateCode(secret, time.Now().Add(later))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongPasswords posts n wrong passwords for user from 127.0.0.2 and
// returns the statuses.
func wrongPasswords(t *testing.T, base, user string, n int) []int {
	var out []int
	for i := 0; i < n; i++ {
		out = append(out, wrongPasswordsWith(t, base, user, fmt.Sprintf("guess-%d", i)))
	}
	return out
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// wrongPasswordsWith signs in with password from 127.0.0.2, as a browser
// would (the form's token first), and returns the status.
func wrongPasswordsWith(t *testing.T, base, user, password string) int {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no form token on the sign-in page: %.300s", body)
	}
	resp, err = c.PostForm(base+"/signin", url.Values{"csrf": {string(m[1])}, "username": {user}, "password": {password}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
