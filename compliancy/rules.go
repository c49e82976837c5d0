package compliancy

import (
	"strconv"
	"time"

	"github.com/iisproject/iis/forecast"
)

// ChildhoodGroups are the CDSi vaccine groups whose being overdue makes a
// child not up to date for age.
var ChildhoodGroups = []string{"DTaP/Tdap/Td", "Polio", "Hib", "HepB", "Pneumococcal", "Rotavirus", "MMR", "Varicella", "HepA"}

// Ages are the ages in months of the monthly list.
var Ages = []int{8, 20}

// Missing is one overdue vaccine group.
type Missing struct {
	Group   string
	Dose    int // the dose number due
	PastDue time.Time
}

// String is how a list shows it.
func (m Missing) String() string {
	return m.Group + " dose " + strconv.Itoa(m.Dose) + " (past due " + m.PastDue.Format(time.DateOnly) + ")"
}

// Reached is the day a child born on dob reaches months months of age.
func Reached(dob time.Time, months int) time.Time { return dob.AddDate(0, months, 0) }

// Overdue returns the childhood groups overdue on day at, from the doses
// given on or before at, in the CDSi forecast as of at: nothing when the
// child is up to date for age.
func Overdue(e *forecast.Engine, rec forecast.Record, at time.Time) []Missing {
	doses := make([]forecast.Dose, 0, len(rec.Doses))
	for _, d := range rec.Doses {
		if !d.Date.After(at) {
			doses = append(doses, d)
		}
	}
	res := e.Forecast(rec.Patient, doses, at)
	day := forecast.DateOf(at)
	var out []Missing
	for _, name := range ChildhoodGroups {
		g := res.Group(name)
		if g == nil || g.Status != forecast.NotComplete || g.PastDue == forecast.NoDate || day < g.PastDue {
			continue
		}
		out = append(out, Missing{Group: g.VaccineGroup, Dose: g.DoseNumber, PastDue: g.PastDue.Time()})
	}
	return out
}
