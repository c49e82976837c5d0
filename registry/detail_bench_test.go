package registry

import (
	"testing"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/synth"
)

// BenchmarkEncodeDose measures the detail column of a synthetic dose.
func BenchmarkEncodeDose(b *testing.B) {
	v := immz.New(immz.Config{})
	g := synth.New(synth.Config{Seed: 1})
	var r *immz.Result
	for r == nil || r.VXU == nil || len(r.VXU.Vaccinations) == 0 {
		r = v.Decode(g.Next().Body)
	}
	d := &r.VXU.Vaccinations[0]
	for b.Loop() {
		_ = encodeDose(d)
	}
	b.ReportMetric(float64(len(encodeDose(d))), "bytes/dose")
}

// BenchmarkDecodeDose measures reading a synthetic dose's detail column.
func BenchmarkDecodeDose(b *testing.B) {
	v := immz.New(immz.Config{})
	g := synth.New(synth.Config{Seed: 1})
	var r *immz.Result
	for r == nil || r.VXU == nil || len(r.VXU.Vaccinations) == 0 {
		r = v.Decode(g.Next().Body)
	}
	s := encodeDose(&r.VXU.Vaccinations[0])
	for b.Loop() {
		var d iis.Vaccination
		if err := decodeDose(s, &d); err != nil {
			b.Fatal(err)
		}
	}
}
