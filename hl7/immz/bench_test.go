package immz

import (
	"testing"
	"time"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/internal/cputime"
	"github.com/iisproject/iis/synth"
)

// BenchmarkDecodeAck: parse, decode and validate a VXU and build its ACK —
// the per-message work of the ingest path before queueing.
func BenchmarkDecodeAck(b *testing.B) {
	for _, name := range []string{baseSample, "nist/vxu_z22_nist_iz001_variant_alias_names_multi_address_4rxa.hl7"} {
		raw := []byte(readSample(b, name))
		b.Run(name, func(b *testing.B) {
			v := New(Config{Now: testNow})
			w := hl7.NewWriter(hl7.DefaultDelimiters)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				r := v.Decode(raw)
				w.Reset()
				v.WriteAck(w, r)
			}
		})
	}
}

// benchMessages are the synthetic traffic the listener benchmarks send
// (ingest's BenchmarkServeHL7 uses the same seed): mostly valid VXUs, some
// breaking a rule, resends, other clinics' reports and malformed bytes.
func benchMessages(b testing.TB) [][]byte {
	var msgs [][]byte
	for _, m := range synth.New(synth.Config{Seed: 3}).Take(1000) {
		msgs = append(msgs, m.Body)
	}
	return msgs
}

// BenchmarkCheck is the listener's validation of one synthetic message
// (Validator.Check), cycling through 1,000 of them.
func BenchmarkCheck(b *testing.B) {
	msgs := benchMessages(b)
	v := New(Config{Now: testNow})
	b.ReportAllocs()
	i := 0
	cpu := cputime.Process()
	for b.Loop() {
		v.Check(msgs[i%len(msgs)])
		i++
	}
	reportCPU(b, cputime.Process()-cpu)
}

// reportCPU reports the process's CPU time per operation (garbage
// collection included), which, unlike ns/op, does not depend on what else
// the machine runs.
func reportCPU(b *testing.B, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkAck is the listener's ACK of one checked synthetic message
// (Validator.Ack, as ingest calls it) with its issue summary (Summary).
func BenchmarkAck(b *testing.B) {
	msgs := benchMessages(b)
	v := New(Config{Now: testNow})
	results := make([]*Result, len(msgs))
	for i, raw := range msgs {
		results[i] = v.Check(raw)
	}
	b.ReportAllocs()
	i := 0
	cpu := cputime.Process()
	for b.Loop() {
		r := results[i%len(results)]
		v.Ack(r)
		Summary(r.Issues)
		i++
	}
	reportCPU(b, cputime.Process()-cpu)
}
