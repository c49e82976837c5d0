package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/registry"
)

// TestEntriesStore: what the data entry pages read — the patient a
// stored report was filed under (following a merge), a facility's
// current doses of a patient through an update and a delete, one source
// dose with its details — on PostgreSQL.
func TestEntriesStore(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if r, err := s.ReportPatient(ctx, "CLINIC-A", "C1"); err != nil || r.Stored {
		t.Fatalf("before the worker: %+v, %v", r, err)
	}
	ann := person{mrn: "A-1", authority: "CLINIC-A", last: "Vance", first: "Ann", dob: "20240101", sex: "F",
		street: "1 Main St", city: "Hartford", zip: "06105", phone: "8605550101"}
	res := apply(t, s, message(t, "CLINIC-A", "C1", vxu("CLINIC-A", "C1", ann, "08:20240102:LOT1")))
	r, err := s.ReportPatient(ctx, "CLINIC-A", "C1")
	if err != nil || !r.Stored || r.Kind != "vxu" || r.PatientID != res.PatientID || r.Outcome != registry.OutcomeNew {
		t.Fatalf("stored report: %+v, %v (patient %d)", r, err, res.PatientID)
	}
	pid := res.PatientID

	doses := facilityDoses(t, s, pid, "CLINIC-A", 1)
	d := doses[0]
	v := d.Vaccination
	if d.PatientID != pid || d.ControlID != "C1" || d.Transport != "mllp" || !d.Current() || d.EventID == 0 ||
		v.FillerOrder != (iis.Identifier{Value: "C1-1", Authority: "CLINIC-A"}) || v.CVX != "08" ||
		v.AdministeredAt.Format("20060102") != "20240102" || len(v.Lots) != 1 || v.Lots[0] != "LOT1" ||
		v.Manufacturer.Code != "MSD" || v.Amount != "0.5" || v.Units.Code != "mL" || v.Historical || v.Action != "A" {
		t.Fatalf("dose %+v", d)
	}
	facilityDoses(t, s, pid, "CLINIC-B", 0)
	for fac, want := range map[string]bool{"CLINIC-A": true, "CLINIC-B": false} {
		if got, err := s.ReportedBy(ctx, pid, fac); err != nil || got != want {
			t.Errorf("ReportedBy(%s) = %v, %v", fac, got, err)
		}
	}

	// The clinic corrects the lot (RXA-21 U, same ORC-3): the current dose
	// is the new report; the first one is superseded.
	upd := strings.Replace(string(vxu("CLINIC-A", "C2", ann, "08:20240102:LOT2")), "ORC|RE||C2-1^", "ORC|RE||C1-1^", 1)
	upd = strings.Replace(upd, "|CP|A\r", "|CP|U\r", 1)
	apply(t, s, message(t, "CLINIC-A", "C2", []byte(upd)))
	doses = facilityDoses(t, s, pid, "CLINIC-A", 1)
	if doses[0].ID == d.ID || doses[0].Vaccination.Lots[0] != "LOT2" || doses[0].Vaccination.Action != "U" {
		t.Errorf("after the update: %+v", doses[0])
	}
	old, err := s.SourceDose(ctx, d.ID)
	if err != nil || old.Current() || old.Consolidation != "superseded" || old.Vaccination.Lots[0] != "LOT1" {
		t.Errorf("the replaced dose: %+v, %v", old, err)
	}

	// The delete removes it from the clinic's doses.
	del := strings.Replace(upd, "|C2|", "|C3|", 1)
	del = strings.Replace(del, "|CP|U\r", "|CP|D\r", 1)
	apply(t, s, message(t, "CLINIC-A", "C3", []byte(del)))
	facilityDoses(t, s, pid, "CLINIC-A", 0)
	if n := count(t, s, `SELECT count(*) FROM vaccination_events WHERE patient_id = $1`, pid); n != 0 {
		t.Errorf("%d events after the delete", n)
	}

	if _, err := s.SourceDose(ctx, 1<<40); !errors.Is(err, registry.ErrNoSuchDose) {
		t.Errorf("unknown dose: %v", err)
	}

	// A report whose patient was merged into another is the survivor's.
	bob := person{mrn: "B-1", authority: "CLINIC-B", last: "Orr", first: "Bob", dob: "20230505", sex: "M"}
	res2 := apply(t, s, message(t, "CLINIC-B", "B1", vxu("CLINIC-B", "B1", bob, "08:20230506")))
	if err := s.Merge(ctx, pid, res2.PatientID, "test"); err != nil {
		t.Fatal(err)
	}
	if r, err := s.ReportPatient(ctx, "CLINIC-B", "B1"); err != nil || r.PatientID != pid {
		t.Errorf("report of a merged patient: %+v, %v (survivor %d)", r, err, pid)
	}
}

func facilityDoses(t *testing.T, s *registry.Store, pid int64, fac string, want int) []registry.SourceDose {
	t.Helper()
	doses, err := s.FacilityDoses(context.Background(), pid, fac)
	if err != nil {
		t.Fatal(err)
	}
	if len(doses) != want {
		t.Fatalf("%d doses from %s, want %d: %+v", len(doses), fac, want, doses)
	}
	return doses
}
