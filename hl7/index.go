package hl7

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
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
// The index is the offset of every separator in order (sep) and, for
// every field, where its separators begin in sep (field). Most fields are
// plain, with components only: component c of such a field lies between
// its separators c-1 and c. The few fields with a repetition or
// subcomponent separator are indexed further, when the segment is built,
// in the manner of a compressed sparse row matrix: for each repetition
// and component, where it starts and the index of its first component or
// subcomponent.
type Index struct {
	raw    []byte
	dl     delims
	header bool   // MSH, FHS or BHS: fields 1 and 2 are literal
	lit    int    // the number of literal fields: 2 in a header, else 0
	enc    []byte // a header's field 2, the encoding characters
	// sep holds the offset of every separator of the non-literal fields,
	// after a virtual field separator before the first field and before
	// one past the end.
	sep   []uint32
	field []fieldEntry // then a sentinel
	// The repetitions, components and subcomponents of the fields that
	// have a repetition or subcomponent separator.
	rep  []item
	comp []item
	leaf []uint32
}

// fieldEntry is a field in the index: sep is the index in Index.sep of
// the separator before it, so that its separators are sep+1 up to the
// next field's sep. A field with a repetition or subcomponent separator
// has nrep > 0 repetitions from rep in Index.rep; any other field is
// plain, and its separators are the ends of its components.
type fieldEntry struct{ sep, rep, nrep uint32 }

// item is a repetition or component of a field in the index: the offset
// of its first byte and the index of its first item one level down (its
// first component, or its first subcomponent in Index.leaf). Items follow
// one another, each ended by one separator byte, and the items of each
// field end with a sentinel, so item i ends one byte before item i+1
// starts.
type item struct{ start, child uint32 }

// Build indexes s, replacing what x held. The Index refers to the
// segment's bytes, which must not change while it is in use. Offsets are
// 32-bit: a segment must be shorter than 4 GiB.
func (x *Index) Build(s Segment) {
	x.raw, x.dl, x.header, x.lit, x.enc = s.raw, packDelims(s.d, levelField), false, 0, nil
	x.sep, x.field = x.sep[:0], append(x.field[:0], fieldEntry{})
	x.rep, x.comp, x.leaf = x.rep[:0], x.comp[:0], x.leaf[:0]
	if len(s.raw) <= 3 {
		return
	}
	start := 4
	if s.isHeader() {
		x.header, x.lit = true, 2
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
// non-literal fields, and then indexes the fields that are not plain.
func (x *Index) scan(start int) {
	d := x.dl.delimiters()
	body := x.raw[start:]
	// Most segments have no repetition or subcomponent separator: two
	// searches of the whole segment say so, and then only field and
	// component separators are looked for.
	cx := bytes.IndexByte(body, d.Repetition) >= 0 || (d.Subcomponent != 0 && bytes.IndexByte(body, d.Subcomponent) >= 0)
	x.sep, x.field = scanSeparators(x.raw, start, d, !cx, append(x.sep, uint32(start-1)), x.field)
	x.sep = append(x.sep, uint32(len(x.raw)))
	x.field = append(x.field, fieldEntry{sep: uint32(len(x.sep) - 1)})
	if cx {
		for f := range len(x.field) - 1 {
			if x.field[f].nrep > 0 {
				x.indexField(f)
			}
		}
	}
}

// scanSeparators appends to sep the offset of every separator of
// raw[start:] and to field an entry for each field that a field separator
// starts, marking fields with a repetition or subcomponent separator
// (nrep 1). When plain, raw has only field and component separators, and
// only those are looked for.
func scanSeparators(raw []byte, start int, d Delimiters, plain bool, sep []uint32, field []fieldEntry) ([]uint32, []fieldEntry) {
	pf, pc := uint64(d.Field)*lowBytes, uint64(d.Component)*lowBytes
	pr, ps := uint64(d.Repetition)*lowBytes, uint64(d.Subcomponent)*lowBytes
	if d.Subcomponent == 0 {
		ps = pr // a pattern already searched for
	}
	// The separators are written by index into the buffers' full length,
	// grown between blocks: an append in the loop would keep the slices
	// in memory around its call to grow them.
	sepBuf, ns := sep[:cap(sep)], len(sep)
	fieldBuf, nf := field[:cap(field)], len(field)
	i := start
	for ; i+8 <= len(raw); i += 8 {
		// Eight bytes at a time, as in AppendFields: mf marks the field
		// separators, m every separator.
		w := binary.LittleEndian.Uint64(raw[i:])
		mf := zeroBytes(w ^ pf)
		m := mf | zeroBytes(w^pc)
		if !plain {
			m |= zeroBytes(w^pr) | zeroBytes(w^ps)
		}
		if m == 0 {
			continue
		}
		if ns+8 > len(sepBuf) || nf+8 > len(fieldBuf) {
			sepBuf = slices.Grow(sepBuf[:ns], 8+len(raw)/8)
			sepBuf = sepBuf[:cap(sepBuf)]
			fieldBuf = slices.Grow(fieldBuf[:nf], 8+len(raw)/16)
			fieldBuf = fieldBuf[:cap(fieldBuf)]
		}
		for ; m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			sepBuf[ns] = uint32(j)
			if low := m & -m; mf&low != 0 {
				fieldBuf[nf] = fieldEntry{sep: uint32(ns)}
				nf++
			} else if !plain && raw[j] != d.Component {
				fieldBuf[nf-1].nrep = 1
			}
			ns++
		}
	}
	sep, field = sepBuf[:ns], fieldBuf[:nf]
	for ; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == d.Field:
			sep = append(sep, uint32(i))
			field = append(field, fieldEntry{sep: uint32(len(sep) - 1)})
		case c == d.Component:
			sep = append(sep, uint32(i))
		case c == d.Repetition || (c == d.Subcomponent && c != 0):
			sep = append(sep, uint32(i))
			field[len(field)-1].nrep = 1
		}
	}
	return sep, field
}

