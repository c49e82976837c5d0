package entry

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/hl7/immz"
)

var testNow = time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)

func testValidator() *immz.Validator {
	return immz.New(immz.Config{Now: func() time.Time { return testNow }})
}

func fullPatientForm() PatientForm {
	return PatientForm{Family: "Quinlan", Given: "Maeve", Middle: "Rose", BirthDate: "2026-06-02", Sex: "F", BirthOrder: "2",
		MotherFamily: "Okafor", MotherGiven: "Adaeze", Street: "12 Elm St", City: "Hartford", State: "CT", Zip: "06105",
		Phone: "(860) 555-0142", GuardianFamily: "Quinlan", GuardianGiven: "Adaeze", GuardianRelationship: "MTH", MRN: "MRN-7781"}
}

func fullDoseForm() DoseForm {
	return DoseForm{CVX: "20", Date: "2026-12-07", Lot: "AC52B030AA", MVX: "SKB", Expiration: "2027-09-30", Site: "LT",
		Route: "C28161", Amount: "0.5", Units: "mL", VISDoc: "253088698300003511070517", VISDate: "2026-12-07",
		Eligibility: "V02", FundingSource: "VXC1", ClinicianID: "NPI-1234567", ClinicianFamily: "Lindqvist", ClinicianGiven: "Petra"}
}

// decode builds the VXU and decodes it back, failing on any error or
// warning but the data quality notes on the test's own values (an SSN of
// 9xx, an old VIS edition): what the forms write is what the profile wants.
func decode(t *testing.T, h Header, p *iis.Patient, v *iis.Vaccination) *immz.VXU {
	t.Helper()
	raw := BuildVXU(h, p, v)
	val := testValidator()
	r := val.Decode(raw)
	if code := val.AckCode(r); code != "AA" || slices.ContainsFunc(r.Issues, func(is immz.Issue) bool { return !immz.ValueKept(is.Detection) }) {
		t.Fatalf("ACK %s, issues %+v\n%s", code, r.Issues, strings.ReplaceAll(string(raw), "\r", "\n"))
	}
	if r.Header.ControlID != h.ControlID || r.Header.SendingFacility.Name != h.Facility || r.Header.Profile != "Z22" {
		t.Errorf("header %+v", r.Header)
	}
	return r.VXU
}

// TestPatientRoundTrip: every field of the new patient form comes back
// from immz.Decode as entered.
func TestPatientRoundTrip(t *testing.T) {
	h := Header{Facility: "CLINIC-A", ControlID: NewControlID(), Time: testNow}
	probs := Problems{}
	p := fullPatientForm().Patient(h.Facility, h.ControlID, probs)
	if len(probs) != 0 {
		t.Fatalf("problems %v", probs)
	}
	got := decode(t, h, &p, nil)
	want := iis.Patient{
		Identifiers:      []iis.Identifier{{Value: "MRN-7781", Authority: "CLINIC-A", Type: "MR"}},
		Names:            []iis.Name{{Family: "Quinlan", Given: "Maeve", Middle: "Rose", Type: "L"}},
		MotherMaidenName: iis.Name{Family: "Okafor", Given: "Adaeze", Type: "M"},
		BirthDate:        time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC),
		Sex:              "F",
		Addresses:        []iis.Address{{Street: "12 Elm St", City: "Hartford", State: "CT", Zip: "06105", Country: "USA", Type: "L"}},
		Phones:           []iis.Phone{{Use: "PRN", Equipment: "PH", Area: "860", Local: "5550142"}},
		MultipleBirth:    "Y",
		BirthOrder:       2,
		Guardians: []iis.Guardian{{Name: iis.Name{Family: "Quinlan", Given: "Adaeze", Type: "L"},
			Relationship: iis.Code{Code: "MTH", Text: "Mother", System: "HL70063"}}},
	}
	if !reflect.DeepEqual(got.Patient, want) {
		t.Errorf("patient\n got %+v\nwant %+v", got.Patient, want)
	}
	// A registration reports no dose: the IG's 998 "no vaccine
	// administered", not a vaccination event.
	if len(got.Vaccinations) != 1 || got.Vaccinations[0].CVX != "998" || got.Vaccinations[0].CompletionStatus != "NA" ||
		got.Vaccinations[0].FillerOrder != (iis.Identifier{Value: h.ControlID, Authority: "CLINIC-A"}) {
		t.Errorf("registration's RXA: %+v", got.Vaccinations)
	}
}

