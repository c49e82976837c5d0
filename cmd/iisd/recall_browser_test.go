package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/internal/pdftext"
)

// recallVXU is a VXU from facility fac for a synthetic child living with
// Maria <family> at 1 Main St, with a home phone, the PD1-11 publicity
// code pub (empty: none), the primary language lang (PID-15; empty: none)
// and doses "cvx:date".
func recallVXU(fac, ctl, mrn, given, family, dob, pub, lang string, doses ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|%s||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, time.Now().Format("20060102150405"), ctl)
	fmt.Fprintf(&b, "PID|1||%s^^^%s^MR||%s^%s^^^^^L|Smith^^^^^^M|%s|F|||1 Main St^^Hartford^CT^06101^USA^P||^PRN^PH^^^860^5550142||%s\r", mrn, fac, family, given, dob, lang)
	if pub != "" {
		fmt.Fprintf(&b, "PD1|||||||||||%s^^HL70215\r", pub)
	}
	fmt.Fprintf(&b, "NK1|1|%s^Maria^^^^^L|MTH^Mother^HL70063\r", family)
	for i, d := range doses {
		cvx, date, _ := strings.Cut(d, ":")
		fmt.Fprintf(&b, "ORC|RE||%s-%d^%s\r", ctl, i+1, fac)
		fmt.Fprintf(&b, "RXA|0|1|%s||%s^vaccine^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||L%d||MSD^Merck^MVX|||CP|A\r", date, cvx, i)
	}
	return []byte(b.String())
}

// pdfText is the text pdftotext reads from a PDF, its spaces folded.
func pdfText(t *testing.T, pdf []byte) string {
	return strings.Join(strings.Fields(pdftext.Text(t, pdf)), " ")
}

