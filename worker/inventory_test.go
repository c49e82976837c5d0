package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/inventory"
	"github.com/iisproject/iis/worker"
)

// doseVXU is a VXU from WCLINIC for one child with one administered DTaP
// dose of lot (action A or D of filler order ORC-3 = ctl).
func doseVXU(ctl, filler, mrn, family, lot, action string) []byte {
	now := time.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|WCLINIC|IIS|IIS|%s||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", now.Format("20060102150405"), ctl)
	fmt.Fprintf(&b, "PID|1||%s^^^WCLINIC^MR||%s^Robin^^^^^L|Smith^^^^^^M|%s|F|||1 Main St^^Hartford^CT^06101^USA^P\r", mrn, family, now.AddDate(-1, 0, 0).Format("20060102"))
	fmt.Fprintf(&b, "ORC|RE||%s^WCLINIC\r", filler)
	fmt.Fprintf(&b, "RXA|0|1|%s||20^DTaP^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||%s||PMC^sanofi^MVX|||CP|%s\r", now.Format("20060102"), lot, action)
	if action == "A" {
		fmt.Fprintf(&b, "OBX|1|CE|64994-7^Eligibility^LN|1|V03^Uninsured^HL70064||||||F|||%s|||VXC40^per immunization^CDCPHINVS\r", now.Format("20060102"))
	}
	return []byte(b.String())
}

// TestInventoryThroughTheWorker runs the inventory's dose hook in the
// worker: three doses of a lot draw three doses, their redeliveries
// (after the queue's duplicate window) none, and an RXA-21 D gives one
// back.
func TestInventoryThroughTheWorker(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inv, err := inventory.New(inventory.Config{Pool: e.store.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := inv.Receive(ctx, "WCLINIC", "test", time.Now(), []inventory.ReceiptLine{{CVX: "20", Lot: "W-100", Funding: inventory.VFC, Doses: 5}})
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, worker.Config{Doses: inv})
	for i, fam := range []string{"Avery", "Brooks", "Castillo"} {
		m := e.publish(t, doseVXU(fmt.Sprintf("W%d", i), fmt.Sprintf("F%d", i), fmt.Sprintf("MRN%d", i), fam, "W-100", "A"))
		e.republish(t, m)
	}
	e.drain(t, "registry")
	stock := func() int { return e.count(t, `SELECT on_hand FROM inventory_lots WHERE id = $1`, ids[0]) }
	if n := stock(); n != 2 {
		t.Errorf("after three doses, each delivered twice: stock %d, want 2", n)
	}
	e.publish(t, doseVXU("W9", "F1", "MRN1", "Brooks", "", "D"))
	e.drain(t, "registry")
	if n := stock(); n != 3 {
		t.Errorf("after the D: stock %d, want 3", n)
	}
	if n := e.count(t, `SELECT count(*) FROM inventory_transactions WHERE kind = 'administered'`); n != 3 {
		t.Errorf("%d administered rows, want 3", n)
	}
}
