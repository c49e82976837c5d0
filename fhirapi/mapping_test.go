package fhirapi

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// at follows a dotted path (map keys, slice indexes) through decoded JSON
// and returns what it finds as text ("" when absent).
func at(v any, path string) string {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// TestMapping maps real VXUs (stored by the registry) to Immunizations and
// checks each field the V2-to-FHIR IG maps.
func TestMapping(t *testing.T) {
	const (
		nistFlu  = "vxu-child-flu-nist-iz001-vfc-v05-vis.hl7"
		refusal  = "vxu-child-refusal-mmr-rxa20-re-minimal.hl7"
		immunity = "vxu-evidence-of-immunity-998-varicella-rxa20-na.hl7"
		funding  = "vxu-z22-child-dtap-historical-funding-phc70-gs1-vis.hl7"
	)
	f := newFixture(t, nistFlu, refusal, immunity, funding)
	for _, tc := range []struct {
		file, path, want string
	}{
		{nistFlu, "status", "completed"},
		{nistFlu, "primarySource", "true"},
		{nistFlu, "vaccineCode.coding.0.code", "140"},
		{nistFlu, "vaccineCode.coding.0.system", "http://hl7.org/fhir/sid/cvx"},
		{nistFlu, "occurrenceDateTime", "2012-08-14"},
		{nistFlu, "lotNumber", "Z0860BB"},
		{nistFlu, "expirationDate", "2012-11-04"},
		{nistFlu, "manufacturer.identifier.value", "CSL"},
		{nistFlu, "route.coding.0.code", "C28161"},
		{nistFlu, "site.coding.0.code", "LD"},
		{nistFlu, "site.coding.0.system", "http://terminology.hl7.org/CodeSystem/v2-0163"},
		{nistFlu, "doseQuantity.value", "0.5"},
		{nistFlu, "doseQuantity.code", "mL"},
		{nistFlu, "programEligibility.0.coding.0.code", "V05"},
		{nistFlu, "performer.0.function.coding.0.code", "AP"},
		{nistFlu, "performer.0.actor.identifier.value", "7832-1"},
		{nistFlu, "performer.1.function.coding.0.code", "OP"},
		{nistFlu, "education.0.publicationDate", "2012-07-02"},
		{nistFlu, "education.0.presentationDate", "2012-08-14"},
		{nistFlu, "identifier.0.value", "IZ-783274"},
		{refusal, "status", "not-done"},
		{refusal, "statusReason.coding.0.code", "PATOBJ"},
		{refusal, "statusReason.coding.1.code", "00"},
		{refusal, "vaccineCode.coding.0.code", "03"},
		{immunity, "status", "not-done"},
		{immunity, "statusReason.coding.0.code", "IMMUNE"},
		{funding, "primarySource", "false"},
		{funding, "reportOrigin.coding.0.code", "01"},
		{funding, "fundingSource.coding.0.code", "PHC70"},
		{funding, "programEligibility.0.coding.0.code", "V01"},
		{funding, "education.0.documentType", "253088698300028811150224"},
		{funding, "doseQuantity", ""}, // 999: unknown
		{funding, "lotNumber", "315841"},
		{funding, "manufacturer.identifier.value", "PMC"},
	} {
		imms := export(t, f, "", "Immunization", []int64{f.patients[tc.file]})
		if len(imms) != 1 {
			t.Fatalf("%s: %d immunizations, want 1", tc.file, len(imms))
		}
		if got := at(imms[0], tc.path); got != tc.want {
			t.Errorf("%s: %s = %q, want %q", tc.file, tc.path, got, tc.want)
		}
	}
	pats := export(t, f, "", "Patient", []int64{f.patients[nistFlu]})
	for path, want := range map[string]string{"name.0.family": "Snow", "name.0.given.1": "Ainsley", "name.0.use": "official",
		"gender": "female", "birthDate": "2007-07-06", "address.0.city": "Warwick", "telecom.0.value": "6575558563",
		"contact.0.relationship.0.coding.0.code": "MTH", "identifier.0.system": "urn:iis:assigning-authority:NIST MPI"} {
		if got := at(pats[0], path); got != want {
			t.Errorf("Patient %s = %q, want %q", path, got, want)
		}
	}
}
