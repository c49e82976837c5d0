package fhirapi

import (
	"strconv"
	"strings"
	"time"

	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	epb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/immunization_evaluation_go_proto"
	rpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/immunization_recommendation_go_proto"
	vpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/valuesets_go_proto"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/forecast"
)

const (
	recommendationStatus = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"
	evaluationDoseStatus = "http://terminology.hl7.org/CodeSystem/immunization-evaluation-dose-status"
	loinc                = "http://loinc.org"
	// forecastStatusExt carries the CDSi series status as the engine names
	// it (e.g. "Aged out"), for the statuses R4's value set has no code for.
	cdsiStatusSystem = "urn:iis:cdsi-series-status"
)

// assessment is one patient's forecast: the engine's result with the
// mapping of its doses back to the record's.
type assessment struct {
	patientID string // the Patient's id
	on        time.Time
	record    forecast.Record
	result    forecast.Result
	doseIDs   []string // the Immunization id of each vaccination given
}

// assess runs the CDSi engine over a patient's record as query's Z42 does.
func assess(fc *forecast.Engine, patientID string, p *iis.Patient, vs []iis.Vaccination, doseIDs []string, on time.Time) *assessment {
	in := fc.FromRecord(p, vs)
	return &assessment{patientID: patientID, on: on, record: in, result: fc.Forecast(in.Patient, in.Doses, on), doseIDs: doseIDs}
}

// immunizationID is the Immunization id of the engine's dose d; "" when
// the dose maps to none.
func (a *assessment) immunizationID(d int) string {
	if d < 0 || d >= len(a.record.DoseOf) {
		return ""
	}
	i := a.record.DoseOf[d]
	if i < 0 || i >= len(a.doseIDs) {
		return ""
	}
	return a.doseIDs[i]
}

// groupConcept names a CDSi vaccine group by the CVX code of its
// unspecified formulation (as the Z42's 30956-7 does), with the group's
// name as text.
func groupConcept(name string) *dpb.CodeableConcept {
	cc := &dpb.CodeableConcept{Text: fstr(name)}
	if code, text, ok := forecast.GroupCVX(name); ok {
		cc.Coding = []*dpb.Coding{coding(codeSystems["CVX"], code, text)}
	}
	return cc
}

// recommendation is the patient's ImmunizationRecommendation: one
// recommendation per vaccine group, its status, dates and the valid doses
// that support it.
func (a *assessment) recommendation() *rpb.ImmunizationRecommendation {
	out := &rpb.ImmunizationRecommendation{
		Id:        &dpb.Id{Value: a.patientID},
		Patient:   patientRefID(a.patientID),
		Date:      fday(a.on),
		Authority: &dpb.Reference{Display: fstr("CDC Clinical Decision Support for Immunization (CDSi) logic")},
	}
	for _, g := range a.result.Groups {
		r := &rpb.ImmunizationRecommendation_Recommendation{
			VaccineCode:    []*dpb.CodeableConcept{groupConcept(g.VaccineGroup)},
			ForecastStatus: forecastStatus(g, a.on),
		}
		if g.Reason != "" {
			r.ForecastReason = []*dpb.CodeableConcept{{Text: fstr(g.Reason)}}
		}
		for _, dc := range []struct {
			code, display string
			d             forecast.Date
		}{{"30981-5", "Earliest date to give", g.Earliest}, {"30980-7", "Date vaccine due", g.Recommended},
			{"59778-1", "Date when overdue for immunization", g.PastDue}, {"59777-3", "Latest date to give immunization", g.Latest}} {
			if dc.d != forecast.NoDate {
				r.DateCriterion = append(r.DateCriterion, &rpb.ImmunizationRecommendation_Recommendation_DateCriterion{
					Code: conceptOf(loinc, dc.code, dc.display), Value: fday(dc.d.Time())})
			}
		}
		if g.DoseNumber > 0 {
			r.DoseNumber = &rpb.ImmunizationRecommendation_Recommendation_DoseNumberX{
				Choice: &rpb.ImmunizationRecommendation_Recommendation_DoseNumberX_PositiveInt{PositiveInt: &dpb.PositiveInt{Value: uint32(g.DoseNumber)}}}
		}
		for _, gd := range g.Doses {
			if id := a.immunizationID(gd.Dose); id != "" && gd.Status == forecast.Valid {
				r.SupportingImmunization = append(r.SupportingImmunization, immunizationRef(id))
			}
		}
		out.Recommendation = append(out.Recommendation, r)
	}
	return out
}

