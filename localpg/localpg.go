// Package localpg runs a private PostgreSQL cluster for a single-machine
// registry: the system's initdb and pg_ctl create and start it under a
// data directory, listening on 127.0.0.1 on a port of its own (never 5432)
// and on a unix socket inside the data directory, with trust
// authentication for the local user only. A directory that already holds a
// cluster is reused, with the port it had.
//
// When the process runs as root (PostgreSQL refuses to), the cluster is
// created and run as the system's "postgres" account, which then owns the
// data directory.
package localpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Database is the database Start creates for the registry.
const Database = "iis"

const portFile = "localpg.port"

// Cluster is a running private PostgreSQL cluster.
type Cluster struct {
	dir    string
	bin    string // directory of initdb, pg_ctl
	port   int
	user   string // database superuser
	cred   *syscall.Credential
	uid    int
	gid    int
	asRoot bool
}

// ErrNoBinaries is returned when initdb or pg_ctl cannot be found.
var ErrNoBinaries = errors.New("localpg: PostgreSQL server programs initdb and pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin; install the Debian package \"postgresql\" (apt-get install postgresql) or set DATABASE_URL")

// FindBinaries returns the directory holding initdb and pg_ctl.
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Highest major version first.
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(b) - majorOf(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func majorOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start creates the cluster in dir if it holds none, starts it unless it
// is already running, creates the database "iis", and returns the cluster.
func Start(ctx context.Context, dir string) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("localpg: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin}
	if err := c.identity(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("localpg: %w", err)
	}
	if c.asRoot {
		if err := os.Chown(dir, c.uid, c.gid); err != nil {
			return nil, fmt.Errorf("localpg: chown %s: %w", dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.run(ctx, "initdb", "-D", dir, "-U", c.user, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-instructions"); err != nil {
			return nil, err
		}
	}
	if err := c.choosePort(); err != nil {
		return nil, err
	}
	if !c.running(ctx) {
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", c.port, dir)
		if err := c.run(ctx, "pg_ctl", "start", "-D", dir, "-w", "-t", "60", "-s", "-l", filepath.Join(dir, "server.log"), "-o", opts); err != nil {
			return nil, err
		}
	}
	if err := c.createDatabase(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// identity picks the OS account that runs the cluster and the database
// superuser name.
func (c *Cluster) identity() error {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return fmt.Errorf("localpg: current user: %w", err)
		}
		c.user = u.Username
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return errors.New("localpg: running as root, and PostgreSQL will not run as root: no \"postgres\" account to run it as (the Debian package postgresql creates it)")
	}
	c.uid, _ = strconv.Atoi(u.Uid)
	c.gid, _ = strconv.Atoi(u.Gid)
	c.cred = &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}
	c.user = "postgres"
	c.asRoot = true
	return nil
}

// choosePort reuses the port recorded in the directory, or takes a free
// loopback port and records it.
func (c *Cluster) choosePort() error {
	pf := filepath.Join(c.dir, portFile)
	if b, err := os.ReadFile(pf); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 && p != 5432 {
			c.port = p
			return nil
		}
	}
	for range 10 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("localpg: free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p != 5432 {
			c.port = p
			if err := os.WriteFile(pf, []byte(strconv.Itoa(p)+"\n"), 0o644); err != nil {
				return fmt.Errorf("localpg: %w", err)
			}
			return nil
		}
	}
	return errors.New("localpg: no free loopback port")
}

func (c *Cluster) running(ctx context.Context) bool {
	cmd := c.command(ctx, "pg_ctl", "status", "-D", c.dir)
	return cmd.Run() == nil
}

func (c *Cluster) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func (c *Cluster) run(ctx context.Context, prog string, args ...string) error {
	cmd := c.command(ctx, prog, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("localpg: %s %s: %w: %s", prog, args[0], err, msg)
	}
	return nil
}

func (c *Cluster) adminURL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", c.user, c.port, db)
}

func (c *Cluster) createDatabase(ctx context.Context) error {
	var conn *pgx.Conn
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err = pgx.Connect(ctx, c.adminURL("postgres"))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("localpg: connect: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, Database).Scan(&exists); err != nil {
		return fmt.Errorf("localpg: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+Database); err != nil {
			return fmt.Errorf("localpg: create database: %w", err)
		}
	}
	return nil
}

// URL returns the connection URL of the registry database.
func (c *Cluster) URL() string { return c.adminURL(Database) }

// Dir returns the cluster's data directory.
func (c *Cluster) Dir() string { return c.dir }

// Port returns the cluster's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Stop shuts the cluster down (fast mode: sessions are disconnected,
// nothing committed is lost).
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return c.run(ctx, "pg_ctl", "stop", "-D", c.dir, "-m", "fast", "-w", "-s")
}