// TestPatientWithoutMRN: PID-3 is required; the tracking id stands in.
func TestPatientWithoutMRN(t *testing.T) {
	h := Header{Facility: "CLINIC-A", ControlID: "WEB0001", Time: testNow}
	f := fullPatientForm()
	f.MRN, f.BirthOrder, f.Phone = "", "", ""
	p := f.Patient(h.Facility, h.ControlID, Problems{})
	got := decode(t, h, &p, nil)
	if want := []iis.Identifier{{Value: "WEB0001", Authority: "CLINIC-A", Type: "PI"}}; !reflect.DeepEqual(got.Patient.Identifiers, want) {
		t.Errorf("identifiers %+v", got.Patient.Identifiers)
	}
	if got.Patient.MultipleBirth != "" || got.Patient.BirthOrder != 0 || len(got.Patient.Phones) != 0 {
		t.Errorf("patient %+v", got.Patient)
	}
}

// TestDoseRoundTrip: every field of the administered dose form, then of
// the historical one, comes back as entered; corrections and deletions
// carry RXA-21 U and D under the same ORC-3.
func TestDoseRoundTrip(t *testing.T) {
	codes := codeset.Default()
	h := Header{Facility: "CLINIC-A", ControlID: NewControlID(), Time: testNow}
	p := fullPatientForm().Patient(h.Facility, h.ControlID, Problems{})
	probs := Problems{}
	v := fullDoseForm().Vaccination(codes, h.Facility, probs)
	if len(probs) != 0 {
		t.Fatalf("problems %v", probs)
	}
	v.FillerOrder = iis.Identifier{Value: "WEBDOSE-1", Authority: "CLINIC-A"}
	for _, action := range []string{"A", "U", "D"} {
		v.Action = action
		got := decode(t, h, &p, &v)
		if len(got.Vaccinations) != 1 {
			t.Fatalf("%s: %d doses", action, len(got.Vaccinations))
		}
		d := got.Vaccinations[0]
		want := iis.Vaccination{
			Position: 1, FillerOrder: iis.Identifier{Value: "WEBDOSE-1", Authority: "CLINIC-A"},
			AdministeredAt: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC),
			Vaccine:        iis.Code{Code: "20", Text: "DTaP", System: "CVX"}, CVX: "20",
			Amount: "0.5", Units: iis.Code{Code: "mL", Text: "milliliter", System: "UCUM"},
			InformationSource: iis.Code{Code: "00", Text: "New immunization record", System: "NIP001"},
			AdministeredBy:    iis.Provider{ID: "NPI-1234567", Family: "Lindqvist", Given: "Petra"},
			Facility:          iis.Organization{Name: "CLINIC-A"},
			Lots:              []string{"AC52B030AA"}, Expiration: time.Date(2027, 9, 30, 0, 0, 0, 0, time.UTC),
			Manufacturer:     iis.Code{Code: "SKB", Text: display(codes.MVX(), "SKB"), System: "MVX"},
			CompletionStatus: "CP", Action: action,
			Route:              iis.Code{Code: "C28161", Text: "Intramuscular", System: "NCIT"},
			Site:               iis.Code{Code: "LT", Text: "Left Thigh", System: "HL70163"},
			FundingEligibility: iis.Code{Code: "V02", Text: "VFC eligible - Medicaid/Medicaid Managed Care", System: "HL70064"},
			EligibilityMethod:  iis.Code{Code: "VXC40", Text: "Eligibility captured at the immunization level", System: "CDCPHINVS"},
			FundingSource:      iis.Code{Code: "VXC1", Text: "Federal funds", System: "CDCPHINVS"},
			VIS: []iis.VIS{{Document: iis.Code{Code: "253088698300003511070517", Text: display(codes.VISDocuments(), "253088698300003511070517"), System: "cdcgs1vis"},
				Presented: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}},
		}
		if !reflect.DeepEqual(d, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", action, d, want)
		}
		// The form shows the stored dose as it was entered.
		if back := DoseFormOf(&d); back != fullDoseForm() {
			t.Errorf("%s: form of the decoded dose\n got %+v\nwant %+v", action, back, fullDoseForm())
		}
	}

	hist := DoseForm{Historical: true, Source: "03", CVX: "08", Date: "2026-06-03"}
	hv := hist.Vaccination(codes, h.Facility, Problems{})
	hv.FillerOrder = iis.Identifier{Value: "WEBDOSE-2", Authority: "CLINIC-A"}
	d := decode(t, h, &p, &hv).Vaccinations[0]
	if !d.Historical || d.CVX != "08" || !d.AdministeredAt.Equal(time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC)) ||
		d.InformationSource != (iis.Code{Code: "03", Text: "Historical information - from parent's written record", System: "NIP001"}) ||
		len(d.Lots) != 0 || !d.Route.IsZero() || !d.FundingEligibility.IsZero() {
		t.Errorf("historical dose %+v", d)
	}
	if back := DoseFormOf(&d); back != hist {
		t.Errorf("form of the historical dose %+v, want %+v", back, hist)
	}
}

