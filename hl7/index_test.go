package hl7

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// indexDirs hold real messages beyond the corpus: the AIRA test VXUs of
// the full-read benchmark and the malformed messages kept as defects.
var indexDirs = []string{"../testdata/hl7/aira-vxu", "../testdata/hl7/defects"}

// hl7Files returns every .hl7 file under dir (none when dir is absent).
func hl7Files(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".hl7") {
			return err
		}
		b, err := os.ReadFile(path)
		files[path] = b
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	return files
}

// allMessages returns the corpus and the index's extra directories, by path.
func allMessages(tb testing.TB) map[string][]byte {
	files := corpus(tb)
	for _, dir := range indexDirs {
		for name, b := range hl7Files(tb, dir) {
			files[name] = b
		}
	}
	return files
}

// sameValue reports whether the index's value and the scanner's agree: the
// same bytes and, when not empty, the same level and text. (An empty value
// may differ in the level it reports; nothing can be read from it.)
func sameValue(a, b Value) bool {
	if !bytes.Equal(a.raw, b.raw) {
		return false
	}
	return len(a.raw) == 0 || (a.dl.lvl() == b.dl.lvl() && a.String() == b.String() && a.Plain() == b.Plain())
}

// diffIndex compares every value of s read through x (built on s) with
// the same value read by the Segment and Value methods, at every position
// present and one past each, and describes the first difference.
func diffIndex(x *Index, s Segment) string {
	if d := diffComponents(x, s); d != "" {
		return d
	}
	if x.NumFields() != s.NumFields() {
		return fmt.Sprintf("NumFields %d, scanner %d", x.NumFields(), s.NumFields())
	}
	for f := -1; f <= s.NumFields()+1; f++ {
		fv := s.Field(f)
		if l := (Location{Field: f}); !sameValue(x.At(l), s.At(l)) {
			return fmt.Sprintf("%s: index %q, scanner %q", l, x.At(l).raw, s.At(l).raw)
		}
		if x.NumReps(f) != fv.NumReps() || x.NumComps(f, 0) != fv.NumComps() {
			return fmt.Sprintf("field %d: NumReps %d NumComps %d, scanner %d %d", f, x.NumReps(f), x.NumComps(f, 0), fv.NumReps(), fv.NumComps())
		}
		for r := -1; r <= fv.NumReps()+1; r++ {
			rv := fv
			if r > 0 {
				rv = fv.Rep(r)
				if x.NumComps(f, r) != rv.NumComps() {
					return fmt.Sprintf("%d(%d): NumComps %d, scanner %d", f, r, x.NumComps(f, r), rv.NumComps())
				}
			}
			for c := -1; c <= rv.NumComps()+1; c++ {
				cv := rv
				if c > 0 {
					cv = rv.Comp(c)
				}
				if n := subCount(cv); c > 0 && cv.dl.lvl() == levelComp && x.NumSubs(f, r, c) != n && !(n == 1 && cv.IsEmpty()) {
					return fmt.Sprintf("%d(%d).%d: NumSubs %d, scanner %d", f, r, c, x.NumSubs(f, r, c), n)
				}
				for k := -1; k <= subCount(cv)+1; k++ {
					l := Location{Field: f, Repetition: r, Component: c, Subcomponent: k}
					want := cv // s.At(l), read without rescanning the segment
					if k > 0 {
						want = cv.Sub(k)
					}
					if got := x.At(l); !sameValue(got, want) {
						return fmt.Sprintf("%s: index %q (level %d), scanner %q (level %d)", l, got.raw, got.dl.lvl(), want.raw, want.dl.lvl())
					}
				}
			}
		}
	}
	return ""
}

