package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
)

func TestPatientRelationship(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ana := person{mrn: "A1", authority: "ELM", last: "Reyes", first: "Ana", dob: "20230105", sex: "F", street: "1 Elm St", city: "Hartford", zip: "06101"}
	res := apply(t, s, message(t, "ELM", "REL-1", vxu("ELM", "REL-1", ana, "08:20230105")))
	pid := res.PatientID
	if err := s.RecordDisclosures(ctx, []registry.Disclosure{{At: time.Now(), Facility: "OAK", PatientID: pid, What: "Z42"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		facility string
		want     registry.PatientRelationship
	}{
		{"ELM", registry.PatientRelationship{Reported: true}},
		{"OAK", registry.PatientRelationship{Queried: true}},
		{"PINE", registry.PatientRelationship{}},
		{"", registry.PatientRelationship{}},
	}
	for _, tc := range tests {
		got, err := s.PatientRelationship(ctx, pid, tc.facility)
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.facility, got, err, tc.want)
		}
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE patients SET protection = 'Y' WHERE id = $1`, pid); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PatientRelationship(ctx, pid, "ELM"); got != (registry.PatientRelationship{Reported: true, Protected: true}) {
		t.Errorf("protected: %+v", got)
	}
	if _, err := s.PatientRelationship(ctx, pid+1000, "ELM"); !errors.Is(err, registry.ErrNoPatient) {
		t.Errorf("unknown patient: %v", err)
	}
}
