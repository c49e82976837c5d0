package reports

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/compliancy"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
)

// The compliancy lists' kinds.
const (
	KindMonthly   = "monthly"   // a clinic's children at 8 and 20 months not up to date
	KindGoldenrod = "goldenrod" // a clinic's yearly 2-year-old clean-up
	KindOutreach  = "outreach"  // the state's late children by IAP area and town
)

// ListSource is what the compliancy lists read (registry.Store).
type ListSource interface {
	compliancy.Source
	Names
	IAPAreas(ctx context.Context) ([]registry.IAPArea, error)
}

// Compliancy is one of the compliancy lists as a Report (Kind one of
// KindMonthly, KindGoldenrod, KindOutreach).
type Compliancy struct {
	List   string
	Source ListSource
	Engine *forecast.Engine
}

// Kind is the list's kind.
func (k Compliancy) Kind() string { return k.List }

// ListParams are a compliancy list's parameters (the pages' fields).
type ListParams struct {
	Facility string `json:"clinic,omitempty"` // monthly and Goldenrod
	Month    string `json:"month,omitempty"`  // monthly: 2006-01; "" in a schedule: the slot's previous month
	Year     string `json:"year,omitempty"`   // Goldenrod; "" in a schedule: the slot's year
	AsOf     string `json:"asof,omitempty"`   // outreach; "" in a schedule: the slot's day
	Months   string `json:"months,omitempty"` // outreach: younger than; "" is 36
	Area     string `json:"area,omitempty"`   // outreach: one IAP area only
	today    time.Time
}

// Plan reads the parameters.
func (k Compliancy) Plan(raw json.RawMessage, slot time.Time) (Plan, error) {
	var c ListParams
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("list parameters: %w", err)
	}
	c.today = slot
	if c.today.IsZero() {
		c.today = time.Now().UTC()
	}
	switch k.List {
	case KindMonthly:
		if c.Month == "" && !slot.IsZero() {
			c.Month = slot.AddDate(0, -1, 0).Format("2006-01")
		}
		if _, err := time.Parse("2006-01", c.Month); err != nil {
			return nil, fmt.Errorf("the month must be a month like 2025-05")
		}
	case KindGoldenrod:
		if c.Year == "" {
			c.Year = strconv.Itoa(c.today.Year())
		}
		if y, err := strconv.Atoi(c.Year); err != nil || y < 1900 || y > c.today.Year() {
			return nil, fmt.Errorf("the year must be a year like %d, not after this one", c.today.Year())
		}
	case KindOutreach:
		at, err := dateOr(c.AsOf, slot, "the date")
		if err != nil {
			return nil, err
		}
		c.AsOf, c.Months = at.Format(time.DateOnly), cmp.Or(c.Months, "36")
		if m, err := strconv.Atoi(c.Months); err != nil || m < 1 || m > 216 {
			return nil, fmt.Errorf("the age limit must be a whole number of months from 1 to 216")
		}
		c.Facility = ""
	default:
		return nil, fmt.Errorf("no list of kind %q", k.List)
	}
	if k.List != KindOutreach && c.Facility == "" {
		return nil, fmt.Errorf("choose a clinic (its facility id)")
	}
	return &listPlan{k: k, c: c}, nil
}

type listPlan struct {
	k Compliancy
	c ListParams
}

func (pl *listPlan) Params() json.RawMessage { b, _ := json.Marshal(pl.c); return b }
func (pl *listPlan) Facility() string        { return pl.c.Facility }

func (pl *listPlan) Describe() string {
	c := pl.c
	switch pl.k.List {
	case KindMonthly:
		return fmt.Sprintf("children turning 8 or 20 months in %s not up to date, clinic %s", c.Month, c.Facility)
	case KindGoldenrod:
		return fmt.Sprintf("2-year-old clean-up (Goldenrod) %s, clinic %s", c.Year, c.Facility)
	}
	s := fmt.Sprintf("outreach: late children under %s months on %s by IAP area, statewide", c.Months, c.AsOf)
	if c.Area != "" {
		s += ", area " + c.Area
	}
	return s
}

