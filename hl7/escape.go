package hl7

import "bytes"

// unescape appends raw to dst with HL7 escape sequences decoded:
// \F\ \S\ \T\ \R\ \E\ (and \P\ when a truncation character is declared)
// become the delimiter they name, \Xhh…\ the bytes it spells, \.br\ a line
// feed. Any other sequence (highlighting, character-set switches, formatting
// commands), and an escape character with no closing one, is kept as sent.
func unescape(dst, raw []byte, d *Delimiters) []byte {
	esc := d.Escape
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, esc)
		if i < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:i]...)
		raw = raw[i+1:]
		j := bytes.IndexByte(raw, esc)
		if j < 0 {
			// Unterminated: the escape character stands for itself.
			dst = append(dst, esc)
			continue
		}
		seq := raw[:j]
		if c, ok := decodeEscape(seq, d); ok {
			dst = append(dst, c)
		} else if x, ok := decodeHex(dst, seq); ok {
			dst = x
		} else {
			dst = append(dst, esc)
			dst = append(dst, seq...)
			dst = append(dst, esc)
		}
		raw = raw[j+1:]
	}
	return dst
}

// decodeEscape decodes the single-letter and formatting sequences that
// stand for one byte.
func decodeEscape(seq []byte, d *Delimiters) (byte, bool) {
	if len(seq) == 1 {
		var c byte
		switch seq[0] {
		case 'F':
			c = d.Field
		case 'S':
			c = d.Component
		case 'T':
			c = d.Subcomponent
		case 'R':
			c = d.Repetition
		case 'E':
			c = d.Escape
		case 'P':
			c = d.Truncation
		}
		return c, c != 0
	}
	if string(seq) == ".br" {
		return '\n', true
	}
	return 0, false
}

// decodeHex decodes \Xhhhh\ into the bytes it spells.
func decodeHex(dst, seq []byte) ([]byte, bool) {
	if len(seq) < 3 || seq[0] != 'X' || (len(seq)-1)%2 != 0 {
		return dst, false
	}
	for i := 1; i < len(seq); i++ {
		if unhex(seq[i]) < 0 {
			return dst, false
		}
	}
	for i := 1; i < len(seq); i += 2 {
		dst = append(dst, byte(unhex(seq[i])<<4|unhex(seq[i+1])))
	}
	return dst, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

const hexDigits = "0123456789ABCDEF"

// escapeSet marks the bytes appendEscaped must escape for a set of
// delimiters: the delimiters, the escape and truncation characters, CR, LF.
type escapeSet [256]bool

func newEscapeSet(d *Delimiters) *escapeSet {
	if *d == DefaultDelimiters {
		return defaultEscapes
	}
	return makeEscapeSet(d)
}

// defaultEscapes is the escape set of DefaultDelimiters, which nearly
// every Writer uses; it is never modified.
var defaultEscapes = makeEscapeSet(&DefaultDelimiters)

func makeEscapeSet(d *Delimiters) *escapeSet {
	var e escapeSet
	for _, c := range [...]byte{d.Field, d.Component, d.Repetition, d.Escape, d.Subcomponent, d.Truncation, '\r', '\n'} {
		if c != 0 {
			e[c] = true
		}
	}
	return &e
}

// appendEscapedSet is appendEscaped with the delimiters' escape set at
// hand: text with nothing to escape (nearly all of it) is copied in one go.
func appendEscapedSet(dst []byte, text string, d *Delimiters, e *escapeSet) []byte {
	for i := 0; i < len(text); i++ {
		if e[text[i]] {
			return appendEscaped(dst, text, d)
		}
	}
	return append(dst, text...)
}

// appendEscaped appends text to dst, escaping every byte that would
// otherwise be read as a delimiter, so that the result decodes to text.
// CR is written as \X0D\ and LF as \.br\.
func appendEscaped(dst []byte, text string, d *Delimiters) []byte {
	start := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		var code byte
		switch {
		case c == d.Field:
			code = 'F'
		case c == d.Component:
			code = 'S'
		case c == d.Repetition:
			code = 'R'
		case c == d.Escape && c != 0:
			code = 'E'
		case c == d.Subcomponent && c != 0:
			code = 'T'
		case c == d.Truncation && c != 0:
			code = 'P'
		case c == '\r':
			code = 'X'
		case c == '\n':
			code = '.'
		default:
			continue
		}
		dst = append(dst, text[start:i]...)
		start = i + 1
		dst = appendEscapeCode(dst, code, c, d)
	}
	return append(dst, text[start:]...)
}

func appendEscapeCode(dst []byte, code, c byte, d *Delimiters) []byte {
	esc := d.Escape
	if esc == 0 {
		esc = '\\' // a writer always declares one; this is a last resort
	}
	dst = append(dst, esc)
	switch code {
	case 'X':
		dst = append(dst, 'X', hexDigits[c>>4], hexDigits[c&0xF])
	case '.':
		dst = append(dst, ".br"...)
	default:
		dst = append(dst, code)
	}
	return append(dst, esc)
}

// translate appends raw, a value encoded with the delimiters from, to dst
// re-encoded with the delimiters to: structural delimiters are mapped,
// escape sequences rewritten with to's escape character (unknown ones kept
// as sequences), and bytes that are delimiters only in to are escaped.
func translate(dst, raw []byte, from, to *Delimiters) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == from.Escape && c != 0:
			j := bytes.IndexByte(raw[i+1:], c)
			if j < 0 {
				// Unterminated escape: the rest is literal text.
				return appendEscaped(dst, string(raw[i:]), to)
			}
			seq := raw[i+1 : i+1+j]
			if b, ok := decodeEscape(seq, from); ok {
				one := [1]byte{b}
				dst = appendEscaped(dst, string(one[:]), to)
			} else {
				dst = append(dst, to.Escape)
				dst = append(dst, seq...)
				dst = append(dst, to.Escape)
			}
			i += j + 1
		case c == from.Field:
			dst = append(dst, to.Field)
		case c == from.Repetition:
			dst = append(dst, to.Repetition)
		case c == from.Component:
			dst = append(dst, to.Component)
		case c == from.Subcomponent && c != 0:
			dst = append(dst, to.Subcomponent)
		case to.isSpecial(c) || (c == to.Truncation && c != 0):
			dst = appendEscaped(dst, string(raw[i:i+1]), to)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
