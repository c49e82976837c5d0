package inventory_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/inventory"
)

// receive gives clinic a lot and returns its id.
func (e *env) receive(t testing.TB, clinic string, l inventory.ReceiptLine, on time.Time) int64 {
	t.Helper()
	ids, err := e.inv.Receive(context.Background(), clinic, "vic", on, []inventory.ReceiptLine{l})
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

// TestAdministeredDoses walks the decrement and reversal rules through the
// registry's own writes: each step's VXU is stored by ApplyBulk and drawn
// by the hook in the same transaction.
func TestAdministeredDoses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	start := day("2025-09-01")
	vfc := e.receive(t, "RIVERSIDE", inventory.ReceiptLine{CVX: "20", MVX: "PMC", Lot: "O4134EX", Expires: day("2027-01-31"), Funding: inventory.VFC, Doses: 10}, start)
	priv := e.receive(t, "RIVERSIDE", inventory.ReceiptLine{CVX: "20", MVX: "PMC", Lot: "O4134EX", Expires: day("2027-01-31"), Funding: inventory.Private, Doses: 5}, start)
	flu := e.receive(t, "RIVERSIDE", inventory.ReceiptLine{CVX: "150", Lot: "FLU-22", Funding: inventory.VFC, Doses: 3}, start)

	m1 := vxu("RIVERSIDE", "M1", "A1", dose{filler: "A1.1", cvx: "20", lot: "o4134-ex", mvx: "PMC", funding: "VXC1"})
	steps := []struct {
		name           string
		msg            []byte
		vfc, priv, flu int
		unmatched      int
	}{
		{"an administered dose draws on its lot (matched whatever the lot's case and dashes)", m1, 9, 5, 3, 0},
		{"a redelivery of the same message draws nothing more", m1, 9, 5, 3, 0},
		{"the funding source picks the private stock",
			vxu("RIVERSIDE", "M2", "A2", dose{filler: "A2.1", cvx: "20", lot: "O4134EX", funding: "PHC70", eligibility: "V01"}), 9, 4, 3, 0},
		{"a historical dose draws nothing",
			vxu("RIVERSIDE", "M3", "A3", dose{filler: "A3.1", cvx: "20", lot: "O4134EX", info: "01"}), 9, 4, 3, 0},
		{"a refused dose draws nothing",
			vxu("RIVERSIDE", "M4", "A4", dose{filler: "A4.1", cvx: "20", lot: "", completion: "RE"}), 9, 4, 3, 0},
		{"a dose before the clinic's inventory started draws nothing",
			vxu("RIVERSIDE", "M5", "A5", dose{filler: "A5.1", cvx: "20", lot: "O4134EX", date: "20250801"}), 9, 4, 3, 0},
		{"another clinic's dose draws nothing here",
			vxu("HILLTOP", "M6", "A6", dose{filler: "A6.1", cvx: "20", lot: "O4134EX"}), 9, 4, 3, 0},
		{"an unknown lot lands on the unmatched list",
			vxu("RIVERSIDE", "M7", "A7", dose{filler: "A7.1", cvx: "20", lot: "ZZ999"}), 9, 4, 3, 1},
		{"two doses in one message",
			vxu("RIVERSIDE", "M8", "A8", dose{filler: "A8.1", cvx: "20", lot: "O4134EX", funding: "VXC1"}, dose{filler: "A8.2", cvx: "150", lot: "FLU-22"}), 8, 4, 2, 1},
		{"RXA-21 D gives the dose back",
			vxu("RIVERSIDE", "M9", "A8", dose{filler: "A8.2", cvx: "150", action: "D"}), 8, 4, 3, 1},
		{"RXA-21 U to another lot moves the draw",
			vxu("RIVERSIDE", "M10", "A1", dose{filler: "A1.1", cvx: "20", lot: "O4134EX", funding: "PHC70", action: "U"}), 9, 3, 3, 1},
		{"a resend of the same filler order replaces the dose: no second draw",
			vxu("RIVERSIDE", "M11", "A1", dose{filler: "A1.1", cvx: "20", lot: "O4134EX", funding: "PHC70"}), 9, 3, 3, 1},
		{"a corrected message under the same MSH-10 replaces its dose",
			vxu("RIVERSIDE", "M2", "A2", dose{filler: "A2.1", cvx: "20", lot: "O4134EX", funding: "VXC1", eligibility: "V01"}), 8, 4, 3, 1},
	}
	for _, st := range steps {
		e.mustApply(t, st.msg)
		got := [4]int{e.onHand(t, vfc), e.onHand(t, priv), e.onHand(t, flu), e.count(t, `SELECT count(*) FROM inventory_doses WHERE lot_id IS NULL AND active`)}
		if want := [4]int{st.vfc, st.priv, st.flu, st.unmatched}; got != want {
			t.Fatalf("%s: stock VFC, private, flu, unmatched = %v, want %v", st.name, got, want)
		}
	}
	e.ledgerAgrees(t)

	// The unmatched lot: listed, then mapped to the VFC lot by the coordinator.
	um, err := e.inv.Unmatched(ctx, "RIVERSIDE")
	if err != nil || len(um) != 1 || um[0].Lot != "ZZ999" || um[0].Doses != 1 {
		t.Fatalf("unmatched %+v %v", um, err)
	}
	if n, err := e.inv.MapLot(ctx, "RIVERSIDE", "ZZ999", vfc, "vic"); err != nil || n != 1 {
		t.Fatalf("map: %d %v", n, err)
	}
	e.mustApply(t, vxu("RIVERSIDE", "M12", "A12", dose{filler: "A12.1", cvx: "20", lot: "zz-999"}))
	if got := e.onHand(t, vfc); got != 6 {
		t.Errorf("after mapping ZZ999: VFC stock %d, want 6", got)
	}
	// The update of A1.1 gave a VFC-eligible child private stock, the
	// corrected message of M2 a private-pay child VFC stock: borrowing.
	b, err := e.inv.Borrowing(ctx, "RIVERSIDE", start, day("2026-12-31"))
	if err != nil || len(b) != 2 || b[0].Direction != "private stock to a VFC-eligible child" || b[1].Direction != "VFC stock to a private-pay child" {
		t.Errorf("borrowing %+v %v", b, err)
	}
	u, err := e.inv.Usage(ctx, "RIVERSIDE", start, day("2026-12-31"))
	if err != nil || u["20"] != 5 || u["150"] != 0 {
		t.Errorf("usage %v %v", u, err)
	}
	e.ledgerAgrees(t)
}

