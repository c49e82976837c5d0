package immz

import (
	"testing"

	"github.com/iisproject/iis/hl7"
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
