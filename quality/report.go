package quality

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Period is a span of whole days, From to To inclusive (dates at midnight
// UTC, in the report's time zone).
type Period struct{ From, To time.Time }

// Days is the number of days in p.
func (p Period) Days() int { return int(p.To.Sub(p.From).Hours()/24) + 1 }

// Totals are a facility's sums over some days.
type Totals struct {
	Messages, VXU, Rejected  int
	WithErrors, WithWarnings int
	Completeness
}

// Score is the facility's quality score over the totals, 0 to 100; -1
// when there is no message. Weights: 60 for messages without an error
// (rejected or an E row), 15 for messages without a warning, 25 for the
// completeness of the administered doses (the mean share of lot,
// manufacturer, VIS and funding eligibility). Without administered doses
// the first two carry the whole score.
func (t Totals) Score() int {
	if t.Messages == 0 {
		return -1
	}
	m := float64(t.Messages)
	s := 60*(1-float64(t.WithErrors)/m) + 15*(1-float64(t.WithWarnings)/m)
	if t.Administered == 0 {
		return int(math.Round(s / 75 * 100))
	}
	return int(math.Round(s + 25*t.CompletenessRate()))
}

// CompletenessRate is the mean share, over the administered doses, of the
// four elements the score counts: lot, manufacturer, VIS and funding
// eligibility (0 without administered doses).
func (t Totals) CompletenessRate() float64 {
	if t.Administered == 0 {
		return 0
	}
	return float64(t.Lot+t.Manufacturer+t.VIS+t.Eligibility) / float64(4*t.Administered)
}

func (t *Totals) add(o Totals) {
	t.Messages += o.Messages
	t.VXU += o.VXU
	t.Rejected += o.Rejected
	t.WithErrors += o.WithErrors
	t.WithWarnings += o.WithWarnings
	t.Completeness.add(o.Completeness)
}

// Day is one day of a report.
type Day struct {
	Day time.Time
	Totals
}

// DetectionCount is how often one detection was found over the period.
type DetectionCount struct {
	Detection   string // MQE0087, or 103:5:RXA-17
	Description string
	Severity    string // E, W, I
	Messages    int    // messages with the detection
	Fields      []FieldCount
	Examples    []Example
}

// FieldCount is how many messages had a detection at one position.
type FieldCount struct {
	Position string
	Messages int
}

// Example is one message with a detection.
type Example struct {
	ReportID  int64
	Received  time.Time
	ControlID string // MSH-10
	Positions []string
	Sent      string // the values at the positions, as sent; "" if none or not quoted
}

// Report is one facility's data quality over a period.
type Report struct {
	Facility string
	Period   Period
	Totals   Totals
	Score    int // Totals.Score
	Days     []Day
	// Detections, most messages first (errors before warnings on ties).
	Detections []DetectionCount
	// Pending messages were stored but not analysed yet.
	Pending int
}

// ExamplesPerDetection is how many example messages a report gives for
// each detection.
const ExamplesPerDetection = 3

const totalsCols = `sum(messages)::int, sum(vxu)::int, sum(rejected)::int, sum(with_errors)::int, sum(with_warnings)::int,
	sum(doses)::int, sum(administered)::int, sum(historical)::int, sum(lot)::int, sum(mvx)::int, sum(vis)::int,
	sum(eligibility)::int, sum(funding)::int`

func scanTotals(r pgx.Row, pre ...any) (Totals, error) {
	var t Totals
	c := &t.Completeness
	err := r.Scan(append(pre, &t.Messages, &t.VXU, &t.Rejected, &t.WithErrors, &t.WithWarnings,
		&c.Doses, &c.Administered, &c.Historical, &c.Lot, &c.Manufacturer, &c.VIS, &c.Eligibility, &c.FundingSource)...)
	return t, err
}

// Report builds facility's report over p from the per-day sums.
func (s *Store) Report(ctx context.Context, facility string, p Period) (*Report, error) {
	r := &Report{Facility: facility, Period: p}
	rows, err := s.pool.Query(ctx, `SELECT day, `+totalsCols+` FROM quality_days
		WHERE facility = $1 AND day BETWEEN $2 AND $3 GROUP BY day ORDER BY day`, facility, p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("quality: report days: %w", err)
	}
	r.Days, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Day, error) {
		var d Day
		t, err := scanTotals(row, &d.Day)
		d.Totals = t
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("quality: report days: %w", err)
	}
	for _, d := range r.Days {
		r.Totals.add(d.Totals)
	}
	r.Score = r.Totals.Score()
	if r.Detections, err = s.detections(ctx, facility, p); err != nil {
		return nil, err
	}
	if err := s.addExamples(ctx, facility, p, r.Detections); err != nil {
		return nil, err
	}
	return r, nil
}

