package match

import (
	"sync"
	"testing"
)

func base() *Record {
	return &Record{
		First: "Katherine", Middle: "Anne", Last: "Lindqvist", Sex: "F",
		BirthDate:        Date{2019, 3, 7},
		MotherMaidenName: "Okafor",
		MotherFirst:      "Elizabeth",
		Guardians:        []PersonName{{First: "Grace", Last: "Lindqvist"}},
		Phones:           []string{"(517) 555-0142"},
		Addresses:        []Address{{Street1: "42 North Maple Street", City: "Lansing", State: "Michigan", Zip: "48910-1234"}},
	}
}

func compare(a, b *Record) Result {
	Normalize(a)
	Normalize(b)
	return New(DefaultConfig()).Compare(a, b)
}

// TestComparatorRules checks each comparison rule on a pair that differs
// from a full record in one way.
func TestComparatorRules(t *testing.T) {
	tests := []struct {
		name   string
		change func(b *Record)
		field  Field
		level  Level
		want   Outcome
	}{
		{"identical", func(b *Record) {}, FieldFirst, Exact, Match},
		{"case punctuation diacritics", func(b *Record) { b.First, b.Last = "KATHÉRINE", "lindqvist." }, FieldLast, Exact, Match},
		{"nickname Kate", func(b *Record) { b.First = "Kate" }, FieldFirst, Nickname, Match},
		{"first-name typo", func(b *Record) { b.First = "Katherien" }, FieldFirst, Typo, Match},
		{"first initial only", func(b *Record) { b.First = "K" }, FieldFirst, Initial, Match},
		{"first and middle swapped", func(b *Record) { b.First, b.Middle = "Anne", "Katherine" }, FieldFirst, Swapped, Match},
		{"middle initial", func(b *Record) { b.Middle = "A." }, FieldMiddle, Initial, Match},
		{"last-name typo", func(b *Record) { b.Last = "Lindquist" }, FieldLast, Typo, Match},
		{"hyphenated last name", func(b *Record) { b.Last = "Lindqvist-Okafor" }, FieldLast, Partial, Match},
		{"changed last name, previous kept", func(b *Record) { b.Last, b.OtherLastNames = "Haddad", []string{"Lindqvist"} }, FieldLast, Partial, Match},
		{"day and month transposed", func(b *Record) { b.BirthDate = Date{2019, 7, 3} }, FieldBirthDate, Transposed, Match},
		{"birth date one day off", func(b *Record) { b.BirthDate = Date{2019, 3, 8} }, FieldBirthDate, OffByOne, Match},
		{"birth year one off", func(b *Record) { b.BirthDate = Date{2018, 3, 7} }, FieldBirthDate, OffByOne, Match},
		{"same year and month, day mistyped", func(b *Record) { b.BirthDate = Date{2019, 3, 19} }, FieldBirthDate, Partial, Match},
		{"mother's first name as a nickname", func(b *Record) { b.MotherFirst = "Liz" }, FieldMotherFirst, Nickname, Match},
		{"birth date conflict", func(b *Record) { b.BirthDate = Date{2016, 11, 22} }, FieldBirthDate, Disagree, PossibleMatch},
		{"sex conflict", func(b *Record) { b.Sex = "M" }, FieldSex, Disagree, PossibleMatch},
		{"phone formats", func(b *Record) { b.Phones = []string{"1-517-555-0142"} }, FieldPhone, Exact, Match},
		{"area code changed", func(b *Record) { b.Phones = []string{"(313) 555-0142"} }, FieldPhone, Partial, Match},
		{"street abbreviations and ZIP+4", func(b *Record) {
			b.Addresses = []Address{{Street1: "42 N Maple St", City: "LANSING", State: "MI", Zip: "48910"}}
		}, FieldAddress, Exact, Match},
		{"moved", func(b *Record) {
			b.Addresses = []Address{{Street1: "9 Elm Ct", City: "Detroit", Zip: "48201"}}
			b.Phones = []string{"(313) 555-9876"}
		}, FieldAddress, Disagree, Match},
		{"missing fields are neutral", func(b *Record) {
			b.Middle, b.MotherMaidenName, b.Guardians = "", "", nil
		}, FieldMiddle, Missing, Match},
		{"sibling: different first name", func(b *Record) { b.First, b.Middle = "Ingrid", "" }, FieldFirst, Disagree, PossibleMatch},
		{"twin with birth order", func(b *Record) {
			b.First, b.MultipleBirth, b.BirthOrder = "Ingrid", MultipleBirthYes, 2
		}, FieldFirst, Disagree, NonMatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.change(b)
			r := compare(a, b)
			if got := r.Fields[tc.field].Level; got != tc.level {
				t.Errorf("%s level = %s, want %s", tc.field, got, tc.level)
			}
			if r.Outcome != tc.want {
				t.Errorf("outcome = %s (score %.1f, %s), want %s", r.Outcome, r.Score, r.Reason, tc.want)
			}
		})
	}
}

