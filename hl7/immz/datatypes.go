package immz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
)

// Readers for the HL7 data types the immunization profile uses. Each takes
// a field (or one repetition of it) and returns the domain value, with text
// unescaped and surrounding spaces trimmed.

func text(v hl7.Value) string {
	if v.IsEmpty() || v.IsNull() {
		return ""
	}
	return strings.TrimSpace(v.String())
}

// text is the package's text for the values of the message being decoded.
// A value without escape sequences is cut from d.copy, one copy of the
// message (or, for Check, of what it keeps) made per call, instead of
// being allocated on its own. d.plainSeg says the segment being read has
// no escape character at all, so its values need not be searched for one.
//
// While d.inPlace is set (Check reading a VXU's body, where no value
// outlives the call: what an issue quotes is copied into its message), a
// value without escapes is returned in place, as a string that shares the
// message's bytes.
func (d *decoder) text(v hl7.Value) string {
	if v.IsEmpty() || v.IsNull() {
		return ""
	}
	if !d.plainSeg && !v.Plain() {
		return strings.TrimSpace(v.String())
	}
	s := plainText(v.Bytes())
	if d.inPlace || s == "" {
		return s
	}
	return d.kept(s)
}

// kept returns s, a view of the message's bytes, as the same text of
// d.copy, the copy of d.base (the message's bytes) that the Result keeps.
func (d *decoder) kept(s string) string {
	off := offset(d.base, unsafe.StringData(s))
	if off >= 0 && off <= len(d.copy)-len(s) && d.copy[off:off+len(s)] == s {
		return d.copy[off : off+len(s)]
	}
	return strings.Clone(s) // not from the copied part: never expected
}

// plainText is text for the bytes of a value without escape sequences,
// in place: no copy.
func plainText(b []byte) string {
	if len(b) == 0 || len(b) == 2 && b[0] == '"' && b[1] == '"' {
		return ""
	}
	// Nothing to trim when both ends are ASCII and not spaces.
	if first, last := b[0], b[len(b)-1]; first > ' ' && first < utf8.RuneSelf && last > ' ' && last < utf8.RuneSelf {
		return unsafe.String(&b[0], len(b))
	}
	if b = bytes.TrimSpace(b); len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// plainComps is SplitComps for d.plainSeg and d.inPlace: it fills out with the bytes of
// the components of v (of its first repetition, for a field), without
// building a Value for each. The texts are then plainText's.
func (d *decoder) plainComps(v hl7.Value, out [][]byte) {
	raw := v.Bytes()
	rep, comp := d.delims.Repetition, d.delims.Component
	n, start, i := 0, 0, 0
	// Eight bytes at a time, for the long texts of coded values.
	repPat, compPat := uint64(rep)*lowBytes, uint64(comp)*lowBytes
	for ; i+8 <= len(raw); i += 8 {
		x := binary.LittleEndian.Uint64(raw[i:])
		for m := zeroBytes(x^compPat) | zeroBytes(x^repPat); m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			out[n] = raw[start:j]
			if n++; raw[j] == rep || n == len(out) {
				return
			}
			start = j + 1
		}
	}
	for ; i < len(raw); i++ {
		if c := raw[i]; c == comp || c == rep {
			out[n] = raw[start:i]
			if n++; c == rep || n == len(out) {
				return
			}
			start = i + 1
		}
	}
	out[n] = raw[start:]
}

const (
	lowBytes  = 0x0101010101010101
	low7Bytes = 0x7f7f7f7f7f7f7f7f
)

// zeroBytes has the high bit of each zero byte of x set, and no other bit.
func zeroBytes(x uint64) uint64 {
	return ^(((x & low7Bytes) + low7Bytes) | x | low7Bytes)
}

// plainSub is the text of subcomponent 1 of a component's bytes (see
// plainComps), as text(c.Sub(1)) reads it.
func (d *decoder) plainSub(c []byte) string {
	if d.delims.Subcomponent != 0 {
		if i := bytes.IndexByte(c, d.delims.Subcomponent); i >= 0 {
			c = c[:i]
		}
	}
	return plainText(c)
}

