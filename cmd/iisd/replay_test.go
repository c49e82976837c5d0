package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/synth"
)

func TestReplayFrom(t *testing.T) {
	tests := []struct {
		args    []string
		from    uint64
		rest    []string
		wantErr bool
	}{
		{args: []string{"-from", "4493", "-database-url", "postgres://x"}, from: 4493, rest: []string{"-database-url", "postgres://x"}},
		{args: []string{"-nats-url", "nats://n:4222", "--from=7"}, from: 7, rest: []string{"-nats-url", "nats://n:4222"}},
		{args: []string{"-from=1"}, from: 1},
		{args: []string{"-from"}, wantErr: true},
		{args: []string{"-from", "0"}, wantErr: true},
		{args: []string{"-from", "-3"}, wantErr: true},
		{args: []string{"-from", "latest"}, wantErr: true},
		{args: []string{"-database-url", "postgres://x"}, wantErr: true},
	}
	for _, tc := range tests {
		from, rest, err := replayFrom(tc.args)
		if tc.wantErr {
			if err == nil {
				t.Errorf("replayFrom(%q) = %d, want an error", tc.args, from)
			}
			continue
		}
		if err != nil || from != tc.from || !slices.Equal(rest, tc.rest) {
			t.Errorf("replayFrom(%q) = %d, %q, %v; want %d, %q", tc.args, from, rest, err, tc.from, tc.rest)
		}
	}
}

// TestReplayCommand runs `iisd replay -from` on a queue holding 12
// messages and an empty registry: sequences 5..12 are applied, its
// consumer is removed, and a second replay of the same range stores
// nothing new.
func TestReplayCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL and JetStream")
	}
	ctx := context.Background()
	dataDir := t.TempDir()
	dbURL := pgtest.NewDatabase(t)
	q, err := queue.Open(ctx, queue.Config{DataDir: filepath.Join(dataDir, "jetstream")})
	if err != nil {
		t.Fatal(err)
	}
	g := synth.New(synth.Config{Seed: 5, ResendRate: 0.0001})
	for sent := 0; sent < 12; {
		m := g.Next()
		if m.Kind != synth.Valid {
			continue
		}
		if _, err := q.Publish(ctx, &queue.Message{Kind: "vxu", Facility: m.Facility, ControlID: m.ControlID, Type: "VXU", Ack: "AA",
			Transport: "mllp", Received: time.Now(), Body: m.Body}); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	q.Close()

	args := []string{"-from", "5", "-data-dir", dataDir, "-database-url", dbURL, "-mllp-addr", "", "-http-addr", ""}
	var out bytes.Buffer
	if err := replay(args, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("replay: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "sequences 5..12, stored=8 duplicates=0") {
		t.Errorf("replay output:\n%s", out.String())
	}
	st, err := registry.Open(ctx, registry.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n, low int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*), coalesce(min(stream_seq), 0) FROM source_reports`).Scan(&n, &low); err != nil {
		t.Fatal(err)
	}
	if n != 8 || low != 5 {
		t.Errorf("registry holds %d reports from sequence %d on, want 8 from 5", n, low)
	}
	out.Reset()
	if err := replay(args, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("second replay: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "stored=0 duplicates=8") {
		t.Errorf("second replay (its consumer must have been removed, and the registry recognise every message):\n%s", out.String())
	}
}
