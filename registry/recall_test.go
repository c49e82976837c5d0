package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
)

// A clinic's recall candidates are the children its facility reported,
// within the birth dates asked, each with the consolidated record and the
// contacts recorded after the last dose.
func TestRecallCandidates(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ann := person{mrn: "R1", authority: "CLINIC_A", last: "Abbot", first: "Ann", dob: "20230115", sex: "F", street: "1 Oak St", city: "Hartford", zip: "06101", phone: "8605550101"}
	ben := person{mrn: "R2", authority: "CLINIC_A", last: "Abbot", first: "Ben", dob: "20210610", sex: "M", street: "1 Oak St", city: "Hartford", zip: "06101", phone: "8605550101"}
	cal := person{mrn: "R3", authority: "CLINIC_B", last: "Cole", first: "Cal", dob: "20230301", sex: "M", street: "9 Pine St", city: "Bristol", zip: "06010"}
	a := apply(t, s, message(t, "CLINIC_A", "r1", vxu("CLINIC_A", "r1", ann, "20:20230315")))
	b := apply(t, s, message(t, "CLINIC_A", "r2", vxu("CLINIC_A", "r2", ben, "20:20210810", "20:20211010")))
	apply(t, s, message(t, "CLINIC_B", "r3", vxu("CLINIC_B", "r3", cal, "20:20230501")))

	read := func(q registry.RecallQuery) map[int64]registry.RecallCandidate {
		t.Helper()
		out := map[int64]registry.RecallCandidate{}
		if err := s.RecallCandidates(ctx, q, func(c *registry.RecallCandidate) error { out[c.ID] = *c; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := read(registry.RecallQuery{OrgID: 7, Facility: "CLINIC_A"})
	if len(all) != 2 || all[a.PatientID].ID == 0 || all[b.PatientID].ID == 0 {
		t.Fatalf("CLINIC_A's children: %+v, want patients %d and %d", all, a.PatientID, b.PatientID)
	}
	if n := len(all[b.PatientID].Record.Vaccinations); n != 2 {
		t.Errorf("Ben's doses: %d, want 2", n)
	}
	ann0 := all[a.PatientID]
	if g := ann0.Record.Patient.LegalName().Given; g != "Ann" {
		t.Errorf("Ann's name: %q", g)
	}
	// In batches of one child (several statements in flight), the same
	// children in id order; an error from each stops the reading.
	restore := registry.SetRecallBatch(1)
	var order []int64
	if err := s.RecallCandidates(ctx, registry.RecallQuery{OrgID: 7, Facility: "CLINIC_A"}, func(c *registry.RecallCandidate) error {
		order = append(order, c.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] >= order[1] {
		t.Errorf("batches of one: %v, want both children in id order", order)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.RecallCandidates(ctx, registry.RecallQuery{OrgID: 7, Facility: "CLINIC_A"}, func(*registry.RecallCandidate) error {
		calls++
		return stop
	}); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("stopping: %v after %d calls, want stop after 1", err, calls)
	}
	restore()
	young := read(registry.RecallQuery{OrgID: 7, Facility: "CLINIC_A", BornFrom: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)})
	if len(young) != 1 || young[a.PatientID].ID == 0 {
		t.Fatalf("children born from 2022: %+v, want Ann only", young)
	}

	// A contact before the last dose does not count; two after it do.
	for _, c := range []registry.RecallContact{
		{PatientIDs: []int64{a.PatientID, b.PatientID}, OrgID: 7, Method: "letter", On: time.Date(2021, 9, 1, 0, 0, 0, 0, time.UTC), By: "user:vc"},
		{PatientIDs: []int64{a.PatientID, b.PatientID}, OrgID: 7, Method: "letter", On: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), By: "user:vc"},
		{PatientIDs: []int64{b.PatientID}, OrgID: 7, Method: "phone", On: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), By: "user:vc"},
		{PatientIDs: []int64{b.PatientID}, OrgID: 8, Method: "phone", On: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC), By: "user:other"},
	} {
		if err := s.RecordRecallContact(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	all = read(registry.RecallQuery{OrgID: 7, Facility: "CLINIC_A"})
	if c := all[b.PatientID]; c.Contacts != 2 || c.LastMethod != "phone" || !c.LastContact.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Ben's contacts: %d, last %s by %s; want 2, 2024-03-01 by phone", c.Contacts, c.LastContact, c.LastMethod)
	}
	if c := all[a.PatientID]; c.Contacts != 1 || c.LastMethod != "letter" {
		t.Errorf("Ann's contacts: %d by %s; want 1 by letter", c.Contacts, c.LastMethod)
	}
	if n := count(t, s, `SELECT count(*) FROM audit_log WHERE action = 'recall-contact'`); n != 6 {
		t.Errorf("recall-contact audit entries: %d, want 6", n)
	}
	for _, bad := range []registry.RecallContact{
		{PatientIDs: []int64{a.PatientID}, OrgID: 7, Method: "pigeon", On: time.Now(), By: "user:vc"},
		{PatientIDs: []int64{a.PatientID, 999999}, OrgID: 7, Method: "phone", On: time.Now(), By: "user:vc"},
		{OrgID: 7, Method: "phone", On: time.Now(), By: "user:vc"},
	} {
		if err := s.RecordRecallContact(ctx, bad); err == nil {
			t.Errorf("contact %+v recorded, want an error", bad)
		}
	}
	if err := s.RecallCandidates(ctx, registry.RecallQuery{OrgID: 7}, func(*registry.RecallCandidate) error { return nil }); err == nil {
		t.Error("a clinic without a facility id: no error")
	}
}

// The primary language (PID-15) is kept: a later report without one keeps
// it, one with another replaces it; recall reads it with the candidate.
func TestPrimaryLanguageKept(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ana := person{mrn: "L1", authority: "CLINIC_A", last: "Ruiz", first: "Ana", dob: "20230115", sex: "F", street: "1 Oak St", city: "Hartford", zip: "06101", language: "spa^Spanish^HL70296"}
	a := apply(t, s, message(t, "CLINIC_A", "l1", vxu("CLINIC_A", "l1", ana, "20:20230315")))
	lang := func() string {
		t.Helper()
		p, err := s.Patient(ctx, a.PatientID)
		if err != nil {
			t.Fatal(err)
		}
		return p.PrimaryLanguage.Code
	}
	if got := lang(); got != "spa" {
		t.Fatalf("after the first VXU: %q, want spa", got)
	}
	ana.language = ""
	apply(t, s, message(t, "CLINIC_A", "l2", vxu("CLINIC_A", "l2", ana, "20:20230515")))
	if got := lang(); got != "spa" {
		t.Fatalf("after a VXU without PID-15: %q, want spa kept", got)
	}
	var got string
	if err := s.RecallCandidates(ctx, registry.RecallQuery{OrgID: 1, Facility: "CLINIC_A"}, func(c *registry.RecallCandidate) error {
		got = c.Record.Patient.PrimaryLanguage.Code
		return nil
	}); err != nil || got != "spa" {
		t.Fatalf("recall candidate's language %q: %v", got, err)
	}
	ana.language = "eng"
	apply(t, s, message(t, "CLINIC_A", "l3", vxu("CLINIC_A", "l3", ana, "20:20230715")))
	if got := lang(); got != "eng" {
		t.Fatalf("after a VXU with eng: %q", got)
	}
}
