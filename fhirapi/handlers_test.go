package fhirapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
)

// mux is the Server's routes on a ServeMux, as iisd mounts them (without
// the SMART middleware: the tests put grants in the contexts themselves).
func (f *fixture) mux() *http.ServeMux {
	m := http.NewServeMux()
	f.srv.Register(func(p string, h http.Handler) { m.Handle(p, h) })
	return m
}

// do sends a request with ctx's grant and returns the status and the body
// as JSON, after checking that the body is a valid R4 resource.
func (f *fixture) do(t *testing.T, ctx context.Context, method, target, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	f.mux().ServeHTTP(rec, req)
	b := rec.Body.Bytes()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, fhirJSON) {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, target, ct, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	validAnswer(t, b, m)
	return rec.Code, m
}

// validAnswer validates an answer: a Parameters resource by each of its
// resources (google/fhir/go does not read a resource within Parameters),
// any other as a whole.
func validAnswer(t *testing.T, b []byte, m map[string]any) {
	t.Helper()
	if m["resourceType"] != "Parameters" {
		validResource(t, b)
		return
	}
	for _, p := range m["parameter"].([]any) {
		if r, ok := p.(map[string]any)["resource"]; ok {
			validResource(t, mustJSON(r))
		}
	}
}

func entries(m map[string]any) []map[string]any {
	var out []map[string]any
	es, _ := m["entry"].([]any)
	for _, e := range es {
		out = append(out, e.(map[string]any))
	}
	return out
}

func resource(e map[string]any) map[string]any { return e["resource"].(map[string]any) }

const (
	flu     = "vxu-child-flu-nist-iz001-vfc-v05-vis.hl7"
	refusal = "vxu-child-refusal-mmr-rxa20-re-minimal.hl7"
	dtap    = "vxu-child-3-doses-2-historical-dtap-pcv13-admin-dtap-vfc-v03.hl7"
)

func TestPatientReadAndSearch(t *testing.T) {
	f := newFixture(t, flu, refusal, dtap)
	ctx := grant("")
	id := itoa(f.patients[flu])
	code, p := f.do(t, ctx, "GET", "/fhir/Patient/"+id, "")
	if code != 200 || p["id"] != id || p["birthDate"] != "2007-07-06" || p["gender"] != "female" {
		t.Fatalf("read: %d %v", code, p)
	}
	if code, _ := f.do(t, ctx, "GET", "/fhir/Patient/987654", ""); code != 404 {
		t.Errorf("unknown patient: %d, want 404", code)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"family=snow", 1}, {"family=Sno&given=mad", 1}, {"name=madelynn", 1}, {"birthdate=2007-07-06", 1},
		{"gender=female", 1}, {"gender=male", 2}, {"identifier=urn:iis:assigning-authority:NIST%20MPI|D26376273", 1},
		{"identifier=D26376273", 1}, {"family=nobody", 0}, {"", 3},
	} {
		code, b := f.do(t, ctx, "GET", "/fhir/Patient?"+tc.query, "")
		if code != 200 || len(entries(b)) != tc.want {
			t.Errorf("Patient?%s: %d, %d entries, want %d", tc.query, code, len(entries(b)), tc.want)
		}
	}
	// Paging: one a page, following next.
	seen := 0
	next := "/fhir/Patient?_count=1"
	for next != "" && seen < 10 {
		_, b := f.do(t, ctx, "GET", next, "")
		seen += len(entries(b))
		next = ""
		for _, l := range b["link"].([]any) {
			if l := l.(map[string]any); l["relation"] == "next" {
				next = l["url"].(string)
			}
		}
	}
	if seen != 3 {
		t.Errorf("paging with _count=1 gave %d patients, want 3", seen)
	}
	// A grant for facility X68 sees only the patients X68 reported.
	if _, b := f.do(t, grant("X68"), "GET", "/fhir/Patient", ""); len(entries(b)) != 2 {
		t.Errorf("X68's search: %d patients, want 2", len(entries(b)))
	}
	if code, _ := f.do(t, grant("OTHER"), "GET", "/fhir/Patient/"+id, ""); code != 404 {
		t.Errorf("another facility's read: %d, want 404", code)
	}
}

