package hl7

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	lenaten "github.com/lenaten/hl7"
)

// benchMessages are real VXU messages of the sample corpus, CR-terminated.
var benchMessages = []struct{ name, file string }{
	{"nist-vxu-1.5KB", "nist/vxu_z22_nist_iz001_child_flu_ndc_vfc_v05_vis.hl7"},
	{"nist-vxu-4rxa-3.7KB", "nist/vxu_z22_nist_iz001_variant_alias_names_multi_address_4rxa.hl7"},
}

// loadBench reads a benchmark message. The final segment terminator is
// dropped for both parsers: lenaten/hl7 rejects a message that ends in one.
func loadBench(tb testing.TB, file string) []byte {
	data, err := os.ReadFile(filepath.Join(corpusDir, file))
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimRight(data, "\r\n")
}

// BenchmarkParse compares our parser with github.com/lenaten/hl7 on the
// same work: parse the message, then read MSH-9, MSH-10, PID-5 and every
// RXA-5. The sub-benchmarks are named .../ours and .../lenaten so that
// cmd/benchtable can print the ratio.
func BenchmarkParse(b *testing.B) {
	for _, bm := range benchMessages {
		data := loadBench(b, bm.file)
		b.Run(bm.name+"/ours", func(b *testing.B) {
			var m Message
			var buf []byte
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Parse(data); err != nil {
					b.Fatal(err)
				}
				buf = m.Get("MSH-9").AppendText(buf[:0])
				buf = m.Get("MSH-10").AppendText(buf[:0])
				buf = m.Get("PID-5(1)").AppendText(buf[:0])
				for _, s := range m.Segments() {
					if s.Is("RXA") {
						buf = s.Field(5).AppendText(buf[:0])
					}
				}
			}
		})
		b.Run(bm.name+"/lenaten", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				m := lenaten.NewMessage(data)
				if err := m.Parse(); err != nil {
					b.Fatal(err)
				}
				if _, err := m.Find("MSH.9"); err != nil {
					b.Fatal(err)
				}
				if _, err := m.Find("MSH.10"); err != nil {
					b.Fatal(err)
				}
				if _, err := m.Find("PID.5"); err != nil {
					b.Fatal(err)
				}
				if _, err := m.FindAll("RXA.5"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBenchmarkParity checks that both parsers read the same values in the
// benchmark, so the comparison is of equal work.
func TestBenchmarkParity(t *testing.T) {
	for _, bm := range benchMessages {
		data := loadBench(t, bm.file)
		ours, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		theirs := lenaten.NewMessage(data)
		if err := theirs.Parse(); err != nil {
			t.Fatal(err)
		}
		// lenaten returns the first repetition of a field.
		for loc, want := range map[string]string{"MSH.9": "MSH-9", "MSH.10": "MSH-10", "PID.5": "PID-5(1)"} {
			got, err := theirs.Find(loc)
			if err != nil || got != ours.Get(want).String() {
				t.Errorf("%s: lenaten %s = %q, ours %s = %q", bm.name, loc, got, want, ours.Get(want).String())
			}
		}
		rxa, err := theirs.FindAll("RXA.5")
		if err != nil || len(rxa) != ours.Count("RXA") {
			t.Fatalf("%s: lenaten found %d RXA-5, ours %d", bm.name, len(rxa), ours.Count("RXA"))
		}
		for i, v := range rxa {
			s, _ := ours.Segment("RXA", i+1)
			if v != s.Field(5).String() {
				t.Errorf("%s: RXA(%d)-5 lenaten %q, ours %q", bm.name, i+1, v, s.Field(5).String())
			}
		}
	}
}
