package hl7

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestComponentsMatchSplit: Comp, Rep and SplitComps return what splitting
// at the separators with bytes.Split gives, on every field of up to eight
// characters (or, every other one, up to 32) drawn from the separators
// and a letter.
func TestComponentsMatchSplit(t *testing.T) {
	d := DefaultDelimiters
	piece := func(parts [][]byte, i int) []byte { // nil when absent
		if i < 1 || i > len(parts) {
			return nil
		}
		return parts[i-1]
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "a^~&"
	for k := range 40000 {
		raw := make([]byte, rng.IntN(9+k%2*24)) // every other one past the eight bytes read at a time
		for i := range raw {
			raw[i] = alphabet[rng.IntN(len(alphabet))]
		}
		f := Value{raw: raw, dl: packDelims(d, levelField)}
		first := bytes.Split(raw, []byte{d.Repetition})[0]
		comps := bytes.Split(first, []byte{d.Component})
		for j := 0; j <= 5; j++ {
			if got, want := f.Comp(j).Bytes(), piece(comps, j); !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Fatalf("%q.Comp(%d) = %q, want %q", raw, j, got, want)
			}
			reps := bytes.Split(raw, []byte{d.Repetition})
			if got, want := f.Rep(j).Bytes(), piece(reps, j); !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Fatalf("%q.Rep(%d) = %q, want %q", raw, j, got, want)
			}
		}
		for n := 0; n <= 4; n++ {
			out := make([]Value, n)
			for i := range out {
				out[i] = Value{raw: []byte("stale")}
			}
			got := f.SplitComps(out)
			want := min(len(comps), n+1)
			if len(first) == 0 && n > 0 {
				want = 0
			}
			if got != want {
				t.Fatalf("%q.SplitComps(%d) = %d, want %d", raw, n, got, want)
			}
			for i := range out {
				if w := piece(comps, i+1); !bytes.Equal(out[i].Bytes(), w) {
					t.Fatalf("%q.SplitComps(%d)[%d] = %q, want %q", raw, n, i, out[i].Bytes(), w)
				}
			}
		}
	}
}

// TestAppendFieldsMatchesSplit: AppendFields cuts a segment where
// bytes.Split does, on random segments of up to 40 bytes whose fields are
// mostly shorter than the eight bytes it examines at a time.
func TestAppendFieldsMatchesSplit(t *testing.T) {
	d := DefaultDelimiters
	rng := rand.New(rand.NewPCG(5, 6))
	const alphabet = "ab|||^\xff\x7f"
	for range 20000 {
		raw := []byte("ZZZ|")
		for range rng.IntN(41) {
			raw = append(raw, alphabet[rng.IntN(len(alphabet))])
		}
		got := Segment{raw: raw, d: d}.AppendFields(nil)
		want := bytes.Split(raw[4:], []byte{d.Field})
		if len(got) != len(want) {
			t.Fatalf("%q: %d fields, want %d", raw, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i].Bytes(), want[i]) {
				t.Fatalf("%q field %d = %q, want %q", raw, i+1, got[i].Bytes(), want[i])
			}
		}
	}
}

// TestPackDelims: a Value's packed delimiters and level read back as they
// were given.
func TestPackDelims(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for range 1000 {
		d := Delimiters{Field: byte(rng.IntN(256)), Component: byte(rng.IntN(256)), Repetition: byte(rng.IntN(256)),
			Escape: byte(rng.IntN(256)), Subcomponent: byte(rng.IntN(256)), Truncation: byte(rng.IntN(256))}
		for _, l := range []level{levelField, levelRep, levelComp, levelSub, levelLiteral} {
			p := packDelims(d, l)
			if p.delimiters() != d || p.lvl() != l || p.component() != d.Component || p.repetition() != d.Repetition ||
				p.escape() != d.Escape || p.subcomponent() != d.Subcomponent {
				t.Fatalf("%+v at level %d packs to %x", d, l, uint64(p))
			}
			for _, l2 := range []level{levelField, levelLiteral} {
				if q := p.at(l2); q.delimiters() != d || q.lvl() != l2 {
					t.Fatalf("%+v at level %d then %d packs to %x", d, l, l2, uint64(q))
				}
			}
		}
	}
}
