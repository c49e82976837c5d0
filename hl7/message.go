package hl7

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// SyntaxError describes input that is not an HL7 v2 message. Segment is the
// 1-based position of the offending segment (0 when the problem precedes the
// first segment), Field the 1-based field where known.
type SyntaxError struct {
	Segment int
	Field   int
	Msg     string
}

func (e *SyntaxError) Error() string {
	switch {
	case e.Segment == 0:
		return "hl7: " + e.Msg
	case e.Field == 0:
		return fmt.Sprintf("hl7: segment %d: %s", e.Segment, e.Msg)
	}
	return fmt.Sprintf("hl7: segment %d field %d: %s", e.Segment, e.Field, e.Msg)
}

// Message is one parsed HL7 v2 message. It refers to the bytes it was parsed
// from, which must not be changed while the Message is in use. The zero
// Message is empty; reuse one with [Message.Parse] to parse without
// allocating.
type Message struct {
	raw  []byte
	d    Delimiters
	segs []Segment
}

// Parse parses data as a single message.
func Parse(data []byte) (*Message, error) {
	m := new(Message)
	if err := m.Parse(data); err != nil {
		return nil, err
	}
	return m, nil
}

// Parse parses data into m, replacing its contents and reusing its memory
// (a zero Message makes room for every segment at once). Segments may end
// in CR, LF or CRLF (mixed is tolerated); blank lines are skipped. The
// first segment must be MSH; anything else before it is an error, as is a
// second MSH (use [SplitBatch] for files of messages).
func (m *Message) Parse(data []byte) error {
	if m.segs == nil {
		// One segment per line terminator, at most.
		m.segs = make([]Segment, 0, bytes.Count(data, []byte{'\r'})+bytes.Count(data, []byte{'\n'})+1)
	}
	m.raw = data
	m.segs = m.segs[:0]
	m.d = Delimiters{}
	var sc lineScanner
	sc.init(data)
	for {
		line, ok := sc.next()
		if !ok {
			break
		}
		n := len(m.segs) + 1
		if len(m.segs) == 0 {
			if !bytes.HasPrefix(line, []byte("MSH")) {
				return &SyntaxError{Msg: "message does not start with an MSH segment" + describeStart(line)}
			}
			d, err := readDelimiters(line)
			if err != nil {
				return err
			}
			m.d = d
		} else if err := checkSegmentID(line, m.d.Field, n); err != nil {
			return err
		} else if isHeaderID(line) {
			return &SyntaxError{Segment: n, Msg: fmt.Sprintf("%s inside a message: a batch or several messages must be split first", line[:3])}
		}
		// Field by field, as appendField does.
		if len(m.segs) == cap(m.segs) {
			m.segs = slices.Grow(m.segs, 1)
		}
		m.segs = m.segs[:len(m.segs)+1]
		seg := &m.segs[len(m.segs)-1]
		seg.raw, seg.d = line, m.d
	}
	if len(m.segs) == 0 {
		return &SyntaxError{Msg: "empty message"}
	}
	return nil
}

// describeStart says, without echoing content, what kind of bytes a
// rejected message starts with.
func describeStart(line []byte) string {
	switch {
	case len(line) == 0:
		return ""
	case bytes.HasPrefix(line, []byte("FHS")), bytes.HasPrefix(line, []byte("BHS")):
		return " (it is a batch: split it first)"
	case line[0] == 0x0b:
		return " (it still has its MLLP start block)"
	}
	return fmt.Sprintf(" (%d bytes of other data come first)", len(line))
}

// checkSegmentID verifies that line starts with a three-character segment ID
// followed by the field separator or the end of the segment.
func checkSegmentID(line []byte, fs byte, n int) error {
	if len(line) < 3 || !idChar(line[0]) || !idChar(line[1]) || !idChar(line[2]) || (len(line) > 3 && line[3] != fs) {
		return &SyntaxError{Segment: n, Msg: "not a segment: a segment starts with a three-character ID (such as PID) followed by the field separator"}
	}
	return nil
}

