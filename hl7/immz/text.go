package immz

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
)

// What the registry can keep as text, decided before the ACK: every value
// of an accepted message is stored faithfully, so a value it could not
// store is an error here, never a surprise for the worker.
//
//   - Character set (MSH-18, first repetition): empty, ASCII or UNICODE
//     UTF-8 mean UTF-8 (ASCII is a subset of it, and UTF-8 text sent under
//     ASCII is kept as sent); 8859/1 is transcoded to UTF-8. Any other
//     declared set is ignored with a warning when the message is plain
//     ASCII, and rejects the message (AR) otherwise: its bytes cannot be
//     read faithfully.
//   - Bytes that are not UTF-8 under a UTF-8 character set reject the
//     message, naming the field (HL7 0357 102, CDC 0533 4).
//   - Control characters (C0, below 0x20) other than the segment
//     terminators reject the message, naming the field (102, 4): NUL cannot
//     be stored as text at all, and the others are never data. An escape
//     \Xhh\ that spells one is treated the same, except the line breaks and
//     tab of formatted text (CR, LF, HT) outside MSH.
//   - A repetition longer than maxValue in a segment whose values the
//     registry indexes (see indexed) rejects the message (102, 4).
//
// A problem in MSH is an envelope error (AR): the header's identity (MSH-4,
// MSH-10) is what the message is stored and found under. Elsewhere the
// message is rejected whole (AE): a patient or dose cannot be kept with one
// of its values silently altered.

// charset is the character set MSH-18 declares.
type charset uint8

const (
	charsetUTF8 charset = iota
	charsetLatin1
	charsetOther
)

// declaredCharset reads MSH-18's first repetition.
func declaredCharset(m *hl7.Message) (charset, string) {
	f := m.MSH().Field(18)
	if f.IsEmpty() {
		return charsetUTF8, ""
	}
	name := strings.TrimSpace(f.Rep(1).String())
	switch strings.ToUpper(name) {
	case "", "ASCII", "UNICODE UTF-8", "UTF-8", "UTF8":
		return charsetUTF8, name
	case "8859/1", "ISO-8859-1", "ISO 8859-1", "ISO8859-1", "LATIN1", "LATIN-1":
		return charsetLatin1, name
	}
	return charsetOther, name
}

// maxTextIssues bounds the ERR rows text problems add to one ACK.
const maxTextIssues = 10

