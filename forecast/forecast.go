package forecast

import (
	"fmt"
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
	// Antigen doses: each dose goes to the antigens its CVX maps to at the
	// patient's age on the day it was given.
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

	var res Result
	antRes := grow(&sc.outPtrs, len(e.antigens))
	for ai := range e.antigens {
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
	for _, g := range e.groups {
		gf, ok := st.group(g, antRes)
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
		r := sc.newRun(st.e.nSeries)
		r.s, r.ad = s, ad
		r.st = grow(&sc.stats, len(ad))
		r.why = grow(&sc.reasons, len(ad))
		r.tgt = grow(&sc.tgts, len(ad))
		r.sat = grow(&sc.ints, len(s.doses))
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
	best, bests := st.selectBest(runs)
	sc.outcomes = append(sc.outcomes, antigenOutcome{best: best, bests: bests, status: best.status, reason: best.forecastReason()})
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
		if f.latest != NoDate && f.earliest > f.latest {
			r.status, r.fwhy, r.latest = AgedOut, fwTooLate, f.latest
			return
		}
		r.status = NotComplete
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
	// A repeat of an inadvertently given vaccine is not forecast before
	// the day of that dose.
	for k := len(r.ad) - 1; k >= 0; k-- {
		if r.st[k] == NotValid && r.why[k].code == rInadvertent {
			f.earliest = maxD(f.earliest, st.doses[r.ad[k]].date)
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

// selectBest picks the patient series for the antigen (spec chapter 8):
// one prioritized series per series group, then one across groups.
func (st *state) selectBest(runs []*run) (*run, []*run) {
	ng := 0
	for i := range runs {
		if i == 0 || runs[i].s.group != runs[i-1].s.group {
			ng++
		}
	}
	bests := grow(&st.sc.bestPtrs, ng)[:0]
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
	// An indicated risk series, once the patient is in it (not complete or
	// complete), decides the antigen over the standard schedule.
	riskLive, stdStarted := false, false
	for _, b := range bests {
		if b.s.typ != seriesRisk && b.valid > 0 {
			stdStarted = true
		}
	}
	for _, b := range bests {
		if b.s.typ == seriesRisk && (b.status == NotComplete || b.status == Complete) && (b.valid > 0 || !stdStarted) {
			riskLive = true
		}
	}
	all := bests
	if riskLive {
		var buf [8]*run
		k := buf[:0]
		for _, b := range bests {
			if b.s.typ == seriesRisk {
				k = append(k, b)
			}
		}
		bests = k
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
		return pick, all
	}
	for _, b := range bests {
		if b.status == Complete && (pick == nil || better(b, pick)) {
			pick = b
		}
	}
	if pick != nil {
		return pick, all
	}
	for _, b := range bests {
		if satisfied(b) {
			return b, all
		}
	}
	return bests[0], all
}

func (st *state) startable(r *run, relaxMin bool) bool {
	s := r.s
	start := st.asOf
	if r.valid > 0 {
		start = r.firstVal
	}
	// The minimum age to start gates starting a series. A completed series
	// counts even if it was begun younger; so does one under way when no
	// other series of the group is (relaxMin). Like CDSi's absolute minimum
	// ages, the start age allows a 4-day grace period.
	if s.minStart.Set && start < st.age(s.minStart)-4 && (r.valid == 0 || !relaxMin && !r.done()) {
		return false
	}
	if s.maxStart.Set && start >= st.age(s.maxStart) {
		return false
	}
	if s.product {
		// A product series applies only when every dose so far fits it.
		for k := range r.ad {
			if r.st[k] == NotValid {
				return false
			}
		}
	}
	if s.typ == seriesEvaluationOnly && !r.done() {
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
			if r.s.isDefault && (!r.s.minStart.Set || st.asOf >= st.age(r.s.minStart)-4) {
				return r
			}
		}
	}
	var cBuf [24]*run
	c := cBuf[:0]
	started := false
	for _, r := range group {
		if st.startable(r, false) {
			c = append(c, r)
			started = started || r.valid > 0
		}
	}
	if !started && anyValid {
		c = c[:0]
		for _, r := range group {
			if st.startable(r, true) {
				c = append(c, r)
			}
		}
	}
	switch len(c) {
	case 0:
		return nil
	case 1:
		return c[0]
	}
	var vBuf [24]*run
	withValid := vBuf[:0]
	for _, r := range c {
		if r.valid > 0 {
			withValid = append(withValid, r)
		}
	}
	if len(withValid) > 0 {
		c = topPriority(withValid)
	}
	var compBuf, inBuf [24]*run
	complete, inproc := compBuf[:0], inBuf[:0]
	for _, r := range c {
		if r.done() {
			complete = append(complete, r)
		} else if r.valid > 0 {
			inproc = append(inproc, r)
		}
	}
	var scoreBuf [24]int
	score := scoreBuf[:0]
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
		var finBuf [24]Date
		fin := finBuf[:0]
		for _, r := range pool {
			if r.valid > mostValid {
				mostValid = r.valid
			}
			if left := len(r.s.doses) - r.next; left < fewestLeft {
				fewestLeft = left
			}
			f := st.finish(r)
			fin = append(fin, f)
			if f != NoDate {
				soonest = minD(soonest, f)
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
			if fin[len(score)] != NoDate && fin[len(score)] == soonest {
				sc++ // can finish earliest
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
		// Nothing given yet: the series whose indication fits the patient's
		// present age most closely (latest begin age reached), then the
		// one that can start earliest (never before today).
		pool = c
		soonest, fit := Date(maxDate), NoDate
		for _, r := range pool {
			if r.status == NotComplete {
				soonest = minD(soonest, maxD(r.earliest, st.asOf))
			}
			fit = maxD(fit, st.indicationAge(r.s))
		}
		for _, r := range pool {
			sc := 0
			if r.status == NotComplete && maxD(r.earliest, st.asOf) == soonest {
				sc++
			}
			if st.indicationAge(r.s) == fit {
				sc += 2
			}
			if r.s.product {
				sc-- // no product chosen yet: prefer a series open to any product
			}
			if r.status == AgedOut {
				sc -= 2
			}
			score = append(score, sc)
		}
	}
	// Highest score; ties go to a series whose valid doses were all
	// preferable vaccines, then to the lowest series preference.
	bi := 0
	for i := 1; i < len(pool); i++ {
		if score[i] != score[bi] {
			if score[i] > score[bi] {
				bi = i
			}
			continue
		}
		pi, pb := pool[i].allPreferable(), pool[bi].allPreferable()
		if pi != pb {
			if pi {
				bi = i
			}
			continue
		}
		if pool[i].s.preference < pool[bi].s.preference {
			bi = i
		}
	}
	return pool[bi]
}

// group rolls antigen outcomes up to a vaccine group (spec chapter 9).
func (st *state) group(g *vaccineGroup, ants []*antigenOutcome) (GroupForecast, bool) {
	gf := GroupForecast{VaccineGroup: g.name}
	var presentBuf [4]*antigenOutcome
	present := presentBuf[:0]
	nd := 0
	for _, ai := range g.antigens {
		if o := ants[ai]; o != nil {
			nd += len(o.best.ad)
		}
	}
	gf.Antigens = make([]string, 0, len(g.antigens))
	if nd > 0 {
		gf.Doses = make([]GroupDose, 0, nd)
	}
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
	case count(NotComplete) > 0:
		gf.Status = NotComplete
	case count(Contraindicated) > 0:
		gf.Status = Contraindicated
	case count(Complete)+count(Immune) == len(present):
		gf.Status = Complete
	case count(AgedOut) > 0:
		gf.Status = AgedOut
	default:
		gf.Status = NotRecommended
	}
	var reasonBuf [4]string
	reasons := reasonBuf[:0]
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
		// Nothing is forecast before the latest dose already given in the
		// group (e.g. a DT given as DTaP dose 5 still leaves pertussis due).
		for _, o := range present {
			if n := len(o.best.ad); n > 0 {
				e = maxD(e, st.doses[o.best.ad[n-1]].date)
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
	gf.Reason = joinUnique(reasons)

	// Dose verdicts rolled up across the group's antigens.
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
					if b != r && b.done() && b.st[k] == Valid {
						status, why = Valid, ""
						break
					}
				}
			}
			pos := -1
			for i := range gf.Doses {
				if gf.Doses[i].Dose == d {
					pos = i
					break
				}
			}
			if pos < 0 {
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

// joinUnique joins distinct strings with "; ".
func joinUnique(ss []string) string {
	switch len(ss) {
	case 0:
		return ""
	case 1:
		return ss[0]
	}
	var b strings.Builder
	for i, s := range ss {
		dup := false
		for _, p := range ss[:i] {
			if p == s {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
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

// better orders best series of different series groups: one under way
// before one not started, a risk series the patient is indicated for
// before a standard one, then
// series priority (A before B), then the earliest forecast date.
func better(a, b *run) bool {
	if (a.valid > 0) != (b.valid > 0) {
		return a.valid > 0 // a series under way before one not started
	}
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
	out := c[:0]
	for _, r := range c {
		if r.s.priority == top {
			out = append(out, r)
		}
	}
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

type forecastWhy uint8

const (
	fwDue forecastWhy = iota
	fwComplete
	fwSkipped
	fwMaxAge
	fwTooLate
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
		return fmt.Sprintf("patient is past the maximum age (%s) for dose %d", r.latest+1, r.fdose)
	case fwTooLate:
		return fmt.Sprintf("dose %d can no longer be given before the maximum age (%s)", r.fdose, r.latest+1)
	}
	return "dose " + strconv.Itoa(r.fdose) + " of " + r.s.name + " is due"
}

// done reports whether the series needs no more doses: every target dose
// is satisfied, or the remaining ones are skipped.
func (r *run) done() bool { return r.complete || r.status == Complete }

// groupDefault reports whether the series group of series[i] has a default
// series relevant to the patient and old enough to start.
func (st *state) groupDefault(series []*series, rel []bool, i int) bool {
	g := series[i].group
	for j, s := range series {
		if s.group == g && s.isDefault && rel[j] && (!s.minStart.Set || st.asOf >= st.age(s.minStart)-4) {
			return true
		}
	}
	return false
}

// allPreferable reports whether every valid dose was a preferable vaccine.
func (r *run) allPreferable() bool {
	for k := range r.ad {
		if r.st[k] == Valid && r.why[k].allowable {
			return false
		}
	}
	return true
}

// finish projects the date the series could be completed: each remaining
// target dose at its earliest date after the one before (minimum ages and
// intervals), skipping doses whose forecast skip conditions then hold.
func (st *state) finish(r *run) Date {
	if r.status != NotComplete {
		return NoDate
	}
	s := r.s
	var projBuf [16]Date
	proj := projBuf[:0]
	for range s.doses {
		proj = append(proj, NoDate)
	}
	prev := r.earliest
	proj[r.fdose-1] = prev
	for td := r.fdose; td < len(s.doses); td++ {
		sd := &s.doses[td]
		if sd.recurring {
			break
		}
		e := prev
		if age := pickAge(sd.ages, st.asOf); age != nil {
			min := age.min
			if !min.Set {
				min = age.absMin
			}
			if min.Set {
				e = maxD(e, st.age(min))
			}
		}
		for i := range sd.intervals {
			iv := &sd.intervals[i]
			min := iv.min
			if !min.Set {
				min = iv.absMin
			}
			if !min.Set {
				continue
			}
			var ref Date
			switch {
			case iv.fromPrevious:
				ref = prev
			case iv.fromTarget > 0 && iv.fromTarget <= len(proj):
				ref = proj[iv.fromTarget-1]
				if t := iv.fromTarget - 1; ref == NoDate && r.sat[t] >= 0 {
					ref = st.doses[r.ad[r.sat[t]]].date
				}
			}
			if ref != NoDate {
				e = maxD(e, ref.Add(min))
			}
		}
		if st.skip(r, sd, true, e, len(r.ad), prev, nil) {
			continue
		}
		proj[td] = e
		prev = e
	}
	return prev
}

// indicationAge is the date the patient reached the latest begin age among
// the series' indications that apply now (the DOB for a standard series).
func (st *state) indicationAge(s *series) Date {
	best := st.dob
	for _, in := range s.indications {
		if st.obs.has(in.code) && in.begin.Set {
			if d := st.age(in.begin); d <= st.asOf && d > best {
				best = d
			}
		}
	}
	return best
}

// acceptsAll reports whether every dose (except sub-standard ones) is of a
// vaccine the series accepts for some dose.
func (st *state) acceptsAll(s *series, ad []int) bool {
	for _, di := range ad {
		if d := &st.doses[di]; !d.sub && !s.vaccines.has(d.cvx) {
			return false
		}
	}
	return true
}

// openSibling reports whether series[i]'s group has a relevant series that
// is not a product series.
func openSibling(series []*series, rel []bool, i int) bool {
	for j, s := range series {
		if rel[j] && s.group == series[i].group && !s.product {
			return true
		}
	}
	return false
}