// indexField indexes the repetitions, components and subcomponents of
// field f, which is not plain.
func (x *Index) indexField(f int) {
	d := x.dl.delimiters()
	rep, comp, leaf := x.rep, x.comp, x.leaf
	lo, hi := x.field[f].sep, x.field[f+1].sep
	first := x.sep[lo] + 1
	x.field[f].rep = uint32(len(rep))
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
	x.field[f].nrep = uint32(len(rep)) - x.field[f].rep
	x.rep, x.comp, x.leaf = append(rep, item{end, uint32(len(comp) - 1)}), comp, leaf
}

// Segment returns the indexed segment.
func (x *Index) Segment() Segment { return Segment{raw: x.raw, d: x.dl.delimiters()} }

// literals is the number of literal fields before x.field[0].
func (x *Index) literals() int { return x.lit }

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

// fieldAt returns the index of field n, ok false when the field is not
// present or literal.
func (x *Index) fieldAt(n int) (int, bool) {
	i := n - 1 - x.literals()
	return i, i >= 0 && i < len(x.field)-1
}

// bounds returns the bytes of field i.
func (x *Index) bounds(i int) []byte {
	return x.raw[x.sep[x.field[i].sep]+1 : x.sep[x.field[i+1].sep]]
}

// count returns the number of children of item i of level a: 0 when the
// item is empty.
func count(a []item, i int) int {
	if a[i+1].start-1 == a[i].start {
		return 0
	}
	return int(a[i+1].child - a[i].child)
}

// Field returns field n (1-based), as [Segment.Field].
func (x *Index) Field(n int) Value {
	if i, ok := x.fieldAt(n); ok {
		return Value{raw: x.bounds(i), dl: x.dl}
	}
	if x.isLiteral(n) {
		return x.literal(n)
	}
	return Value{}
}

