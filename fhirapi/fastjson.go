package fhirapi

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	apb "github.com/google/fhir/go/proto/google/fhir/proto/annotations_go_proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The export's JSON writer. jsonformat walks each resource by reflection
// into a map of maps and then encodes it (about 21 µs of CPU per
// Immunization, see docs/fhir.md); for the three resource types Bulk
// export writes by the hundred thousand, appendResource writes the same
// FHIR JSON straight into a buffer, from descriptors it examines once per
// message type. It handles what fhirapi's resources hold; anything else
// (a primitive's extensions, contained resources, precisions the resources
// do not use) is errFallback, and the caller uses jsonformat.
// TestFastJSONAgrees checks it against jsonformat on every resource the
// tests make.

var errFallback = errors.New("fhirapi: not handled by the fast JSON writer")

type fieldKind uint8

const (
	kindMessage   fieldKind = iota // an element: an object
	kindString                     // a primitive written as a JSON string of its value
	kindRaw                        // boolean, integer, decimal: the value as is
	kindCode                       // a code as an enum: its FHIR code
	kindDate                       // Date
	kindDateTime                   // DateTime
	kindInstant                    // Instant
	kindReference                  // Reference
	kindChoice                     // a choice type [x]
	kindContained                  // a ContainedResource (a Bundle entry's resource)
	kindFallback                   // something the writer leaves to jsonformat
)

type fieldInfo struct {
	fd   protoreflect.FieldDescriptor
	name string // JSON name, quoted, with the colon
	kind fieldKind
}

// fieldInfos holds, per message type, its fields' infos by field number;
// it is copied on write, so that reads take no lock.
var (
	fieldInfos   atomic.Pointer[map[protoreflect.MessageDescriptor][]*fieldInfo]
	fieldInfosMu sync.Mutex
)

func infoOf(fd protoreflect.FieldDescriptor) *fieldInfo {
	md := fd.ContainingMessage()
	if m := fieldInfos.Load(); m != nil {
		if fields, ok := (*m)[md]; ok {
			return fields[fd.Number()]
		}
	}
	fieldInfosMu.Lock()
	defer fieldInfosMu.Unlock()
	next := map[protoreflect.MessageDescriptor][]*fieldInfo{}
	if m := fieldInfos.Load(); m != nil {
		for k, v := range *m {
			next[k] = v
		}
	}
	var fields []*fieldInfo
	for i := 0; i < md.Fields().Len(); i++ {
		f := md.Fields().Get(i)
		for int(f.Number()) >= len(fields) {
			fields = append(fields, nil)
		}
		fields[f.Number()] = &fieldInfo{fd: f, name: strconv.Quote(f.JSONName()) + ":", kind: kindOf(f)}
	}
	next[md] = fields
	fieldInfos.Store(&next)
	return fields[fd.Number()]
}

func kindOf(f protoreflect.FieldDescriptor) fieldKind {
	md := f.Message()
	if md == nil {
		return kindFallback
	}
	if proto.GetExtension(md.Options(), apb.E_IsChoiceType).(bool) {
		return kindChoice
	}
	switch md.Name() {
	case "Code", "Markdown", "String", "Uri", "Url", "Id", "Canonical", "Oid", "Uuid", "ReferenceId":
		return kindString
	case "Boolean", "Integer", "PositiveInt", "UnsignedInt", "Decimal":
		return kindRaw
	case "Date":
		return kindDate
	case "DateTime":
		return kindDateTime
	case "Instant":
		return kindInstant
	case "Reference":
		return kindReference
	case "ContainedResource":
		return kindContained
	case "Any", "Base64Binary", "Time", "Xhtml":
		return kindFallback
	}
	if proto.HasExtension(md.Options(), apb.E_FhirValuesetUrl) {
		if v := md.Fields().ByName("value"); v != nil && v.Kind() == protoreflect.EnumKind {
			return kindCode
		}
		return kindString
	}
	return kindMessage
}

