package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/mllp"
)

// TestSendFilesAndSynth runs hl7send against an MLLP server that answers
// with real ACKs from the immz validator (no queue), and checks the summary
// and the record file.
func TestSendFilesAndSynth(t *testing.T) {
	v := immz.New(immz.Config{Now: func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }})
	srv := &mllp.Server{Handler: mllp.HandlerFunc(func(_ context.Context, msg []byte) []byte { return v.Ack(v.Decode(msg)) })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	rec := filepath.Join(t.TempDir(), "sent.jsonl")
	var out, errOut bytes.Buffer
	o := options{mllpAddr: ln.Addr().String(), conc: 4, synthN: 500, seed: 9, quiet: true, timeout: 10 * time.Second, record: rec,
		resendRate: 0.02, otherRate: 0.02, badRt: 0.02}
	sum, err := run(context.Background(), o, nil, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	if sum.failed != 0 || len(sum.latencies) != 500 {
		t.Fatalf("failed %d, answered %d", sum.failed, len(sum.latencies))
	}
	if sum.byKind["malformed"]["AA"] != 0 || sum.byKind["valid"]["AA"] == 0 {
		t.Errorf("by kind: %v", sum.byKind)
	}
	for _, want := range []string{"sent 500 messages", "msgs/s", "reply latency: p50", "ACK codes: AA=", "by kind of message:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 500 {
		t.Fatalf("%d record lines", len(lines))
	}
	var first map[string]string
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first["ack"] == "" || first["kind"] == "" {
		t.Errorf("record line %q: %v", lines[0], err)
	}

	// Files, with batch files split into their messages.
	out.Reset()
	o = options{mllpAddr: ln.Addr().String(), conc: 2, quiet: true, split: true, timeout: 10 * time.Second}
	sum, err = run(context.Background(), o, []string{"../../testdata/hl7/samples/synthetic"}, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	// 26 single messages and 3 batch files of 4, 2 and 3 messages.
	if n := len(sum.latencies); n != 26+4+2+3 {
		t.Errorf("%d messages sent", n)
	}
	if sum.acks["AR"] == 0 || sum.acks["AE"] == 0 || sum.errs["E 203 Unsupported version id"] == 0 {
		t.Errorf("summary %v %v", sum.acks, sum.errs)
	}
}

// TestBareServer: -bare answers every message AA at once, whatever it is.
func TestBareServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var banner bytes.Buffer
	go func() { done <- serveBare(ctx, ln, &banner) }()
	var out, errOut bytes.Buffer
	sum, err := run(context.Background(), options{mllpAddr: ln.Addr().String(), synthN: 300, conc: 4, quiet: true, timeout: 5 * time.Second, badRt: 0.1, seed: 3}, nil, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	if sum.acks["AA"] != 300 || sum.failed != 0 {
		t.Fatalf("acks %v, %d failed\n%s", sum.acks, sum.failed, errOut.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
