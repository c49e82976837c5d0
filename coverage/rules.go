package coverage

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iisproject/iis/forecast"
)

// Measure is one figure of a report: an antigen alone or a full series.
type Measure uint8

// The childhood measures (at 24 months) and the adolescent ones (13–17
// years).
const (
	DTaP Measure = iota
	Polio
	MMR
	HepB
	Hib
	Varicella
	PCV
	Series4313314 // the full series: all seven above
	Tdap
	MenACWY
	HPV
	Adolescent // Tdap, MenACWY and HPV
	nMeasures
)

var measureNames = [nMeasures]string{"DTaP", "Polio", "MMR", "HepB", "Hib", "Varicella", "PCV", "4:3:1:3:3:1:4",
	"Tdap", "MenACWY", "HPV", "Tdap+MenACWY+HPV"}

func (m Measure) String() string {
	if m < nMeasures {
		return measureNames[m]
	}
	return "?"
}

// ChildhoodMeasures and AdolescentMeasures list the measures of each
// assessment, the series last.
var (
	ChildhoodMeasures  = []Measure{DTaP, Polio, MMR, HepB, Hib, Varicella, PCV, Series4313314}
	AdolescentMeasures = []Measure{Tdap, MenACWY, HPV, Adolescent}
)

// rule is how one antigen is judged: the CDSi vaccine group, the number
// of valid doses that make it up to date, or bySeries when only the
// group's series status (complete) does.
type rule struct {
	m        Measure
	group    string
	need     int
	bySeries bool
}

var childhoodRules = []rule{
	{DTaP, "DTaP/Tdap/Td", 4, false},
	{Polio, "Polio", 3, false},
	{MMR, "MMR", 1, false},
	// HepB: CDSi may select its 4-dose series when dose 3 was given before
	// 24 weeks of age (the dose is then valid as dose 3 of that series and
	// a 4th is due): the series status, not a count, decides.
	{HepB, "HepB", 3, true},
	// Hib: 3 or 4 doses by product, and fewer when started late: the CDSi
	// series status decides.
	{Hib, "Hib", 0, true},
	{Varicella, "Varicella", 1, false},
	{PCV, "Pneumococcal", 4, false},
}

// Timing says which doses count.
type Timing uint8

const (
	// At24Months counts the doses given before the 2nd birthday, evaluated
	// on the 2nd birthday (CoCASA's "by 24 months").
	At24Months Timing = iota
	// AtAssessment counts every dose given up to the assessment date,
	// evaluated on that date.
	AtAssessment
)

// Flag marks a child reported apart: not up to date, but for a reason the
// clinic cannot act on by vaccinating.
type Flag uint8

const (
	// Contraindicated: a medical contraindication or exemption (CDSi series
	// status contraindicated) for at least one antigen.
	Contraindicated Flag = 1 << iota
	// Refused: a refusal (RXA-20 RE) was reported.
	Refused
)

// Gap is why a child is not up to date for a measure.
type Gap struct {
	Measure Measure
	Reason  string
}

// Assessment is one child's result.
type Assessment struct {
	UpToDate [nMeasures]bool
	Gaps     []Gap
	Flags    Flag
}

// Assessor judges children against the measures with a CDSi engine. It
// is safe for concurrent use.
type Assessor struct {
	e *forecast.Engine
}

// NewAssessor returns an Assessor using e.
func NewAssessor(e *forecast.Engine) *Assessor { return &Assessor{e: e} }

// Childhood assesses a child for the 4:3:1:3:3:1:4 series as of asOf (the
// assessment date), with the given timing.
func (a *Assessor) Childhood(rec forecast.Record, asOf time.Time, t Timing) Assessment {
	at := asOf
	if t == At24Months {
		at = rec.Patient.DOB.AddDate(2, 0, 0)
		if asOf.Before(at) {
			at = asOf
		}
	}
	doses := dosesBefore(rec.Doses, at, t == At24Months)
	res := a.e.Forecast(rec.Patient, doses, at)
	var out Assessment
	all := true
	for _, r := range childhoodRules {
		ok, reasons, contra := judge(&res, r, doses)
		out.UpToDate[r.m] = ok
		if contra {
			out.Flags |= Contraindicated
		}
		if !ok {
			all = false
			for _, s := range reasons {
				out.Gaps = append(out.Gaps, Gap{r.m, s})
			}
		}
	}
	out.UpToDate[Series4313314] = all
	out.Flags |= refusals(rec.Refusals, at)
	return out
}