// Compute makes the list: its CSV, one row per child with what is
// missing (the main CSV of the run; restricted rows marked).
func (pl *listPlan) Compute(ctx context.Context, progress func(int64)) (*Result, error) {
	l := &compliancy.Lists{Source: pl.k.Source, Engine: pl.k.Engine, Progress: progress}
	var rows []compliancy.Row
	sum := Summary{Counts: map[string]int{}}
	areaOf := func(string) string { return "" }
	switch pl.k.List {
	case KindMonthly:
		month, _ := time.Parse("2006-01", pl.c.Month)
		m, err := l.Monthly(ctx, pl.c.Facility, month)
		if err != nil {
			return nil, err
		}
		rows, sum.Children = m.Rows, m.Considered[8]+m.Considered[20]
		sum.Counts["turned 8 months"], sum.Counts["turned 20 months"] = m.Considered[8], m.Considered[20]
	case KindGoldenrod:
		year, _ := strconv.Atoi(pl.c.Year)
		g, err := l.Goldenrod(ctx, pl.c.Facility, year, pl.c.today)
		if err != nil {
			return nil, err
		}
		rows, sum.Children = g.Rows, g.Considered
	case KindOutreach:
		var err error
		if rows, sum.Children, areaOf, err = pl.outreach(ctx, l); err != nil {
			return nil, err
		}
	}
	sum.Counts["not up to date"] = len(rows)
	b, err := listCSV(ctx, pl.k.Source, rows, areaOf, pl.k.List == KindOutreach)
	if err != nil {
		return nil, err
	}
	return &Result{CSV: b, Summary: sum}, nil
}

// outreach makes the statewide list with the program's IAP area map.
func (pl *listPlan) outreach(ctx context.Context, l *compliancy.Lists) ([]compliancy.Row, int, func(string) string, error) {
	areas, err := pl.k.Source.IAPAreas(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	byTown := map[string]string{}
	for _, a := range areas {
		byTown[a.Town] = a.Area
	}
	asOf, _ := time.Parse(time.DateOnly, pl.c.AsOf)
	months, _ := strconv.Atoi(pl.c.Months)
	o, err := l.Outreach(ctx, asOf, months, byTown, pl.c.Area)
	if err != nil {
		return nil, 0, nil, err
	}
	var rows []compliancy.Row
	for _, a := range o.Areas {
		for _, t := range a.Towns {
			rows = append(rows, t.Rows...)
		}
	}
	areaOf := func(town string) string {
		return cmp.Or(byTown[strings.ToLower(strings.TrimSpace(town))], compliancy.NoArea)
	}
	return rows, o.Considered, areaOf, nil
}

// listCSV writes a list's rows with the children's names (restricted
// rows marked; see ReadTable), the IAP area first for outreach.
func listCSV(ctx context.Context, names Names, rows []compliancy.Row, areaOf func(string) string, withArea bool) ([]byte, error) {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.PatientID
	}
	named, err := names.PatientNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	head := []string{RestrictedColumn, "patient id", "name", "birth date", "age (months)", "assessed on", "clinic", "town", "county", "missing"}
	if withArea {
		head = append(head, "IAP area")
	}
	cw.Write(head)
	for _, r := range rows {
		rec := []string{yn(r.NotDisclosed), strconv.FormatInt(r.PatientID, 10), csvSafe(named[r.PatientID]), r.BirthDate.Format(time.DateOnly),
			strconv.Itoa(r.Age), r.Reached.Format(time.DateOnly), csvSafe(r.Facility), csvSafe(r.Town), csvSafe(r.County), csvSafe(strings.Join(r.Missing, "; "))}
		if withArea {
			rec = append(rec, csvSafe(areaOf(r.Town)))
		}
		cw.Write(rec)
	}
	cw.Flush()
	return b.Bytes(), cw.Error()
}
