package hl7

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
	return &Writer{d: d, seg: -1, esc: newEscapeSet(&d), buf: make([]byte, 0, 1024)}
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
	w.end()
	w.seg = len(w.buf)
	w.buf = append(w.buf, id...)
	w.min = len(w.buf)
	if id == "MSH" || id == "FHS" || id == "BHS" {
		w.buf = append(w.buf, w.d.Field)
		w.buf = append(w.buf, w.d.EncodingCharacters()...)
		w.min = len(w.buf)
	}
}

// end closes the open segment: trailing empty fields are dropped and the
// CR terminator written.
func (w *Writer) end() {
	if w.seg < 0 {
		return
	}
	for len(w.buf) > w.min && w.buf[len(w.buf)-1] == w.d.Field {
		w.buf = w.buf[:len(w.buf)-1]
	}
	w.buf = append(w.buf, '\r')
	w.seg = -1
}

// Field writes the next field with the given components, each escaped.
// Field() writes an empty field.
func (w *Writer) Field(components ...string) {
	w.buf = append(w.buf, w.d.Field)
	w.components(components)
}

func (w *Writer) components(components []string) {
	n := len(components)
	for n > 0 && components[n-1] == "" {
		n--
	}
	for i, c := range components[:n] {
		if i > 0 {
			w.buf = append(w.buf, w.d.Component)
		}
		w.buf = appendEscapedSet(w.buf, c, &w.d, w.esc)
	}
}

// Fields writes one field for each value, each a single escaped component.
func (w *Writer) Fields(values ...string) {
	for _, v := range values {
		w.buf = append(w.buf, w.d.Field)
		w.buf = appendEscapedSet(w.buf, v, &w.d, w.esc)
	}
}

// Repeated writes the next field with repetitions, each given as its
// components.
func (w *Writer) Repeated(reps ...[]string) {
	w.buf = append(w.buf, w.d.Field)
	for i, r := range reps {
		if i > 0 {
			w.buf = append(w.buf, w.d.Repetition)
		}
		w.components(r)
	}
}

// FieldSub writes the next field with components that have subcomponents,
// each component given as its subcomponents.
func (w *Writer) FieldSub(components ...[]string) {
	w.buf = append(w.buf, w.d.Field)
	n := len(components)
	for n > 0 && emptyAll(components[n-1]) {
		n--
	}
	for i, c := range components[:n] {
		if i > 0 {
			w.buf = append(w.buf, w.d.Component)
		}
		m := len(c)
		for m > 0 && c[m-1] == "" {
			m--
		}
		for j, s := range c[:m] {
			if j > 0 {
				w.buf = append(w.buf, w.d.Subcomponent)
			}
			w.buf = appendEscapedSet(w.buf, s, &w.d, w.esc)
		}
	}
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
	if v.lvl == levelLiteral || v.d == w.d {
		w.buf = append(w.buf, v.raw...)
		return
	}
	w.buf = translate(w.buf, v.raw, &v.d, &w.d)
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
