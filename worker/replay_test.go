package worker_test

import (
	"testing"

	"github.com/iisproject/iis/worker"
)

// TestReplayFromStartSeq: a consumer with StartSeq applies the stream from
// that sequence only (the replay after a restore of the registry); the
// regular consumer then applies the rest, and replaying the whole stream
// over the complete registry changes nothing.
func TestReplayFromStartSeq(t *testing.T) {
	e := newEnv(t)
	var n int
	for _, raw := range samples(t) {
		e.publish(t, raw)
		n++
	}
	const from = 6
	e.start(t, worker.Config{Durable: "replay-6", StartSeq: from, BatchSize: 4})
	e.drain(t, "replay-6")
	if got := e.count(t, `SELECT count(*) FROM source_reports WHERE stream_seq < $1`, from); got != 0 {
		t.Errorf("%d reports stored from before sequence %d", got, from)
	}
	if got := e.count(t, `SELECT count(DISTINCT stream_seq) FROM source_reports`); got != n-from+1 {
		t.Errorf("reports stored from %d sequences, want %d (sequences %d..%d)", got, n-from+1, from, n)
	}

	e.start(t, worker.Config{BatchSize: 4})
	e.drain(t, "registry")
	if got := e.count(t, `SELECT count(DISTINCT stream_seq) FROM source_reports`); got != n {
		t.Errorf("after the regular consumer: reports from %d sequences, want %d", got, n)
	}
	before := e.snapshot(t)
	w := e.start(t, worker.Config{Durable: "replay-1", StartSeq: 1, BatchSize: 4})
	e.drain(t, "replay-1")
	if after := e.snapshot(t); after != before {
		t.Errorf("replaying the whole stream changed the registry: %v -> %v", before, after)
	}
	if s := w.Stats(); s.Stored != 0 || s.Dead != 0 {
		t.Errorf("replay over the complete registry: %+v, want only duplicates", s)
	}
}