// TestDoseOfStoredPatient: a dose for a patient the registry holds
// reports the patient as stored (every identifier, name, address, phone,
// guardian, race), so the worker files it under the same record.
func TestDoseOfStoredPatient(t *testing.T) {
	p := iis.Patient{
		Identifiers: []iis.Identifier{{Value: "A1", Authority: "EHR-X", Type: "MR"}, {Value: "999-00-1111", Authority: "USA", Type: "SS"}},
		Names:       []iis.Name{{Family: "Ng", Given: "Leo", Type: "L"}, {Family: "Ng-Park", Given: "Leo", Type: "A"}},
		BirthDate:   time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Sex: "M",
		Races:       []iis.Code{{Code: "2028-9", Text: "Asian", System: "CDCREC"}},
		Ethnicities: []iis.Code{{Code: "2186-5", Text: "Not Hispanic or Latino", System: "CDCREC"}},
		Addresses:   []iis.Address{{Street: "4 Oak Ave", City: "Avon", State: "CT", Zip: "06001", Country: "USA", Type: "L"}},
		Phones:      []iis.Phone{{Use: "PRN", Equipment: "PH", Area: "860", Local: "5550100"}},
		Guardians:   []iis.Guardian{{Name: iis.Name{Family: "Ng", Given: "Mai", Type: "L"}, Relationship: iis.Code{Code: "MTH", Text: "Mother", System: "HL70063"}}},
	}
	h := Header{Facility: "CLINIC-A", ControlID: NewControlID(), Time: testNow}
	v := fullDoseForm().Vaccination(codeset.Default(), h.Facility, Problems{})
	v.FillerOrder = iis.Identifier{Value: FillerOrderFor(h.ControlID), Authority: h.Facility}
	got := decode(t, h, &p, &v)
	if !reflect.DeepEqual(got.Patient, p) {
		t.Errorf("patient\n got %+v\nwant %+v", got.Patient, p)
	}
}

// TestFormProblems: what the form itself cannot turn into HL7 is told
// beside its field.
func TestFormProblems(t *testing.T) {
	f := fullPatientForm()
	f.BirthDate, f.BirthOrder = "June 2nd", "twin"
	probs := Problems{}
	f.Patient("CLINIC-A", "WEB1", probs)
	if len(probs[fBirthDate]) != 1 || len(probs[fBirthOrder]) != 1 || len(probs) != 2 {
		t.Errorf("problems %v", probs)
	}
	d := fullDoseForm()
	d.Date, d.VISDate = "2026-13-01", "soon"
	probs = Problems{}
	d.Vaccination(codeset.Default(), "CLINIC-A", probs)
	if len(probs[fDate]) != 1 || len(probs[fVISDate]) != 1 || len(probs) != 2 {
		t.Errorf("problems %v", probs)
	}
}

func TestControlIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewControlID()
		if seen[id] || len(id) > 20 || !validControlID(id) || !strings.HasPrefix(FillerOrderFor(id), "WEBDOSE-") {
			t.Fatalf("control id %q (seen %v)", id, seen[id])
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "WEB", "WEB0123456789abcdef", "EHR0123456789ABCDEF", "WEB0123456789ABCDEF0", "WEB0123456789ABCDE|"} {
		if validControlID(bad) {
			t.Errorf("%q taken for an entry's control id", bad)
		}
	}
}
