package forecast_test

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

type dose struct{ date, cvx string }

func doses(ds ...dose) []forecast.Dose {
	out := make([]forecast.Dose, len(ds))
	for i, d := range ds {
		out[i] = forecast.Dose{Date: day(d.date), CVX: d.cvx}
	}
	return out
}

// groupDose returns the rolled-up verdict of dose i in a vaccine group.
func groupDose(t *testing.T, r forecast.Result, group string, i int) forecast.GroupDose {
	t.Helper()
	g := r.Group(group)
	if g == nil {
		t.Fatalf("no %s forecast", group)
	}
	for _, d := range g.Doses {
		if d.Dose == i {
			return d
		}
	}
	t.Fatalf("dose %d not evaluated in %s", i, group)
	return forecast.GroupDose{}
}

// TestRules checks individual CDSi rules on the real 4.64 supporting data.
func TestRules(t *testing.T) {
	e := engine(t)
	tests := []struct {
		name   string
		dob    string
		asOf   string
		group  string
		doses  []forecast.Dose
		dose   int // which dose to check
		want   forecast.EvalStatus
		reason string // substring of the reason
	}{
		// Age: DTaP dose 1 absolute minimum age is 6 weeks - 4 days.
		{"age at absolute minimum", "2025-01-01", "2025-06-01", "DTaP/Tdap/Td",
			doses(dose{"2025-02-08", "20"}), 0, forecast.Valid, ""},
		{"age one day too young", "2025-01-01", "2025-06-01", "DTaP/Tdap/Td",
			doses(dose{"2025-02-07", "20"}), 0, forecast.NotValid, "too young"},
		// Interval: DTaP dose 2 absolute minimum interval is 4 weeks - 4 days.
		{"interval at absolute minimum", "2025-01-01", "2025-08-01", "DTaP/Tdap/Td",
			doses(dose{"2025-03-01", "20"}, dose{"2025-03-25", "20"}), 1, forecast.Valid, ""},
		{"interval one day short", "2025-01-01", "2025-08-01", "DTaP/Tdap/Td",
			doses(dose{"2025-03-01", "20"}, dose{"2025-03-24", "20"}), 1, forecast.NotValid, "Interval: too soon"},
		// Grace period lost after an invalid dose: dose 2 in the grace window
		// after an invalid (too soon) dose is not valid.
		{"grace period after invalid dose", "2025-01-01", "2025-09-01", "DTaP/Tdap/Td",
			doses(dose{"2025-03-01", "20"}, dose{"2025-03-10", "20"}, dose{"2025-04-04", "20"}), 2, forecast.NotValid, "grace"},
		// Live virus conflict: varicella 27 days after MMR is not valid, 28 days is.
		{"live virus conflict", "2024-01-01", "2025-06-01", "Varicella",
			doses(dose{"2025-01-05", "03"}, dose{"2025-02-01", "21"}), 1, forecast.NotValid, "Live virus conflict"},
		{"live virus interval met", "2024-01-01", "2025-06-01", "Varicella",
			doses(dose{"2025-01-05", "03"}, dose{"2025-02-02", "21"}), 1, forecast.Valid, ""},
		{"live vaccines same day", "2024-01-01", "2025-06-01", "Varicella",
			doses(dose{"2025-01-05", "03"}, dose{"2025-01-05", "21"}), 1, forecast.Valid, ""},
		// Inadvertent vaccine: Tdap is not given as an infant's DTaP dose 1.
		{"inadvertent vaccine", "2025-01-01", "2025-06-01", "DTaP/Tdap/Td",
			doses(dose{"2025-03-01", "115"}), 0, forecast.NotValid, "Inadvertent"},
		// Maximum age: Hib dose 1 at 6 years is extraneous (too old).
		{"too old", "2018-01-01", "2024-06-01", "Hib",
			doses(dose{"2024-02-01", "48"}), 0, forecast.Extraneous, "too old"},
		// Series complete: a third varicella dose after the 2-dose series.
		{"extraneous after completion", "2020-01-01", "2025-06-01", "Varicella",
			doses(dose{"2021-01-01", "21"}, dose{"2024-01-01", "21"}, dose{"2025-01-01", "21"}), 2, forecast.Extraneous, "already complete"},
		// Not a preferable or allowable vaccine (CDC case 2024-0068): a
		// MenB vaccine type the series does not accept.
		{"vaccine not allowed", "2010-04-10", "2025-11-10", "Meningococcal B",
			doses(dose{"2025-11-10", "164"}), 0, forecast.NotValid, "Not a preferable or allowable vaccine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.Forecast(forecast.Patient{DOB: day(tt.dob), Gender: forecast.Female}, tt.doses, day(tt.asOf))
			got := groupDose(t, r, tt.group, tt.dose)
			if got.Status != tt.want {
				t.Fatalf("dose %d: status %s (%s), want %s", tt.dose+1, got.Status, got.Reason, tt.want)
			}
			if tt.reason != "" && !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("dose %d: reason %q, want it to mention %q", tt.dose+1, got.Reason, tt.reason)
			}
		})
	}
}

