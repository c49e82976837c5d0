package coverage

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

// upToDate is a child born 2023-01-15 vaccinated on the routine schedule:
// HepB at birth, 1 and 6 months; DTaP, IPV, Hib (PRP-T) and PCV at 2, 4
// and 6 months; MMR, varicella, Hib and PCV boosters at 12 months; DTaP #4
// at 15 months.
func upToDate() []forecast.Dose {
	return doses(
		"08@2023-01-15", "08@2023-02-15", "08@2023-07-17",
		"20@2023-03-15", "20@2023-05-15", "20@2023-07-17", "20@2024-04-15",
		"10@2023-03-15", "10@2023-05-15", "10@2023-07-17",
		"48@2023-03-15", "48@2023-05-15", "48@2023-07-17", "48@2024-01-16",
		"133@2023-03-15", "133@2023-05-15", "133@2023-07-17", "133@2024-01-16",
		"03@2024-01-16", "21@2024-01-16",
	)
}

// without drops the doses of the given CVX given on the given date.
func without(ds []forecast.Dose, cvxAt string) []forecast.Dose {
	cvx, d, _ := strings.Cut(cvxAt, "@")
	var out []forecast.Dose
	for _, x := range ds {
		if x.CVX == cvx && x.Date.Equal(day(d)) {
			continue
		}
		out = append(out, x)
	}
	return out
}

func with(ds []forecast.Dose, more ...string) []forecast.Dose {
	return append(append([]forecast.Dose(nil), ds...), doses(more...)...)
}

func TestChildhoodRules(t *testing.T) {
	e, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	a := NewAssessor(e)
	dob := day("2023-01-15")
	asOf := day("2025-06-30") // 29 months
	type want struct {
		notUTD []Measure // every other childhood measure up to date
		gap    string    // in the gaps' reasons
		flags  Flag
	}
	cases := []struct {
		name    string
		doses   []forecast.Dose
		obs     []string
		refused bool
		timing  Timing
		want    want
	}{
		{name: "routine schedule", doses: upToDate()},
		{name: "routine schedule, at assessment", doses: upToDate(), timing: AtAssessment},
		{
			// CDSi 2013-0230: HepB #3 at 24 weeks - 5 days is valid as dose 3
			// of the 4-dose series, and a 4th dose is due.
			name:  "HepB #3 before 24 weeks (CDSi 2013-0230)",
			doses: with(without(upToDate(), "08@2023-07-17"), "08@2023-06-27"),
			want:  want{notUTD: []Measure{HepB, Series4313314}, gap: "dose 4 of HepB 4-dose series is due"},
		},
		{
			// HepB #3 only 2 weeks after #2: an interval too short, not valid.
			name:  "HepB #3 too soon after #2",
			doses: with(without(upToDate(), "08@2023-07-17"), "08@2023-03-01"),
			want:  want{notUTD: []Measure{HepB, Series4313314}, gap: "series not complete"},
		},
		{
			name:  "DTaP #4 after the 2nd birthday: not at 24 months",
			doses: with(without(upToDate(), "20@2024-04-15"), "20@2025-02-01"),
			want:  want{notUTD: []Measure{DTaP, Series4313314}, gap: "3 of 4 valid doses"},
		},
		{
			name:   "DTaP #4 after the 2nd birthday: at the assessment date",
			doses:  with(without(upToDate(), "20@2024-04-15"), "20@2025-02-01"),
			timing: AtAssessment,
		},
		{
			name:  "DTaP #4 on the 2nd birthday does not count at 24 months",
			doses: with(without(upToDate(), "20@2024-04-15"), "20@2025-01-15"),
			want:  want{notUTD: []Measure{DTaP, Series4313314}},
		},
		{
			name:  "no varicella dose",
			doses: without(upToDate(), "21@2024-01-16"),
			want:  want{notUTD: []Measure{Varicella, Series4313314}, gap: "0 of 1 valid doses"},
		},
		{
			name:  "history of varicella disease instead of a dose",
			doses: without(upToDate(), "21@2024-01-16"),
			obs:   []string{"024"},
		},
		{
			name:  "evidence of HepB immunity instead of doses",
			doses: without(without(without(upToDate(), "08@2023-01-15"), "08@2023-02-15"), "08@2023-07-17"),
			obs:   []string{"019"},
		},
		{
			name: "Hib PRP-OMP: 3 doses complete",
			doses: with(without(without(without(without(upToDate(), "48@2023-03-15"), "48@2023-05-15"), "48@2023-07-17"), "48@2024-01-16"),
				"49@2023-03-15", "49@2023-05-15", "49@2024-01-16"),
		},
		{
			name:  "Hib PRP-T: 3 doses without the booster",
			doses: without(upToDate(), "48@2024-01-16"),
			want:  want{notUTD: []Measure{Hib, Series4313314}, gap: "series not complete"},
		},
		{
			name:  "PCV: 3 doses",
			doses: without(upToDate(), "133@2024-01-16"),
			want:  want{notUTD: []Measure{PCV, Series4313314}, gap: "3 of 4 valid doses"},
		},
		{
			name:  "polio #3 missing",
			doses: without(upToDate(), "10@2023-07-17"),
			want:  want{notUTD: []Measure{Polio, Series4313314}},
		},
		{
			name:  "MMR before the 1st birthday is not valid",
			doses: with(without(upToDate(), "03@2024-01-16"), "03@2023-12-01"),
			want:  want{notUTD: []Measure{MMR, Series4313314}, gap: "not valid"},
		},
		{
			name:  "MMR contraindicated: not up to date, flagged",
			doses: without(upToDate(), "03@2024-01-16"),
			obs:   []string{"091"},
			want:  want{notUTD: []Measure{MMR, Series4313314}, gap: "contraindicated", flags: Contraindicated},
		},
		{
			name:    "refusal flagged",
			doses:   without(upToDate(), "03@2024-01-16"),
			refused: true,
			want:    want{notUTD: []Measure{MMR, Series4313314}, flags: Refused},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := forecast.Record{Patient: forecast.Patient{DOB: dob, Gender: forecast.Female}, Doses: c.doses}
			for _, o := range c.obs {
				rec.Patient.Observations = append(rec.Patient.Observations, forecast.Observation{Code: o})
			}
			if c.refused {
				rec.Refusals = []forecast.Refusal{{Date: day("2024-01-16"), CVX: "03", Reasons: []string{"00"}}}
			}
			got := a.Childhood(rec, asOf, c.timing)
			for _, m := range ChildhoodMeasures {
				wantUTD := !containsMeasure(c.want.notUTD, m)
				if got.UpToDate[m] != wantUTD {
					t.Errorf("%s up to date = %v, want %v (gaps %v)", m, got.UpToDate[m], wantUTD, got.Gaps)
				}
			}
			if c.want.gap != "" && !gapsSay(got.Gaps, c.want.gap) {
				t.Errorf("gaps %v do not say %q", got.Gaps, c.want.gap)
			}
			if len(c.want.notUTD) == 0 && len(got.Gaps) != 0 {
				t.Errorf("gaps %v for an up-to-date child", got.Gaps)
			}
			if got.Flags != c.want.flags {
				t.Errorf("flags = %b, want %b", got.Flags, c.want.flags)
			}
		})
	}
}

