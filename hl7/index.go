package hl7

import (
	"bytes"
	"encoding/binary"
	"iter"
	"math/bits"
	"slices"
)

// Index is the structural index of one segment: the positions of all its
// field, repetition, component and subcomponent separators, found in one
// pass by [Index.Build]. Afterwards [Index.Field], [Index.Rep],
// [Index.Comp] and [Index.Sub] take constant time whatever the position,
// where the same calls on a [Segment] and its [Value]s scan from the start
// of the segment or value; [Index.Components] yields every component in
// order. The values it returns are the ones the Segment and Value methods
// return (same bytes, same level; escape sequences are kept as sent),
// views of the input, so a reader that reads many values of a segment
// indexes it once and reads them at no further scanning cost. An Index is
// reused from segment to segment: once its buffers have grown to the
// longest segment, Build does not allocate.
//
// The index is the offset of every separator in order (sep) and, for
// every field, where its separators begin in sep (field). Most fields are
// plain, with components only: component c of such a field lies between
// its separators c-1 and c. The few fields with a repetition or
// subcomponent separator are marked in field and indexed further, when
// the segment is built, in the manner of a compressed sparse row matrix:
// for each repetition and component, where it starts and the index of its
// first component or subcomponent. The accessors read a plain field
// inline and leave the other cases to functions of their own.
type Index struct {
	raw           []byte
	dl            delims // the delimiters, at the field level
	rdl, cdl, sdl delims // at the repetition, component and subcomponent levels
	header        bool   // MSH, FHS or BHS: fields 1 and 2 are literal
	lit           int    // the number of literal fields: 2 in a header, else 0
	base          int    // the number of the field fe[0] is: lit + 1
	enc           []byte // a header's field 2, the encoding characters
	num           int    // what NumFields returns
	// sep holds the offset of every separator of the non-literal fields,
	// after a virtual field separator before the first field and before
	// one past the end.
	sep []uint32
	// field holds, for each field and then a sentinel, the index in sep of
	// the separator before it, with complexField set when the field has a
	// repetition or subcomponent separator.
	field []uint32
	nf    int         // the number of fields: len(field) - 1
	fx    []fieldReps // by field, for the complex ones
	// The repetitions, components and subcomponents of the fields that
	// have a repetition or subcomponent separator.
	rep  []item
	comp []item
	leaf []uint32
	// After the segment's separators, sep holds for Repetitions the offset
	// before each item of comp from cbase, and a header's MSH-1 and MSH-2
	// as two pairs of offsets from lbase.
	cbase, lbase uint32
	ldl          delims // at the literal level
	// The repetitions that are not empty, listed by the first call of
	// Repetitions after Build.
	reps   []repEntry
	listed bool
}

// fieldReps locates the nrep repetitions of a complex field in Index.rep.
type fieldReps struct{ rep, nrep uint32 }

// complexField marks, in Index.field, a field with a repetition or
// subcomponent separator; sepMask takes it off.
const (
	complexField = 1 << 31
	sepMask      = complexField - 1
)

// item is a repetition or component of a field in the index: the offset
// of its first byte and the index of its first item one level down (its
// first component, or its first subcomponent in Index.leaf). Items follow
// one another, each ended by one separator byte, and the items of each
// field end with a sentinel, so item i ends one byte before item i+1
// starts.
type item struct{ start, child uint32 }

// Build indexes s, replacing what x held. The Index refers to the
// segment's bytes, which must not change while it is in use. Offsets are
// 31-bit: a segment must be shorter than 2 GiB.
func (x *Index) Build(s Segment) {
	x.raw, x.dl, x.header, x.lit, x.enc = s.raw, packDelims(s.d, levelField), false, 0, nil
	x.rdl, x.cdl, x.sdl = x.dl.at(levelRep), x.dl.at(levelComp), x.dl.at(levelSub)
	x.sep, x.field, x.fx, x.nf = x.sep[:0], x.field[:0], x.fx[:0], 0
	x.rep, x.comp, x.leaf = x.rep[:0], x.comp[:0], x.leaf[:0]
	x.ldl, x.listed = x.dl.at(levelLiteral), false
	x.num, x.base = 0, 1
	if len(s.raw) <= 3 {
		return
	}
	start := 4
	if s.isHeader() {
		x.header, x.lit, x.base = true, 2, 3
		end := bytes.IndexByte(s.raw[4:], s.d.Field)
		if end < 0 {
			x.enc, start = s.raw[4:], -1
		} else {
			x.enc, start = s.raw[4:4+end], 4+end+1
		}
	}
	if start >= 0 {
		x.scan(start)
	}
	if x.header {
		x.lbase = uint32(len(x.sep))
		x.sep = append(x.sep, 2, 4, 3, uint32(4+len(x.enc)))
	}
	x.num = x.lit + x.nf
	if x.raw[3] != s.d.Field {
		// The scanner counts field separators, and byte 3 is not one.
		x.num--
	}
}

