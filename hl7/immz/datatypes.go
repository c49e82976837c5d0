package immz

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/hl7"
)

// Readers for the HL7 data types the immunization profile uses. Each takes
// a field (or one repetition of it) and returns the domain value, with text
// unescaped and surrounding spaces trimmed.

func text(v hl7.Value) string {
	if v.IsEmpty() || v.IsNull() {
		return ""
	}
	if b := v.Bytes(); len(b) <= maxInterned {
		if s, ok := interned()[string(b)]; ok {
			return s
		}
	}
	return strings.TrimSpace(v.String())
}

// maxInterned is the longest value looked up in the interned strings.
const maxInterned = 12

// interned maps the short values that recur in every message — the codes
// of the code tables and the coding-system names — to one shared string,
// so decoding them does not allocate. It is built once and never changes.
var interned = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	set := codeset.Default()
	for _, name := range set.Names() {
		for e := range set.Table(name).All() {
			if len(e.Code) <= maxInterned {
				m[e.Code] = e.Code
			}
		}
		if len(name) <= maxInterned {
			m[name] = name
		}
	}
	for _, s := range []string{"CVX", "MVX", "NDC", "CPT", "LN", "UCUM", "NIP001", "NIP002", "NCIT", "CDCREC", "CDCPHINVS", "mL", "999", "0.5", "1", "2", "3", "4", "5", "F", "L", "A", "M", "MR", "PRN", "PH", "USA"} {
		m[s] = s
	}
	return m
})

// readCode reads CE/CWE: code^text^system^altcode^alttext^altsystem.
func readCode(v hl7.Value) iis.Code {
	if v.IsEmpty() {
		return iis.Code{}
	}
	var c [6]hl7.Value
	v.SplitComps(c[:])
	return iis.Code{
		Code: text(c[0]), Text: text(c[1]), System: text(c[2]),
		AltCode: text(c[3]), AltText: text(c[4]), AltSystem: text(c[5]),
	}
}

// readCX reads CX (id^check^scheme^authority^type) and EI (id^namespace^…).
func readCX(v hl7.Value) iis.Identifier {
	var c [5]hl7.Value
	v.SplitComps(c[:])
	return iis.Identifier{Value: text(c[0]), Authority: text(c[3].Sub(1)), Type: text(c[4])}
}

func readEI(v hl7.Value) iis.Identifier {
	return iis.Identifier{Value: text(v.Comp(1)), Authority: text(v.Comp(2))}
}

// readXPN reads XPN: family^given^middle^suffix^prefix^degree^type.
func readXPN(v hl7.Value) iis.Name {
	if v.IsEmpty() {
		return iis.Name{}
	}
	var c [7]hl7.Value
	v.SplitComps(c[:])
	return iis.Name{
		Family: text(c[0].Sub(1)), Given: text(c[1]), Middle: text(c[2]),
		Suffix: text(c[3]), Prefix: text(c[4]), Type: text(c[6]),
	}
}

// readXAD reads XAD: street^other^city^state^zip^country^type^…^county.
func readXAD(v hl7.Value) iis.Address {
	if v.IsEmpty() {
		return iis.Address{}
	}
	var c [9]hl7.Value
	v.SplitComps(c[:])
	return iis.Address{
		Street: text(c[0].Sub(1)), Other: text(c[1]), City: text(c[2]),
		State: text(c[3]), Zip: text(c[4]), Country: text(c[5]),
		Type: text(c[6]), County: text(c[8]),
	}
}

// readXTN reads XTN: text^use^equipment^email^country^area^local^ext.
func readXTN(v hl7.Value) iis.Phone {
	if v.IsEmpty() {
		return iis.Phone{}
	}
	var c [8]hl7.Value
	v.SplitComps(c[:])
	return iis.Phone{
		UnformattedText: text(c[0]), Use: text(c[1]), Equipment: text(c[2]),
		Email: text(c[3]), Country: text(c[4]), Area: text(c[5]),
		Local: text(c[6]), Extension: text(c[7]),
	}
}

// readXCN reads XCN: id^family^given^…^authority(9).
func readXCN(v hl7.Value) iis.Provider {
	if v.IsEmpty() {
		return iis.Provider{}
	}
	var c [9]hl7.Value
	v.SplitComps(c[:])
	return iis.Provider{ID: text(c[0]), Family: text(c[1].Sub(1)), Given: text(c[2]), Authority: text(c[8].Sub(1))}
}

// readHD reads HD: namespace^universal id^type.
func readHD(v hl7.Value) iis.Organization {
	if v.IsEmpty() {
		return iis.Organization{}
	}
	var c [3]hl7.Value
	v.SplitComps(c[:])
	return iis.Organization{Name: text(c[0]), ID: text(c[1]), IDType: text(c[2])}
}

// readXON reads XON: name^…^id(10), with the assigning authority in 6.
func readXON(v hl7.Value) iis.Organization {
	o := iis.Organization{Name: text(v.Comp(1)), ID: text(v.Comp(10)), Authority: text(v.Comp(6).Sub(1))}
	if o.ID == "" {
		o.ID = text(v.Comp(3))
	}
	return o
}

// Date precisions of an HL7 DTM/DT/TS value.
const (
	precNone = iota
	precYear
	precMonth
	precDay
	precTime
)

var errDate = errors.New("not a valid HL7 date (YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ])")

// parseDTM parses an HL7 DTM (also DT and TS component 1):
// YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]. The result is the
// calendar date at UTC midnight, which is what immunization rules compare;
// the time of day is validated but dropped. prec says how much was given.
func parseDTM(s string) (time.Time, int, error) {
	if s == "" {
		return time.Time{}, precNone, nil
	}
	// Time zone offset.
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		tz := s[i+1:]
		if len(tz) != 4 || !digits(tz) || atoi(tz[:2]) > 14 || atoi(tz[2:]) > 59 {
			return time.Time{}, precNone, errDate
		}
		s = s[:i]
	}
	// Fractional seconds.
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac := s[i+1:]
		if len(s[:i]) != 14 || len(frac) == 0 || len(frac) > 4 || !digits(frac) {
			return time.Time{}, precNone, errDate
		}
		s = s[:i]
	}
	if !digits(s) {
		return time.Time{}, precNone, errDate
	}
	y, mo, d := 0, 1, 1
	prec := precNone
	switch len(s) {
	case 4:
		y, prec = atoi(s), precYear
	case 6:
		y, mo, prec = atoi(s[:4]), atoi(s[4:6]), precMonth
	case 8, 10, 12, 14:
		y, mo, d, prec = atoi(s[:4]), atoi(s[4:6]), atoi(s[6:8]), precDay
		if len(s) > 8 {
			prec = precTime
			hh, mm, ss := atoi(s[8:10]), 0, 0
			if len(s) >= 12 {
				mm = atoi(s[10:12])
			}
			if len(s) == 14 {
				ss = atoi(s[12:14])
			}
			if hh > 23 || mm > 59 || ss > 60 {
				return time.Time{}, precNone, errDate
			}
		}
	default:
		return time.Time{}, precNone, errDate
	}
	if y < 1800 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, precNone, errDate
	}
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // 20230231 and the like
		return time.Time{}, precNone, errDate
	}
	return t, prec, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
