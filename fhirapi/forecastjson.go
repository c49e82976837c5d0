package fhirapi

import (
	"strconv"
	"sync"
	"time"

	"github.com/iisproject/iis/forecast"
)

// The answers of the forecast (ImmunizationRecommendation?patient=,
// $immds-forecast and the export's ImmunizationRecommendations) are
// written straight from the engine's result as JSON, without building the
// google/fhir/go protos first: at hundreds of forecasts a second the
// protos' allocations and the reflective writer were most of the cost.
// recommendation() and evaluations() build the same resources as protos;
// TestForecastJSONAgrees requires the same JSON of both, and the handler
// tests validate the answers with google/fhir/go's validator.

const cdsiAuthority = `{"display":"CDC Clinical Decision Support for Immunization (CDSi) logic"}`

// bufs recycles the answers' buffers.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 1<<20 {
		*b = (*b)[:0]
		bufs.Put(b)
	}
}

// appendDay writes a calendar date as a JSON string, YYYY-MM-DD.
func appendDay(b []byte, y, m, d int) []byte {
	b = append(b, '"')
	switch {
	case y >= 0 && y < 10:
		b = append(b, "000"...)
	case y >= 0 && y < 100:
		b = append(b, "00"...)
	case y >= 0 && y < 1000:
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(y), 10)
	b = append(b, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
	return append(b, '"')
}

func appendTimeDay(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	return appendDay(b, y, int(m), d)
}

func appendDate(b []byte, d forecast.Date) []byte {
	y, m, day := d.Civil()
	return appendDay(b, y, m, day)
}

// appendCoding writes a Coding; display may be empty.
func appendCoding(b []byte, system, code, display string) []byte {
	b = append(b, `{"system":`...)
	b = appendString(b, system)
	b = append(b, `,"code":`...)
	b = appendString(b, code)
	if display != "" {
		b = append(b, `,"display":`...)
		b = appendString(b, display)
	}
	return append(b, '}')
}

// appendConcept writes a CodeableConcept of one Coding.
func appendConcept(b []byte, system, code, display string) []byte {
	b = append(b, `{"coding":[`...)
	b = appendCoding(b, system, code, display)
	return append(b, "]}"...)
}

// appendTexts writes a list of one CodeableConcept of text alone.
func appendTexts(b []byte, text string) []byte {
	b = append(b, `[{"text":`...)
	b = appendString(b, text)
	return append(b, "}]"...)
}

// appendGroupConcept writes groupConcept(name).
func appendGroupConcept(b []byte, name string) []byte {
	b = append(b, '{')
	if code, text, ok := forecast.GroupCVX(name); ok {
		b = append(b, `"coding":[`...)
		b = appendCoding(b, codeSystems["CVX"], code, text)
		b = append(b, "],"...)
	}
	if name == "" {
		if b[len(b)-1] == ',' {
			b = b[:len(b)-1]
		}
		return append(b, '}')
	}
	b = append(b, `"text":`...)
	b = appendString(b, name)
	return append(b, '}')
}

// appendRecommendation writes a.recommendation() as JSON.
func (a *assessment) appendRecommendation(b []byte) []byte {
	b = append(b, `{"resourceType":"ImmunizationRecommendation","id":`...)
	b = appendString(b, a.patientID)
	b = append(b, `,"patient":`...)
	b = appendRefTo(b, "Patient", a.patientID)
	b = append(b, `,"date":`...)
	b = appendTimeDay(b, a.on)
	b = append(b, `,"authority":`+cdsiAuthority...)
	for i, g := range a.result.Groups {
		if i == 0 {
			b = append(b, `,"recommendation":[`...)
		} else {
			b = append(b, ',')
		}
		b = a.appendGroupRecommendation(b, g)
	}
	if len(a.result.Groups) > 0 {
		b = append(b, ']')
	}
	return append(b, '}')
}

// dateCriteria are the dateCriterion codes of the earliest, recommended,
// past-due and latest dates, as JSON up to the value.
var dateCriteria = [...]string{
	`{"code":{"coding":[{"system":"` + loinc + `","code":"30981-5","display":"Earliest date to give"}]},"value":`,
	`{"code":{"coding":[{"system":"` + loinc + `","code":"30980-7","display":"Date vaccine due"}]},"value":`,
	`{"code":{"coding":[{"system":"` + loinc + `","code":"59778-1","display":"Date when overdue for immunization"}]},"value":`,
	`{"code":{"coding":[{"system":"` + loinc + `","code":"59777-3","display":"Latest date to give immunization"}]},"value":`,
}

// appendGroupRecommendation writes one vaccine group's recommendation.
func (a *assessment) appendGroupRecommendation(b []byte, g forecast.GroupForecast) []byte {
	b = append(b, `{"vaccineCode":[`...)
	b = appendGroupConcept(b, g.VaccineGroup)
	b = append(b, `],"forecastStatus":`...)
	b = appendForecastStatus(b, g, a.on)
	if g.Reason != "" {
		b = append(b, `,"forecastReason":`...)
		b = appendTexts(b, g.Reason)
	}
	first := true
	for i, d := range [...]forecast.Date{g.Earliest, g.Recommended, g.PastDue, g.Latest} {
		if d == forecast.NoDate {
			continue
		}
		if first {
			b = append(b, `,"dateCriterion":[`...)
			first = false
		} else {
			b = append(b, ',')
		}
		b = append(b, dateCriteria[i]...)
		b = appendDate(b, d)
		b = append(b, '}')
	}
	if !first {
		b = append(b, ']')
	}
	if g.DoseNumber > 0 {
		b = append(b, `,"doseNumberPositiveInt":`...)
		b = strconv.AppendUint(b, uint64(uint32(g.DoseNumber)), 10)
	}
	first = true
	for _, gd := range g.Doses {
		if id := a.immunizationID(gd.Dose); id != "" && gd.Status == forecast.Valid {
			if first {
				b = append(b, `,"supportingImmunization":[`...)
				first = false
			} else {
				b = append(b, ',')
			}
			b = appendRefTo(b, "Immunization", id)
		}
	}
	if !first {
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendRefTo writes a Reference to typ/id.
func appendRefTo(b []byte, typ, id string) []byte {
	b = append(b, `{"reference":"`...)
	b = append(b, typ...)
	b = append(b, '/')
	start := len(b)
	b = appendString(b, id) // "id", escaped: drop its opening quote
	copy(b[start:], b[start+1:])
	return append(b[:len(b)-1], '}')
}

// appendForecastStatus writes forecastStatus(g, on).
func appendForecastStatus(b []byte, g forecast.GroupForecast, on time.Time) []byte {
	code := ""
	switch g.Status {
	case forecast.Complete:
		code = "complete"
	case forecast.Immune:
		code = "immune"
	case forecast.Contraindicated:
		code = "contraindicated"
	case forecast.NotComplete:
		code = "due"
		if g.PastDue != forecast.NoDate && !on.Before(g.PastDue.Time()) {
			code = "overdue"
		}
	}
	name := g.Status.String()
	b = append(b, `{"coding":[`...)
	if code != "" {
		b = append(b, `{"system":"`+recommendationStatus+`","code":"`...)
		b = append(b, code...)
		b = append(b, `"},`...)
	}
	b = append(b, `{"system":"`+cdsiStatusSystem+`","code":`...)
	b = appendStatusCode(b, name)
	if name != "" {
		b = append(b, `,"display":`...)
		b = appendString(b, name)
	}
	b = append(b, "}]"...)
	if name != "" {
		b = append(b, `,"text":`...)
		b = appendString(b, name)
	}
	return append(b, '}')
}

// appendStatusCode writes a series status's code: its name in lower
// case, spaces as hyphens.
func appendStatusCode(b []byte, name string) []byte {
	start := len(b)
	b = appendString(b, name)
	for i := start; i < len(b); i++ {
		switch c := b[i]; {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == ' ':
			b[i] = '-'
		}
	}
	return b
}

// appendEvaluation writes one dose's evaluation in a vaccine group; n is
// its number among the group's valid doses.
func (a *assessment) appendEvaluation(b []byte, group, key, id string, gd forecast.GroupDose, n int) []byte {
	b = append(b, `{"resourceType":"ImmunizationEvaluation","id":`...)
	b = appendString(b, id)
	b = append(b[:len(b)-1], '-')
	b = append(b, key...) // letters and digits
	b = append(b, '"')
	b = append(b, `,"status":"completed","patient":`...)
	b = appendRefTo(b, "Patient", a.patientID)
	b = append(b, `,"date":`...)
	b = appendTimeDay(b, a.on)
	b = append(b, `,"authority":`+cdsiAuthority+`,"targetDisease":`...)
	b = appendGroupConcept(b, group)
	b = append(b, `,"immunizationEvent":`...)
	b = appendRefTo(b, "Immunization", id)
	b = append(b, `,"doseStatus":`...)
	if gd.Status == forecast.Valid {
		b = append(b, `{"coding":[{"system":"`+evaluationDoseStatus+`","code":"valid","display":"Valid"}]}`...)
	} else {
		b = append(b, `{"coding":[{"system":"`+evaluationDoseStatus+`","code":"notvalid","display":"Not valid"}]}`...)
	}
	if gd.Reason != "" {
		b = append(b, `,"doseStatusReason":`...)
		b = appendTexts(b, gd.Reason)
	}
	if gd.Status == forecast.Valid {
		b = append(b, `,"doseNumberPositiveInt":`...)
		b = strconv.AppendUint(b, uint64(uint32(n)), 10)
	}
	return append(b, '}')
}

// appendEvaluationsWrapped writes every evaluation, each between
// prefix(the Immunization's id, the group's key) and suffix.
func (a *assessment) appendEvaluationsWrapped(b []byte, prefix func(b []byte, id, key string) []byte, suffix string) []byte {
	for _, g := range a.result.Groups {
		n := 0
		key := groupKey(g.VaccineGroup)
		for _, gd := range g.Doses {
			id := a.immunizationID(gd.Dose)
			if id == "" {
				continue
			}
			if gd.Status == forecast.Valid {
				n++
			}
			b = prefix(b, id, key)
			b = a.appendEvaluation(b, g.VaccineGroup, key, id, gd, n)
			b = append(b, suffix...)
		}
	}
	return b
}

// searchsetJSON writes a searchset Bundle entry by entry.
type searchsetJSON struct {
	b []byte
	n int
}

func (s *Server) startSearchset(b []byte, self string) *searchsetJSON {
	b = append(b, `{"resourceType":"Bundle","meta":{"lastUpdated":"`...)
	b = s.now().UTC().Truncate(time.Second).AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, `"},"type":"searchset","link":[{"relation":"self","url":`...)
	b = appendString(b, self)
	b = append(b, "}]"...)
	return &searchsetJSON{b: b}
}

// entry starts an entry; its resource is to be appended to b, then end called.
func (ss *searchsetJSON) entry(fullURL string) {
	if ss.n == 0 {
		ss.b = append(ss.b, `,"entry":[`...)
	} else {
		ss.b = append(ss.b, ',')
	}
	ss.n++
	ss.b = append(ss.b, `{"fullUrl":`...)
	ss.b = appendString(ss.b, fullURL)
	ss.b = append(ss.b, `,"resource":`...)
}

const searchMatch = `,"search":{"mode":"match"}}`

func (ss *searchsetJSON) end() { ss.b = append(ss.b, searchMatch...) }

// finish closes the Bundle with its total.
func (ss *searchsetJSON) finish() []byte {
	if ss.n > 0 {
		ss.b = append(ss.b, ']')
	}
	ss.b = append(ss.b, `,"total":`...)
	ss.b = strconv.AppendInt(ss.b, int64(ss.n), 10)
	return append(ss.b, '}')
}

// appendForecastParameters writes $immds-forecast's answer: the
// recommendation and the evaluations (forecastParameters as JSON).
func (a *assessment) appendForecastParameters(b []byte) []byte {
	b = append(b, `{"resourceType":"Parameters","parameter":[{"name":"recommendation","resource":`...)
	b = a.appendRecommendation(b)
	b = append(b, '}')
	b = a.appendEvaluationsWrapped(b, func(b []byte, _, _ string) []byte {
		return append(b, `,{"name":"evaluation","resource":`...)
	}, "}")
	return append(b, "]}"...)
}

// appendRecommendationSearchset writes ImmunizationRecommendation?patient='s answer.
func (s *Server) appendRecommendationSearchset(b []byte, self string, a *assessment) []byte {
	ss := s.startSearchset(b, self)
	ss.entry(s.base + "/ImmunizationRecommendation/" + a.patientID)
	ss.b = a.appendRecommendation(ss.b)
	ss.end()
	return ss.finish()
}

// appendEvaluationSearchset writes ImmunizationEvaluation?patient='s answer.
func (s *Server) appendEvaluationSearchset(b []byte, self string, a *assessment) []byte {
	ss := s.startSearchset(b, self)
	ss.b = a.appendEvaluationsWrapped(ss.b, func(b []byte, id, key string) []byte {
		ss.b = b
		ss.entry(s.base + "/ImmunizationEvaluation/" + id + "-" + key)
		return ss.b
	}, searchMatch)
	return ss.finish()
}
