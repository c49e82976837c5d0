// Package forecast is a CDSi immunization evaluator and forecaster: it
// implements the CDC "Logic Specification for ACIP Recommendations"
// (Clinical Decision Support for Immunization, v4.x) driven entirely by
// CDC's supporting data (antigen series, CVX map, live-virus conflicts,
// vaccine groups, observations).
//
// Load a release once with New (or Default for the embedded release) and
// call (*Engine).Forecast for each patient; the Engine is immutable and safe
// for concurrent use.
package forecast

import (
	"strings"
	"sync"
	"time"

	"github.com/iisproject/iis/forecast/cdsidata"
)

// Engine is a loaded, indexed CDSi supporting-data release.
type Engine struct {
	version       string
	antigens      []*antigen
	groups        []*vaccineGroup
	antigenByName map[string]int
	groupByName   map[string]int
	cvxAntigens   [maxCVX][]cvxAssoc
	cvxName       [maxCVX]string
	live          [maxCVX][]liveConflict
	liveFrom      [maxCVX]cvxSet // previous vaccines that conflict with each current one
	obsTitle      [maxObs]string
	obsByCode     map[string]string // SNOMED / CDCPHINVS / … code → CDSi observation code
	nSeries       int
	durs          []Duration // the supporting data's durations, indexed by span.text
	seasons       []Season   // each vaccine group's seasonal span
}

var (
	defaultOnce   sync.Once
	defaultEngine *Engine
	defaultErr    error
)

// Default returns the Engine for the CDC release embedded in the binary
// (package cdsidata). It is loaded on first use and shared.
func Default() (*Engine, error) {
	defaultOnce.Do(func() { defaultEngine, defaultErr = New(cdsidata.FS) })
	return defaultEngine, defaultErr
}

// Version is the first line of the release's VERSION.txt, if present.
func (e *Engine) Version() string { return e.version }

// VaccineGroups lists the vaccine group names of the release, in CDC order.
func (e *Engine) VaccineGroups() []string {
	out := make([]string, len(e.groups))
	for i, g := range e.groups {
		out[i] = g.name
	}
	return out
}

// VaccineName is CDC's short description of a CVX code, or "".
func (e *Engine) VaccineName(cvx string) string {
	n, ok := code(cvx)
	if !ok || n >= maxCVX {
		return ""
	}
	return e.cvxName[n]
}

// ObservationCode maps a coded value that CDC lists for a CDSi observation
// (a SNOMED CT, CDCPHINVS or other code, e.g. an HL7 OBX-5 evidence of
// immunity or contraindication) to the CDSi observation code ("" if none).
func (e *Engine) ObservationCode(code string) string {
	return e.obsByCode[strings.TrimSpace(code)]
}

// ObservationTitle is CDC's title of a CDSi observation code, or "".
func (e *Engine) ObservationTitle(cdsiCode string) string {
	n, ok := code(cdsiCode)
	if !ok || n >= maxObs {
		return ""
	}
	return e.obsTitle[n]
}

// Gender is the patient's gender as CDSi uses it (sex at birth).
type Gender uint8

// Genders known to CDSi.
const (
	GenderUnknown Gender = iota
	Female
	Male
	Transgender
)

// ParseGender maps "F", "Female", "M", "Male", "T", "Transgender" (any case);
// anything else is GenderUnknown.
func ParseGender(s string) Gender {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "F", "FEMALE":
		return Female
	case "M", "MALE":
		return Male
	case "T", "TRANSGENDER":
		return Transgender
	}
	return GenderUnknown
}

func (g Gender) mask() genderMask {
	switch g {
	case Female:
		return gFemale
	case Male:
		return gMale
	case Transgender:
		return gTransgender
	}
	return gUnknown
}

// Observation is a CDSi coded observation about the patient (condition,
// contraindication, evidence of immunity): Code is the CDSi observation code
// ("080", "171"); Date, when known, is when it began or happened.
type Observation struct {
	Code string
	Date time.Time
}

// Patient is what the engine needs to know about the person.
type Patient struct {
	DOB          time.Time
	Gender       Gender
	Observations []Observation
}

