package hl7

import (
	"errors"
	"strconv"
)

// Location names a position in a message in HL7 notation:
// SEG[(occurrence)]-field[(repetition)][.component[.subcomponent]],
// for example "RXA-5.1", "PID-3(2).4" or "OBX(3)-5". Zero means "not given"
// (for Occurrence and Repetition: the first).
type Location struct {
	Segment      string
	Occurrence   int
	Field        int
	Repetition   int
	Component    int
	Subcomponent int
}

var errLocation = errors.New("hl7: location must look like SEG-1, SEG-1.2, SEG-1(2).3.4 or SEG(2)-1")

// ParseLocation parses an HL7 location. It does not allocate when the
// location is valid.
func ParseLocation(s string) (Location, error) {
	var l Location
	if len(s) < 5 || !idChar(s[0]) || !idChar(s[1]) || !idChar(s[2]) {
		return l, errLocation
	}
	l.Segment = s[:3]
	p := 3
	var ok bool
	if s[p] == '(' {
		if l.Occurrence, p, ok = paren(s, p); !ok {
			return l, errLocation
		}
	}
	if p >= len(s) || s[p] != '-' {
		return l, errLocation
	}
	if l.Field, p, ok = number(s, p+1); !ok {
		return l, errLocation
	}
	if p < len(s) && s[p] == '(' {
		if l.Repetition, p, ok = paren(s, p); !ok {
			return l, errLocation
		}
	}
	if p < len(s) && s[p] == '.' {
		if l.Component, p, ok = number(s, p+1); !ok {
			return l, errLocation
		}
	}
	if p < len(s) && s[p] == '.' {
		if l.Subcomponent, p, ok = number(s, p+1); !ok {
			return l, errLocation
		}
	}
	if p != len(s) {
		return l, errLocation
	}
	return l, nil
}

// paren reads "(n)" at s[p].
func paren(s string, p int) (int, int, bool) {
	n, p, ok := number(s, p+1)
	if !ok || p >= len(s) || s[p] != ')' {
		return 0, p, false
	}
	return n, p + 1, true
}

// number reads a positive decimal number at s[p].
func number(s string, p int) (int, int, bool) {
	n, start := 0, p
	for p < len(s) && s[p] >= '0' && s[p] <= '9' && p-start < 6 {
		n = n*10 + int(s[p]-'0')
		p++
	}
	return n, p, p > start && n > 0
}

// String formats l in the notation ParseLocation reads.
func (l Location) String() string {
	b := make([]byte, 0, 16)
	b = append(b, l.Segment...)
	if l.Occurrence > 0 {
		b = append(b, '(')
		b = strconv.AppendInt(b, int64(l.Occurrence), 10)
		b = append(b, ')')
	}
	if l.Field == 0 {
		return string(b)
	}
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(l.Field), 10)
	if l.Repetition > 0 {
		b = append(b, '(')
		b = strconv.AppendInt(b, int64(l.Repetition), 10)
		b = append(b, ')')
	}
	if l.Component > 0 {
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(l.Component), 10)
		if l.Subcomponent > 0 {
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(l.Subcomponent), 10)
		}
	}
	return string(b)
}
