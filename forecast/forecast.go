package forecast

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Forecast evaluates the patient's doses and forecasts every vaccine group
// with at least one relevant patient series, as of the assessment date.
// Dates are taken as calendar days (time of day and zone ignored). Doses
// without a date are ignored; unknown CVX codes count for no antigen.
// It is pure: the same input always gives the same Result (a zero
// assessment date means today, the one input read from the clock).
func (e *Engine) Forecast(p Patient, doses []Dose, assessment time.Time) Result {
	st := state{e: e, dob: DateOf(p.DOB), asOf: DateOf(assessment), gender: p.Gender.mask()}
	st.dobY, st.dobM, st.dobD = st.dob.Civil()
	if st.asOf == NoDate {
		st.asOf = DateOf(time.Now())
	}
	for _, o := range p.Observations {
		n, ok := code(o.Code)
		if !ok || n >= maxObs {
			continue
		}
		st.obs.add(n)
		st.obsList = append(st.obsList, n)
		if d := DateOf(o.Date); d != NoDate {
			st.obsAt = append(st.obsAt, obsDate{n, d})
		}
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.reset()
	if cap(sc.outcomes) < len(e.antigens) {
		sc.outcomes = make([]antigenOutcome, 0, len(e.antigens))
	}
	st.sc = sc
	st.doses = sc.doses[:0]
	for i, d := range doses {
		dd := DateOf(d.Date)
		if dd == NoDate {
			continue
		}
		c, ok := code(d.CVX)
		if !ok || c >= maxCVX {
			c = -1
		}
		mvx := d.MVX
		if mvx != "" {
			mvx = strings.ToUpper(strings.TrimSpace(mvx))
		}
		st.doses = append(st.doses, pdose{date: dd, cvx: c, mvx: mvx, sub: d.Condition != ConditionNone, idx: i})
	}
	sc.doses = st.doses
	sortDoses(st.doses)
	st.organize()

	var res Result
	antRes := grow(&sc.outPtrs, len(e.antigens))
	var given cvxSet
	for _, d := range st.doses {
		if d.cvx >= 0 {
			given.add(d.cvx)
		}
	}
	for ai, a := range e.antigens {
		if a.twin >= 0 && !intersects(&given, &a.twinDiffer) && slices.Equal(st.antigenDoses[ai], st.antigenDoses[a.twin]) {
			antRes[ai] = st.twinOutcome(a, antRes[a.twin])
			continue
		}
		antRes[ai] = st.antigen(ai)
	}
	nAnt, nEval := 0, 0
	for _, o := range antRes {
		if o != nil {
			nAnt++
			nEval += len(o.best.ad)
		}
	}
	res.Groups = make([]GroupForecast, 0, len(e.groups))
	res.Antigens = make([]AntigenForecast, 0, nAnt)
	res.Evaluations = make([]Evaluation, 0, nEval)
	// One backing array for every group's dose verdicts.
	doseBuf := make([]GroupDose, 0, nEval)
	for _, g := range e.groups {
		gf, ok := st.group(g, antRes, doseBuf[len(doseBuf):len(doseBuf)])
		if !ok {
			continue
		}
		gf.Doses = gf.Doses[:len(gf.Doses):len(gf.Doses)] // callers' appends must not reach the next group
		doseBuf = doseBuf[:len(doseBuf)+len(gf.Doses)]
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
			af.Earliest, af.Recommended, af.PastDue, af.Latest = o.best.earliest, o.best.rec, o.best.past, o.best.latest
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
	runs   []*run // every series run
	status SeriesStatus
	reason string
}

func intersects(a, b *cvxSet) bool {
	for i := range a {
		if a[i]&b[i] != 0 {
			return true
		}
	}
	return false
}

// twinOutcome is antigen a's outcome from its twin's (see antigen.twin):
// the twin's runs, each under a's series of the same place.
func (st *state) twinOutcome(a *antigen, o *antigenOutcome) *antigenOutcome {
	if o == nil {
		return nil
	}
	t := st.e.antigens[a.twin]
	sc := st.sc
	start := len(sc.runPtrs)
	for _, r := range o.runs {
		c := sc.newRun(st.e.nSeries, *r)
		c.s = a.series[slices.Index(t.series, r.s)]
		sc.runPtrs = append(sc.runPtrs, c)
	}
	runs := sc.runPtrs[start:len(sc.runPtrs):len(sc.runPtrs)]
	bests := grow(&sc.bestPtrs, len(o.bests))
	for i, b := range o.bests {
		bests[i] = runs[slices.Index(o.runs, b)]
	}
	return st.outcome(a, runs[slices.Index(o.runs, o.best)], bests, runs)
}

// antigen evaluates and forecasts every relevant series of an antigen and
// selects the best one. It returns nil if no series is relevant.
func (st *state) antigen(ai int) *antigenOutcome {
	a := st.e.antigens[ai]
	sc := st.sc
	ad := st.antigenDoses[ai]
	start := len(sc.runPtrs)
	var relBuf [32]bool
	rel := relBuf[:0]
	for _, s := range a.series {
		rel = append(rel, st.relevant(s))
	}
	for i, s := range a.series {
		if !rel[i] {
			continue
		}
		// Without doses a group's eligible default series is always the
		// one selected: its sibling series need not be run.
		if len(ad) == 0 && !s.isDefault && st.groupDefault(a.series, rel, i) {
			continue
		}
		// A product series with a dose of a vaccine it never accepts can
		// never be selected while its group has a series open to any product.
		if s.product && !st.acceptsAll(s, ad) && openSibling(a.series, rel, i) {
			continue
		}
		// A series the patient is too young to have begun can only be
		// selected as its group's default.
		if !s.isDefault && st.tooYoungToStart(s) && st.groupDefault(a.series, rel, i) {
			continue
		}
		r := sc.newRun(st.e.nSeries, run{s: s, ad: ad, st: grow(&sc.stats, len(ad)), why: grow(&sc.reasons, len(ad)),
			tgt: grow(&sc.tgts, len(ad)), sat: grow(&sc.ints, len(s.doses))})
		for i := range r.sat {
			r.sat[i] = satNone
		}
		sc.runPtrs = append(sc.runPtrs, r)
	}
	runs := sc.runPtrs[start:len(sc.runPtrs):len(sc.runPtrs)]
	if len(runs) == 0 {
		return nil
	}
	// groupComplete reports whether a series of group g was complete
	// before ref (a dose date, or the assessment date when forecasting).
	groupComplete := func(g int, ref Date) bool {
		for _, r := range runs {
			if r.s.group == g && r.complete && len(r.ad) > 0 && (r.lastVal < ref || ref == st.asOf && r.lastVal <= ref) {
				return true
			}
		}
		return false
	}
	for _, r := range runs {
		st.evaluate(r, groupComplete)
		st.forecastRun(r, groupComplete)
	}
	best, bests := st.selectBest(runs, len(st.e.groups[a.vaccineGroupIdx].antigens) > 1)
	return st.outcome(a, best, bests, runs)
}

// outcome completes the antigen's outcome from its selected series:
// evidence of immunity and contraindications.
func (st *state) outcome(a *antigen, best *run, bests, runs []*run) *antigenOutcome {
	sc := st.sc
	sc.outcomes = append(sc.outcomes, antigenOutcome{best: best, bests: bests, runs: runs, status: best.status, reason: best.forecastReason()})
	out := &sc.outcomes[len(sc.outcomes)-1]
	if why, ok := st.immune(a); ok {
		out.status, out.reason = Immune, why
	} else if why, ok := st.contraindicated(a); ok {
		out.status, out.reason = Contraindicated, why
	} else if best.status == NotComplete {
		st.vaccineContraindications(a, out)
	}
	return out
}

// vaccineContraindications applies vaccine-level contraindications to the
// forecast dose: the antigen is contraindicated when every preferable and
// allowable vaccine of the dose is; otherwise the reason names the
// preferable vaccines to avoid.
func (st *state) vaccineContraindications(a *antigen, out *antigenOutcome) {
	r := out.best
	if r.fdose < 1 || r.fdose > len(r.s.doses) {
		return
	}
	sd := &r.s.doses[r.fdose-1]
	var bad cvxSet
	var titles []string
	for _, c := range a.vaccineContra {
		if !st.obs.has(c.code) {
			continue
		}
		hit := false
		for _, v := range c.cvx {
			if st.inAgeRange(st.asOf, v.begin, v.end) {
				bad.add(v.cvx)
				hit = true
			}
		}
		if hit {
			titles = append(titles, c.title)
		}
	}
	if len(titles) == 0 || len(sd.preferable) == 0 {
		return
	}
	var avoid []string
	all := true
	for _, v := range sd.preferable {
		if bad.has(v.cvx) {
			avoid = append(avoid, v.name)
		} else {
			all = false
		}
	}
	for _, v := range sd.allowable {
		if !bad.has(v.cvx) {
			all = false
		}
	}
	if len(avoid) == 0 {
		return
	}
	if all {
		out.status = Contraindicated
		out.reason = "contraindicated: every vaccine for dose " + strconv.Itoa(r.fdose) + " is contraindicated (" + strings.Join(titles, "; ") + ")"
		return
	}
	out.reason += "; do not use " + strings.Join(avoid, ", ") + " (" + strings.Join(titles, "; ") + ")"
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
	if len(st.obsList) == 0 {
		return false
	}
	for _, in := range s.indications {
		if st.obs.has(in.code) && st.inAgeRange(st.asOf, in.begin, in.end) {
			return true
		}
	}
	// A patient indicated but still younger than the indication's begin
	// age is placed in the series (to start on time) when no other series
	// of the antigen covers that indication at the patient's age now.
	for _, in := range s.indications {
		if !st.obs.has(in.code) || !in.begin.Set || st.asOf >= st.age(in.begin) {
			continue
		}
		covered := false
		for _, o := range st.e.antigens[s.antigen].series {
			if o == s || o.typ != seriesRisk {
				continue
			}
			for _, oi := range o.indications {
				if oi.code == in.code && st.inAgeRange(st.asOf, oi.begin, oi.end) {
					covered = true
				}
			}
		}
		if !covered {
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
func (st *state) forecastRun(r *run, groupComplete func(int, Date) bool) {
	s := r.s
	if r.complete {
		r.status, r.fwhy = Complete, fwComplete
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
			r.status, r.fwhy, r.latest = AgedOut, fwMaxAge, f.latest
			return
		}
		if !f.anchored {
			// Nothing dates the dose (spec table 7-9: the candidate
			// earliest date is then 12/31/2999, never before the maximum
			// age date): the patient cannot finish the series.
			r.status, r.fwhy, r.latest = AgedOut, fwNoDate, f.latest
			return
		}
		if f.latest != NoDate && f.earliest > f.latest {
			r.status, r.fwhy, r.latest = AgedOut, fwTooLate, f.latest
			return
		}
		r.status = NotComplete
		if sd.seasonEnd != NoDate && st.asOf > sd.seasonEnd {
			// Past the season: still not complete, but nothing to forecast
			// until the supporting data carry the next season.
			r.fwhy, r.latest = fwSeasonOver, sd.seasonEnd
			return
		}
		r.earliest, r.rec, r.past, r.latest = f.earliest, f.rec, f.past, f.latest
		r.fwhy = fwDue
		return
	}
	r.status, r.fwhy = Complete, fwSkipped
}

type fdates struct {
	earliest, rec, past, latest Date
	intervalEarliest            Date // earliest date from intervals alone
	agedOut                     bool
	// anchored is set when some rule dates the dose (FORECASTDTCAN-1: a
	// minimum age, a minimum interval from a dose given, a live-virus
	// conflict, a season start, an inadvertent dose); without one the
	// dose has no candidate earliest date.
	anchored bool
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
			f.earliest = st.age(minAge)
			f.anchored = true
		}
		if age.earliestRec.Set {
			f.rec = st.age(age.earliestRec)
		}
		if age.latestRec.Set {
			f.past = st.age(age.latestRec) - 1
		}
		if age.max.Set {
			mx := st.age(age.max)
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
			f.earliest = maxD(f.earliest, ref.add(min))
			f.intervalEarliest = maxD(f.intervalEarliest, ref.add(min))
			f.anchored = true
		}
		if iv.earliestRec.Set {
			recInt = maxD(recInt, ref.add(iv.earliestRec))
		}
		if iv.latestRec.Set {
			pastInt = maxD(pastInt, ref.add(iv.latestRec)-1)
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
	// Live-virus conflicts for the live vaccine this dose would be given as.
	if sd.liveCVX >= 0 {
		cs, from := st.e.live[sd.liveCVX], &st.e.liveFrom[sd.liveCVX]
		for j := range st.doses {
			p := &st.doses[j]
			if p.sub || p.date > st.asOf || !from.has(p.cvx) {
				continue
			}
			for ci := range cs {
				if cs[ci].prev == p.cvx {
					f.earliest = maxD(f.earliest, p.date.add(cs[ci].end))
					f.anchored = true
				}
			}
		}
	}
	if sd.seasonStart != NoDate {
		f.earliest = maxD(f.earliest, sd.seasonStart)
		f.anchored = true
	}
	// A repeat of an inadvertently given vaccine is not forecast before
	// the day of that dose.
	for k := len(r.ad) - 1; k >= 0; k-- {
		if r.st[k] == NotValid && r.why[k].code == rInadvertent {
			f.earliest = maxD(f.earliest, st.doses[r.ad[k]].date)
			f.anchored = true
			break
		}
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

// contains reports whether v is in s.
func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// tooYoungToStart reports whether no dose given up to the assessment date
// can count for the series: its first dose cannot be skipped and its
// absolute minimum age lies after the assessment date.
func (st *state) tooYoungToStart(s *series) bool {
	if len(s.doses) == 0 || len(s.doses[0].skips) > 0 || len(s.doses[0].ages) != 1 {
		return false
	}
	age := &s.doses[0].ages[0]
	min := age.absMin
	if !min.Set {
		min = age.min
	}
	return min.Set && st.age(min) > st.asOf
}

// organize assigns each dose to the antigens its CVX maps to at the
// patient's age on the day it was given (spec chapter 5), into
// st.antigenDoses (scratch memory).
func (st *state) organize() {
	e, sc := st.e, st.sc
	st.antigenDoses = grow(&sc.intSlices, len(e.antigens))
	counts := grow(&sc.ints, len(e.antigens))
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			for ai, n := range counts {
				st.antigenDoses[ai] = grow(&sc.ints, n)[:0]
			}
		}
		for j := range st.doses {
			c := st.doses[j].cvx
			if c < 0 {
				continue
			}
			for _, as := range e.cvxAntigens[c] {
				if !st.inAgeRange(st.doses[j].date, as.begin, as.end) {
					continue
				}
				if pass == 0 {
					counts[as.antigen]++
				} else if !contains(st.antigenDoses[as.antigen], j) {
					st.antigenDoses[as.antigen] = append(st.antigenDoses[as.antigen], j)
				}
			}
		}
	}
}
