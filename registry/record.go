package registry

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/match"
)

// MatchRecord returns the matcher's view of a reported patient (not yet
// normalised).
func MatchRecord(p *iis.Patient) *match.Record {
	r := &match.Record{}
	for _, id := range p.Identifiers {
		if id.Value == "" {
			continue
		}
		r.Identifiers = append(r.Identifiers, match.Identifier{Value: id.Value, Authority: id.Authority, Type: id.Type})
	}
	legal := p.LegalName()
	r.First, r.Middle, r.Last, r.Suffix = legal.Given, legal.Middle, legal.Family, legal.Suffix
	for _, n := range p.Names {
		if n == legal {
			continue
		}
		if n.Family != "" && n.Family != legal.Family {
			r.OtherLastNames = appendNew(r.OtherLastNames, n.Family)
		}
		if n.Given != "" && n.Given != legal.Given {
			r.Aliases = appendNew(r.Aliases, n.Given)
		}
	}
	if !p.BirthDate.IsZero() {
		r.BirthDate = match.Date{Year: p.BirthDate.Year(), Month: int(p.BirthDate.Month()), Day: p.BirthDate.Day()}
	}
	r.Sex = p.Sex
	switch p.MultipleBirth {
	case "Y":
		r.MultipleBirth = match.MultipleBirthYes
	case "N":
		r.MultipleBirth = match.SingleBirth
	}
	r.BirthOrder = p.BirthOrder
	r.MotherMaidenName = p.MotherMaidenName.Family
	r.MotherFirst = p.MotherMaidenName.Given
	for _, g := range p.Guardians {
		if g.Name.IsZero() {
			continue
		}
		r.Guardians = append(r.Guardians, match.PersonName{First: g.Name.Given, Last: g.Name.Family})
		if g.Relationship.Code == "MTH" && r.MotherFirst == "" {
			r.MotherFirst = g.Name.Given
		}
	}
	for _, ph := range p.Phones {
		if n := ph.Number(); n != "" {
			r.Phones = appendNew(r.Phones, n)
		}
	}
	for _, a := range p.Addresses {
		if a.Street == "" && a.Zip == "" && a.City == "" {
			continue
		}
		r.Addresses = append(r.Addresses, match.Address{Street1: a.Street, Street2: a.Other, City: a.City, State: a.State, Zip: a.Zip})
	}
	return r
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// The patients' match_record column holds a match.Record as JSON (every
// reader, in this package or elsewhere, may decode it with encoding/json).
// The write path encodes and decodes it with the two functions below,
// written for match.Record's shape: the worker decodes the records of
// about twenty candidates per report, and reflection-based decoding was a
// third of its CPU time. appendMatchRecord leaves out empty fields, which
// encoding/json reads back as zero values (a smaller row is also fewer
// pages to read). decodeMatchRecord falls back to encoding/json for any
// input it does not expect (escaped strings, unknown or differently cased
// keys, numbers that are not small integers), so it accepts everything
// encoding/json accepts and gives the same result. TestMatchRecordCodec
// checks both against encoding/json and fails when match.Record gains a
// field these functions do not know.

// appendMatchRecord appends r as a JSON object, without its empty fields.
func appendMatchRecord(b []byte, r *match.Record) []byte {
	e := objectWriter{b: append(b, '{')}
	if len(r.Identifiers) > 0 {
		e.key("Identifiers")
		e.b = append(e.b, '[')
		for i, id := range r.Identifiers {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			o := objectWriter{b: append(e.b, '{')}
			o.str("Value", id.Value)
			o.str("Authority", id.Authority)
			o.str("Type", id.Type)
			e.b = append(o.b, '}')
		}
		e.b = append(e.b, ']')
	}
	e.str("First", r.First)
	e.str("Middle", r.Middle)
	e.str("Last", r.Last)
	e.str("Suffix", r.Suffix)
	e.strs("Aliases", r.Aliases)
	e.strs("OtherLastNames", r.OtherLastNames)
	if r.BirthDate != (match.Date{}) {
		e.key("BirthDate")
		o := objectWriter{b: append(e.b, '{')}
		o.num("Year", int64(r.BirthDate.Year))
		o.num("Month", int64(r.BirthDate.Month))
		o.num("Day", int64(r.BirthDate.Day))
		e.b = append(o.b, '}')
	}
	e.str("Sex", r.Sex)
	e.num("MultipleBirth", int64(r.MultipleBirth))
	e.num("BirthOrder", int64(r.BirthOrder))
	e.str("MotherMaidenName", r.MotherMaidenName)
	e.str("MotherFirst", r.MotherFirst)
	if len(r.Guardians) > 0 {
		e.key("Guardians")
		e.b = append(e.b, '[')
		for i, g := range r.Guardians {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			o := objectWriter{b: append(e.b, '{')}
			o.str("First", g.First)
			o.str("Last", g.Last)
			e.b = append(o.b, '}')
		}
		e.b = append(e.b, ']')
	}
	e.strs("Phones", r.Phones)
	if len(r.Addresses) > 0 {
		e.key("Addresses")
		e.b = append(e.b, '[')
		for i, a := range r.Addresses {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			o := objectWriter{b: append(e.b, '{')}
			o.str("Street1", a.Street1)
			o.str("Street2", a.Street2)
			o.str("City", a.City)
			o.str("State", a.State)
			o.str("Zip", a.Zip)
			e.b = append(o.b, '}')
		}
		e.b = append(e.b, ']')
	}
	return append(e.b, '}')
}

// objectWriter writes the members of one JSON object, skipping zero values.
type objectWriter struct {
	b    []byte
	more bool
}

func (o *objectWriter) key(k string) {
	if o.more {
		o.b = append(o.b, ',')
	}
	o.more = true
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *objectWriter) str(k, v string) {
	if v != "" {
		o.key(k)
		o.b = appendJSONString(o.b, v)
	}
}

func (o *objectWriter) strs(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	o.key(k)
	o.b = append(o.b, '[')
	for i, v := range vs {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendJSONString(o.b, v)
	}
	o.b = append(o.b, ']')
}

func (o *objectWriter) num(k string, v int64) {
	if v != 0 {
		o.key(k)
		o.b = strconv.AppendInt(o.b, v, 10)
	}
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD (as
// encoding/json does), everything else as is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeMatchRecord decodes a match_record into r (which it resets).
func decodeMatchRecord(data []byte, r *match.Record) error {
	*r = match.Record{}
	d := recordDecoder{s: string(data)}
	if d.record(r) {
		return nil
	}
	*r = match.Record{}
	return json.Unmarshal(data, r)
}

// recordDecoder reads the JSON that encoding/json and appendMatchRecord
// write for a match.Record. Its methods report false on anything else;
// the caller then uses encoding/json. Strings are slices of s (one copy
// of the input for the whole record).
type recordDecoder struct {
	s string
	i int
}

func (d *recordDecoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c,
// consuming it if so.
func (d *recordDecoder) next(c byte) bool {
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// null consumes a JSON null.
func (d *recordDecoder) null() bool {
	d.ws()
	if strings.HasPrefix(d.s[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

// str reads a string without escapes (a string with one is left to
// encoding/json).
func (d *recordDecoder) str() (string, bool) {
	if !d.next('"') {
		return "", false
	}
	start := d.i
	ascii := true
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			v := d.s[start : d.i-1]
			if !ascii && !utf8.ValidString(v) {
				return "", false // encoding/json replaces invalid bytes
			}
			return v, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return "", false
}

// num reads an integer in [min, max].
func (d *recordDecoder) num(lo, hi int64) (int64, bool) {
	d.ws()
	start := d.i
	if d.i < len(d.s) && d.s[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		d.i++
	}
	if d.i-digits > 1 && d.s[digits] == '0' {
		return 0, false // a leading zero is not JSON
	}
	if d.i < len(d.s) && (d.s[d.i] == '.' || d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		return 0, false
	}
	v, err := strconv.ParseInt(d.s[start:d.i], 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, false
	}
	return v, true
}

// object reads a JSON object (or null), calling member for each key.
func (d *recordDecoder) object(member func(key string) bool) bool {
	if d.null() {
		return true
	}
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		k, ok := d.str()
		if !ok || !d.next(':') || !member(k) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// array reads a JSON array (or null), calling elem for each element; it
// reports whether the array was present (not null) through present.
func (d *recordDecoder) array(present *bool, elem func() bool) bool {
	if d.null() {
		return true
	}
	if !d.next('[') {
		return false
	}
	*present = true
	if d.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.next(']') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

func (d *recordDecoder) strField(dst *string) bool {
	if d.null() {
		return true
	}
	s, ok := d.str()
	*dst = s
	return ok
}

func (d *recordDecoder) intField(dst *int) bool {
	if d.null() {
		return true
	}
	v, ok := d.num(math.MinInt, math.MaxInt)
	*dst = int(v)
	return ok
}

func (d *recordDecoder) strings(dst *[]string) bool {
	if d.null() {
		*dst = nil
		return true
	}
	var present bool
	out := (*dst)[:0]
	ok := d.array(&present, func() bool {
		s, ok := d.str()
		out = append(out, s)
		return ok
	})
	if present && out == nil {
		out = []string{}
	}
	if present {
		*dst = out
	}
	return ok
}

func (d *recordDecoder) record(r *match.Record) bool {
	ok := d.object(func(k string) bool {
		switch k {
		case "Identifiers":
			if r.Identifiers != nil {
				return false // a repeated key: encoding/json decodes into the old elements
			}
			var present bool
			if d.null() {
				return true
			}
			ok := d.array(&present, func() bool {
				var id match.Identifier
				ok := d.object(func(k string) bool {
					switch k {
					case "Value":
						return d.strField(&id.Value)
					case "Authority":
						return d.strField(&id.Authority)
					case "Type":
						return d.strField(&id.Type)
					}
					return false
				})
				r.Identifiers = append(r.Identifiers, id)
				return ok
			})
			if present && r.Identifiers == nil {
				r.Identifiers = []match.Identifier{}
			}
			return ok
		case "First":
			return d.strField(&r.First)
		case "Middle":
			return d.strField(&r.Middle)
		case "Last":
			return d.strField(&r.Last)
		case "Suffix":
			return d.strField(&r.Suffix)
		case "Aliases":
			return d.strings(&r.Aliases)
		case "OtherLastNames":
			return d.strings(&r.OtherLastNames)
		case "BirthDate":
			return d.object(func(k string) bool {
				switch k {
				case "Year":
					return d.intField(&r.BirthDate.Year)
				case "Month":
					return d.intField(&r.BirthDate.Month)
				case "Day":
					return d.intField(&r.BirthDate.Day)
				}
				return false
			})
		case "Sex":
			return d.strField(&r.Sex)
		case "MultipleBirth":
			if d.null() {
				return true
			}
			v, ok := d.num(math.MinInt8, math.MaxInt8)
			r.MultipleBirth = match.MultipleBirth(v)
			return ok
		case "BirthOrder":
			return d.intField(&r.BirthOrder)
		case "MotherMaidenName":
			return d.strField(&r.MotherMaidenName)
		case "MotherFirst":
			return d.strField(&r.MotherFirst)
		case "Guardians":
			if r.Guardians != nil {
				return false // a repeated key: encoding/json decodes into the old elements
			}
			var present bool
			if d.null() {
				return true
			}
			ok := d.array(&present, func() bool {
				var g match.PersonName
				ok := d.object(func(k string) bool {
					switch k {
					case "First":
						return d.strField(&g.First)
					case "Last":
						return d.strField(&g.Last)
					}
					return false
				})
				r.Guardians = append(r.Guardians, g)
				return ok
			})
			if present && r.Guardians == nil {
				r.Guardians = []match.PersonName{}
			}
			return ok
		case "Phones":
			return d.strings(&r.Phones)
		case "Addresses":
			if r.Addresses != nil {
				return false // a repeated key: encoding/json decodes into the old elements
			}
			var present bool
			if d.null() {
				return true
			}
			ok := d.array(&present, func() bool {
				var a match.Address
				ok := d.object(func(k string) bool {
					switch k {
					case "Street1":
						return d.strField(&a.Street1)
					case "Street2":
						return d.strField(&a.Street2)
					case "City":
						return d.strField(&a.City)
					case "State":
						return d.strField(&a.State)
					case "Zip":
						return d.strField(&a.Zip)
					}
					return false
				})
				r.Addresses = append(r.Addresses, a)
				return ok
			})
			if present && r.Addresses == nil {
				r.Addresses = []match.Address{}
			}
			return ok
		}
		return false
	})
	d.ws()
	return ok && d.i == len(d.s)
}
