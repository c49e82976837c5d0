// Command chaos is the crash test behind `make chaos`: it starts a private
// PostgreSQL, its own NATS server processes and iisd listener and worker
// processes on loopback, drives a steady synthetic VXU load with hl7send,
// and meanwhile kill -9s the listener and the workers, restarts
// PostgreSQL and kill -9s NATS (one node of three with -cluster). When the
// load has stopped and the workers have drained the queue it reconciles
// every ACK hl7send got against the registry and exits non-zero on any
// lost, duplicated, half-written or invented report. See README.md.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/iisproject/iis/localpg"
)

type options struct {
	duration     time.Duration
	rate         float64
	conns        int
	seed         uint64
	cluster      bool
	keep         bool
	workDir      string
	workers      int
	down         time.Duration
	drainTimeout time.Duration
	resendRate   float64
	otherRate    float64
	badRate      float64
	faults       map[string]bool

	// The restore drill's (restore.go): workDir made up for the run
	// (removed after a pass); restore to the restore point by "name" or by
	// its "time"; leave out iisd replay (the drill must then fail).
	ownDir      bool
	drillTarget string
	skipReplay  bool
}

// faultNames are the -faults values, in script order.
var faultNames = []string{"listener", "worker", "postgres", "nats"}

func parseFaults(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "" || f == "none":
		case slices.Contains(faultNames, f):
			out[f] = true
		default:
			return nil, fmt.Errorf("-faults: unknown fault %q (use %s or none)", f, strings.Join(faultNames, ","))
		}
	}
	return out, nil
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "length of the load (messages = rate × duration)")
	flag.Float64Var(&o.rate, "rate", 300, "messages per second")
	flag.IntVar(&o.conns, "c", 8, "concurrent MLLP connections")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the synthetic traffic")
	flag.BoolVar(&o.cluster, "cluster", false, "3 NATS servers with routes, R3 streams; kill -9 the stream leader instead of restarting the single server")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (it is kept anyway when the run fails)")
	flag.StringVar(&o.workDir, "dir", "", "work directory (default: a new one under the system temporary directory)")
	flag.IntVar(&o.workers, "workers", 2, "iisd -mode worker processes")
	flag.DurationVar(&o.down, "down", time.Second, "how long a killed component stays down before it is restarted")
	flag.DurationVar(&o.drainTimeout, "drain-timeout", 5*time.Minute, "longest wait for the workers to drain the queue after the load")
	flag.Float64Var(&o.resendRate, "resend-rate", 0.01, "share of exact resends in the load")
	flag.Float64Var(&o.otherRate, "other-rate", 0.01, "share of the same doses reported by another clinic")
	flag.Float64Var(&o.badRate, "malformed-rate", 0.01, "share of malformed messages")
	drill := flag.Bool("restore-drill", false, "instead of faults: the backup and restore drill (make restore-drill; -duration is per phase, default 10s; -dir default var/drill/<time>)")
	flag.StringVar(&o.drillTarget, "restore-target", "name", "restore drill: restore PostgreSQL to the restore point by its name, or by its time (the point-in-time path)")
	flag.BoolVar(&o.skipReplay, "skip-replay", false, "restore drill: leave out iisd replay, to see the drill catch the loss")
	faults := flag.String("faults", strings.Join(faultNames, ","), "faults to inject, comma-separated: "+strings.Join(faultNames, ",")+" (or none)")
	flag.Parse()
	var err error
	if o.faults, err = parseFaults(*faults); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if o.workers < 1 || o.conns < 1 || o.rate <= 0 || o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "chaos: -workers, -c, -rate and -duration must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *drill {
		code := runRestoreDrill(ctx, drillOptions(o), os.Stdout)
		stop()
		os.Exit(code)
	}
	code := run(ctx, o, os.Stdout)
	stop()
	os.Exit(code)
}

// run returns the exit code: 0 pass, 1 loss/duplicates, 2 the run itself
// failed, 130 interrupted.
func run(ctx context.Context, o options, out io.Writer) int {
	r := &runner{o: o, out: out, start: time.Now()}
	defer r.cleanup()
	failed, err := r.run(ctx)
	return r.exitCode(ctx, "chaos", failed, err)
}

// exitCode maps a run's outcome to its exit code and marks a failed run,
// whose work directory is then kept.
func (r *runner) exitCode(ctx context.Context, name string, failed bool, err error) int {
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(r.out, name+": interrupted; stopping everything")
		return 130
	case err != nil:
		r.failed = true
		fmt.Fprintln(r.out, name+": run failed:", err)
		return 2
	case failed:
		r.failed = true
		return 1
	}
	return 0
}

