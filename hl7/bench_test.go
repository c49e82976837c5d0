package hl7

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/iisproject/iis/internal/cputime"
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
// cmd/benchtable can print the ratio; .../index reads the same fields
// through an Index of each segment read, to show what indexing costs a
// reader of a few fields.
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
		b.Run(bm.name+"/index", func(b *testing.B) {
			var m Message
			var x Index
			var buf []byte
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = readFourIndexed(&m, &x, data, buf); err != nil {
					b.Fatal(err)
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

// readFourIndexed parses data into m and reads MSH-9, MSH-10, PID-5(1)
// and every RXA-5 through an Index of their segments, into buf.
func readFourIndexed(m *Message, x *Index, data, buf []byte) ([]byte, error) {
	if err := m.Parse(data); err != nil {
		return buf, err
	}
	for _, s := range m.Segments() {
		switch {
		case s.Is("MSH"):
			x.Build(s)
			buf = x.Field(9).AppendText(buf[:0])
			buf = x.Field(10).AppendText(buf[:0])
		case s.Is("PID"):
			x.Build(s)
			buf = x.Rep(5, 1).AppendText(buf[:0])
		case s.Is("RXA"):
			x.Build(s)
			buf = x.Field(5).AppendText(buf[:0])
		}
	}
	return buf, nil
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

// airaDir holds the 25 AIRA test VXUs (about 30 KB) of BenchmarkFullRead.
const airaDir = "../testdata/hl7/aira-vxu"

// loadAIRA reads the AIRA test VXUs, final terminator dropped as in
// loadBench.
func loadAIRA(tb testing.TB) (msgs [][]byte, size int64) {
	files, err := filepath.Glob(filepath.Join(airaDir, "*.hl7"))
	if err != nil || len(files) != 25 {
		tb.Fatalf("%d AIRA VXUs under %s: %v", len(files), airaDir, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		data = bytes.TrimRight(data, "\r\n")
		msgs = append(msgs, data)
		size += int64(len(data))
	}
	return msgs, size
}

// readAllIndexed parses msg into m and reads every component of every
// repetition of every field with Index.Repetitions, returning their total
// length.
func readAllIndexed(m *Message, x *Index, msg []byte) (int, error) {
	if err := m.Parse(msg); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range m.Segments() {
		x.Build(s)
		for rep := range x.Repetitions() {
			for _, v := range rep.Comps() {
				n += len(v.Bytes())
			}
		}
	}
	return n, nil
}

// readAllComponents is readAllIndexed with Index.Components.
func readAllComponents(m *Message, x *Index, msg []byte) (int, error) {
	if err := m.Parse(msg); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range m.Segments() {
		x.Build(s)
		for _, v := range x.Components() {
			n += len(v.Bytes())
		}
	}
	return n, nil
}

// readAllIndexCalls is readAllIndexed with the Index's counts and Comp
// for each position.
func readAllIndexCalls(m *Message, x *Index, msg []byte) (int, error) {
	if err := m.Parse(msg); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range m.Segments() {
		x.Build(s)
		for f, nf := 1, x.NumFields(); f <= nf; f++ {
			for r, nr := 1, x.NumReps(f); r <= nr; r++ {
				for c, nc := 1, x.NumComps(f, r); c <= nc; c++ {
					n += len(x.Comp(f, r, c).Bytes())
				}
			}
		}
	}
	return n, nil
}

// readAllLazy is readAllIndexed with the Segment and Value methods, which
// scan from the start of the segment or field for each value.
func readAllLazy(m *Message, msg []byte) (int, error) {
	if err := m.Parse(msg); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range m.Segments() {
		for f, nf := 1, s.NumFields(); f <= nf; f++ {
			fv := s.Field(f)
			for r, nr := 1, fv.NumReps(); r <= nr; r++ {
				rv := fv.Rep(r)
				for c, nc := 1, rv.NumComps(); c <= nc; c++ {
					n += len(rv.Comp(c).Bytes())
				}
			}
		}
	}
	return n, nil
}

// readAllLenaten is readAllIndexed with github.com/lenaten/hl7, which
// keeps each repetition of a field as a Field of its own.
func readAllLenaten(msg []byte) (int, error) {
	m := lenaten.NewMessage(msg)
	if err := m.Parse(); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range m.Segments {
		for _, f := range s.Fields {
			if f.SeqNum == 0 { // the segment ID
				continue
			}
			for _, c := range f.Components {
				// The last value of a segment keeps its CR.
				n += len(bytes.TrimSuffix(c.Value, []byte{'\r'}))
			}
		}
	}
	return n, nil
}

// BenchmarkFullRead reads every component of every repetition of every
// field of the 25 AIRA test VXUs: ours with Index.Repetitions, components
// with Index.Components, index-calls
// with the Index's counts and Comp, lazy through the
// Segment and Value methods, lenaten with github.com/lenaten/hl7.
func BenchmarkFullRead(b *testing.B) {
	msgs, size := loadAIRA(b)
	var m Message
	var x Index
	readers := []struct {
		name string
		read func(msg []byte) (int, error)
	}{
		{"ours", func(msg []byte) (int, error) { return readAllIndexed(&m, &x, msg) }},
		{"components", func(msg []byte) (int, error) { return readAllComponents(&m, &x, msg) }},
		{"index-calls", func(msg []byte) (int, error) { return readAllIndexCalls(&m, &x, msg) }},
		{"lazy", func(msg []byte) (int, error) { return readAllLazy(&m, msg) }},
		{"lenaten", readAllLenaten},
	}
	for _, r := range readers {
		b.Run("aira-25-vxu/"+r.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				for _, msg := range msgs {
					if _, err := r.read(msg); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportCPU(b, cputime.Process()-cpu, size)
		})
	}
}

// TestFullReadParity: the three readers of BenchmarkFullRead read the same
// bytes of every AIRA VXU, so the comparison is of equal work.
func TestFullReadParity(t *testing.T) {
	msgs, _ := loadAIRA(t)
	var m Message
	var x Index
	for i, msg := range msgs {
		a, err1 := readAllIndexed(&m, &x, msg)
		b, err2 := readAllLazy(&m, msg)
		c, err3 := readAllLenaten(msg)
		d, err4 := readAllIndexCalls(&m, &x, msg)
		e, err5 := readAllComponents(&m, &x, msg)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || a != b || a != c || a != d || a != e {
			t.Errorf("message %d: Repetitions %d (%v), lazy %d (%v), lenaten %d (%v), index calls %d (%v), Components %d (%v) bytes", i+1, a, err1, b, err2, c, err3, d, err4, e, err5)
		}
	}
}

// reportCPU reports the process's CPU time per operation and the rate it
// gives, which, unlike ns/op and MB/s, do not depend on what else the
// machine runs.
func reportCPU(b *testing.B, cpu time.Duration, size int64) {
	if cpu > 0 {
		ns := float64(cpu.Nanoseconds()) / float64(b.N)
		b.ReportMetric(ns, "cpu-ns/op")
		b.ReportMetric(float64(size)*1e3/ns, "cpu-MB/s")
	}
}

// BenchmarkSplit compares the two ways of splitting every segment of a
// parsed message once: an Index of each (every separator, all levels)
// and AppendFields (field separators only, components found later by
// Value.SplitComps), on the benchmark messages.
func BenchmarkSplit(b *testing.B) {
	for _, bm := range benchMessages {
		m, err := Parse(loadBench(b, bm.file))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bm.name+"/index", func(b *testing.B) {
			var x Index
			b.SetBytes(int64(len(m.Bytes())))
			for b.Loop() {
				for _, s := range m.Segments() {
					x.Build(s)
				}
			}
		})
		b.Run(bm.name+"/fields", func(b *testing.B) {
			buf := make([]Value, 0, 64)
			b.SetBytes(int64(len(m.Bytes())))
			for b.Loop() {
				for _, s := range m.Segments() {
					buf = s.AppendFields(buf[:0])
				}
			}
		})
	}
}
