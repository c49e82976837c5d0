package hl7

import (
	"bytes"
	"encoding/binary"
	"math/bits"
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
	dl  delims // the message's delimiters and the value's level
}

// delims packs a message's Delimiters (bytes 0-5) and a Value's level
// (byte 6) into one word: a Value is then four words, which function calls
// pass and return in registers (a Delimiters of six bytes alone would take
// six, and push the Value to memory).
type delims uint64

func packDelims(d Delimiters, l level) delims {
	return delims(d.Field) | delims(d.Component)<<8 | delims(d.Repetition)<<16 | delims(d.Escape)<<24 |
		delims(d.Subcomponent)<<32 | delims(d.Truncation)<<40 | delims(l)<<48
}

func (p delims) delimiters() Delimiters {
	return Delimiters{Field: byte(p), Component: byte(p >> 8), Repetition: byte(p >> 16), Escape: byte(p >> 24),
		Subcomponent: byte(p >> 32), Truncation: byte(p >> 40)}
}

func (p delims) component() byte    { return byte(p >> 8) }
func (p delims) repetition() byte   { return byte(p >> 16) }
func (p delims) escape() byte       { return byte(p >> 24) }
func (p delims) subcomponent() byte { return byte(p >> 32) }
func (p delims) lvl() level         { return level(p >> 48) }

// at returns p with level l.
func (p delims) at(l level) delims { return p&^(0xff<<48) | delims(l)<<48 }

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
	if v.dl.lvl() != levelField {
		if i == 1 {
			return v
		}
		return Value{}
	}
	return Value{raw: nth(v.raw, v.dl.repetition(), i), dl: v.dl.at(levelRep)}
}

// NumReps returns the number of repetitions (0 for an empty value).
func (v Value) NumReps() int {
	if len(v.raw) == 0 {
		return 0
	}
	if v.dl.lvl() != levelField {
		return 1
	}
	return bytes.Count(v.raw, []byte{v.dl.repetition()}) + 1
}

// Comp returns component j (1-based); on a field it reads the first
// repetition.
func (v Value) Comp(j int) Value {
	switch v.dl.lvl() {
	case levelField:
		return Value{raw: firstRepComp(v.raw, v.dl.repetition(), v.dl.component(), j), dl: v.dl.at(levelComp)}
	case levelComp, levelSub, levelLiteral:
		if j == 1 {
			return v
		}
		return Value{}
	}
	return Value{raw: nth(v.raw, v.dl.component(), j), dl: v.dl.at(levelComp)}
}

// NumComps returns the number of components of the value (of its first
// repetition, for a field).
func (v Value) NumComps() int {
	if v.dl.lvl() == levelField {
		v = v.Rep(1)
	}
	if len(v.raw) == 0 {
		return 0
	}
	if v.dl.lvl() != levelRep {
		return 1
	}
	return bytes.Count(v.raw, []byte{v.dl.component()}) + 1
}

// Sub returns subcomponent k (1-based); on a field or repetition it reads
// the first component.
func (v Value) Sub(k int) Value {
	switch v.dl.lvl() {
	case levelField, levelRep:
		v = v.Comp(1)
	case levelSub, levelLiteral:
		if k == 1 {
			return v
		}
		return Value{}
	}
	if v.dl.subcomponent() == 0 {
		if k == 1 {
			return Value{raw: v.raw, dl: v.dl.at(levelSub)}
		}
		return Value{}
	}
	return Value{raw: nth(v.raw, v.dl.subcomponent(), k), dl: v.dl.at(levelSub)}
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
	return v.dl.lvl() == levelLiteral || v.dl.escape() == 0 || bytes.IndexByte(v.raw, v.dl.escape()) < 0
}

// AppendText appends the value's text, escape sequences decoded, to dst.
func (v Value) AppendText(dst []byte) []byte {
	if v.dl.lvl() == levelLiteral || v.dl.escape() == 0 {
		return append(dst, v.raw...)
	}
	d := v.dl.delimiters()
	return unescape(dst, v.raw, &d)
}

// Equal reports whether the value's text equals s, without allocating.
func (v Value) Equal(s string) bool {
	if v.dl.lvl() == levelLiteral || v.dl.escape() == 0 || bytes.IndexByte(v.raw, v.dl.escape()) < 0 {
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
	rep := v.dl.component()
	switch v.dl.lvl() {
	case levelField:
		rep = v.dl.repetition()
	case levelComp, levelSub, levelLiteral:
		clear(out)
		if len(out) > 0 {
			out[0] = v
		}
		return 1
	}
	raw, dl, comp := v.raw, v.dl.at(levelComp), v.dl.component()
	n, start := 0, 0
	i := 0
	// Eight bytes at a time while they last (as AppendFields), then byte
	// by byte; a repetition separator found in a word ends the first loop
	// where the second stops at once.
	pc, pr := uint64(comp)*lowBytes, uint64(rep)*lowBytes
words:
	for ; i+8 <= len(raw); i += 8 {
		for m := zeroBytes(binary.LittleEndian.Uint64(raw[i:])^pc) | zeroBytes(binary.LittleEndian.Uint64(raw[i:])^pr); m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			if raw[j] != comp {
				i = j
				break words
			}
			if n == len(out) {
				return n + 1
			}
			o := &out[n]
			o.raw, o.dl = raw[start:j], dl
			n++
			start = j + 1
		}
	}
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
			o.raw, o.dl = raw[start:i], dl
			n++
			start = i + 1
		}
	}
	if n == len(out) {
		return n + 1
	}
	o := &out[n]
	o.raw, o.dl = raw[start:i], dl
	n++
	for j := n; j < len(out); j++ {
		out[j] = Value{}
	}
	if i == 0 {
		return 0
	}
	return n
}