// runner holds one chaos run's processes and state.
type runner struct {
	o     options
	out   io.Writer
	start time.Time

	dir                string
	iisd, hl7send, nat string // binaries

	pg        *localpg.Cluster
	pgDir     string
	nats      []*natsNode
	obs       *observer
	listener  *proc
	workers   []*proc
	sender    *proc
	mllpAddr  string
	httpAddr  string
	failed    bool
	createdWD bool

	faultMu sync.Mutex // held while a fault runs: watch leaves processes alone meanwhile
	crashes []string   // processes that exited without chaos stopping them
}

// watch restarts an iisd process that exited on its own (a crash, not a
// scripted kill) and records it: the run goes on, the summary reports it.
func (r *runner) watch(ctx context.Context) error {
	if !r.faultMu.TryLock() {
		return nil
	}
	defer r.faultMu.Unlock()
	procs := append([]*proc{r.listener}, r.workers...)
	for _, p := range procs {
		if !p.crashed() {
			continue
		}
		msg := fmt.Sprintf("%s exited on its own (%v); see %s", p.name, p.exitErr(), p.logPath)
		r.crashes = append(r.crashes, msg)
		r.logf("UNEXPECTED: %s; restarting it", msg)
		var err error
		if p == r.listener {
			err = r.startListener(ctx)
		} else {
			err = r.startWorker(ctx, p)
		}
		if err != nil {
			return fmt.Errorf("restart %s: %w", p.name, err)
		}
	}
	return nil
}

// logf prints a timestamped event line.
func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "%s [%7.2fs] %s\n", time.Now().UTC().Format("15:04:05.000"), time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

func (r *runner) run(ctx context.Context) (bool, error) {
	if err := r.setup(ctx); err != nil {
		return false, err
	}
	if err := r.startAll(ctx); err != nil {
		return false, err
	}
	sentPath := filepath.Join(r.dir, "sent.jsonl")
	if err := r.load(ctx, sentPath); err != nil {
		return false, err
	}
	if err := r.drain(ctx); err != nil {
		return false, err
	}
	sent, err := readSent(sentPath)
	if err != nil {
		return false, err
	}
	snap, err := readRegistry(ctx, r.pg.URL())
	if err != nil {
		return false, err
	}
	dead, err := r.obs.deadLetters(ctx)
	if err != nil {
		r.logf("dead-letter stream unreadable: %v", err)
	}
	for i, d := range dead {
		if i == 20 {
			fmt.Fprintf(r.out, "  dead-lettered: ... %d more\n", len(dead)-20)
			break
		}
		fmt.Fprintf(r.out, "  dead-lettered: facility=%s control_id=%s reason=%q\n", d.facility, d.controlID, d.reason)
	}
	res := reconcile(sent, snap)
	res.markDead(dead)
	mode := "single NATS"
	if r.o.cluster {
		mode = "3-node NATS cluster, R3"
	}
	label := fmt.Sprintf("%s, %d workers, %v at %.0f msgs/s, %d connections, seed %d", mode, r.o.workers, r.o.duration, r.o.rate, r.o.conns, r.o.seed)
	for _, c := range r.crashes {
		fmt.Fprintf(r.out, "  unexpected exit: %s\n", c)
	}
	res.print(r.out, snap, len(dead), len(r.crashes), label)
	return res.failures() > 0, nil
}

// setup makes the work directory and builds the binaries into it.
func (r *runner) setup(ctx context.Context) error {
	dir := r.o.workDir
	if dir == "" {
		d, err := os.MkdirTemp("", "iis-chaos-")
		if err != nil {
			return fmt.Errorf("work directory: %w", err)
		}
		dir, r.createdWD = d, true
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("work directory: %w", err)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	// Traversable: as root the private PostgreSQL runs as "postgres".
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("work directory: %w", err)
	}
	r.dir = dir
	r.logf("work directory %s", dir)

	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "bin")
	r.iisd, r.hl7send, r.nat = filepath.Join(bin, "iisd"), filepath.Join(bin, "hl7send"), filepath.Join(bin, "nats-server")
	for _, b := range []struct{ out, pkg string }{
		{r.iisd, "./cmd/iisd"}, {r.hl7send, "./cmd/hl7send"}, {r.nat, "github.com/nats-io/nats-server/v2"},
	} {
		t := time.Now()
		cmd := exec.CommandContext(ctx, goTool(), "build", "-o", b.out, b.pkg)
		cmd.Dir = root
		if outb, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w: %s", b.pkg, err, bytes.TrimSpace(outb))
		}
		r.logf("built %s (%.1fs)", filepath.Base(b.out), time.Since(t).Seconds())
	}
	return nil
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// moduleRoot is the directory of the project's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	outb, err := exec.CommandContext(ctx, goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(outb))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run chaos inside the iis module (go run ./cmd/chaos)")
	}
	return filepath.Dir(gomod), nil
}

