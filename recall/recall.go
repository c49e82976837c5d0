// Package recall is the registry's reminder/recall: for a clinic, the
// children (or any age range) due or overdue by a date for chosen vaccine
// groups, as the Recommender (the CDSi forecast of each child's
// consolidated record) says, grouped into families; shown on the people's
// pages with phone numbers, downloaded as CSV, printed as letters to
// families (English or Spanish, one letter per family listing every child
// due) and as mailing labels (Avery 5160). A contact with a family (phone,
// letter, text, email) is recorded, so the next run shows how many times a
// child was reminded since the last dose.
//
// A clinic's children are those it has a relationship with through its
// reports: a report from the clinic's facility id (a VXU, or a record
// entered on the people's pages) was filed on the child
// (registry.Store.RecallCandidates). Of those, a child is left out when:
// the parent opted out (patients.opted_out); PD1-12 protection is Y; the
// PD1-11 publicity code is 01 (no reminder/recall); the registry status
// (PD1-16) is P (permanently inactive) or M (moved or gone elsewhere), or
// the child died; or the clinic marked the child moved or gone elsewhere
// on its coverage report (registry.RecallCandidate.MarkedMoved, read with
// the candidate). The publicity codes 04, 05, 09 and 10 (reminder only) keep
// only the groups due and not yet overdue; 06, 07, 11 and 12 (recall only)
// only the overdue ones; 03, 05 and 07 (no calls) hide the phone number.
//
// A vaccine group is due by the date when its next dose's recommended date
// (the earliest date when none is recommended) is on or before it, and
// overdue when its past-due date is; complete, immune, contraindicated,
// aged-out and not-recommended groups are never due.
package recall

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

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
)

// Status is a vaccine group's standing by the run's date.
type Status int

// Statuses, in order of urgency.
const (
	NotDue Status = iota
	Due
	Overdue
)

func (s Status) String() string {
	switch s {
	case Due:
		return "due"
	case Overdue:
		return "overdue"
	}
	return "not due"
}

// DefaultGroups are the childhood vaccine groups a run covers when none
// is chosen.
var DefaultGroups = []string{"DTaP/Tdap/Td", "HepA", "HepB", "Hib", "HPV", "Meningococcal", "MMR", "Pneumococcal", "Polio", "Rotavirus", "Varicella"}

// Params are a run's parameters.
type Params struct {
	By               time.Time // children due by this date (date only)
	Groups           []string  // vaccine groups; empty: DefaultGroups
	BornFrom, BornTo time.Time // birth date range, inclusive; zero: open
	OverdueOnly      bool      // only overdue groups (a recall, not a reminder)
}

// Validate reports what is wrong with p, in words for the page.
func (p *Params) Validate(known []string) error {
	if p.By.IsZero() {
		return errors.New("give the date by which children are due")
	}
	if !p.BornFrom.IsZero() && !p.BornTo.IsZero() && p.BornFrom.After(p.BornTo) {
		return errors.New("the earliest birth date is after the latest")
	}
	for _, g := range p.Groups {
		if !slices.Contains(known, g) {
			return fmt.Errorf("%q is not a vaccine group of the Recommender", g)
		}
	}
	return nil
}

// DueGroup is one vaccine group a child is due for.
type DueGroup struct {
	Group       string
	Dose        int // the next dose's number in the series
	Status      Status
	Recommended time.Time // zero if none
	PastDue     time.Time // zero if none
}

// Child is a child due for at least one chosen group.
type Child struct {
	ID        int64
	Given     string
	Family    string
	BirthDate time.Time
	Sex       string
	Due       []DueGroup
	Guardian  string // the first guardian's name, or ""
	Address   Address
	Phone     string   // digits; empty when none or the publicity code says no calls
	Language  Language // the letters' language for the record's PID-15 (LanguageOf)
	// Contacts since the last dose, and the latest of them.
	Contacts    int
	LastContact time.Time
	LastMethod  string
}

// Name is the child's given and family name.
func (c *Child) Name() string { return strings.TrimSpace(c.Given + " " + c.Family) }

