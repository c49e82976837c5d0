package fhirapi

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis"
)

// FuzzSearchParameters: any query string gives a search or an error,
// never a crash.
func FuzzSearchParameters(f *testing.F) {
	for _, s := range []string{"family=snow&birthdate=2007-07-06", "identifier=a|b", "_count=0", "date=ge2012-01-01&date=lt2013",
		"vaccine-code=http://hl7.org/fhir/sid/cvx|140,20", "gender=x", "_after=-1", "date=zz", "birthdate=eq"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		if s, err := patientSearch(v); err == nil && (s.Limit < 1 || s.Limit > maxCount) {
			t.Errorf("%q: page size %d", q, s.Limit)
		}
		if keep, err := immunizationFilter(v); err == nil {
			keep(&iis.Vaccination{CVX: "140", AdministeredAt: time.Date(2012, 8, 14, 0, 0, 0, 0, time.UTC)})
		}
	})
}

// FuzzParameters: any body given to $match or $immds-forecast is read or
// refused with an error, never a crash.
func FuzzParameters(f *testing.F) {
	f.Add(`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","birthDate":"2007-07-06"}}]}`)
	f.Add(`{"resourceType":"Parameters","parameter":[{"name":"assessmentDate","valueDate":"2013-01-15"}]}`)
	f.Add(`{"resourceType":"Parameters","parameter":[{"name":"immunization","resource":{"resourceType":"Immunization"}}]}`)
	f.Add(`[]`)
	srv := &Server{}
	var err error
	if srv.parse, err = newUnmarshaller(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		ps, err := srv.parameters(httptest.NewRequest("POST", "/fhir/$immds-forecast", strings.NewReader(body)))
		if err != nil {
			return
		}
		for _, p := range ps {
			if pat := p.res.GetPatient(); pat != nil {
				fromFHIR(pat, nil)
				matchQuery(pat)
			}
		}
	})
}