func TestAuthorization(t *testing.T) {
	f := newFixture(t, flu)
	id := itoa(f.patients[flu])
	if code, b := f.do(t, context.Background(), "GET", "/fhir/Patient/"+id, ""); code != 401 || b["resourceType"] != "OperationOutcome" {
		t.Errorf("no grant: %d %v, want 401 OperationOutcome", code, b)
	}
	for _, target := range []string{"/fhir/Patient/" + id, "/fhir/Immunization?patient=" + id, "/fhir/ImmunizationRecommendation?patient=" + id} {
		if code, _ := f.do(t, grant("", "system/Group.rs"), "GET", target, ""); code != 403 {
			t.Errorf("%s without the scope: %d, want 403", target, code)
		}
	}
	if code, _ := f.do(t, grant("", "system/Patient.r"), "GET", "/fhir/Patient?family=snow", ""); code != 403 {
		t.Errorf("search with a read-only scope: %d, want 403", code)
	}
	if code, _ := f.do(t, context.Background(), "GET", "/fhir/metadata", ""); code != 200 {
		t.Errorf("metadata: %d, want 200 without a token", code)
	}
}

func TestOptedOutNeverDisclosed(t *testing.T) {
	f := newFixture(t, flu, refusal)
	id := f.patients[flu]
	if err := f.store.RecordOptOut(t.Context(), registry.OptOut{PatientID: id, SignedOn: assessedOn, FormRef: "form-1", RecordedBy: "user:test"}); err != nil {
		t.Fatal(err)
	}
	ctx := grant("")
	for _, target := range []string{"/fhir/Patient/" + itoa(id), "/fhir/Immunization?patient=" + itoa(id),
		"/fhir/ImmunizationRecommendation?patient=" + itoa(id), "/fhir/Patient/" + itoa(id) + "/$immds-forecast"} {
		if code, _ := f.do(t, ctx, "GET", target, ""); code != 404 {
			t.Errorf("%s of an opted-out patient: %d, want 404", target, code)
		}
	}
	if _, b := f.do(t, ctx, "GET", "/fhir/Patient?family=snow", ""); len(entries(b)) != 0 {
		t.Errorf("an opted-out patient was found by search")
	}
	_, b := f.do(t, ctx, "POST", "/fhir/Patient/$match", matchBody("Snow", "Madelynn", "2007-07-06"))
	if len(entries(b)) != 0 {
		t.Errorf("an opted-out patient was returned by $match")
	}
	if n := len(export(t, f, "", "Patient", []int64{id})); n != 0 {
		t.Errorf("an opted-out patient was exported")
	}
}

func matchBody(family, given, dob string) string {
	return `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","name":[{"family":"` +
		family + `","given":["` + given + `"]}],"birthDate":"` + dob + `","gender":"female"}}]}`
}

func TestMatch(t *testing.T) {
	f := newFixture(t, flu, refusal, dtap)
	_, b := f.do(t, grant(""), "POST", "/fhir/Patient/$match", matchBody("Snow", "Madelynn", "2007-07-06"))
	es := entries(b)
	if len(es) != 1 || resource(es[0])["id"] != itoa(f.patients[flu]) {
		t.Fatalf("$match: %v", b)
	}
	search := es[0]["search"].(map[string]any)
	if search["score"] == nil || !strings.Contains(string(mustJSON(search)), "match-grade") {
		t.Errorf("$match entry without score and match-grade: %v", search)
	}
	// A misspelt name is a possible match at best, and never merged.
	_, b = f.do(t, grant(""), "POST", "/fhir/Patient/$match", matchBody("Snow", "Madeline", "2007-07-06"))
	for _, e := range entries(b) {
		t.Logf("misspelt: %s", mustJSON(e["search"]))
	}
	var patients int
	if err := f.store.Pool().QueryRow(t.Context(), `SELECT count(*) FROM patients WHERE merged_into IS NULL`).Scan(&patients); err != nil || patients != 3 {
		t.Errorf("patients after $match: %d (%v), want 3", patients, err)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestImmunizationSearchAndForecast(t *testing.T) {
	f := newFixture(t, flu, dtap)
	ctx := grant("")
	id := itoa(f.patients[dtap])
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 3}, {"&vaccine-code=http://hl7.org/fhir/sid/cvx|133", 1}, {"&vaccine-code=20,133", 3},
		{"&date=ge2013-06-01", 2}, {"&date=ge2013-05-01&date=le2013-07-01", 1}, {"&date=lt2000-01-01", 0},
	} {
		code, b := f.do(t, ctx, "GET", "/fhir/Immunization?patient=Patient/"+id+tc.query, "")
		if code != 200 || len(entries(b)) != tc.want {
			t.Errorf("Immunization?patient=%s%s: %d, %d entries, want %d", id, tc.query, code, len(entries(b)), tc.want)
		}
	}
	code, b := f.do(t, ctx, "GET", "/fhir/ImmunizationRecommendation?patient="+id, "")
	if code != 200 || len(entries(b)) != 1 {
		t.Fatalf("ImmunizationRecommendation: %d %v", code, b)
	}
	recs := resource(entries(b)[0])["recommendation"].([]any)
	if len(recs) == 0 {
		t.Errorf("no recommendations")
	}
	code, b = f.do(t, ctx, "GET", "/fhir/ImmunizationEvaluation?patient="+id, "")
	if code != 200 || len(entries(b)) < 3 {
		t.Errorf("ImmunizationEvaluation: %d, %d entries, want one per dose and group at least", code, len(entries(b)))
	}
	code, b = f.do(t, ctx, "GET", "/fhir/Patient/"+id+"/$immds-forecast", "")
	if code != 200 || b["resourceType"] != "Parameters" {
		t.Errorf("$immds-forecast: %d %v", code, b)
	}
}

