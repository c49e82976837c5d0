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
// matrix, one per level: field, rep and comp hold, for every field,
// repetition and component, the offset where it starts and the index of
// its first item one level down; leaf holds the offset of every
// subcomponent. Each array ends with a sentinel (offset: one past the
// segment's end; child: the count one level down), so that item i has the
// children a[i].child up to a[i+1].child and ends one byte before
// a[i+1].start.
type Index struct {
	raw    []byte
	dl     delims
	header bool   // MSH, FHS or BHS: fields 1 and 2 are literal
	enc    []byte // a header's field 2, the encoding characters
	leaf   []uint32
	comp   []item
	rep    []item
	field  []item // field[0] is the first field after any literal ones
}

// item is a field, repetition or component in the index: the offset of
// its first byte and the index of its first item one level down. Items
// of a level follow one another, each ended by one separator byte, so
// item i ends one byte before item i+1 starts.
type item struct{ start, child uint32 }

// Build indexes s, replacing what x held. The Index refers to the
// segment's bytes, which must not change while it is in use.
func (x *Index) Build(s Segment) {
	x.raw, x.dl, x.header, x.enc = s.raw, packDelims(s.d, levelField), false, nil
	x.leaf, x.comp, x.rep, x.field = x.leaf[:0], x.comp[:0], x.rep[:0], append(x.field[:0], item{})
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
// non-literal fields: at each, the item it ends closes, and a new one
// begins at every level up to the separator's own.
func (x *Index) scan(start int) {
	d := x.dl.delimiters()
	fs, rs, cs, ss := d.Field, d.Repetition, d.Component, d.Subcomponent
	first := item{start: uint32(start)}
	leaf, comp, rep, field := append(x.leaf, uint32(start)), append(x.comp, first), append(x.rep, first), append(x.field[:0], first)
	// Eight bytes at a time, as in AppendFields; the subcomponent
	// separator only when the message declares one.
	pf, pr, pc, ps := uint64(fs)*lowBytes, uint64(rs)*lowBytes, uint64(cs)*lowBytes, uint64(ss)*lowBytes
	if ss == 0 {
		ps = pf // a pattern already searched for
	}
	raw, i := x.raw, start
	for ; ; i += 8 {
		var m uint64
		if i+8 <= len(raw) {
			w := binary.LittleEndian.Uint64(raw[i:])
			m = zeroBytes(w^pf) | zeroBytes(w^pr) | zeroBytes(w^pc) | zeroBytes(w^ps)
		} else {
			for j := i; j < len(raw); j++ {
				if c := raw[j]; c == fs || c == rs || c == cs || (c == ss && ss != 0) {
					m |= 0x80 << (8 * (j - i))
				}
			}
		}
		for ; m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			next := uint32(j + 1)
			// Most separators end a field or a component. (c is never 0,
			// so a declared-absent ss never matches.)
			switch c := raw[j]; c {
			case fs:
				field = append(field, item{next, uint32(len(rep))})
				fallthrough
			case rs:
				rep = append(rep, item{next, uint32(len(comp))})
				fallthrough
			case cs:
				comp = append(comp, item{next, uint32(len(leaf))})
			}
			leaf = append(leaf, next)
		}
		if i+8 >= len(raw) {
			break
		}
	}
	end := uint32(len(raw) + 1)
	leaf = append(leaf, end)
	comp = append(comp, item{end, uint32(len(leaf) - 1)})
	rep = append(rep, item{end, uint32(len(comp) - 1)})
	x.leaf, x.comp, x.rep, x.field = leaf, comp, rep, append(field, item{end, uint32(len(rep) - 1)})
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

// fieldAt returns the index of field n, ok false when the field is not
// present or literal.
func (x *Index) fieldAt(n int) (int, bool) {
	i := n - 1 - x.literals()
	return i, i >= 0 && i < len(x.field)-1
}

// repAt returns the index of repetition r of field n.
func (x *Index) repAt(n, r int) (int, bool) {
	i, ok := x.fieldAt(n)
	if !ok {
		return 0, false
	}
	k := int(x.field[i].child) + r - 1
	return k, r >= 1 && k < int(x.field[i+1].child)
}

// compAt returns the index of component c of repetition r of field n.
func (x *Index) compAt(n, r, c int) (int, bool) {
	k, ok := x.repAt(n, r)
	if !ok {
		return 0, false
	}
	j := int(x.rep[k].child) + c - 1
	return j, c >= 1 && j < int(x.rep[k+1].child)
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
		return Value{raw: x.raw[x.field[i].start : x.field[i+1].start-1], dl: x.dl}
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
		return count(x.field, i)
	}
	if x.isLiteral(n) {
		return x.literalCount(n, true)
	}
	return 0
}

// Rep returns repetition r of field n, as Field(n).Rep(r).
func (x *Index) Rep(n, r int) Value {
	if k, ok := x.repAt(n, r); ok {
		return Value{raw: x.raw[x.rep[k].start : x.rep[k+1].start-1], dl: x.dl.at(levelRep)}
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
	if k, ok := x.repAt(n, max(r, 1)); ok {
		return count(x.rep, k)
	}
	if x.isLiteral(n) {
		return x.literalCount(n, r <= 1)
	}
	return 0
}

// Comp returns component c of repetition r of field n (of the first
// repetition when r is 0), as Field(n).Rep(r).Comp(c).
func (x *Index) Comp(n, r, c int) Value {
	if j, ok := x.compAt(n, max(r, 1), c); ok {
		return Value{raw: x.raw[x.comp[j].start : x.comp[j+1].start-1], dl: x.dl.at(levelComp)}
	}
	if x.isLiteral(n) {
		if r <= 1 && c == 1 {
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
	if j, ok := x.compAt(n, max(r, 1), max(c, 1)); ok {
		return count(x.comp, j)
	}
	if x.isLiteral(n) {
		return x.literalCount(n, r <= 1 && c <= 1)
	}
	return 0
}

// Sub returns subcomponent s of component c of repetition r of field n
// (the first repetition or component when r or c is 0), as
// Field(n).Rep(r).Comp(c).Sub(s).
func (x *Index) Sub(n, r, c, s int) Value {
	j, ok := x.compAt(n, max(r, 1), max(c, 1))
	if !ok {
		if x.isLiteral(n) {
			if r <= 1 && c <= 1 && s == 1 {
				return x.literal(n)
			}
			return Value{}
		}
		return Value{dl: x.dl.at(levelSub)}
	}
	l := int(x.comp[j].child) + s - 1
	if s < 1 || l >= int(x.comp[j+1].child) {
		return Value{dl: x.dl.at(levelSub)}
	}
	return Value{raw: x.raw[x.leaf[l] : x.leaf[l+1]-1], dl: x.dl.at(levelSub)}
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
