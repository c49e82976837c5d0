package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/registry"
)

// KindCoverage is the coverage (AFIX) report's kind.
const KindCoverage = "coverage"

// Names reads patients' names for a drill-down (registry.Store).
type Names interface {
	PatientNames(ctx context.Context, ids []int64) (map[int64]string, error)
}

// CoverageSource is what a coverage run reads (registry.Store).
type CoverageSource interface {
	coverage.Source
	Names
}

// Coverage is the coverage report as a Report.
type Coverage struct {
	Source   CoverageSource
	Assessor *coverage.Assessor
}

// Kind is KindCoverage.
func (Coverage) Kind() string { return KindCoverage }

// CoverageParams are a coverage run's parameters as stored (JSON).
type CoverageParams struct {
	AsOf     string `json:"asof"`             // 2006-01-02; "" in a schedule: the slot's day
	Cohort   string `json:"cohort"`           // afix, teens or birth
	From     string `json:"from,omitempty"`   // birth cohort's first birth date
	To       string `json:"to,omitempty"`     // and last
	Timing   string `json:"timing,omitempty"` // 24m (default) or asof
	Facility string `json:"clinic,omitempty"`
	Town     string `json:"town,omitempty"`
	County   string `json:"county,omitempty"`
}

// Coverage turns the parameters into coverage's, or says what is wrong.
func (c CoverageParams) Coverage() (coverage.Params, error) {
	var p coverage.Params
	var err error
	if p.AsOf, err = time.Parse(time.DateOnly, c.AsOf); err != nil {
		return p, errors.New("the assessment date must be a date like 2025-06-30")
	}
	switch c.Cohort {
	case "", "afix":
		p.Cohort = coverage.AFIX
	case "teens":
		p.Cohort = coverage.Teens
	case "birth":
		p.Cohort = coverage.BirthCohort
		if p.BornFrom, err = time.Parse(time.DateOnly, c.From); err != nil {
			return p, errors.New("a birth cohort needs its first birth date, like 2023-01-01")
		}
		if p.BornTo, err = time.Parse(time.DateOnly, c.To); err != nil {
			return p, errors.New("a birth cohort needs its last birth date, like 2023-12-31")
		}
	default:
		return p, errors.New("the cohort must be afix, teens or birth")
	}
	switch c.Timing {
	case "", "24m":
	case "asof":
		p.Timing = coverage.AtAssessment
	default:
		return p, errors.New("the timing must be 24m or asof")
	}
	p.Facility, p.Town, p.County = c.Facility, c.Town, c.County
	if _, _, err := p.Born(); err != nil {
		return p, err
	}
	return p, nil
}

// Plan reads the parameters.
func (k Coverage) Plan(raw json.RawMessage, slot time.Time) (Plan, error) {
	var c CoverageParams
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("coverage parameters: %w", err)
	}
	if c.AsOf == "" && !slot.IsZero() {
		c.AsOf = slot.UTC().Format(time.DateOnly)
	}
	p, err := c.Coverage()
	if err != nil {
		return nil, err
	}
	return &coveragePlan{k: k, c: c, p: p}, nil
}

type coveragePlan struct {
	k Coverage
	c CoverageParams
	p coverage.Params
}

func (pl *coveragePlan) Params() json.RawMessage { b, _ := json.Marshal(pl.c); return b }
func (pl *coveragePlan) Facility() string        { return pl.c.Facility }

// Describe names a coverage run's parameters in words.
func (pl *coveragePlan) Describe() string {
	c := pl.c
	var b strings.Builder
	switch c.Cohort {
	case "teens":
		b.WriteString("adolescents (13-17 years)")
	case "birth":
		fmt.Fprintf(&b, "born %s to %s", c.From, c.To)
	default:
		b.WriteString("AFIX cohort (24-35 months)")
	}
	fmt.Fprintf(&b, " on %s", c.AsOf)
	if c.Timing == "asof" {
		b.WriteString(", doses by the assessment date")
	}
	b.WriteString(where(c.Facility, c.Town, c.County))
	return b.String()
}

func where(facility, town, county string) string {
	switch {
	case facility != "":
		return ", clinic " + facility
	case town != "":
		return ", town " + town
	case county != "":
		return ", county " + county
	}
	return ", statewide"
}