// readCode reads CE/CWE: code^text^system^altcode^alttext^altsystem.
func (d *decoder) readCode(v hl7.Value) iis.Code {
	if v.IsEmpty() {
		return iis.Code{}
	}
	if d.inPlace && d.plainSeg { // no rule reads the texts
		var c [6][]byte
		d.plainComps(v, c[:])
		return iis.Code{Code: plainText(c[0]), System: plainText(c[2]), AltCode: plainText(c[3]), AltSystem: plainText(c[5])}
	}
	var c [6]hl7.Value
	v.SplitComps(c[:])
	if d.inPlace {
		return iis.Code{Code: d.text(c[0]), System: d.text(c[2]), AltCode: d.text(c[3]), AltSystem: d.text(c[5])}
	}
	return iis.Code{
		Code: d.text(c[0]), Text: d.text(c[1]), System: d.text(c[2]),
		AltCode: d.text(c[3]), AltText: d.text(c[4]), AltSystem: d.text(c[5]),
	}
}

// readCX reads CX (id^check^scheme^authority^type) and EI (id^namespace^…).
func (d *decoder) readCX(v hl7.Value) iis.Identifier {
	if d.inPlace && d.plainSeg {
		var c [5][]byte
		d.plainComps(v, c[:])
		return iis.Identifier{Value: plainText(c[0]), Authority: d.plainSub(c[3]), Type: plainText(c[4])}
	}
	var c [5]hl7.Value
	v.SplitComps(c[:])
	return iis.Identifier{Value: d.text(c[0]), Authority: d.text(c[3].Sub(1)), Type: d.text(c[4])}
}

func (d *decoder) readEI(v hl7.Value) iis.Identifier {
	if d.inPlace { // no rule reads the namespace
		return iis.Identifier{Value: d.text(v.Comp(1))}
	}
	return iis.Identifier{Value: d.text(v.Comp(1)), Authority: d.text(v.Comp(2))}
}

// readXPN reads XPN: family^given^middle^suffix^prefix^degree^type.
func (d *decoder) readXPN(v hl7.Value) iis.Name {
	if v.IsEmpty() {
		return iis.Name{}
	}
	if d.inPlace && d.plainSeg { // the rules read the family, given and middle names and the type
		var c [7][]byte
		d.plainComps(v, c[:])
		return iis.Name{Family: d.plainSub(c[0]), Given: plainText(c[1]), Middle: plainText(c[2]), Type: plainText(c[6])}
	}
	var c [7]hl7.Value
	v.SplitComps(c[:])
	if d.inPlace {
		return iis.Name{Family: d.text(c[0].Sub(1)), Given: d.text(c[1]), Middle: d.text(c[2]), Type: d.text(c[6])}
	}
	return iis.Name{
		Family: d.text(c[0].Sub(1)), Given: d.text(c[1]), Middle: d.text(c[2]),
		Suffix: d.text(c[3]), Prefix: d.text(c[4]), Type: d.text(c[6]),
	}
}

// readXAD reads XAD: street^other^city^state^zip^country^type^…^county.
func (d *decoder) readXAD(v hl7.Value) iis.Address {
	if v.IsEmpty() {
		return iis.Address{}
	}
	if d.inPlace && d.plainSeg { // the rules read the state, ZIP code, country and type
		var c [7][]byte
		d.plainComps(v, c[:])
		return iis.Address{State: plainText(c[3]), Zip: plainText(c[4]), Country: plainText(c[5]), Type: plainText(c[6])}
	}
	var c [9]hl7.Value
	v.SplitComps(c[:])
	if d.inPlace {
		return iis.Address{State: d.text(c[3]), Zip: d.text(c[4]), Country: d.text(c[5]), Type: d.text(c[6])}
	}
	return iis.Address{
		Street: d.text(c[0].Sub(1)), Other: d.text(c[1]), City: d.text(c[2]),
		State: d.text(c[3]), Zip: d.text(c[4]), Country: d.text(c[5]),
		Type: d.text(c[6]), County: d.text(c[8]),
	}
}

// readXTN reads XTN: text^use^equipment^email^country^area^local^ext.
func (d *decoder) readXTN(v hl7.Value) iis.Phone {
	if v.IsEmpty() {
		return iis.Phone{}
	}
	if d.inPlace && d.plainSeg { // the rules read the use, equipment, email, area and local number
		var c [7][]byte
		d.plainComps(v, c[:])
		return iis.Phone{Use: plainText(c[1]), Equipment: plainText(c[2]), Email: plainText(c[3]), Area: plainText(c[5]), Local: plainText(c[6])}
	}
	var c [8]hl7.Value
	v.SplitComps(c[:])
	return iis.Phone{
		UnformattedText: d.text(c[0]), Use: d.text(c[1]), Equipment: d.text(c[2]),
		Email: d.text(c[3]), Country: d.text(c[4]), Area: d.text(c[5]),
		Local: d.text(c[6]), Extension: d.text(c[7]),
	}
}

