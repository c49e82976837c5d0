package soap

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// appendEscaped appends s to dst escaped for XML character data or an
// attribute value. CR is written as &#xD; (a literal CR would be turned into
// LF by every XML parser's end-of-line handling, destroying HL7 segment
// separators); LF and TAB stay literal. Characters XML 1.0 cannot carry
// (other C0 controls, U+FFFE, U+FFFF, invalid UTF-8) become U+FFFD.
func appendEscaped(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		width := 1
		switch {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '"':
			esc = "&quot;"
		case c == '\r':
			esc = "&#xD;"
		case c == '\n' || c == '\t':
		case c < 0x20:
			esc = "\uFFFD"
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			width = n
			if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
				esc = "\uFFFD"
			}
		}
		if esc != "" {
			dst = append(dst, s[last:i]...)
			dst = append(dst, esc...)
			last = i + width
		}
		i += width
	}
	return append(dst, s[last:]...)
}

// normalizeHL7 turns the text of an hl7Message element into an HL7 message:
// XML parsers report a literal CR (or CRLF) as LF, so every LF, CRLF or CR
// becomes the HL7 segment terminator CR; whitespace around the message (from
// pretty-printed envelopes) is dropped and the last segment is terminated.
// HL7 v2 cannot carry a literal LF in a field (it is escaped as \X0A\ or
// \.br\), so nothing of the message is lost.
func normalizeHL7(s string) []byte {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	out := make([]byte, 0, len(s)+1)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			out = append(out, '\r')
		case '\n':
			out = append(out, '\r')
		default:
			out = append(out, c)
		}
	}
	return append(out, '\r')
}

// charsetReader lets the XML decoder read envelopes declared in ISO-8859-1 or
// US-ASCII besides UTF-8.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return &latin1Reader{r: bufio.NewReader(input)}, nil
	}
	return nil, fmt.Errorf("unsupported charset %q", label)
}

// latin1Reader converts ISO-8859-1 bytes to UTF-8.
type latin1Reader struct {
	r       *bufio.Reader
	pending []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.pending) > 0 {
			k := copy(p[n:], l.pending)
			l.pending = l.pending[k:]
			n += k
			continue
		}
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < utf8.RuneSelf {
			p[n] = b
			n++
			continue
		}
		l.pending = utf8.AppendRune(l.pending[:0], rune(b))
	}
	return n, nil
}
