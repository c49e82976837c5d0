package synth

import (
	"testing"

	"github.com/iisproject/iis/match"
)

// TestRegistry20k applies 20,000 synthetic patients' reports one by one as
// the registry does and checks the final patients against the truth:
// precision of report pairs in one patient (target 99.9%), no patient
// holding two children or both twins, and recall, with and without the
// review queue, at least at today's level (89.3% and 99.1%, rounded down).
func TestRegistry20k(t *testing.T) {
	p := Generate(DefaultConfig(20000))
	r := EvaluateRegistry(match.New(match.DefaultConfig()), p)
	t.Logf("%d reports, %d patients for %d children; outcomes: %d identifier, %d match, %d possible, %d new; pairs %d true / %d false of %d; mixed %d, twins %d, split %d; review rows %d (%d right); precision %.4f recall %.4f after review %.4f",
		r.Records, r.Patients, r.Persons, r.Identifier, r.Match, r.Possible, r.New, r.TP, r.FP, r.TruePairs,
		r.MixedPatients, r.TwinMerges, r.SplitPersons, r.ReviewRows, r.ReviewRowsTrue, r.Precision(), r.Recall(), r.ReviewRecall())
	if r.Persons != 20000 || r.Records != len(p.Records) {
		t.Fatalf("%d children, %d reports: want 20000, %d", r.Persons, r.Records, len(p.Records))
	}
	if r.Precision() < 0.999 {
		t.Errorf("precision %.4f, want >= 0.999", r.Precision())
	}
	if r.MixedPatients != 0 || r.TwinMerges != 0 || r.WrongLinks != 0 {
		t.Errorf("%d patients mix two children (%d twin pairs), %d reports linked to another child's patient", r.MixedPatients, r.TwinMerges, r.WrongLinks)
	}
	if r.Recall() < 0.89 {
		t.Errorf("recall %.4f, want >= 0.89", r.Recall())
	}
	if r.ReviewRecall() < 0.99 {
		t.Errorf("recall after the review queue %.4f, want >= 0.99", r.ReviewRecall())
	}
	if got := r.Identifier + r.Match + r.Possible + r.New; got != r.Records {
		t.Errorf("outcomes add up to %d, want %d", got, r.Records)
	}
	if got := r.Patients; got != r.Possible+r.New {
		t.Errorf("%d patients, want one per possible or new report (%d)", got, r.Possible+r.New)
	}
}

// TestRegistryAccumulates shows what the pairwise evaluation misses: a
// report that matches no earlier report alone, but matches the patient
// they built together, is linked; a twin is not.
func TestRegistryAccumulates(t *testing.T) {
	home := match.Address{Street1: "12 Elm St", City: "Lansing", State: "MI", Zip: "48910"}
	moved := match.Address{Street1: "800 Oak Ave", City: "Flint", State: "MI", Zip: "48502"}
	mrn := []match.Identifier{{Value: "4711", Authority: "FAC001", Type: match.IDMRN}}
	p := &Population{
		Records: []*match.Record{
			// The first report, at home.
			{First: "William", Last: "Kowalczyk", BirthDate: match.Date{Year: 2016, Month: 5, Day: 9}, Sex: "M",
				Identifiers: mrn, Addresses: []match.Address{home}, Phones: []string{"5175550100"}},
			// The same clinic after the family moved: same MRN.
			{First: "William", Last: "Kowalczyk", BirthDate: match.Date{Year: 2016, Month: 5, Day: 9}, Sex: "M",
				Identifiers: mrn, Addresses: []match.Address{moved}, Phones: []string{"8105550199"}},
			// A pharmacy, after the move, with his nickname and no MRN.
			{First: "Bill", Last: "Kowalczyk", BirthDate: match.Date{Year: 2016, Month: 5, Day: 9}, Sex: "M",
				Addresses: []match.Address{moved}, Phones: []string{"8105550199"}},
			// His twin sister.
			{First: "Wilma", Last: "Kowalczyk", BirthDate: match.Date{Year: 2016, Month: 5, Day: 9}, Sex: "F",
				MultipleBirth: match.MultipleBirthYes, BirthOrder: 2,
				Addresses: []match.Address{moved}, Phones: []string{"8105550199"}},
		},
		Person:  []int32{0, 0, 0, 1},
		Applied: make([][]string, 4),
		TwinOf:  map[int32]int32{0: 1, 1: 0},
	}
	for _, r := range p.Records {
		match.Normalize(r)
	}
	m := match.New(match.DefaultConfig())
	if o := m.Compare(p.Records[2], p.Records[0]).Outcome; o == match.Match {
		t.Fatalf("the pharmacy's report alone matches the first report (%v): the case shows nothing", o)
	}
	r := EvaluateRegistry(m, p)
	if r.Patients != 2 || r.TP != 3 || r.FP != 0 || r.TwinMerges != 0 || r.SplitPersons != 0 {
		t.Errorf("got %d patients, %d true and %d false pairs together, %d twins merged, %d split; want 2, 3, 0, 0, 0",
			r.Patients, r.TP, r.FP, r.TwinMerges, r.SplitPersons)
	}
	if r.Identifier != 1 || r.Match != 1 {
		t.Errorf("outcomes: %d identifier, %d match; want 1, 1", r.Identifier, r.Match)
	}
}
