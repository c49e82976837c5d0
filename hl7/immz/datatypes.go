package immz

import (
	"errors"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
)

// Readers for the HL7 data types the immunization profile uses. Each takes
// a field (or one repetition of it) and returns the domain value, with text
// unescaped and surrounding spaces trimmed.

func text(v hl7.Value) string {
	if v.IsNull() {
		return ""
	}
	return strings.TrimSpace(v.String())
}

// readCode reads CE/CWE: code^text^system^altcode^alttext^altsystem.
func readCode(v hl7.Value) iis.Code {
	return iis.Code{
		Code: text(v.Comp(1)), Text: text(v.Comp(2)), System: text(v.Comp(3)),
		AltCode: text(v.Comp(4)), AltText: text(v.Comp(5)), AltSystem: text(v.Comp(6)),
	}
}

// readCX reads CX (id^check^scheme^authority^type) and EI (id^namespace^…).
func readCX(v hl7.Value) iis.Identifier {
	return iis.Identifier{Value: text(v.Comp(1)), Authority: text(v.Comp(4).Sub(1)), Type: text(v.Comp(5))}
}

func readEI(v hl7.Value) iis.Identifier {
	return iis.Identifier{Value: text(v.Comp(1)), Authority: text(v.Comp(2))}
}

// readXPN reads XPN: family^given^middle^suffix^prefix^degree^type.
func readXPN(v hl7.Value) iis.Name {
	return iis.Name{
		Family: text(v.Comp(1).Sub(1)), Given: text(v.Comp(2)), Middle: text(v.Comp(3)),
		Suffix: text(v.Comp(4)), Prefix: text(v.Comp(5)), Type: text(v.Comp(7)),
	}
}

// readXAD reads XAD: street^other^city^state^zip^country^type^…^county.
func readXAD(v hl7.Value) iis.Address {
	return iis.Address{
		Street: text(v.Comp(1).Sub(1)), Other: text(v.Comp(2)), City: text(v.Comp(3)),
		State: text(v.Comp(4)), Zip: text(v.Comp(5)), Country: text(v.Comp(6)),
		Type: text(v.Comp(7)), County: text(v.Comp(9)),
	}
}

// readXTN reads XTN: text^use^equipment^email^country^area^local^ext.
func readXTN(v hl7.Value) iis.Phone {
	return iis.Phone{
		UnformattedText: text(v.Comp(1)), Use: text(v.Comp(2)), Equipment: text(v.Comp(3)),
		Email: text(v.Comp(4)), Country: text(v.Comp(5)), Area: text(v.Comp(6)),
		Local: text(v.Comp(7)), Extension: text(v.Comp(8)),
	}
}

// readXCN reads XCN: id^family^given^…^authority(9).
func readXCN(v hl7.Value) iis.Provider {
	return iis.Provider{ID: text(v.Comp(1)), Family: text(v.Comp(2).Sub(1)), Given: text(v.Comp(3)), Authority: text(v.Comp(9).Sub(1))}
}

// readHD reads HD: namespace^universal id^type.
func readHD(v hl7.Value) iis.Organization {
	return iis.Organization{Name: text(v.Comp(1)), ID: text(v.Comp(2)), IDType: text(v.Comp(3))}
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
