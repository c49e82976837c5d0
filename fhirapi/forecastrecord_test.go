package fhirapi

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
)

// TestForecastRecordAgrees requires the forecast of every testdata record
// read with the forecast's light read (Registry.ForecastRecord) to be the
// forecast of the full record (ReadRecords with Demographics and Doses),
// byte for byte: $immds-forecast's Parameters and both searchsets; and the
// light read to say the same of disclosure for every facility.
func TestForecastRecordAgrees(t *testing.T) {
	f, recs := testdataRecords(t)
	observed := 0
	for i := range recs {
		full := &recs[i]
		light, err := f.store.ForecastRecord(t.Context(), full.PatientID, "")
		if err != nil || light == nil {
			t.Fatalf("ForecastRecord(%d): %v, %v", full.PatientID, light, err)
		}
		if len(full.Patient.Observations) > 0 {
			observed++
		}
		if !light.Patient.BirthDate.Equal(full.Patient.BirthDate) || light.Patient.Sex != full.Patient.Sex ||
			!reflect.DeepEqual(light.Patient.Observations, full.Patient.Observations) ||
			!reflect.DeepEqual(light.Vaccinations, full.Vaccinations) || !reflect.DeepEqual(light.DoseIDs, full.DoseIDs) {
			t.Errorf("patient %d: the light read differs from the full one", full.PatientID)
		}
		a, b := f.srv.assess(full), f.srv.assess(light)
		for _, out := range []struct {
			what string
			of   func(*assessment) []byte
		}{
			{"Parameters", func(a *assessment) []byte { return a.appendForecastParameters(nil) }},
			{"recommendation searchset", func(a *assessment) []byte { return f.srv.appendRecommendationSearchset(nil, "/fhir/x", a) }},
			{"evaluation searchset", func(a *assessment) []byte { return f.srv.appendEvaluationSearchset(nil, "/fhir/x", a) }},
		} {
			if got, want := out.of(b), out.of(a); !bytes.Equal(got, want) {
				t.Errorf("patient %d: %s differs:\nlight: %s\nfull:  %s", full.PatientID, out.what, got, want)
			}
		}
		for _, facility := range []string{"", "FACvxu", "FACOTHER"} {
			fr, err := f.store.ReadRecords(t.Context(), []int64{full.PatientID}, facility, time.Time{}, registry.RecordParts{})
			if err != nil {
				t.Fatal(err)
			}
			lr, err := f.store.ForecastRecord(t.Context(), full.PatientID, facility)
			if err != nil {
				t.Fatal(err)
			}
			if lr.Withheld != fr[0].Withheld || lr.Related != fr[0].Related || lr.MergedInto != fr[0].MergedInto {
				t.Errorf("patient %d, facility %q: disclosure differs: light %v %v %d, full %v %v %d", full.PatientID, facility,
					lr.Withheld, lr.Related, lr.MergedInto, fr[0].Withheld, fr[0].Related, fr[0].MergedInto)
			}
		}
	}
	if observed == 0 {
		t.Errorf("%d records, none with patient observations: the testdata exercises too little", len(recs))
	}
	if unknown, err := f.store.ForecastRecord(t.Context(), 1<<40, ""); unknown != nil || err != nil {
		t.Errorf("ForecastRecord of an unknown patient: %v, %v; want nil, nil", unknown, err)
	}
}
