package entry

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
)

// Verdict is what the registry answered an entry: MSA-1 and its ERR rows
// as messages beside the form's fields.
type Verdict struct {
	Code     string   // AA, AE, AR
	Errors   Problems // severity E, by form field
	Warnings Problems // severity W and I: the entry was taken, a value was not
}

// Accepted reports whether the entry was taken (AA).
func (v Verdict) Accepted() bool { return v.Code == "AA" }

// ReadAck reads the ACK of an entry whose dose (nil for a patient
// registration) was v: each ERR goes to the form field its ERR-2 names.
func ReadAck(ack []byte, v *iis.Vaccination) (Verdict, error) {
	m, err := hl7.Parse(ack)
	if err != nil {
		return Verdict{}, fmt.Errorf("entry: reading the ACK: %w", err)
	}
	out := Verdict{Code: m.Get("MSA-1").String(), Errors: Problems{}, Warnings: Problems{}}
	obx := obxFields(v)
	for _, s := range m.Segments() {
		if !s.Is("ERR") {
			continue
		}
		loc := s.Field(2)
		seq, _ := strconv.Atoi(loc.Comp(2).String())
		field, _ := strconv.Atoi(loc.Comp(3).String())
		comp, _ := strconv.Atoi(loc.Comp(5).String())
		name := FieldOf(loc.Comp(1).String(), seq, field, comp, obx)
		if name == "" && loc.Comp(1).String() == "RXA" && field == 0 && s.Field(5).Comp(1).String() == appRequiredObservation {
			// The one observation an administered dose must have.
			name = fEligibility
		}
		if s.Field(4).String() != "E" && immz.ValueKept(s.Field(5).Comp(4).String()) {
			continue // a data quality note: the value was kept
		}
		msg := personal(s.Field(8).String())
		if msg == "" {
			msg = "The registry could not take this entry (error " + s.Field(3).Comp(1).String() + ")."
		}
		if s.Field(4).String() == "E" {
			out.Errors.add(name, msg)
		} else {
			out.Warnings.add(name, msg)
		}
	}
	if out.Code != "AA" && len(out.Errors) == 0 {
		out.Errors.add("", "The registry did not take this entry (answer "+out.Code+"); please try again.")
	}
	return out, nil
}

// appRequiredObservation is CDC table 0533's "required observation
// missing" (ERR-5), raised at the RXA of an administered dose reported
// without its funding eligibility (OBX 64994-7).
const appRequiredObservation = "6"

// hl7Position is the "RXA-3 " or "PID-5.1 " an ERR-8 sentence starts
// with: the people reading it beside the field need no segment names.
var hl7Position = regexp.MustCompile(`^[A-Z][A-Z0-9]{2}-[0-9]+(\.[0-9]+)? `)

func personal(msg string) string {
	msg = hl7Position.ReplaceAllString(msg, "")
	if msg != "" && msg[0] >= 'a' && msg[0] <= 'z' {
		msg = string(msg[0]-'a'+'A') + msg[1:]
	}
	return msg
}

// obxFields names the form field of each OBX an entry's VXU carries, in
// the order writeOBX writes them.
func obxFields(v *iis.Vaccination) []string {
	if v == nil {
		return nil
	}
	var out []string
	if !v.FundingEligibility.IsZero() {
		out = append(out, fEligibility)
	}
	if !v.FundingSource.IsZero() {
		out = append(out, fFundingSource)
	}
	for _, x := range v.VIS {
		if !x.Document.IsZero() {
			out = append(out, fVISDoc)
		}
		if !x.Presented.IsZero() {
			out = append(out, fVISDate)
		}
	}
	return out
}

// FieldOf is the form field an ERR-2 location (segment, its sequence,
// field, component) names; obx names the entry's OBX in order. "" is the
// entry as a whole (MSH, a segment as a whole, a field the form does not
// have).
func FieldOf(segment string, seq, field, comp int, obx []string) string {
	switch segment {
	case "PID":
		return pidField(field, comp)
	case "NK1":
		switch field {
		case 3:
			return fGuardianRel
		case 2:
			if comp == 2 {
				return fGuardianGiven
			}
		}
		return fGuardianFamily
	case "RXA":
		return rxaField(field)
	case "RXR":
		switch field {
		case 1:
			return fRoute
		case 2:
			return fSite
		}
	case "OBX":
		if seq >= 1 && seq <= len(obx) {
			return obx[seq-1]
		}
	}
	return ""
}

func pidField(field, comp int) string {
	switch field {
	case 3:
		return fMRN
	case 5:
		if comp == 2 {
			return fGiven
		}
		if comp == 3 {
			return fMiddle
		}
		return fFamily
	case 6:
		if comp == 2 {
			return fMotherGiven
		}
		return fMotherFamily
	case 7:
		return fBirthDate
	case 8:
		return fSex
	case 15:
		return fLanguage
	case 11:
		switch comp {
		case 3:
			return fCity
		case 4:
			return fState
		case 5:
			return fZip
		}
		return fStreet
	case 13:
		return fPhone
	case 24, 25:
		return fBirthOrder
	}
	return ""
}

func rxaField(field int) string {
	switch field {
	case 3:
		return fDate
	case 5:
		return fCVX
	case 6:
		return fAmount
	case 7:
		return fUnits
	case 9:
		return fSource
	case 10:
		return fClinicianID
	case 15:
		return fLot
	case 16:
		return fExpiration
	case 17:
		return fMVX
	}
	return ""
}