// startAll starts PostgreSQL, NATS, the listener and the workers.
func (r *runner) startAll(ctx context.Context) error {
	r.pgDir = filepath.Join(r.dir, "postgres")
	t := time.Now()
	pg, err := localpg.Start(ctx, r.pgDir)
	if err != nil {
		return err
	}
	r.pg = pg
	r.logf("PostgreSQL up on 127.0.0.1:%d (%.1fs)", pg.Port(), time.Since(t).Seconds())

	count := 1
	if r.o.cluster {
		count = 3
	}
	if r.nats, err = newNATS(r.dir, r.nat, count); err != nil {
		return err
	}
	for _, n := range r.nats {
		if err := n.p.start(); err != nil {
			return err
		}
	}
	for _, n := range r.nats {
		if err := n.waitReady(ctx, 60*time.Second); err != nil {
			return err
		}
		r.logf("nats %s up on %s (pid %d)", n.name, n.url(), n.p.pid())
	}
	if r.obs, err = newObserver(natsURLs(r.nats)); err != nil {
		return err
	}

	mllpPort, err := freePort()
	if err != nil {
		return err
	}
	httpPort, err := freePort()
	if err != nil {
		return err
	}
	r.mllpAddr, r.httpAddr = fmt.Sprintf("127.0.0.1:%d", mllpPort), fmt.Sprintf("127.0.0.1:%d", httpPort)
	replicas := strconv.Itoa(count)
	common := []string{"-database-url", pg.URL(), "-nats-url", natsURLs(r.nats), "-queue-replicas", replicas}
	r.listener = &proc{name: "listener", bin: r.iisd, logPath: filepath.Join(r.dir, "listener.log"),
		args: append([]string{"-mode", "listener", "-data-dir", filepath.Join(r.dir, "listener"),
			"-mllp-addr", r.mllpAddr, "-http-addr", r.httpAddr}, common...)}
	if err := r.startListener(ctx); err != nil {
		return err
	}
	r.logf("listener up: MLLP %s, HTTP %s (pid %d)", r.mllpAddr, r.httpAddr, r.listener.pid())
	for i := range r.o.workers {
		name := fmt.Sprintf("worker%d", i+1)
		w := &proc{name: name, bin: r.iisd, logPath: filepath.Join(r.dir, name+".log"),
			args: append([]string{"-mode", "worker", "-data-dir", filepath.Join(r.dir, name), "-mllp-addr", "", "-http-addr", ""}, common...)}
		r.workers = append(r.workers, w)
		if err := r.startWorker(ctx, w); err != nil {
			return err
		}
		r.logf("%s up (pid %d)", name, w.pid())
	}
	return nil
}

func (r *runner) startListener(ctx context.Context) error {
	if err := r.listener.start(); err != nil {
		return err
	}
	return waitHTTP(ctx, r.listener, "http://"+r.httpAddr+"/readyz", 60*time.Second)
}

func (r *runner) startWorker(ctx context.Context, w *proc) error {
	if err := w.start(); err != nil {
		return err
	}
	return waitLog(ctx, w, "iisd is running", 60*time.Second)
}

