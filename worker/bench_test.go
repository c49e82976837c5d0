package worker_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iisproject/iis/inventory"
	msynth "github.com/iisproject/iis/match/synth"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/synth"
	"github.com/iisproject/iis/worker"
	"github.com/jackc/pgx/v5"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkWorker measures doses committed per second, matching and
// consolidation included, from a queue holding b.N synthetic VXUs (cmd
// synth's traffic: new patients, 1% resends, 1% second-clinic reports, 1%
// malformed) into a registry seeded with IIS_BENCH_PATIENTS patients
// (default 20,000; match/synth's population loaded with COPY).
// IIS_BENCH_CONCURRENCY and IIS_BENCH_BATCH set the worker's (default:
// the worker's own defaults, 4 parallel transactions of a batch of 200; at
// 1M patients 2 transactions gave about 15% fewer doses/s, 6 about 40%
// fewer).
// IIS_BENCH_ENVELOPE queues the messages in envelopes of that many, as a
// listener's group commit does under load (default 1: one stream message
// each).
// IIS_BENCH_QUALITY_TRIGGER=off stores the messages without noting them
// for the data quality reports (package quality), to measure what that
// trigger costs.
// IIS_BENCH_INVENTORY=on runs the worker with the inventory's dose hook,
// every synthetic clinic keeping an inventory whose five lots every
// dose's lot number is mapped to (inventory.SeedSynthetic: the busiest
// lots there can be); compare with a run without it.
// IIS_BENCH_DATABASE_URL runs against an existing registry instead (for
// example one seeded with `go run ./cmd/iisworker -seed 1000000`); the
// benchmark's writes stay in it.
func BenchmarkWorker(b *testing.B) {
	ctx := context.Background()
	var e *env
	if url := os.Getenv("IIS_BENCH_DATABASE_URL"); url != "" {
		e = newEnvURL(b, url)
		var n int
		_ = e.store.Pool().QueryRow(ctx, `SELECT count(*) FROM patients`).Scan(&n)
		b.Logf("registry of %d patients", n)
	} else {
		e = newEnv(b)
		n := envInt("IIS_BENCH_PATIENTS", 20000)
		pop := msynth.Generate(msynth.DefaultConfig(n))
		recs := pop.Records
		if len(recs) > n {
			recs = recs[:n]
		}
		t0 := time.Now()
		if _, err := registry.Seed(ctx, e.store.Pool(), recs); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d patients in %v", len(recs), time.Since(t0).Round(time.Millisecond))
	}

	if os.Getenv("IIS_BENCH_QUALITY_TRIGGER") == "off" {
		if _, err := e.store.Pool().Exec(ctx, `ALTER TABLE source_reports DISABLE TRIGGER source_reports_quality_insert`); err != nil {
			b.Fatal(err)
		}
	}
	var doses worker.DoseHook
	var timed *timedHook
	if os.Getenv("IIS_BENCH_INVENTORY") == "on" && b.N > 1 { // not for the b.N = 1 probe
		timed = &timedHook{hook: seedInventory(b, e)}
		doses = timed
	}
	// A fresh seed per run, so that a reused registry gets new messages.
	gen := synth.New(synth.Config{Seed: uint64(time.Now().UnixNano())})
	group := envInt("IIS_BENCH_ENVELOPE", 1)
	var pending []*queue.Message
	flush := func() {
		if len(pending) == 1 {
			if _, err := e.q.Publish(ctx, pending[0]); err != nil {
				b.Fatal(err)
			}
		} else if len(pending) > 1 {
			for _, err := range func() []error { _, errs := e.q.PublishAll(ctx, pending); return errs }() {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		pending = pending[:0]
	}
	for range b.N {
		m := gen.Next()
		r := validator.Decode(m.Body)
		kind := "vxu"
		if r.Rejected() {
			kind = "rejected"
		}
		pending = append(pending, &queue.Message{Kind: kind, Facility: m.Facility, ControlID: m.ControlID, Transport: "mllp", Type: "VXU",
			Ack: validator.AckCode(r), Received: time.Now(), Body: m.Body})
		if len(pending) >= group {
			flush()
		}
	}
	flush()
	b.ResetTimer()
	start := time.Now()
	w := e.start(b, worker.Config{
		Concurrency: envInt("IIS_BENCH_CONCURRENCY", 4),
		BatchSize:   envInt("IIS_BENCH_BATCH", 200),
		FetchWait:   50 * time.Millisecond,
		Doses:       doses,
	})
	e.drainWithin(b, "registry", 30*time.Minute)
	el := time.Since(start)
	b.StopTimer()
	s := w.Stats()
	if doses != nil {
		var drawn, matched int
		_ = e.store.Pool().QueryRow(ctx, `SELECT count(*), count(lot_id) FROM inventory_doses`).Scan(&drawn, &matched)
		b.Logf("inventory: %d doses drawn, %d on a lot", drawn, matched)
		if s.Doses > 0 {
			b.ReportMetric(float64(timed.ns.Load())/float64(s.Doses)/1e3, "hook-µs/dose")
		}
	}
	b.ReportMetric(float64(s.Doses)/el.Seconds(), "doses/s")
	b.ReportMetric(float64(s.Stored+s.Duplicates+s.StoredOnly)/el.Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
}

// timedHook adds up the time the hook takes (wall time, in the
// transaction: its round trips, its statements' work and any wait for a
// lot's row lock).
type timedHook struct {
	hook worker.DoseHook
	ns   atomic.Int64
}

func (h *timedHook) Applied(ctx context.Context, tx pgx.Tx, msgs []*registry.Message, res []registry.Result) error {
	t0 := time.Now()
	err := h.hook.Applied(ctx, tx, msgs, res)
	h.ns.Add(int64(time.Since(t0)))
	return err
}

// seedInventory gives synth's clinics their inventories and returns the
// hook.
func seedInventory(b *testing.B, e *env) worker.DoseHook {
	inv, err := inventory.New(inventory.Config{Pool: e.store.Pool()})
	if err != nil {
		b.Fatal(err)
	}
	var clinics, lots []string
	for i := 1; i <= 20; i++ {
		clinics = append(clinics, fmt.Sprintf("CLINIC%03d", i))
	}
	for i := range 100000 {
		lots = append(lots, fmt.Sprintf("L%05d", i))
	}
	lots = append(lots, "HB0001", "X1")
	t0 := time.Now()
	if err := inv.SeedSynthetic(context.Background(), clinics, lots, 1_000_000_000); err != nil {
		b.Fatal(err)
	}
	b.Logf("inventories seeded in %v", time.Since(t0).Round(time.Millisecond))
	return inv
}
