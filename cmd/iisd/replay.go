package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/worker"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// replay is `iisd replay -from SEQ [iisd's flags]`: after the registry was
// restored to an earlier point in time, it applies the ingest stream again
// from stream sequence SEQ up to the stream's last message when it starts,
// through the registry worker on a consumer of its own (replay-SEQ), and
// exits once that consumer has acknowledged them all. The worker's writes
// are keyed on each message's source identity, so a message the restored
// registry already holds is recognised as a duplicate: replaying more than
// needed is harmless. SEQ comes from the restore point's name (see
// docs/backup-restore.md and deploy/backup/iis-backup.sh).
//
// It reads the same configuration as iisd (-config, IIS_*, DATABASE_URL,
// -nats-url). With the embedded queue (no NATS URL) iisd must be stopped
// first, since the two would share one JetStream store.
func replay(args []string, getenv func(string) string, out io.Writer) error {
	from, rest, err := replayFrom(args)
	if err != nil {
		return err
	}
	cfg, _, err := loadConfig(rest, getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := openForReplay(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.shutdown(30 * time.Second)
	return s.replay(ctx, from, out)
}

func runReplay() {
	if err := replay(os.Args[2:], os.Getenv, os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "iisd replay:", err)
		os.Exit(1)
	}
}

// replayFrom takes -from SEQ (or -from=SEQ) out of args; the rest are
// iisd's own flags.
func replayFrom(args []string) (uint64, []string, error) {
	var from string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "-")
		switch {
		case a == "from" || a == "-from":
			if i+1 == len(args) {
				return 0, nil, errors.New("-from needs a stream sequence")
			}
			from = args[i+1]
			i++
		case strings.HasPrefix(a, "from=") || strings.HasPrefix(a, "-from="):
			_, from, _ = strings.Cut(a, "=")
		default:
			rest = append(rest, args[i])
		}
	}
	if from == "" {
		return 0, nil, errors.New("usage: iisd replay -from SEQ [iisd flags]: the first ingest stream sequence to apply again")
	}
	seq, err := strconv.ParseUint(from, 10, 64)
	if err != nil || seq == 0 {
		return 0, nil, fmt.Errorf("-from %q: want a stream sequence, 1 or more", from)
	}
	return seq, rest, nil
}

// openForReplay opens the queue, the registry and the facilities'
// validation profiles, as iisd does.
func openForReplay(ctx context.Context, cfg Config) (*server, error) {
	log := newLogger(cfg.LogLevel)
	s := &server{cfg: cfg, log: log}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if s.q, err = openQueue(ctx, cfg, dataDir, prometheus.NewRegistry(), log); err != nil {
		return nil, err
	}
	if err := s.openRegistry(ctx, dataDir); err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	if s.profiles, err = facility.Open(ctx, s.store.Pool(), validatorConfig(cfg), log); err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	return s, nil
}

// replay applies stream sequences from..last (the last when it starts)
// and removes its consumer when done.
func (s *server) replay(ctx context.Context, from uint64, out io.Writer) error {
	js, stream := s.q.JetStream(), s.q.Config().Stream
	info, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	st := info.CachedInfo().State
	if st.Msgs == 0 || from > st.LastSeq {
		fmt.Fprintf(out, "replay: nothing to apply (stream %s holds sequences %d..%d)\n", stream, st.FirstSeq, st.LastSeq)
		return nil
	}
	if from < st.FirstSeq {
		// Older messages are gone (MaxAge): whatever the restored registry
		// lacks from before the stream's first message cannot be replayed.
		fmt.Fprintf(out, "replay: WARNING: sequences %d..%d are no longer in the stream (it starts at %d)\n", from, st.FirstSeq-1, st.FirstSeq)
		from = st.FirstSeq
	}
	durable := "replay-" + strconv.FormatUint(from, 10)
	w, err := worker.New(worker.Config{Queue: s.q, Store: s.store, Validator: immz.New(validatorConfig(s.cfg)), Profiles: s.profiles,
		BatchSize: s.cfg.WorkerBatch, Concurrency: s.cfg.WorkerConcurrency, Durable: durable, StartSeq: from, Logger: s.log})
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(out, "replay: applying stream %s sequences %d..%d (consumer %s)\n", stream, from, st.LastSeq, durable)
	wctx, cancel := context.WithCancel(context.Background())
	s.stopW, s.doneW = cancel, make(chan error, 1)
	go func() { s.doneW <- w.Run(wctx) }()
	if err := waitApplied(ctx, js, stream, durable, st.LastSeq, out); err != nil {
		return err
	}
	cancel()
	if err := <-s.doneW; err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	s.stopW = nil
	if err := js.DeleteConsumer(context.WithoutCancel(ctx), stream, durable); err != nil {
		fmt.Fprintf(out, "replay: consumer %s not removed: %v\n", durable, err)
	}
	ws := w.Stats()
	fmt.Fprintf(out, "replay: done in %.1fs: sequences %d..%d, stored=%d duplicates=%d stored-only=%d dead-lettered=%d\n",
		time.Since(start).Seconds(), from, st.LastSeq, ws.Stored, ws.Duplicates, ws.StoredOnly, ws.Dead)
	return nil
}

// waitApplied waits until the consumer has acknowledged every message up
// to last (or has nothing left at all).
func waitApplied(ctx context.Context, js jetstream.JetStream, stream, durable string, last uint64, out io.Writer) error {
	lastPrint := time.Now()
	for {
		c, err := js.Consumer(ctx, stream, durable)
		if err != nil {
			return fmt.Errorf("consumer %s: %w", durable, err)
		}
		ci, err := c.Info(ctx)
		if err != nil {
			return fmt.Errorf("consumer %s: %w", durable, err)
		}
		if ci.AckFloor.Stream >= last || ci.NumPending == 0 && ci.NumAckPending == 0 && ci.Delivered.Stream >= last {
			return nil
		}
		if time.Since(lastPrint) >= 10*time.Second {
			fmt.Fprintf(out, "replay: acknowledged up to %d of %d\n", ci.AckFloor.Stream, last)
			lastPrint = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
