// Package testcase reads CDC CDSi test cases in the project's JSON format
// (testdata/cdsi/testcases/*.json) and checks a forecast.Engine against
// them. It is shared by the forecast tests and the cdsi command.
package testcase

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iisproject/iis/forecast"
)

// File is one test-case file.
type File struct {
	Source string `json:"source"`
	Count  int    `json:"count"`
	Cases  []Case `json:"cases"`
}

// Case is one CDC test case.
type Case struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	DOB            string        `json:"dob"`
	Gender         string        `json:"gender"`
	AssessmentDate string        `json:"assessment_date"`
	Observations   []Observation `json:"observations"`
	VaccineGroup   string        `json:"vaccine_group"`
	SeriesStatus   string        `json:"series_status"`
	Doses          []Dose        `json:"doses"`
	Forecast       Expected      `json:"forecast"`
	EvalTestType   string        `json:"evaluation_test_type"`
	ForeTestType   string        `json:"forecast_test_type"`
	Description    string        `json:"description"`
}

// Observation is a CDSi observation code with an optional date.
type Observation struct {
	Code string `json:"code"`
	Text string `json:"text"`
	Date string `json:"date"`
}

// Dose is an administered dose with its expected evaluation.
type Dose struct {
	Date           string `json:"date"`
	Vaccine        string `json:"vaccine"`
	CVX            string `json:"cvx"`
	MVX            string `json:"mvx"`
	ExpectedStatus string `json:"expected_status"`
	ExpectedReason string `json:"expected_reason"`
}

// Expected is the expected forecast.
type Expected struct {
	DoseNumber  string `json:"dose_number"`
	Earliest    string `json:"earliest"`
	Recommended string `json:"recommended"`
	PastDue     string `json:"past_due"`
}

// Load reads a test-case file. Labels found next to it in
// vaccine-group-labels.json are returned too (nil if absent).
func Load(path string) (*File, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("testcase: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("testcase: parse %s: %w", path, err)
	}
	labels, err := LoadLabels(filepath.Join(filepath.Dir(path), "vaccine-group-labels.json"))
	if err != nil && !os.IsNotExist(err) {
		return nil, nil, err
	}
	return &f, labels, nil
}

// LoadLabels reads a vaccine-group-labels.json file (workbook label →
// supporting-data vaccine group name).
func LoadLabels(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v struct {
		Labels map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("testcase: parse %s: %w", path, err)
	}
	return v.Labels, nil
}

// builtinLabels covers the workbooks' spellings when no labels file is at hand.
var builtinLabels = map[string]string{
	"DTAP": "DTaP/Tdap/Td", "POL": "Polio", "IPOL": "Polio", "MCV": "Meningococcal", "MENB": "Meningococcal B",
	"ROTA": "Rotavirus", "PCV": "Pneumococcal", "FLU": "Influenza", "VAR": "Varicella", "HIB": "Hib", "ZOSTER": "Zoster",
}

// GroupName maps a workbook vaccine-group label to a supporting-data group.
func GroupName(label string, labels map[string]string) string {
	if g, ok := labels[label]; ok {
		return g
	}
	if g, ok := builtinLabels[strings.ToUpper(label)]; ok {
		return g
	}
	return label
}

// Input converts a case into engine input.
func (c *Case) Input() (forecast.Patient, []forecast.Dose, time.Time, error) {
	var p forecast.Patient
	dob, err := time.Parse(time.DateOnly, c.DOB)
	if err != nil {
		return p, nil, time.Time{}, fmt.Errorf("case %s: dob: %w", c.ID, err)
	}
	asOf, err := time.Parse(time.DateOnly, c.AssessmentDate)
	if err != nil {
		return p, nil, time.Time{}, fmt.Errorf("case %s: assessment date: %w", c.ID, err)
	}
	p.DOB, p.Gender = dob, forecast.ParseGender(c.Gender)
	for _, o := range c.Observations {
		ob := forecast.Observation{Code: o.Code}
		if o.Date != "" {
			if ob.Date, err = time.Parse(time.DateOnly, o.Date); err != nil {
				return p, nil, time.Time{}, fmt.Errorf("case %s: observation date: %w", c.ID, err)
			}
		}
		p.Observations = append(p.Observations, ob)
	}
	var ds []forecast.Dose
	for _, d := range c.Doses {
		t, err := time.Parse(time.DateOnly, d.Date)
		if err != nil {
			return p, nil, time.Time{}, fmt.Errorf("case %s: dose date: %w", c.ID, err)
		}
		ds = append(ds, forecast.Dose{Date: t, CVX: d.CVX, MVX: d.MVX})
	}
	return p, ds, asOf, nil
}