// scan records the separators of x.raw[start:], which holds the segment's
// non-literal fields, and indexes the fields that are not plain.
func (x *Index) scan(start int) {
	// The buffers are grown first to hold a separator for each byte, and
	// the separators written by index, with no call in the scanning loops:
	// a virtual field separator before the first field, each separator's
	// offset in sep and its index in field at the next field's place,
	// which a field separator then takes, and one past the end.
	raw, d := x.raw, x.dl.delimiters()
	n := len(raw) - start + 10
	sep, field := slices.Grow(x.sep[:0], n), slices.Grow(x.field[:0], n)
	sep, field = sep[:cap(sep)], field[:cap(field)]
	sep[0], field[0] = uint32(start-1), 0
	var ns, nf int
	var cx bool
	switch body := raw[start:]; {
	case len(raw) < 8:
		ns, nf, cx = scanShort(raw, start, d, sep, field)
	case bytes.IndexByte(body, d.Repetition) < 0 && (d.Subcomponent == 0 || bytes.IndexByte(body, d.Subcomponent) < 0):
		// Most segments have no repetition or subcomponent separator: two
		// searches of the whole segment (vectorised by the runtime) say
		// so, and then only field and component separators are looked for.
		ns, nf = scanPlain(raw, start, d, sep, field)
	default:
		ns, nf, cx = scanAll(raw, start, d, sep, field)
	}
	sep[ns], field[nf] = uint32(len(raw)), uint32(ns)
	x.sep, x.field, x.nf = sep[:ns+1], field[:nf+1], nf
	if cx {
		x.fx = slices.Grow(x.fx[:0], x.nf)[:x.nf]
		for i := range x.nf {
			if x.field[i] >= complexField {
				x.indexField(i)
			}
		}
		x.cbase = uint32(len(x.sep))
		for _, c := range x.comp {
			x.sep = append(x.sep, c.start-1)
		}
	}
}

// scanAll records the separators of raw[start:], at least eight bytes,
// from sep[1] and field[1] on, and returns their numbers: the offset of
// each in sep and the index in sep of each field separator in field,
// marking the fields with a repetition or subcomponent separator; cx
// reports whether there is any.
func scanAll(raw []byte, start int, d Delimiters, sep, field []uint32) (ns, nf int, cx bool) {
	var sc sepScanner
	sc.init(d)
	var marked uint32
	ns, nf = 1, 1
	for i := start; i < len(raw); i += 8 {
		// Eight bytes at a time, as in AppendFields; the last word is the
		// segment's last eight bytes, shifted to start at i and masked.
		var w uint64
		valid := ^uint64(0)
		if i+8 <= len(raw) {
			w = binary.LittleEndian.Uint64(raw[i:])
		} else {
			past := uint(i + 8 - len(raw))
			w = binary.LittleEndian.Uint64(raw[len(raw)-8:]) >> (8 * past)
			valid >>= 8 * past
		}
		// sc.match, written out: the compiler does not inline it.
		mf := zeroBytes(w^sc.pf) & valid
		mc := zeroBytes(w^sc.pc) & valid
		mx := (zeroBytes(w^sc.pr) | zeroBytes(w^sc.ps)) & valid &^ (mf | mc)
		for m := mf | mc | mx; m != 0; m &= m - 1 {
			t := bits.TrailingZeros64(m)
			sep[ns] = uint32(i + t>>3)
			mark := uint32(mx>>t&1) << 31
			field[nf-1] |= mark
			marked |= mark
			field[nf] = uint32(ns)
			nf += int(mf >> t & 1)
			ns++
		}
	}
	return ns, nf, marked != 0
}

