package fhirapi

import (
	"reflect"
	"testing"

	"github.com/iisproject/iis/registry"
)

// TestImmunizationRead reads each Immunization the searches give by its id
// (an administered dose, a historical one, a refusal) and checks that a
// read is refused as Patient read is: other scopes, other facilities, an
// opted-out patient, unknown ids.
func TestImmunizationRead(t *testing.T) {
	f := newFixture(t, dtap, refusal)
	ctx := grant("")
	var ids []string
	for _, file := range []string{dtap, refusal} {
		code, b := f.do(t, ctx, "GET", "/fhir/Immunization?patient="+itoa(f.patients[file]), "")
		if code != 200 || len(entries(b)) == 0 {
			t.Fatalf("Immunization search of %s: %d %v", file, code, b)
		}
		for _, e := range entries(b) {
			want := resource(e)
			id := want["id"].(string)
			code, got := f.do(t, ctx, "GET", "/fhir/Immunization/"+id, "")
			if code != 200 || !reflect.DeepEqual(got, want) {
				t.Errorf("Immunization/%s: %d\n got %v\nwant %v", id, code, got, want)
			}
			ids = append(ids, id)
		}
	}
	var audited int
	if err := f.store.Pool().QueryRow(t.Context(), `SELECT count(*) FROM audit_log
		WHERE actor = 'fhir:test-client' AND action = 'disclose' AND detail = 'FHIR read: Immunization'`).Scan(&audited); err != nil || audited != len(ids) {
		t.Errorf("audit rows of the reads: %d (%v), want %d", audited, err, len(ids))
	}
	first := "/fhir/Immunization/" + ids[0]
	for _, tc := range []struct {
		name   string
		target string
		grant  []string // facility, scopes…
		want   int
	}{
		{"the reporting facility", first, []string{"FAC" + dtap[:3]}, 200},
		{"another facility", first, []string{"FACOTHER"}, 404},
		{"a Patient-only scope", first, []string{"", "system/Patient.rs"}, 403},
		{"a search-only scope", first, []string{"", "system/Immunization.s"}, 403},
		{"an unknown id", "/fhir/Immunization/999999999", []string{""}, 404},
		{"a malformed id", "/fhir/Immunization/abc", []string{""}, 404},
		{"a patient id", "/fhir/Immunization/0", []string{""}, 404},
	} {
		if code, _ := f.do(t, grant(tc.grant[0], tc.grant[1:]...), "GET", tc.target, ""); code != tc.want {
			t.Errorf("%s: %s answered %d, want %d", tc.name, tc.target, code, tc.want)
		}
	}
	if !capable(t, f, "Immunization", "read") {
		t.Errorf("the CapabilityStatement does not list Immunization read")
	}
	if err := f.store.RecordOptOut(t.Context(), registry.OptOut{PatientID: f.patients[dtap], SignedOn: assessedOn, FormRef: "form-1", RecordedBy: "user:test"}); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.do(t, ctx, "GET", first, ""); code != 404 {
		t.Errorf("Immunization of an opted-out patient: %d, want 404", code)
	}
	if code, _ := f.do(t, ctx, "GET", "/fhir/Immunization/"+ids[len(ids)-1], ""); code != 200 {
		t.Errorf("Immunization of another patient after the opt-out: %d, want 200", code)
	}
}

// capable reports whether the CapabilityStatement lists interaction on
// resourceType.
func capable(t *testing.T, f *fixture, resourceType, interaction string) bool {
	_, capab := f.do(t, grant(""), "GET", "/fhir/metadata", "")
	for _, rest := range capab["rest"].([]any) {
		for _, r := range rest.(map[string]any)["resource"].([]any) {
			res := r.(map[string]any)
			if res["type"] != resourceType {
				continue
			}
			for _, in := range res["interaction"].([]any) {
				if in.(map[string]any)["code"] == interaction {
					return true
				}
			}
		}
	}
	return false
}
