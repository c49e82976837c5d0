package fhirapi

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/iisproject/iis/registry"
)

// named is a resource of an answer's Parameters.
type named struct {
	name string
	res  proto.Message
}

// protoParameters is $immds-forecast's answer written from the protos.
func (s *Server) protoParameters(t *testing.T, a *assessment) []byte {
	ps := []named{{"recommendation", a.recommendation()}}
	for _, ev := range a.evaluations() {
		ps = append(ps, named{"evaluation", ev})
	}
	b := []byte(`{"resourceType":"Parameters","parameter":[`)
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, p.name)
		b = append(b, `,"resource":`...)
		b = append(b, s.protoJSON(t, p.res)...)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func (s *Server) protoJSON(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := s.json.MarshalResource(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s differs:\ndirect:     %s\njsonformat: %s", what, got, want)
	}
}

// TestForecastJSONAgrees writes the forecast's answers of every record the
// testdata VXUs make (and of records with unusual ids) both straight from
// the engine's result and from the protos through jsonformat, and requires
// the same JSON: the recommendation, each evaluation, the searchsets and
// $immds-forecast's Parameters.
func TestForecastJSONAgrees(t *testing.T) {
	f, recs := testdataRecords(t)
	var as []*assessment
	for i := range recs {
		as = append(as, f.srv.assess(&recs[i]))
	}
	// A client's own ids ($immds-forecast with resources) may be any text.
	if len(recs) > 0 {
		r := &recs[0]
		odd := make([]string, len(r.DoseIDs))
		for i := range odd {
			odd[i] = `imm"<&>` + itoa(int64(i))
		}
		as = append(as, assess(f.srv.fc, `p\"é`, &r.Patient, r.Vaccinations, odd, time.Date(5, 3, 1, 0, 0, 0, 0, time.UTC)))
	}
	evaluations := 0
	for _, a := range as {
		rec := a.recommendation()
		sameJSON(t, "recommendation", a.appendRecommendation(nil), f.srv.protoJSON(t, rec))
		sameJSON(t, "Parameters", a.appendForecastParameters(nil), f.srv.protoParameters(t, a))
		sameJSON(t, "recommendation searchset", f.srv.appendRecommendationSearchset(nil, "/fhir/ImmunizationRecommendation?patient=1", a),
			f.srv.protoJSON(t, f.srv.searchset([]entry{{res: rec, fullURL: f.srv.base + "/ImmunizationRecommendation/" + rec.Id.Value}}, "/fhir/ImmunizationRecommendation?patient=1", "", 1)))
		var es []entry
		for _, ev := range a.evaluations() {
			es = append(es, entry{res: ev, fullURL: f.srv.base + "/ImmunizationEvaluation/" + ev.Id.Value})
		}
		evaluations += len(es)
		sameJSON(t, "evaluation searchset", f.srv.appendEvaluationSearchset(nil, "/fhir/ImmunizationEvaluation?patient=1", a),
			f.srv.protoJSON(t, f.srv.searchset(es, "/fhir/ImmunizationEvaluation?patient=1", "", len(es))))
	}
	if len(as) < 2 || evaluations == 0 {
		t.Fatalf("%d assessments, %d evaluations: the testdata exercises nothing", len(as), evaluations)
	}
}

// testdataRecords is a fixture of every testdata VXU and the records they
// make, with demographics and doses.
func testdataRecords(t *testing.T) (*fixture, []registry.DisclosableRecord) {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() {
			files = append(files, e.Name())
		}
	}
	f := newFixture(t, files...)
	var ids []int64
	for _, id := range f.patients {
		ids = append(ids, id)
	}
	recs, err := f.store.ReadRecords(t.Context(), ids, "", time.Time{}, registry.RecordParts{Demographics: true, Doses: true})
	if err != nil {
		t.Fatal(err)
	}
	return f, recs
}