// scanPlain is scanAll of a segment with only field and component
// separators.
func scanPlain(raw []byte, start int, d Delimiters, sep, field []uint32) (ns, nf int) {
	pf, pc := uint64(d.Field)*lowBytes, uint64(d.Component)*lowBytes
	ns, nf = 1, 1
	i := start
	for ; i+8 <= len(raw); i += 8 {
		w := binary.LittleEndian.Uint64(raw[i : i+8])
		mf := zeroBytes(w ^ pf)
		for m := mf | zeroBytes(w^pc); m != 0; m &= m - 1 {
			t := bits.TrailingZeros64(m)
			sep[ns] = uint32(i + t>>3)
			field[nf] = uint32(ns)
			nf += int(mf >> t & 1)
			ns++
		}
	}
	if i < len(raw) {
		// The segment's last eight bytes, shifted to start at i and masked.
		past := uint(i + 8 - len(raw))
		w := binary.LittleEndian.Uint64(raw[len(raw)-8:]) >> (8 * past)
		valid := ^uint64(0) >> (8 * past)
		mf := zeroBytes(w^pf) & valid
		for m := mf | zeroBytes(w^pc)&valid; m != 0; m &= m - 1 {
			t := bits.TrailingZeros64(m)
			sep[ns] = uint32(i + t>>3)
			field[nf] = uint32(ns)
			nf += int(mf >> t & 1)
			ns++
		}
	}
	return ns, nf
}

// sepScanner finds the separators in a word of eight bytes.
type sepScanner struct{ pf, pc, pr, ps uint64 }

func (sc *sepScanner) init(d Delimiters) {
	sc.pf, sc.pc = uint64(d.Field)*lowBytes, uint64(d.Component)*lowBytes
	sc.pr, sc.ps = uint64(d.Repetition)*lowBytes, uint64(d.Subcomponent)*lowBytes
	if d.Subcomponent == 0 {
		sc.ps = sc.pr // a pattern already searched for
	}
}

// match returns, among the bytes of w whose high bit is set in valid, the
// high bits of the field separators (mf), of every separator (m) and of
// the repetition and subcomponent separators (mx).
func (sc *sepScanner) match(w, valid uint64) (mf, m, mx uint64) {
	mf = zeroBytes(w^sc.pf) & valid
	mc := zeroBytes(w^sc.pc) & valid
	mx = (zeroBytes(w^sc.pr) | zeroBytes(w^sc.ps)) & valid &^ (mf | mc)
	return mf, mf | mc | mx, mx
}

// scanShort is scanAll of a segment shorter than eight bytes.
func scanShort(raw []byte, start int, d Delimiters, sep, field []uint32) (ns, nf int, cx bool) {
	var buf [8]byte
	copy(buf[:], raw[start:])
	var sc sepScanner
	sc.init(d)
	mf, m, mx := sc.match(binary.LittleEndian.Uint64(buf[:]), lowBytes<<7&(1<<(8*(len(raw)-start))-1))
	ns, nf = 1, 1
	for ; m != 0; m &= m - 1 {
		t := bits.TrailingZeros64(m)
		sep[ns] = uint32(start + t>>3)
		if mf>>t&1 != 0 {
			field[nf] = uint32(ns)
			nf++
		} else if mx>>t&1 != 0 {
			field[nf-1] |= complexField
			cx = true
		}
		ns++
	}
	return ns, nf, cx
}

// indexField indexes the repetitions, components and subcomponents of
// field f, which is not plain.
func (x *Index) indexField(f int) {
	d := x.dl.delimiters()
	lo, hi := x.span(f)
	rep, comp, leaf := x.rep, x.comp, x.leaf
	first := x.sep[lo] + 1
	r0 := uint32(len(rep))
	rep = append(rep, item{first, uint32(len(comp))})
	comp = append(comp, item{first, uint32(len(leaf))})
	leaf = append(leaf, first)
	for _, p := range x.sep[lo+1 : hi] {
		next := p + 1
		switch x.raw[p] {
		case d.Repetition:
			rep = append(rep, item{next, uint32(len(comp))})
			fallthrough
		case d.Component:
			comp = append(comp, item{next, uint32(len(leaf))})
		}
		leaf = append(leaf, next)
	}
	end := x.sep[hi] + 1
	leaf = append(leaf, end)
	comp = append(comp, item{end, uint32(len(leaf) - 1)})
	rep = append(rep, item{end, uint32(len(comp) - 1)})
	x.rep, x.comp, x.leaf = rep, comp, leaf
	x.fx[f] = fieldReps{rep: r0, nrep: uint32(len(rep)-1) - r0}
}

// Segment returns the indexed segment.
func (x *Index) Segment() Segment { return Segment{raw: x.raw, d: x.dl.delimiters()} }

// NumFields returns the number of the last field present, as
// [Segment.NumFields].
func (x *Index) NumFields() int { return x.num }

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