// appendResource writes a resource as FHIR JSON.
func appendResource(b []byte, m protoreflect.Message) ([]byte, error) {
	b = append(b, `{"resourceType":"`...)
	b = append(b, m.Descriptor().Name()...)
	b = append(b, '"')
	b, err := appendFields(b, m, true)
	return append(b, '}'), err
}

// appendFields writes m's fields that are set, each after a comma when
// comma (or none before the first when it is false).
func appendFields(b []byte, m protoreflect.Message, comma bool) ([]byte, error) {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		fi := infoOf(fd)
		if fi.kind == kindCode && !fd.IsList() && v.Message().Get(fi.fd.Message().Fields().ByName("value")).Enum() == 0 {
			return true // an uninitialized code is left out, as jsonformat does
		}
		if comma {
			b = append(b, ',')
		}
		comma = true
		if fi.kind == kindChoice {
			b, err = appendChoice(b, fd, v.Message())
			return err == nil
		}
		b = append(b, fi.name...)
		if fd.IsList() {
			l := v.List()
			b = append(b, '[')
			for i := 0; i < l.Len() && err == nil; i++ {
				if i > 0 {
					b = append(b, ',')
				}
				b, err = appendValue(b, fi.kind, l.Get(i).Message())
			}
			b = append(b, ']')
			return err == nil
		}
		b, err = appendValue(b, fi.kind, v.Message())
		return err == nil
	})
	return b, err
}

// appendChoice writes a choice type [x] as its name and the type chosen,
// e.g. occurrenceDateTime.
func appendChoice(b []byte, fd protoreflect.FieldDescriptor, m protoreflect.Message) ([]byte, error) {
	od := m.Descriptor().Oneofs().Get(0)
	chosen := m.WhichOneof(od)
	if chosen == nil {
		return b, errFallback
	}
	name := snakeToLowerCamel(string(fd.Name()) + "_" + camelToSnake(chosen.JSONName()))
	b = strconv.AppendQuote(b, name)
	b = append(b, ':')
	return appendValue(b, infoOf(chosen).kind, m.Get(chosen).Message())
}

func appendValue(b []byte, kind fieldKind, m protoreflect.Message) ([]byte, error) {
	if kind != kindMessage && kind != kindReference && kind != kindChoice && kind != kindContained {
		// A primitive's id or extensions are written as "_name": leave
		// those to jsonformat.
		if f := m.Descriptor().Fields().ByName("extension"); f != nil && m.Has(f) {
			return b, errFallback
		}
		if f := m.Descriptor().Fields().ByName("id"); f != nil && m.Has(f) && kind != kindString {
			return b, errFallback
		}
	}
	value := func() protoreflect.Value { return m.Get(m.Descriptor().Fields().ByName("value")) }
	switch kind {
	case kindMessage:
		b = append(b, '{')
		b, err := appendFields(b, m, false)
		return append(b, '}'), err
	case kindString:
		if f := m.Descriptor().Fields().ByName("id"); f != nil && m.Has(f) && m.Descriptor().Name() != "ReferenceId" {
			return b, errFallback
		}
		return appendString(b, value().String()), nil
	case kindRaw:
		switch v := value().Interface().(type) {
		case bool:
			return strconv.AppendBool(b, v), nil
		case int32:
			return strconv.AppendInt(b, int64(v), 10), nil
		case uint32:
			return strconv.AppendUint(b, uint64(v), 10), nil
		case string: // decimal
			return append(b, v...), nil
		}
		return b, errFallback
	case kindCode:
		return appendCode(b, m)
	case kindDate, kindDateTime, kindInstant:
		return appendTime(b, m)
	case kindReference:
		return appendReference(b, m)
	case kindContained:
		chosen := m.WhichOneof(m.Descriptor().Oneofs().Get(0))
		if chosen == nil {
			return b, errFallback
		}
		return appendResource(b, m.Get(chosen).Message())
	}
	return b, errFallback
}

