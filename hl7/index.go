package hl7

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Index is the structural index of one segment: the positions of all its
// field, repetition, component and subcomponent separators, found in one
// pass by [Index.Build]. Afterwards [Index.Field], [Index.Rep],
// [Index.Comp] and [Index.Sub] take constant time whatever the position,
// where the same calls on a [Segment] and its [Value]s scan from the start
// of the segment or value. The values it returns are the ones the Segment
// and Value methods return (same bytes, same level; escape sequences are
// kept as sent), views of the input, so a reader that reads many values of
// a segment indexes it once and reads them at no further scanning cost. An
// Index is reused from segment to segment: once its buffers have grown to
// the longest segment, Build does not allocate.
//
// The index is four arrays in the manner of a compressed sparse row
// matrix: leaf holds the start of every subcomponent (leaves follow one
// another, each ended by one separator byte); comp holds, for every
// component, its first leaf; rep, for every repetition, its first
// component; field, for every field, its first repetition. Each array ends
// with a sentinel, so that item i spans [a[i], a[i+1]) of the level below.
type Index struct {
	raw    []byte
	dl     delims
	header bool   // MSH, FHS or BHS: fields 1 and 2 are literal
	enc    []byte // a header's field 2, the encoding characters
	leaf   []uint32
	comp   []uint32
	rep    []uint32
	field  []uint32 // field[0] is the first field after any literal ones
}

// Build indexes s, replacing what x held. The Index refers to the
// segment's bytes, which must not change while it is in use.
func (x *Index) Build(s Segment) {
	x.raw, x.dl, x.header, x.enc = s.raw, packDelims(s.d, levelField), false, nil
	x.leaf, x.comp, x.rep, x.field = x.leaf[:0], x.comp[:0], x.rep[:0], append(x.field[:0], 0)
	if len(s.raw) <= 3 {
		return
	}
	start := 4
	if s.isHeader() {
		x.header = true
		end := bytes.IndexByte(s.raw[4:], s.d.Field)
		if end < 0 {
			x.enc = s.raw[4:]
			return
		}
		x.enc = s.raw[4 : 4+end]
		start = 4 + end + 1
	}
	x.scan(start)
}

// scan records the separators of x.raw[start:], which holds the segment's
// non-literal fields.
func (x *Index) scan(start int) {
	d := x.dl.delimiters()
	fs, rs, cs, ss := d.Field, d.Repetition, d.Component, d.Subcomponent
	leaf, comp, rep, field := append(x.leaf, uint32(start)), append(x.comp, 0), append(x.rep, 0), x.field
	// record files the separator at i: the item it ends closes, and a new
	// one begins at every level up to the separator's own.
	record := func(i int) {
		switch x.raw[i] {
		case fs:
			field = append(field, uint32(len(rep)))
			fallthrough
		case rs:
			rep = append(rep, uint32(len(comp)))
			fallthrough
		case cs:
			comp = append(comp, uint32(len(leaf)))
		}
		leaf = append(leaf, uint32(i+1))
	}
	// Eight bytes at a time, as in AppendFields; the subcomponent
	// separator only when the message declares one.
	pf, pr, pc, ps := uint64(fs)*lowBytes, uint64(rs)*lowBytes, uint64(cs)*lowBytes, uint64(ss)*lowBytes
	raw, i := x.raw, start
	for ; i+8 <= len(raw); i += 8 {
		w := binary.LittleEndian.Uint64(raw[i:])
		m := zeroBytes(w^pf) | zeroBytes(w^pr) | zeroBytes(w^pc)
		if ss != 0 {
			m |= zeroBytes(w ^ ps)
		}
		for ; m != 0; m &= m - 1 {
			record(i + bits.TrailingZeros64(m)>>3)
		}
	}
	for ; i < len(raw); i++ {
		if c := raw[i]; c == fs || c == rs || c == cs || (c == ss && ss != 0) {
			record(i)
		}
	}
	leaf = append(leaf, uint32(len(raw)+1))
	comp = append(comp, uint32(len(leaf)-1))
	rep = append(rep, uint32(len(comp)-1))
	x.leaf, x.comp, x.rep, x.field = leaf, comp, rep, append(field, uint32(len(rep)-1))
}

// Segment returns the indexed segment.
func (x *Index) Segment() Segment { return Segment{raw: x.raw, d: x.dl.delimiters()} }

// literals is the number of literal fields before x.field[0].
func (x *Index) literals() int {
	if x.header {
		return 2
	}
	return 0
}

// NumFields returns the number of the last field present, as
// [Segment.NumFields].
func (x *Index) NumFields() int {
	if len(x.raw) <= 3 {
		return 0
	}
	n := x.literals() + len(x.field) - 1
	if x.raw[3] != x.dl.delimiters().Field {
		// The scanner counts field separators, and byte 3 is not one.
		n--
	}
	return n
}

// literal returns MSH-1 (n = 1) or MSH-2 (n = 2) of a header segment.
func (x *Index) literal(n int) Value {
	if n == 1 {
		return Value{raw: x.raw[3:4], dl: x.dl.at(levelLiteral)}
	}
	return Value{raw: x.enc, dl: x.dl.at(levelLiteral)}
}

// literalCount is the number of repetitions, components or
// subcomponents of a literal field n at a position (1 when it is not empty
// and first is true: a literal value has only itself as its first piece).
func (x *Index) literalCount(n int, first bool) int {
	if !first {
		return 0
	}
	return min(len(x.literal(n).raw), 1)
}

// isLiteral reports whether field n is MSH-1 or MSH-2.
func (x *Index) isLiteral(n int) bool { return x.header && (n == 1 || n == 2) }

