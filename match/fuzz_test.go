package match

import "testing"

// FuzzCompare: any field values normalise and compare without panicking,
// and the decision does not depend on the order of the records.
func FuzzCompare(f *testing.F) {
	f.Add("Katherine", "Lindqvist-Okafor", "20190307", "42 N Maple St", "(517)555-0142", "Kate", "Lindqvist", "20190703", "42 North Maple Street", "5175550142")
	f.Add("", "O'Brien, III", "2019", "", "1", "É", "ß", "99999999", "#", "+1 (517) 555-0142 x9")
	m := New(DefaultConfig())
	f.Fuzz(func(t *testing.T, f1, l1, d1, s1, p1, f2, l2, d2, s2, p2 string) {
		mk := func(first, last, dob, street, phone string) *Record {
			d, _ := ParseDate(dob)
			r := &Record{First: first, Middle: last, Last: last, BirthDate: d, MotherMaidenName: first,
				Phones: []string{phone}, Addresses: []Address{{Street1: street, City: first, Zip: phone}},
				Identifiers: []Identifier{{Value: phone, Type: IDSSN}, {Value: street, Authority: last, Type: IDMRN}}}
			Normalize(r)
			_ = BlockingKeys(r)
			return r
		}
		a, b := mk(f1, l1, d1, s1, p1), mk(f2, l2, d2, s2, p2)
		if x, y := m.Compare(a, b), m.Compare(b, a); x.Outcome != y.Outcome {
			t.Errorf("asymmetric: %s vs %s (%.2f / %.2f)", x.Outcome, y.Outcome, x.Score, y.Score)
		}
	})
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{"", " ", "KATHERINE", "Katherine", "O'Connell", "St. John", "  MARY  ANN ", "A  B", "JOSÉ", "Łukasz", "42 North Maple Street", "x\\xff\\x00y", "A.", ". A", "A B C", "AB\\tCD"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// foldRunes is fold as first written, rune by rune; the fast
		// paths for ASCII must give the same result.
		if got, want := fold(s), foldRunes(s); got != want {
			t.Fatalf("fold(%q) = %q, want %q", s, got, want)
		}
	})
}