// dosesBefore keeps the doses given before at (strictly, when strict) or
// on it.
func dosesBefore(ds []forecast.Dose, at time.Time, strict bool) []forecast.Dose {
	out := make([]forecast.Dose, 0, len(ds))
	for _, d := range ds {
		if d.Date.Before(at) || (!strict && d.Date.Equal(at)) {
			out = append(out, d)
		}
	}
	return out
}

func refusals(rs []forecast.Refusal, at time.Time) Flag {
	for _, r := range rs {
		if !r.Date.After(at) {
			return Refused
		}
	}
	return 0
}

// judge applies one rule to a forecast: whether the child is up to date,
// and if not, why (each invalid dose with the evaluation's reason, then
// what is missing); contra when the antigen is contraindicated.
func judge(res *forecast.Result, r rule, doses []forecast.Dose) (ok bool, reasons []string, contra bool) {
	g := res.Group(r.group)
	if g == nil {
		return false, []string{"no " + r.group + " series applies"}, false
	}
	valid := 0
	for _, d := range g.Doses {
		if d.Status == forecast.Valid {
			valid++
			continue
		}
		reasons = append(reasons, fmt.Sprintf("dose of %s (CVX %s) %s: %s", doses[d.Dose].Date.Format(time.DateOnly),
			doses[d.Dose].CVX, strings.ToLower(d.Status.String()), d.Reason))
	}
	switch {
	case g.Status == forecast.Immune:
		return true, nil, false
	case g.Status == forecast.Contraindicated:
		return false, append(reasons, "contraindicated: "+g.Reason), true
	case g.Status == forecast.Complete:
		return true, nil, false
	case !r.bySeries && valid >= r.need:
		return true, nil, false
	}
	if r.bySeries {
		return false, append(reasons, fmt.Sprintf("series not complete with %d valid dose(s): %s", valid, g.Reason)), false
	}
	return false, append(reasons, fmt.Sprintf("%d of %d valid doses", valid, r.need)), false
}

// The CVX codes of the adolescent measures.
var (
	tdapCVX    = []string{"115"}
	menACWYCVX = []string{"32", "108", "114", "136", "147", "167", "203", "316"}
)

// Adolescent assesses a teen (13–17 years on asOf) for 1 Tdap and 1
// MenACWY, each a valid dose given at or after the 10th birthday (the
// NIS-Teen convention), and HPV up to date (CDSi series complete: 2 or 3
// doses by the age at the first).
func (a *Assessor) Adolescent(rec forecast.Record, asOf time.Time) Assessment {
	doses := dosesBefore(rec.Doses, asOf, false)
	res := a.e.Forecast(rec.Patient, doses, asOf)
	ten := rec.Patient.DOB.AddDate(10, 0, 0)
	var out Assessment
	one := func(m Measure, group string, cvx []string) {
		g := res.Group(group)
		if g == nil {
			out.Gaps = append(out.Gaps, Gap{m, "no " + group + " series applies"})
			return
		}
		for _, d := range g.Doses {
			x := doses[d.Dose]
			if d.Status == forecast.Valid && slices.Contains(cvx, x.CVX) && !x.Date.Before(ten) {
				out.UpToDate[m] = true
				return
			}
		}
		if g.Status == forecast.Contraindicated {
			out.Flags |= Contraindicated
		}
		out.Gaps = append(out.Gaps, Gap{m, "no valid " + m.String() + " dose at or after 10 years of age"})
	}
	one(Tdap, "DTaP/Tdap/Td", tdapCVX)
	one(MenACWY, "Meningococcal", menACWYCVX)
	ok, reasons, contra := judge(&res, rule{HPV, "HPV", 0, true}, doses)
	out.UpToDate[HPV] = ok
	if contra {
		out.Flags |= Contraindicated
	}
	for _, s := range reasons {
		out.Gaps = append(out.Gaps, Gap{HPV, s})
	}
	out.UpToDate[Adolescent] = out.UpToDate[Tdap] && out.UpToDate[MenACWY] && out.UpToDate[HPV]
	out.Flags |= refusals(rec.Refusals, asOf)
	return out
}
