package quality

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/iisproject/iis/hl7/immz"
)

// Entry is one ERR row of a stored message's ACK, as kept in the message
// store (immz.Summary): severity, HL7 table 0357 code, CDC table 0533
// code, position, and the MQE detection code when the validator gave one:
// "W:103:5:RXA-17" or "W:103:5:RXA-17:MQE0087".
type Entry struct {
	Severity string // E, W or I
	Code     int    // HL7 0357
	AppCode  int    // CDC 0533; 0 if none
	Position string // RXA-17, RXA-5.1, MSH; may be ""
	MQE      string // MQE0087; "" if none
}

// ParseEntry reads one stored entry. Four or five colon-separated parts;
// anything else is an error.
func ParseEntry(s string) (Entry, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 && len(parts) != 5 {
		return Entry{}, fmt.Errorf("quality: ERR entry %q: want severity:code:app code:position[:MQE code]", s)
	}
	e := Entry{Severity: parts[0], Position: parts[3]}
	if e.Severity != "E" && e.Severity != "W" && e.Severity != "I" {
		return Entry{}, fmt.Errorf("quality: ERR entry %q: severity %q is not E, W or I", s, parts[0])
	}
	var err error
	if e.Code, err = strconv.Atoi(parts[1]); err != nil || e.Code < 0 {
		return Entry{}, fmt.Errorf("quality: ERR entry %q: HL7 0357 code %q is not a number", s, parts[1])
	}
	if e.AppCode, err = strconv.Atoi(parts[2]); err != nil || e.AppCode < 0 {
		return Entry{}, fmt.Errorf("quality: ERR entry %q: CDC 0533 code %q is not a number", s, parts[2])
	}
	if !validPosition(e.Position) {
		return Entry{}, fmt.Errorf("quality: ERR entry %q: position %q is not SEG or SEG-n[.n]", s, e.Position)
	}
	if len(parts) == 5 {
		e.MQE = parts[4]
		if !validMQE(e.MQE) {
			return Entry{}, fmt.Errorf("quality: ERR entry %q: %q is not an MQE code (MQE and four digits)", s, e.MQE)
		}
	}
	return e, nil
}

func validPosition(p string) bool {
	if p == "" {
		return true
	}
	seg, rest, hasField := strings.Cut(p, "-")
	if len(seg) != 3 {
		return false
	}
	for _, c := range seg {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	if !hasField {
		return true
	}
	for _, n := range strings.Split(rest, ".") {
		if v, err := strconv.Atoi(n); err != nil || v <= 0 || v > 999 {
			return false
		}
	}
	return len(strings.Split(rest, ".")) <= 3
}

func validMQE(c string) bool {
	if len(c) != 7 || !strings.HasPrefix(c, "MQE") {
		return false
	}
	_, err := strconv.Atoi(c[3:])
	return err == nil
}

// Detection is what the reports group an entry under: the MQE code when
// there is one (its positions are that detection's fields), else HL7 code,
// CDC code and position ("103:5:RXA-17").
func (e Entry) Detection() string {
	if e.MQE != "" {
		return e.MQE
	}
	return strconv.Itoa(e.Code) + ":" + strconv.Itoa(e.AppCode) + ":" + e.Position
}

// hl7Conditions are HL7 table 0357's message error condition codes.
var hl7Conditions = map[int]string{
	0: "Message accepted", 100: "Segment sequence error", 101: "Required field missing", 102: "Data type error",
	103: "Table value not found", 200: "Unsupported message type", 201: "Unsupported event code",
	202: "Unsupported processing id", 203: "Unsupported version id", 204: "Unknown key identifier",
	205: "Duplicate key identifier", 206: "Application record locked", 207: "Application internal error",
	999: "Application error",
}

// cdcErrors are CDC table 0533's application error codes.
var cdcErrors = map[int]string{
	1: "illogical date", 2: "invalid date", 3: "illogical value", 4: "invalid value",
	5: "table value not found", 6: "required observation missing", 7: "required data missing", 8: "data was ignored",
}

// DescribeDetection says what a detection key means, for people: the MQE
// detection's name in words, or the HL7 condition, the CDC error and the
// position.
func DescribeDetection(key string) string {
	if validMQE(key) {
		if d, ok := immz.LookupDetection(key); ok {
			return words(d.Name)
		}
		return "MQE detection " + key
	}
	parts := strings.SplitN(key, ":", 3)
	if len(parts) != 3 {
		return key
	}
	code, _ := strconv.Atoi(parts[0])
	app, _ := strconv.Atoi(parts[1])
	d := hl7Conditions[code]
	if d == "" {
		d = "HL7 error " + parts[0]
	}
	if a := cdcErrors[app]; a != "" && !strings.EqualFold(a, d) {
		d += ": " + a
	}
	if parts[2] != "" {
		d += " at " + parts[2]
	}
	return d
}

// words turns an MQE detection name (VaccinationAdminDateIsBeforeBirth)
// into words (Vaccination admin date is before birth).
func words(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte(' ')
		}
		if i > 0 && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]) {
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