// load runs hl7send and, meanwhile, the scripted faults.
func (r *runner) load(ctx context.Context, sentPath string) error {
	n := int(r.o.rate * r.o.duration.Seconds())
	r.sender = &proc{name: "hl7send", bin: r.hl7send, logPath: filepath.Join(r.dir, "hl7send.log"),
		args: []string{"-mllp", r.mllpAddr, "-synth", strconv.Itoa(n), "-c", strconv.Itoa(r.o.conns),
			"-rate", strconv.FormatFloat(r.o.rate, 'f', -1, 64), "-seed", strconv.FormatUint(r.o.seed, 10),
			"-resend-rate", strconv.FormatFloat(r.o.resendRate, 'f', -1, 64),
			"-other-rate", strconv.FormatFloat(r.o.otherRate, 'f', -1, 64),
			"-malformed-rate", strconv.FormatFloat(r.o.badRate, 'f', -1, 64),
			"-record", sentPath, "-q"}}
	if err := r.sender.start(); err != nil {
		return err
	}
	loadStart := time.Now()
	r.logf("load: hl7send %d messages at %.0f/s over %d connections (pid %d)", n, r.o.rate, r.o.conns, r.sender.pid())

	faultsDone := make(chan error, 1)
	faultCtx, stopFaults := context.WithCancel(ctx)
	defer stopFaults()
	go func() { faultsDone <- r.faults(faultCtx, ctx, loadStart) }()

	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			stopFaults()
			<-faultsDone // a fault in progress gives up on ctx
			return ctx.Err()
		case <-r.sender.exited():
			break wait
		case <-tick.C:
			if err := r.watch(ctx); err != nil {
				return err
			}
		}
	}
	r.logf("load finished after %.1fs (hl7send: %v)", time.Since(loadStart).Seconds(), exitText(r.sender.exitErr()))
	stopFaults()
	ferr := <-faultsDone
	if b, err := os.ReadFile(r.sender.logPath); err == nil {
		s := string(b)
		if i := strings.LastIndex(s, "\nsent "); i >= 0 {
			fmt.Fprintf(r.out, "-- hl7send summary --%s\n", strings.TrimRight(s[i:], "\n"))
		}
	}
	// hl7send exits 3 when some messages failed at transport level: expected here.
	var ee *exec.ExitError
	if err := r.sender.exitErr(); err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		return fmt.Errorf("hl7send: %w; see %s", err, r.sender.logPath)
	}
	if ferr != nil && !errors.Is(ferr, context.Canceled) {
		return ferr
	}
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}

// fault is one scripted event, at a share of the load's duration.
type fault struct {
	at   float64
	kind string // a -faults name
	name string
	do   func(context.Context) error
}

// faults runs the script until sched is cancelled (the load is over); a
// fault is carried out under ctx, so that it completes once begun unless
// chaos is interrupted.
func (r *runner) faults(sched, ctx context.Context, loadStart time.Time) error {
	second := r.workers[len(r.workers)-1]
	natsFault := fault{0.60, "nats", "kill -9 NATS and restart it", r.restartNATS}
	if r.o.cluster {
		natsFault = fault{0.60, "nats", "kill -9 the NATS stream leader and restart it", r.killNATSLeader}
	}
	script := []fault{
		{0.15, "listener", "kill -9 the listener and restart it", r.killListener},
		{0.30, "worker", "kill -9 a worker mid-batch and restart it", func(ctx context.Context) error { return r.killWorker(ctx, r.workers[0]) }},
		{0.45, "postgres", "restart PostgreSQL", r.restartPostgres},
		natsFault,
		{0.75, "worker", "kill -9 a worker mid-batch and restart it", func(ctx context.Context) error { return r.killWorker(ctx, second) }},
	}
	for _, f := range script {
		if !r.o.faults[f.kind] {
			continue
		}
		at := loadStart.Add(time.Duration(f.at * float64(r.o.duration)))
		select {
		case <-sched.Done():
			r.logf("fault skipped (load over): %s", f.name)
			continue
		case <-time.After(time.Until(at)):
		}
		if !r.sender.running() {
			r.logf("fault skipped (load over): %s", f.name)
			continue
		}
		r.logf("FAULT: %s", f.name)
		r.faultMu.Lock()
		err := f.do(ctx)
		r.faultMu.Unlock()
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

func (r *runner) pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(r.o.down):
	}
}

func (r *runner) killListener(ctx context.Context) error {
	pid := r.listener.pid()
	r.listener.kill9()
	r.logf("  listener killed (pid %d, SIGKILL)", pid)
	r.pause(ctx)
	t := time.Now()
	if err := r.startListener(ctx); err != nil {
		return err
	}
	r.logf("  listener restarted on %s (pid %d, ready in %.1fs)", r.mllpAddr, r.listener.pid(), time.Since(t).Seconds())
	return nil
}