// detections sums the per-day detection counts over p.
func (s *Store) detections(ctx context.Context, facility string, p Period) ([]DetectionCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT detection, severity, position, sum(messages)::int FROM quality_day_detections
		WHERE facility = $1 AND day BETWEEN $2 AND $3 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, facility, p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("quality: report detections: %w", err)
	}
	var out []DetectionCount
	var det, sev, pos string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&det, &sev, &pos, &n}, func() error {
		if len(out) == 0 || out[len(out)-1].Detection != det || out[len(out)-1].Severity != sev {
			out = append(out, DetectionCount{Detection: det, Description: DescribeDetection(det), Severity: sev})
		}
		d := &out[len(out)-1]
		if pos == "" {
			d.Messages = n
		} else {
			d.Fields = append(d.Fields, FieldCount{Position: pos, Messages: n})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("quality: report detections: %w", err)
	}
	slices.SortStableFunc(out, func(a, b DetectionCount) int {
		if a.Messages != b.Messages {
			return b.Messages - a.Messages
		}
		return strings.Compare(sevRank(a.Severity), sevRank(b.Severity))
	})
	for i := range out {
		slices.SortStableFunc(out[i].Fields, func(a, b FieldCount) int { return b.Messages - a.Messages })
	}
	return out, nil
}

func sevRank(s string) string {
	switch s {
	case "E":
		return "0"
	case "W":
		return "1"
	}
	return "2" + s
}

// addExamples gives each detection its newest example messages.
func (s *Store) addExamples(ctx context.Context, facility string, p Period, ds []DetectionCount) error {
	if len(ds) == 0 {
		return nil
	}
	dets, sevs := make([]string, len(ds)), make([]string, len(ds))
	for i, d := range ds {
		dets[i], sevs[i] = d.Detection, d.Severity
	}
	rows, err := s.pool.Query(ctx, `SELECT k.ord, e.report_id, e.received_at, e.control_id, e.positions, e.sent
		FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS k(detection, severity, ord)
		CROSS JOIN LATERAL (
			SELECT f.report_id, m.received_at, m.control_id, f.positions, f.sent
			FROM quality_findings f JOIN quality_messages m ON m.report_id = f.report_id
			WHERE f.facility = $1 AND f.detection = k.detection AND f.severity = k.severity AND f.day BETWEEN $4 AND $5
			ORDER BY f.day DESC, f.report_id DESC LIMIT $6) e`,
		facility, dets, sevs, p.From, p.To, ExamplesPerDetection)
	if err != nil {
		return fmt.Errorf("quality: report examples: %w", err)
	}
	var ord int64
	var e Example
	_, err = pgx.ForEachRow(rows, []any{&ord, &e.ReportID, &e.Received, &e.ControlID, &e.Positions, &e.Sent}, func() error {
		e.Positions = slices.Clone(e.Positions)
		ds[ord-1].Examples = append(ds[ord-1].Examples, e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("quality: report examples: %w", err)
	}
	return nil
}

// Examples returns up to limit messages of facility with detection (at
// any severity) over p, newest first.
func (s *Store) Examples(ctx context.Context, facility, detection string, p Period, limit int) ([]Example, error) {
	rows, err := s.pool.Query(ctx, `SELECT f.report_id, m.received_at, m.control_id, f.positions, f.sent
		FROM quality_findings f JOIN quality_messages m ON m.report_id = f.report_id
		WHERE f.facility = $1 AND f.detection = $2 AND f.day BETWEEN $3 AND $4
		ORDER BY f.day DESC, f.report_id DESC LIMIT $5`, facility, detection, p.From, p.To, limit)
	if err != nil {
		return nil, fmt.Errorf("quality: examples: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Example, error) {
		var e Example
		err := r.Scan(&e.ReportID, &e.Received, &e.ControlID, &e.Positions, &e.Sent)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("quality: examples: %w", err)
	}
	return out, nil
}

// FacilityTotals is one facility's totals over a period.
type FacilityTotals struct {
	Facility string
	Totals
}

// Facilities returns the totals of every facility that sent messages
// during p, by facility.
func (s *Store) Facilities(ctx context.Context, p Period) ([]FacilityTotals, error) {
	rows, err := s.pool.Query(ctx, `SELECT facility, `+totalsCols+` FROM quality_days
		WHERE day BETWEEN $1 AND $2 GROUP BY facility ORDER BY facility`, p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("quality: facilities: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FacilityTotals, error) {
		var f FacilityTotals
		t, err := scanTotals(r, &f.Facility)
		f.Totals = t
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("quality: facilities: %w", err)
	}
	return out, nil
}

// DayCount is how many messages had something on one day.
type DayCount struct {
	Day      time.Time
	Messages int
}

// DetectionDays returns, day by day over p, how many of facility's
// messages had detection (at any severity); days without are left out.
func (s *Store) DetectionDays(ctx context.Context, facility, detection string, p Period) ([]DayCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT day, sum(messages)::int FROM quality_day_detections
		WHERE facility = $1 AND detection = $2 AND position = '' AND day BETWEEN $3 AND $4
		GROUP BY day ORDER BY day`, facility, detection, p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("quality: detection by day: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DayCount])
	if err != nil {
		return nil, fmt.Errorf("quality: detection by day: %w", err)
	}
	return out, nil
}
