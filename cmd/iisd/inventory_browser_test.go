package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/accounts"
)

// inventoryVXU is a VXU from fac for one child with one administered PCV13
// dose of lot, VFC eligible (V02) and VFC funded.
func inventoryVXU(fac, ctl, mrn, given, family, lot string) []byte {
	now := time.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|%s||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, now.Format("20060102150405"), ctl)
	fmt.Fprintf(&b, "PID|1||%s^^^%s^MR||%s^%s^^^^^L|Smith^^^^^^M|%s|F|||1 Main St^^Hartford^CT^06101^USA^P\r", mrn, fac, family, given,
		now.AddDate(-1, 0, 0).Format("20060102"))
	fmt.Fprintf(&b, "ORC|RE||%s-1^%s\r", ctl, fac)
	fmt.Fprintf(&b, "RXA|0|1|%s||133^PCV13^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||%s||PFR^Pfizer^MVX|||CP|A\r", now.Format("20060102"), lot)
	fmt.Fprintf(&b, "OBX|1|CE|64994-7^Eligibility^LN|1|V02^Medicaid^HL70064||||||F|||%s|||VXC40^per immunization^CDCPHINVS\r", now.Format("20060102"))
	fmt.Fprintf(&b, "OBX|2|CE|30963-3^Funding^LN|2|VXC1^VFC^CDCPHINVS||||||F\r")
	return []byte(b.String())
}

// TestInventoryInBrowser walks the vaccine coordinator's inventory in
// headless Chromium against a real iisd and PostgreSQL: she receives a
// shipment on the form and another from a CSV file, sees the lot's stock
// fall as VXUs over MLLP report doses of it (one of an unknown lot lands
// on the unmatched list), and records a monthly count that reconciles a
// difference with an adjustment.
func TestInventoryInBrowser(t *testing.T) {
	exe := chromium(t)
	s := startTest(t, nil)
	ctx := context.Background()
	people := newJourneyPeople(t, s.accounts)
	riverside := people.org(accounts.Organization{Kind: accounts.Clinic, Name: "Riverside Pediatrics", Town: "Hartford", FacilityID: "RIVERSIDE"})
	people.user(accounts.NewUser{Username: "vic", FullName: "Vic Coordinator", OrgID: riverside, Role: accounts.VaccineCoordinator, Coordinator: accounts.Primary})

	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Width: 1400, Height: 1000, Lang: "en-US", Timeout: 3 * time.Minute})
	run, text, attr := b.run, b.text, b.attr
	people.signIn(b, base, "vic")

	// The shipment, entered on the form.
	expires := time.Now().AddDate(0, 2, 0)
	run("receive form", chromedp.Click("#nav-inventory"), chromedp.WaitVisible("#lots"), chromedp.Click("#inv-receive"), chromedp.WaitVisible("#receive"),
		chromedp.SendKeys("#lot", "PCV-777"), chromedp.SendKeys("#cvx", "133"), chromedp.SendKeys("#mvx", "PFR"),
		chromedp.SetValue("#expires", expires.Format("2006-01-02")), chromedp.SetValue("#funding", "VFC"), chromedp.SendKeys("#doses", "10"),
		chromedp.Click("#receive"), chromedp.WaitVisible("#lots"))
	row := `#lots tr[data-number="PCV-777"]`
	if n := text(row + " .onhand"); n != "10" {
		t.Fatalf("received: on hand %q", n)
	}
	// A second shipment, imported from a file.
	csv := filepath.Join(t.TempDir(), "shipment.csv")
	if err := os.WriteFile(csv, []byte("lot,cvx,mvx,expires,funding,doses\nFLU-1,150,SKB,2027-06-30,VFC,20\nFLU-2,150,SKB,2027-06-30,private,5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("receive file", chromedp.Click("#inv-receive"), chromedp.WaitVisible("#import"), chromedp.SetUploadFiles("#file", []string{csv}),
		chromedp.Click("#import"), chromedp.WaitVisible(`#lots tr[data-number="FLU-2"]`))
	if n := text(`#lots tr[data-number="FLU-1"] .onhand`); n != "20" {
		t.Errorf("imported: on hand %q", n)
	}

	// Three doses of the lot arrive by VXU (the lot number as the EHR
	// spells it), and one of a lot the inventory does not know.
	reportAccepted(t, s, 4,
		inventoryVXU("RIVERSIDE", "INV-1", "IV1", "Ada", "Avery", "PCV-777"),
		inventoryVXU("RIVERSIDE", "INV-2", "IV2", "Eve", "Ellison", "pcv777"),
		inventoryVXU("RIVERSIDE", "INV-3", "IV3", "Hal", "Hughes", "PCV-777"),
		inventoryVXU("RIVERSIDE", "INV-4", "IV4", "Ivy", "Ingram", "NOPE-1"),
	)
	run("stock after the doses", chromedp.Navigate(base+"/inventory"), chromedp.WaitVisible("#lots"))
	if n := text(row + " .onhand"); n != "7" {
		t.Errorf("after three doses: on hand %q, want 7", n)
	}
	lot := attr(row, "data-lot")
	run("unmatched", chromedp.Click("#inv-unmatched"), chromedp.WaitVisible("#unmatched"))
	if u := text("#unmatched"); !strings.Contains(u, "NOPE-1") {
		t.Errorf("unmatched list: %q", u)
	}

	// The monthly count finds 6: reconciled by an adjustment of -1.
	run("count", chromedp.Click("#inv-count"), chromedp.WaitVisible("#count"),
		chromedp.SendKeys("#count_"+lot, "6"), chromedp.SendKeys("#reason_"+lot, "one dose drawn but not recorded"),
		chromedp.Click("#count"), chromedp.WaitVisible("#adjusted"))
	if c := text(`#adjusted tr[data-lot="` + lot + `"] .change`); c != "-1" {
		t.Errorf("adjustment %q, want -1", c)
	}
	run("stock after the count", chromedp.Click("#inv-stock"), chromedp.WaitVisible("#lots"))
	if n := text(row + " .onhand"); n != "6" {
		t.Errorf("after the count: on hand %q, want 6", n)
	}
	run("ledger", chromedp.Click(row+" a"), chromedp.WaitVisible("#ledger"))
	if l := text("#ledger"); strings.Count(l, "administered") != 3 || !strings.Contains(l, "one dose drawn but not recorded") {
		t.Errorf("ledger: %q", l)
	}
	id, _ := strconv.ParseInt(lot, 10, 64)
	var audited int
	_ = s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'user:vic' AND action LIKE 'inventory-%'`).Scan(&audited)
	if audited != 3 || id == 0 {
		t.Errorf("%d inventory audit rows", audited)
	}
}
