package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/inventory"
)

// TestOrderingInBrowser walks a vaccine order and the VFC accountability
// pages in headless Chromium against a real iisd and PostgreSQL: three
// PCV13 doses of a lot arrive by VXU over MLLP at a clinic holding two;
// its vaccine coordinator builds an order from the suggestion (ten doses
// of PCV13), adjusts it and submits it; program staff approve it with a
// changed quantity and its reason, deny a second order with its reason,
// download the order file, find the
// lot's three patients by a recall search (CSV too) and see the doses in
// the VFC doses-administered report; the coordinator receives the
// shipment and its lots appear in the inventory.
func TestOrderingInBrowser(t *testing.T) {
	exe := chromium(t)
	s := startTest(t, nil)
	ctx := context.Background()
	people := newJourneyPeople(t, s.accounts)
	program := people.org(accounts.Organization{Kind: accounts.Program, Name: "Connecticut Immunization Program"})
	riverside := people.org(accounts.Organization{Kind: accounts.Clinic, Name: "Riverside Pediatrics", Town: "Hartford", FacilityID: "RIVERSIDE"})
	people.user(accounts.NewUser{Username: "vic", FullName: "Vic Coordinator", OrgID: riverside, Role: accounts.VaccineCoordinator, Coordinator: accounts.Primary})
	people.user(accounts.NewUser{Username: "pia", FullName: "Pia Staff", OrgID: program, Role: accounts.ProgramStaff})

	inv, err := inventory.New(inventory.Config{Pool: s.store.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Receive(ctx, "RIVERSIDE", "user:vic", time.Now().AddDate(0, -1, 0),
		[]inventory.ReceiptLine{{CVX: "133", MVX: "PFR", Lot: "PCV-777", Funding: inventory.VFC, Doses: 2}}); err != nil {
		t.Fatal(err)
	}
	reportAccepted(t, s, 3,
		inventoryVXU("RIVERSIDE", "ORD-1", "OR1", "Ada", "Avery", "PCV-777", "V02"),
		inventoryVXU("RIVERSIDE", "ORD-2", "OR2", "Eve", "Ellison", "pcv 777", "V02"),
		inventoryVXU("RIVERSIDE", "ORD-3", "OR3", "Hal", "Hughes", "PCV777", "V01"),
	)

	base := "http://" + s.httpLn.Addr().String()
	b := newBrowser(t, exe, browserConfig{Width: 1400, Height: 1000, Lang: "en-US", Timeout: 3 * time.Minute})
	run, text := b.run, b.text
	signOut := func() { run("sign out", chromedp.Click("#signout"), chromedp.WaitVisible("#username")) }
	fetch := func(path string) string {
		t.Helper()
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch("`+path+`").then(r => r.text())`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("fetch %s: %v", path, err)
		}
		return v
	}

	// The coordinator's order: the suggestion (3 given in three months,
	// none left: two months' supply is 2 doses, one package of 10), raised
	// to 20, and a package of DTaP added.
	people.signIn(b, base, "vic")
	run("suggestion", chromedp.Click("#nav-orders"), chromedp.WaitVisible("#orders"), chromedp.Click("#ord-new"), chromedp.WaitVisible("#lines"))
	pcv := `#lines tr[data-cvx="133"]`
	if u, o, sg := text(pcv+" .used"), text(pcv+" .onhand"), text(pcv+" .suggested"); u != "3" || o != "0" || sg != "10" {
		t.Errorf("suggestion for PCV13: used %s, on hand %s, suggested %s", u, o, sg)
	}
	run("submit", chromedp.SetValue("#doses_133", "20"), chromedp.SendKeys("#newcvx", "20"), chromedp.SendKeys("#newdoses", "10"),
		chromedp.SetValue("#funding", "VFC"), chromedp.Click("#submit"), chromedp.WaitVisible("#orderstatus"))
	if st := text("#orderstatus"); st != "submitted" {
		t.Fatalf("order status %q", st)
	}
	id := text("#orderid")
	// A second order, by mistake: one package of DTaP.
	run("second order", chromedp.Click("#ord-new"), chromedp.WaitVisible("#lines"), chromedp.SetValue("#doses_133", "0"),
		chromedp.SendKeys("#newcvx", "20"), chromedp.SendKeys("#newdoses", "10"), chromedp.Click("#submit"), b.waitURL("done=submitted"),
		chromedp.WaitVisible("#orderstatus"))
	second := text("#orderid")
	signOut()

	// Program staff approve it with less PCV13, and read the order file.
	people.signIn(b, base, "pia")
	row := `#orders tr[data-order="` + id + `"]`
	run("orders waiting", chromedp.Click("#nav-orders"), chromedp.WaitVisible(row))
	if st := text(row + " .status"); st != "submitted" {
		t.Errorf("listed status %q", st)
	}
	run("refused without a reason", chromedp.Click(row+" a"), chromedp.WaitVisible("#decisionform"), chromedp.SetValue("#approved_133", "10"),
		chromedp.Click("#approve"), chromedp.WaitVisible("#error"))
	if e := text("#error"); !strings.Contains(e, "reason for changing") {
		t.Errorf("a change without a reason: %.300s", e)
	}
	run("approve", chromedp.SetValue("#approved_133", "10"), chromedp.SendKeys("#decisionreason", "allocation for the month"),
		chromedp.Click("#approve"), chromedp.WaitVisible("#export"))
	if st := text("#orderstatus"); st != "approved" {
		t.Fatalf("order status %q after approval", st)
	}
	if csv := fetch("/orders/" + id + "/export.csv"); !strings.Contains(csv, id+",RIVERSIDE,VFC,133,10,1,10,") || !strings.Contains(csv, id+",RIVERSIDE,VFC,20,10,1,10,") {
		t.Errorf("order file:\n%s", csv)
	}

	// The mistaken order is denied with its reason.
	run("deny", chromedp.Navigate(base+"/orders/"+second), chromedp.WaitVisible("#decisionform"),
		chromedp.SendKeys("#decisionreason", "the same vaccine as order "+id), chromedp.Click("#deny"), b.waitURL("done=denied"),
		chromedp.WaitVisible("#orderstatus"))
	if st, why := text("#orderstatus"), text("#reason"); st != "denied" || why != "the same vaccine as order "+id {
		t.Errorf("denied order: status %q, reason %q", st, why)
	}

	// The recall search finds the lot's three patients, whatever its spelling.
	run("recall", chromedp.Click("#nav-lotrecall"), chromedp.WaitVisible("#recallform"), chromedp.SendKeys("#lot", "pcv-777"),
		chromedp.Click("#search"), chromedp.WaitVisible("#recipients"))
	if n := text("#found"); n != "3" {
		t.Errorf("recall found %q patients", n)
	}
	if names := text("#recipients"); !strings.Contains(names, "Avery, Ada") || !strings.Contains(names, "Ellison, Eve") || !strings.Contains(names, "Hughes, Hal") {
		t.Errorf("recipients: %q", names)
	}
	if csv := fetch("/lotrecall/patients.csv?lot=pcv-777"); strings.Count(csv, "RIVERSIDE") != 3 || !strings.HasPrefix(csv, "patient_id,family_name") {
		t.Errorf("recall CSV:\n%s", csv)
	}

	// The VFC report: PCV13 to one-year-olds, two eligible by Medicaid
	// (V02), one private pay (V01).
	month := time.Now().Format("2006-01")
	run("vfc report", chromedp.Navigate(base+"/vfc?from="+month+"&to="+month), chromedp.WaitVisible("#vfc"))
	cell := `#vfc tr[data-clinic="RIVERSIDE"][data-cvx="133"][data-age="1-6"]`
	if v02, v01 := text(cell+`[data-elig="V02"] .doses`), text(cell+`[data-elig="V01"] .doses`); v02 != "2" || v01 != "1" {
		t.Errorf("VFC report cells V02 %q, V01 %q; want 2 and 1", v02, v01)
	}
	if csv := fetch("/vfc/report.csv?from=" + month + "&to=" + month); !strings.Contains(csv, "RIVERSIDE,"+month+",133,1-6,V02,2") {
		t.Errorf("VFC CSV:\n%s", csv)
	}
	signOut()

	// The coordinator receives the shipment: its lots are in the inventory.
	people.signIn(b, base, "vic")
	run("receive", chromedp.Navigate(base+"/orders/"+id), chromedp.WaitVisible("#receiptform"),
		chromedp.SendKeys("#lot_133", "PCV-900"), chromedp.SendKeys("#mvx_133", "PFR"),
		chromedp.SetValue("#expires_133", time.Now().AddDate(1, 0, 0).Format("2006-01-02")),
		chromedp.SendKeys("#lot_20", "DTAP-5"), chromedp.SendKeys("#mvx_20", "SKB"),
		chromedp.Click("#receive"), b.waitURL("done=received"), chromedp.WaitVisible("#orderstatus"))
	if st := text("#orderstatus"); st != "received" {
		t.Fatalf("order status %q after receipt", st)
	}
	run("inventory", chromedp.Click("#nav-inventory"), chromedp.WaitVisible(`#lots tr[data-number="PCV-900"]`))
	if n := text(`#lots tr[data-number="PCV-900"] .onhand`); n != "10" {
		t.Errorf("received PCV-900: on hand %q", n)
	}
	if n := text(`#lots tr[data-number="DTAP-5"] .onhand`); n != "10" {
		t.Errorf("received DTAP-5: on hand %q", n)
	}

	var reason string
	_ = s.store.Pool().QueryRow(ctx, `SELECT detail FROM audit_log WHERE action = 'order-approve' AND actor = 'user:pia'`).Scan(&reason)
	if !strings.Contains(reason, `reason="allocation for the month"`) {
		t.Errorf("approval audited as %q", reason)
	}
	var audited int
	_ = s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action IN ('order-submit', 'order-approve', 'order-deny', 'order-export', 'order-receive', 'lot-recall', 'lot-recall-export', 'vfc-report-export')`).Scan(&audited)
	if audited != 9 {
		t.Errorf("%d ordering and recall audit rows, want 9", audited)
	}
}