func idChar(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') }

func isHeaderID(line []byte) bool {
	if len(line) < 3 {
		return false
	}
	switch string(line[:3]) {
	case "MSH", "FHS", "BHS", "BTS", "FTS":
		return true
	}
	return false
}

// Bytes returns the bytes the message was parsed from.
func (m *Message) Bytes() []byte { return m.raw }

// Delimiters returns the message's encoding characters.
func (m *Message) Delimiters() Delimiters { return m.d }

// Segments returns the message's segments in order. The slice is owned by
// the Message and is overwritten by the next Parse.
func (m *Message) Segments() []Segment { return m.segs }

// MSH returns the message header.
func (m *Message) MSH() Segment {
	if len(m.segs) == 0 {
		return Segment{}
	}
	return m.segs[0]
}

// Segment returns the n-th (1-based) segment with the given ID.
func (m *Message) Segment(id string, n int) (Segment, bool) {
	for i := range m.segs {
		if m.segs[i].Is(id) {
			n--
			if n == 0 {
				return m.segs[i], true
			}
		}
	}
	return Segment{}, false
}

// Count returns how many segments have the given ID.
func (m *Message) Count(id string) int {
	c := 0
	for i := range m.segs {
		if m.segs[i].Is(id) {
			c++
		}
	}
	return c
}

// Get returns the value at an HL7 location such as "RXA-5.1", "PID-3(2).4"
// or "OBX(3)-5"; an invalid location or one that is not present yields the
// empty Value.
func (m *Message) Get(location string) Value {
	l, err := ParseLocation(location)
	if err != nil {
		return Value{}
	}
	return m.At(l)
}

// At returns the value at l.
func (m *Message) At(l Location) Value {
	occ := l.Occurrence
	if occ == 0 {
		occ = 1
	}
	s, ok := m.Segment(l.Segment, occ)
	if !ok {
		return Value{}
	}
	return s.At(l)
}

// AppendTo appends the message, encoded with delimiters d and CR segment
// terminators, to dst. With the message's own delimiters the segments are
// copied byte for byte; otherwise every value is re-escaped for d.
func (m *Message) AppendTo(dst []byte, d Delimiters) []byte {
	w := Writer{buf: dst, d: d, seg: -1, esc: newEscapeSet(&d)}
	for _, s := range m.segs {
		w.CopySegment(s)
	}
	return w.Bytes()
}

// Segment is one segment of a parsed message.
type Segment struct {
	raw []byte
	d   Delimiters
}

// Is reports whether the segment's ID is id.
func (s Segment) Is(id string) bool {
	return len(s.raw) >= 3 && string(s.raw[:3]) == id
}

// ID returns the segment's three-character ID. The IDs of the common
// segments are returned without allocating.
func (s Segment) ID() string {
	if len(s.raw) < 3 {
		return ""
	}
	switch string(s.raw[:3]) {
	case "MSH":
		return "MSH"
	case "PID":
		return "PID"
	case "PD1":
		return "PD1"
	case "NK1":
		return "NK1"
	case "PV1":
		return "PV1"
	case "ORC":
		return "ORC"
	case "RXA":
		return "RXA"
	case "RXR":
		return "RXR"
	case "OBX":
		return "OBX"
	case "NTE":
		return "NTE"
	case "MSA":
		return "MSA"
	case "ERR":
		return "ERR"
	case "QAK":
		return "QAK"
	case "QPD":
		return "QPD"
	case "RCP":
		return "RCP"
	}
	return string(s.raw[:3])
}

// Bytes returns the segment as received, without its terminator.
func (s Segment) Bytes() []byte { return s.raw }

// Delimiters returns the delimiters of the message the segment belongs to.
func (s Segment) Delimiters() Delimiters { return s.d }

func (s Segment) isHeader() bool {
	if len(s.raw) < 3 {
		return false
	}
	switch string(s.raw[:3]) {
	case "MSH", "FHS", "BHS":
		return true
	}
	return false
}

// Field returns field n (1-based). In MSH, FHS and BHS field 1 is the field
// separator and field 2 the encoding characters, both returned literally.
// A field that is not present is the empty Value.
func (s Segment) Field(n int) Value {
	if n < 1 || len(s.raw) <= 3 {
		return Value{}
	}
	fs := s.d.Field
	if s.isHeader() {
		switch n {
		case 1:
			return Value{raw: s.raw[3:4], dl: packDelims(s.d, levelLiteral)}
		case 2:
			end := bytes.IndexByte(s.raw[4:], fs)
			if end < 0 {
				end = len(s.raw) - 4
			}
			return Value{raw: s.raw[4 : 4+end], dl: packDelims(s.d, levelLiteral)}
		}
		n--
	}
	// s.raw[3] is the separator before field 1.
	p := 3
	for {
		rest := s.raw[p+1:]
		j := bytes.IndexByte(rest, fs)
		n--
		if n == 0 {
			if j < 0 {
				j = len(rest)
			}
			return Value{raw: rest[:j], dl: packDelims(s.d, levelField)}
		}
		if j < 0 {
			return Value{}
		}
		p += 1 + j
	}
}

// NumFields returns the number of the last field present.
func (s Segment) NumFields() int {
	if len(s.raw) <= 3 {
		return 0
	}
	n := bytes.Count(s.raw[3:], []byte{s.d.Field})
	if s.isHeader() {
		n++
	}
	return n
}

// At returns the value at l within this segment (l.Segment and
// l.Occurrence are ignored).
func (s Segment) At(l Location) Value {
	v := s.Field(l.Field)
	if l.Repetition > 0 {
		v = v.Rep(l.Repetition)
	}
	if l.Component > 0 {
		v = v.Comp(l.Component)
	}
	if l.Subcomponent > 0 {
		v = v.Sub(l.Subcomponent)
	}
	return v
}

// lineScanner splits input into segments at CR, LF or CRLF, skipping blank
// lines, with both terminators searched by IndexByte.
type lineScanner struct {
	data   []byte
	pos    int
	nextCR int
	nextLF int
	start  int // offset of the line returned last
}

func (sc *lineScanner) init(data []byte) {
	sc.data = data
	sc.pos = 0
	sc.nextCR = -1
	sc.nextLF = -1
	// A UTF-8 byte order mark is tolerated at the start.
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		sc.pos = 3
	}
}