// fieldAt returns the index of field n, ok false when the field is not
// present or literal.
func (x *Index) fieldAt(n int) (int, bool) {
	i := n - x.base
	return i, uint(i) < uint(x.nf)
}

// count returns the number of children of item i of level a: 0 when the
// item is empty.
func count(a []item, i int) int {
	if a[i+1].start-1 == a[i].start {
		return 0
	}
	return int(a[i+1].child - a[i].child)
}

// span returns the indexes in x.sep of the separators before and after
// field i.
func (x *Index) span(i int) (lo, hi uint32) { return x.field[i] & sepMask, x.field[i+1] & sepMask }

// The accessors read a plain field themselves and leave the other cases to
// functions of their own.

// Field returns field n (1-based), as [Segment.Field].
func (x *Index) Field(n int) Value {
	if i, ok := x.fieldAt(n); ok {
		lo, hi := x.span(i)
		return Value{raw: x.raw[x.sep[lo]+1 : x.sep[hi]], dl: x.dl}
	}
	if x.isLiteral(n) {
		return x.literal(n)
	}
	return Value{}
}

// NumReps returns the number of repetitions of field n, as
// [Value.NumReps] of [Index.Field].
func (x *Index) NumReps(n int) int {
	if i, ok := x.fieldAt(n); ok {
		if x.field[i] >= complexField {
			return int(x.fx[i].nrep)
		}
		if lo, hi := x.span(i); x.sep[hi]-x.sep[lo] > 1 {
			return 1
		}
		return 0
	}
	if x.isLiteral(n) {
		return x.literalCount(n, true)
	}
	return 0
}

// Rep returns repetition r of field n, as Field(n).Rep(r).
func (x *Index) Rep(n, r int) Value {
	if i, ok := x.fieldAt(n); ok {
		switch {
		case x.field[i] < complexField && r == 1:
			lo, hi := x.span(i)
			return Value{raw: x.raw[x.sep[lo]+1 : x.sep[hi]], dl: x.rdl}
		case x.field[i] >= complexField && r >= 1 && r <= int(x.fx[i].nrep):
			k := int(x.fx[i].rep) + r - 1
			return Value{raw: x.raw[x.rep[k].start : x.rep[k+1].start-1], dl: x.rdl}
		}
		return Value{dl: x.rdl}
	}
	if x.isLiteral(n) {
		if r == 1 {
			return x.literal(n)
		}
		return Value{}
	}
	return Value{dl: x.rdl}
}

// NumComps returns the number of components of repetition r of field n
// (the first when r is 0), as [Value.NumComps].
func (x *Index) NumComps(n, r int) int {
	r = max(r, 1)
	if i, ok := x.fieldAt(n); ok {
		switch lo, hi := x.span(i); {
		case x.field[i] < complexField && r == 1:
			if x.sep[hi]-x.sep[lo] > 1 {
				return int(hi - lo)
			}
		case x.field[i] >= complexField && r <= int(x.fx[i].nrep):
			return count(x.rep, int(x.fx[i].rep)+r-1)
		}
		return 0
	}
	if x.isLiteral(n) {
		return x.literalCount(n, r == 1)
	}
	return 0
}

// compAt returns the index in x.comp of component c of repetition r of
// field i, which is not plain.
func (x *Index) compAt(i, r, c int) (int, bool) {
	f := x.fx[i]
	if r < 1 || r > int(f.nrep) {
		return 0, false
	}
	k := int(f.rep) + r - 1
	j := int(x.rep[k].child) + c - 1
	return j, c >= 1 && j < int(x.rep[k+1].child)
}

// Comp returns component c of repetition r of field n (of the first
// repetition when r is 0), as Field(n).Rep(r).Comp(c).
func (x *Index) Comp(n, r, c int) Value {
	if i, ok := x.fieldAt(n); ok {
		if x.field[i] < complexField {
			if lo, hi := x.span(i); r <= 1 && uint(c-1) < uint(hi-lo) {
				k := int(lo) + c
				return Value{raw: x.raw[x.sep[k-1]+1 : x.sep[k]], dl: x.cdl}
			}
		} else if j, ok := x.compAt(i, max(r, 1), c); ok {
			return Value{raw: x.raw[x.comp[j].start : x.comp[j+1].start-1], dl: x.cdl}
		}
		return Value{dl: x.cdl}
	}
	if x.isLiteral(n) {
		if r <= 1 && c == 1 {
			return x.literal(n)
		}
		return Value{}
	}
	return Value{dl: x.cdl}
}

