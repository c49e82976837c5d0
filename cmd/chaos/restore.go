package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/localpg"
	"github.com/jackc/pgx/v5"
)

// The restore drill (`make restore-drill`, chaos -restore-drill) runs the
// procedure of deploy/backup/iis-backup.sh end to end on private services:
// a PostgreSQL cluster archiving its WAL with pgBackRest, one nats-server,
// an iisd listener and worker. It sends three phases of traffic (a base
// backup is taken during the second; a restore point is recorded after
// it), snapshots the stream, then loses everything: the registry is
// restored to the restore point into a fresh cluster, the stream into a
// fresh nats-server, `iisd replay` applies the stream from the sequence the
// restore point carries, and every AA is reconciled against the restored
// registry (the chaos reconciliation). See docs/backup-restore.md.

// drill is one restore drill.
type drill struct {
	*runner
	script    string // deploy/backup/iis-backup.sh
	natsCLI   string
	conf      string // pgBackRest configuration
	backupDir string // stream backups and the restore-point catalog
	stepLog   string
	phases    []string // sent records, one file per phase
	restored  *localpg.Cluster
	target    restoreTarget
	timings   []string
}

// drillPhases are the three loads: before the base backup, during it (the
// restore point follows), after the restore point.
const drillPhases = 3

func runRestoreDrill(ctx context.Context, o options, out io.Writer) int {
	d := &drill{runner: &runner{o: o, out: out, start: time.Now()}}
	defer d.cleanup()
	failed, err := d.run(ctx)
	return d.exitCode(ctx, "restore-drill", failed, err)
}

func (d *drill) cleanup() {
	if d.restored != nil {
		if err := d.restored.Stop(); err != nil {
			fmt.Fprintln(d.out, "restore-drill: stop restored PostgreSQL:", err)
		}
	}
	d.runner.cleanup()
}

func (d *drill) run(ctx context.Context) (bool, error) {
	if err := d.prepare(ctx); err != nil {
		return false, err
	}
	rp, err := d.traffic(ctx)
	if err != nil {
		return false, err
	}
	truth, err := d.beforeDisaster(ctx)
	if err != nil {
		return false, err
	}
	streamBackup, err := d.timed(ctx, "JetStream snapshot (nats backup stream)", "stream-backup")
	if err != nil {
		return false, err
	}
	d.disaster()
	if d.target, err = d.restoreTarget(rp); err != nil {
		return false, err
	}
	if err := d.restorePostgres(ctx); err != nil {
		return false, err
	}
	if err := d.restoreStream(ctx, streamBackup); err != nil {
		return false, err
	}
	pre, err := d.checkRestorePoint(ctx, rp, truth)
	if err != nil {
		return false, err
	}
	from, err := d.step(ctx, "replay-from", d.target.kind, d.target.value)
	if err != nil {
		return false, err
	}
	if d.o.skipReplay {
		d.logf("iisd replay -from %s SKIPPED (-skip-replay): the drill must find the messages after the restore point missing", from)
	} else if err := d.replay(ctx, from); err != nil {
		return false, err
	}
	return d.verdict(ctx, truth, pre)
}

// prepare builds the binaries, starts PostgreSQL with WAL archiving to
// pgBackRest, creates the stanza, then starts NATS and iisd.
func (d *drill) prepare(ctx context.Context) error {
	if err := d.setup(ctx); err != nil {
		return err
	}
	// The drill's own directory is removed after a pass, as chaos's is.
	d.createdWD = d.o.ownDir
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	d.script = filepath.Join(root, "deploy", "backup", "iis-backup.sh")
	if d.natsCLI, err = findNATSCLI(ctx); err != nil {
		return err
	}
	if _, err := exec.LookPath("pgbackrest"); err != nil {
		return errors.New("pgbackrest not found: apt-get install -y pgbackrest (or run deploy/dev/ensure-backup-tools.sh)")
	}
	d.backupDir = filepath.Join(d.dir, "backup")
	d.stepLog = filepath.Join(d.dir, "backup-steps.log")
	d.pgDir = filepath.Join(d.dir, "postgres")
	if err := d.archivingCluster(ctx); err != nil {
		return err
	}
	if _, err := d.step(ctx, "setup"); err != nil {
		return err
	}
	d.logf("pgBackRest stanza created, WAL archiving checked (%s)", d.conf)
	return d.startAll(ctx)
}

// archivingCluster creates the primary cluster, writes the pgBackRest
// configuration for it and restarts it with archive_mode on.
func (d *drill) archivingCluster(ctx context.Context) error {
	pg, err := localpg.Start(ctx, d.pgDir)
	if err != nil {
		return err
	}
	d.pg = pg
	if err := d.writeConf(pg); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		return fmt.Errorf("primary: %w", err)
	}
	defer conn.Close(context.Background())
	archive := fmt.Sprintf("pgbackrest --config=%s --stanza=iis archive-push %%p", d.conf)
	for _, set := range []string{
		`ALTER SYSTEM SET archive_mode = 'on'`,
		`ALTER SYSTEM SET archive_command = '` + archive + `'`,
		`ALTER SYSTEM SET wal_level = 'replica'`,
	} {
		if _, err := conn.Exec(ctx, set); err != nil {
			return fmt.Errorf("primary: %s: %w", set, err)
		}
	}
	// archive_mode takes effect at a restart.
	if err := pg.Stop(); err != nil {
		return err
	}
	if d.pg, err = localpg.Start(ctx, d.pgDir); err != nil {
		return err
	}
	d.logf("PostgreSQL up on 127.0.0.1:%d, archiving WAL to pgBackRest", d.pg.Port())
	return nil
}

