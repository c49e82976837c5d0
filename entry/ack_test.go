package entry

import (
	"reflect"
	"strings"
	"testing"

	"github.com/iisproject/iis/codeset"
)

// TestFieldOf: each ERR-2 position the profile reports lands on the form
// field that holds it.
func TestFieldOf(t *testing.T) {
	obx := []string{fEligibility, fFundingSource, fVISDoc, fVISDate}
	tests := []struct {
		seg             string
		seq, field, cmp int
		want            string
	}{
		{"PID", 1, 3, 0, fMRN},
		{"PID", 1, 3, 5, fMRN},
		{"PID", 1, 5, 0, fFamily},
		{"PID", 1, 5, 1, fFamily},
		{"PID", 1, 5, 2, fGiven},
		{"PID", 1, 5, 3, fMiddle},
		{"PID", 1, 6, 1, fMotherFamily},
		{"PID", 1, 6, 2, fMotherGiven},
		{"PID", 1, 7, 0, fBirthDate},
		{"PID", 1, 8, 0, fSex},
		{"PID", 1, 11, 0, fStreet},
		{"PID", 1, 11, 3, fCity},
		{"PID", 1, 11, 4, fState},
		{"PID", 1, 11, 5, fZip},
		{"PID", 1, 13, 0, fPhone},
		{"PID", 1, 24, 0, fBirthOrder},
		{"PID", 1, 25, 0, fBirthOrder},
		{"PID", 1, 10, 0, ""},
		{"NK1", 1, 0, 0, fGuardianFamily},
		{"NK1", 1, 2, 1, fGuardianFamily},
		{"NK1", 1, 2, 2, fGuardianGiven},
		{"NK1", 1, 3, 1, fGuardianRel},
		{"RXA", 1, 3, 0, fDate},
		{"RXA", 1, 5, 1, fCVX},
		{"RXA", 1, 5, 4, fCVX},
		{"RXA", 1, 6, 0, fAmount},
		{"RXA", 1, 7, 0, fUnits},
		{"RXA", 1, 9, 1, fSource},
		{"RXA", 1, 10, 0, fClinicianID},
		{"RXA", 1, 15, 0, fLot},
		{"RXA", 1, 16, 0, fExpiration},
		{"RXA", 1, 17, 1, fMVX},
		{"RXA", 1, 0, 0, ""},
		{"RXR", 1, 1, 1, fRoute},
		{"RXR", 1, 2, 1, fSite},
		{"OBX", 1, 5, 1, fEligibility},
		{"OBX", 2, 5, 1, fFundingSource},
		{"OBX", 3, 5, 1, fVISDoc},
		{"OBX", 4, 14, 0, fVISDate},
		{"OBX", 5, 5, 0, ""},
		{"MSH", 1, 10, 0, ""},
		{"ORC", 1, 3, 0, ""},
	}
	for _, tc := range tests {
		if got := FieldOf(tc.seg, tc.seq, tc.field, tc.cmp, obx); got != tc.want {
			t.Errorf("%s^%d^%d^^%d: %q, want %q", tc.seg, tc.seq, tc.field, tc.cmp, got, tc.want)
		}
	}
}

