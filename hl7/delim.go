package hl7

import "fmt"

// Delimiters are a message's encoding characters, read from MSH-1 and MSH-2
// (or FHS/BHS-1 and -2).
type Delimiters struct {
	Field        byte // MSH-1, usually '|'
	Component    byte // usually '^'
	Repetition   byte // usually '~'
	Escape       byte // usually '\'; 0 when the message declares none
	Subcomponent byte // usually '&'; 0 when the message declares none
	Truncation   byte // v2.7 truncation character, usually '#'; 0 when absent
}

// DefaultDelimiters are the encoding characters the HL7 standard recommends
// and the CDC immunization guide requires on output: |^~\&.
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// EncodingCharacters returns MSH-2 as it should be written: component,
// repetition, escape, subcomponent (and truncation, if set).
func (d Delimiters) EncodingCharacters() string {
	b := make([]byte, 0, 5)
	b = append(b, d.Component, d.Repetition)
	if d.Escape != 0 || d.Subcomponent != 0 || d.Truncation != 0 {
		b = append(b, d.Escape)
	}
	if d.Subcomponent != 0 || d.Truncation != 0 {
		b = append(b, d.Subcomponent)
	}
	if d.Truncation != 0 {
		b = append(b, d.Truncation)
	}
	return string(b)
}

// isDelimiter reports whether c is one of the structural delimiters
// (field, component, repetition, subcomponent) or the escape character.
func (d *Delimiters) isSpecial(c byte) bool {
	return c == d.Field || c == d.Component || c == d.Repetition ||
		(c == d.Escape && c != 0) || (c == d.Subcomponent && c != 0)
}

// readDelimiters reads the delimiters from a header segment (MSH, FHS or
// BHS) whose first three bytes are the segment ID.
func readDelimiters(seg []byte) (Delimiters, error) {
	if len(seg) >= 8 && string(seg[3:8]) == `|^~\&` && (len(seg) == 8 || seg[8] == '|') {
		// The usual delimiters, valid and distinct.
		return Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}, nil
	}
	var d Delimiters
	if len(seg) < 4 {
		return d, &SyntaxError{Segment: 1, Msg: fmt.Sprintf("%s segment has no field separator", seg)}
	}
	d.Field = seg[3]
	if !validDelimiter(d.Field) {
		return d, &SyntaxError{Segment: 1, Msg: fmt.Sprintf("%s-1 field separator %q is not allowed", seg[:3], d.Field)}
	}
	enc := seg[4:]
	n := 0
	for n < len(enc) && enc[n] != d.Field && n < 5 {
		n++
	}
	if n < len(enc) && enc[n] != d.Field {
		return d, &SyntaxError{Segment: 1, Field: 2, Msg: fmt.Sprintf("%s-2 has more than five encoding characters", seg[:3])}
	}
	enc = enc[:n]
	if len(enc) < 2 {
		return d, &SyntaxError{Segment: 1, Field: 2, Msg: fmt.Sprintf("%s-2 must declare at least the component and repetition separators", seg[:3])}
	}
	for i, c := range enc {
		if !validDelimiter(c) {
			return d, &SyntaxError{Segment: 1, Field: 2, Msg: fmt.Sprintf("%s-2 encoding character %q is not allowed", seg[:3], c)}
		}
		switch i {
		case 0:
			d.Component = c
		case 1:
			d.Repetition = c
		case 2:
			d.Escape = c
		case 3:
			d.Subcomponent = c
		case 4:
			d.Truncation = c
		}
	}
	// Every declared delimiter must be distinct.
	all := [6]byte{d.Field, d.Component, d.Repetition, d.Escape, d.Subcomponent, d.Truncation}
	for i := 0; i < len(all); i++ {
		for j := i + 1; j < len(all); j++ {
			if all[i] != 0 && all[i] == all[j] {
				return d, &SyntaxError{Segment: 1, Field: 2, Msg: fmt.Sprintf("%s-1/%s-2 declare %q twice", seg[:3], seg[:3], all[i])}
			}
		}
	}
	return d, nil
}

// validDelimiter: printable, not alphanumeric, not a space.
func validDelimiter(c byte) bool {
	switch {
	case c <= ' ' || c >= 0x7f:
		return false
	case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		return false
	}
	return true
}
