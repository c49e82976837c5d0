package query

import (
	"testing"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
)

// pid3 returns the PID-3 identifiers of each PID of m as value^authority^type.
func pid3(m *hl7.Message) [][]string {
	var out [][]string
	for _, seg := range m.Segments() {
		if !seg.Is("PID") {
			continue
		}
		var ids []string
		f := seg.Field(3)
		for i := 1; i <= f.NumReps(); i++ {
			r := f.Rep(i)
			ids = append(ids, r.Comp(1).String()+"^"+r.Comp(4).String()+"^"+r.Comp(5).String())
		}
		out = append(out, ids)
	}
	return out
}

// The RSP carries each patient's registry id (the FHIR Patient.id) as a
// PID-3 identifier of type SR with the registry's authority, in a Z32 and
// in a Z31 list, after the patient's own identifiers; without an
// authority configured, it does not.
func TestRegistryIDInPID3(t *testing.T) {
	v := immz.New(immz.Config{Now: func() time.Time { return now }})
	p, doses := child(t, v)
	twin := p
	twin.Names = []iis.Name{{Family: "Patient", Given: "Jane", Type: "L"}}
	own := len(p.Identifiers)
	for _, tc := range []struct {
		name      string
		authority string
		cands     []Candidate
		want      []string // the last PID-3 of each PID
	}{
		{"Z32", "CTWIZ", []Candidate{{PatientID: 4711, Patient: p, Confident: true}}, []string{"4711^CTWIZ^SR"}},
		{"Z31", "CTWIZ", []Candidate{{PatientID: 12, Patient: p}, {PatientID: 13, Patient: twin}}, []string{"12^CTWIZ^SR", "13^CTWIZ^SR"}},
		{"no authority", "", []Candidate{{PatientID: 4711, Patient: p, Confident: true}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := &memRegistry{cands: tc.cands, history: map[int64][]iis.Vaccination{4711: doses}}
			s := New(Config{Validator: v, Registry: reg, Authorizer: AllowList{"CLINIC"}, Authority: tc.authority, Now: func() time.Time { return now }})
			m := answer(t, s, v, "cdc-ig/pair_ig_z34_z32/1_qbp_z34_request_history.hl7", "CLINIC")
			ids := pid3(m)
			if len(ids) != len(tc.cands) {
				t.Fatalf("%d PIDs, want %d", len(ids), len(tc.cands))
			}
			for i, got := range ids {
				if tc.want == nil {
					if len(got) != own {
						t.Errorf("PID %d: %v, want the patient's own %d identifiers", i+1, got, own)
					}
					continue
				}
				if len(got) != own+1 || got[len(got)-1] != tc.want[i] {
					t.Errorf("PID %d: PID-3 %v, want the patient's own then %s", i+1, got, tc.want[i])
				}
			}
			if len(p.Identifiers) != own {
				t.Errorf("the registry's patient was changed: %v", p.Identifiers)
			}
		})
	}
}
