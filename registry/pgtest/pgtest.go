// Package pgtest gives tests a private PostgreSQL database on the server at
// 127.0.0.1:5432 (trust authentication, user $PGUSER or "postgres"; the
// environment variable IIS_TEST_PG overrides the server URL), created for
// the test and dropped at its end.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ServerURL returns the URL of the test server's "test" database.
func ServerURL() string {
	if u := os.Getenv("IIS_TEST_PG"); u != "" {
		return u
	}
	user := os.Getenv("PGUSER")
	if user == "" {
		user = "postgres"
	}
	return "postgres://" + url.PathEscape(user) + "@127.0.0.1:5432/test?sslmode=disable"
}

// NewDatabase creates the database iis_test_<random> and returns its URL;
// it is dropped (with its connections) when the test ends. The test is
// skipped when no server answers, failed when one answers but refuses.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		tb.Skipf("pgtest: no PostgreSQL at %s: %v", ServerURL(), err)
	}
	defer admin.Close(context.Background())
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "iis_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			tb.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	u, _ := url.Parse(ServerURL())
	u.Path = "/" + name
	return u.String()
}
