package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/localpg"
	"github.com/jackc/pgx/v5"
)

// traffic sends the three phases and returns the restore point's name: a
// base backup runs during the second phase, the restore point is recorded
// right after it, the third phase comes after the restore point.
func (d *drill) traffic(ctx context.Context) (string, error) {
	base := d.o.seed
	var rp string
	for i := range drillPhases {
		// Control ids carry the seed: each phase's identities are its own.
		d.o.seed = base*10 + uint64(i)
		path := filepath.Join(d.dir, fmt.Sprintf("sent-%d.jsonl", i+1))
		d.phases = append(d.phases, path)
		d.logf("phase %d of %d (seed %d)", i+1, drillPhases, d.o.seed)
		if i != 1 {
			if err := d.load(ctx, path); err != nil {
				return "", err
			}
			continue
		}
		var err error
		if rp, err = d.backupPhase(ctx, path); err != nil {
			return "", err
		}
	}
	d.o.seed = base
	return rp, nil
}

// backupPhase sends the second phase while pgBackRest takes the base
// backup. Halfway through, the workers stop: what is answered AA from then
// on waits in the queue, unapplied, when the restore point is recorded
// right after the phase (a worker lagging behind, as under a slow
// database). They start again after it.
func (d *drill) backupPhase(ctx context.Context, path string) (string, error) {
	backup := make(chan error, 1)
	go func() {
		_, err := d.timed(ctx, "base backup (pgBackRest full, under load)", "backup", "full")
		backup <- err
	}()
	paused := time.AfterFunc(d.o.duration/2, func() {
		d.faultMu.Lock()
		defer d.faultMu.Unlock()
		for _, w := range d.workers {
			w.stop(10 * time.Second)
		}
		d.logf("workers stopped: messages answered AA from now on wait in the queue")
	})
	lerr := d.load(ctx, path)
	if err := errors.Join(lerr, <-backup); err != nil {
		paused.Stop()
		return "", err
	}
	rp, err := d.step(ctx, "restore-point")
	if err != nil {
		return "", err
	}
	d.logf("restore point recorded: %s (the worker's ack floor at that moment: %d)", rp, restorePointSeq(rp))
	if paused.Stop() {
		d.logf("the load ended before the workers were stopped")
		return rp, nil
	}
	d.faultMu.Lock()
	defer d.faultMu.Unlock()
	for _, w := range d.workers {
		if err := d.startWorker(ctx, w); err != nil {
			return "", err
		}
	}
	d.logf("workers started again")
	return rp, nil
}

// restorePointSeq is the stream sequence a restore point's name carries
// (iis-<time>-seq-<n>), or 0.
func restorePointSeq(name string) uint64 {
	i := strings.LastIndex(name, "-seq-")
	if i < 0 {
		return 0
	}
	n, _ := strconv.ParseUint(name[i+len("-seq-"):], 10, 64)
	return n
}

// truth is the original registry, drained, before the disaster.
type truth struct {
	snap registrySnapshot
	seqs map[msgKey]uint64 // the stream sequence each report was stored from
	dead []deadLetter
}

// beforeDisaster drains the queue and reads the original registry.
func (d *drill) beforeDisaster(ctx context.Context) (truth, error) {
	var t truth
	if err := d.drain(ctx); err != nil {
		return t, err
	}
	var err error
	if t.snap, err = readRegistry(ctx, d.pg.URL()); err != nil {
		return t, err
	}
	if t.seqs, err = readStreamSeqs(ctx, d.pg.URL()); err != nil {
		return t, err
	}
	if t.dead, err = d.obs.deadLetters(ctx); err != nil {
		d.logf("dead-letter stream unreadable: %v", err)
	}
	d.logf("original registry: %d source reports", len(t.snap.reports))
	return t, nil
}