func (sc *lineScanner) find(c byte, from int) int {
	if j := bytes.IndexByte(sc.data[from:], c); j >= 0 {
		return from + j
	}
	return len(sc.data)
}

// next returns the next non-blank line and its start offset.
func (sc *lineScanner) next() ([]byte, bool) {
	for sc.pos < len(sc.data) {
		if sc.nextCR < sc.pos {
			sc.nextCR = sc.find('\r', sc.pos)
		}
		if sc.nextLF < sc.pos {
			sc.nextLF = sc.find('\n', sc.pos)
		}
		end := min(sc.nextCR, sc.nextLF)
		line := sc.data[sc.pos:end]
		sc.start = sc.pos
		sc.pos = end + 1
		if !blank(line) {
			return line, true
		}
	}
	return nil, false
}

// offset returns the offset just past the line returned last, including
// its terminator.
func (sc *lineScanner) offset() int { return min(sc.pos, len(sc.data)) }

func blank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// AppendFields appends the segment's fields to out, splitting the segment
// once: out[i] (after what out held) is field i+1, so that reading many
// fields of one segment scans it a single time. For MSH, FHS and BHS the
// first two are the field separator and the encoding characters.
func (s Segment) AppendFields(out []Value) []Value {
	if len(s.raw) <= 3 {
		return out
	}
	fs := s.d.Field
	rest := s.raw[4:]
	if s.isHeader() {
		out = append(out, Value{raw: s.raw[3:4], dl: packDelims(s.d, levelLiteral)})
		end := bytes.IndexByte(rest, fs)
		if end < 0 {
			return append(out, Value{raw: rest, dl: packDelims(s.d, levelLiteral)})
		}
		out = append(out, Value{raw: rest[:end], dl: packDelims(s.d, levelLiteral)})
		rest = rest[end+1:]
	}
	dl, start := packDelims(s.d, levelField), 0
	i := 0
	// Eight bytes at a time: fields are short, and an IndexByte call for
	// each costs more than the search.
	pat := uint64(fs) * lowBytes
	for ; i+8 <= len(rest); i += 8 {
		for m := zeroBytes(binary.LittleEndian.Uint64(rest[i:]) ^ pat); m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			out = appendField(out, rest[start:j], dl)
			start = j + 1
		}
	}
	for ; i < len(rest); i++ {
		if rest[i] == fs {
			out = appendField(out, rest[start:i], dl)
			start = i + 1
		}
	}
	return appendField(out, rest[start:], dl)
}

// appendField appends a field-level Value, written in place field by field:
// a Value built aside and then copied is read back wider than it was
// written, which stalls the store forwarding of most processors.
func appendField(out []Value, raw []byte, dl delims) []Value {
	if len(out) == cap(out) {
		out = slices.Grow(out, 1)
	}
	out = out[:len(out)+1]
	v := &out[len(out)-1]
	v.raw, v.dl = raw, dl
	return out
}

const (
	lowBytes  = 0x0101010101010101
	low7Bytes = 0x7f7f7f7f7f7f7f7f
)

// zeroBytes has the high bit of each zero byte of x set, and no other bit.
func zeroBytes(x uint64) uint64 {
	return ^(((x & low7Bytes) + low7Bytes) | x | low7Bytes)
}
