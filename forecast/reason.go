package forecast

// Reasons in clinician words for dose verdicts and forecasts.

import (
	"fmt"
	"strconv"
)

// reasonText renders a dose verdict in a clinician's words.
func (st *state) reasonText(r *run, k int) string {
	w := r.why[k]
	d := st.doses[r.ad[k]]
	name := st.e.cvxName[max(d.cvx, 0)]
	switch w.code {
	case rNone:
		if r.st[k] == Valid && w.target >= 1 && w.target <= len(r.s.validReasons) {
			if w.allowable {
				return r.s.validAllowReasons[w.target-1]
			}
			return r.s.validReasons[w.target-1]
		}
	case rSubStandard:
		return "Sub standard: the dose was expired, subpotent or recalled"
	case rSeriesComplete:
		return "Series already complete: extra dose not needed for " + r.s.name
	case rInadvertent:
		return fmt.Sprintf("Inadvertent vaccine: %s is not given for dose %d of %s", name, w.target, r.s.name)
	case rTooYoung:
		return fmt.Sprintf("Age: too young: dose %d needs a minimum age of %s (on or after %s); given %s", w.target, st.e.durs[w.dur.text], w.date, d.date)
	case rTooYoungGrace:
		return fmt.Sprintf("Age: too young: the 4-day grace period does not apply after an invalid dose; dose %d needs age %s (%s); given %s", w.target, st.e.durs[w.dur.text], w.date, d.date)
	case rTooOld:
		return fmt.Sprintf("Age: too old: dose %d must be given before age %s (%s); given %s", w.target, st.e.durs[w.dur.text], w.date, d.date)
	case rTooSoon:
		return fmt.Sprintf("Interval: too soon: dose %d needs a minimum interval of %s after the dose of %s (on or after %s); given %s", w.target, st.e.durs[w.dur.text], w.ref, w.date, d.date)
	case rTooSoonGrace:
		return fmt.Sprintf("Interval: too soon: the 4-day grace period does not apply after an invalid dose; dose %d needs %s after %s (%s); given %s", w.target, st.e.durs[w.dur.text], w.ref, w.date, d.date)
	case rLiveVirus:
		return fmt.Sprintf("Live virus conflict: given %s, too close to the live vaccine %s of %s (not before %s)", d.date, st.e.cvxName[max(w.cvx, 0)], w.ref, w.date)
	case rNotAllowed:
		return fmt.Sprintf("Not a preferable or allowable vaccine: %s (CVX %d) for dose %d of %s at this age", name, d.cvx, w.target, r.s.name)
	}
	return ""
}

type forecastWhy uint8

const (
	fwDue forecastWhy = iota
	fwComplete
	fwSkipped
	fwMaxAge
	fwTooLate
	fwSeasonOver
	fwNoDate
)

// forecastReason renders the series forecast reason (only for selected
// series, so the text is built once per antigen).
func (r *run) forecastReason() string {
	switch r.fwhy {
	case fwComplete:
		return "series complete"
	case fwSkipped:
		return "remaining doses are not needed"
	case fwMaxAge:
		return "patient is past the maximum age (" + (r.latest + 1).String() + ") for dose " + strconv.Itoa(r.fdose)
	case fwSeasonOver:
		return "dose " + strconv.Itoa(r.fdose) + " of " + r.s.name + " is due, but the season's recommendation ended " + r.latest.String()
	case fwNoDate:
		return "dose " + strconv.Itoa(r.fdose) + " of " + r.s.name + " has no minimum age or interval that dates it, so the series cannot be finished"
	case fwTooLate:
		return "dose " + strconv.Itoa(r.fdose) + " can no longer be given before the maximum age (" + (r.latest + 1).String() + ")"
	}
	if r.fdose >= 1 && r.fdose <= len(r.s.dueReasons) {
		return r.s.dueReasons[r.fdose-1]
	}
	return "dose " + strconv.Itoa(r.fdose) + " of " + r.s.name + " is due"
}
