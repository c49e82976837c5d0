package compliancy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
)

// Source reads cohorts (registry.Store).
type Source interface {
	Cohort(ctx context.Context, f registry.CohortFilter, each func([]registry.CohortChild) error) error
}

// Row is one child of a list, with what is missing.
type Row struct {
	PatientID    int64
	BirthDate    time.Time
	Facility     string
	Town, County string
	NotDisclosed bool      // opted out or protected: named to program staff only
	Age          int       // monthly list: the age in months reached
	Reached      time.Time // the day the child was assessed
	Missing      []string
}

// Lists makes the lists from the registry's cohorts.
type Lists struct {
	Source   Source
	Engine   *forecast.Engine
	Assessor *coverage.Assessor // for the Goldenrod list; built from Engine when nil
	// Progress, when set, is called with the last patient id of each batch
	// read (in id order within a partition), for a background run's
	// progress bar.
	Progress func(patientID int64)
}

// reached reports a batch's last patient id to Progress.
func (l *Lists) reached(kids []registry.CohortChild) {
	if l.Progress != nil && len(kids) > 0 {
		l.Progress(kids[len(kids)-1].ID)
	}
}

// Monthly is one clinic's monthly compliancy list.
type Monthly struct {
	Facility   string
	Month      time.Time   // the first day of the month
	Considered map[int]int // children who reached each age in the month
	Rows       []Row       // not up to date for age, by age then patient id
}