// TestSkipRules checks conditional skips in evaluation and forecast.
func TestSkipRules(t *testing.T) {
	e := engine(t)
	p := forecast.Patient{DOB: day("2021-11-10"), Gender: forecast.Male}

	// A fourth DTaP dose at age 4 skips target dose 4 and counts as dose 5;
	// the next dose is the adolescent Tdap at 11 years.
	r := e.Forecast(p, doses(dose{"2022-01-10", "20"}, dose{"2022-03-10", "20"}, dose{"2022-05-10", "20"}, dose{"2025-11-10", "20"}), day("2025-11-10"))
	for _, ev := range r.Evaluations {
		if ev.Antigen == "Pertussis" && ev.Dose == 3 && ev.TargetDose != 5 {
			t.Errorf("dose 4 at age 4 evaluated against target dose %d, want 5 (dose 4 skipped)", ev.TargetDose)
		}
	}
	g := r.Group("DTaP/Tdap/Td")
	if g == nil || g.Status != forecast.NotComplete || g.Earliest.String() != "2032-11-10" {
		t.Errorf("DTaP forecast = %+v, want not complete, earliest 2032-11-10 (age 11)", g)
	}

	// A 7-year-old with no doses: the infant doses are skipped and Tdap is
	// due at once (earliest = 7th birthday).
	r = e.Forecast(forecast.Patient{DOB: day("2018-11-10")}, nil, day("2025-11-10"))
	g = r.Group("DTaP/Tdap/Td")
	if g == nil || g.Earliest.String() != "2025-11-10" {
		t.Errorf("7-year-old DTaP forecast = %+v, want earliest 2025-11-10", g)
	}
}

// TestForecastNewborn checks the first forecast dates against CDC case 2013-0001.
func TestForecastNewborn(t *testing.T) {
	e := engine(t)
	r := e.Forecast(forecast.Patient{DOB: day("2025-11-10"), Gender: forecast.Female}, nil, day("2025-11-10"))
	g := r.Group("DTaP/Tdap/Td")
	if g == nil {
		t.Fatal("no DTaP forecast")
	}
	if g.Status != forecast.NotComplete || g.DoseNumber != 1 ||
		g.Earliest.String() != "2025-12-22" || g.Recommended.String() != "2026-01-10" || g.PastDue.String() != "2026-03-09" {
		t.Errorf("newborn DTaP = %s dose %d %v %v %v", g.Status, g.DoseNumber, g.Earliest, g.Recommended, g.PastDue)
	}
}

// TestContraindicationAndImmunity covers observation-driven statuses.
func TestContraindicationAndImmunity(t *testing.T) {
	e := engine(t)
	// 080: adverse reaction to a vaccine component contraindicates DTaP.
	r := e.Forecast(forecast.Patient{DOB: day("2010-06-06"), Observations: []forecast.Observation{{Code: "080"}}}, nil, day("2010-08-02"))
	if g := r.Group("DTaP/Tdap/Td"); g == nil || g.Status != forecast.Contraindicated {
		t.Errorf("DTaP with observation 080 = %+v, want contraindicated", g)
	}
	// 079 (encephalopathy after DTaP) contraindicates the DTaP vaccines
	// only: the group stays due and the reason names what not to give.
	r = e.Forecast(forecast.Patient{DOB: day("2011-02-02"), Observations: []forecast.Observation{{Code: "079"}}},
		doses(dose{"2011-04-02", "110"}), day("2011-04-02"))
	if g := r.Group("DTaP/Tdap/Td"); g == nil || g.Status != forecast.NotComplete || !strings.Contains(g.Reason, "do not use DTaP") {
		t.Errorf("DTaP with observation 079 = %+v, want not complete with a 'do not use DTaP' reason", g)
	}
	// Born before 1957: evidence of measles, mumps and rubella immunity.
	r = e.Forecast(forecast.Patient{DOB: day("1950-01-01")}, nil, day("2025-11-10"))
	if g := r.Group("MMR"); g == nil || g.Status != forecast.Immune {
		t.Errorf("MMR born 1950 = %+v, want immune", g)
	}
}

