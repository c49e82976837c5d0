package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/iisproject/iis/registry"
)

// patientState is everything a merge touches of one patient, as text.
func patientState(t *testing.T, s *registry.Store, id int64) string {
	t.Helper()
	var out string
	err := s.Pool().QueryRow(context.Background(), `SELECT concat_ws(' | ',
		(SELECT coalesce(merged_into::text, '-') || ' ' || encode(match_record, 'escape') FROM patients WHERE id = $1),
		(SELECT string_agg(value || '/' || authority, ',' ORDER BY value, authority) FROM patient_identifiers WHERE patient_id = $1),
		(SELECT string_agg(family || '/' || given, ',' ORDER BY family, given) FROM patient_names WHERE patient_id = $1),
		(SELECT string_agg(street || '/' || zip, ',' ORDER BY street, zip) FROM patient_addresses WHERE patient_id = $1),
		(SELECT string_agg(number, ',' ORDER BY number) FROM patient_phones WHERE patient_id = $1),
		(SELECT string_agg(key::text, ',' ORDER BY key) FROM patient_blocking_keys WHERE patient_id = $1),
		(SELECT string_agg(id::text, ',' ORDER BY id) FROM source_reports WHERE patient_id = $1),
		(SELECT string_agg(detail, ',' ORDER BY report_id, seq) FROM patient_observations WHERE patient_id = $1),
		(SELECT string_agg(cvx || '@' || administered_on || 'x' || source_count, ',' ORDER BY administered_on, cvx) FROM vaccination_events WHERE patient_id = $1))`,
		id).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUnmerge: a wrong merge is undone exactly — both patients as they
// were, events rebuilt — except that a report received after the merge
// stays with the survivor it was linked to. The merged patient's
// patient-level observations move with its reports, and back.
func TestUnmerge(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	namesake := person{mrn: "Z9", authority: "CLINIC_C", last: "Whitfield", first: "Alice", dob: "20220314", sex: "F",
		street: "900 Oak Avenue", city: "Billings", zip: "59101", phone: "4065559999"}
	r1 := apply(t, s, message(t, "CLINIC_A", "u1", vxu("CLINIC_A", "u1", alice, "20:20240301:L1")))
	immune := strings.Replace(string(vxu("CLINIC_C", "u2", namesake, "20:20240301", "08:20240501")), "\rORC",
		"\rOBX|1|CE|59784-9^Disease with presumed immunity^LN|1|38907003^Varicella infection^SCT||||||F\rORC", 1)
	r2 := apply(t, s, message(t, "CLINIC_C", "u2", []byte(immune)))
	if r2.Outcome != registry.OutcomePossible {
		t.Fatalf("outcome %s, want possible", r2.Outcome)
	}
	before1, before2 := patientState(t, s, r1.PatientID), patientState(t, s, r2.PatientID)
	if err := s.Merge(ctx, r1.PatientID, r2.PatientID, "reviewer"); err != nil {
		t.Fatal(err)
	}
	if got := patientState(t, s, r1.PatientID); got == before1 {
		t.Fatal("merge changed nothing")
	}
	if p, _, err := s.History(ctx, r1.PatientID); err != nil || len(p.Observations) != 1 || p.Observations[0].Coded.Code != "38907003" {
		t.Errorf("survivor's observations after the merge: %+v (%v)", p.Observations, err)
	}
	var link int64
	if err := s.Pool().QueryRow(ctx, `SELECT id FROM patient_links WHERE kind = 'merge' AND merged_id = $1`, r2.PatientID).Scan(&link); err != nil {
		t.Fatal(err)
	}
	if err := s.Unmerge(ctx, link, "supervisor"); err != nil {
		t.Fatal(err)
	}
	if got := patientState(t, s, r1.PatientID); got != before1 {
		t.Errorf("survivor after unmerge:\n%s\nwant\n%s", got, before1)
	}
	if got := patientState(t, s, r2.PatientID); got != before2 {
		t.Errorf("merged patient after unmerge:\n%s\nwant\n%s", got, before2)
	}
	if err := s.Unmerge(ctx, link, "supervisor"); !errors.Is(err, registry.ErrNotMerged) {
		t.Errorf("second unmerge: %v, want ErrNotMerged", err)
	}
	if got := count(t, s, `SELECT count(*) FROM patient_links WHERE kind = 'unmerge' AND merged_id = $1 AND decided_by = 'supervisor'`, r2.PatientID); got != 1 {
		t.Errorf("unmerge links = %d", got)
	}
	if got := count(t, s, `SELECT count(*) FROM audit_log WHERE action = 'unmerge'`); got != 2 {
		t.Errorf("unmerge audit rows = %d, want one per patient", got)
	}

	// Merge again, receive a report, unmerge: the new report stays.
	if err := s.Merge(ctx, r1.PatientID, r2.PatientID, "reviewer"); err != nil {
		t.Fatal(err)
	}
	r3 := apply(t, s, message(t, "CLINIC_C", "u3", vxu("CLINIC_C", "u3", namesake, "03:20240601")))
	if r3.PatientID != r1.PatientID {
		t.Fatalf("report after the merge went to %d", r3.PatientID)
	}
	if err := s.Pool().QueryRow(ctx, `SELECT id FROM patient_links WHERE kind = 'merge' AND merged_id = $1 AND undone_at IS NULL`, r2.PatientID).Scan(&link); err != nil {
		t.Fatal(err)
	}
	if err := s.Unmerge(ctx, link, "supervisor"); err != nil {
		t.Fatal(err)
	}
	if got := count(t, s, `SELECT count(*) FROM vaccination_events WHERE patient_id = $1 AND cvx = '03'`, r1.PatientID); got != 1 {
		t.Errorf("the MMR reported after the merge left the survivor (%d)", got)
	}
	if got := count(t, s, `SELECT count(*) FROM vaccination_events WHERE patient_id = $1`, r2.PatientID); got != 2 {
		t.Errorf("merged patient's events after the second unmerge = %d, want 2", got)
	}
}
