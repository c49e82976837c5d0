package fhirapi

import (
	"testing"
	"time"

	"github.com/iisproject/iis"
)

// TestImmunizationJSONAgrees writes every Immunization of the testdata
// VXUs' records, and doses made to reach each branch of the mapping
// (refusals, immunity, partial doses, providers, VIS, funding, text
// that needs escaping), both straight from the record and from the protos
// through jsonformat, and requires the same JSON; and the same of the
// Immunization searchset.
func TestImmunizationJSONAgrees(t *testing.T) {
	f, recs := testdataRecords(t)
	n := 0
	for i := range recs {
		r := &recs[i]
		for j := range r.Vaccinations {
			n++
			sameJSON(t, "Immunization", appendImmunization(nil, r.DoseIDs[j], r.PatientID, &r.Vaccinations[j]),
				f.srv.protoJSON(t, toImmunization(r.DoseIDs[j], r.PatientID, &r.Vaccinations[j])))
		}
		var es []entry
		for j := range r.Vaccinations {
			es = append(es, entry{res: toImmunization(r.DoseIDs[j], r.PatientID, &r.Vaccinations[j]), fullURL: f.srv.base + "/Immunization/" + itoa(r.DoseIDs[j])})
		}
		sameJSON(t, "Immunization searchset", f.srv.appendImmunizationSearchset(nil, "/fhir/Immunization?patient=1", r, func(*iis.Vaccination) bool { return true }),
			f.srv.protoJSON(t, f.srv.searchset(es, "/fhir/Immunization?patient=1", "", len(es))))
	}
	if n == 0 {
		t.Fatal("the testdata has no doses")
	}
	day := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	odd := `a"b<c>&d\e` + "\n\u2028é"
	for i, v := range []iis.Vaccination{
		{CVX: "08", Vaccine: iis.Code{Code: "08", System: "CVX", Text: odd}, AdministeredAt: day},
		{CVX: "998", AdministeredAt: day, Immunity: []iis.Code{{Code: "38907003", System: "SCT"}}},
		{CVX: "998", AdministeredAt: day},
		{CVX: "998", AdministeredAt: day, CompletionStatus: "pa"},
		{CVX: "03", AdministeredAt: day, CompletionStatus: "RE", RefusalReasons: []iis.Code{{Code: "00", Text: "Parental decision"}, {Text: "free text"}, {AltCode: "X", AltSystem: "L", AltText: odd}}},
		{CVX: "03", AdministeredAt: day, CompletionStatus: "NA"},
		{CVX: "03", AdministeredAt: day, CompletionStatus: "NA", RefusalReasons: []iis.Code{{Text: "only text"}}},
		{CVX: "03", AdministeredAt: day, CompletionStatus: "PA"},
		{NDC: "49281-0400-10", CPT: "90700", AdministeredAt: day},
		{Vaccine: iis.Code{Text: "a local vaccine"}, AdministeredAt: day},
		{Vaccine: iis.Code{Code: "LOC1", System: "99LOC", AltCode: "LOC2", AltSystem: "urn:x:y"}, AdministeredAt: day},
		{AdministeredAt: day},
		{CVX: "20", AdministeredAt: day, Historical: true, InformationSource: iis.Code{Code: "01", Text: "Historical"},
			FillerOrder: iis.Identifier{Value: odd, Authority: "DCS"}, SystemEntry: day.AddDate(0, 0, 3)},
		{CVX: "20", AdministeredAt: day, FillerOrder: iis.Identifier{Value: "65930", Authority: "urn:oid:1.2.3"}, Historical: true},
		{CVX: "20", AdministeredAt: day, Lots: []string{odd}, Expiration: day.AddDate(1, 0, 0), Manufacturer: iis.Code{Code: "PMC", Text: "sanofi"},
			Amount: " 0.5", Units: iis.Code{Code: "mL", Text: "milliliters"}, Route: iis.Code{Code: "IM"}, Site: iis.Code{Code: "LA", System: "HL70163", Text: "left arm"}},
		{CVX: "20", AdministeredAt: day, Lots: []string{""}, Manufacturer: iis.Code{Code: "MSD"}, Amount: "999", Units: iis.Code{Code: "mL"}},
		{CVX: "20", AdministeredAt: day, Amount: "1", Units: iis.Code{Text: "dose"}, Route: iis.Code{Text: "oral"}},
		{CVX: "20", AdministeredAt: day, Amount: "0"},
		{CVX: "20", AdministeredAt: day, AdministeredBy: iis.Provider{ID: "7", Family: "Doe", Given: "J", Authority: "NPI"}, OrderedBy: iis.Provider{Family: odd},
			Facility: iis.Organization{ID: "F1"}},
		{CVX: "20", AdministeredAt: day, OrderedBy: iis.Provider{ID: "8"}, Facility: iis.Organization{Name: odd}},
		{CVX: "20", AdministeredAt: day, Facility: iis.Organization{Name: "Clinic", ID: "F2"}},
		{CVX: "20", AdministeredAt: day, VIS: []iis.VIS{{Document: iis.Code{Code: "253088698300012711120420"}, Published: day, Presented: day},
			{VaccineType: iis.Code{Code: "107"}, Presented: day}, {VaccineType: iis.Code{Code: "x", System: "OTHER"}}, {}}},
		{CVX: "20", AdministeredAt: day, FundingEligibility: iis.Code{Code: "V02", Text: "VFC"}, FundingSource: iis.Code{Code: "VXC1"}},
		{CVX: "20", AdministeredAt: day, FundingEligibility: iis.Code{Text: "state"}, FundingSource: iis.Code{Text: "private"}},
	} {
		sameJSON(t, "synthetic Immunization "+itoa(int64(i)), appendImmunization(nil, int64(100+i), 42, &v), f.srv.protoJSON(t, toImmunization(int64(100+i), 42, &v)))
	}
}