// TestReadAck: entries the profile refuses come back, through the real
// validator's ACK, as sentences beside the fields they concern.
func TestReadAck(t *testing.T) {
	codes := codeset.Default()
	val := testValidator()
	tests := []struct {
		name    string
		patient func(*PatientForm)
		dose    func(*DoseForm) // nil: a registration
		code    string
		errors  []string // fields with an error
		warns   []string // fields with a warning
		text    string   // in the first error's sentence
	}{
		{"dose date in the future", nil, func(d *DoseForm) { d.Date = "2027-12-08"; d.VISDate = "" }, "AE", []string{fDate}, nil, `Date administered "20271208" is in the future`},
		{"dose before birth", nil, func(d *DoseForm) { d.Date = "2026-01-02"; d.VISDate = "" }, "AE", []string{fDate}, nil, "before the patient's birth date"},
		{"no vaccine", nil, func(d *DoseForm) { d.CVX = "" }, "AE", []string{fCVX}, nil, "Administered code (vaccine) is required"},
		{"unknown vaccine", nil, func(d *DoseForm) { d.CVX = "9876" }, "AE", []string{fCVX}, nil, "is not a recognised CVX code"},
		{"unknown manufacturer and site", nil, func(d *DoseForm) { d.MVX, d.Site = "ZZZ", "XX" }, "AA", nil, []string{fMVX, fSite}, ""},
		{"unknown eligibility", nil, func(d *DoseForm) { d.Eligibility = "V99" }, "AA", nil, []string{fEligibility}, ""},
		{"amount not a number", nil, func(d *DoseForm) { d.Amount = "half" }, "AA", nil, []string{fAmount}, ""},
		{"birth date in the future", func(p *PatientForm) { p.BirthDate = "2027-01-01" }, nil, "AE", []string{fBirthDate}, nil, `Birth date "20270101" is in the future`},
		{"no birth date", func(p *PatientForm) { p.BirthDate = "" }, nil, "AE", []string{fBirthDate}, nil, "required"},
		{"no name", func(p *PatientForm) { p.Family, p.Given, p.Middle = "", "", "" }, nil, "AE", []string{fFamily}, nil, "required"},
		{"guardian without relationship", func(p *PatientForm) { p.GuardianRelationship = "" }, nil, "AE", []string{fGuardianRel}, nil, ""},
		{"no funding eligibility", nil, func(d *DoseForm) { d.Eligibility = "" }, "AA", nil, []string{fEligibility}, ""},
		{"historical dose", nil, func(d *DoseForm) { d.Historical, d.Source = true, "02" }, "AA", nil, nil, ""},
		{"all well", nil, func(*DoseForm) {}, "AA", nil, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := Header{Facility: "CLINIC-A", ControlID: NewControlID(), Time: testNow}
			pf := fullPatientForm()
			if tc.patient != nil {
				tc.patient(&pf)
			}
			p := pf.Patient(h.Facility, h.ControlID, Problems{})
			var raw []byte
			var dose = (*DoseForm)(nil)
			if tc.dose != nil {
				df := fullDoseForm()
				tc.dose(&df)
				dose = &df
			}
			if dose == nil {
				raw = BuildVXU(h, &p, nil)
				vd, err := ReadAck(val.Ack(val.Decode(raw)), nil)
				check(t, vd, err, tc.code, tc.errors, tc.warns, tc.text)
				return
			}
			v := dose.Vaccination(codes, h.Facility, Problems{})
			v.FillerOrder.Value = "D1"
			raw = BuildVXU(h, &p, &v)
			vd, err := ReadAck(val.Ack(val.Decode(raw)), &v)
			check(t, vd, err, tc.code, tc.errors, tc.warns, tc.text)
		})
	}
}

func check(t *testing.T, vd Verdict, err error, code string, errs, warns []string, text string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if vd.Code != code {
		t.Errorf("code %s, want %s (errors %v, warnings %v)", vd.Code, code, vd.Errors, vd.Warnings)
	}
	if got := keys(vd.Errors); !reflect.DeepEqual(got, sorted(errs)) {
		t.Errorf("errors on %v, want %v: %v", got, errs, vd.Errors)
	}
	if got := keys(vd.Warnings); !reflect.DeepEqual(got, sorted(warns)) {
		t.Errorf("warnings on %v, want %v: %v", got, warns, vd.Warnings)
	}
	if text != "" {
		found := false
		for _, ms := range vd.Errors {
			for _, m := range ms {
				found = found || strings.Contains(m, text)
			}
		}
		if !found {
			t.Errorf("no error says %q: %v", text, vd.Errors)
		}
	}
}

func keys(p Problems) []string {
	var out []string
	for k := range p {
		out = append(out, k)
	}
	return sorted(out)
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// FuzzReadAck: any reply, however broken, is read into a verdict or an
// error, never a panic; a reply that is not AA always carries a message.
func FuzzReadAck(f *testing.F) {
	val := testValidator()
	h := Header{Facility: "CLINIC-A", ControlID: "WEB1", Time: testNow}
	p := fullPatientForm().Patient(h.Facility, h.ControlID, Problems{})
	v := fullDoseForm().Vaccination(codeset.Default(), h.Facility, Problems{})
	f.Add(val.Ack(val.Decode(BuildVXU(h, &p, &v))))
	v.AdministeredAt = testNow.AddDate(1, 0, 0)
	f.Add(val.Ack(val.Decode(BuildVXU(h, &p, &v))))
	f.Add([]byte("MSH|^~\\&|||||||ACK|1|P|2.5.1\rMSA|AR|1\rERR||RXA^x^y^^z|||E||||\r"))
	f.Fuzz(func(t *testing.T, ack []byte) {
		vd, err := ReadAck(ack, &v)
		if err == nil && !vd.Accepted() && len(vd.Errors) == 0 {
			t.Fatalf("verdict %s without a message", vd.Code)
		}
	})
}
