package hl7

import "slices"

// Writer builds an HL7 message segment by segment, escaping text so that it
// parses back to the same text. Segments end with CR; trailing empty fields
// and components are not written. The zero Writer is not usable: create one
// with NewWriter.
//
//	w := hl7.NewWriter(hl7.DefaultDelimiters)
//	w.Segment("MSA")
//	w.Fields("AA", controlID)
//	w.Segment("ERR")
//	w.Field()                             // ERR-1 empty
//	w.Field("RXA", "1", "5", "1", "1")    // ERR-2 with components
//	msg := w.Bytes()
//
// Each method appends to a local copy of the buffer and stores it back
// once: storing a pointer into the heap-allocated Writer costs a write
// barrier while the garbage collector is marking, and a message is written
// with thousands of appends.
type Writer struct {
	buf []byte
	d   Delimiters
	esc *escapeSet
	seg int // offset where the open segment starts, or -1
	min int // the open segment never shrinks below this length
}

// NewWriter returns a Writer using delimiters d (which must declare an
// escape character and a subcomponent separator).
func NewWriter(d Delimiters) *Writer {
	return NewWriterSize(d, 1024)
}

// NewWriterSize is NewWriter with room for a message of size bytes, for a
// caller that knows roughly how large its message will be.
func NewWriterSize(d Delimiters, size int) *Writer {
	return &Writer{d: d, seg: -1, esc: newEscapeSet(&d), buf: make([]byte, 0, max(size, 64))}
}

// Grow makes room for n more bytes without another allocation.
func (w *Writer) Grow(n int) {
	w.buf = slices.Grow(w.buf, n)
}

// Reset empties the writer, keeping its memory.
func (w *Writer) Reset() {
	w.buf = w.buf[:0]
	w.seg = -1
}

// Delimiters returns the writer's delimiters.
func (w *Writer) Delimiters() Delimiters { return w.d }

// Segment ends the open segment and starts a new one with the given ID. For
// MSH, FHS and BHS it also writes fields 1 and 2, so the next Field call
// writes field 3.
func (w *Writer) Segment(id string) {
	buf := w.endBuf()
	w.seg = len(buf)
	buf = append(buf, id...)
	if id == "MSH" || id == "FHS" || id == "BHS" {
		buf = append(buf, w.d.Field)
		buf = append(buf, w.d.EncodingCharacters()...)
	}
	w.min = len(buf)
	w.buf = buf
}

// end closes the open segment: trailing empty fields are dropped and the
// CR terminator written.
func (w *Writer) end() {
	if w.seg >= 0 {
		w.buf = w.endBuf()
	}
}

// endBuf closes the open segment, if any, and returns the buffer without
// storing it.
func (w *Writer) endBuf() []byte {
	buf := w.buf
	if w.seg < 0 {
		return buf
	}
	n := len(buf)
	for n > w.min && buf[n-1] == w.d.Field {
		n--
	}
	w.seg = -1
	return append(buf[:n], '\r')
}

// Field writes the next field with the given components, each escaped.
// Field() writes an empty field.
func (w *Writer) Field(components ...string) {
	w.buf = w.appendComponents(append(w.buf, w.d.Field), components)
}

func (w *Writer) appendComponents(buf []byte, components []string) []byte {
	n := len(components)
	for n > 0 && components[n-1] == "" {
		n--
	}
	for i, c := range components[:n] {
		if i > 0 {
			buf = append(buf, w.d.Component)
		}
		if c != "" {
			buf = appendEscapedSet(buf, c, &w.d, w.esc)
		}
	}
	return buf
}

// Fields writes one field for each value, each a single escaped component.
func (w *Writer) Fields(values ...string) {
	buf := w.buf
	for _, v := range values {
		buf = append(buf, w.d.Field)
		if v != "" {
			buf = appendEscapedSet(buf, v, &w.d, w.esc)
		}
	}
	w.buf = buf
}

