package registry_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
)

// A facility's automatic Group: the patients it reported or was sent,
// never an opted-out one, never another facility's.
func TestFacilityPatients(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ann := person{mrn: "A1", authority: "CLINIC_A", last: "Ashby", first: "Ann", dob: "20220105", sex: "F"}
	ben := person{mrn: "B1", authority: "CLINIC_B", last: "Brook", first: "Ben", dob: "20210709", sex: "M"}
	cal := person{mrn: "C1", authority: "CLINIC_A", last: "Carver", first: "Cal", dob: "20200311", sex: "M"}
	a := apply(t, s, message(t, "CLINIC_A", "a1", vxu("CLINIC_A", "a1", ann, "20:20230315"))).PatientID
	b := apply(t, s, message(t, "CLINIC_B", "b1", vxu("CLINIC_B", "b1", ben, "20:20230315"))).PatientID
	c := apply(t, s, message(t, "CLINIC_A", "c1", vxu("CLINIC_A", "c1", cal, "20:20230315"))).PatientID
	// CLINIC_B was sent Ann's record (a QBP answer).
	if err := s.RecordAudit(ctx, registry.AuditEntry{Actor: "facility:CLINIC_B", Action: "disclose", PatientID: &a}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOptOut(ctx, registry.OptOut{PatientID: c, SignedOn: time.Now(), FormRef: "F1", RecordedBy: "user:pat", OrgID: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		facility string
		want     []int64
	}{
		{"CLINIC_A", []int64{a}},
		{"CLINIC_B", sorted(a, b)},
		{"CLINIC_C", nil},
	} {
		got, err := s.FacilityPatients(ctx, tc.facility)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.facility, got, tc.want)
		}
	}
	ok, err := s.Disclosable(ctx, []int64{a, b, c, 999999})
	if err != nil {
		t.Fatal(err)
	}
	if !ok[a] || !ok[b] || ok[c] || ok[999999] {
		t.Errorf("Disclosable: %v, want %d and %d only", ok, a, b)
	}
}

func sorted(ids ...int64) []int64 { slices.Sort(ids); return ids }
