package recall

import (
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func engine(t testing.TB) *forecast.Engine {
	t.Helper()
	fc, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	return fc
}

// girl is born 2024-01-15 with one DTaP at 2 months: DTaP #2 is
// recommended 2024-05-15 and past due 2024-07-12; polio #1 recommended
// 2024-03-15 and past due 2024-05-12 (the CDSi schedule).
func girl(edit func(*registry.RecallCandidate)) *registry.RecallCandidate {
	c := &registry.RecallCandidate{ID: 1, Record: registry.PatientRecord{
		Patient: iis.Patient{BirthDate: day("2024-01-15"), Sex: "F", Names: []iis.Name{{Family: "Abbot", Given: "Ann", Type: "L"}},
			Addresses: []iis.Address{{Street: "1 Oak St", City: "Hartford", State: "CT", Zip: "06101"}},
			Phones:    []iis.Phone{{Area: "860", Local: "5550101"}},
			Guardians: []iis.Guardian{{Name: iis.Name{Family: "Abbot", Given: "Mary"}, Relationship: iis.Code{Code: "MTH"}}}},
		Vaccinations: []iis.Vaccination{{CVX: "20", AdministeredAt: day("2024-03-15"), CompletionStatus: "CP"}},
	}}
	if edit != nil {
		edit(c)
	}
	return c
}

func TestSelect(t *testing.T) {
	fc := engine(t)
	dtapPolio := []string{"DTaP/Tdap/Td", "Polio"}
	for _, tc := range []struct {
		name    string
		c       *registry.RecallCandidate
		p       Params
		reason  string
		want    string // "group:status ..." in forecast order; "" none due
		noPhone bool
	}{
		{name: "DTaP #2 not yet due", c: girl(nil), p: Params{By: day("2024-05-01"), Groups: []string{"DTaP/Tdap/Td"}}},
		{name: "DTaP #2 due on its recommended date", c: girl(nil), p: Params{By: day("2024-05-15"), Groups: []string{"DTaP/Tdap/Td"}}, want: "DTaP/Tdap/Td:due"},
		{name: "DTaP #2 overdue on its past-due date", c: girl(nil), p: Params{By: day("2024-07-12"), Groups: []string{"DTaP/Tdap/Td"}}, want: "DTaP/Tdap/Td:overdue"},
		{name: "due and overdue groups", c: girl(nil), p: Params{By: day("2024-05-20"), Groups: dtapPolio}, want: "DTaP/Tdap/Td:due Polio:overdue"},
		{name: "overdue only", c: girl(nil), p: Params{By: day("2024-05-20"), Groups: dtapPolio, OverdueOnly: true}, want: "Polio:overdue"},
		{name: "vaccine-group filter", c: girl(nil), p: Params{By: day("2024-05-20"), Groups: []string{"Polio"}}, want: "Polio:overdue"},
		{name: "a group not chosen is not listed", c: girl(nil), p: Params{By: day("2024-03-01"), Groups: []string{"MMR"}}},
		{name: "complete group never due", c: girl(func(c *registry.RecallCandidate) {
			c.Record.Patient.BirthDate = day("2010-01-15")
		}), p: Params{By: day("2024-05-20"), Groups: []string{"Rotavirus"}}},
		{name: "PD1-11 01 no reminder/recall", c: girl(func(c *registry.RecallCandidate) { c.Record.Patient.PublicityCode.Code = "01" }),
			p: Params{By: day("2024-05-20"), Groups: dtapPolio}, reason: ReasonNoRecall},
		{name: "PD1-11 02 any reminder/recall", c: girl(func(c *registry.RecallCandidate) { c.Record.Patient.PublicityCode.Code = "02" }),
			p: Params{By: day("2024-05-20"), Groups: dtapPolio}, want: "DTaP/Tdap/Td:due Polio:overdue"},
		{name: "PD1-11 04 reminder only", c: girl(func(c *registry.RecallCandidate) { c.Record.Patient.PublicityCode.Code = "04" }),
			p: Params{By: day("2024-05-20"), Groups: dtapPolio}, want: "DTaP/Tdap/Td:due"},
		{name: "PD1-11 07 recall only, no calls", c: girl(func(c *registry.RecallCandidate) { c.Record.Patient.PublicityCode.Code = "07" }),
			p: Params{By: day("2024-05-20"), Groups: dtapPolio}, want: "Polio:overdue", noPhone: true},
		{name: "opted out", c: girl(func(c *registry.RecallCandidate) { c.OptedOut = true }),
			p: Params{By: day("2024-05-20"), Groups: dtapPolio}, reason: ReasonOptedOut},
		{name: "PD1-12 protection", c: girl(func(c *registry.RecallCandidate) { c.Record.Patient.Protection = "Y" }),
			p: Params{By: day("2024-05-20"), Groups: dtapPolio}, reason: ReasonProtected},
		{name: "PD1-12 N is no protection", c: girl(func(c *registry.RecallCandidate) { c.Record.Patient.Protection = "N" }),
			p: Params{By: day("2024-05-20"), Groups: []string{"Polio"}}, want: "Polio:overdue"},
		{name: "PD1-16 moved or gone elsewhere", c: girl(func(c *registry.RecallCandidate) { c.Record.Patient.RegistryStatus = "M" }),
			p: Params{By: day("2024-05-20"), Groups: dtapPolio}, reason: ReasonMoved},
		{name: "PD1-16 permanently inactive", c: girl(func(c *registry.RecallCandidate) { c.Record.Patient.RegistryStatus = "P" }),
			p: Params{By: day("2024-05-20"), Groups: dtapPolio}, reason: ReasonInactive},
		{name: "deceased", c: girl(func(c *registry.RecallCandidate) { c.Record.Patient.DeathDate = day("2024-04-01") }),
			p: Params{By: day("2024-05-20"), Groups: dtapPolio}, reason: ReasonDeceased},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, reason := Select(fc, tc.c, &tc.p)
			if reason != tc.reason {
				t.Fatalf("reason %q, want %q", reason, tc.reason)
			}
			var got []string
			if ch != nil {
				for _, d := range ch.Due {
					got = append(got, d.Group+":"+d.Status.String())
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Fatalf("due %q, want %q", g, tc.want)
			}
			if ch != nil && (ch.Phone == "") != tc.noPhone {
				t.Errorf("phone %q, want none: %v", ch.Phone, tc.noPhone)
			}
		})
	}
}

