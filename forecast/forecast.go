package forecast

import (
	"fmt"
	"strings"
	"time"
)

// Forecast evaluates the patient's doses and forecasts every vaccine group
// with at least one relevant patient series, as of the assessment date.
// It is pure: the same input always gives the same Result.
func (e *Engine) Forecast(p Patient, doses []Dose, assessment time.Time) Result {
	st := state{e: e, dob: DateOf(p.DOB), asOf: DateOf(assessment), gender: p.Gender.mask()}
	if st.asOf == NoDate {
		st.asOf = DateOf(time.Now())
	}
	for _, o := range p.Observations {
		n, ok := code(o.Code)
		if !ok || n >= maxObs {
			continue
		}
		st.obs.add(n)
		if d := DateOf(o.Date); d != NoDate {
			st.obsAt = append(st.obsAt, obsDate{n, d})
		}
	}
	st.doses = make([]pdose, 0, len(doses))
	for i, d := range doses {
		dd := DateOf(d.Date)
		if dd == NoDate {
			continue
		}
		c, ok := code(d.CVX)
		if !ok || c >= maxCVX {
			c = -1
		}
		st.doses = append(st.doses, pdose{date: dd, cvx: c, mvx: strings.ToUpper(strings.TrimSpace(d.MVX)),
			sub: d.Condition != ConditionNone, idx: i})
	}
	sortDoses(st.doses)

	var res Result
	antRes := make([]*antigenOutcome, len(e.antigens))
	for ai := range e.antigens {
		antRes[ai] = st.antigen(ai)
	}
	for gi, g := range e.groups {
		gf, ok := st.group(g, antRes)
		_ = gi
		if !ok {
			continue
		}
		res.Groups = append(res.Groups, gf)
	}
	for ai, o := range antRes {
		if o == nil {
			continue
		}
		a := e.antigens[ai]
		af := AntigenForecast{Antigen: a.name, VaccineGroup: e.groups[a.vaccineGroupIdx].name, Series: o.best.s.name,
			Status: o.status, DoseNumber: o.best.fdose, Reason: o.reason}
		if o.status == NotComplete {
			af.Earliest, af.Recommended, af.PastDue, af.Latest = o.best.earliest.Time(), o.best.rec.Time(), o.best.past.Time(), o.best.latest.Time()
		}
		res.Antigens = append(res.Antigens, af)
		r := o.best
		for k, di := range r.ad {
			ev := Evaluation{Dose: st.doses[di].idx, Antigen: a.name, Series: r.s.name, TargetDose: int(r.tgt[k]) + 1,
				Status: r.st[k], Reason: st.reasonText(r, k)}
			res.Evaluations = append(res.Evaluations, ev)
		}
	}
	return res
}

type antigenOutcome struct {
	best   *run
	bests  []*run // best series of each series group
	status SeriesStatus
	reason string
}

