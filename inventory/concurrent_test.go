package inventory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/iisproject/iis/inventory"
)

// TestConcurrentDecrements stores 80 doses of one lot holding 50, each
// message delivered twice or three times, by 8 goroutines applying
// batches at once (as the worker's shards and a second worker would):
// the lot ends at zero, never below, each dose is drawn exactly once (50
// from stock, 30 shortfalls), and the stock is the sum of the ledger.
func TestConcurrentDecrements(t *testing.T) {
	e := newEnv(t)
	const stock, doses, workers = 20, 80, 8
	lot := e.receive(t, "RIVERSIDE", inventory.ReceiptLine{CVX: "20", Lot: "HOT-1", Funding: inventory.VFC, Doses: stock}, day("2025-01-01"))
	var msgs [][]byte
	for i := range doses {
		on := day("2025-03-01").AddDate(0, 0, i).Format("20060102")
		msgs = append(msgs, vxu("RIVERSIDE", fmt.Sprintf("C%d", i), fmt.Sprintf("CC%d", i), dose{filler: fmt.Sprintf("C%d.1", i), cvx: "20", lot: "HOT-1", date: on}))
	}
	// Every message two or three times, shuffled, in batches of 1 to 5.
	var deliveries [][]byte
	for i, m := range msgs {
		deliveries = append(deliveries, m, m)
		if i%3 == 0 {
			deliveries = append(deliveries, m)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	work := make(chan [][]byte)
	go func() {
		for len(deliveries) > 0 {
			n := min(len(deliveries), 1+rng.IntN(3))
			work <- dedupe(deliveries[:n])
			deliveries = deliveries[n:]
		}
		close(work)
	}()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				if err := e.apply(t, batch...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Meanwhile the coordinator never sees negative stock.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if n := e.onHand(t, lot); n < 0 {
				t.Errorf("negative stock %d", n)
			}
			if len(errs) > 0 || e.count(t, `SELECT count(*) FROM inventory_doses`) == doses {
				return
			}
		}
	}()
	wg.Wait()
	<-done
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := [4]int{
		e.onHand(t, lot),
		e.count(t, `SELECT coalesce(sum(taken), 0) FROM inventory_doses WHERE active`),
		e.count(t, `SELECT coalesce(sum(shortfall), 0) FROM inventory_doses WHERE active`),
		e.count(t, `SELECT count(*) FROM inventory_transactions WHERE kind = 'administered'`),
	}
	if want := [4]int{0, stock, doses - stock, doses}; got != want {
		t.Errorf("stock, taken, shortfall, ledger rows = %v, want %v", got, want)
		t.Log("reports", e.count(t, `SELECT count(*) FROM source_reports`), "patients", e.count(t, `SELECT count(*) FROM patients`),
			"sv", e.count(t, `SELECT count(*) FROM source_vaccinations`), "events", e.count(t, `SELECT count(*) FROM vaccination_events`))
		rows, _ := e.reg.Pool().Query(context.Background(), `SELECT s.id, s.patient_id, s.control_id, s.consolidation, s.event_id, s.administered_on::text,
			(SELECT count(*) FROM source_vaccinations x WHERE x.patient_id = s.patient_id)
			FROM source_vaccinations s WHERE NOT EXISTS (SELECT 1 FROM inventory_doses d WHERE d.source_vaccination_id = s.id)`)
		for rows.Next() {
			v, _ := rows.Values()
			t.Log(v...)
		}
		rows.Close()
	}
	if n := e.count(t, `SELECT count(*) FROM (SELECT source_vaccination_id FROM inventory_transactions WHERE kind = 'administered'
		GROUP BY source_vaccination_id HAVING count(*) > 1) x`); n != 0 {
		t.Errorf("%d doses drawn twice", n)
	}
	e.ledgerAgrees(t)
}

// dedupe drops a second copy of a message within one batch (a worker's
// fetch never holds one stream message twice).
func dedupe(b [][]byte) [][]byte {
	seen := map[string]bool{}
	var out [][]byte
	for _, m := range b {
		if !seen[string(m)] {
			seen[string(m)] = true
			out = append(out, m)
		}
	}
	return out
}
