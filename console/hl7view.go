package console

import (
	_ "embed"
	"strconv"
	"strings"

	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/hl7"
)

//go:embed fields.tsv
var fieldsTSV string

// fieldNames maps a segment ID to the names of its fields (index 0 is
// field 1).
var fieldNames = parseFieldNames(fieldsTSV)

func parseFieldNames(tsv string) map[string][]string {
	out := map[string][]string{}
	for line := range strings.Lines(tsv) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		cols := strings.Split(line, "\t")
		out[cols[0]] = cols[1:]
	}
	return out
}

// FieldName returns the HL7 name of field n of segment id ("" if unknown).
func FieldName(id string, n int) string {
	names := fieldNames[id]
	if n < 1 || n > len(names) {
		return ""
	}
	return names[n-1]
}

// SegmentView is one segment, pretty-printed.
type SegmentView struct {
	ID     string
	Raw    string
	Fields []FieldView
}

// FieldView is one non-empty field.
type FieldView struct {
	Position string // RXA-5
	Name     string
	Value    string // as sent (escaped), components separated by ^
}

// Segments pretty-prints an HL7 message: its segments, and for each the
// non-empty fields with their positions and names. A message that does not
// parse is shown line by line.
func Segments(raw []byte) []SegmentView {
	if len(raw) == 0 {
		return nil
	}
	m, err := hl7.Parse(raw)
	if err != nil {
		var out []SegmentView
		for line := range strings.Lines(strings.ReplaceAll(string(raw), "\r", "\n")) {
			if line = strings.TrimRight(line, "\n"); line != "" {
				out = append(out, SegmentView{ID: "?", Raw: line})
			}
		}
		return out
	}
	out := make([]SegmentView, 0, len(m.Segments()))
	for _, s := range m.Segments() {
		v := SegmentView{ID: s.ID(), Raw: string(s.Bytes())}
		for n := 1; n <= s.NumFields(); n++ {
			f := s.Field(n)
			if f.IsEmpty() {
				continue
			}
			v.Fields = append(v.Fields, FieldView{Position: v.ID + "-" + strconv.Itoa(n), Name: FieldName(v.ID, n), Value: string(f.Bytes())})
		}
		out = append(out, v)
	}
	return out
}

// ErrRow is one ERR segment of an ACK, readable.
type ErrRow struct {
	Location     string // RXA-17 (from ERR-2)
	Code         string // HL7 0357
	CodeText     string
	Severity     string // E, W, I
	AppCode      string // CDC 0533
	AppCodeText  string
	UserMessage  string // ERR-8
	Diagnostic   string // ERR-7
	LocationHL7  string // ERR-2 as sent
	SeverityText string
}

// ErrRows reads the ERR segments of an ACK or RSP.
func ErrRows(ack []byte) []ErrRow {
	m, err := hl7.Parse(ack)
	if err != nil {
		return nil
	}
	codes := codeset.Default()
	var out []ErrRow
	for _, s := range m.Segments() {
		if !s.Is("ERR") {
			continue
		}
		loc := s.Field(2)
		e := ErrRow{
			Code: s.Field(3).Comp(1).String(), Severity: s.Field(4).String(), AppCode: s.Field(5).Comp(1).String(),
			UserMessage: s.Field(8).String(), Diagnostic: s.Field(7).String(), LocationHL7: string(loc.Bytes()),
		}
		e.Location = loc.Comp(1).String()
		if f := loc.Comp(3).String(); f != "" {
			e.Location += "-" + f
			if c := loc.Comp(5).String(); c != "" {
				e.Location += "." + c
			}
		}
		if x, ok := codes.ErrorCondition().Lookup(e.Code); ok {
			e.CodeText = x.Display
		}
		if x, ok := codes.ApplicationError().Lookup(e.AppCode); ok {
			e.AppCodeText = x.Display
		}
		switch e.Severity {
		case "E":
			e.SeverityText = "Error"
		case "W":
			e.SeverityText = "Warning"
		case "I":
			e.SeverityText = "Information"
		}
		out = append(out, e)
	}
	return out
}

// ackCode returns MSA-1 of an ACK (or QAK/MSA of an RSP).
func ackCode(reply []byte) string {
	m, err := hl7.Parse(reply)
	if err != nil {
		return "?"
	}
	return m.Get("MSA-1").String()
}
