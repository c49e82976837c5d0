package hl7

import (
	"bytes"
	"strconv"
)

type level uint8

const (
	levelField level = iota
	levelRep
	levelComp
	levelSub
	levelLiteral // MSH-1 and MSH-2: never split, never unescaped
)

// Value is a field, repetition, component or subcomponent of a parsed
// message: a view of the input bytes that knows its delimiters. The zero
// Value is empty.
type Value struct {
	raw []byte
	d   Delimiters
	lvl level
}

// Bytes returns the value as sent, escape sequences and inner delimiters
// included. The slice aliases the message's input.
func (v Value) Bytes() []byte { return v.raw }

// IsEmpty reports whether the value is absent or empty.
func (v Value) IsEmpty() bool { return len(v.raw) == 0 }

// IsNull reports whether the value is the HL7 explicit null `""`, which
// tells a receiver to delete what it holds.
func (v Value) IsNull() bool { return len(v.raw) == 2 && v.raw[0] == '"' && v.raw[1] == '"' }

// Rep returns repetition i (1-based) of a field. Any other Value has only
// itself as repetition 1.
func (v Value) Rep(i int) Value {
	if v.lvl != levelField {
		if i == 1 {
			return v
		}
		return Value{}
	}
	return Value{raw: nth(v.raw, v.d.Repetition, i), d: v.d, lvl: levelRep}
}

// NumReps returns the number of repetitions (0 for an empty value).
func (v Value) NumReps() int {
	if len(v.raw) == 0 {
		return 0
	}
	if v.lvl != levelField {
		return 1
	}
	return bytes.Count(v.raw, []byte{v.d.Repetition}) + 1
}

// Comp returns component j (1-based); on a field it reads the first
// repetition.
func (v Value) Comp(j int) Value {
	switch v.lvl {
	case levelField:
		return Value{raw: firstRepComp(v.raw, v.d.Repetition, v.d.Component, j), d: v.d, lvl: levelComp}
	case levelComp, levelSub, levelLiteral:
		if j == 1 {
			return v
		}
		return Value{}
	}
	return Value{raw: nth(v.raw, v.d.Component, j), d: v.d, lvl: levelComp}
}

// NumComps returns the number of components of the value (of its first
// repetition, for a field).
func (v Value) NumComps() int {
	if v.lvl == levelField {
		v = v.Rep(1)
	}
	if len(v.raw) == 0 {
		return 0
	}
	if v.lvl != levelRep {
		return 1
	}
	return bytes.Count(v.raw, []byte{v.d.Component}) + 1
}

// Sub returns subcomponent k (1-based); on a field or repetition it reads
// the first component.
func (v Value) Sub(k int) Value {
	switch v.lvl {
	case levelField, levelRep:
		v = v.Comp(1)
	case levelSub, levelLiteral:
		if k == 1 {
			return v
		}
		return Value{}
	}
	if v.d.Subcomponent == 0 {
		if k == 1 {
			return Value{raw: v.raw, d: v.d, lvl: levelSub}
		}
		return Value{}
	}
	return Value{raw: nth(v.raw, v.d.Subcomponent, k), d: v.d, lvl: levelSub}
}

// nth returns the n-th (1-based) piece of raw split at sep. Values are
// short: a plain loop finds a separator sooner than IndexByte's set-up.
func nth(raw []byte, sep byte, n int) []byte {
	if n < 1 {
		return nil
	}
	start := 0
	for i, c := range raw {
		if c == sep {
			if n == 1 {
				return raw[start:i]
			}
			n--
			start = i + 1
		}
	}
	if n == 1 {
		return raw[start:]
	}
	return nil
}

// firstRepComp returns component n (1-based) of the first repetition of
// a field, in one pass: nth(nth(raw, rep, 1), comp, n).
func firstRepComp(raw []byte, rep, comp byte, n int) []byte {
	if n < 1 {
		return nil
	}
	start := 0
	for i, c := range raw {
		switch c {
		case comp:
			if n == 1 {
				return raw[start:i]
			}
			n--
			start = i + 1
		case rep:
			if n == 1 {
				return raw[start:i]
			}
			return nil
		}
	}
	if n == 1 {
		return raw[start:]
	}
	return nil
}

// String returns the value's text with escape sequences decoded. Inner
// delimiters of a structured value are kept; read components with Comp.
func (v Value) String() string {
	if v.Plain() {
		return string(v.raw)
	}
	return string(v.AppendText(nil))
}

// Plain reports whether the value's text is its bytes as sent: it holds no
// escape sequence to decode, so [Value.String] and [Value.AppendText] would
// copy it unchanged.
func (v Value) Plain() bool {
	return v.lvl == levelLiteral || v.d.Escape == 0 || bytes.IndexByte(v.raw, v.d.Escape) < 0
}

// AppendText appends the value's text, escape sequences decoded, to dst.
func (v Value) AppendText(dst []byte) []byte {
	if v.lvl == levelLiteral || v.d.Escape == 0 {
		return append(dst, v.raw...)
	}
	return unescape(dst, v.raw, &v.d)
}

// Equal reports whether the value's text equals s, without allocating.
func (v Value) Equal(s string) bool {
	if v.lvl == levelLiteral || v.d.Escape == 0 || bytes.IndexByte(v.raw, v.d.Escape) < 0 {
		return string(v.raw) == s
	}
	var buf [128]byte
	return string(v.AppendText(buf[:0])) == s
}

// Int returns the value's text as a decimal integer.
func (v Value) Int() (int, error) {
	return strconv.Atoi(string(bytes.TrimSpace(v.raw)))
}

// SplitComps fills out with components 1…len(out) of v (of its first
// repetition, for a field) in one pass; components beyond those present are
// empty. It returns the number of components v has, or len(out)+1 when it
// has more than out holds.
func (v Value) SplitComps(out []Value) int {
	// A field is read up to its first repetition separator in the same
	// pass; any other level has no repetitions.
	rep := v.d.Component
	switch v.lvl {
	case levelField:
		rep = v.d.Repetition
	case levelComp, levelSub, levelLiteral:
		clear(out)
		if len(out) > 0 {
			out[0] = v
		}
		return 1
	}
	raw, d, comp := v.raw, v.d, v.d.Component
	n, start := 0, 0
	i := 0
	for ; i < len(raw); i++ {
		c := raw[i]
		if c == rep && c != comp {
			break
		}
		if c == comp {
			if n == len(out) {
				return n + 1
			}
			o := &out[n] // field by field: see appendField
			o.raw, o.d, o.lvl = raw[start:i], d, levelComp
			n++
			start = i + 1
		}
	}
	if n == len(out) {
		return n + 1
	}
	o := &out[n]
	o.raw, o.d, o.lvl = raw[start:i], d, levelComp
	n++
	for j := n; j < len(out); j++ {
		out[j] = Value{}
	}
	if i == 0 {
		return 0
	}
	return n
}
