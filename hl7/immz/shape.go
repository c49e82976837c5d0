package immz

import (
	"encoding/binary"
	"math/bits"
	"strconv"

	"github.com/iisproject/iis/hl7"
)

// segmentFields is the number of fields HL7 2.5.1 defines for a segment
// of VXU^V04 (MSH with the two the IG adds, MSH-22 and MSH-23, and the two
// later versions add after them), or 0 for another segment.
func segmentFields(id string) int {
	switch id {
	case "MSH":
		return 25
	case "SFT", "RXR":
		return 6
	case "PID":
		return 39
	case "PD1":
		return 21
	case "NK1":
		return 39
	case "PV1":
		return 52
	case "PV2":
		return 49
	case "GT1":
		return 57
	case "IN1":
		return 53
	case "IN2":
		return 72
	case "IN3":
		return 28
	case "ORC":
		return 31
	case "TQ1":
		return 14
	case "TQ2":
		return 10
	case "RXA":
		return 26
	case "OBX":
		return 25
	case "NTE":
		return 4
	case "RCP": // of a QBP, with QPD
		return 7
	}
	return 0
}

// vxuID reports whether b is the ID of a segment of VXU^V04 or QBP^Q11.
func vxuID(b []byte) bool {
	return len(b) == 3 && b[0] >= 'A' && b[0] <= 'Z' && (segmentFields(string(b)) > 0 || string(b) == "QPD")
}

// shapeAll adds the shape issue of every segment of a message that has no
// dose groups (a QBP): in MSH it rejects the envelope, elsewhere the
// message (the query).
func (d *decoder) shapeAll() {
	for i, s := range d.m.Segments() {
		id, seq := s.ID(), 1
		for _, t := range d.m.Segments()[:i] {
			if t.Is(id) {
				seq++
			}
		}
		if is, ok := d.shape(s, id, seq); ok {
			is.Scope = ScopeMessage
			if i == 0 {
				is.Scope = ScopeEnvelope
			}
			is.Message += consequence(Error, is.Scope)
			d.add(is)
		}
	}
}

// A segment's shape: a missing segment terminator glues the next segment
// onto the end of the one before (OBX|…|F|RXA|0|1|20170101|…): the glued
// segment's ID ends a field of the first, its fields continue it, and its
// data would be read as fields of the wrong segment, or not at all. Both
// signs are errors, never passed over:
//
//   - a field that ends with the ID of a VXU segment followed by the field
//     separator ("RXA|" inside OBX): HL7 0357 code 100, segment sequence
//     error, since a segment stands where the message's structure has a
//     field. Unless the field is the ID alone, the next field must look
//     like a glued segment's first one (see setIDNext): a lot number
//     "Z0860PID" followed by its expiration date is text;
//   - a non-empty field past the last one the segment's definition has:
//     code 102, data type error, since the segment's content does not fit
//     its type.
//
// ERR-5 is CDC 0533 code 4 (invalid value) for both. The scope is that of
// the segment: MSH rejects the message (AR); a segment of a dose group
// (ORC, TQ1, RXA, RXR, and OBX or NTE inside a group) rejects that group
// (the dose in the glued text was not read either, and the ERR says so);
// any other rejects the message.

// shape returns the issue of segment s (sequence seq) if it is glued to
// another or has data past its last field, with no scope set. The field
// separators are found eight bytes at a time, as hl7 splits fields.
func (d *decoder) shape(s hl7.Segment, id string, seq int) (Issue, bool) {
	raw := s.Bytes()
	if len(raw) < 4 {
		return Issue{}, false
	}
	sh := shaper{raw: raw, fs: d.delims.Field, id: id, seq: seq, max: segmentFields(id), prev: 3, field: 1}
	if id == "MSH" {
		sh.field = 2 // the separator at 3 is MSH-1
	}
	i := 4
	pat := uint64(sh.fs) * lowBytes
	for ; i+8 <= len(raw); i += 8 {
		for m := zeroBytes(binary.LittleEndian.Uint64(raw[i:]) ^ pat); m != 0; m &= m - 1 {
			if sh.next(i + bits.TrailingZeros64(m)>>3) {
				return sh.issue, true
			}
		}
	}
	for ; i < len(raw); i++ {
		if raw[i] == sh.fs && sh.next(i) {
			return sh.issue, true
		}
	}
	if sh.next(len(raw)) {
		return sh.issue, true
	}
	return Issue{}, false
}

// shaper walks the fields of one segment for shape.
type shaper struct {
	raw   []byte
	fs    byte
	id    string
	seq   int
	max   int // fields defined; 0: not known
	prev  int // the separator before the current field
	field int // the current field's number
	issue Issue
}

// next checks the field that ends at p (a separator, or the segment's end)
// and moves to the one after it; it reports whether the field has a shape
// issue (sh.issue). Most fields are told apart by two comparisons.
func (sh *shaper) next(p int) bool {
	f, field := sh.raw[sh.prev+1:p], sh.field
	sh.prev, sh.field = p, field+1
	if len(f) >= 3 && upper(f[len(f)-3]) || sh.max > 0 && field > sh.max && len(f) > 0 {
		return sh.check(f, p, field)
	}
	return false
}

// check is next for a field that may have an issue.
func (sh *shaper) check(f []byte, p, field int) bool {
	id := sh.id
	if p < len(sh.raw) && len(f) >= 3 && vxuID(f[len(f)-3:]) && (len(f) == 3 || setIDNext(sh.raw[p+1:], sh.fs)) && !(id == "MSH" && field == 2) {
		glued := string(f[len(f)-3:])
		sh.issue = Issue{Location: loc(id, sh.seq, field), Code: CodeSegmentSequence, Severity: Error, AppCode: AppInvalidValue,
			Message: id + "-" + strconv.Itoa(field) + " holds the start of another segment, \"" + glued + string(sh.fs) +
				"\": a segment terminator is missing before it, so that " + glued + " and the rest of its line were not read",
			Rule: "segment glued"}
		return true
	}
	if sh.max > 0 && field > sh.max && len(f) > 0 {
		sh.issue = Issue{Location: loc(id, sh.seq, field), Code: CodeDataType, Severity: Error, AppCode: AppInvalidValue,
			Message: id + "-" + strconv.Itoa(field) + " is past the last field of " + id + " (" + id + "-" + strconv.Itoa(sh.max) +
				"): a segment terminator may be missing, and this data was not read",
			Rule: "data past last field"}
		return true
	}
	return false
}

func upper(c byte) bool { return c >= 'A' && c <= 'Z' }

// setIDNext reports whether rest (what follows a field separator) starts
// with a field that looks like the first field of a glued segment: a set
// ID (OBX-1, NK1-1), RXA-1's "0" or an order control code (ORC-1 "RE"):
// one to four digits or capital letters.
func setIDNext(rest []byte, fs byte) bool {
	n := 0
	for n < len(rest) && rest[n] != fs {
		if c := rest[n]; !upper(c) && (c < '0' || c > '9') || n == 4 {
			return false
		}
		n++
	}
	return n > 0
}
