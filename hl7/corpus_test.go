package hl7

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir holds the real messages (CDC IG, NIST, state registries,
// gathered and synthetic fixtures); see testdata/hl7/SOURCES.md.
const corpusDir = "../testdata/hl7/samples"

// corpus returns every .hl7 file of the sample corpus, by path under
// corpusDir.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for path, b := range hl7Files(t, corpusDir) {
		rel, _ := filepath.Rel(corpusDir, path)
		files[rel] = b
	}
	if len(files) < 100 {
		t.Fatalf("only %d sample files under %s", len(files), corpusDir)
	}
	return files
}

// messagesOf splits a sample file into its messages.
func messagesOf(t testing.TB, name string, data []byte) [][]byte {
	t.Helper()
	b, err := SplitBatch(data)
	if err != nil {
		t.Fatalf("%s: SplitBatch: %v", name, err)
	}
	return b.Messages()
}

// TestCorpusParses: every real message parses, and re-encoding it is a fixed
// point (parse → encode → parse → encode gives the same bytes, and the same
// values as the original).
func TestCorpusParses(t *testing.T) {
	total := 0
	for name, data := range corpus(t) {
		msgs := messagesOf(t, name, data)
		if len(msgs) == 0 {
			t.Errorf("%s: no message found", name)
		}
		for i, raw := range msgs {
			total++
			m, err := Parse(raw)
			if err != nil {
				t.Errorf("%s message %d: %v", name, i+1, err)
				continue
			}
			if m.Get("MSH-9.1").IsEmpty() {
				t.Errorf("%s message %d: no MSH-9", name, i+1)
			}
			enc := m.AppendTo(nil, DefaultDelimiters)
			m2, err := Parse(enc)
			if err != nil {
				t.Errorf("%s message %d: re-encoded message does not parse: %v", name, i+1, err)
				continue
			}
			if d := diffMessages(m, m2); d != "" {
				t.Errorf("%s message %d: re-encoding changed %s", name, i+1, d)
			}
			if enc2 := m2.AppendTo(nil, DefaultDelimiters); !bytes.Equal(enc, enc2) {
				t.Errorf("%s message %d: encoding is not a fixed point", name, i+1)
			}
		}
	}
	t.Logf("%d messages parsed", total)
}

// diffMessages compares two messages value by value (text of every
// subcomponent of every repetition) and describes the first difference.
func diffMessages(a, b *Message) string {
	sa, sb := a.Segments(), b.Segments()
	if len(sa) != len(sb) {
		return "the segment count"
	}
	for i := range sa {
		if sa[i].ID() != sb[i].ID() {
			return "segment " + sa[i].ID()
		}
		n := max(sa[i].NumFields(), sb[i].NumFields())
		start := 1
		if sa[i].isHeader() {
			start = 3 // MSH-1/2 differ legitimately when delimiters change
		}
		for f := start; f <= n; f++ {
			fa, fb := sa[i].Field(f), sb[i].Field(f)
			for r := 1; r <= max(fa.NumReps(), fb.NumReps(), 1); r++ {
				ra, rb := fa.Rep(r), fb.Rep(r)
				for c := 1; c <= max(ra.NumComps(), rb.NumComps(), 1); c++ {
					ca, cb := ra.Comp(c), rb.Comp(c)
					for s := 1; s <= max(subCount(ca), subCount(cb), 1); s++ {
						if ca.Sub(s).String() != cb.Sub(s).String() {
							return Location{Segment: sa[i].ID(), Occurrence: i + 1, Field: f, Repetition: r, Component: c, Subcomponent: s}.String()
						}
					}
				}
			}
		}
	}
	return ""
}

func subCount(v Value) int {
	if v.dl.subcomponent() == 0 || len(v.raw) == 0 {
		return 1
	}
	return bytes.Count(v.raw, []byte{v.dl.subcomponent()}) + 1
}

// TestCorpusBatches checks the batch files of the corpus: the VXU batch has
// one message and a BTS count that is wrong (4), which must be reported.
func TestCorpusBatches(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpusDir, "batch", "batch_FHS_BHS_vxu_v24_BTS_FTS.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := SplitBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages()) != 1 {
		t.Errorf("messages = %d, want 1", len(b.Messages()))
	}
	if len(b.Problems) != 1 || !strings.Contains(b.Problems[0], "BTS-1 batch message count is 4 but there are 1") {
		t.Errorf("problems = %q", b.Problems)
	}
	m, err := Parse(b.Messages()[0])
	if err != nil {
		t.Fatal(err)
	}
	if !m.Get("MSH-10").Equal("MDPUB092001") || m.Count("RXA") != 3 {
		t.Errorf("batch message read wrong: MSH-10 %q, %d RXA", m.Get("MSH-10").String(), m.Count("RXA"))
	}

	data, err = os.ReadFile(filepath.Join(corpusDir, "real-iis-ack", "ack_nm_batch_FHS_BHS_wrapped.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	b, err = SplitBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages()) == 0 || !b.FileHeader.Is("FHS") {
		t.Errorf("NM wrapped ACK: %d messages", len(b.Messages()))
	}
}