// NumReps returns the number of repetitions of field n, as
// [Value.NumReps] of [Index.Field].
func (x *Index) NumReps(n int) int {
	if i := n - 1 - x.lit; uint(i) < uint(len(x.field)-1) {
		if f := x.field[i]; f.nrep > 0 {
			return int(f.nrep)
		}
		return min(len(x.bounds(i)), 1)
	}
	if x.isLiteral(n) {
		return x.literalCount(n, true)
	}
	return 0
}

// Rep returns repetition r of field n, as Field(n).Rep(r).
func (x *Index) Rep(n, r int) Value {
	if i, ok := x.fieldAt(n); ok {
		f := x.field[i]
		switch {
		case f.nrep == 0 && r == 1:
			return Value{raw: x.bounds(i), dl: x.dl.at(levelRep)}
		case r >= 1 && r <= int(f.nrep):
			k := int(f.rep) + r - 1
			return Value{raw: x.raw[x.rep[k].start : x.rep[k+1].start-1], dl: x.dl.at(levelRep)}
		}
		return Value{dl: x.dl.at(levelRep)}
	}
	if x.isLiteral(n) {
		if r == 1 {
			return x.literal(n)
		}
		return Value{}
	}
	return Value{dl: x.dl.at(levelRep)}
}

// NumComps returns the number of components of repetition r of field n
// (the first when r is 0), as [Value.NumComps].
func (x *Index) NumComps(n, r int) int {
	r = max(r, 1)
	if i, ok := x.fieldAt(n); ok {
		f := x.field[i]
		switch {
		case f.nrep == 0 && r == 1:
			if lo, hi := f.sep, x.field[i+1].sep; hi > lo+1 || x.sep[hi] > x.sep[lo]+1 {
				return int(hi - lo)
			}
		case r <= int(f.nrep):
			return count(x.rep, int(f.rep)+r-1)
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
func (x *Index) compAt(f fieldEntry, r, c int) (int, bool) {
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
	r = max(r, 1)
	if i, ok := x.fieldAt(n); ok {
		f := x.field[i]
		if f.nrep == 0 {
			if lo, hi := int(f.sep), int(x.field[i+1].sep); r == 1 && c >= 1 && c <= hi-lo {
				return Value{raw: x.raw[x.sep[lo+c-1]+1 : x.sep[lo+c]], dl: x.dl.at(levelComp)}
			}
		} else if j, ok := x.compAt(f, r, c); ok {
			return Value{raw: x.raw[x.comp[j].start : x.comp[j+1].start-1], dl: x.dl.at(levelComp)}
		}
		return Value{dl: x.dl.at(levelComp)}
	}
	if x.isLiteral(n) {
		if r == 1 && c == 1 {
			return x.literal(n)
		}
		return Value{}
	}
	return Value{dl: x.dl.at(levelComp)}
}

// NumSubs returns the number of subcomponents of component c of
// repetition r of field n (the first of each when 0): 0 when the component
// is empty.
func (x *Index) NumSubs(n, r, c int) int {
	r, c = max(r, 1), max(c, 1)
	if i, ok := x.fieldAt(n); ok {
		f := x.field[i]
		if f.nrep == 0 {
			return min(len(x.Comp(n, r, c).raw), 1)
		}
		if j, ok := x.compAt(f, r, c); ok {
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
		f := x.field[i]
		if f.nrep == 0 {
			if s == 1 {
				return x.Comp(n, r, c).subLevel()
			}
		} else if j, ok := x.compAt(f, r, c); ok {
			if l := int(x.comp[j].child) + s - 1; s >= 1 && l < int(x.comp[j+1].child) {
				return Value{raw: x.raw[x.leaf[l] : x.leaf[l+1]-1], dl: x.dl.at(levelSub)}
			}
		}
		return Value{dl: x.dl.at(levelSub)}
	}
	if x.isLiteral(n) {
		if r == 1 && c == 1 && s == 1 {
			return x.literal(n)
		}
		return Value{}
	}
	return Value{dl: x.dl.at(levelSub)}
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
