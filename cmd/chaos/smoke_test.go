package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iisproject/iis/localpg"
)

// lockedBuffer is a bytes.Buffer safe for the runner's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestChaosSmoke is the short variant of `make chaos`: real iisd, NATS and
// PostgreSQL processes, a light load, the listener killed with -9,
// PostgreSQL restarted and NATS killed with -9 (when the load lasts long
// enough for them), and
// the full reconciliation, which must find nothing lost or duplicated.
// Worker kills are left to `make chaos`: their messages wait for the
// 60 s ack wait before redelivery. Skipped with -short or without the
// PostgreSQL server programs.
func TestChaosSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, NATS and iisd processes")
	}
	if _, err := localpg.FindBinaries(); err != nil {
		t.Skip(err)
	}
	out := &lockedBuffer{}
	o := options{
		duration: 10 * time.Second, rate: 40, conns: 4, seed: 7, workers: 1,
		down: 500 * time.Millisecond, drainTimeout: 3 * time.Minute,
		resendRate: 0.02, otherRate: 0.02, badRate: 0.02,
		faults: map[string]bool{"listener": true, "postgres": true, "nats": true},
	}
	code := run(context.Background(), o, out)
	t.Log("\n" + out.String())
	if code != 0 {
		t.Fatalf("chaos exit code %d, want 0", code)
	}
	for _, want := range []string{"listener killed", "listener restarted", "chaos PASS", "lost=0 duplicates=0 half-written=0 wrong-ack=0 invented=0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !strings.Contains(out.String(), "sent=400 ") {
		t.Errorf("output does not report 400 messages sent")
	}
}
