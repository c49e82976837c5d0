package synth

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/match"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// TestRegistryAgreesWithStore applies a population's reports through the
// registry itself (registry.Store.ApplyBulk on PostgreSQL, in batches, as
// the worker does) and checks that EvaluateRegistry clusters the same
// reports into the same patients. Run with one report per transaction on
// 3,000 patients, the two agreed on all 4,016 reports too.
func TestRegistryAgreesWithStore(t *testing.T) {
	if testing.Short() {
		t.Skip("applies every report through PostgreSQL")
	}
	ctx := context.Background()
	s, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := Generate(DefaultConfig(5000))
	// The records the registry sees: its own view of each reported patient.
	p := &Population{Person: src.Person, Applied: src.Applied, TwinOf: src.TwinOf}
	msgs := make([]*registry.Message, len(src.Records))
	for i, r := range src.Records {
		pat := patientOf(r)
		rec := registry.MatchRecord(&pat)
		match.Normalize(rec)
		p.Records = append(p.Records, rec)
		msgs[i] = &registry.Message{Kind: "vxu", Facility: "SYNTH", ControlID: fmt.Sprint(i), Type: "VXU", Ack: "AA",
			Transport: "test", Received: time.Now(), Raw: fmt.Appendf(nil, "report %d", i),
			Decoded: &immz.Result{VXU: &immz.VXU{Patient: pat}}}
	}
	var stored []int64
	const batch = 100
	for start := 0; start < len(msgs); start += batch {
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.ApplyBulk(ctx, tx, msgs[start:min(start+batch, len(msgs))])
		if err != nil {
			tx.Rollback(ctx)
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			stored = append(stored, r.PatientID)
		}
	}
	r := EvaluateRegistry(match.New(match.DefaultConfig()), p)
	// The same partition of the reports: patient ids map one to one.
	toEval, toStore := map[int64]int32{}, map[int32]int64{}
	differ := 0
	for i, id := range stored {
		e, okE := toEval[id]
		st, okS := toStore[r.PatientOf[i]]
		if (okE && e != r.PatientOf[i]) || (okS && st != id) {
			differ++
			if differ <= 5 {
				t.Errorf("report %d: registry patient %d, evaluation patient %d, clustered differently", i, id, r.PatientOf[i])
			}
			continue
		}
		toEval[id], toStore[r.PatientOf[i]] = r.PatientOf[i], id
	}
	if differ > 0 || len(toEval) != r.Patients {
		t.Errorf("%d of %d reports clustered differently; %d patients in the registry, %d in the evaluation", differ, len(stored), len(toEval), r.Patients)
	}
	t.Logf("%d reports, %d patients, precision %.4f recall %.4f", len(stored), r.Patients, r.Precision(), r.Recall())
}

// patientOf is a reported patient carrying r's fields, for the registry.
func patientOf(r *match.Record) iis.Patient {
	var p iis.Patient
	for _, id := range r.Identifiers {
		p.Identifiers = append(p.Identifiers, iis.Identifier{Value: id.Value, Authority: id.Authority, Type: id.Type})
	}
	p.Names = []iis.Name{{Given: r.First, Middle: r.Middle, Family: r.Last, Suffix: r.Suffix, Type: "L"}}
	for _, o := range r.OtherLastNames {
		p.Names = append(p.Names, iis.Name{Given: r.First, Family: o, Type: "M"})
	}
	if !r.BirthDate.IsZero() {
		p.BirthDate = time.Date(r.BirthDate.Year, time.Month(r.BirthDate.Month), r.BirthDate.Day, 0, 0, 0, 0, time.UTC)
	}
	p.Sex = r.Sex
	switch r.MultipleBirth {
	case match.MultipleBirthYes:
		p.MultipleBirth = "Y"
	case match.SingleBirth:
		p.MultipleBirth = "N"
	}
	p.BirthOrder = r.BirthOrder
	p.MotherMaidenName = iis.Name{Family: r.MotherMaidenName, Given: r.MotherFirst}
	for _, g := range r.Guardians {
		p.Guardians = append(p.Guardians, iis.Guardian{Name: iis.Name{Given: g.First, Family: g.Last}, Relationship: iis.Code{Code: "GRD"}})
	}
	for _, ph := range r.Phones {
		d := strings.Map(func(c rune) rune {
			if c >= '0' && c <= '9' {
				return c
			}
			return -1
		}, ph)
		if len(d) == 10 {
			p.Phones = append(p.Phones, iis.Phone{Area: d[:3], Local: d[3:]})
		}
	}
	for _, a := range r.Addresses {
		p.Addresses = append(p.Addresses, iis.Address{Street: a.Street1, Other: a.Street2, City: a.City, State: a.State, Zip: a.Zip})
	}
	return p
}
