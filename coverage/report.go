package coverage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
)

// Cohorts a report runs over.
type Cohort uint8

const (
	// AFIX: children 24 through 35 months old on the assessment date.
	AFIX Cohort = iota
	// BirthCohort: children born between Params.BornFrom and BornTo.
	BirthCohort
	// Teens: adolescents 13 through 17 years old on the assessment date.
	Teens
)

// Params are a report's parameters.
type Params struct {
	AsOf             time.Time // the assessment date
	Cohort           Cohort
	BornFrom, BornTo time.Time // BirthCohort only
	Timing           Timing    // childhood cohorts only
	// Facility, Town and County narrow the report (any when "").
	Facility, Town, County string
	// Workers evaluating records, each reading its own partition of the
	// cohort (GOMAXPROCS, at most 8, when 0: each partition's statement
	// walks the cohort's range of patients, so more readers than cores
	// only add reads; past that, partition across machines).
	Workers int
	// Partitions and Partition, when Partitions > 1, compute the part of
	// the cohort whose patient ids are Partition modulo Partitions: the
	// parts' tallies add up to the whole (see Tally.Add).
	Partitions, Partition int64
	// Progress, when set, is called after each batch of children with
	// the patient id the batch reached (the cohort is read in patient id
	// order), from the goroutines reading it.
	Progress func(patientID int64)
}

// Born is the range of birth dates of the cohort on p.AsOf.
func (p Params) Born() (from, to time.Time, err error) {
	if p.AsOf.IsZero() {
		return from, to, errors.New("the assessment date is missing")
	}
	switch p.Cohort {
	case AFIX:
		return p.AsOf.AddDate(-3, 0, 1), p.AsOf.AddDate(-2, 0, 0), nil
	case Teens:
		return p.AsOf.AddDate(-18, 0, 1), p.AsOf.AddDate(-13, 0, 0), nil
	case BirthCohort:
		if p.BornFrom.IsZero() || p.BornTo.IsZero() || p.BornTo.Before(p.BornFrom) {
			return from, to, errors.New("a birth cohort needs a first and a last birth date, the first not after the last")
		}
		if p.BornTo.After(p.AsOf) {
			return from, to, errors.New("a birth cohort cannot end after the assessment date")
		}
		return p.BornFrom, p.BornTo, nil
	}
	return from, to, fmt.Errorf("unknown cohort %d", p.Cohort)
}

// Measures are the report's measures.
func (p Params) Measures() []Measure {
	if p.Cohort == Teens {
		return AdolescentMeasures
	}
	return ChildhoodMeasures
}

// Tally counts a group of children.
type Tally struct {
	Children        int
	UpToDate        [nMeasures]int
	Contraindicated int // flagged Contraindicated (and not up to date)
	Refused         int
}

// Rate is the percentage of the children up to date for m (0 when none).
func (t *Tally) Rate(m Measure) float64 {
	if t.Children == 0 {
		return 0
	}
	return 100 * float64(t.UpToDate[m]) / float64(t.Children)
}

func (t *Tally) add(a *Assessment) {
	t.Children++
	for m := range a.UpToDate {
		if a.UpToDate[m] {
			t.UpToDate[m]++
		}
	}
	if a.Flags&Contraindicated != 0 {
		t.Contraindicated++
	}
	if a.Flags&Refused != 0 {
		t.Refused++
	}
}

// Add adds o's counts to t (the parts of a partitioned run).
func (t *Tally) Add(o *Tally) { t.merge(o) }

func (t *Tally) merge(o *Tally) {
	t.Children += o.Children
	for m := range o.UpToDate {
		t.UpToDate[m] += o.UpToDate[m]
	}
	t.Contraindicated += o.Contraindicated
	t.Refused += o.Refused
}

// Child is a child behind a figure who is not up to date for at least one
// of the report's measures, with why.
type Child struct {
	PatientID              int64
	BirthDate              time.Time
	Facility, Town, County string
	NotDisclosed           bool // opted out or protected: named to program staff only
	Assessment
}

// Report is a computed coverage report.
type Report struct {
	Params
	BornFrom, BornTo time.Time
	Total            Tally
	ByFacility       map[string]*Tally // "" is the children attributed to no clinic
	ByTown           map[string]*Tally
	ByCounty         map[string]*Tally
	// ByMonth is keyed by the month ("2006-01") each child turned two (or,
	// for teens, turned thirteen): the trend of the at-24-months measure.
	ByMonth     map[string]*Tally
	NotUpToDate []Child // by patient id
	Took        time.Duration
}

// Months lists ByMonth's keys in order.
func (r *Report) Months() []string { return slices.Sorted(maps.Keys(r.ByMonth)) }

