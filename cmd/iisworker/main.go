// Command iisworker runs the registry worker on its own, to scale the
// registry's writes out separately from the listeners (cmd/iisd also runs
// one), and loads synthetic registries for benchmarks.
//
//	iisworker -database-url postgres://... -nats-url nats://host:4222
//	iisworker -database-url postgres://... -seed 1000000     # COPY 1M synthetic patients, then exit
//
// Without -database-url (or DATABASE_URL) it starts the private PostgreSQL
// cluster under -data-dir/postgres (package localpg).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/iisproject/iis/localpg"
	msynth "github.com/iisproject/iis/match/synth"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/worker"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "iisworker:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		dbURL       = flag.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL; empty: private cluster under -data-dir)")
		natsURL     = flag.String("nats-url", os.Getenv("IIS_NATS_URL"), "NATS URL of the ingest stream (required to consume)")
		dataDir     = flag.String("data-dir", "./var", "data directory of the private PostgreSQL cluster")
		durable     = flag.String("durable", "registry", "JetStream durable consumer name shared by all workers")
		batch       = flag.Int("batch", 200, "messages fetched and committed together")
		concurrency = flag.Int("concurrency", 4, "parallel transactions per batch")
		maxDeliver  = flag.Int("max-deliver", 5, "deliveries before a message is dead-lettered")
		ackWait     = flag.Duration("ack-wait", time.Minute, "JetStream ack wait")
		metricsAddr = flag.String("metrics-addr", "127.0.0.1:9102", "address of /metrics (empty: none)")
		seed        = flag.Int("seed", 0, "load this many synthetic patients (COPY) and exit")
		noInventory = flag.Bool("no-inventory", false, "do not draw administered doses on the clinics' vaccine inventory")
	)
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *dbURL == "" {
		c, err := localpg.Start(ctx, filepath.Join(*dataDir, "postgres"))
		if err != nil {
			return err
		}
		*dbURL = c.URL()
		log.Info("private PostgreSQL", "dir", c.Dir(), "port", c.Port())
	}
	store, err := registry.Open(ctx, registry.Config{URL: *dbURL})
	if err != nil {
		return err
	}
	defer store.Close()

	if *seed > 0 {
		t0 := time.Now()
		pop := msynth.Generate(msynth.DefaultConfig(*seed))
		recs := pop.Records
		if len(recs) > *seed {
			recs = recs[:*seed]
		}
		log.Info("generated", "patients", len(recs), "took", time.Since(t0).Round(time.Millisecond))
		t1 := time.Now()
		n, err := registry.Seed(ctx, store.Pool(), recs)
		if err != nil {
			return err
		}
		el := time.Since(t1)
		log.Info("seeded", "patients", n, "took", el.Round(time.Millisecond), "patients/s", int(float64(n)/el.Seconds()))
		return nil
	}

	if *natsURL == "" {
		return errors.New("-nats-url (or IIS_NATS_URL) is required: the worker consumes the ingest stream of a NATS server")
	}
	q, err := queue.Open(ctx, queue.Config{URL: *natsURL, Logger: log})
	if err != nil {
		return err
	}
	defer q.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	w, err := worker.New(worker.Config{
		Queue: q, Store: store, Durable: *durable, BatchSize: *batch, Concurrency: *concurrency,
		MaxDeliver: *maxDeliver, AckWait: *ackWait, Registerer: reg, Logger: log, Doses: inventoryHook(store, *noInventory, log),
	})
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		srv := &http.Server{Addr: *metricsAddr, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics", "err", err)
			}
		}()
		defer srv.Close()
	}
	log.Info("worker running", "durable", *durable)
	return w.Run(ctx)
}
