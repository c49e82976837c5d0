package compliancy

import (
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/forecast"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// doses builds doses from "CVX@date" pairs.
func doses(list ...string) []forecast.Dose {
	var out []forecast.Dose
	for _, s := range list {
		cvx, d, _ := strings.Cut(s, "@")
		out = append(out, forecast.Dose{CVX: cvx, Date: day(d)})
	}
	return out
}

// routine8 is a child born 2023-01-15 on the routine schedule up to 8
// months: HepB at birth, 1 and 6 months; DTaP, IPV, Hib (PRP-T), PCV and
// rotavirus (RV5) at 2, 4 and 6 months.
var routine8 = []string{
	"08@2023-01-15", "08@2023-02-15", "08@2023-07-17",
	"20@2023-03-15", "20@2023-05-15", "20@2023-07-17",
	"10@2023-03-15", "10@2023-05-15", "10@2023-07-17",
	"48@2023-03-15", "48@2023-05-15", "48@2023-07-17",
	"133@2023-03-15", "133@2023-05-15", "133@2023-07-17",
	"116@2023-03-15", "116@2023-05-15", "116@2023-07-17",
}

// routine20 adds the 12- and 15-month doses: MMR, varicella, Hib and PCV
// boosters, HepA #1 at 12 months, DTaP #4 at 15 months.
var routine20 = append(append([]string(nil), routine8...),
	"03@2024-01-16", "21@2024-01-16", "48@2024-01-16", "133@2024-01-16", "83@2024-01-16", "20@2024-04-15")

func without(list []string, drop ...string) []string {
	var out []string
	for _, s := range list {
		keep := true
		for _, d := range drop {
			if s == d {
				keep = false
			}
		}
		if keep {
			out = append(out, s)
		}
	}
	return out
}

func TestOverdue(t *testing.T) {
	e, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	dob := day("2023-01-15")
	at8, at20 := Reached(dob, 8), Reached(dob, 20)
	cases := []struct {
		name  string
		doses []string
		at    time.Time
		want  []string // the overdue groups, in ChildhoodGroups order
	}{
		{"routine at 8 months", routine8, at8, nil},
		{"routine at 20 months", routine20, at20, nil},
		{"nothing at 8 months", nil, at8, []string{"DTaP/Tdap/Td", "Polio", "Hib", "HepB", "Pneumococcal"}},
		{"no DTaP #3 at 8 months", without(routine8, "20@2023-07-17"), at8, []string{"DTaP/Tdap/Td"}},
		{"no MMR at 20 months", without(routine20, "03@2024-01-16"), at20, []string{"MMR"}},
		{"8-month doses only at 20 months", routine8, at20, []string{"DTaP/Tdap/Td", "Hib", "Pneumococcal", "MMR", "Varicella"}},
		// A dose given after the day assessed does not make up for it.
		{"DTaP #3 late, after 8 months", append(without(routine8, "20@2023-07-17"), "20@2023-10-01"), at8, []string{"DTaP/Tdap/Td"}},
		// Not yet past due is up to date: MMR at 12 months is due, not overdue at 13.
		{"no MMR yet at 13 months", routine8, Reached(dob, 13), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := forecast.Record{Patient: forecast.Patient{DOB: dob, Gender: forecast.Female}, Doses: doses(c.doses...)}
			var got []string
			for _, m := range Overdue(e, rec, c.at) {
				got = append(got, m.Group)
				if m.PastDue.After(c.at) || m.Dose < 1 {
					t.Errorf("%s: past due %s, dose %d, assessed %s", m.Group, m.PastDue.Format(time.DateOnly), m.Dose, c.at.Format(time.DateOnly))
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("overdue %v, want %v", got, c.want)
			}
		})
	}
}

func TestReached(t *testing.T) {
	for _, c := range []struct {
		dob    string
		months int
		want   string
	}{
		{"2023-01-15", 8, "2023-09-15"},
		{"2023-01-31", 8, "2023-10-01"},
		{"2023-06-30", 20, "2025-03-02"},
	} {
		if got := Reached(day(c.dob), c.months).Format(time.DateOnly); got != c.want {
			t.Errorf("%s + %d months = %s, want %s", c.dob, c.months, got, c.want)
		}
	}
}
