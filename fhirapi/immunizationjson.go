package fhirapi

import (
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/registry"
)

// appendImmunization writes toImmunization(id, patientID, v) as JSON
// straight from the record, as the forecast's answers are written
// (forecastjson.go): an export writes millions of them, and through the
// protos most of its CPU went to protobuf reflection and the GC.
// TestImmunizationJSONAgrees requires the same JSON as the protos'.
func appendImmunization(b []byte, id, patientID int64, v *iis.Vaccination) []byte {
	b = append(b, `{"resourceType":"Immunization","id":"`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, '"')
	if v.FillerOrder.Value != "" {
		b = append(b, `,"identifier":[{`...)
		if sys := identifierSystem(v.FillerOrder.Authority); sys != "" {
			b = append(b, `"system":`...)
			b = appendString(b, sys)
			b = append(b, ',')
		}
		b = append(b, `"value":`...)
		b = appendString(b, v.FillerOrder.Value)
		b = append(b, "}]"...)
	}
	b = appendStatus(b, v)
	b = append(b, `,"vaccineCode":`...)
	b = appendVaccineCode(b, v)
	b = append(b, `,"patient":{"reference":"Patient/`...)
	b = strconv.AppendInt(b, patientID, 10)
	b = append(b, `"}`...)
	if !v.AdministeredAt.IsZero() {
		b = append(b, `,"occurrenceDateTime":`...)
		b = appendTimeDay(b, v.AdministeredAt)
	}
	if !v.SystemEntry.IsZero() {
		b = append(b, `,"recorded":`...)
		b = appendTimeDay(b, v.SystemEntry)
	}
	b = append(b, `,"primarySource":`...)
	b = strconv.AppendBool(b, !v.Historical)
	if v.Historical && !v.InformationSource.IsZero() {
		b = appendField(b, "reportOrigin", withSystem(v.InformationSource, "NIP001"))
	}
	b = appendAdministration(b, v)
	if cs := strings.ToUpper(v.CompletionStatus); cs == "PA" && !notDone(cs, v) {
		b = append(b, `,"isSubpotent":true`...)
	}
	b = appendEducation(b, v.VIS)
	if c := withSystem(v.FundingEligibility, "HL70064"); !c.IsZero() || c.Text != "" {
		b = append(b, `,"programEligibility":[`...)
		b = appendConceptOf(b, c)
		b = append(b, ']')
	}
	b = appendField(b, "fundingSource", withSystem(v.FundingSource, "PHVS_ImmunizationFundingSource_IIS"))
	return append(b, '}')
}

// notDone is whether status() makes the dose not-done.
func notDone(cs string, v *iis.Vaccination) bool {
	return cs == "RE" || cs == "NA" || v.CVX == codeset.CVXNoVaccineAdministered
}

// appendStatus writes status and statusReason as status() sets them.
func appendStatus(b []byte, v *iis.Vaccination) []byte {
	cs := strings.ToUpper(v.CompletionStatus)
	if !notDone(cs, v) {
		return append(b, `,"status":"completed"`...)
	}
	b = append(b, `,"status":"not-done","statusReason":{`...)
	n := 0
	switch {
	case cs == "RE":
		b = append(b, `"coding":[{"system":"`+actReason+`","code":"PATOBJ","display":"patient objection"}`...)
		n++
	case v.CVX == codeset.CVXNoVaccineAdministered && len(v.Immunity) > 0:
		b = append(b, `"coding":[{"system":"`+actReason+`","code":"IMMUNE","display":"immunity"}`...)
		n++
	}
	text := ""
	for _, r := range v.RefusalReasons {
		c := withSystem(r, "NIP002")
		if c.IsZero() {
			if text == "" {
				text = c.Text
			}
			continue
		}
		for _, cd := range codings(c) {
			if n == 0 {
				b = append(b, `"coding":[`...)
			} else {
				b = append(b, ',')
			}
			n++
			b = appendCoding(b, cd[0], cd[1], cd[2])
		}
	}
	if n > 0 {
		b = append(b, ']')
	}
	if n == 0 && text == "" {
		text = "no vaccine administered"
		if cs == "NA" {
			text = "not administered"
		}
	}
	if text != "" {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, `"text":`...)
		b = appendString(b, text)
	}
	return append(b, '}')
}