// readStreamSeqs reads the stream sequence every report was stored from.
func readStreamSeqs(ctx context.Context, url string) (map[msgKey]uint64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("registry: connect: %w", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT facility, control_id, coalesce(stream_seq, 0) FROM source_reports`)
	if err != nil {
		return nil, fmt.Errorf("registry: stream sequences: %w", err)
	}
	out := map[msgKey]uint64{}
	for rows.Next() {
		var k msgKey
		var seq int64
		if err := rows.Scan(&k.facility, &k.controlID, &seq); err != nil {
			rows.Close()
			return nil, fmt.Errorf("registry: stream sequences: %w", err)
		}
		out[k] = uint64(seq)
	}
	return out, rows.Err()
}

// disaster stops every service: iisd, NATS, the primary PostgreSQL.
func (d *drill) disaster() {
	d.logf("DISASTER: stopping iisd, NATS and the primary PostgreSQL; restoring from the backups alone")
	for _, p := range append([]*proc{d.listener}, d.workers...) {
		p.stop(10 * time.Second)
	}
	if d.obs != nil {
		d.obs.close()
		d.obs = nil
	}
	for _, n := range d.nats {
		n.p.stop(10 * time.Second)
	}
	if err := d.pg.Stop(); err != nil {
		d.logf("stop primary PostgreSQL: %v", err)
	}
	d.pg = nil
}

// restorePostgres restores the registry to the restore point into a new
// directory, starts it on a port of its own and waits for the promotion.
func (d *drill) restorePostgres(ctx context.Context) error {
	dir := filepath.Join(d.dir, "restored-postgres")
	d.logf("restoring PostgreSQL to %s %s", d.target.kind, d.target.value)
	if _, err := d.timed(ctx, "PostgreSQL restore (pgBackRest, files)", "restore-pg", dir, d.target.kind, d.target.value); err != nil {
		return err
	}
	// The copy holds the primary's port; the restored cluster takes another.
	if err := os.Remove(filepath.Join(dir, "localpg.port")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	t := time.Now()
	pg, err := localpg.Start(ctx, dir)
	if err != nil {
		return err
	}
	d.restored = pg
	if err := waitPromoted(ctx, pg.URL(), 5*time.Minute); err != nil {
		return err
	}
	d.timings = append(d.timings, fmt.Sprintf("%-50s %6.1fs", "PostgreSQL recovery (WAL to the point, promote)", time.Since(t).Seconds()))
	d.logf("restored registry up on 127.0.0.1:%d, recovered and promoted in %.1fs", pg.Port(), time.Since(t).Seconds())
	return nil
}

// waitPromoted waits until the restored cluster has finished its recovery.
func waitPromoted(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			var inRecovery bool
			err = conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery)
			conn.Close(context.Background())
			if err == nil && !inRecovery {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("restored PostgreSQL still in recovery after %v (last error %v)", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// restoreStream starts a fresh nats-server and restores the stream
// snapshot into it.
func (d *drill) restoreStream(ctx context.Context, backup string) error {
	dir := filepath.Join(d.dir, "restored-nats")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	nodes, err := newNATS(dir, d.nat, 1)
	if err != nil {
		return err
	}
	d.nats = nodes
	if err := nodes[0].p.start(); err != nil {
		return err
	}
	if err := nodes[0].waitReady(ctx, 60*time.Second); err != nil {
		return err
	}
	d.logf("fresh nats-server up on %s", nodes[0].url())
	_, err = d.timed(ctx, "JetStream restore (nats backup restore stream)", "restore-stream", backup)
	return err
}

// replay runs `iisd replay -from` against the restored services.
func (d *drill) replay(ctx context.Context, from string) error {
	p := &proc{name: "iisd replay", bin: d.iisd, logPath: filepath.Join(d.dir, "replay.log"),
		args: []string{"replay", "-from", from, "-database-url", d.restored.URL(), "-nats-url", natsURLs(d.nats),
			"-data-dir", filepath.Join(d.dir, "replay"), "-mllp-addr", "", "-http-addr", ""}}
	t := time.Now()
	d.logf("iisd replay -from %s", from)
	if err := p.start(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		p.stop(10 * time.Second)
		return ctx.Err()
	case <-p.exited():
	case <-time.After(10 * time.Minute):
		p.stop(10 * time.Second)
		return fmt.Errorf("iisd replay did not finish in 10 minutes; see %s", p.logPath)
	}
	if err := p.exitErr(); err != nil {
		return fmt.Errorf("iisd replay: %w; see %s", err, p.logPath)
	}
	d.timings = append(d.timings, fmt.Sprintf("%-50s %6.1fs", "stream replay (iisd replay)", time.Since(t).Seconds()))
	if b, err := os.ReadFile(p.logPath); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "replay: ") {
				d.logf("  %s", l)
			}
		}
	}
	return nil
}
