package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis"
)

// standingAdministered is the registry's rule for a dose a clinic gave
// that stands: reported as administered (RXA-9 00, not historical),
// complete or partial (RXA-20 CP, PA), neither replaced by an update nor
// deleted (consolidation winner or duplicate). The VFC doses-administered
// report counts these, one per event and clinic (a clinic's resend of a
// dose is one dose); the inventory draws on its lots by the same rule.
const standingAdministered = `s.consolidation IN ('winner', 'duplicate') AND NOT s.historical AND s.completion_status IN ('CP', 'PA')`

// Age groups of the VFC doses-administered report (age in completed years
// on the day of the dose).
const (
	AgeUnder1  = "<1"
	Age1To6    = "1-6"
	Age7To18   = "7-18"
	Age19Plus  = "19+"
	AgeUnknown = "unknown"
	EligNone   = "none"  // no OBX 64994-7 reported
	EligOther  = "other" // a code outside V01–V07 (a state's own category)
)

// AgeGroups lists the report's age groups in order.
var AgeGroups = []string{AgeUnder1, Age1To6, Age7To18, Age19Plus, AgeUnknown}

// AgeGroup is the VFC report's age group of a dose given on on to a
// patient born on birth: <1, 1-6, 7-18, 19+ completed years; unknown
// without a birth date or with a dose before the birth.
func AgeGroup(birth, on time.Time) string {
	if birth.IsZero() || on.IsZero() || on.Before(birth) {
		return AgeUnknown
	}
	years := on.Year() - birth.Year()
	if on.Month() < birth.Month() || (on.Month() == birth.Month() && on.Day() < birth.Day()) {
		years--
	}
	switch {
	case years < 1:
		return AgeUnder1
	case years <= 6:
		return Age1To6
	case years <= 18:
		return Age7To18
	}
	return Age19Plus
}

// EligibilityCategory is the VFC report's category of a dose's OBX
// 64994-7 code (HL70064): V01–V07 as reported, "none" when none was
// reported, "other" for any other code (a state's own category).
func EligibilityCategory(code string) string {
	c := strings.ToUpper(strings.TrimSpace(code))
	switch c {
	case "":
		return EligNone
	case "V01", "V02", "V03", "V04", "V05", "V06", "V07":
		return c
	}
	return EligOther
}

// VFCQuery selects the doses of the VFC doses-administered report.
type VFCQuery struct {
	Clinic   string    // a facility id (MSH-4); "" every clinic
	From, To time.Time // doses given in [From, To)
}

// VFCRow is one cell of the report: the doses a clinic gave in a month of
// a vaccine to an age group of an eligibility category.
type VFCRow struct {
	Clinic      string
	Month       time.Time // the month's first day
	CVX         string
	AgeGroup    string
	Eligibility string // V01–V07, none, other
	Doses       int
}

// ErrQuery is a report or search request that cannot be answered as asked
// (a missing lot, a range the wrong way round); its message is for people.
var ErrQuery = errors.New("registry: query")

// VFCDosesAdministered counts the standing administered doses of q by
// clinic, month, vaccine (CVX), age group and eligibility category (the
// dose's OBX 64994-7 as stored in its detail), ordered by those.
func (s *Store) VFCDosesAdministered(ctx context.Context, q VFCQuery) ([]VFCRow, error) {
	if q.From.IsZero() || !q.To.After(q.From) {
		return nil, fmt.Errorf("%w: the end of the period must come after its start", ErrQuery)
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (s.event_id, s.facility) s.facility, s.administered_on, s.cvx, p.birth_date, s.detail
		FROM source_vaccinations s JOIN patients p ON p.id = s.patient_id
		WHERE `+standingAdministered+` AND s.administered_on >= $1 AND s.administered_on < $2 AND ($3 = '' OR s.facility = $3)
		ORDER BY s.event_id, s.facility, s.id`, dateOnly(q.From), dateOnly(q.To), q.Clinic)
	if err != nil {
		return nil, fmt.Errorf("registry: vfc report: %w", err)
	}
	cells, err := tallyVFC(rows)
	if err != nil {
		return nil, fmt.Errorf("registry: vfc report: %w", err)
	}
	return cells, nil
}

// tallyVFC counts the rows into the report's cells, in order.
func tallyVFC(rows pgx.Rows) ([]VFCRow, error) {
	defer rows.Close()
	type key struct {
		clinic, cvx, age, elig string
		month                  time.Time
	}
	counts := map[key]int{}
	for rows.Next() {
		var fac, cvx, detail string
		var on, birth *time.Time
		if err := rows.Scan(&fac, &on, &cvx, &birth, &detail); err != nil {
			return nil, err
		}
		var v iis.Vaccination
		_ = decodeDose(detail, &v) // a damaged detail counts as no eligibility reported
		k := key{clinic: fac, cvx: cvx, elig: EligibilityCategory(v.FundingEligibility.Code)}
		if on != nil {
			k.month = time.Date(on.Year(), on.Month(), 1, 0, 0, 0, 0, time.UTC)
			k.age = AgeGroup(deref(birth), *on)
		} else {
			k.age = AgeUnknown
		}
		counts[k]++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]VFCRow, 0, len(counts))
	for k, n := range counts {
		out = append(out, VFCRow{Clinic: k.clinic, Month: k.month, CVX: k.cvx, AgeGroup: k.age, Eligibility: k.elig, Doses: n})
	}
	sortVFC(out)
	return out, nil
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func dateOnly(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// sortVFC orders the cells by clinic, month, vaccine, age group (in
// AgeGroups' order) and eligibility.
func sortVFC(rs []VFCRow) {
	age := map[string]int{}
	for i, a := range AgeGroups {
		age[a] = i
	}
	slices.SortFunc(rs, func(a, b VFCRow) int {
		return cmp.Or(cmp.Compare(a.Clinic, b.Clinic), a.Month.Compare(b.Month), cmp.Compare(a.CVX, b.CVX),
			cmp.Compare(age[a.AgeGroup], age[b.AgeGroup]), cmp.Compare(a.Eligibility, b.Eligibility))
	})
}