// DoseCondition flags a dose that must not be counted whatever its timing.
type DoseCondition uint8

// Dose conditions (CDSi "dose administered condition").
const (
	ConditionNone DoseCondition = iota
	ConditionExpired
	ConditionSubpotent
	ConditionRecalled
)

// Dose is one vaccine dose administered.
type Dose struct {
	Date      time.Time
	CVX       string
	MVX       string
	Condition DoseCondition
}

// EvalStatus is the evaluation status of a dose for an antigen.
type EvalStatus uint8

// Evaluation statuses.
const (
	Valid EvalStatus = iota
	NotValid
	Extraneous
	SubStandard
)

func (s EvalStatus) String() string {
	switch s {
	case Valid:
		return "Valid"
	case NotValid:
		return "Not Valid"
	case Extraneous:
		return "Extraneous"
	case SubStandard:
		return "Sub standard"
	}
	return "?"
}

// SeriesStatus is the patient's status for an antigen or vaccine group.
type SeriesStatus uint8

// Series statuses.
const (
	NotComplete SeriesStatus = iota
	Complete
	Immune
	Contraindicated
	AgedOut
	NotRecommended
)

func (s SeriesStatus) String() string {
	switch s {
	case NotComplete:
		return "Not complete"
	case Complete:
		return "Complete"
	case Immune:
		return "Immune"
	case Contraindicated:
		return "Contraindicated"
	case AgedOut:
		return "Aged out"
	case NotRecommended:
		return "Not recommended"
	}
	return "?"
}

// Evaluation is the verdict on one dose for one antigen, in the patient
// series the engine selected for that antigen.
type Evaluation struct {
	Dose       int // index into the doses passed to Forecast
	Antigen    string
	Series     string
	TargetDose int // 1-based target dose it was evaluated against; 0 if none
	Status     EvalStatus
	Reason     string // which rule, age or interval decided, in words
}

// AntigenForecast is the result for one antigen.
type AntigenForecast struct {
	Antigen      string
	VaccineGroup string
	Series       string // selected patient series
	Status       SeriesStatus
	DoseNumber   int // next target dose (1-based); 0 when no dose is due
	Earliest     Date
	Recommended  Date
	PastDue      Date // NoDate when the series gives no latest recommended age or interval
	Latest       Date // NoDate when there is no maximum age
	Reason       string
}

// GroupDose is a dose's evaluation rolled up to a vaccine group.
type GroupDose struct {
	Dose   int
	Status EvalStatus
	Reason string
}

// GroupForecast is the result for one vaccine group (e.g. "DTaP/Tdap/Td").
type GroupForecast struct {
	VaccineGroup string
	Status       SeriesStatus
	DoseNumber   int
	Earliest     Date // forecast dates are calendar days; NoDate when not set
	Recommended  Date
	PastDue      Date
	Latest       Date
	Reason       string
	Doses        []GroupDose
}

// Result is the full output of Forecast.
type Result struct {
	Evaluations []Evaluation
	Antigens    []AntigenForecast
	Groups      []GroupForecast
}

// Group returns the forecast for the named vaccine group (case-insensitive),
// or nil if the group has no relevant series for this patient.
func (r *Result) Group(name string) *GroupForecast {
	for i := range r.Groups {
		if strings.EqualFold(r.Groups[i].VaccineGroup, name) {
			return &r.Groups[i]
		}
	}
	return nil
}

// GroupAntigens returns the antigen forecasts of the named vaccine group.
func (r *Result) GroupAntigens(group string) []*AntigenForecast {
	var out []*AntigenForecast
	for i := range r.Antigens {
		if strings.EqualFold(r.Antigens[i].VaccineGroup, group) {
			out = append(out, &r.Antigens[i])
		}
	}
	return out
}

// Antigen returns the forecast for the named antigen, or nil.
func (r *Result) Antigen(name string) *AntigenForecast {
	for i := range r.Antigens {
		if strings.EqualFold(r.Antigens[i].Antigen, name) {
			return &r.Antigens[i]
		}
	}
	return nil
}
