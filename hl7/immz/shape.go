package immz

import (
	"bytes"
	"strconv"

	"github.com/iisproject/iis/hl7"
)

// segmentFields is the number of fields HL7 2.5.1 defines for each segment
// of a VXU^V04 (MSH with the two the IG adds, MSH-22 and MSH-23, and the
// two later versions add after them).
var segmentFields = map[string]int{
	"MSH": 25, "SFT": 6, "PID": 39, "PD1": 21, "NK1": 39, "PV1": 52, "PV2": 49, "GT1": 57,
	"IN1": 53, "IN2": 72, "IN3": 28, "ORC": 31, "TQ1": 14, "TQ2": 10, "RXA": 26, "RXR": 6,
	"OBX": 25, "NTE": 4,
}

// vxuID reports whether id is the ID of a segment of VXU^V04.
func vxuID(b []byte) bool {
	if len(b) != 3 || b[0] < 'A' || b[0] > 'Z' {
		return false
	}
	_, ok := segmentFields[string(b)]
	return ok
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
// another or has data past its last field, with no scope set.
func (d *decoder) shape(s hl7.Segment, id string, seq int) (Issue, bool) {
	raw := s.Bytes()
	fs := d.delims.Field
	if len(raw) < 4 {
		return Issue{}, false
	}
	max, known := segmentFields[id]
	// k counts the separators: the k-th starts field k (MSH: k+1, since
	// MSH-1 is the separator itself).
	field, start := 0, 4
	if id == "MSH" {
		field = 1
	}
	for {
		i := len(raw)
		if j := bytes.IndexByte(raw[start:], fs); j >= 0 {
			i = start + j
		}
		field++
		f := raw[start:i]
		if i < len(raw) && len(f) >= 3 && vxuID(f[len(f)-3:]) && (len(f) == 3 || setIDNext(raw[i+1:], fs)) && !(id == "MSH" && field == 2) {
			glued := string(f[len(f)-3:])
			return Issue{Location: loc(id, seq, field), Code: CodeSegmentSequence, Severity: Error, AppCode: AppInvalidValue,
				Message: id + "-" + strconv.Itoa(field) + " holds the start of another segment, \"" + glued + string(fs) +
					"\": a segment terminator is missing before it, so that " + glued + " and the rest of its line were not read",
				Rule: "segment glued"}, true
		}
		if known && field > max && len(f) > 0 {
			return Issue{Location: loc(id, seq, field), Code: CodeDataType, Severity: Error, AppCode: AppInvalidValue,
				Message: id + "-" + strconv.Itoa(field) + " is past the last field of " + id + " (" + id + "-" + strconv.Itoa(max) +
					"): a segment terminator may be missing, and this data was not read",
				Rule: "data past last field"}, true
		}
		if i == len(raw) {
			return Issue{}, false
		}
		start = i + 1
	}
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