// Outcome is the comparison of one case.
type Outcome struct {
	Case         *Case
	Group        string
	EvalChecked  bool // the case has doses to evaluate
	EvalPass     bool
	ForecastPass bool // series status and forecast dates
	Diffs        []string
}

// Pass reports whether every expectation matched.
func (o *Outcome) Pass() bool { return o.EvalPass && o.ForecastPass }

func norm(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// Check runs one case through the engine and compares: the group's series
// status, each dose's evaluation status, and the forecast earliest,
// recommended and past-due dates where the case gives them.
func Check(e *forecast.Engine, c *Case, labels map[string]string) Outcome {
	o := Outcome{Case: c, Group: GroupName(c.VaccineGroup, labels), EvalPass: true, ForecastPass: true}
	p, ds, asOf, err := c.Input()
	if err != nil {
		o.EvalPass, o.ForecastPass = false, false
		o.Diffs = append(o.Diffs, err.Error())
		return o
	}
	res := e.Forecast(p, ds, asOf)
	g := res.Group(o.Group)
	status := "(no series)"
	if g != nil {
		status = g.Status.String()
	}
	if norm(status) != norm(c.SeriesStatus) {
		o.ForecastPass = false
		o.Diffs = append(o.Diffs, fmt.Sprintf("series status: want %q, got %q", c.SeriesStatus, status))
	}
	o.EvalChecked = len(c.Doses) > 0
	for i, d := range c.Doses {
		got, why := "(not evaluated)", ""
		found := false
		if g != nil {
			for _, gd := range g.Doses {
				if gd.Dose == i {
					got, why, found = gd.Status.String(), gd.Reason, true
				}
			}
		}
		// A dose of another vaccine group in the case (e.g. varicella in an
		// MMR case) is judged in its own group.
		for gi := 0; !found && gi < len(res.Groups); gi++ {
			for _, gd := range res.Groups[gi].Doses {
				if gd.Dose == i {
					got, why, found = gd.Status.String(), gd.Reason, true
					break
				}
			}
		}
		if d.ExpectedStatus != "" && norm(got) != norm(d.ExpectedStatus) {
			o.EvalPass = false
			msg := fmt.Sprintf("dose %d (%s CVX %s): want %s", i+1, d.Date, d.CVX, d.ExpectedStatus)
			if d.ExpectedReason != "" {
				msg += " (" + d.ExpectedReason + ")"
			}
			msg += ", got " + got
			if why != "" {
				msg += " (" + why + ")"
			}
			o.Diffs = append(o.Diffs, msg)
		}
	}
	if c.Forecast.Earliest != "" {
		var ge, gr, gp string
		if g != nil && g.Status == forecast.NotComplete {
			ge, gr, gp = g.Earliest.String(), g.Recommended.String(), g.PastDue.String()
		}
		cmp := func(what, want, got string) {
			if want != "" && want != got {
				o.ForecastPass = false
				o.Diffs = append(o.Diffs, fmt.Sprintf("%s: want %s, got %q", what, want, got))
			}
		}
		cmp("earliest", c.Forecast.Earliest, ge)
		cmp("recommended", c.Forecast.Recommended, gr)
		cmp("past due", c.Forecast.PastDue, gp)
	}
	return o
}