func TestAdolescentRules(t *testing.T) {
	e, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	a := NewAssessor(e)
	dob := day("2010-03-01")
	asOf := day("2025-06-30") // 15 years
	// A child's DTaP and MenACWY history, then the adolescent doses.
	base := doses("20@2010-05-01", "20@2010-07-01", "20@2010-09-01", "20@2011-06-01", "20@2014-03-05")
	cases := []struct {
		name   string
		doses  []forecast.Dose
		notUTD []Measure
	}{
		{name: "Tdap, MenACWY and 2 HPV doses at 11-12", doses: with(base, "115@2021-03-10", "114@2021-03-10", "165@2021-03-10", "165@2022-03-10")},
		{name: "Tdap before 10 years does not count", doses: with(base, "115@2019-03-10", "114@2021-03-10", "165@2021-03-10", "165@2022-03-10"),
			notUTD: []Measure{Tdap, Adolescent}},
		{name: "one HPV dose", doses: with(base, "115@2021-03-10", "114@2021-03-10", "165@2021-03-10"), notUTD: []Measure{HPV, Adolescent}},
		{name: "HPV started at 15 needs 3 doses", doses: with(base, "115@2021-03-10", "114@2021-03-10", "165@2025-03-05", "165@2025-05-05"),
			notUTD: []Measure{HPV, Adolescent}},
		{name: "no MenACWY", doses: with(base, "115@2021-03-10", "165@2021-03-10", "165@2022-03-10"), notUTD: []Measure{MenACWY, Adolescent}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := forecast.Record{Patient: forecast.Patient{DOB: dob, Gender: forecast.Male}, Doses: c.doses}
			got := a.Adolescent(rec, asOf)
			for _, m := range AdolescentMeasures {
				wantUTD := !containsMeasure(c.notUTD, m)
				if got.UpToDate[m] != wantUTD {
					t.Errorf("%s up to date = %v, want %v (gaps %v)", m, got.UpToDate[m], wantUTD, got.Gaps)
				}
			}
		})
	}
}

func containsMeasure(ms []Measure, m Measure) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

func gapsSay(gs []Gap, s string) bool {
	for _, g := range gs {
		if strings.Contains(g.Reason, s) {
			return true
		}
	}
	return false
}