// Repeated writes the next field with repetitions, each given as its
// components.
func (w *Writer) Repeated(reps ...[]string) {
	buf := append(w.buf, w.d.Field)
	for i, r := range reps {
		if i > 0 {
			buf = append(buf, w.d.Repetition)
		}
		buf = w.appendComponents(buf, r)
	}
	w.buf = buf
}

// FieldSub writes the next field with components that have subcomponents,
// each component given as its subcomponents.
func (w *Writer) FieldSub(components ...[]string) {
	buf := append(w.buf, w.d.Field)
	n := len(components)
	for n > 0 && emptyAll(components[n-1]) {
		n--
	}
	for i, c := range components[:n] {
		if i > 0 {
			buf = append(buf, w.d.Component)
		}
		m := len(c)
		for m > 0 && c[m-1] == "" {
			m--
		}
		for j, s := range c[:m] {
			if j > 0 {
				buf = append(buf, w.d.Subcomponent)
			}
			buf = appendEscapedSet(buf, s, &w.d, w.esc)
		}
	}
	w.buf = buf
}

func emptyAll(ss []string) bool {
	for _, s := range ss {
		if s != "" {
			return false
		}
	}
	return true
}

// Value writes v, a field read from a parsed message, as the next field,
// keeping its structure and escapes (re-encoded if the delimiters differ).
func (w *Writer) Value(v Value) {
	w.buf = append(w.buf, w.d.Field)
	w.appendValue(v)
}

func (w *Writer) appendValue(v Value) {
	d := v.dl.delimiters()
	if v.dl.lvl() == levelLiteral || d == w.d {
		w.buf = append(w.buf, v.raw...)
		return
	}
	w.buf = translate(w.buf, v.raw, &d, &w.d)
}

// A Fragment is a run of fields encoded once and written as is by
// Writer.Fragment wherever a message repeats it: the constant part of a
// segment written many times (an OBX's value type and observation
// identifier, say) then costs one copy instead of escaping every component
// again.
type Fragment struct {
	raw []byte
	d   Delimiters
}

// NewFragment returns the fields that build writes (with Field, Fields,
// Repeated, FieldSub, Value) encoded for delimiters d. Trailing empty
// fields are kept: the segment they end up in drops them if nothing
// follows.
func NewFragment(d Delimiters, build func(w *Writer)) Fragment {
	w := NewWriterSize(d, 64)
	w.Segment("ZZZ")
	build(w)
	return Fragment{raw: w.buf[3:], d: d}
}

// Fragment writes f as the next fields of the open segment, re-encoded if
// the delimiters differ.
func (w *Writer) Fragment(f Fragment) {
	if f.d == w.d {
		w.buf = append(w.buf, f.raw...)
		return
	}
	w.buf = translate(w.buf, f.raw, &f.d, &w.d)
}

// CopySegment writes a parsed segment as a new segment, byte for byte when
// the delimiters agree.
func (w *Writer) CopySegment(s Segment) {
	if len(s.raw) < 3 {
		return
	}
	if s.isHeader() && s.d != w.d {
		w.Segment(string(s.raw[:3]))
		// Everything after MSH-2 is re-encoded as one run of fields.
		start := 4 + len(s.Field(2).raw)
		w.buf = translate(w.buf, s.raw[start:], &s.d, &w.d)
		w.min = len(w.buf)
		return
	}
	w.end()
	w.seg = len(w.buf)
	if s.d == w.d {
		w.buf = append(w.buf, s.raw...)
		w.min = len(w.buf)
		return
	}
	w.buf = append(w.buf, s.raw[:3]...)
	w.buf = translate(w.buf, s.raw[3:], &s.d, &w.d)
	w.min = len(w.buf)
}

// Bytes ends the open segment and returns the message. The slice is owned
// by the Writer until Reset.
func (w *Writer) Bytes() []byte {
	w.end()
	return w.buf
}