// forecastStatus maps a CDSi series status to R4's recommendation status:
// not complete is due, or overdue once the past-due date is reached.
func forecastStatus(g forecast.GroupForecast, on time.Time) *dpb.CodeableConcept {
	code := map[forecast.SeriesStatus]string{forecast.Complete: "complete", forecast.Immune: "immune",
		forecast.Contraindicated: "contraindicated", forecast.NotComplete: "due"}[g.Status]
	if code == "due" && g.PastDue != forecast.NoDate && !on.Before(g.PastDue.Time()) {
		code = "overdue"
	}
	cc := &dpb.CodeableConcept{Text: fstr(g.Status.String())}
	if code != "" {
		cc.Coding = append(cc.Coding, coding(recommendationStatus, code, ""))
	}
	cc.Coding = append(cc.Coding, coding(cdsiStatusSystem, strings.ReplaceAll(strings.ToLower(g.Status.String()), " ", "-"), g.Status.String()))
	return cc
}

// evaluations are the ImmunizationEvaluations of the patient's doses: one
// per dose and vaccine group, with its validity and, for a valid dose, its
// number in the group.
func (a *assessment) evaluations() []*epb.ImmunizationEvaluation {
	var out []*epb.ImmunizationEvaluation
	for _, g := range a.result.Groups {
		n := 0
		group := groupConcept(g.VaccineGroup)
		for _, gd := range g.Doses {
			id := a.immunizationID(gd.Dose)
			if id == "" {
				continue
			}
			ev := &epb.ImmunizationEvaluation{
				Id:                evaluationID(id, g.VaccineGroup),
				Status:            &epb.ImmunizationEvaluation_StatusCode{Value: vpb.ImmunizationEvaluationStatusCodesValueSet_COMPLETED},
				Patient:           patientRefID(a.patientID),
				Date:              fday(a.on),
				Authority:         &dpb.Reference{Display: fstr("CDC Clinical Decision Support for Immunization (CDSi) logic")},
				TargetDisease:     group,
				ImmunizationEvent: immunizationRef(id),
				DoseStatus:        conceptOf(evaluationDoseStatus, "notvalid", "Not valid"),
			}
			if gd.Status == forecast.Valid {
				n++
				ev.DoseStatus = conceptOf(evaluationDoseStatus, "valid", "Valid")
				ev.DoseNumber = &epb.ImmunizationEvaluation_DoseNumberX{
					Choice: &epb.ImmunizationEvaluation_DoseNumberX_PositiveInt{PositiveInt: &dpb.PositiveInt{Value: uint32(n)}}}
			}
			if gd.Reason != "" {
				ev.DoseStatusReason = []*dpb.CodeableConcept{{Text: fstr(gd.Reason)}}
			}
			out = append(out, ev)
		}
	}
	return out
}

// evaluationID is an ImmunizationEvaluation's id: the Immunization's and
// the group's CVX code (or name, letters and digits only).
func evaluationID(immunizationID, group string) *dpb.Id {
	return &dpb.Id{Value: evaluationKey(immunizationID, group)}
}

// evaluationKey is evaluationID's value.
func evaluationKey(immunizationID, group string) string {
	return immunizationID + "-" + groupKey(group)
}

// groupKey names a vaccine group in an evaluation's id: its CVX code (or
// name), letters and digits only, in lower case.
func groupKey(group string) string {
	key := group
	if code, _, ok := forecast.GroupCVX(group); ok {
		key = code
	}
	var b strings.Builder
	for _, r := range strings.ToLower(key) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
