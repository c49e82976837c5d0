package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/accounts"
)

// inventoryVXU is a VXU from fac for one child with one administered PCV13
// dose of lot, VFC funded, the child's eligibility elig (V01 private pay,
// V02 Medicaid).
func inventoryVXU(fac, ctl, mrn, given, family, lot, elig string) []byte {
	now := time.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|%s||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, now.Format("20060102150405"), ctl)
	fmt.Fprintf(&b, "PID|1||%s^^^%s^MR||%s^%s^^^^^L|Smith^^^^^^M|%s|F|||1 Main St^^Hartford^CT^06101^USA^P\r", mrn, fac, family, given,
		now.AddDate(-1, 0, 0).Format("20060102"))
	fmt.Fprintf(&b, "ORC|RE||%s-1^%s\r", ctl, fac)
	fmt.Fprintf(&b, "RXA|0|1|%s||133^PCV13^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||%s||PFR^Pfizer^MVX|||CP|A\r", now.Format("20060102"), lot)
	fmt.Fprintf(&b, "OBX|1|CE|64994-7^Eligibility^LN|1|%s^eligibility^HL70064||||||F|||%s|||VXC40^per immunization^CDCPHINVS\r", elig, now.Format("20060102"))
	fmt.Fprintf(&b, "OBX|2|CE|30963-3^Funding^LN|2|VXC1^VFC^CDCPHINVS||||||F\r")
	return []byte(b.String())
}

// TestInventoryInBrowser walks the vaccine coordinator's inventory in
// headless Chromium against a real iisd and PostgreSQL: she receives a
// shipment on the form and another from a CSV file, sees the lot's stock
// fall as VXUs over MLLP report doses of it (one of an unknown lot lands
// on the unmatched list), and records a monthly count that reconciles a
// difference with an adjustment; then she maps the unknown lot, transfers
// doses to another clinic, records a broken vial, sets a par level and
// sees the alerts, and finds a private-pay child given VFC stock on the
// borrowing list.
func TestInventoryInBrowser(t *testing.T) {
	exe := chromium(t)
	s := startTest(t, nil)
	ctx := context.Background()
	people := newJourneyPeople(t, s.accounts)
	riverside := people.org(accounts.Organization{Kind: accounts.Clinic, Name: "Riverside Pediatrics", Town: "Hartford", FacilityID: "RIVERSIDE"})
	people.org(accounts.Organization{Kind: accounts.Clinic, Name: "Hilltop Family Practice", Town: "Bristol", FacilityID: "HILLTOP"})
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
		inventoryVXU("RIVERSIDE", "INV-1", "IV1", "Ada", "Avery", "PCV-777", "V02"),
		inventoryVXU("RIVERSIDE", "INV-2", "IV2", "Eve", "Ellison", "pcv777", "V02"),
		inventoryVXU("RIVERSIDE", "INV-3", "IV3", "Hal", "Hughes", "PCV-777", "V02"),
		inventoryVXU("RIVERSIDE", "INV-4", "IV4", "Ivy", "Ingram", "NOPE-1", "V02"),
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
	onHand := func(what, want string) {
		t.Helper()
		run(what, chromedp.Navigate(base+"/inventory"), chromedp.WaitVisible("#lots"))
		if n := text(row + " .onhand"); n != want {
			t.Errorf("%s: on hand %q, want %s", what, n, want)
		}
	}

	// The unknown lot was this one: mapped, its dose draws on it.
	run("map the unmatched lot", chromedp.Navigate(base+"/inventory/unmatched"), chromedp.WaitVisible("#unmatched"),
		chromedp.SetValue(`tr[data-text="NOPE-1"] select`, lot), chromedp.Click(`tr[data-text="NOPE-1"] button`), chromedp.WaitVisible("#lots"))
	onHand("after mapping", "5")
	run("transfer", chromedp.Click("#inv-transfer"), chromedp.WaitVisible("#transfer"), chromedp.SetValue("#lot", lot),
		chromedp.SetValue("#to", "HILLTOP"), chromedp.SendKeys("#doses", "2"), chromedp.Click("#transfer"), chromedp.WaitVisible("#lots"))
	onHand("after the transfer", "3")
	run("wastage", chromedp.Click("#inv-wastage"), chromedp.WaitVisible("#waste"), chromedp.SetValue("#lot", lot),
		chromedp.SetValue("#reason", "broken"), chromedp.SendKeys("#doses", "1"), chromedp.Click("#waste"), chromedp.WaitVisible("#lots"))
	onHand("after the wastage", "2")
	run("wastage beyond the stock", chromedp.Click("#inv-wastage"), chromedp.WaitVisible("#waste"), chromedp.SetValue("#lot", lot),
		chromedp.SendKeys("#doses", "5"), chromedp.Click("#waste"), chromedp.WaitVisible("#error"))
	if msg := text("#error"); !strings.Contains(msg, "fewer than the 5 asked for") {
		t.Errorf("wastage beyond the stock: %q", msg)
	}
	run("par level", chromedp.Click("#inv-alerts"), chromedp.WaitVisible("#setpar"), chromedp.SendKeys("#parcvx", "133"),
		chromedp.SendKeys("#par", "10"), chromedp.Click("#setpar"), chromedp.WaitVisible("#lots"),
		chromedp.Click("#inv-alerts"), chromedp.WaitVisible("#alerts"))
	if a := text(`#alerts tr.belowpar[data-cvx="133"]`); !strings.Contains(a, "par 10") {
		t.Errorf("below par: %q", a)
	}
	if a := text("#alerts tr.expiring"); !strings.Contains(a, "PCV-777") {
		t.Errorf("expiring: %q", a)
	}

	// A private-pay child given the VFC flu lot: borrowing.
	reportAccepted(t, s, 5, inventoryVXU("RIVERSIDE", "INV-5", "IV5", "Jon", "Jovanovic", "FLU-1", "V01"))
	run("borrowing", chromedp.Click("#inv-borrowing"), chromedp.WaitVisible("#borrowing"))
	if bw := text("#borrowing"); !strings.Contains(bw, "VFC stock to a private-pay child") || !strings.Contains(bw, "FLU-1") {
		t.Errorf("borrowing: %q", bw)
	}
	var hill, audited int
	_ = s.store.Pool().QueryRow(ctx, `SELECT sum(on_hand) FROM inventory_lots WHERE clinic = 'HILLTOP'`).Scan(&hill)
	_ = s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'user:vic' AND action LIKE 'inventory-%'`).Scan(&audited)
	if hill != 2 || audited != 7 {
		t.Errorf("HILLTOP holds %d doses, want 2; %d inventory audit rows, want 7", hill, audited)
	}
}
