package localpg_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/iisproject/iis/localpg"
	"github.com/jackc/pgx/v5"
)

func TestStartStopRestart(t *testing.T) {
	if _, err := localpg.FindBinaries(); errors.Is(err, localpg.ErrNoBinaries) {
		t.Skip(err)
	}
	ctx := context.Background()
	base := t.TempDir()
	// When tests run as root the cluster runs as "postgres", which must be
	// able to reach the directory.
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(base, "pg")
	c, err := localpg.Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port() == 5432 {
		t.Errorf("cluster took port 5432")
	}
	query := func(c *localpg.Cluster, sql string) string {
		t.Helper()
		conn, err := pgx.Connect(ctx, c.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var s string
		if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := os.Stat(filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(c.Port()))); err != nil {
		t.Errorf("no unix socket in the data directory: %v", err)
	}
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	// Start on a running cluster reuses it.
	c2, err := localpg.Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Port() != c.Port() {
		t.Errorf("second Start used port %d, want %d", c2.Port(), c.Port())
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// Restart on the stopped directory: same port, same data.
	c3, err := localpg.Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Stop()
	if c3.Port() != c.Port() {
		t.Errorf("restart used port %d, want %d", c3.Port(), c.Port())
	}
	if got := query(c3, `SELECT v FROM kept`); got != "still here" {
		t.Errorf("data after restart = %q", got)
	}
}