// suspect reports whether b has a byte below 0x20 or above 0x7f: a
// control character or a byte of a multi-byte character. Eight bytes at a
// time: most segments have neither.
func suspect(b []byte) bool {
	const lo, hi = 0x2020202020202020, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if ((x-lo)|x)&hi != 0 {
			return true
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 || b[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// hasHexEscape reports whether b holds the start of an escape \Xhh\.
func hasHexEscape(b []byte, esc byte) bool {
	return esc != 0 && bytes.Contains(b, []byte{esc, 'X'})
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// transcodeLatin1 returns m re-read from its bytes converted from ISO
// 8859-1 to UTF-8, when MSH-18 declares 8859/1 and there is anything to
// convert. The delimiters and segment terminators are ASCII, so the
// message's structure is unchanged.
func transcodeLatin1(m *hl7.Message) *hl7.Message {
	if cs, _ := declaredCharset(m); cs != charsetLatin1 || !suspect(m.Bytes()) {
		return m
	}
	b := m.Bytes()
	out := make([]byte, 0, len(b)+len(b)/8)
	if bytes.HasPrefix(b, utf8BOM) { // tolerated by the parser, kept as is
		out, b = append(out, utf8BOM...), b[len(utf8BOM):]
	}
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	nm, err := hl7.Parse(out)
	if err != nil {
		return m // cannot happen: the structure is ASCII
	}
	return nm
}

// textIssues reports the values that are not text the registry can keep,
// and the character set MSH-18 declares; it reports whether MSH has one.
func (d *decoder) textIssues() (inMSH bool) {
	cs, name := declaredCharset(d.m)
	esc := d.delims.Escape
	anyHex := hasHexEscape(d.base, esc)
	n := 0
	for i, s := range d.m.Segments() {
		b := s.Bytes()
		long := len(b) > maxValue && indexed(s)
		if !long && !suspect(b) && !(anyHex && hasHexEscape(b, esc)) {
			continue
		}
		if cs == charsetOther && suspect(b) && n == 0 {
			d.add(Issue{Location: loc("MSH", 1, 18), Code: CodeTableValueNotFound, Severity: Error, AppCode: AppTableValueNotFound, Scope: ScopeEnvelope,
				Message: "MSH-18 character set " + quote(name) + " is not supported; this IIS reads ASCII, UNICODE UTF-8 and 8859/1 - message rejected", Rule: "MSH-18 character set"})
			return true
		}
		seq := 0
		for _, t := range d.m.Segments()[:i+1] {
			if t.Is(s.ID()) {
				seq++
			}
		}
		var fb fieldBuf
		for j, f := range split(s, &fb) {
			what := d.badText(f, i == 0 && j == 1, i == 0, cs)
			l := loc(s.ID(), seq, j+1)
			if what == "" && long {
				if r := longRep(f); r > 0 {
					what = "repetition " + strconv.Itoa(r) + " is longer than " + strconv.Itoa(maxValue) + " characters"
					l.Repetition = r
				}
			}
			if what == "" {
				continue
			}
			scope := ScopeMessage
			if i == 0 {
				scope, inMSH = ScopeEnvelope, true
			}
			pos := s.ID() + "-" + strconv.Itoa(j+1)
			d.add(Issue{Location: l, Code: CodeDataType, Severity: Error, AppCode: AppInvalidValue, Scope: scope,
				Message: pos + " " + what + consequence(Error, scope), Rule: "text"})
			if n++; n == maxTextIssues {
				return inMSH
			}
		}
	}
	if cs == charsetOther {
		d.warn(loc("MSH", 1, 18), CodeTableValueNotFound, AppTableValueNotFound,
			"MSH-18 character set "+quote(name)+" is not supported; the message is plain ASCII and was read as such", "MSH-18 character set")
	}
	return inMSH
}

// maxValue is the longest repetition of a field accepted in the segments
// the registry indexes (see indexed): more than three times the longest
// the HL7 2.5.1 data types they hold allow (XPN, XAD, CX: 250), and short
// enough that an index entry built of up to three fields' repetitions (a
// guardian: NK1-2, NK1-3, NK1-5) stays within PostgreSQL's limit of 2704
// bytes.
const maxValue = 800

// indexed reports whether values of s go to indexed registry columns
// (identity, identifiers, names, addresses, phones, guardians, doses).
func indexed(s hl7.Segment) bool {
	switch s.ID() {
	case "MSH", "PID", "PD1", "NK1", "ORC", "RXA", "RXR":
		return true
	}
	return false
}

// longRep returns the first repetition of f longer than maxValue, or 0.
func longRep(f hl7.Value) int {
	if len(f.Bytes()) <= maxValue {
		return 0
	}
	for r := 1; r <= f.NumReps(); r++ {
		if len(f.Rep(r).Bytes()) > maxValue {
			return r
		}
	}
	return 0
}

// badText says what is wrong with the text of field f, or "". encoding
// is set for MSH-2, which holds the escape character itself; header for
// the fields of MSH.
func (d *decoder) badText(f hl7.Value, encoding, header bool, cs charset) string {
	raw := f.Bytes()
	if !suspect(raw) && !hasHexEscape(raw, d.delims.Escape) {
		return ""
	}
	if c, ok := control(raw, false); ok {
		return "contains the control character " + hexByte(c) + ", which is not text"
	}
	if !utf8.Valid(raw) {
		if cs == charsetUTF8 {
			return "is not valid UTF-8 text (declare 8859/1 in MSH-18 to send ISO 8859-1)"
		}
		return "is not valid UTF-8 text"
	}
	if encoding || !hasHexEscape(raw, d.delims.Escape) {
		return ""
	}
	text := []byte(f.String())
	if c, ok := control(text, !header); ok {
		return "has an escape sequence that spells the control character " + hexByte(c) + ", which is not text"
	}
	if !utf8.Valid(text) {
		return "has an escape sequence that spells bytes that are not UTF-8 text"
	}
	return ""
}

// control returns the first control character of b; with formatted, the
// line breaks and tab of formatted text are allowed.
func control(b []byte, formatted bool) (byte, bool) {
	for _, c := range b {
		if c < 0x20 && !(formatted && (c == '\r' || c == '\n' || c == '\t')) {
			return c, true
		}
	}
	return 0, false
}

func hexByte(c byte) string {
	const hex = "0123456789ABCDEF"
	return string([]byte{'0', 'x', hex[c>>4], hex[c&0xf]})
}

// SafeText is s with every control character and every byte that is not
// UTF-8 written as \xHH, so that text from a rejected message (its header)
// can be stored in a text column and shown; s itself when it is clean.
func SafeText(s string) string {
	if s == "" || !suspect(unsafe.Slice(unsafe.StringData(s), len(s))) || utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r < 0x20 || r == utf8.RuneError && size == 1 {
			b.WriteString(`\x`)
			b.WriteString(hexByte(s[i])[2:])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// cleanHeader makes the header's texts safe (see SafeText).
func cleanHeader(h *Header) {
	for _, o := range []*iis.Organization{&h.SendingApplication, &h.SendingFacility, &h.ReceivingApplication, &h.ReceivingFacility, &h.SendingOrganization} {
		o.Name, o.ID, o.IDType, o.Authority = SafeText(o.Name), SafeText(o.ID), SafeText(o.IDType), SafeText(o.Authority)
	}
	for _, s := range []*string{&h.Type, &h.Event, &h.Structure, &h.ControlID, &h.ProcessingID, &h.Version, &h.AcceptAck, &h.AppAck, &h.Profile} {
		*s = SafeText(*s)
	}
}

// maxID is the longest identity text (facility, MSH-10) kept for a message:
// MSH-10's own limit.
const maxID = 199

// StorableID is SafeText(s), and when that is longer than 199 bytes its
// first 180 bytes followed by "…#" and a checksum of the whole: the
// identity (facility, MSH-10) under which a rejected message with an
// overlong one is stored, still telling different messages apart.
func StorableID(s string) string {
	s = SafeText(s)
	if len(s) <= maxID {
		return s
	}
	cut := 180
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…#" + strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(s))), 16)
}