func (r *runner) killWorker(ctx context.Context, w *proc) error {
	// Mid-batch: wait (briefly) until the consumer has messages delivered
	// and not yet acknowledged.
	var ackPending int
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, ap, err := r.obs.pending(ctx); err == nil && ap > 0 {
			ackPending = ap
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := w.pid()
	w.kill9()
	r.logf("  %s killed (pid %d, SIGKILL) with %d messages delivered and unacknowledged", w.name, pid, ackPending)
	r.pause(ctx)
	t := time.Now()
	if err := r.startWorker(ctx, w); err != nil {
		return err
	}
	r.logf("  %s restarted (pid %d, ready in %.1fs)", w.name, w.pid(), time.Since(t).Seconds())
	return nil
}

func (r *runner) restartPostgres(ctx context.Context) error {
	t := time.Now()
	if err := r.pg.Stop(); err != nil {
		return err
	}
	r.logf("  PostgreSQL stopped (pg_ctl stop -m fast, %.1fs)", time.Since(t).Seconds())
	r.pause(ctx)
	t = time.Now()
	pg, err := localpg.Start(ctx, r.pgDir)
	if err != nil {
		return err
	}
	r.pg = pg
	r.logf("  PostgreSQL started again on 127.0.0.1:%d (%.1fs)", pg.Port(), time.Since(t).Seconds())
	return nil
}

func (r *runner) restartNATS(ctx context.Context) error {
	return r.killNATSNode(ctx, r.nats[0])
}

func (r *runner) killNATSLeader(ctx context.Context) error {
	leader, err := r.obs.streamLeader(ctx)
	if err != nil {
		r.logf("  stream leader unknown (%v): killing n2", err)
		leader = "n2"
	}
	for _, n := range r.nats {
		if n.name == leader {
			return r.killNATSNode(ctx, n)
		}
	}
	return fmt.Errorf("stream leader %q is not one of ours", leader)
}

func (r *runner) killNATSNode(ctx context.Context, n *natsNode) error {
	pid := n.p.pid()
	n.p.kill9()
	r.logf("  nats %s killed (pid %d, SIGKILL)", n.name, pid)
	r.pause(ctx)
	t := time.Now()
	if err := n.p.start(); err != nil {
		return err
	}
	if err := n.waitReady(ctx, 90*time.Second); err != nil {
		return err
	}
	r.logf("  nats %s restarted on %s with its store (pid %d, healthy in %.1fs)", n.name, n.url(), n.p.pid(), time.Since(t).Seconds())
	return nil
}

// drain waits until the registry consumer has nothing pending or
// unacknowledged and the registry count has stopped changing.
func (r *runner) drain(ctx context.Context) error {
	t := time.Now()
	deadline := t.Add(r.o.drainTimeout)
	var last int64 = -1
	stable := 0
	lastPrint := time.Time{}
	for {
		np, ap, qerr := r.obs.pending(ctx)
		n, perr := countReports(ctx, r.pg.URL())
		if qerr == nil && perr == nil {
			if n == last && np == 0 && ap == 0 {
				stable++
			} else {
				stable = 0
			}
			last = n
			if stable >= 3 {
				r.logf("drained in %.1fs: consumer pending 0, unacknowledged 0, %d source reports", time.Since(t).Seconds(), n)
				return nil
			}
			if time.Since(lastPrint) >= 10*time.Second {
				r.logf("draining: consumer pending %d, unacknowledged %d, %d source reports", np, ap, n)
				lastPrint = time.Now()
			}
		}
		if err := r.watch(ctx); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("queue not drained after %v (pending %d, unacknowledged %d, queue err %v, db err %v)", r.o.drainTimeout, np, ap, qerr, perr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// cleanup stops every process chaos started, even after a failure or a
// Ctrl-C, and removes the work directory unless asked to keep it.
func (r *runner) cleanup() {
	if r.obs != nil {
		r.obs.close()
	}
	var procs []*proc
	if r.sender != nil {
		procs = append(procs, r.sender)
	}
	if r.listener != nil {
		procs = append(procs, r.listener)
	}
	procs = append(procs, r.workers...)
	for _, p := range procs {
		p.stop(10 * time.Second)
	}
	for _, n := range r.nats {
		n.p.stop(10 * time.Second)
	}
	if r.pg != nil {
		if err := r.pg.Stop(); err != nil {
			fmt.Fprintln(r.out, "chaos: stop PostgreSQL:", err)
		}
	}
	if r.dir == "" {
		return
	}
	// A failed run keeps its evidence, unless it failed before any service ran.
	if r.o.keep || (r.failed && r.pg != nil) || !r.createdWD {
		fmt.Fprintf(r.out, "work directory kept: %s (logs: listener.log, worker*.log, nats-*.log, hl7send.log; sent.jsonl)\n", r.dir)
		return
	}
	if err := os.RemoveAll(r.dir); err != nil {
		fmt.Fprintln(r.out, "chaos: remove work directory:", err)
	}
}
