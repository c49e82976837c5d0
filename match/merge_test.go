package match

import (
	"reflect"
	"testing"
)

func TestMerge(t *testing.T) {
	have := &Record{
		Identifiers: []Identifier{{Value: "123", Authority: "FAC001", Type: IDMRN}},
		First:       "William", Last: "Smith", BirthDate: Date{2015, 3, 4}, Sex: "M",
		Phones:    []string{"5175551234"},
		Addresses: []Address{{Street1: "1 Main St", City: "Lansing", Zip: "48901"}},
		Guardians: []PersonName{{First: "Mary", Last: "Smith"}},
	}
	add := &Record{
		Identifiers: []Identifier{{Value: "123", Authority: "FAC001", Type: IDMRN}, {Value: "987654321", Type: IDSSN}},
		First:       "Bill", Middle: "James", Last: "Smith-Jones", OtherLastNames: []string{"Jones"},
		BirthDate: Date{2015, 4, 3}, Sex: "F", MultipleBirth: MultipleBirthYes, BirthOrder: 2,
		MotherMaidenName: "Jones", MotherFirst: "Mary",
		Phones:    []string{"5175551234", "5175559999"},
		Addresses: []Address{{Street1: "2 Oak Ave", City: "Flint", Zip: "48502"}},
		Guardians: []PersonName{{First: "Mary", Last: "Smith"}, {First: "John", Last: "Smith"}},
	}
	Normalize(have)
	before := *have
	before.Identifiers = append([]Identifier(nil), have.Identifiers...)
	got := Merge(have, add)
	want := &Record{
		Identifiers: []Identifier{{Value: "123", Authority: "FAC001", Type: IDMRN}, {Value: "987654321", Type: IDSSN}},
		First:       "William", Middle: "James", Last: "Smith", Aliases: []string{"Bill"},
		OtherLastNames: []string{"Jones", "Smith-Jones"},
		BirthDate:      Date{2015, 3, 4}, Sex: "M", MultipleBirth: MultipleBirthYes, BirthOrder: 2,
		MotherMaidenName: "Jones", MotherFirst: "Mary",
		Phones:    []string{"5175551234", "5175559999"},
		Addresses: []Address{{Street1: "1 Main St", City: "Lansing", Zip: "48901"}, {Street1: "2 Oak Ave", City: "Flint", Zip: "48502"}},
		Guardians: []PersonName{{First: "Mary", Last: "Smith"}, {First: "John", Last: "Smith"}},
	}
	if got.Normalized() {
		t.Error("Merge's result reports itself normalised: its comparison form would be the old record's")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Merge:\n got %+v\nwant %+v", *got, *want)
	}
	if !reflect.DeepEqual(have.Identifiers, before.Identifiers) || len(have.Phones) != 1 || len(have.Aliases) != 0 {
		t.Errorf("Merge modified its first argument: %+v", *have)
	}

	// The merged record matches a later report that agrees only with
	// what the second report added (its new address and phone).
	Normalize(got)
	later := &Record{First: "Bill", Last: "Smith", BirthDate: Date{2015, 3, 4}, Sex: "M",
		Phones: []string{"5175559999"}, Addresses: []Address{{Street1: "2 Oak Ave", City: "Flint", Zip: "48502"}}}
	Normalize(later)
	m := New(DefaultConfig())
	if r := m.Compare(later, got); r.Outcome != Match {
		t.Errorf("later report against the merged record: %v (score %.1f, %s), want Match", r.Outcome, r.Score, r.Reason)
	}
}