func TestSystemForecast(t *testing.T) {
	f := newFixture(t)
	body := `{"resourceType":"Parameters","parameter":[
		{"name":"assessmentDate","valueDate":"2013-01-15"},
		{"name":"patient","resource":{"resourceType":"Patient","id":"p1","birthDate":"2012-01-01","gender":"male"}},
		{"name":"immunization","resource":{"resourceType":"Immunization","id":"i1","status":"completed",
			"vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"20"}]},"patient":{"reference":"Patient/p1"},
			"occurrenceDateTime":"2012-03-01"}},
		{"name":"immunization","resource":{"resourceType":"Immunization","id":"i2","status":"completed",
			"vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"20"}]},"patient":{"reference":"Patient/p1"},
			"occurrenceDateTime":"2012-05-01"}}]}`
	code, b := f.do(t, grant("", "system/ImmunizationRecommendation.r"), "POST", "/fhir/$immds-forecast", body)
	if code != 200 || b["resourceType"] != "Parameters" {
		t.Fatalf("$immds-forecast: %d %v", code, b)
	}
	var dtapDose any
	for _, p := range b["parameter"].([]any) {
		p := p.(map[string]any)
		if p["name"] != "recommendation" {
			continue
		}
		for _, r := range p["resource"].(map[string]any)["recommendation"].([]any) {
			r := r.(map[string]any)
			if bytes.Contains(mustJSON(r["vaccineCode"]), []byte(`"107"`)) {
				dtapDose = r["doseNumberPositiveInt"]
			}
		}
	}
	if dtapDose != float64(3) {
		t.Errorf("DTaP after two valid doses: next dose %v, want 3\n%s", dtapDose, mustJSON(b))
	}
	if code, _ := f.do(t, grant(""), "POST", "/fhir/$immds-forecast", `{"resourceType":"Parameters"}`); code != 400 {
		t.Errorf("$immds-forecast without a patient: %d, want 400", code)
	}
}

func TestMergedPatient(t *testing.T) {
	f := newFixture(t, flu, refusal)
	survivor, merged := f.patients[flu], f.patients[refusal]
	if err := f.store.Merge(t.Context(), survivor, merged, "user:test"); err != nil {
		t.Fatal(err)
	}
	code, b := f.do(t, grant(""), "GET", "/fhir/Patient/"+itoa(merged), "")
	if code != 410 || !strings.Contains(string(mustJSON(b)), "Patient/"+itoa(survivor)) {
		t.Errorf("read of a merged-away id: %d %v, want 410 naming Patient/%d", code, b, survivor)
	}
	// A client who may not see the survivor learns nothing of it.
	if code, _ := f.do(t, grant("NOBODY"), "GET", "/fhir/Patient/"+itoa(merged), ""); code != 404 {
		t.Errorf("merged-away id, survivor out of the grant: %d, want 404", code)
	}
	if n := len(export(t, f, "", "Patient", []int64{merged})); n != 0 {
		t.Errorf("a merged-away id was exported")
	}
}

func TestExportSince(t *testing.T) {
	f := newFixture(t, flu, dtap)
	ids := []int64{f.patients[flu], f.patients[dtap]}
	count := func(since time.Time) int {
		n := 0
		if err := f.srv.ExportNDJSON(grant(""), "Patient", ids, since, func([]byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(time.Now().Add(-time.Hour)); n != 2 {
		t.Errorf("changed in the last hour: %d, want 2", n)
	}
	if n := count(time.Now().Add(time.Hour)); n != 0 {
		t.Errorf("changed after an hour from now: %d, want 0", n)
	}
}