// readXCN reads XCN: id^family^given^…^authority(9).
func (d *decoder) readXCN(v hl7.Value) iis.Provider {
	if v.IsEmpty() {
		return iis.Provider{}
	}
	var c [9]hl7.Value
	v.SplitComps(c[:])
	return iis.Provider{ID: d.text(c[0]), Family: d.text(c[1].Sub(1)), Given: d.text(c[2]), Authority: d.text(c[8].Sub(1))}
}

// readHD reads HD: namespace^universal id^type.
func (d *decoder) readHD(v hl7.Value) iis.Organization {
	if v.IsEmpty() {
		return iis.Organization{}
	}
	var c [3]hl7.Value
	v.SplitComps(c[:])
	return iis.Organization{Name: d.text(c[0]), ID: d.text(c[1]), IDType: d.text(c[2])}
}

// readXON reads XON: name^…^id(10), with the assigning authority in 6.
func (d *decoder) readXON(v hl7.Value) iis.Organization {
	if v.IsEmpty() {
		return iis.Organization{}
	}
	var c [10]hl7.Value
	v.SplitComps(c[:])
	o := iis.Organization{Name: d.text(c[0]), ID: d.text(c[9]), Authority: d.text(c[5].Sub(1))}
	if o.ID == "" {
		o.ID = d.text(c[2])
	}
	return o
}

// Date precisions of an HL7 DTM/DT/TS value.
const (
	precNone = iota
	precYear
	precMonth
	precDay
	precTime
)

var errDate = errors.New("not a valid HL7 date (YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ])")

// parseDTM parses an HL7 DTM (also DT and TS component 1):
// YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]. The result is the
// calendar date at UTC midnight, which is what immunization rules compare;
// the time of day is validated but dropped. prec says how much was given.
func parseDTM(s string) (time.Time, int, error) {
	if s == "" {
		return time.Time{}, precNone, nil
	}
	// The usual value is all digits (YYYYMMDD): no zone, no fraction.
	if !digits(s) {
		// Time zone offset.
		if i := indexSign(s); i >= 0 {
			tz := s[i+1:]
			if len(tz) != 4 || !digits(tz) || atoi(tz[:2]) > 14 || atoi(tz[2:]) > 59 {
				return time.Time{}, precNone, errDate
			}
			s = s[:i]
		}
		// Fractional seconds.
		if i := strings.IndexByte(s, '.'); i >= 0 {
			frac := s[i+1:]
			if len(s[:i]) != 14 || len(frac) == 0 || len(frac) > 4 || !digits(frac) {
				return time.Time{}, precNone, errDate
			}
			s = s[:i]
		}
		if !digits(s) {
			return time.Time{}, precNone, errDate
		}
	}
	y, mo, d := 0, 1, 1
	prec := precNone
	switch len(s) {
	case 4:
		y, prec = atoi(s), precYear
	case 6:
		y, mo, prec = atoi(s[:4]), atoi(s[4:6]), precMonth
	case 8, 10, 12, 14:
		y, mo, d, prec = atoi(s[:4]), atoi(s[4:6]), atoi(s[6:8]), precDay
		if len(s) > 8 {
			prec = precTime
			hh, mm, ss := atoi(s[8:10]), 0, 0
			if len(s) >= 12 {
				mm = atoi(s[10:12])
			}
			if len(s) == 14 {
				ss = atoi(s[12:14])
			}
			if hh > 23 || mm > 59 || ss > 60 {
				return time.Time{}, precNone, errDate
			}
		}
	default:
		return time.Time{}, precNone, errDate
	}
	if y < 1800 || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) { // 20230231 and the like
		return time.Time{}, precNone, errDate
	}
	return dateUTC(y, mo, d), prec, nil
}

// indexSign is the index of the first '+' or '-' in s, or -1.
func indexSign(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '+' || s[i] == '-' {
			return i
		}
	}
	return -1
}

// daysIn is the number of days of month mo (1-12) of year y.
func daysIn(mo, y int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// dateUTC is time.Date(y, mo, d, 0, 0, 0, 0, time.UTC) for a valid date
// of year 1 or later, without its normalisation and zone lookup: the
// civil date is counted in days since 1970-01-01 (Gregorian calendar,
// March-based years so that the leap day ends a year).
func dateUTC(y, mo, d int) time.Time {
	if mo <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400                              // [0, 399]
	doy := (153*((mo+9)%12)+2)/5 + d - 1            // [0, 365]
	doe := yoe*365 + yoe/4 - yoe/100 + doy          // [0, 146096]
	days := int64(era)*146097 + int64(doe) - 719468 // since 1970-01-01
	return time.Unix(days*86400, 0).UTC()
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
