package immz

import (
	"github.com/iisproject/iis/hl7"
	"testing"
)

func BenchmarkZZParse(b *testing.B) {
	msgs := benchMessages(b)
	i := 0
	for b.Loop() {
		hl7.Parse(msgs[i%len(msgs)])
		i++
	}
}
func BenchmarkZZFields(b *testing.B) {
	msgs := benchMessages(b)
	var buf []hl7.Value
	i := 0
	n := 0
	for b.Loop() {
		m, err := hl7.Parse(msgs[i%len(msgs)])
		i++
		if err != nil {
			continue
		}
		for _, s := range m.Segments() {
			buf = s.AppendFields(buf[:0])
			n += len(buf)
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "fields/op")
}