// codings are the (system, code, display) of concept(c)'s codings.
func codings(c iis.Code) [][3]string {
	var out [][3]string
	if c.Code != "" {
		out = append(out, [3]string{systemURI(c.System), c.Code, c.Text})
	}
	if c.AltCode != "" {
		out = append(out, [3]string{systemURI(c.AltSystem), c.AltCode, c.AltText})
	}
	return out
}

// appendCoding0 writes coding(system, code, display): system and display
// only when not empty.
func appendCoding0(b []byte, system, code, display string) []byte {
	b = append(b, '{')
	if system != "" {
		b = append(b, `"system":`...)
		b = appendString(b, system)
		b = append(b, ',')
	}
	b = append(b, `"code":`...)
	b = appendString(b, code)
	if display != "" {
		b = append(b, `,"display":`...)
		b = appendString(b, display)
	}
	return append(b, '}')
}

// appendConceptOf writes concept(c), which must not be nil.
func appendConceptOf(b []byte, c iis.Code) []byte {
	if c.IsZero() {
		b = append(b, `{"text":`...)
		b = appendString(b, c.Text)
		return append(b, '}')
	}
	b = append(b, `{"coding":[`...)
	for i, cd := range codings(c) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCoding0(b, cd[0], cd[1], cd[2])
	}
	return append(b, "]}"...)
}