// antigen evaluates and forecasts every relevant series of an antigen and
// selects the best one. It returns nil if no series is relevant.
func (st *state) antigen(ai int) *antigenOutcome {
	a := st.e.antigens[ai]
	var ad []int
	for j := range st.doses {
		c := st.doses[j].cvx
		if c < 0 {
			continue
		}
		for _, as := range st.e.cvxAntigens[c] {
			if as.antigen == ai && st.inAgeRange(st.doses[j].date, as.begin, as.end) {
				ad = append(ad, j)
				break
			}
		}
	}
	var runs []*run
	for _, s := range a.series {
		if !st.relevant(s) {
			continue
		}
		r := &run{s: s, ad: ad, st: make([]EvalStatus, len(ad)), why: make([]reason, len(ad)), tgt: make([]int8, len(ad)),
			sat: make([]int, len(s.doses))}
		for i := range r.sat {
			r.sat[i] = satNone
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return nil
	}
	groupComplete := func(g int) bool {
		for _, r := range runs {
			if r.s.group == g && r.complete && r.ad != nil {
				return true
			}
		}
		return false
	}
	for _, r := range runs {
		st.evaluate(r, groupComplete)
		st.forecastRun(r, groupComplete)
	}
	best, bests := st.selectBest(runs)
	out := &antigenOutcome{best: best, bests: bests, status: best.status, reason: best.freason}
	if why, ok := st.immune(a); ok {
		out.status, out.reason = Immune, why
	} else if why, ok := st.contraindicated(a); ok {
		out.status, out.reason = Contraindicated, why
	}
	return out
}

// relevant reports whether a series applies to the patient: gender, and
// for risk series an indicating observation at the assessment date.
func (st *state) relevant(s *series) bool {
	if s.gender != 0 && s.gender&st.gender == 0 {
		return false
	}
	if s.typ != seriesRisk {
		return true
	}
	for _, in := range s.indications {
		if st.obs.has(in.code) && st.inAgeRange(st.asOf, in.begin, in.end) {
			return true
		}
	}
	return false
}

func (st *state) immune(a *antigen) (string, bool) {
	for _, c := range a.immunityCodes {
		if st.obs.has(c) {
			return fmt.Sprintf("evidence of immunity: %s", st.e.obsTitle[c]), true
		}
	}
	for _, im := range a.immunityDOB {
		if st.dob >= im.before {
			continue
		}
		excluded := false
		for _, x := range im.exclusions {
			if st.obs.has(x) {
				excluded = true
			}
		}
		if !excluded {
			return fmt.Sprintf("evidence of immunity: born before %s", im.before), true
		}
	}
	return "", false
}

func (st *state) contraindicated(a *antigen) (string, bool) {
	for _, c := range a.groupContra {
		if st.obs.has(c.code) && st.inAgeRange(st.asOf, c.begin, c.end) {
			return "contraindicated: " + c.title, true
		}
	}
	return "", false
}

// forecastRun decides whether the series needs another dose and computes
// its forecast dates (spec chapter 7). A target dose is skipped in the
// forecast context when its skip conditions hold on the later of the
// assessment date and the dose's own earliest date.
func (st *state) forecastRun(r *run, groupComplete func(int) bool) {
	s := r.s
	if r.complete {
		r.status, r.freason = Complete, "series complete"
		return
	}
	var prevDate Date
	if r.prev >= 0 {
		prevDate = st.doses[r.ad[r.prev]].date
	}
	for td := r.next; td < len(s.doses); td++ {
		sd := &s.doses[td]
		f := st.dates(r, sd)
		ref := st.asOf
		if f.intervalEarliest > ref {
			ref = f.intervalEarliest
		}
		if st.skip(r, sd, true, ref, len(r.ad), prevDate, groupComplete) {
			continue
		}
		r.fdose = td + 1
		if f.agedOut {
			r.status, r.freason = AgedOut, fmt.Sprintf("patient is past the maximum age (%s) for dose %d", f.latest+1, td+1)
			return
		}
		if f.latest != NoDate && f.earliest > f.latest {
			r.status, r.freason = AgedOut, fmt.Sprintf("dose %d can no longer be given before the maximum age (%s)", td+1, f.latest+1)
			return
		}
		r.status = NotComplete
		r.earliest, r.rec, r.past, r.latest = f.earliest, f.rec, f.past, f.latest
		r.freason = fmt.Sprintf("dose %d of %s is due", td+1, s.name)
		return
	}
	r.status, r.freason = Complete, "remaining doses are not needed"
}

type fdates struct {
	earliest, rec, past, latest Date
	intervalEarliest            Date // earliest date from intervals alone
	agedOut                     bool
}

// dates computes the forecast dates of target dose sd.
func (st *state) dates(r *run, sd *seriesDose) fdates {
	var f fdates
	var recInt, pastInt Date
	f.earliest = st.dob
	if age := pickAge(sd.ages, st.asOf); age != nil {
		minAge := age.min
		if !minAge.Set {
			minAge = age.absMin
		}
		if minAge.Set {
			f.earliest = st.dob.Add(minAge)
		}
		if age.earliestRec.Set {
			f.rec = st.dob.Add(age.earliestRec)
		}
		if age.latestRec.Set {
			f.past = st.dob.Add(age.latestRec) - 1
		}
		if age.max.Set {
			mx := st.dob.Add(age.max)
			f.latest = mx - 1
			if st.asOf >= mx {
				f.agedOut = true
			}
		}
	}
	for i := range sd.intervals {
		iv := &sd.intervals[i]
		if !inWindow(st.asOf, iv.eff, iv.cess) {
			continue
		}
		ref := st.refDate(r, iv, st.asOf, true)
		if ref == NoDate {
			continue
		}
		min := iv.min
		if !min.Set {
			min = iv.absMin
		}
		if min.Set {
			f.earliest = maxD(f.earliest, ref.Add(min))
			f.intervalEarliest = maxD(f.intervalEarliest, ref.Add(min))
		}
		if iv.earliestRec.Set {
			recInt = maxD(recInt, ref.Add(iv.earliestRec))
		}
		if iv.latestRec.Set {
			pastInt = maxD(pastInt, ref.Add(iv.latestRec)-1)
		}
	}
	// The age-based recommended and past-due dates win; interval-based
	// ones apply only when the dose has no recommended age.
	if f.rec == NoDate {
		f.rec = recInt
	}
	if f.past == NoDate {
		f.past = pastInt
	}
	// Live-virus conflicts for the vaccines this dose would be given as.
	for i := range sd.preferable {
		cs := st.e.live[sd.preferable[i].cvx]
		if len(cs) == 0 {
			continue
		}
		for j := range st.doses {
			p := &st.doses[j]
			if p.sub || p.date > st.asOf {
				continue
			}
			for ci := range cs {
				if cs[ci].prev == p.cvx {
					f.earliest = maxD(f.earliest, p.date.Add(cs[ci].end))
				}
			}
		}
		break
	}
	if sd.seasonStart != NoDate {
		f.earliest = maxD(f.earliest, sd.seasonStart)
	}
	if f.rec == NoDate || f.rec < f.earliest {
		f.rec = f.earliest
	}
	if f.past != NoDate && f.past < f.rec {
		f.past = f.rec
	}
	return f
}

func maxD(a, b Date) Date {
	if a == NoDate || b > a {
		return b
	}
	return a
}

func minD(a, b Date) Date {
	if a == NoDate || (b != NoDate && b < a) {
		return b
	}
	return a
}

// selectBest picks the patient series for the antigen (spec chapter 8):
// one prioritized series per series group, then one across groups.
func (st *state) selectBest(runs []*run) (*run, []*run) {
	var bests []*run
	for i := 0; i < len(runs); {
		j := i
		for j < len(runs) && runs[j].s.group == runs[i].s.group {
			j++
		}
		if b := st.selectInGroup(runs[i:j]); b != nil {
			bests = append(bests, b)
		}
		i = j
	}
	if len(bests) == 0 {
		// Nothing passed the pre-filter: fall back to the first default
		// (or first) series so the antigen still reports.
		for _, r := range runs {
			if r.s.isDefault {
				return r, bests
			}
		}
		return runs[0], bests
	}
	satisfied := func(b *run) bool {
		if b.status == Complete {
			return true
		}
		// A series is also satisfied when a group it names as equivalent
		// has a complete best series.
		for _, g := range b.s.equivalent {
			for _, o := range bests {
				if o.s.group == g && o.status == Complete {
					return true
				}
			}
		}
		return false
	}
	var pick *run
	for _, b := range bests {
		if b.status != NotComplete || satisfied(b) {
			continue
		}
		if pick == nil || better(b, pick) {
			pick = b
		}
	}
	if pick != nil {
		return pick, bests
	}
	for _, b := range bests {
		if b.status == Complete && (pick == nil || better(b, pick)) {
			pick = b
		}
	}
	if pick != nil {
		return pick, bests
	}
	for _, b := range bests {
		if satisfied(b) {
			return b, bests
		}
	}
	return bests[0], bests
}

func (st *state) startable(r *run) bool {
	s := r.s
	start := st.asOf
	if r.valid > 0 {
		start = r.firstVal
		if r.complete {
			return true // a completed series counts whenever it was started
		}
	}
	if s.minStart.Set && start < st.dob.Add(s.minStart) {
		return false
	}
	if s.maxStart.Set && start >= st.dob.Add(s.maxStart) {
		return false
	}
	if s.product {
		// A product series applies only when every dose so far fits it.
		if r.valid == 0 {
			return false
		}
		for k := range r.ad {
			if r.st[k] == NotValid && r.why[k].code == rNotAllowed {
				return false
			}
		}
	}
	if s.typ == seriesEvaluationOnly && !r.complete {
		return false
	}
	return true
}

func (st *state) selectInGroup(group []*run) *run {
	anyValid := false
	for _, r := range group {
		if r.valid > 0 {
			anyValid = true
		}
	}
	if !anyValid {
		// No valid doses anywhere in the group: the default series, if the
		// group has one the patient is old enough to start; otherwise the
		// preferred series the patient can start.
		for _, r := range group {
			if r.s.isDefault && (!r.s.minStart.Set || st.asOf >= st.dob.Add(r.s.minStart)) {
				return r
			}
		}
	}
	var c []*run
	for _, r := range group {
		if st.startable(r) {
			c = append(c, r)
		}
	}
	switch len(c) {
	case 0:
		return nil
	case 1:
		return c[0]
	}
	var withValid []*run
	for _, r := range c {
		if r.valid > 0 {
			withValid = append(withValid, r)
		}
	}
	if len(withValid) > 0 {
		c = topPriority(withValid)
	}
	var complete, inproc []*run
	for _, r := range c {
		if r.complete {
			complete = append(complete, r)
		} else if r.valid > 0 {
			inproc = append(inproc, r)
		}
	}
	score := make([]int, 0, len(c))
	var pool []*run
	switch {
	case len(complete) > 0:
		pool = topPriority(complete)
		mostValid, earliestDone := 0, Date(maxDate)
		for _, r := range pool {
			if r.valid > mostValid {
				mostValid = r.valid
			}
			earliestDone = minD(earliestDone, r.lastVal)
		}
		for _, r := range pool {
			sc := 0
			if r.valid == mostValid {
				sc++
			}
			if r.s.product {
				sc++
			}
			_ = earliestDone
			score = append(score, sc)
		}
	case len(inproc) > 0:
		pool = topPriority(inproc)
		mostValid, fewestLeft, soonest := 0, 1<<30, Date(maxDate)
		for _, r := range pool {
			if r.valid > mostValid {
				mostValid = r.valid
			}
			if left := len(r.s.doses) - r.next; left < fewestLeft {
				fewestLeft = left
			}
			if r.status == NotComplete {
				soonest = minD(soonest, r.earliest)
			}
		}
		for _, r := range pool {
			sc := 0
			if r.s.product {
				sc++
			}
			if r.valid == mostValid {
				sc++
			}
			if len(r.s.doses)-r.next == fewestLeft {
				sc++
			}
			if r.status == NotComplete && r.earliest == soonest {
				sc++
			}
			if r.status == AgedOut {
				sc -= 2
			}
			score = append(score, sc)
		}
	default:
		for _, r := range c {
			if r.s.isDefault {
				return r
			}
		}
		pool = topPriority(c)
		soonest := Date(maxDate)
		for _, r := range pool {
			if r.status == NotComplete {
				soonest = minD(soonest, r.earliest)
			}
		}
		for _, r := range pool {
			sc := 0
			if r.status == NotComplete && r.earliest == soonest {
				sc++
			}
			if r.status == AgedOut {
				sc -= 2
			}
			score = append(score, sc)
		}
	}
	bi := 0
	for i := 1; i < len(pool); i++ {
		if score[i] > score[bi] || score[i] == score[bi] && pool[i].s.preference < pool[bi].s.preference {
			bi = i
		}
	}
	return pool[bi]
}

// group rolls antigen outcomes up to a vaccine group (spec chapter 9).
func (st *state) group(g *vaccineGroup, ants []*antigenOutcome) (GroupForecast, bool) {
	gf := GroupForecast{VaccineGroup: g.name}
	var present []*antigenOutcome
	for _, ai := range g.antigens {
		if o := ants[ai]; o != nil {
			present = append(present, o)
			gf.Antigens = append(gf.Antigens, st.e.antigens[ai].name)
		}
	}
	if len(present) == 0 {
		return gf, false
	}
	count := func(s SeriesStatus) int {
		n := 0
		for _, o := range present {
			if o.status == s {
				n++
			}
		}
		return n
	}
	switch {
	case count(Immune) == len(present):
		gf.Status = Immune
	case count(Contraindicated) > 0:
		gf.Status = Contraindicated
	case count(NotComplete) > 0:
		gf.Status = NotComplete
	case count(Complete)+count(Immune) == len(present):
		gf.Status = Complete
	case count(AgedOut) > 0:
		gf.Status = AgedOut
	default:
		gf.Status = NotRecommended
	}
	var reasons []string
	if gf.Status == NotComplete {
		var e, r, p, l Date
		first := true
		for _, o := range present {
			if o.status != NotComplete {
				continue
			}
			b := o.best
			if first {
				e, r, p, l = b.earliest, b.rec, b.past, b.latest
				gf.DoseNumber = b.fdose
				first = false
				continue
			}
			if g.full {
				// The whole group is given together: no earlier than every
				// antigen allows, recommended and past due with the most
				// pressing antigen.
				e, r, p = maxD(e, b.earliest), minD(r, b.rec), minD(p, b.past)
				l = minD(l, b.latest)
			} else {
				if b.earliest < e {
					gf.DoseNumber = b.fdose
				}
				e, r, p = minD(e, b.earliest), minD(r, b.rec), minD(p, b.past)
				l = maxD(l, b.latest)
			}
		}
		if r < e {
			r = e
		}
		if p != NoDate && p < r {
			p = r
		}
		gf.Earliest, gf.Recommended, gf.PastDue, gf.Latest = e.Time(), r.Time(), p.Time(), l.Time()
	}
	for _, o := range present {
		if o.reason != "" {
			reasons = append(reasons, o.reason)
		}
	}
	gf.Reason = strings.Join(dedupe(reasons), "; ")

	// Dose verdicts rolled up across the group's antigens.
	idx := map[int]int{}
	for gi, ai := range g.antigens {
		o := ants[ai]
		if o == nil {
			continue
		}
		_ = gi
		r := o.best
		for k, di := range r.ad {
			d := st.doses[di].idx
			status, why := r.st[k], st.reasonText(r, k)
			if status != Valid {
				// A dose that counts in the best series of another series
				// group (e.g. a PCV dose of a completed childhood series when
				// a risk series is being forecast) is reported valid.
				for _, b := range o.bests {
					if b != r && b.complete && b.st[k] == Valid {
						status, why = Valid, ""
						break
					}
				}
			}
			pos, ok := idx[d]
			if !ok {
				pos = len(gf.Doses)
				idx[d] = pos
				gf.Doses = append(gf.Doses, GroupDose{Dose: d, Status: status, Reason: why})
				continue
			}
			cur := &gf.Doses[pos]
			if rank(status) > rank(cur.Status) {
				cur.Status, cur.Reason = status, why
			}
		}
	}
	sortGroupDoses(gf.Doses)
	return gf, true
}

func rank(s EvalStatus) int {
	switch s {
	case NotValid:
		return 3
	case SubStandard:
		return 2
	case Valid:
		return 1
	}
	return 0 // Extraneous
}

func sortGroupDoses(ds []GroupDose) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].Dose < ds[j-1].Dose; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

