package fhirapi

import (
	"strconv"
	"strings"
	"time"

	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"

	"github.com/iisproject/iis"
)

// Constructors of the FHIR R4 datatypes the resources are made of.

func fstr(s string) *dpb.String {
	if s == "" {
		return nil
	}
	return &dpb.String{Value: s}
}

func furi(s string) *dpb.Uri { return &dpb.Uri{Value: s} }

func fcode(s string) *dpb.Code { return &dpb.Code{Value: s} }

func fid(id int64) *dpb.Id { return &dpb.Id{Value: strconv.FormatInt(id, 10)} }

func fbool(b bool) *dpb.Boolean { return &dpb.Boolean{Value: b} }

// fdate is a calendar date (time.Time at UTC midnight); nil for the zero time.
func fdate(t time.Time) *dpb.Date {
	if t.IsZero() {
		return nil
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return &dpb.Date{ValueUs: d.UnixMicro(), Timezone: "UTC", Precision: dpb.Date_DAY}
}

// fday is a calendar date as a dateTime of day precision.
func fday(t time.Time) *dpb.DateTime {
	if t.IsZero() {
		return nil
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return &dpb.DateTime{ValueUs: d.UnixMicro(), Timezone: "UTC", Precision: dpb.DateTime_DAY}
}

// finstant is a moment, to the second.
func finstant(t time.Time) *dpb.Instant {
	return &dpb.Instant{ValueUs: t.UTC().Truncate(time.Second).UnixMicro(), Timezone: "Z", Precision: dpb.Instant_SECOND}
}

func fdatetime(t time.Time) *dpb.DateTime {
	return &dpb.DateTime{ValueUs: t.UTC().Truncate(time.Second).UnixMicro(), Timezone: "Z", Precision: dpb.DateTime_SECOND}
}

func fdecimal(s string) *dpb.Decimal { return &dpb.Decimal{Value: s} }

// codeSystems are the FHIR code system URIs of the HL7 v2 coding systems
// (CWE-3) the registry's records carry.
var codeSystems = map[string]string{
	"CVX":                 "http://hl7.org/fhir/sid/cvx",
	"NDC":                 "http://hl7.org/fhir/sid/ndc",
	"CPT":                 "http://www.ama-assn.org/go/cpt",
	"MVX":                 "http://terminology.hl7.org/CodeSystem/MVX",
	"HL70163":             "http://terminology.hl7.org/CodeSystem/v2-0163",
	"HL70162":             "http://terminology.hl7.org/CodeSystem/v2-0162",
	"NCIT":                "http://ncimeta.nci.nih.gov",
	"HL70064":             "http://terminology.hl7.org/CodeSystem/v2-0064",
	"HL70005":             "urn:oid:2.16.840.1.113883.6.238",
	"CDCREC":              "urn:oid:2.16.840.1.113883.6.238",
	"HL70189":             "urn:oid:2.16.840.1.113883.6.238",
	"HL70063":             "http://terminology.hl7.org/CodeSystem/v2-0063",
	"HL70215":             "http://terminology.hl7.org/CodeSystem/v2-0215",
	"HL70203":             "http://terminology.hl7.org/CodeSystem/v2-0203",
	"HL70322":             "http://terminology.hl7.org/CodeSystem/v2-0322",
	"UCUM":                "http://unitsofmeasure.org",
	"LN":                  "http://loinc.org",
	"SCT":                 "http://snomed.info/sct",
	"NIP001":              "urn:oid:2.16.840.1.114222.4.5.274",
	"NIP002":              "urn:oid:2.16.840.1.114222.4.5.274",
	"PHVS_VISBARCODE_IIS": "urn:oid:2.16.840.1.114222.4.11.6041",
	"CDCGS1VIS":           "urn:oid:2.16.840.1.114222.4.11.6041",
}

// systemURI is the FHIR URI of a v2 coding system; one the table does not
// know is named urn:iis:v2:<name>.
func systemURI(v2 string) string {
	if v2 == "" {
		return ""
	}
	if u, ok := codeSystems[strings.ToUpper(v2)]; ok {
		return u
	}
	if strings.Contains(v2, ":") {
		return v2
	}
	return "urn:iis:v2:" + v2
}

func coding(system, code, display string) *dpb.Coding {
	c := &dpb.Coding{Code: fcode(code), Display: fstr(display)}
	if system != "" {
		c.System = furi(system)
	}
	return c
}

// concept is a v2 coded value (both triplets) as a CodeableConcept; nil for
// an empty one.
func concept(c iis.Code) *dpb.CodeableConcept {
	if c.IsZero() {
		if c.Text == "" {
			return nil
		}
		return &dpb.CodeableConcept{Text: fstr(c.Text)}
	}
	cc := &dpb.CodeableConcept{}
	if c.Code != "" {
		cc.Coding = append(cc.Coding, coding(systemURI(c.System), c.Code, c.Text))
	}
	if c.AltCode != "" {
		cc.Coding = append(cc.Coding, coding(systemURI(c.AltSystem), c.AltCode, c.AltText))
	}
	return cc
}

func conceptOf(system, code, display string) *dpb.CodeableConcept {
	return &dpb.CodeableConcept{Coding: []*dpb.Coding{coding(system, code, display)}}
}

func extension(url string, v *dpb.Extension_ValueX) *dpb.Extension {
	return &dpb.Extension{Url: furi(url), Value: v}
}

func extDecimal(url string, d string) *dpb.Extension {
	return extension(url, &dpb.Extension_ValueX{Choice: &dpb.Extension_ValueX_Decimal{Decimal: fdecimal(d)}})
}

func extCode(url string, c string) *dpb.Extension {
	return extension(url, &dpb.Extension_ValueX{Choice: &dpb.Extension_ValueX_Code{Code: fcode(c)}})
}

func patientRef(id int64) *dpb.Reference { return patientRefID(strconv.FormatInt(id, 10)) }

func patientRefID(id string) *dpb.Reference {
	return &dpb.Reference{Reference: &dpb.Reference_PatientId{PatientId: &dpb.ReferenceId{Value: id}}}
}

func immunizationRef(id string) *dpb.Reference {
	return &dpb.Reference{Reference: &dpb.Reference_ImmunizationId{ImmunizationId: &dpb.ReferenceId{Value: id}}}
}