// TestSeasonEnded: after the supporting data's influenza season ends the
// group stays not complete but no dates are forecast.
func TestSeasonEnded(t *testing.T) {
	e := engine(t)
	r := e.Forecast(forecast.Patient{DOB: day("2020-01-01")}, doses(dose{"2025-10-01", "150"}), day("2026-07-15"))
	g := r.Group("Influenza")
	if g == nil || g.Status != forecast.NotComplete || g.Earliest != forecast.NoDate || !strings.Contains(g.Reason, "season") {
		t.Errorf("influenza after the season = %+v", g)
	}
	r = e.Forecast(forecast.Patient{DOB: day("2020-01-01")}, doses(dose{"2025-10-01", "150"}), day("2025-11-15"))
	if g := r.Group("Influenza"); g == nil || g.Earliest == forecast.NoDate {
		t.Errorf("influenza within the season = %+v, want dates", g)
	}
}

// TestSubStandardDose: an expired dose is "Sub standard", does not count,
// and is not the previous dose for the next interval.
func TestSubStandardDose(t *testing.T) {
	e := engine(t)
	ds := doses(dose{"2025-03-01", "20"}, dose{"2025-05-01", "20"})
	ds[1].Condition = forecast.ConditionExpired
	r := e.Forecast(forecast.Patient{DOB: day("2025-01-01")}, ds, day("2025-06-01"))
	got := groupDose(t, r, "DTaP/Tdap/Td", 1)
	if got.Status != forecast.SubStandard {
		t.Fatalf("expired dose: %s (%s), want Sub standard", got.Status, got.Reason)
	}
	if g := r.Group("DTaP/Tdap/Td"); g.DoseNumber != 2 || g.Earliest.String() != "2025-03-29" {
		t.Errorf("after an expired dose 2: dose %d earliest %s, want dose 2 from 2025-03-29", g.DoseNumber, g.Earliest)
	}
}

// TestUndatedTargetDose: a target dose that no minimum age, interval,
// conflict, season or earlier dose dates has no candidate earliest date
// (spec table 7-9 assumes 12/31/2999), so its series cannot be finished
// and is not selected over a series that can start. MenACWY "risk 2-23
// month" skips doses 1-3 from 7 months of age and its dose 4 has neither
// a minimum age nor, without earlier doses, an interval.
func TestUndatedTargetDose(t *testing.T) {
	e := engine(t)
	tests := []struct {
		name, dob, asOf       string
		wantSeries, wantEarly string
	}{
		// CDC case 2016-UC-0114: 7-month-old in an outbreak (obs. 070).
		{"infant of 7 months", "2015-05-10", "2015-12-10", "Meningococcal ACWY risk Hib-MenCY-TT 4-dose series", "2015-07-10"},
		// CDC case 2016-UC-0128: 60-year-old in an outbreak.
		{"adult", "1956-03-07", "2016-08-30", "Meningococcal ACWY risk 1-dose series", "1958-03-07"},
		// Before 7 months the 2-23 month series dates dose 1 at 2 months.
		{"infant of 3 months", "2015-05-10", "2015-08-10", "Meningococcal ACWY risk 2-23 month", "2015-07-10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.Forecast(forecast.Patient{DOB: day(tt.dob), Observations: []forecast.Observation{{Code: "070"}}}, nil, day(tt.asOf))
			g := r.Group("Meningococcal")
			if g == nil || g.Status != forecast.NotComplete || g.Earliest.String() != tt.wantEarly {
				t.Fatalf("MenACWY = %+v, want not complete from %s", g, tt.wantEarly)
			}
			for _, a := range r.Antigens {
				if a.Antigen == "Meningococcal" && a.Series != tt.wantSeries {
					t.Errorf("series %q, want %q", a.Series, tt.wantSeries)
				}
			}
		})
	}
}

// TestSelectNotStarted: with no valid dose in a series group the series
// are scored by spec table 8-11 (start earliest, completable, product).
func TestSelectNotStarted(t *testing.T) {
	e := engine(t)
	tests := []struct {
		name, dob, asOf, group, antigen string
		obs                             []string
		wantSeries, wantEarly           string
	}{
		// CDC case 2016-UC-0089: a 32-year-old long-term traveller fits
		// both JE risk series; the general one can start earliest (2 months
		// of age) and wins over the 18-65 year series.
		{"JE adult traveller", "1984-07-01", "2016-08-15", "Japanese Encephalitis", "Japanese Encephalitis", []string{"165"},
			"Japanese Encephalitis risk 2-dose series", "1984-09-01"},
		// CDC case 2016-UC-0198: a 39-year-old microbiologist and traveller;
		// the higher-priority 2-23 month series cannot be finished, so the
		// 1-dose series is scored and due from 2 years of age.
		{"MenACWY microbiologist", "1977-07-13", "2016-08-02", "Meningococcal", "Meningococcal", []string{"050", "164"},
			"Meningococcal ACWY risk 1-dose series", "1979-07-13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obs []forecast.Observation
			for _, c := range tt.obs {
				obs = append(obs, forecast.Observation{Code: c})
			}
			r := e.Forecast(forecast.Patient{DOB: day(tt.dob), Observations: obs}, nil, day(tt.asOf))
			g := r.Group(tt.group)
			if g == nil || g.Status != forecast.NotComplete || g.Earliest.String() != tt.wantEarly {
				t.Fatalf("%s = %+v, want not complete from %s", tt.group, g, tt.wantEarly)
			}
			for _, a := range r.Antigens {
				if a.Antigen == tt.antigen && a.Series != tt.wantSeries {
					t.Errorf("series %q, want %q", a.Series, tt.wantSeries)
				}
			}
		})
	}
}

