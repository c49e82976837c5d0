package ingest

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/synth"
)

// BenchmarkServeHL7 is the listener's work for one synthetic VXU without
// the transport: validate, build the ACK, publish to the embedded
// JetStream and wait for its acknowledgement. Run in parallel (-cpu sets
// the publishers per core) it is the handler's throughput on this machine.
func BenchmarkServeHL7(b *testing.B) {
	// A new message each time: a resend would be answered from the
	// queue's duplicate window, without being stored.
	msgs := synth.New(synth.Config{Seed: 3}).Take(b.N)
	f := newFixture(b, queue.Config{})
	ctx := WithSource(context.Background(), Source{Transport: "mllp"})
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if reply := f.h.ServeHL7(ctx, msgs[next.Add(1)-1].Body); len(reply) == 0 {
				b.Error("no reply")
			}
		}
	})
}