// NumSubs returns the number of subcomponents of component c of
// repetition r of field n (the first of each when 0): 0 when the component
// is empty.
func (x *Index) NumSubs(n, r, c int) int {
	r, c = max(r, 1), max(c, 1)
	if i, ok := x.fieldAt(n); ok {
		if x.field[i] < complexField {
			return min(len(x.Comp(n, r, c).raw), 1)
		}
		if j, ok := x.compAt(i, r, c); ok {
			return count(x.comp, j)
		}
		return 0
	}
	if x.isLiteral(n) {
		return x.literalCount(n, r == 1 && c == 1)
	}
	return 0
}

// Sub returns subcomponent s of component c of repetition r of field n
// (the first repetition or component when r or c is 0), as
// Field(n).Rep(r).Comp(c).Sub(s).
func (x *Index) Sub(n, r, c, s int) Value {
	r, c = max(r, 1), max(c, 1)
	if i, ok := x.fieldAt(n); ok {
		if x.field[i] < complexField {
			if s == 1 {
				return x.Comp(n, r, c).subLevel()
			}
		} else if j, ok := x.compAt(i, r, c); ok {
			if l := int(x.comp[j].child) + s - 1; s >= 1 && l < int(x.comp[j+1].child) {
				return Value{raw: x.raw[x.leaf[l] : x.leaf[l+1]-1], dl: x.sdl}
			}
		}
		return Value{dl: x.sdl}
	}
	if x.isLiteral(n) {
		if r == 1 && c == 1 && s == 1 {
			return x.literal(n)
		}
		return Value{}
	}
	return Value{dl: x.sdl}
}

// subLevel returns v, a component, as its own subcomponent.
func (v Value) subLevel() Value { return Value{raw: v.raw, dl: v.dl.at(levelSub)} }

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

// Position is where [Index.Components] found a component: its field,
// repetition and component numbers, 1-based.
type Position struct{ Field, Rep, Comp int }

// Components yields, in order, every component of every repetition of
// every field of the indexed segment with its position: the values
// Comp(f, r, c) for f up to NumFields, r up to NumReps(f) and c up to
// NumComps(f, r), which skips the fields and repetitions that are empty.
// It is the way to read a whole segment: it walks the index once, where
// the loop of calls finds each value afresh. A component's subcomponents
// are read from it with [Value.Sub].
func (x *Index) Components() iter.Seq2[Position, Value] {
	return func(yield func(Position, Value) bool) { x.components(yield) }
}

func (x *Index) components(yield func(Position, Value) bool) {
	if x.header {
		for n := 1; n <= min(2, x.num); n++ {
			if v := x.literal(n); len(v.raw) > 0 && !yield(Position{n, 1, 1}, v) {
				return
			}
		}
	}
	raw, sep, field, dl := x.raw, x.sep, x.field, x.cdl
	for i := range max(x.num-x.lit, 0) {
		if field[i] >= complexField {
			if !x.complexComponents(i, yield) {
				return
			}
			continue
		}
		b := sep[field[i] : field[i+1]&sepMask+1] // the field's separators
		if b[len(b)-1]-b[0] <= 1 {
			continue // empty
		}
		n := i + x.base
		for c := 1; c < len(b); c++ {
			if !yield(Position{n, 1, c}, Value{raw: raw[b[c-1]+1 : b[c]], dl: dl}) {
				return
			}
		}
	}
}

// complexComponents yields the components of field i, which is not plain,
// and reports whether to go on.
func (x *Index) complexComponents(i int, yield func(Position, Value) bool) bool {
	n, f := i+x.base, x.fx[i]
	for r := range int(f.nrep) {
		k := int(f.rep) + r
		if count(x.rep, k) == 0 {
			continue
		}
		first := x.rep[k].child
		for j := first; j < x.rep[k+1].child; j++ {
			if !yield(Position{n, r + 1, int(j-first) + 1}, Value{raw: x.raw[x.comp[j].start : x.comp[j+1].start-1], dl: x.cdl}) {
				return false
			}
		}
	}
	return true
}

// Repetition is the components of one repetition of a field in an
// [Index], as [Index.Repetitions] yields them, valid until the next Build.
// Its methods take constant time and are small enough for the compiler to
// inline into the reader's loop.
//
// (32 bytes in four fields at most: the compiler keeps a larger struct in
// memory and copies it for each method call.)
type Repetition struct {
	x    *Index
	span uint64 // the number of components << 32 | the index in x.sep of the separator before the first
	pos  uint64 // the field number << 32 | the repetition number
	dl   delims // at the component (or literal) level
}