// appendField writes ,"name":concept(c) unless concept(c) is nil.
func appendField(b []byte, name string, c iis.Code) []byte {
	if c.IsZero() && c.Text == "" {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendConceptOf(b, c)
}

// appendVaccineCode writes vaccineCode(v).
func appendVaccineCode(b []byte, v *iis.Vaccination) []byte {
	n := 0
	for _, cd := range [...][3]string{{codeSystems["CVX"], v.CVX, v.Vaccine.Text}, {codeSystems["NDC"], v.NDC, ""}, {codeSystems["CPT"], v.CPT, ""}} {
		if cd[1] == "" {
			continue
		}
		if n == 0 {
			b = append(b, `{"coding":[`...)
		} else {
			b = append(b, ',')
		}
		n++
		b = appendCoding0(b, cd[0], cd[1], cd[2])
	}
	if n > 0 {
		return append(b, "]}"...)
	}
	if !v.Vaccine.IsZero() || v.Vaccine.Text != "" {
		return appendConceptOf(b, v.Vaccine)
	}
	return append(b, `{"text":"unknown vaccine"}`...)
}

// appendAdministration writes what administration() sets.
func appendAdministration(b []byte, v *iis.Vaccination) []byte {
	if v.Manufacturer.Code != "" {
		b = append(b, `,"manufacturer":{"identifier":{"system":`...)
		b = appendString(b, codeSystems["MVX"])
		b = append(b, `,"value":`...)
		b = appendString(b, v.Manufacturer.Code)
		b = append(b, '}')
		if v.Manufacturer.Text != "" {
			b = append(b, `,"display":`...)
			b = appendString(b, v.Manufacturer.Text)
		}
		b = append(b, '}')
	}
	if len(v.Lots) > 0 && v.Lots[0] != "" {
		b = append(b, `,"lotNumber":`...)
		b = appendString(b, v.Lots[0])
	}
	if !v.Expiration.IsZero() {
		b = append(b, `,"expirationDate":`...)
		b = appendTimeDay(b, v.Expiration)
	}
	b = appendField(b, "site", withSystem(v.Site, "HL70163"))
	b = appendField(b, "route", withSystem(v.Route, "HL70162"))
	if amount, err := strconv.ParseFloat(v.Amount, 64); err == nil && v.Amount != "999" && amount > 0 {
		b = append(b, `,"doseQuantity":{"value":`...)
		b = append(b, strings.TrimSpace(v.Amount)...)
		if v.Units.Code != "" {
			b = append(b, `,"unit":`...)
			b = appendString(b, orText(v.Units))
			b = append(b, `,"system":`...)
			b = appendString(b, codeSystems["UCUM"])
			b = append(b, `,"code":`...)
			b = appendString(b, v.Units.Code)
		}
		b = append(b, '}')
	}
	return appendPerformers(b, v)
}

// appendPerformers writes the administering and ordering providers and
// the facility.
func appendPerformers(b []byte, v *iis.Vaccination) []byte {
	n := 0
	next := func() {
		if n == 0 {
			b = append(b, `,"performer":[`...)
		} else {
			b = append(b, ',')
		}
		n++
	}
	for _, p := range [...]struct {
		who      iis.Provider
		function string
	}{{v.AdministeredBy, `{"function":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0443","code":"AP","display":"Administering Provider"}]},"actor":`},
		{v.OrderedBy, `{"function":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0443","code":"OP","display":"Ordering Provider"}]},"actor":`}} {
		name := strings.TrimSpace(p.who.Given + " " + p.who.Family)
		if p.who.ID == "" && name == "" {
			continue
		}
		next()
		b = append(b, p.function...)
		b = appendActor(b, identifierSystem(p.who.Authority), p.who.ID, name)
		b = append(b, '}')
	}
	if v.Facility.Name != "" || v.Facility.ID != "" {
		next()
		b = append(b, `{"actor":`...)
		b = appendActor(b, "", v.Facility.ID, v.Facility.Name)
		b = append(b, '}')
	}
	if n > 0 {
		b = append(b, ']')
	}
	return b
}

// appendActor writes a Reference by identifier (when id is not empty)
// and display (when name is not).
func appendActor(b []byte, system, id, name string) []byte {
	b = append(b, '{')
	if id != "" {
		b = append(b, `"identifier":{`...)
		if system != "" {
			b = append(b, `"system":`...)
			b = appendString(b, system)
			b = append(b, ',')
		}
		b = append(b, `"value":`...)
		b = appendString(b, id)
		b = append(b, '}')
		if name != "" {
			b = append(b, ',')
		}
	}
	if name != "" {
		b = append(b, `"display":`...)
		b = appendString(b, name)
	}
	return append(b, '}')
}

// appendEducation writes the VIS as education() maps them.
func appendEducation(b []byte, vis []iis.VIS) []byte {
	n := 0
	for _, v := range vis {
		var doc string
		switch {
		case v.Document.Code != "":
			doc = v.Document.Code
		case v.VaccineType.Code != "":
			doc = strings.TrimSpace(orDefault(v.VaccineType.System, "CVX") + " " + v.VaccineType.Code)
		default:
			continue
		}
		if n == 0 {
			b = append(b, `,"education":[`...)
		} else {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"documentType":`...)
		b = appendString(b, doc)
		b = appendDay0(b, "publicationDate", v.Published)
		b = appendDay0(b, "presentationDate", v.Presented)
		b = append(b, '}')
	}
	if n > 0 {
		b = append(b, ']')
	}
	return b
}

// appendDay0 writes ,"name":"YYYY-MM-DD" unless t is zero.
func appendDay0(b []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendTimeDay(b, t)
}

// appendImmunizationSearchset writes Immunization?patient='s answer: the
// record's Immunizations that pass filter.
func (s *Server) appendImmunizationSearchset(b []byte, self string, rec *registry.DisclosableRecord, filter func(*iis.Vaccination) bool) []byte {
	ss := s.startSearchset(b, self)
	for i := range rec.Vaccinations {
		if filter(&rec.Vaccinations[i]) {
			ss.entry(s.base + "/Immunization/" + itoa(rec.DoseIDs[i]))
			ss.b = appendImmunization(ss.b, rec.DoseIDs[i], rec.PatientID, &rec.Vaccinations[i])
			ss.end()
		}
	}
	return ss.finish()
}
