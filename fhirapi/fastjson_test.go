package fhirapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	cpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/codes_go_proto"
	"google.golang.org/protobuf/proto"
)

// TestFastJSONAgrees writes every resource the registry's testdata VXUs
// make (Patients, Immunizations, ImmunizationRecommendations and
// ImmunizationEvaluations), the CapabilityStatement and an
// OperationOutcome with both the export's writer and jsonformat, and
// requires the same JSON.
func TestFastJSONAgrees(t *testing.T) {
	f, recs := testdataRecords(t)
	msgs := []proto.Message{capabilityStatement("test"), outcome(cpb.IssueTypeCode_NOT_FOUND, `Patient/1 "<unknown>" & gone`)}
	for i := range recs {
		r := &recs[i]
		msgs = append(msgs, toPatient(r))
		for j := range r.Vaccinations {
			msgs = append(msgs, toImmunization(r.DoseIDs[j], r.PatientID, &r.Vaccinations[j]))
		}
		a := f.srv.assess(r)
		msgs = append(msgs, a.recommendation())
		for _, ev := range a.evaluations() {
			msgs = append(msgs, ev)
		}
	}
	// A searchset Bundle of them.
	var es []entry
	for _, m := range msgs[2:6] {
		es = append(es, entry{res: m, fullURL: "/fhir/x", score: 0.5, grade: "possible", hasScore: true})
	}
	msgs = append(msgs, f.srv.searchset(es, "/fhir/Patient?x=1", "/fhir/Patient?x=2", 4))
	fast := 0
	for _, m := range msgs {
		got, err := appendResource(nil, m.ProtoReflect())
		if errors.Is(err, errFallback) {
			t.Logf("%s: left to jsonformat", proto.MessageName(m))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		fast++
		want, err := f.srv.json.MarshalResource(m)
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%v\n%s", err, got)
		}
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s differs:\nfast:       %s\njsonformat: %s", proto.MessageName(m), got, want)
		}
	}
	if fast < len(msgs)-1 {
		t.Errorf("the fast writer wrote %d of %d resources", fast, len(msgs))
	}
}
