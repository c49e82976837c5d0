package ordering_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/inventory"
	"github.com/iisproject/iis/ordering"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

type env struct {
	reg *registry.Store
	inv *inventory.Store
	ord *ordering.Store
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	reg, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	e := &env{reg: reg, now: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return e.now }
	if e.inv, err = inventory.New(inventory.Config{Pool: reg.Pool(), Now: clock}); err != nil {
		t.Fatal(err)
	}
	if e.ord, err = ordering.New(ordering.Config{Pool: reg.Pool(), Stock: e.inv, Now: clock, Packages: map[string]int{"120": 5}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// give stores a VXU from clinic with one administered dose of cvx and
// lot on date on, through the registry and the inventory's hook as the
// worker does.
func (e *env) give(t *testing.T, clinic, ctl, cvx, lot string, on time.Time) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|%s||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", clinic, on.Format("20060102150405"), ctl)
	fmt.Fprintf(&b, "PID|1||%s^^^%s^MR||Okafor^Iris%s^^^^^L|Smith^^^^^^M|20250301|F|||1 Main St^^Hartford^CT^06101^USA^P\r", ctl, clinic, ctl)
	fmt.Fprintf(&b, "ORC|RE||%s-1^%s\r", ctl, clinic)
	fmt.Fprintf(&b, "RXA|0|1|%s||%s^vaccine^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||%s||MSD^Merck^MVX|||CP|A\r", on.Format("20060102"), cvx, lot)
	fmt.Fprintf(&b, "OBX|1|CE|64994-7^Eligibility^LN|1|V02^Medicaid^HL70064||||||F|||%s|||VXC40^per immunization^CDCPHINVS\r", on.Format("20060102"))
	raw := []byte(b.String())
	r := immz.New(immz.Config{}).Decode(raw)
	if r.Message() == nil || r.VXU == nil || r.Rejected() {
		t.Fatalf("not an accepted VXU: %v", r.Issues)
	}
	msgs := []*registry.Message{{Kind: "vxu", Facility: clinic, ControlID: ctl, Type: "VXU", Ack: "AA", Transport: "test", Raw: raw,
		Received: on, Decoded: r}}
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, e.reg.Pool(), func(tx pgx.Tx) error {
		res, err := e.reg.ApplyBulk(ctx, tx, msgs)
		if err != nil {
			return err
		}
		return e.inv.Applied(ctx, tx, msgs, res)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOrderJourney: a clinic's usage and stock make the suggestion; the
// coordinator submits it adjusted; program staff change it with a reason;
// receiving it makes lots with the order's funding, once.
func TestOrderJourney(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.inv.Receive(ctx, "RIVER", "user:vic", e.now.AddDate(0, -4, 0), []inventory.ReceiptLine{
		{CVX: "133", Lot: "PCV-1", Funding: inventory.VFC, Doses: 40},
		{CVX: "20", Lot: "DT-1", Funding: inventory.VFC, Doses: 3},
		{CVX: "08", Lot: "HEPB-OLD", Funding: inventory.VFC, Doses: 9, Expires: e.now.AddDate(0, 0, -1)},
	}); err != nil {
		t.Fatal(err)
	}
	// 15 PCV doses in the last three months, one before them; 6 DTaP.
	for i := range 15 {
		e.give(t, "RIVER", fmt.Sprintf("P%d", i), "133", "PCV-1", e.now.AddDate(0, 0, -5*i))
	}
	e.give(t, "RIVER", "OLD", "133", "PCV-1", e.now.AddDate(0, -3, -2))
	for i := range 3 {
		e.give(t, "RIVER", fmt.Sprintf("D%d", i), "20", "DT-1", e.now.AddDate(0, 0, -i))
	}
	e.give(t, "ELSEWHERE", "X1", "133", "PCV-1", e.now) // another clinic's usage

	sug, err := e.ord.Suggestion(ctx, "RIVER")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ordering.Line{}
	for _, l := range sug {
		got[l.CVX] = l
	}
	// PCV: 15 given, 24 on hand (40-16): target 10, nothing to order.
	// DTaP: 3 given, 0 on hand: target 2 → one package of 10.
	// Hep B: only expired stock and no usage: not listed.
	for cvx, want := range map[string][3]int{"133": {15, 24, 0}, "20": {3, 0, 10}} {
		l := got[cvx]
		if [3]int{l.Used, l.OnHand, l.Suggested} != want {
			t.Errorf("CVX %s: used, on hand, suggested %d, %d, %d; want %v", cvx, l.Used, l.OnHand, l.Suggested, want)
		}
	}
	if len(sug) != 2 {
		t.Errorf("%d suggested lines: %+v", len(sug), sug)
	}

	// The coordinator adds PCV and a vaccine not in stock.
	for i := range sug {
		if sug[i].CVX == "133" {
			sug[i].Requested = 30
		}
	}
	sug = append(sug, ordering.Line{CVX: "120", Requested: 7})
	if _, err := e.ord.Submit(ctx, "RIVER", "user:vic", "VFC", "", sug); err == nil || !ordering.IsInput(err) {
		t.Fatalf("7 doses of a 5-dose package submitted: %v", err)
	}
	sug[len(sug)-1].Requested = 10
	id, err := e.ord.Submit(ctx, "RIVER", "user:vic", "VFC", "flu season", sug)
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.ord.Order(ctx, "RIVER", id)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != ordering.Submitted || len(o.Lines) != 3 || o.Doses() != 50 {
		t.Fatalf("submitted order: %+v", o)
	}
	if _, err := e.ord.Order(ctx, "ELSEWHERE", id); err == nil {
		t.Error("another clinic read the order")
	}
	if err := e.ord.Receive(ctx, "RIVER", id, "user:vic", e.now, []ordering.Shipped{{CVX: "133", Lot: "PCV-2", Doses: 30}}); err == nil {
		t.Error("a submitted order received")
	}

	// Program staff cut PCV: a reason is required.
	if err := e.ord.Decide(ctx, id, "user:pat", true, map[string]int{"133": 20}, ""); err == nil || !ordering.IsInput(err) {
		t.Fatalf("changed without a reason: %v", err)
	}
	if err := e.ord.Decide(ctx, id, "user:pat", true, map[string]int{"133": 20}, "allocation limit"); err != nil {
		t.Fatal(err)
	}
	if err := e.ord.Decide(ctx, id, "user:pat", false, nil, "again"); err == nil {
		t.Error("a decided order decided again")
	}
	o, _ = e.ord.Order(ctx, "", id)
	if o.Status != ordering.Approved || o.DecisionReason != "allocation limit" || o.Doses() != 40 {
		t.Fatalf("approved order: %+v", o)
	}

	// Receiving: a vaccine not approved is refused; the shipment makes lots.
	if err := e.ord.Receive(ctx, "RIVER", id, "user:vic", e.now, []ordering.Shipped{{CVX: "08", Lot: "X", Doses: 10}}); err == nil {
		t.Error("a vaccine not on the order received")
	}
	if err := e.ord.Receive(ctx, "ELSEWHERE", id, "user:eve", e.now, []ordering.Shipped{{CVX: "133", Lot: "PCV-2", Doses: 20}}); err == nil {
		t.Error("another clinic received the order")
	}
	ship := []ordering.Shipped{{CVX: "133", Lot: "PCV-2", MVX: "PFR", Expires: e.now.AddDate(1, 0, 0), Doses: 20}, {CVX: "120", Lot: "PENTA-9", Doses: 10}}
	if err := e.ord.Receive(ctx, "RIVER", id, "user:vic", e.now, ship); err != nil {
		t.Fatal(err)
	}
	if err := e.ord.Receive(ctx, "RIVER", id, "user:vic", e.now, ship); err == nil {
		t.Error("an order received twice")
	}
	lots, err := e.inv.Lots(ctx, "RIVER")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]inventory.Lot{}
	for _, l := range lots {
		have[l.Number] = l
	}
	if l := have["PCV-2"]; l.OnHand != 20 || l.Funding != "VFC" || l.CVX != "133" || l.MVX != "PFR" {
		t.Errorf("lot PCV-2: %+v", l)
	}
	if l := have["PENTA-9"]; l.OnHand != 10 {
		t.Errorf("lot PENTA-9: %+v", l)
	}
	o, _ = e.ord.Order(ctx, "RIVER", id)
	if o.Status != ordering.Received || o.ReceivedBy != "user:vic" {
		t.Errorf("received order: %+v", o)
	}
	list, err := e.ord.Orders(ctx, "", ordering.Received, 10)
	if err != nil || len(list) != 1 || len(list[0].Lines) != 3 {
		t.Errorf("received orders: %+v, %v", list, err)
	}
}

// TestDeny: a denial needs its reason and leaves no approved quantity.
func TestDeny(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, err := e.ord.Submit(ctx, "RIVER", "user:vic", "VFC", "", []ordering.Line{{CVX: "133", Requested: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ord.Decide(ctx, id, "user:pat", false, nil, " "); err == nil {
		t.Fatal("denied without a reason")
	}
	if err := e.ord.Decide(ctx, id, "user:pat", false, nil, "enough stock on hand"); err != nil {
		t.Fatal(err)
	}
	o, _ := e.ord.Order(ctx, "", id)
	if o.Status != ordering.Denied || o.Lines[0].Decided || o.DecisionReason != "enough stock on hand" {
		t.Errorf("denied order: %+v", o)
	}
	if _, err := e.ord.Submit(ctx, "RIVER", "user:vic", "private", "", []ordering.Line{{CVX: "133", Requested: 10}}); err == nil {
		t.Error("a private order submitted to the program")
	}
	if _, err := e.ord.Submit(ctx, "RIVER", "user:vic", "VFC", "", []ordering.Line{{CVX: "133"}}); err == nil {
		t.Error("an empty order submitted")
	}
}