// fetch GETs path of base with b's cookies (a download the browser would
// save) and returns the status and body.
func (b *browser) fetch(base, path string) (int, []byte) {
	b.t.Helper()
	ck, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", base+path, nil)
	for _, c := range ck.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestRecallInBrowser: after VXUs for a few children, a vaccine
// coordinator runs reminder/recall for her clinic in headless Chromium,
// sees the list with the family's phone (two siblings in one family; the
// child whose PD1-11 says no reminder/recall left out, another clinic's
// child absent), records two contacts (the list then says "reminded
// twice, no visit"), downloads the letters (English and Spanish, text
// checked with pdftotext), the CSV and the labels, and is refused another
// clinic's run.
func TestRecallInBrowser(t *testing.T) {
	exe := chromium(t)
	s := startTest(t, nil)
	ctx := context.Background()
	people := newJourneyPeople(t, s.accounts)
	riverside := people.org(accounts.Organization{Kind: accounts.Clinic, Name: "Riverside Pediatrics", Town: "Hartford", FacilityID: "RIVERSIDE"})
	hilltop := people.org(accounts.Organization{Kind: accounts.Clinic, Name: "Hilltop Family Practice", Town: "Bristol", FacilityID: "HILLTOP"})
	people.user(accounts.NewUser{Username: "vic", FullName: "Vic Coordinator", OrgID: riverside, Role: accounts.VaccineCoordinator, Coordinator: accounts.Primary})

	ymd := func(t time.Time) string { return t.Format("20060102") }
	ada, bo := time.Now().AddDate(0, -7, 0), time.Now().AddDate(-3, 0, 0)
	reportAccepted(t, s, 5,
		recallVXU("RIVERSIDE", "RC-1", "RC1", "Ada", "Quennell", ymd(ada), "", "", "08:"+ymd(ada), "20:"+ymd(ada.AddDate(0, 0, 62))),
		recallVXU("RIVERSIDE", "RC-2", "RC2", "Bo", "Quennell", ymd(bo), "02", "eng^English^HL70296", "20:"+ymd(bo.AddDate(0, 0, 62))),
		recallVXU("RIVERSIDE", "RC-3", "RC3", "Cy", "Ortiz", ymd(bo), "01", "", "20:"+ymd(bo.AddDate(0, 0, 62))),
		recallVXU("RIVERSIDE", "RC-4", "RC4", "Dia", "Ruiz", ymd(bo), "", "spa^Spanish^HL70296", "20:"+ymd(bo.AddDate(0, 0, 62))),
		recallVXU("HILLTOP", "HT-1", "HT1", "Ben", "Okafor", ymd(bo), "", "", "20:"+ymd(bo.AddDate(0, 0, 62))),
	)

	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Width: 1400, Height: 1000, Lang: "en-US", Timeout: 3 * time.Minute})
	run := b.run
	text := func(sel string) string { return strings.Join(strings.Fields(b.text(sel)), " ") }
	fetch := func(path string) (int, []byte) { t.Helper(); return b.fetch(base, path) }

	people.signIn(b, base, "vic")
	run("run reminder/recall", chromedp.Click("#nav-recall"), chromedp.WaitVisible("#run"), chromedp.Click("#run"), chromedp.WaitVisible("#recall-list"))
	list := text("#recall-list")
	for _, want := range []string{"Maria Quennell", "8605550142", "Ada Quennell", "Bo Quennell", "overdue", "Dia Ruiz"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %q: %s", want, list)
		}
	}
	for _, not := range []string{"Cy Ortiz", "Ben Okafor"} {
		if strings.Contains(list, not) {
			t.Errorf("the list has %q: %s", not, list)
		}
	}
	if h := text("#results h2"); h != "3 children due in 2 families" {
		t.Errorf("heading %q", h)
	}
	if sum := text("#summary"); !strings.Contains(sum, "1 no reminder/recall (PD1-11)") {
		t.Errorf("summary %q", sum)
	}

	// Two contacts with the family: the list says so.
	contactsText := func(want string) string {
		t.Helper()
		var c string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			// The page may be between the POST and the redirected list.
			v, err := chromedp.Run(b.ctx, chromedp.Text("#recall-list td.contacts"))
			if c = strings.Join(strings.Fields(v), " "); err == nil && strings.Contains(c, want) {
				break
			}
		}
		return c
	}
	run("record a phone call", chromedp.SetValue("select[name=method]", "phone"), chromedp.Click("button.contact"), chromedp.WaitVisible("#flash"))
	if c := contactsText("reminded once"); !strings.Contains(c, "reminded once, no visit") || !strings.Contains(c, "phone") {
		t.Errorf("after one contact: %q", c)
	}
	run("record a letter", chromedp.SetValue("select[name=method]", "letter"), chromedp.Click("button.contact"))
	if c := contactsText("reminded twice"); !strings.Contains(c, "reminded twice, no visit") || !strings.Contains(c, "letter") {
		t.Errorf("after two contacts: %q", c)
	}

	// The downloads, by the page's links (the run's parameters).
	href := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("`+sel+`").getAttribute("href")`))
		if err != nil || !strings.Contains(v, "by=") {
			t.Fatalf("link %s: %q %v", sel, v, err)
		}
		return v
	}
	letters, csvLink, labels := href("#letters"), href("#csv"), href("#labels")
	by := time.Now().Format(time.DateOnly)
	// The letters in each family's language (the form's default): the
	// Quennells' in English, the Ruiz family's in Spanish; then all in
	// Spanish when asked.
	if !strings.Contains(letters, "lang=family") {
		t.Fatalf("letters link %q: not in each family's language", letters)
	}
	for lang, want := range map[string][]string{
		"family": {"Riverside Pediatrics", "Maria Quennell", "1 Main St", "Dear parent or guardian of Ada Quennell, Bo Quennell,", "Ada Quennell (born", "Bo Quennell (born", "Polio",
			"Estimado padre, madre o tutor de Dia Ruiz:", "Dia Ruiz (nacido(a) el"},
		"es": {"Estimado padre, madre o tutor de Ada Quennell, Bo Quennell:", "Ada Quennell (nacido(a) el", "atrasada", "Por favor, llame a Riverside Pediatrics"},
	} {
		code, pdf := fetch(strings.Replace(letters, "lang=family", "lang="+lang, 1))
		if code != 200 || !strings.HasPrefix(string(pdf), "%PDF-") {
			t.Fatalf("letters %s: %d %.60q", lang, code, pdf)
		}
		got := pdfText(t, pdf)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("letters (%s) lack %q: %s", lang, w, got)
			}
		}
		if strings.Contains(got, "Cy Ortiz") {
			t.Errorf("letters (%s) write to a family that asked for no reminder/recall", lang)
		}
		if lang == "family" && strings.Contains(got, "Dear parent or guardian of Dia Ruiz") {
			t.Errorf("the Ruiz family's letter is in English: %s", got)
		}
	}
	if code, csv := fetch(csvLink); code != 200 || !strings.Contains(string(csv), "Quennell,Ada") || strings.Count(string(csv), "\n") != 4 {
		t.Errorf("CSV: %d %s", code, csv)
	}
	// Two labels side by side: "Maria Quennell Maria Ruiz 1 Main St 1 Main St …".
	if code, pdf := fetch(labels); code != 200 || !strings.Contains(pdfText(t, pdf), "Maria Quennell Maria Ruiz 1 Main St 1 Main St Hartford, CT 06101") {
		t.Errorf("labels: %d %s", code, pdfText(t, pdf))
	}
	if code, _ := fetch(fmt.Sprintf("/recall?by=%s&clinic=%d", by, hilltop)); code != http.StatusForbidden {
		t.Errorf("another clinic's run: %d, want 403", code)
	}
	if code, body := fetch("/recall?by=2024-13-01"); code != http.StatusBadRequest || !strings.Contains(string(body), "is not a date") {
		t.Errorf("a bad date: %d", code)
	}
	// In the background from /reports: the run's page shows its progress
	// until the letters are there to download, each family's in its
	// language.
	run("recall in the background", chromedp.Navigate(base+"/reports"), chromedp.WaitVisible("#recall-open"), chromedp.Click("#recall-open"),
		chromedp.WaitVisible("#recall-start"), chromedp.Click("#recall-start"), chromedp.WaitVisible("#status"), chromedp.WaitVisible("#file-letters\\.pdf"))
	if c := text("#counts"); !strings.Contains(c, "due 3") || !strings.Contains(c, "families 2") || !strings.Contains(c, "left out: no reminder/recall (PD1-11) 1") {
		t.Errorf("background run's counts: %q", c)
	}
	code, pdf := fetch(b.attr("#file-letters\\.pdf", "href"))
	if got := pdfText(t, pdf); code != 200 || !strings.Contains(got, "Dear parent or guardian of Ada Quennell, Bo Quennell,") ||
		!strings.Contains(got, "Estimado padre, madre o tutor de Dia Ruiz:") {
		t.Errorf("background run's letters: %d %s", code, got)
	}
	var runs, contacts int
	s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'user:vic' AND action = 'recall-run'`).Scan(&runs)
	s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM recall_contacts`).Scan(&contacts)
	if runs != 7 || contacts != 4 {
		t.Errorf("%d runs audited (want 7: three lists, two letters, CSV, labels), %d contact rows (want 2 contacts × 2 children)", runs, contacts)
	}
}