func TestSelectDates(t *testing.T) {
	ch, _ := Select(engine(t), girl(nil), &Params{By: day("2024-05-20"), Groups: []string{"DTaP/Tdap/Td"}})
	if ch == nil || len(ch.Due) != 1 {
		t.Fatalf("child %+v", ch)
	}
	d := ch.Due[0]
	if d.Dose != 2 || !d.Recommended.Equal(day("2024-05-15")) || !d.PastDue.Equal(day("2024-07-12")) {
		t.Errorf("DTaP: dose %d recommended %s past due %s", d.Dose, d.Recommended, d.PastDue)
	}
	if ch.Name() != "Ann Abbot" || ch.Guardian != "Mary Abbot" || ch.Phone != "8605550101" || ch.Address.Zip != "06101" {
		t.Errorf("child %+v", ch)
	}
}

func TestBornBetween(t *testing.T) {
	for _, tc := range []struct {
		by       string
		min, max int
		from, to string
	}{
		{"2024-06-15", 19, 35, "2021-06-16", "2022-11-15"},
		{"2024-06-15", 0, 0, "2024-05-16", "2024-06-15"},
		{"2024-03-31", 24, 35, "2021-04-01", "2022-03-31"},
	} {
		from, to := BornBetween(day(tc.by), tc.min, tc.max)
		wantFrom := day(tc.from)
		if !from.Equal(wantFrom) || !to.Equal(day(tc.to)) {
			t.Errorf("%s %d–%d months: born %s to %s, want %s to %s", tc.by, tc.min, tc.max, from.Format(time.DateOnly), to.Format(time.DateOnly), tc.from, tc.to)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	known := []string{"MMR", "Polio"}
	for _, tc := range []struct {
		p    Params
		want string
	}{
		{Params{By: day("2024-01-01")}, ""},
		{Params{}, "give the date"},
		{Params{By: day("2024-01-01"), BornFrom: day("2023-01-01"), BornTo: day("2022-01-01")}, "after the latest"},
		{Params{By: day("2024-01-01"), Groups: []string{"Measles"}}, `"Measles" is not a vaccine group`},
	} {
		err := tc.p.Validate(known)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.p, err, tc.want)
		}
	}
}

func TestFamilies(t *testing.T) {
	oak := Address{Street: "1 Oak St", City: "Hartford", State: "CT", Zip: "06101"}
	cs := []Child{
		{ID: 1, Given: "Ann", Family: "Abbot", Guardian: "Mary Abbot", Address: oak},
		{ID: 2, Given: "Ben", Family: "Abbot", Guardian: "MARY  ABBOT", Address: Address{Street: "1 oak st.", Zip: "06101-1234"}, Phone: "8605550101"},
		{ID: 3, Given: "Cal", Family: "Abbot", Guardian: "Joe Abbot", Address: oak},
		{ID: 4, Given: "Dee", Family: "Cole"},
		{ID: 5, Given: "Eve", Family: "Cole"},
		{ID: 6, Given: "Fay", Family: "Dunn", Address: Address{Street: "2 Elm St", Zip: "06010"}},
		{ID: 7, Given: "Gus", Family: "Dunn", Address: Address{Street: "2 Elm St", Zip: "06010"}},
	}
	fs := Families(cs)
	var got []string
	for _, f := range fs {
		var ids []string
		for _, c := range f.Children {
			ids = append(ids, c.Given)
		}
		got = append(got, f.Guardian+"="+strings.Join(ids, ","))
	}
	want := "Mary Abbot=Ann,Ben|Joe Abbot=Cal|The family of Dee Cole=Dee|The family of Eve Cole=Eve|The family of Fay Dunn=Fay,Gus"
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("families\n got %s\nwant %s", g, want)
	}
	if fs[0].Phone != "8605550101" {
		t.Errorf("the family's phone: %q, want the second child's", fs[0].Phone)
	}
}