// Source reads cohorts (registry.Store).
type Source interface {
	Cohort(ctx context.Context, f registry.CohortFilter, each func([]registry.CohortChild) error) error
}

// Run computes a report: the cohort's children are read in batches and
// each batch is evaluated by p.Workers goroutines while the next is read.
func Run(ctx context.Context, src Source, a *Assessor, p Params) (*Report, error) {
	from, to, err := p.Born()
	if err != nil {
		return nil, err
	}
	if p.Workers <= 0 {
		p.Workers = min(runtime.GOMAXPROCS(0), 8)
	}
	t0 := time.Now()
	ws := make([]*partial, p.Workers)
	for i := range ws {
		ws[i] = newPartial()
	}
	if err := p.read(ctx, src, a, from, to, ws); err != nil {
		return nil, fmt.Errorf("coverage: %w", err)
	}
	r := &Report{Params: p, BornFrom: from, BornTo: to}
	all := newPartial()
	for _, w := range ws {
		all.merge(w)
	}
	r.Total, r.ByFacility, r.ByTown, r.ByCounty, r.ByMonth = all.total, all.facility, all.town, all.county, all.month
	r.NotUpToDate = all.kids
	slices.SortFunc(r.NotUpToDate, func(x, y Child) int { return int(x.PatientID - y.PatientID) })
	r.Took = time.Since(t0)
	return r, nil
}

// read streams the cohort as len(ws) partitions read at once (by patient
// id modulo, within p's own partition when it has one), each evaluated by
// its worker while its next batch is read: PostgreSQL reads on as many
// cores as the evaluation uses.
func (p *Params) read(ctx context.Context, src Source, a *Assessor, from, to time.Time, ws []*partial) error {
	n, base, k := int64(len(ws)), int64(0), int64(1)
	if p.Partitions > 1 {
		base, k = p.Partition, p.Partitions
	}
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		f := registry.CohortFilter{BornFrom: from, BornTo: to, Facility: p.Facility, Town: p.Town, County: p.County,
			// id ≡ base (mod k) and, within it, the i-th of n: id ≡ base + i·k (mod n·k).
			Partitions: n * k, Partition: base + int64(i)*k}
		if n*k == 1 {
			f.Partitions, f.Partition = 0, 0
		}
		wg.Go(func() {
			errs[i] = src.Cohort(ctx, f, func(kids []registry.CohortChild) error {
				for j := range kids {
					w.assess(a, p, &kids[j])
				}
				if p.Progress != nil {
					p.Progress(kids[len(kids)-1].ID)
				}
				return ctx.Err()
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// partial is one worker's tallies.
type partial struct {
	total                         Tally
	facility, town, county, month map[string]*Tally
	kids                          []Child
}

func newPartial() *partial {
	return &partial{facility: map[string]*Tally{}, town: map[string]*Tally{}, county: map[string]*Tally{}, month: map[string]*Tally{}}
}

func tally(m map[string]*Tally, k string) *Tally {
	t := m[k]
	if t == nil {
		t = &Tally{}
		m[k] = t
	}
	return t
}

func (w *partial) assess(a *Assessor, p *Params, c *registry.CohortChild) {
	rec := a.e.FromRecord(&c.Patient, c.Vaccinations)
	var as Assessment
	var turned time.Time
	if p.Cohort == Teens {
		as = a.Adolescent(rec, p.AsOf)
		turned = c.Patient.BirthDate.AddDate(13, 0, 0)
	} else {
		as = a.Childhood(rec, p.AsOf, p.Timing)
		turned = c.Patient.BirthDate.AddDate(2, 0, 0)
	}
	w.total.add(&as)
	tally(w.facility, c.Facility).add(&as)
	tally(w.town, c.Town).add(&as)
	tally(w.county, c.County).add(&as)
	tally(w.month, turned.Format("2006-01")).add(&as)
	if len(as.Gaps) > 0 || as.Flags != 0 {
		w.kids = append(w.kids, Child{PatientID: c.ID, BirthDate: c.Patient.BirthDate, Facility: c.Facility,
			Town: c.Town, County: c.County, NotDisclosed: c.NotDisclosed, Assessment: as})
	}
}

func (w *partial) merge(o *partial) {
	w.total.merge(&o.total)
	for _, x := range [...]struct{ dst, src map[string]*Tally }{{w.facility, o.facility}, {w.town, o.town}, {w.county, o.county}, {w.month, o.month}} {
		for k, t := range x.src {
			tally(x.dst, k).merge(t)
		}
	}
	w.kids = append(w.kids, o.kids...)
}

// Engine returns the assessor's CDSi engine.
func (a *Assessor) Engine() *forecast.Engine { return a.e }