// TestTwinsNeverMerged: twins share everything but the given name (and
// birth order); with or without multiple-birth data they are never linked.
func TestTwinsNeverMerged(t *testing.T) {
	tests := []struct {
		name string
		set  func(a, b *Record)
		want Outcome
	}{
		{"different birth order, same first name", func(a, b *Record) {
			a.MultipleBirth, a.BirthOrder, b.MultipleBirth, b.BirthOrder = MultipleBirthYes, 1, MultipleBirthYes, 2
		}, NonMatch},
		{"multiple birth, different first names", func(a, b *Record) {
			b.First, b.Middle = "Ingrid", "Rose"
			a.MultipleBirth, b.MultipleBirth = MultipleBirthYes, MultipleBirthYes
		}, NonMatch},
		{"no multiple-birth data, different first names", func(a, b *Record) { b.First, b.Middle = "Ingrid", "Rose" }, PossibleMatch},
		// Seen in the synthetic population (seed 2): twins named a letter
		// apart, one reported without multiple-birth data.
		{"multiple birth on one side, names a letter apart (Ella, Bella)", func(a, b *Record) {
			a.First, b.First, a.Middle, b.Middle = "Ella", "Bella", "", ""
			a.MultipleBirth = MultipleBirthYes
		}, PossibleMatch},
		{"shared MRN does not override birth order", func(a, b *Record) {
			a.BirthOrder, b.BirthOrder = 1, 2
		}, NonMatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.set(a, b)
			if r := compare(a, b); r.Outcome > tc.want || r.Outcome == Match {
				t.Errorf("outcome = %s (%s), want at most %s", r.Outcome, r.Reason, tc.want)
			}
		})
	}
}

// TestHouseholdRule: first name, last name and birth date agreeing (with
// at most one slip) link when enough family evidence backs them, even when
// the score is modest (common names, little else reported): one piece for
// an exact identity, one more per slip; after a move (address and phone
// both changed) one of them must be a surname-like piece (mother's maiden
// name, full middle name). A disagreeing personal field stops the rule.
func TestHouseholdRule(t *testing.T) {
	thin := func() *Record {
		return &Record{First: "James", Last: "Smith", BirthDate: Date{2021, 6, 1}, Sex: "M"}
	}
	home := []Address{{Street1: "7 Oak Ln", City: "Flint", Zip: "48502"}}
	moved := []Address{{Street1: "19 Elm Ct", City: "Detroit", Zip: "48201"}}
	tests := []struct {
		name string
		a, b func(r *Record)
		link bool
	}{
		{"exact identity, same address", func(r *Record) { r.Addresses = home }, func(r *Record) { r.Addresses = home }, true},
		{"exact identity, nothing else", func(r *Record) {}, func(r *Record) {}, false},
		{"exact identity, same guardian", func(r *Record) { r.Guardians = []PersonName{{"Ayesha", "Smith"}} },
			func(r *Record) { r.Guardians = []PersonName{{"Ayesha", "Smith"}} }, true},
		{"exact identity, same mother's maiden name", func(r *Record) { r.MotherMaidenName = "Okonkwo" },
			func(r *Record) { r.MotherMaidenName = "Okonkwo" }, true},
		{"exact identity, same full middle name", func(r *Record) { r.Middle = "Tobias" }, func(r *Record) { r.Middle = "Tobias" }, true},
		{"middle initials are not a middle name", func(r *Record) { r.Middle = "T" }, func(r *Record) { r.Middle = "T" }, false},
		{"middle names conflict", func(r *Record) { r.Middle, r.Addresses = "Lee", home }, func(r *Record) { r.Middle, r.Addresses = "Ray", home }, false},
		{"nickname and one household field", func(r *Record) { r.Addresses = home }, func(r *Record) { r.First, r.Addresses = "Jim", home }, false},
		{"nickname, address and guardian", func(r *Record) { r.Addresses, r.Guardians = home, []PersonName{{"Ayesha", "Smith"}} },
			func(r *Record) { r.First, r.Addresses, r.Guardians = "Jim", home, []PersonName{{"Ayesha", "Smith"}} }, true},
		{"moved, guardian only", func(r *Record) { r.Addresses, r.Guardians = home, []PersonName{{"Ayesha", "Smith"}} },
			func(r *Record) { r.Addresses, r.Guardians = moved, []PersonName{{"Ayesha", "Smith"}} }, false},
		{"moved, mother's maiden name", func(r *Record) { r.Addresses, r.MotherMaidenName = home, "Okonkwo" },
			func(r *Record) { r.Addresses, r.MotherMaidenName = moved, "Okonkwo" }, true},
		{"moved, mother's maiden name, birth date transposed", func(r *Record) { r.Addresses, r.MotherMaidenName, r.Middle = home, "Okonkwo", "Tobias" },
			func(r *Record) {
				r.Addresses, r.MotherMaidenName, r.Middle, r.BirthDate = moved, "Okonkwo", "Tobias", Date{2021, 1, 6}
			}, false},
		{"changed last name, same address and phone", func(r *Record) { r.Addresses, r.Phones = home, []string{"8105550101"} },
			func(r *Record) { r.Last, r.Addresses, r.Phones = "Haddad", home, []string{"810-555-0101"} }, true},
		{"changed last name, same address only", func(r *Record) { r.Addresses = home },
			func(r *Record) { r.Last, r.Addresses = "Haddad", home }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := thin(), thin()
			tc.a(a)
			tc.b(b)
			r := compare(a, b)
			if got := r.Outcome == Match; got != tc.link {
				t.Errorf("linked = %v (%s, %s, %.1f), want %v", got, r.Outcome, r.Reason, r.Score, tc.link)
			}
		})
	}
}