// writeConf writes the pgBackRest configuration: a repository under the
// work directory, the primary cluster as stanza "iis".
func (d *drill) writeConf(pg *localpg.Cluster) error {
	base := filepath.Join(d.dir, "pgbackrest")
	dirs := map[string]string{}
	for _, n := range []string{"repo", "log", "lock", "spool"} {
		dirs[n] = filepath.Join(base, n)
		if err := os.MkdirAll(dirs[n], 0o750); err != nil {
			return err
		}
	}
	u, err := url.Parse(pg.URL())
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(`[global]
repo1-path=%s
repo1-retention-full=2
log-path=%s
lock-path=%s
spool-path=%s
log-level-console=warn
log-level-file=info
start-fast=y
compress-type=lz4

[iis]
pg1-path=%s
pg1-port=%d
pg1-socket-path=%s
pg1-user=%s
`, dirs["repo"], dirs["log"], dirs["lock"], dirs["spool"], pg.Dir(), pg.Port(), pg.Dir(), u.User.Username())
	d.conf = filepath.Join(base, "pgbackrest.conf")
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		return err
	}
	return chownToPostgres(base)
}

// chownToPostgres gives the tree to the postgres account when chaos runs
// as root: pgBackRest runs as the cluster's owner.
func chownToPostgres(root string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
}

// findNATSCLI finds the nats CLI on PATH or in GOPATH/bin.
func findNATSCLI(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("nats"); err == nil {
		return p, nil
	}
	if out, err := exec.CommandContext(ctx, goTool(), "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "nats")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the nats CLI is not installed: go install github.com/nats-io/natscli/nats@v0.5.0 (or run deploy/dev/ensure-backup-tools.sh)")
}

// step runs one step of deploy/backup/iis-backup.sh against the current
// services and returns the last line it printed.
func (d *drill) step(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "sh", append([]string{d.script}, args...)...)
	env := append(os.Environ(), "PGBACKREST_CONFIG="+d.conf, "IIS_STANZA=iis", "IIS_BACKUP_DIR="+d.backupDir,
		"NATS_CLI="+d.natsCLI, "NATS_URL="+natsURLs(d.nats),
		"IIS_RESTORE_REPLICAS=1") // the streams are restored into one fresh server
	if d.pg != nil {
		env = append(env, "DATABASE_URL="+d.pg.URL())
	}
	cmd.Env = env
	logf, err := os.OpenFile(d.stepLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "\n=== %s iis-backup.sh %s\n", time.Now().UTC().Format(time.RFC3339Nano), strings.Join(args, " "))
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, logf), logf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("iis-backup.sh %s: %w; see %s", strings.Join(args, " "), err, d.stepLog)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

// timed runs a step and records how long it took.
func (d *drill) timed(ctx context.Context, what string, args ...string) (string, error) {
	t := time.Now()
	out, err := d.step(ctx, args...)
	if err != nil {
		return "", err
	}
	d.timings = append(d.timings, fmt.Sprintf("%-50s %6.1fs", what, time.Since(t).Seconds()))
	d.logf("%s: %.1fs", what, time.Since(t).Seconds())
	return out, nil
}

// drillOptions adapts chaos's options to the drill: no faults, 10 s per
// phase unless -duration is given, a work directory under var/drill.
func drillOptions(o options) options {
	o.faults = map[string]bool{}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["duration"] {
		o.duration = 10 * time.Second
	}
	if o.drillTarget != "time" {
		o.drillTarget = "name"
	}
	if o.workDir == "" {
		o.workDir = filepath.Join("var", "drill", time.Now().UTC().Format("20060102T150405Z"))
		o.ownDir = true
	}
	return o
}

// restoreTarget is what PostgreSQL is restored to: a restore point by name,
// or a time (iis-backup.sh restore-pg and replay-from take both).
type restoreTarget struct{ kind, value string }

// restoreTarget returns the drill's target: the restore point, by name or
// by the time the catalog recorded for it.
func (d *drill) restoreTarget(rp string) (restoreTarget, error) {
	if d.o.drillTarget != "time" {
		return restoreTarget{"name", rp}, nil
	}
	b, err := os.ReadFile(filepath.Join(d.backupDir, "restore-points.tsv"))
	if err != nil {
		return restoreTarget{}, fmt.Errorf("restore-point catalog: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Split(line, "\t"); len(f) == 3 && f[0] == rp {
			return restoreTarget{"time", f[1]}, nil
		}
	}
	return restoreTarget{}, fmt.Errorf("restore point %s not in the catalog", rp)
}
