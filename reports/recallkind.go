package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/recall"
	"github.com/iisproject/iis/registry"
)

// KindRecall is reminder/recall's kind.
const KindRecall = "recall"

// Clinics finds the clinic of a facility id (accounts.Store).
type Clinics interface {
	OrganizationByFacility(ctx context.Context, facilityID string) (accounts.Organization, error)
}

// Recall is a clinic's reminder/recall as a Report: the list (CSV), the
// letters to families and the mailing labels (PDF) are stored with the
// run.
type Recall struct {
	Candidates recall.Candidates
	Forecaster *forecast.Engine
	Clinics    Clinics
	Now        func() time.Time // the letters' printed date; nil: time.Now
}

// Kind is KindRecall.
func (Recall) Kind() string { return KindRecall }

// RecallParams are a reminder/recall run's parameters (the /recall form's
// fields).
type RecallParams struct {
	Facility    string `json:"clinic"`
	By          string `json:"by"`              // due by; "" in a schedule: the slot's day
	Groups      string `json:"group,omitempty"` // vaccine groups, comma-separated; "": the childhood groups
	BornFrom    string `json:"born_from,omitempty"`
	BornTo      string `json:"born_to,omitempty"`
	AgeMin      string `json:"age_min,omitempty"` // months, with AgeMax instead of birth dates
	AgeMax      string `json:"age_max,omitempty"`
	OverdueOnly string `json:"overdue_only,omitempty"` // "on": overdue groups only
}

// Recall turns the parameters into recall's, or says what is wrong.
func (c RecallParams) Recall(known []string, slot time.Time) (recall.Params, error) {
	var p recall.Params
	var err error
	if c.Facility == "" {
		return p, fmt.Errorf("choose a clinic (its facility id)")
	}
	if p.By, err = dateOr(c.By, slot, "the due-by date"); err != nil {
		return p, err
	}
	for _, d := range []struct {
		s    string
		t    *time.Time
		what string
	}{{c.BornFrom, &p.BornFrom, "the earliest birth date"}, {c.BornTo, &p.BornTo, "the latest birth date"}} {
		if d.s != "" {
			if *d.t, err = time.Parse(time.DateOnly, d.s); err != nil {
				return p, fmt.Errorf("%s must be a date like 2024-01-31", d.what)
			}
		}
	}
	if c.AgeMin != "" || c.AgeMax != "" {
		lo, err1 := strconv.Atoi(c.AgeMin)
		hi, err2 := strconv.Atoi(c.AgeMax)
		if err1 != nil || err2 != nil || lo < 0 || hi < lo || hi > 1200 {
			return p, fmt.Errorf("give the age range as two whole numbers of months, the first not above the second")
		}
		p.BornFrom, p.BornTo = recall.BornBetween(p.By, lo, hi)
	}
	if c.Groups != "" {
		p.Groups = strings.Split(c.Groups, ",")
	}
	p.OverdueOnly = c.OverdueOnly == "on"
	return p, p.Validate(known)
}

// Plan reads the parameters.
func (k Recall) Plan(raw json.RawMessage, slot time.Time) (Plan, error) {
	var c RecallParams
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("reminder/recall parameters: %w", err)
	}
	p, err := c.Recall(k.Forecaster.VaccineGroups(), slot)
	if err != nil {
		return nil, err
	}
	c.By = p.By.Format(time.DateOnly)
	return &recallPlan{k: k, c: c, p: p}, nil
}

type recallPlan struct {
	k Recall
	c RecallParams
	p recall.Params
}

func (pl *recallPlan) Params() json.RawMessage { b, _ := json.Marshal(pl.c); return b }
func (pl *recallPlan) Facility() string        { return pl.c.Facility }

func (pl *recallPlan) Describe() string {
	c := pl.c
	var b strings.Builder
	fmt.Fprintf(&b, "children due by %s", c.By)
	if c.OverdueOnly == "on" {
		b.WriteString(" (overdue only)")
	}
	if c.Groups != "" {
		b.WriteString(" for " + strings.ReplaceAll(c.Groups, ",", ", "))
	}
	switch {
	case c.AgeMin != "":
		fmt.Fprintf(&b, ", %s to %s months old", c.AgeMin, c.AgeMax)
	case c.BornFrom != "" || c.BornTo != "":
		fmt.Fprintf(&b, ", born %s to %s", c.BornFrom, c.BornTo)
	}
	return b.String() + ", clinic " + c.Facility
}

// The files of a reminder/recall run (its list is the run's CSV).
const (
	FileLetters = "letters.pdf"
	FileLabels  = "labels.pdf"
)

// Compute selects the clinic's children due and prints their letters
// (each family's in its language) and labels.
func (pl *recallPlan) Compute(ctx context.Context, progress func(int64)) (*Result, error) {
	org, err := pl.k.Clinics.OrganizationByFacility(ctx, pl.c.Facility)
	if err != nil {
		return nil, fmt.Errorf("the clinic %s: %w", pl.c.Facility, err)
	}
	rc := &recall.Recaller{Registry: pl.k.Candidates, Forecaster: pl.k.Forecaster, Progress: progress}
	res, err := rc.Run(ctx, recall.Clinic{OrgID: org.ID, Facility: org.FacilityID, Name: org.Name}, pl.p)
	if err != nil {
		return nil, err
	}
	var list bytes.Buffer
	if err := recall.WriteCSV(&list, res.Children); err != nil {
		return nil, err
	}
	now := time.Now
	if pl.k.Now != nil {
		now = pl.k.Now
	}
	letters, err := recall.FamilyLetters(res.Families, pl.p.By, recall.Sender{Clinic: org.Name}, now())
	if err != nil {
		return nil, err
	}
	labels, err := recall.Labels(res.Families, now())
	if err != nil {
		return nil, err
	}
	sum := Summary{Children: res.Considered, Counts: map[string]int{"due": len(res.Children), "families": len(res.Families)}}
	for reason, n := range res.Excluded {
		sum.Counts["left out: "+reason] = n
	}
	return &Result{CSV: list.Bytes(), Summary: sum, Files: []registry.ReportFile{
		{Name: FileLetters, ContentType: "application/pdf", Body: letters},
		{Name: FileLabels, ContentType: "application/pdf", Body: labels},
	}}, nil
}