// diffComponents compares what Index.Components yields with the loop
// over the scanner's counts that it stands for, and describes the first
// difference. It also checks that the iteration stops when told.
func diffComponents(x *Index, s Segment) string {
	type got struct {
		p Position
		v Value
	}
	var want []got
	for f := 1; f <= s.NumFields(); f++ {
		fv := s.Field(f)
		for r := 1; r <= fv.NumReps(); r++ {
			rv := fv.Rep(r)
			for c := 1; c <= rv.NumComps(); c++ {
				want = append(want, got{Position{f, r, c}, rv.Comp(c)})
			}
		}
	}
	if d := diffRepetitions(x, s); d != "" {
		return d
	}
	i := 0
	for p, v := range x.Components() {
		if i >= len(want) {
			return fmt.Sprintf("Components yields %v %q after the last", p, v.raw)
		}
		if p != want[i].p || !sameValue(v, want[i].v) {
			return fmt.Sprintf("Components yields %v %q (level %d), scanner %v %q (level %d)", p, v.raw, v.dl.lvl(), want[i].p, want[i].v.raw, want[i].v.dl.lvl())
		}
		i++
	}
	if i != len(want) {
		return fmt.Sprintf("Components yields %d components, scanner %d", i, len(want))
	}
	for stop := range min(len(want), 3) {
		n := 0
		for range x.Components() {
			if n == stop {
				break
			}
			n++
		}
		if n != stop {
			return fmt.Sprintf("Components goes on after break at %d", stop)
		}
	}
	return ""
}

// diffRepetitions compares what Index.Repetitions yields with the
// scanner's non-empty repetitions and their components, one past the last
// and at 0 and -1 included.
func diffRepetitions(x *Index, s Segment) string {
	type rep struct {
		p Position
		v Value
	}
	var want []rep
	for f := 1; f <= s.NumFields(); f++ {
		fv := s.Field(f)
		for r := 1; r <= fv.NumReps(); r++ {
			if fv.Rep(r).NumComps() > 0 {
				want = append(want, rep{Position{f, r, 0}, fv.Rep(r)})
			}
		}
	}
	i := 0
	for got := range x.Repetitions() {
		p := got.Position()
		if i >= len(want) || p != want[i].p {
			return fmt.Sprintf("Repetitions yields %v at %d of %d", p, i, len(want))
		}
		rv := want[i].v
		if got.NumComps() != rv.NumComps() {
			return fmt.Sprintf("%v: NumComps %d, scanner %d", p, got.NumComps(), rv.NumComps())
		}
		n := 0
		for c, v := range got.Comps() {
			if n++; c != n || !sameValue(v, rv.Comp(c)) {
				return fmt.Sprintf("%v: Comps yields %d %q, scanner %d %q", p, c, v.raw, n, rv.Comp(n).raw)
			}
		}
		if n != rv.NumComps() {
			return fmt.Sprintf("%v: Comps yields %d, scanner %d", p, n, rv.NumComps())
		}
		for c := -1; c <= rv.NumComps()+1; c++ {
			w := Value{}
			if c > 0 {
				w = rv.Comp(c)
			}
			if !sameValue(got.Comp(c), w) {
				return fmt.Sprintf("%v.%d: Repetitions %q, scanner %q", p, c, got.Comp(c).raw, w.raw)
			}
		}
		i++
	}
	if i != len(want) {
		return fmt.Sprintf("Repetitions yields %d, scanner %d", i, len(want))
	}
	return ""
}

// checkIndex indexes every segment of data (and data itself, when short,
// as one segment with the default delimiters) and compares the index with the
// scanner.
func checkIndex(t *testing.T, x *Index, name string, data []byte) {
	t.Helper()
	var segs []Segment
	if m, err := Parse(data); err == nil {
		segs = m.Segments()
	}
	if len(data) <= 4096 { // the scanner's reads of a long one take long
		segs = append(segs, Segment{raw: data, d: DefaultDelimiters})
	}
	for i, s := range segs {
		x.Build(s)
		if d := diffIndex(x, s); d != "" {
			t.Fatalf("%s segment %d (%.40q): %s", name, i+1, s.raw, d)
		}
	}
}

// TestIndexMatchesScanner: on every real message, each value read through
// the Index is the value the Segment and Value methods read.
func TestIndexMatchesScanner(t *testing.T) {
	var x Index
	files := allMessages(t)
	for name, data := range files {
		b, err := SplitBatch(data)
		if err != nil {
			checkIndex(t, &x, name, data)
			continue
		}
		for _, msg := range b.Messages() {
			checkIndex(t, &x, name, msg)
		}
	}
	t.Logf("%d files", len(files))
}

