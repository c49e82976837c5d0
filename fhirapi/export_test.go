package fhirapi

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func export(t *testing.T, f *fixture, ctxFacility string, typ string, ids []int64) []map[string]any {
	t.Helper()
	var out []map[string]any
	err := f.srv.ExportNDJSON(grant(ctxFacility), typ, ids, time.Time{}, func(line []byte) error {
		validResource(t, line)
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExportNDJSON(t *testing.T) {
	files := []string{"vxu-child-flu-nist-iz001-vfc-v05-vis.hl7", "vxu-child-refusal-mmr-rxa20-re-minimal.hl7",
		"vxu-child-3-doses-2-historical-dtap-pcv13-admin-dtap-vfc-v03.hl7"}
	f := newFixture(t, files...)
	var ids []int64
	for _, n := range files {
		ids = append(ids, f.patients[n])
	}
	ids = append(ids, 999999) // no such patient: left out
	pats := export(t, f, "", "Patient", ids)
	if len(pats) != 3 {
		t.Fatalf("exported %d patients, want 3", len(pats))
	}
	imms := export(t, f, "", "Immunization", ids)
	if len(imms) != 5 {
		t.Errorf("exported %d immunizations, want 5 (1 flu, 1 refusal, 3 doses)", len(imms))
	}
	recs := export(t, f, "", "ImmunizationRecommendation", ids)
	if len(recs) != 3 {
		t.Errorf("exported %d recommendations, want 3", len(recs))
	}
	// A grant for a facility sees the patients that facility reported.
	if got := export(t, f, "X68", "Patient", ids); len(got) != 2 {
		t.Errorf("facility X68 exported %d patients, want the 2 it reported", len(got))
	}
	// Each export is audited per patient.
	var n int
	if err := f.store.Pool().QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE actor = 'fhir:test-client' AND action = 'disclose'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3+3+3+2 {
		t.Errorf("%d disclosures audited, want 11", n)
	}
	// Without the scope, nothing.
	err := f.srv.ExportNDJSON(grant("", "system/Patient.rs"), "Immunization", ids, time.Time{}, func([]byte) error { return nil })
	if !errors.Is(err, ErrForbidden) {
		t.Errorf("export without the scope: %v, want ErrForbidden", err)
	}
}