// Monthly lists the children attributed to facility who reached 8 or 20
// months old in month (any day of it) and were not up to date for age on
// that day.
func (l *Lists) Monthly(ctx context.Context, facility string, month time.Time) (*Monthly, error) {
	if facility == "" {
		return nil, errors.New("compliancy: the clinic is missing")
	}
	m0 := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	m1 := m0.AddDate(0, 1, 0)
	out := &Monthly{Facility: facility, Month: m0, Considered: map[int]int{}}
	for _, age := range Ages {
		// A birth range a little wider than the month's (AddDate carries
		// the 29th–31st over into the next month); the day reached decides.
		f := registry.CohortFilter{BornFrom: m0.AddDate(0, -age-1, 0), BornTo: m1.AddDate(0, -age, 0), Facility: facility}
		err := l.Source.Cohort(ctx, f, func(kids []registry.CohortChild) error {
			defer l.reached(kids)
			for i := range kids {
				c := &kids[i]
				at := Reached(c.Patient.BirthDate, age)
				if at.Before(m0) || !at.Before(m1) {
					continue
				}
				out.Considered[age]++
				miss := Overdue(l.Engine, l.Engine.FromRecord(&c.Patient, c.Vaccinations), at)
				if len(miss) > 0 {
					r := rowOf(c)
					r.Age, r.Reached, r.Missing = age, at, missingStrings(miss)
					out.Rows = append(out.Rows, r)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("compliancy: %d months: %w", age, err)
		}
	}
	return out, nil
}

func rowOf(c *registry.CohortChild) Row {
	return Row{PatientID: c.ID, BirthDate: c.Patient.BirthDate, Facility: c.Facility, Town: c.Town, County: c.County, NotDisclosed: c.NotDisclosed}
}

func missingStrings(ms []Missing) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return out
}

// Goldenrod is one clinic's yearly 2-year-old clean-up list.
type Goldenrod struct {
	Facility   string
	Year       int
	AsOf       time.Time // the last 2nd birthday the list covers
	Considered int
	Rows       []Row // not up to date for 4:3:1:3:3:1:4 at 24 months, by patient id
}

// Goldenrod lists the children attributed to facility who turn 2 in year,
// up to today, and are not up to date for the 4:3:1:3:3:1:4 series at
// their 2nd birthday (package coverage's assessment, doses before the
// 2nd birthday).
func (l *Lists) Goldenrod(ctx context.Context, facility string, year int, today time.Time) (*Goldenrod, error) {
	if facility == "" {
		return nil, errors.New("compliancy: the clinic is missing")
	}
	from := time.Date(year-2, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(year-2, 12, 31, 0, 0, 0, 0, time.UTC)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	if last := today.AddDate(-2, 0, 0); last.Before(to) {
		to = last
	}
	if to.Before(from) {
		return nil, fmt.Errorf("no child turns 2 in %d by %s", year, today.Format(time.DateOnly))
	}
	a := l.Assessor
	if a == nil {
		a = coverage.NewAssessor(l.Engine)
	}
	rep, err := coverage.Run(ctx, l.Source, a, coverage.Params{AsOf: to.AddDate(2, 0, 0), Cohort: coverage.BirthCohort,
		BornFrom: from, BornTo: to, Timing: coverage.At24Months, Facility: facility, Progress: l.Progress})
	if err != nil {
		return nil, fmt.Errorf("compliancy: %w", err)
	}
	out := &Goldenrod{Facility: facility, Year: year, AsOf: to.AddDate(2, 0, 0), Considered: rep.Total.Children}
	for _, c := range rep.NotUpToDate {
		if c.UpToDate[coverage.Series4313314] {
			continue
		}
		r := Row{PatientID: c.PatientID, BirthDate: c.BirthDate, Facility: c.Facility, Town: c.Town, County: c.County,
			NotDisclosed: c.NotDisclosed, Age: 24, Reached: c.BirthDate.AddDate(2, 0, 0)}
		for _, g := range c.Gaps {
			r.Missing = append(r.Missing, g.Measure.String()+": "+g.Reason)
		}
		out.Rows = append(out.Rows, r)
	}
	return out, nil
}

// NoArea is the area of the towns the IAP map does not name.
const NoArea = "(no IAP area)"

// Outreach is the state's late children by IAP area and town.
type Outreach struct {
	AsOf       time.Time
	MaxMonths  int
	Considered int
	Areas      []Area // by name, NoArea last
}

// Area is one IAP area's late children.
type Area struct {
	Name  string
	Towns []Town // by name
	Late  int
}

// Town is one town's late children, by patient id.
type Town struct {
	Name string
	Rows []Row
}

// Outreach lists the children younger than maxMonths months on asOf who
// are overdue (not up to date for age on asOf), by town (the latest
// address's; "" when none), each town in the area areas maps it to
// (keys lower-case) or in NoArea; area, when set, keeps that area only.
func (l *Lists) Outreach(ctx context.Context, asOf time.Time, maxMonths int, areas map[string]string, area string) (*Outreach, error) {
	if maxMonths < 1 || maxMonths > 216 {
		return nil, errors.New("compliancy: the age limit must be 1 to 216 months")
	}
	n := min(runtime.GOMAXPROCS(0), 8)
	var mu sync.Mutex
	out := &Outreach{AsOf: asOf, MaxMonths: maxMonths}
	towns := map[string]map[string][]Row{}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := registry.CohortFilter{BornFrom: asOf.AddDate(0, -maxMonths, 1), BornTo: asOf, Partitions: int64(n), Partition: int64(i)}
			errs[i] = l.Source.Cohort(ctx, f, func(kids []registry.CohortChild) error {
				defer l.reached(kids)
				for j := range kids {
					c := &kids[j]
					miss := Overdue(l.Engine, l.Engine.FromRecord(&c.Patient, c.Vaccinations), asOf)
					a := cmp.Or(areas[strings.ToLower(strings.TrimSpace(c.Town))], NoArea)
					mu.Lock()
					out.Considered++
					if len(miss) > 0 && (area == "" || a == area) {
						r := rowOf(c)
						r.Reached, r.Missing = asOf, missingStrings(miss)
						if towns[a] == nil {
							towns[a] = map[string][]Row{}
						}
						towns[a][c.Town] = append(towns[a][c.Town], r)
					}
					mu.Unlock()
				}
				return nil
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("compliancy: outreach: %w", err)
	}
	out.Areas = group(towns)
	return out, nil
}

// group orders the areas (NoArea last), their towns and each town's rows.
func group(towns map[string]map[string][]Row) []Area {
	var out []Area
	for name, ts := range towns {
		a := Area{Name: name}
		for t, rows := range ts {
			slices.SortFunc(rows, func(x, y Row) int { return int(x.PatientID - y.PatientID) })
			a.Towns = append(a.Towns, Town{Name: t, Rows: rows})
			a.Late += len(rows)
		}
		slices.SortFunc(a.Towns, func(x, y Town) int { return strings.Compare(x.Name, y.Name) })
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y Area) int {
		if (x.Name == NoArea) != (y.Name == NoArea) {
			if x.Name == NoArea {
				return 1
			}
			return -1
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out
}