// TestIndexCases: the cases where the scanner has rules of its own —
// MSH-1 and MSH-2, empty and trailing fields, escapes, a message without
// a subcomponent separator, odd delimiters, segments too short to hold a
// field, and many fields.
func TestIndexCases(t *testing.T) {
	var x Index
	many := "ZZZ" + strings.Repeat("|a^b~c&d", 300)
	for _, msg := range []string{
		vxu,
		"MSH|^~\\&|A||||||VXU^V04|1\rPID|||||\rPV1|\rNTE",
		"MSH|^~\\&\rZZZ|a",
		"MSH|^~\\&|\r",
		"MSH|^~|A^B&C|x~y\rPID|1|a&b^c",
		"MSH|^~\\&#|A\rPID|1||a\\P\\b\\X0D0A\\\\.br\\|\\F\\^\\S\\",
		"MSH#$*@!|#A#x$y*z$w!v#a|b@F@c@X41@@H@\rPID#1##a$b!c*d#@E@",
		"MSH|^~\\&|A\r" + many,
		"MSH|^~\\&|A\rPID|^^^~~~&&&|||~|^|&|",
	} {
		checkIndex(t, &x, fmt.Sprintf("%.30q", msg), []byte(msg))
	}
	for _, seg := range []string{"", "P", "PID", "PID|", "MSH", "MSH|", "MSH|^", "MSH|^~\\&", "FHS|^~\\&|x^y", "BHS|^~|a~b"} {
		s := Segment{raw: []byte(seg), d: DefaultDelimiters}
		x.Build(s)
		if d := diffIndex(&x, s); d != "" {
			t.Errorf("%q: %s", seg, d)
		}
	}
	x.Build(Segment{raw: []byte(many), d: DefaultDelimiters})
	if got := x.Sub(300, 2, 1, 2).String(); got != "d" {
		t.Errorf("ZZZ-300(2).1.2 = %q, want d", got)
	}
}

// TestIndexRandomSegments: the index and the scanner agree on random
// segments drawn from the delimiters, the escape character and a letter.
func TestIndexRandomSegments(t *testing.T) {
	var x Index
	rng := rand.New(rand.NewPCG(7, 8))
	const alphabet = "a|^~&\\"
	for range 5000 {
		raw := []byte([]string{"ZZZ|", "MSH|", "MSH|^~\\&|", "ZZZ"}[rng.IntN(4)])
		for range rng.IntN(30) {
			raw = append(raw, alphabet[rng.IntN(len(alphabet))])
		}
		for _, d := range []Delimiters{DefaultDelimiters, {Field: '|', Component: '^', Repetition: '~'}} {
			s := Segment{raw: raw, d: d}
			x.Build(s)
			if diff := diffIndex(&x, s); diff != "" {
				t.Fatalf("%q (%+v): %s", raw, d, diff)
			}
		}
	}
}

// TestIndexZeroAllocs: once grown, an Index builds and reads without
// allocating.
func TestIndexZeroAllocs(t *testing.T) {
	m := mustParse(t, vxu)
	var x Index
	n := 0
	read := func() {
		for _, s := range m.Segments() {
			x.Build(s)
			for f := 1; f <= x.NumFields(); f++ {
				for r := 1; r <= x.NumReps(f); r++ {
					for c := 1; c <= x.NumComps(f, r); c++ {
						for k := 1; k <= x.NumSubs(f, r, c); k++ {
							n += len(x.Sub(f, r, c, k).Bytes())
						}
					}
				}
			}
			for _, v := range x.Components() {
				n += len(v.Bytes())
			}
			for rep := range x.Repetitions() {
				n += len(rep.Comp(rep.NumComps()).Bytes())
			}
		}
	}
	read()
	if a := testing.AllocsPerRun(100, read); a != 0 {
		t.Errorf("%v allocations per full read", a)
	}
}

// FuzzIndex: on arbitrary input the index and the scanner agree on every
// segment of a message that parses, and on the input taken as one segment.
// Seeds: the corpus, the AIRA VXUs and the defects.
func FuzzIndex(f *testing.F) {
	seedCorpus(f)
	for _, dir := range indexDirs { // the shared collection is TestIndexMatchesScanner's
		for _, b := range hl7Files(f, dir) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var x Index
		checkIndex(t, &x, "input", data)
	})
}