// NumComps returns the number of components, at least 1.
func (r Repetition) NumComps() int { return int(r.span >> 32) }

// Comp returns component c (1-based), as [Index.Comp]; the empty Value
// when there is none.
func (r Repetition) Comp(c int) Value {
	if uint(c-1) < uint(r.span>>32) {
		k := int(uint32(r.span)) + c
		return Value{raw: r.x.raw[r.x.sep[k-1]+1 : r.x.sep[k]], dl: r.dl}
	}
	return Value{dl: r.dl}
}

// Comps yields the components with their numbers (1-based): the loop
// that reads them all, which the compiler inlines into the reader's.
func (r Repetition) Comps() iter.Seq2[int, Value] {
	return func(yield func(int, Value) bool) {
		raw, b := r.x.raw, r.x.sep[uint32(r.span):uint32(r.span)+uint32(r.span>>32)+1]
		for c := 1; c < len(b); c++ {
			if !yield(c, Value{raw: raw[b[c-1]+1 : b[c]], dl: r.dl}) {
				return
			}
		}
	}
}

// Position returns the repetition's field and repetition numbers (Comp 0).
func (r Repetition) Position() Position { return Position{int(r.pos >> 32), int(uint32(r.pos)), 0} }

// pack packs two numbers into a word.
func pack(hi, lo int) uint64 { return uint64(hi)<<32 | uint64(uint32(lo)) }

// Repetitions yields, in order, every repetition that is not empty of
// every field of the indexed segment, each knowing its position: the
// repetitions r up to NumReps(f) of the fields f up to NumFields that
// have a component (NumComps(f, r) > 0). It is the fastest way to read a
// whole segment: its first call after Build lists the repetitions (so,
// unlike the other accessors, it must not be called concurrently on one
// Index), and the loop over the list and the components of each inline
// into the reader's loop, with no call for each repetition or component.
//
//	for rep := range x.Repetitions() {
//		p := rep.Position()
//		for c := 1; c <= rep.NumComps(); c++ {
//			v := rep.Comp(c) // the same Value as x.Comp(p.Field, p.Rep, c)
//		}
//	}
func (x *Index) Repetitions() iter.Seq[Repetition] {
	// The list of the repetitions is made once, by a call, and the loop
	// over it is small enough for the compiler to inline with the
	// reader's body: no call for each repetition.
	return func(yield func(Repetition) bool) {
		if !x.listed {
			x.listRepetitions()
		}
		for _, e := range x.reps {
			if !yield(Repetition{x, e.span, e.pos, e.dl}) {
				return
			}
		}
	}
}

// repEntry is a Repetition in Index.reps.
type repEntry struct {
	span, pos uint64
	dl        delims
}

// listRepetitions lists in x.reps the repetitions Repetitions yields.
func (x *Index) listRepetitions() {
	x.listed = true
	reps := x.reps[:0]
	if x.header {
		for n := 1; n <= min(2, x.num); n++ {
			if len(x.literal(n).raw) > 0 {
				reps = append(reps, repEntry{pack(1, int(x.lbase)+2*n-2), pack(n, 1), x.ldl})
			}
		}
	}
	if x.num > x.lit {
		sep, field, base := x.sep, x.field[:x.num-x.lit+1], x.base
		for i := 0; i+1 < len(field); i++ {
			lo, hi := field[i], field[i+1]&sepMask
			if lo >= complexField {
				reps = x.complexRepetitions(i, reps)
				continue
			}
			if sep[hi]-sep[lo] <= 1 {
				continue // empty
			}
			reps = append(reps, repEntry{pack(int(hi-lo), int(lo)), pack(i+base, 1), x.cdl})
		}
	}
	x.reps = reps
}

// complexRepetitions appends to reps the repetitions of field i, which is
// not plain.
func (x *Index) complexRepetitions(i int, reps []repEntry) []repEntry {
	f := x.fx[i]
	for r := range int(f.nrep) {
		k := int(f.rep) + r
		if count(x.rep, k) == 0 {
			continue
		}
		first, next := int(x.rep[k].child), int(x.rep[k+1].child)
		reps = append(reps, repEntry{pack(next-first, int(x.cbase)+first), pack(i+x.base, r+1), x.cdl})
	}
	return reps
}