// TestRealSamples runs two real messages: the CDC/Aidbox HepB sample (RXA-9
// 01, historical: no draw) and its RXA-21 D sample, which deletes a dose
// given under filler order 65933^DCS.
func TestRealSamples(t *testing.T) {
	e := newEnv(t)
	lot := e.receive(t, "DE-000001", inventory.ReceiptLine{CVX: "08", Lot: "MSD456789", Funding: inventory.VFC, Doses: 4}, day("2016-01-01"))
	raw := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	e.mustApply(t, raw("vxu_z22_hepb_vfc_funding_vis_pv1.hl7"))
	if n := e.onHand(t, lot); n != 4 {
		t.Errorf("historical dose drew: stock %d", n)
	}
	// The dose the D names, given from the lot, then the D itself.
	given := strings.Replace(string(raw("vxu_delete_RXA21_D.hl7")), "CA0005", "CA0004", 1)
	given = strings.Replace(given, "CP|D", "CP|A", 1)
	given = strings.Replace(given, "NIP001|||||||||", "NIP001||||||MSD456789||MSD^MERCK^MVX|", 1)
	given = strings.Replace(given, "|20160701123030-0700|", "|20160701120000-0700|", 1)
	e.mustApply(t, []byte(given))
	if n := e.onHand(t, lot); n != 3 {
		t.Fatalf("given: stock %d, want 3", n)
	}
	e.mustApply(t, raw("vxu_delete_RXA21_D.hl7"))
	if n := e.onHand(t, lot); n != 4 {
		t.Errorf("after the D: stock %d, want 4", n)
	}
	e.ledgerAgrees(t)
}