// TestCompleteRiskSeriesInGroup: a completed risk series of another series
// group ends the antigen in a single-antigen vaccine group, while in a
// group of several antigens the standard series stays due (spec tables
// 8-14 and 9-4, SINGLEANTVG-1). Both patients travel (obs. 048) and get
// the infant risk dose; the dose is valid either way.
func TestCompleteRiskSeriesInGroup(t *testing.T) {
	e := engine(t)
	tests := []struct {
		name, dob, asOf, cvx, group string
		want                        forecast.SeriesStatus
		wantEarly                   string
	}{
		// CDC case 2016-UC-0093: MMR at 6 months; dose 1 of the 2-dose
		// series is due at 12 months.
		{"MMR at 6 months", "2016-02-28", "2016-08-28", "03", "MMR", forecast.NotComplete, "2017-02-28"},
		// CDC case 2024-UC-0012: HepA at 9 months completes the risk
		// 1-dose series.
		{"HepA at 9 months", "2024-01-21", "2024-11-01", "83", "HepA", forecast.Complete, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := forecast.Patient{DOB: day(tt.dob), Observations: []forecast.Observation{{Code: "048"}}}
			r := e.Forecast(p, doses(dose{tt.asOf, tt.cvx}), day(tt.asOf))
			g := r.Group(tt.group)
			if g == nil || g.Status != tt.want {
				t.Fatalf("%s = %+v, want %s", tt.group, g, tt.want)
			}
			if tt.wantEarly != "" && g.Earliest.String() != tt.wantEarly {
				t.Errorf("%s earliest %s, want %s", tt.group, g.Earliest, tt.wantEarly)
			}
			if d := groupDose(t, r, tt.group, 0); d.Status != forecast.Valid {
				t.Errorf("dose: %s (%s), want Valid", d.Status, d.Reason)
			}
		})
	}
}

// TestSelectInProcessProduct: a product series (Heplisav-B) with a dose
// that is not valid stays a candidate; it only loses the in-process
// points of a product series whose doses are all valid (spec table 8-13).
// Fewest doses left and finishing earliest still make it the patient
// series, so dose 2 is forecast from its intervals (4 weeks recommended,
// 8 weeks past due, from the dose given last).
func TestSelectInProcessProduct(t *testing.T) {
	e := engine(t)
	tests := []struct {
		name, dob, asOf                          string
		doses                                    []forecast.Dose
		wantSeries, wantEarly, wantRec, wantPast string
	}{
		// CDC case 2018-0015: one valid Heplisav-B dose.
		{"all doses valid", "2007-11-10", "2025-11-10", doses(dose{"2025-11-10", "189"}),
			"HepB Heplisav-B 2-dose series", "2025-12-08", "2025-12-08", "2026-01-04"},
		// CDC case 2018-0017: dose 2 given 4 weeks - 5 days after dose 1.
		{"dose 2 too soon", "2007-10-18", "2025-11-10", doses(dose{"2025-10-18", "189"}, dose{"2025-11-10", "189"}),
			"HepB Heplisav-B 2-dose series", "2025-12-08", "2025-12-08", "2026-01-04"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.Forecast(forecast.Patient{DOB: day(tt.dob), Gender: forecast.Female}, tt.doses, day(tt.asOf))
			g := r.Group("HepB")
			if g == nil || g.Status != forecast.NotComplete || g.DoseNumber != 2 {
				t.Fatalf("HepB = %+v, want dose 2 not complete", g)
			}
			if got := [3]string{g.Earliest.String(), g.Recommended.String(), g.PastDue.String()}; got != [3]string{tt.wantEarly, tt.wantRec, tt.wantPast} {
				t.Errorf("earliest, recommended, past due = %v, want %s %s %s", got, tt.wantEarly, tt.wantRec, tt.wantPast)
			}
			for _, a := range r.Antigens {
				if a.Antigen == "HepB" && a.Series != tt.wantSeries {
					t.Errorf("series %q, want %q", a.Series, tt.wantSeries)
				}
			}
		})
	}
}