func dedupe(ss []string) []string {
	out := ss[:0]
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// reasonText renders a dose verdict in a clinician's words.
func (st *state) reasonText(r *run, k int) string {
	w := r.why[k]
	d := st.doses[r.ad[k]]
	name := st.e.cvxName[max(d.cvx, 0)]
	switch w.code {
	case rSubStandard:
		return "Sub standard: the dose was expired, subpotent or recalled"
	case rSeriesComplete:
		return "Series already complete: extra dose not needed for " + r.s.name
	case rInadvertent:
		return fmt.Sprintf("Inadvertent vaccine: %s is not given for dose %d of %s", name, w.target, r.s.name)
	case rTooYoung:
		return fmt.Sprintf("Age: too young: dose %d needs age %s (on or after %s); given %s", w.target, w.dur, w.date, d.date)
	case rTooYoungGrace:
		return fmt.Sprintf("Age: too young: the 4-day grace period does not apply after an invalid dose; dose %d needs age %s (%s); given %s", w.target, w.dur, w.date, d.date)
	case rTooOld:
		return fmt.Sprintf("Age: too old: dose %d must be given before age %s (%s); given %s", w.target, w.dur, w.date, d.date)
	case rTooSoon:
		return fmt.Sprintf("Interval: too soon: dose %d needs %s after the dose of %s (on or after %s); given %s", w.target, w.dur, w.ref, w.date, d.date)
	case rTooSoonGrace:
		return fmt.Sprintf("Interval: too soon: the 4-day grace period does not apply after an invalid dose; dose %d needs %s after %s (%s); given %s", w.target, w.dur, w.ref, w.date, d.date)
	case rLiveVirus:
		return fmt.Sprintf("Live virus conflict: given %s, too close to the live vaccine %s of %s (not before %s)", d.date, st.e.cvxName[max(w.cvx, 0)], w.ref, w.date)
	case rNotAllowed:
		return fmt.Sprintf("Not a preferable or allowable vaccine: %s (CVX %d) for dose %d of %s at this age", name, d.cvx, w.target, r.s.name)
	}
	return ""
}

// better orders not-complete best series of different series groups: a
// risk series the patient is indicated for before a standard one, then
// series priority (A before B), then the earliest forecast date.
func better(a, b *run) bool {
	ar, br := a.s.typ == seriesRisk, b.s.typ == seriesRisk
	if ar != br {
		return ar
	}
	if a.s.priority != b.s.priority {
		return a.s.priority < b.s.priority
	}
	return a.earliest < b.earliest
}

// topPriority keeps the series of the highest series priority (A before B
// before C): priority ranks the indications within a series group.
func topPriority(c []*run) []*run {
	top := c[0].s.priority
	for _, r := range c {
		if r.s.priority < top {
			top = r.s.priority
		}
	}
	out := make([]*run, 0, len(c))
	for _, r := range c {
		if r.s.priority == top {
			out = append(out, r)
		}
	}
	return out
}