// TestMiddleInitials: two reports that both give only the middle initial
// agree on an initial, not on a name (an initial is shared by about one
// pair of strangers in fifteen).
func TestMiddleInitials(t *testing.T) {
	a, b := base(), base()
	a.Middle, b.Middle = "A", "a."
	r := compare(a, b)
	if l := r.Fields[FieldMiddle].Level; l != Initial {
		t.Errorf("middle level = %s, want initial", l)
	}
	if w := r.Fields[FieldMiddle].Weight; w != DefaultConfig().Weights.MiddleInitial {
		t.Errorf("middle weight = %.1f, want the initial weight", w)
	}
}

func TestIdentifierStep(t *testing.T) {
	thin := func() *Record {
		return &Record{First: "Wei", Last: "Chen", BirthDate: Date{2020, 1, 2}, Sex: "M",
			Identifiers: []Identifier{{Value: "123-45-6789", Type: IDSSN}, {Value: "X1", Authority: "FAC09", Type: IDMRN}}}
	}
	a, b := thin(), thin()
	b.Identifiers = b.Identifiers[1:] // same MRN from the same facility only
	b.Last = "Chen-Wu"
	if r := compare(a, b); r.Outcome != Match || r.Reason != ReasonIdentifier {
		t.Errorf("same MRN and authority, compatible demographics: %s (%s)", r.Outcome, r.Reason)
	}
	a, b = thin(), thin()
	b.BirthDate = Date{2017, 9, 30}
	if r := compare(a, b); r.Outcome == Match {
		t.Errorf("shared identifiers with a conflicting birth date linked: %s", r.Reason)
	}
	a, b = thin(), thin()
	b.Middle, a.Middle = "Jun", "Li"
	b.First = "Wei"
	if r := compare(a, b); r.Reason == ReasonIdentifier {
		t.Errorf("identifier step ignored a middle-name conflict")
	}
	// The same MRN value from different facilities says nothing.
	a, b = thin(), thin()
	a.Identifiers = []Identifier{{Value: "X1", Authority: "FAC01", Type: IDMRN}}
	b.Identifiers = []Identifier{{Value: "X1", Authority: "FAC02", Type: IDMRN}}
	if r := compare(a, b); r.Fields[FieldMRN].Level != Missing {
		t.Errorf("MRNs of different authorities compared: %s", r.Fields[FieldMRN].Level)
	}
}

func TestFrequencyAdjustment(t *testing.T) {
	m := New(DefaultConfig())
	common := func() *Record { return &Record{First: "James", Last: "Smith", BirthDate: Date{2015, 5, 5}} }
	rare := func() *Record { return &Record{First: "Tangwyn", Last: "Oyelaran", BirthDate: Date{2015, 5, 5}} }
	c1, c2, r1, r2 := common(), common(), rare(), rare()
	for _, r := range []*Record{c1, c2, r1, r2} {
		Normalize(r)
	}
	if cs, rs := m.Compare(c1, c2).Score, m.Compare(r1, r2).Score; cs >= rs {
		t.Errorf("James Smith agreement %.1f not below a rare name's %.1f", cs, rs)
	}
}

func TestStringMeasures(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ROBERT", "R163"}, {"RUPERT", "R163"}, {"ASHCRAFT", "A261"}, {"TYMCZAK", "T522"}, {"PFISTER", "P236"}, {"LEE", "L000"},
	} {
		if got := soundex(tc.in); string(got[:]) != tc.want {
			t.Errorf("soundex(%s) = %s, want %s", tc.in, got[:], tc.want)
		}
	}
	if d := editDistance("KATHERINE", "KATHERIEN", 3); d != 1 {
		t.Errorf("transposition distance %d, want 1", d)
	}
	if jw := jaroWinkler("MARTHA", "MARHTA"); jw < 0.96 || jw > 0.962 {
		t.Errorf("jaroWinkler(MARTHA, MARHTA) = %.4f, want 0.9611", jw)
	}
	if !Nicknames("Bill", "william") || !Nicknames("Liz", "Elizabeth") || Nicknames("Bill", "Robert") {
		t.Error("nickname table")
	}
}