// Worst is the most urgent status of the child's groups.
func (c *Child) Worst() Status {
	s := NotDue
	for _, d := range c.Due {
		s = max(s, d.Status)
	}
	return s
}

// Address is a mailing address.
type Address struct {
	Street, Other, City, State, Zip string
}

// Lines are the address's lines for an envelope.
func (a Address) Lines() []string {
	var out []string
	for _, s := range []string{a.Street, a.Other} {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	city := strings.TrimSpace(a.City)
	if st := strings.TrimSpace(a.State + " " + a.Zip); st != "" {
		if city != "" {
			city += ", "
		}
		city += st
	}
	if city != "" {
		out = append(out, city)
	}
	return out
}

// Result is a run's outcome.
type Result struct {
	Params     Params
	Considered int            // the clinic's children within the birth dates
	Excluded   map[string]int // children left out, by reason
	Children   []Child        // due, by family name, given name, birth date
	Families   []Family
}

// Candidates streams a clinic's candidate children (registry.Store).
type Candidates interface {
	RecallCandidates(ctx context.Context, q registry.RecallQuery, each func(*registry.RecallCandidate) error) error
}

// Recaller runs reminder/recall.
type Recaller struct {
	Registry   Candidates
	Forecaster *forecast.Engine
	Workers    int // forecasting goroutines; 0: GOMAXPROCS
	// Progress, when set, is called with each candidate's patient id, in
	// id order (for a background run's progress bar).
	Progress func(patientID int64)
}

// Clinic identifies the clinic a run is for.
type Clinic struct {
	OrgID    int64
	Facility string
	Name     string
}

// Run selects the clinic's children due by p.By: the candidates are read
// in batches and forecast by parallel workers.
func (rc *Recaller) Run(ctx context.Context, clinic Clinic, p Params) (*Result, error) {
	if len(p.Groups) == 0 {
		p.Groups = DefaultGroups
	}
	res := &Result{Params: p, Excluded: map[string]int{}}
	workers := rc.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	in := make(chan *registry.RecallCandidate, 4*workers)
	type outcome struct {
		child  *Child
		reason string
	}
	out := make(chan outcome, 4*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range in {
				ch, reason := Select(rc.Forecaster, c, &p)
				out <- outcome{ch, reason}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for o := range out {
			res.Considered++
			switch {
			case o.reason != "":
				res.Excluded[o.reason]++
			case o.child != nil:
				res.Children = append(res.Children, *o.child)
			}
		}
	}()
	q := registry.RecallQuery{OrgID: clinic.OrgID, Facility: clinic.Facility, BornFrom: p.BornFrom, BornTo: p.BornTo}
	err := rc.Registry.RecallCandidates(ctx, q, func(c *registry.RecallCandidate) error {
		if rc.Progress != nil {
			rc.Progress(c.ID)
		}
		select {
		case in <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(in)
	wg.Wait()
	close(out)
	<-done
	if err != nil {
		return nil, fmt.Errorf("recall: %w", err)
	}
	sortChildren(res.Children)
	res.Families = Families(res.Children)
	return res, nil
}

func sortChildren(cs []Child) {
	slices.SortFunc(cs, func(a, b Child) int {
		if c := strings.Compare(strings.ToLower(a.Family), strings.ToLower(b.Family)); c != 0 {
			return c
		}
		if c := strings.Compare(strings.ToLower(a.Given), strings.ToLower(b.Given)); c != 0 {
			return c
		}
		if c := a.BirthDate.Compare(b.BirthDate); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// BornBetween turns an age range on date by, in whole months (a child
// minMonths old up to one not yet maxMonths+1 months old), into the birth
// dates of Params.
func BornBetween(by time.Time, minMonths, maxMonths int) (from, to time.Time) {
	by = time.Date(by.Year(), by.Month(), by.Day(), 0, 0, 0, 0, time.UTC)
	to = by.AddDate(0, -minMonths, 0)
	from = by.AddDate(0, -(maxMonths + 1), 1)
	return from, to
}