// Compute runs the report: its figures, and the drill-down file.
func (pl *coveragePlan) Compute(ctx context.Context, progress func(int64)) (*Result, error) {
	p := pl.p
	p.Progress = progress
	rep, err := coverage.Run(ctx, pl.k.Source, pl.k.Assessor, p)
	if err != nil {
		return nil, err
	}
	sum := Summary{Children: rep.Total.Children, Rates: map[string]float64{}, Took: rep.Took.Round(time.Millisecond).String()}
	for _, m := range rep.Measures() {
		sum.Rates[m.String()] = rep.Total.Rate(m)
	}
	drill, err := drillDown(ctx, pl.k.Source, rep)
	if err != nil {
		return nil, err
	}
	return &Result{CSV: figuresCSV(rep), Summary: sum, Files: []registry.ReportFile{{Name: FileChildren, ContentType: csvType, Body: drill}}}, nil
}

// FileChildren is a coverage run's drill-down: the children behind the
// figures who are not up to date for a measure, and why.
const FileChildren = "children.csv"

// MeasuresColumn is the drill-down's column of the measures a child is
// not up to date for ("; " between them): the run's page filters on it.
const MeasuresColumn = "not up to date"

const csvType = "text/csv; charset=utf-8"

// drillDown is the drill-down CSV: one row per child not up to date for
// at least one measure, with the measures, the reasons (which antigen is
// missing, which dose was invalid and why) and the flags; the name is the
// child's at the time of the run.
func drillDown(ctx context.Context, names Names, rep *coverage.Report) ([]byte, error) {
	ids := make([]int64, len(rep.NotUpToDate))
	for i, c := range rep.NotUpToDate {
		ids[i] = c.PatientID
	}
	named, err := names.PatientNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{RestrictedColumn, "patient id", "name", "birth date", "clinic", "town", "county", MeasuresColumn, "reasons", "flags"})
	for _, c := range rep.NotUpToDate {
		var miss, why, flags []string
		for _, m := range rep.Measures() {
			if !c.UpToDate[m] {
				miss = append(miss, m.String())
			}
		}
		for _, g := range c.Gaps {
			why = append(why, g.Measure.String()+": "+g.Reason)
		}
		if c.Flags&coverage.Contraindicated != 0 {
			flags = append(flags, "contraindicated or exempt")
		}
		if c.Flags&coverage.Refused != 0 {
			flags = append(flags, "refusal reported")
		}
		cw.Write([]string{yn(c.NotDisclosed), strconv.FormatInt(c.PatientID, 10), csvSafe(named[c.PatientID]), c.BirthDate.Format(time.DateOnly),
			csvSafe(c.Facility), csvSafe(c.Town), csvSafe(c.County), strings.Join(miss, "; "), csvSafe(strings.Join(why, "; ")), strings.Join(flags, ", ")})
	}
	cw.Flush()
	return b.Bytes(), cw.Error()
}

// figuresCSV is the report's figures: the total, then by clinic (by
// facility id), county and month.
func figuresCSV(rep *coverage.Report) []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	ms := rep.Measures()
	head := []string{"group", "name", "children"}
	for _, m := range ms {
		head = append(head, m.String()+" up to date", m.String()+" %")
	}
	cw.Write(append(head, "contraindicated", "refused"))
	line := func(group, name string, t *coverage.Tally) {
		rec := []string{group, name, strconv.Itoa(t.Children)}
		for _, m := range ms {
			rec = append(rec, strconv.Itoa(t.UpToDate[m]), strconv.FormatFloat(t.Rate(m), 'f', 1, 64))
		}
		cw.Write(append(rec, strconv.Itoa(t.Contraindicated), strconv.Itoa(t.Refused)))
	}
	line("total", "", &rep.Total)
	for _, g := range []struct {
		name string
		m    map[string]*coverage.Tally
	}{{"clinic", rep.ByFacility}, {"county", rep.ByCounty}, {"month", rep.ByMonth}} {
		keys := make([]string, 0, len(g.m))
		for k := range g.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			line(g.name, k, g.m[k])
		}
	}
	cw.Flush()
	return b.Bytes()
}