// appendCode writes a code held as an enum: the FHIR code the value names.
func appendCode(b []byte, m protoreflect.Message) ([]byte, error) {
	f := m.Descriptor().Fields().ByName("value")
	ev := f.Enum().Values().ByNumber(m.Get(f).Enum())
	if ev == nil {
		return b, errFallback
	}
	if orig := proto.GetExtension(ev.Options(), apb.E_FhirOriginalCode).(string); orig != "" {
		return appendString(b, orig), nil
	}
	return appendString(b, strings.ReplaceAll(strings.ToLower(string(ev.Name())), "_", "-")), nil
}

// appendTime writes a Date, DateTime or Instant of day or second
// precision, in its time zone.
func appendTime(b []byte, m protoreflect.Message) ([]byte, error) {
	fs := m.Descriptor().Fields()
	us := m.Get(fs.ByName("value_us")).Int()
	tz := m.Get(fs.ByName("timezone")).String()
	prec := fs.ByName("precision")
	pname := prec.Enum().Values().ByNumber(m.Get(prec).Enum())
	if pname == nil {
		return b, errFallback
	}
	var loc *time.Location
	switch {
	case tz == "Z" || tz == "UTC":
		loc = time.UTC
	default:
		return b, errFallback
	}
	t := time.UnixMicro(us).In(loc)
	b = append(b, '"')
	switch pname.Name() {
	case "DAY":
		b = t.AppendFormat(b, time.DateOnly)
	case "SECOND":
		if tz == "Z" {
			b = t.AppendFormat(b, "2006-01-02T15:04:05Z")
		} else {
			b = t.AppendFormat(b, "2006-01-02T15:04:05-07:00")
		}
	default:
		return b, errFallback
	}
	return append(b, '"'), nil
}

// appendReference writes a Reference: a typed id as "Type/id".
func appendReference(b []byte, m protoreflect.Message) ([]byte, error) {
	b = append(b, '{')
	comma := false
	if od := m.Descriptor().Oneofs().ByName("reference"); od != nil {
		if chosen := m.WhichOneof(od); chosen != nil {
			name := string(chosen.Name())
			ref := m.Get(chosen).Message()
			id := ref.Get(ref.Descriptor().Fields().ByName("value")).String()
			if h := ref.Descriptor().Fields().ByName("history"); h != nil && ref.Has(h) {
				return b, errFallback
			}
			switch {
			case name == "uri":
			case strings.HasSuffix(name, "_id") && name != "resource_id":
				id = snakeToCamel(strings.TrimSuffix(name, "_id")) + "/" + id
			default:
				return b, errFallback
			}
			b = append(b, `"reference":`...)
			b = appendString(b, id)
			comma = true
		}
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.ContainingOneof() != nil {
			return true
		}
		if comma {
			b = append(b, ',')
		}
		comma = true
		fi := infoOf(fd)
		b = append(b, fi.name...)
		if fd.IsList() {
			err = errFallback // a Reference's extensions
			return false
		}
		b, err = appendValue(b, fi.kind, v.Message())
		return err == nil
	})
	return append(b, '}'), err
}

// appendString writes s as a JSON string, escaped as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
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
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, "0123456789abcdef"[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func camelToSnake(s string) string {
	var out []rune
	for _, c := range s {
		if !unicode.IsLower(c) {
			if len(out) > 0 {
				out = append(out, '_')
			}
		}
		out = append(out, unicode.ToLower(c))
	}
	return string(out)
}

func snakeToCamel(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func snakeToLowerCamel(s string) string {
	c := snakeToCamel(s)
	if c == "" {
		return c
	}
	return strings.ToLower(c[:1]) + c[1:]
}

// marshalFast writes a resource with appendResource, or with jsonformat
// when appendResource leaves it.
func (s *Server) marshalFast(m proto.Message) ([]byte, error) {
	b, err := appendResource(make([]byte, 0, 1024), m.ProtoReflect())
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, errFallback) {
		return nil, err
	}
	return s.json.MarshalResource(m)
}
