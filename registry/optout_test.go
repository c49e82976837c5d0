package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
)

var dora = person{mrn: "D100", authority: "CLINIC_A", last: "Quinlan", first: "Dora", middle: "M", mother: "Fisk",
	dob: "20230115", sex: "F", street: "12 Elm St", city: "Hartford", zip: "06101", phone: "8605550101"}

// An opt-out recorded on the people's pages keeps the patient from queries
// (by identifier and by name and birth date) exactly as PD1-12 protection
// does; its reversal discloses the patient again; both are in the history
// and the audit log.
func TestOptOutHidesFromQueries(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	res := apply(t, s, message(t, "CLINIC_A", "o1", vxu("CLINIC_A", "o1", dora, "20:20230315:L1")))
	pid := res.PatientID
	byID := &immz.Query{Identifiers: []iis.Identifier{{Value: "D100", Authority: "CLINIC_A", Type: "MR"}}, Name: iis.Name{Family: "Quinlan", Given: "Dora"}, BirthDate: time.Date(2023, 1, 15, 0, 0, 0, 0, time.UTC)}
	byName := &immz.Query{Name: iis.Name{Family: "Quinlan", Given: "Dora"}, BirthDate: time.Date(2023, 1, 15, 0, 0, 0, 0, time.UTC), Sex: "F"}
	protected := func() []bool {
		var out []bool
		for _, q := range []*immz.Query{byID, byName} {
			cs, err := s.FindForQuery(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 1 || cs[0].PatientID != pid {
				t.Fatalf("query %+v found %+v, want patient %d", q, cs, pid)
			}
			out = append(out, cs[0].Protected)
		}
		return out
	}
	if p := protected(); p[0] || p[1] {
		t.Fatalf("before the opt-out: protected %v", p)
	}
	signed := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	o := registry.OptOut{PatientID: pid, SignedOn: signed, FormRef: "FORM-77", RecordedBy: "user:pat", OrgID: 1}
	if err := s.RecordOptOut(ctx, o); err != nil {
		t.Fatal(err)
	}
	if p := protected(); !p[0] || !p[1] {
		t.Fatalf("after the opt-out: protected %v, want true for both queries", p)
	}
	if err := s.RecordOptOut(ctx, o); !errors.Is(err, registry.ErrOptOutState) {
		t.Fatalf("second opt-out: %v, want ErrOptOutState", err)
	}
	o.Reversal, o.FormRef = true, "FORM-78"
	if err := s.RecordOptOut(ctx, o); err != nil {
		t.Fatal(err)
	}
	if p := protected(); p[0] || p[1] {
		t.Fatalf("after the reversal: protected %v", p)
	}
	h, err := s.OptOutHistory(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Reversal || !h[1].Reversal || h[0].FormRef != "FORM-77" || !h[0].SignedOn.Equal(signed) || h[1].RecordedBy != "user:pat" {
		t.Fatalf("history %+v", h)
	}
	if n := count(t, s, `SELECT count(*) FROM audit_log WHERE patient_id = $1 AND action IN ('opt-out', 'opt-out-reversal')`, pid); n != 2 {
		t.Fatalf("%d audit rows, want 2", n)
	}
}

func TestOptOutRefusesIncompleteForms(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	pid := apply(t, s, message(t, "CLINIC_A", "o1", vxu("CLINIC_A", "o1", dora, "20:20230315:L1"))).PatientID
	signed := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	for _, o := range []registry.OptOut{
		{PatientID: pid, FormRef: "F", RecordedBy: "user:pat"},
		{PatientID: pid, SignedOn: signed, FormRef: "  ", RecordedBy: "user:pat"},
		{PatientID: pid, SignedOn: signed, FormRef: "F"},
		{PatientID: pid + 1000, SignedOn: signed, FormRef: "F", RecordedBy: "user:pat"},
	} {
		if err := s.RecordOptOut(ctx, o); !errors.Is(err, registry.ErrInvalidOptOut) {
			t.Errorf("%+v: %v, want ErrInvalidOptOut", o, err)
		}
	}
	if err := s.RecordOptOut(ctx, registry.OptOut{PatientID: pid, Reversal: true, SignedOn: signed, FormRef: "F", RecordedBy: "user:pat"}); !errors.Is(err, registry.ErrOptOutState) {
		t.Errorf("reversal without opt-out: %v", err)
	}
}

// A merge keeps an opt-out: the survivor of a merge with an opted-out
// patient is not disclosed either, and carries the opt-out's history.
func TestMergeKeepsOptOut(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a := apply(t, s, message(t, "CLINIC_A", "o1", vxu("CLINIC_A", "o1", dora, "20:20230315:L1"))).PatientID
	other := dora
	other.mrn, other.first, other.dob = "E200", "Edith", "20220101"
	b := apply(t, s, message(t, "CLINIC_A", "o2", vxu("CLINIC_A", "o2", other, "20:20220315:L1"))).PatientID
	if a == b {
		t.Fatal("one patient")
	}
	if err := s.RecordOptOut(ctx, registry.OptOut{PatientID: b, SignedOn: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), FormRef: "F-9", RecordedBy: "user:pat", OrgID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Merge(ctx, a, b, "user:staff"); err != nil {
		t.Fatal(err)
	}
	out, err := s.OptedOut(ctx, a)
	if err != nil || !out {
		t.Fatalf("survivor opted out: %v %v", out, err)
	}
	h, err := s.OptOutHistory(ctx, a)
	if err != nil || len(h) != 1 || h[0].FormRef != "F-9" {
		t.Fatalf("survivor's history %+v %v", h, err)
	}
}