func TestBlockingKeys(t *testing.T) {
	a, b := base(), base()
	b.Last, b.BirthDate = "Haddad", Date{2019, 7, 3} // changed name and swapped date
	b.Phones = nil
	Normalize(a)
	Normalize(b)
	shared := 0
	ka := BlockingKeys(a)
	for _, k := range BlockingKeys(b) {
		for _, x := range ka {
			if k == x {
				shared++
			}
		}
	}
	if shared == 0 {
		t.Errorf("no shared blocking key: %v / %v", ka, BlockingKeys(b))
	}
}

func TestCompareNoAllocsAndConcurrent(t *testing.T) {
	a, b := base(), base()
	b.First, b.Last = "Kate", "Lindqvist-Okafor"
	Normalize(a)
	Normalize(b)
	m := New(DefaultConfig())
	if n := testing.AllocsPerRun(100, func() { m.Compare(a, b) }); n != 0 {
		t.Errorf("Compare allocates %.0f times on normalised records", n)
	}
	want := m.Compare(a, b)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if got := m.Compare(a, b); got != want {
					t.Error("concurrent Compare differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCompare(b *testing.B) {
	x, y := base(), base()
	y.First, y.Last, y.BirthDate = "Kate", "Lindqvist-Okafor", Date{2019, 7, 3}
	Normalize(x)
	Normalize(y)
	m := New(DefaultConfig())
	b.ReportAllocs()
	for b.Loop() {
		m.Compare(x, y)
	}
}

// BenchmarkCompareHousehold: a pair decided by the household rule (common
// names, a guardian in common, nothing else), the path the rule added.
func BenchmarkCompareHousehold(b *testing.B) {
	x := &Record{First: "James", Last: "Smith", BirthDate: Date{2021, 6, 1}, Sex: "M",
		Guardians: []PersonName{{First: "Ayesha", Last: "Smith"}}}
	y := &Record{First: "JAMES", Last: "SMITH", BirthDate: Date{2021, 6, 1},
		Guardians: []PersonName{{First: "Ayesha", Last: "Smith"}}}
	Normalize(x)
	Normalize(y)
	m := New(DefaultConfig())
	if r := m.Compare(x, y); r.Reason != ReasonCorroborated {
		b.Fatalf("pair decided by %q, want the household rule", r.Reason)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Compare(x, y)
	}
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		r := base()
		Normalize(r)
	}
}

// TestChoose: among the candidates a report matches, one sharing an
// identifier of a named authority wins over a higher score; otherwise the
// highest score, the earlier on a tie; possible matches are reported but
// never chosen.
func TestChoose(t *testing.T) {
	m := New(DefaultConfig())
	mrn := Identifier{Value: "A-1", Authority: "CLINIC", Type: "MR"}
	rec := base()
	rec.Identifiers = []Identifier{mrn}
	full := base() // higher score: address and phone agree too
	thin := base() // the same MRN, less else
	thin.Identifiers, thin.Phones, thin.Addresses = []Identifier{mrn}, nil, nil
	thinNoID := base()
	thinNoID.Phones, thinNoID.Addresses = nil, nil
	other := base()
	other.First, other.Middle = "Ingrid", "" // a sibling: at most a possible match
	for _, r := range []*Record{rec, full, thin, thinNoID, other} {
		Normalize(r)
	}
	if got := m.Compare(rec, full).Score; got <= m.Compare(rec, thin).Score {
		t.Fatalf("test premise: full %.1f should outscore thin %.1f", got, m.Compare(rec, thin).Score)
	}
	tests := []struct {
		name  string
		cands []*Record
		best  int
		byID  bool
		nPoss int
	}{
		{"identifier beats score", []*Record{full, thin}, 1, true, 0},
		{"highest score when none shares an identifier", []*Record{thinNoID, full}, 1, false, 0},
		{"tie keeps the earlier", []*Record{full, full}, 0, false, 0},
		{"possible match never chosen", []*Record{other}, -1, false, 1},
		{"none", nil, -1, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			poss := 0
			best, byID := m.Choose(rec, tc.cands, func(_ int, r Result) {
				if r.Outcome == PossibleMatch {
					poss++
				}
			})
			if best != tc.best || byID != tc.byID || poss != tc.nPoss {
				t.Errorf("best %d byID %v possible %d, want %d %v %d", best, byID, poss, tc.best, tc.byID, tc.nPoss)
			}
		})
	}
}
