package ingest

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iisproject/iis/internal/cputime"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/synth"
)

// BenchmarkServeHL7 is the listener's work for one synthetic VXU without
// the transport: validate, build the ACK, publish to the embedded
// JetStream and wait for its acknowledgement. Run in parallel (-cpu sets
// the publishers per core) it is the handler's throughput on this machine.
func BenchmarkServeHL7(b *testing.B) {
	for _, wait := range []time.Duration{-1, 0} {
		name := "wait=default"
		if wait < 0 {
			name = "wait=none"
		}
		b.Run(name, func(b *testing.B) {
			// A new message each time: a resend would be answered from
			// the queue's duplicate window, without being stored.
			msgs := synth.New(synth.Config{Seed: 3}).Take(b.N)
			f := newFixture(b, queue.Config{CoalesceWait: wait})
			ctx := WithSource(context.Background(), Source{Transport: "mllp"})
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			cpu := cputime.Process()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if reply := f.h.ServeHL7(ctx, msgs[next.Add(1)-1].Body); len(reply) == 0 {
						b.Error("no reply")
					}
				}
			})
			if cpu := cputime.Process() - cpu; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/msg")
			}
		})
	}
}

// BenchmarkServeBatch is the handler's work for batch files of 100
// synthetic VXU each (FHS/BHS … BTS/FTS): every message validated and
// acknowledged, all of them queued in order before the reply.
func BenchmarkServeBatch(b *testing.B) {
	const per = 100
	msgs := synth.New(synth.Config{Seed: 5}).Take(b.N * per)
	files := make([][]byte, b.N)
	for i := range files {
		f := []byte("FHS|^~\\&|EHR|CLINIC|IIS|STATE|20260101||||F-" + strconv.Itoa(i) + "\rBHS|^~\\&|EHR|CLINIC|IIS|STATE|20260101||||B-1\r")
		for _, m := range msgs[i*per : (i+1)*per] {
			f = append(f, m.Body...)
		}
		files[i] = append(f, "BTS|"+strconv.Itoa(per)+"\rFTS|1\r"...)
	}
	f := newFixture(b, queue.Config{})
	ctx := WithSource(context.Background(), Source{Transport: "mllp"})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if reply := f.h.ServeHL7(ctx, files[i]); len(reply) == 0 {
			b.Fatal("no reply")
		}
	}
	b.ReportMetric(float64(b.N*per)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkReplySummary is what keeping a query's answer costs the
// listener before the answer is sent: reading MSA-1 and the ERR rows of
// the CDC IG's Z42 example (the publish itself happens after).
func BenchmarkReplySummary(b *testing.B) {
	rsp, err := os.ReadFile(samples + "cdc-ig/rsp_z42_ig_complete_evaluation_and_forecast.hl7")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(rsp)))
	for b.Loop() {
		if ack, _ := replySummary(rsp); ack == "" {
			b.Fatal("no MSA-1")
		}
	}
}