// span returns the bytes of the items lo..hi-1 of a level whose items
// start at leaf first[lo] and end before leaf first[hi].
func (x *Index) span(lo, hi uint32) []byte {
	return x.raw[x.leaf[lo] : x.leaf[hi]-1]
}

// fieldReps returns the first and the end repetition of field n, ok false
// when the field is not present or literal.
func (x *Index) fieldReps(n int) (lo, hi uint32, ok bool) {
	i := n - 1 - x.literals()
	if i < 0 || i >= len(x.field)-1 {
		return 0, 0, false
	}
	return x.field[i], x.field[i+1], true
}

// Field returns field n (1-based), as [Segment.Field].
func (x *Index) Field(n int) Value {
	if x.isLiteral(n) {
		return x.literal(n)
	}
	lo, hi, ok := x.fieldReps(n)
	if !ok {
		return Value{}
	}
	return Value{raw: x.span(x.comp[x.rep[lo]], x.comp[x.rep[hi]]), dl: x.dl}
}

// NumReps returns the number of repetitions of field n, as
// [Value.NumReps] of [Index.Field].
func (x *Index) NumReps(n int) int {
	if x.isLiteral(n) {
		return x.literalCount(n, true)
	}
	lo, hi, ok := x.fieldReps(n)
	if !ok || len(x.span(x.comp[x.rep[lo]], x.comp[x.rep[hi]])) == 0 {
		return 0
	}
	return int(hi - lo)
}

// repetition returns the index of repetition r of field n, ok false when
// it is not present.
func (x *Index) repetition(n, r int) (uint32, bool) {
	lo, hi, ok := x.fieldReps(n)
	if !ok || r < 1 || r > int(hi-lo) {
		return 0, false
	}
	return lo + uint32(r-1), true
}

// Rep returns repetition r of field n, as Field(n).Rep(r).
func (x *Index) Rep(n, r int) Value {
	if x.isLiteral(n) {
		if r == 1 {
			return x.literal(n)
		}
		return Value{}
	}
	k, ok := x.repetition(n, r)
	if !ok {
		return Value{dl: x.dl.at(levelRep)}
	}
	return Value{raw: x.span(x.comp[x.rep[k]], x.comp[x.rep[k+1]]), dl: x.dl.at(levelRep)}
}

// NumComps returns the number of components of repetition r of field n
// (the first when r is 0), as [Value.NumComps].
func (x *Index) NumComps(n, r int) int {
	if x.isLiteral(n) {
		return x.literalCount(n, r <= 1)
	}
	k, ok := x.repetition(n, max(r, 1))
	if !ok {
		return 0
	}
	lo, hi := x.rep[k], x.rep[k+1]
	if len(x.span(x.comp[lo], x.comp[hi])) == 0 {
		return 0
	}
	return int(hi - lo)
}

// component returns the index of component c of repetition r of field n.
func (x *Index) component(n, r, c int) (uint32, bool) {
	k, ok := x.repetition(n, r)
	if !ok {
		return 0, false
	}
	lo, hi := x.rep[k], x.rep[k+1]
	if c < 1 || c > int(hi-lo) {
		return 0, false
	}
	return lo + uint32(c-1), true
}

// Comp returns component c of repetition r of field n (of the first
// repetition when r is 0), as Field(n).Rep(r).Comp(c).
func (x *Index) Comp(n, r, c int) Value {
	if x.isLiteral(n) {
		if r <= 1 && c == 1 {
			return x.literal(n)
		}
		return Value{}
	}
	j, ok := x.component(n, max(r, 1), c)
	if !ok {
		return Value{dl: x.dl.at(levelComp)}
	}
	return Value{raw: x.span(x.comp[j], x.comp[j+1]), dl: x.dl.at(levelComp)}
}

// NumSubs returns the number of subcomponents of component c of
// repetition r of field n (the first of each when 0): 0 when the component
// is empty.
func (x *Index) NumSubs(n, r, c int) int {
	if x.isLiteral(n) {
		return x.literalCount(n, r <= 1 && c <= 1)
	}
	j, ok := x.component(n, max(r, 1), max(c, 1))
	if !ok {
		return 0
	}
	lo, hi := x.comp[j], x.comp[j+1]
	if len(x.span(lo, hi)) == 0 {
		return 0
	}
	return int(hi - lo)
}

// Sub returns subcomponent s of component c of repetition r of field n
// (the first repetition or component when r or c is 0), as
// Field(n).Rep(r).Comp(c).Sub(s).
func (x *Index) Sub(n, r, c, s int) Value {
	if x.isLiteral(n) {
		if r <= 1 && c <= 1 && s == 1 {
			return x.literal(n)
		}
		return Value{}
	}
	j, ok := x.component(n, max(r, 1), max(c, 1))
	if !ok {
		return Value{dl: x.dl.at(levelSub)}
	}
	lo, hi := x.comp[j], x.comp[j+1]
	if s < 1 || s > int(hi-lo) {
		return Value{dl: x.dl.at(levelSub)}
	}
	l := lo + uint32(s-1)
	return Value{raw: x.span(l, l+1), dl: x.dl.at(levelSub)}
}

// At returns the value at l within the indexed segment (l.Segment and
// l.Occurrence are ignored), as [Segment.At].
func (x *Index) At(l Location) Value {
	switch {
	case l.Subcomponent > 0:
		return x.Sub(l.Field, l.Repetition, l.Component, l.Subcomponent)
	case l.Component > 0:
		return x.Comp(l.Field, l.Repetition, l.Component)
	case l.Repetition > 0:
		return x.Rep(l.Field, l.Repetition)
	}
	return x.Field(l.Field)
}
