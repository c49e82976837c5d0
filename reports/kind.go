package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/iisproject/iis/registry"
)

// Report is one kind of report a Runner runs (coverage, recall, the
// compliancy lists): it turns a run's stored parameters into a Plan.
type Report interface {
	// Kind names the report in report_runs.kind and in schedules.
	Kind() string
	// Plan reads the parameters (JSON; the pages' form fields by the same
	// names) and says in words what is wrong with them. slot is a
	// scheduled run's day: it fills a date left empty (zero on demand).
	Plan(raw json.RawMessage, slot time.Time) (Plan, error)
}

// Plan is a run ready to compute; it does no I/O until Compute.
type Plan interface {
	// Params are the parameters as stored (dates filled in).
	Params() json.RawMessage
	// Facility is the clinic the run covers; "" beyond one clinic (then
	// only program staff see it).
	Facility() string
	// Describe names the parameters in words.
	Describe() string
	// Compute runs the report; progress is called with the patient id
	// reached (patients are read in id order).
	Compute(ctx context.Context, progress func(patientID int64)) (*Result, error)
}

// Result is a finished run's output.
type Result struct {
	CSV     []byte // the main download: the figures, or the list
	Summary Summary
	// Files are the drill-down, letters and labels. A CSV file whose
	// first column is "restricted" marks the rows of children who opted
	// out or are protected ("Y"): see Mask.
	Files []registry.ReportFile
}

// Summary is a finished run's JSON summary.
type Summary struct {
	Children int                `json:"children"`         // the children considered
	Rates    map[string]float64 `json:"rates,omitempty"`  // coverage: percent up to date by measure
	Counts   map[string]int     `json:"counts,omitempty"` // lists: children listed, families, by reason left out
	Took     string             `json:"took"`
}

// planOf parses raw with the report of kind among reports.
func planOf(reports map[string]Report, kind string, raw json.RawMessage, slot time.Time) (Plan, error) {
	rep, ok := reports[kind]
	if !ok {
		return nil, fmt.Errorf("no report of kind %q", kind)
	}
	if len(raw) == 0 {
		raw = json.RawMessage(`{}`)
	}
	return rep.Plan(raw, slot)
}

// dateOr parses a date, or takes the slot's day when s is empty and the
// run is scheduled.
func dateOr(s string, slot time.Time, what string) (time.Time, error) {
	if s == "" && !slot.IsZero() {
		return slot.UTC().Truncate(24 * time.Hour), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, fmt.Errorf("%s must be a date like 2025-06-30", what)
	}
	return t, nil
}