// TestTransferWastageCount walks the stock rules that people record.
func TestTransferWastageCount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	on := day("2026-01-05")
	lot := e.receive(t, "RIVERSIDE", inventory.ReceiptLine{CVX: "110", Lot: "PED-1", Expires: day("2026-02-01"), Funding: inventory.VFC, Doses: 20}, on)

	// Transfer: both sides recorded, each naming the other.
	if err := e.inv.Transfer(ctx, "RIVERSIDE", lot, "HILLTOP", 6, "vic", "short on Pediarix", on); err != nil {
		t.Fatal(err)
	}
	hill, err := e.inv.Lots(ctx, "HILLTOP")
	if err != nil || len(hill) != 1 || hill[0].OnHand != 6 || hill[0].Number != "PED-1" || hill[0].Funding != inventory.VFC {
		t.Fatalf("receiving side %+v %v", hill, err)
	}
	if n := e.count(t, `SELECT count(*) FROM inventory_transactions a JOIN inventory_transactions b ON a.counterpart = b.id AND b.counterpart = a.id
		WHERE a.kind = 'transfer_out' AND b.kind = 'transfer_in' AND a.quantity = -6 AND b.quantity = 6`); n != 1 {
		t.Errorf("transfer sides linked: %d", n)
	}
	for _, tc := range []struct {
		name   string
		err    func() error
		stock  int
		refuse bool
	}{
		{"transfer beyond the stock", func() error { return e.inv.Transfer(ctx, "RIVERSIDE", lot, "HILLTOP", 15, "vic", "", on) }, 14, true},
		{"transfer to itself", func() error { return e.inv.Transfer(ctx, "RIVERSIDE", lot, "RIVERSIDE", 1, "vic", "", on) }, 14, true},
		{"another clinic's lot", func() error { return e.inv.Transfer(ctx, "HILLTOP", lot, "RIVERSIDE", 1, "vic", "", on) }, 14, true},
		{"wastage: broken vial", func() error {
			return e.inv.Waste(ctx, "RIVERSIDE", lot, inventory.KindWastage, 1, inventory.ReasonBroken, "vic", "", on)
		}, 13, false},
		{"wastage: temperature excursion", func() error {
			return e.inv.Waste(ctx, "RIVERSIDE", lot, inventory.KindWastage, 2, inventory.ReasonTemperature, "vic", "fridge at 12C", on)
		}, 11, false},
		{"return: expired", func() error {
			return e.inv.Waste(ctx, "RIVERSIDE", lot, inventory.KindReturn, 1, inventory.ReasonExpired, "vic", "", on)
		}, 10, false},
		{"wastage without a reason", func() error { return e.inv.Waste(ctx, "RIVERSIDE", lot, inventory.KindWastage, 1, "", "vic", "", on) }, 10, true},
		{"other without a note", func() error {
			return e.inv.Waste(ctx, "RIVERSIDE", lot, inventory.KindWastage, 1, inventory.ReasonOther, "vic", "", on)
		}, 10, true},
		{"wastage beyond the stock", func() error {
			return e.inv.Waste(ctx, "RIVERSIDE", lot, inventory.KindWastage, 11, inventory.ReasonBroken, "vic", "", on)
		}, 10, true},
	} {
		if err := tc.err(); (err != nil) != tc.refuse || (err != nil && !inventory.IsInput(err)) {
			t.Errorf("%s: err %v", tc.name, err)
		}
		if got := e.onHand(t, lot); got != tc.stock {
			t.Errorf("%s: stock %d, want %d", tc.name, got, tc.stock)
		}
	}

	// The monthly count: a difference without a reason is refused and
	// changes nothing; with one it is reconciled by an adjustment.
	if _, _, err := e.inv.Count(ctx, "RIVERSIDE", "vic", on, []inventory.CountLine{{Lot: lot, Counted: 8}}); err == nil {
		t.Error("count differing without a reason accepted")
	}
	id, adj, err := e.inv.Count(ctx, "RIVERSIDE", "vic", on, []inventory.CountLine{{Lot: lot, Counted: 8, Reason: "two doses given, not reported"}})
	if err != nil || len(adj) != 1 || adj[0].Expected != 10 || adj[0].Change != -2 {
		t.Fatalf("count %d %+v %v", id, adj, err)
	}
	if got := e.onHand(t, lot); got != 8 {
		t.Errorf("after the count: stock %d", got)
	}
	if n := e.count(t, `SELECT count(*) FROM inventory_transactions WHERE kind = 'adjustment' AND quantity = -2 AND count_id = $1 AND reason <> ''`, id); n != 1 {
		t.Errorf("adjustment rows: %d", n)
	}

	// Alerts: the lot expires within 30 days; par 20 of CVX 110 is not met.
	if err := e.inv.SetPar(ctx, "RIVERSIDE", "110", 20); err != nil {
		t.Fatal(err)
	}
	al, err := e.inv.Alerts(ctx, "RIVERSIDE", on)
	if err != nil || len(al) != 2 || al[0].Kind != "expiring" || al[0].Days != 30 || al[1].Kind != "below par" || al[1].OnHand != 8 {
		t.Errorf("alerts %+v %v", al, err)
	}
	oh, err := e.inv.OnHand(ctx, "RIVERSIDE", on)
	if err != nil || oh["110"] != 8 {
		t.Errorf("on hand %v %v", oh, err)
	}
	e.ledgerAgrees(t)
}

// TestInventoryFailureKeepsTheDose breaks the inventory's ledger (a
// trigger that raises): the registry still stores the dose, the inventory's
// part is rolled back to its savepoint, and the message is not failed.
func TestInventoryFailureKeepsTheDose(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	lot := e.receive(t, "RIVERSIDE", inventory.ReceiptLine{CVX: "20", Lot: "B-1", Funding: inventory.VFC, Doses: 3}, day("2025-01-01"))
	if _, err := e.reg.Pool().Exec(ctx, `CREATE FUNCTION broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'broken ledger'; END $$;
		CREATE TRIGGER broken BEFORE INSERT ON inventory_transactions FOR EACH ROW EXECUTE FUNCTION broken()`); err != nil {
		t.Fatal(err)
	}
	if err := e.apply(t, vxu("RIVERSIDE", "B1", "BB1", dose{filler: "B1.1", cvx: "20", lot: "B-1"})); err != nil {
		t.Fatalf("the registry's write failed with the inventory's: %v", err)
	}
	got := [3]int{e.count(t, `SELECT count(*) FROM source_vaccinations`), e.count(t, `SELECT count(*) FROM inventory_doses`), e.onHand(t, lot)}
	if got != [3]int{1, 0, 3} {
		t.Errorf("doses stored, drawn, stock = %v, want [1 0 3]", got)
	}
}
