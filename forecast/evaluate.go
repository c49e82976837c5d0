package forecast

// pdose is an administered dose in the engine's working form.
type pdose struct {
	date Date
	cvx  int // -1 when unknown
	mvx  string
	sub  bool
	idx  int // index in the caller's slice
}

type obsDate struct {
	code int
	date Date
}

// state is the per-call working data of one Forecast. It is never shared.
type state struct {
	e                *Engine
	dob              Date
	asOf             Date
	gender           genderMask
	obs              obsSet
	obsAt            []obsDate
	obsList          []int   // observation codes present (none for most patients)
	doses            []pdose // sorted by date
	sc               *scratch
	dobY, dobM, dobD int
	// antigenDoses lists, per antigen, the indexes in doses of the doses
	// that count for it.
	antigenDoses [][]int
	// ages caches ageMonths by months (0 marks an empty slot: age 0
	// months is never looked up).
	ages [32]struct {
		months int32
		date   Date
	}
}

type reasonCode uint8

const (
	rNone reasonCode = iota
	rSubStandard
	rSeriesComplete
	rInadvertent
	rTooYoung
	rTooYoungGrace
	rTooOld
	rTooSoon
	rTooSoonGrace
	rLiveVirus
	rNotAllowed
)

// reason is a compact verdict reason; text is rendered only for the
// selected series (see reasonText).
type reason struct {
	code   reasonCode
	date   Date // limiting date (minimum age date, interval date, conflict end)
	dur    span // the rule's age or interval
	target int  // 1-based target dose
	cvx    int  // conflicting vaccine for live-virus conflicts
	ref    Date // reference dose date for intervals / conflicts
	// allowable marks a valid dose given as an allowable, not a
	// preferable, vaccine.
	allowable bool
}

// run is one patient series being evaluated and forecast.
type run struct {
	s        *series
	ad       []int // antigen doses: indexes into state.doses
	st       []EvalStatus
	why      []reason
	tgt      []int8
	sat      []int // per target dose: position in ad that satisfied it, -1 none, -2 skipped
	next     int   // first target dose not satisfied
	complete bool
	valid    int
	firstVal Date
	lastVal  Date
	prev     int // position in ad of the last dose usable as "previous dose"
	tgtIndex int // target dose being evaluated (0-based)

	status   SeriesStatus
	fdose    int
	earliest Date
	rec      Date
	past     Date
	latest   Date
	fwhy     forecastWhy
}

const (
	satNone    = -1
	satSkipped = -2
)

func inWindow(d, eff, cess Date) bool {
	return (eff == NoDate || d >= eff) && (cess == NoDate || d < cess)
}

func pickAge(ages []ageRule, d Date) *ageRule {
	for i := range ages {
		if inWindow(d, ages[i].eff, ages[i].cess) {
			return &ages[i]
		}
	}
	return nil
}

// age returns the date the patient reaches age p (DOB + p, CDSi rules),
// using the DOB's calendar fields computed once per forecast.
func (st *state) age(p span) Date {
	if !p.Set || st.dob == NoDate {
		return NoDate
	}
	if p.Months == 0 {
		return st.dob + Date(p.Days)
	}
	slot := &st.ages[uint32(p.Months)%uint32(len(st.ages))]
	if slot.months != p.Months {
		slot.months, slot.date = p.Months, st.ageMonths(int(p.Months))
	}
	return slot.date + Date(p.Days)
}

// ageMonths is the date the patient is the given number of calendar
// months old.
func (st *state) ageMonths(months int) Date {
	total := st.dobY*12 + (st.dobM - 1) + months
	y, m := total/12, total%12+1
	if total < 0 && total%12 != 0 {
		y--
		m += 12
	}
	day := st.dobD
	if day > daysIn(y, m) {
		day = 1
		m++
		if m > 12 {
			m = 1
			y++
		}
	}
	return MakeDate(y, m, day)
}

// inAgeRange reports dob+begin <= d < dob+end, open where unset.
func (st *state) inAgeRange(d Date, begin, end span) bool {
	if begin.Set && d < st.age(begin) {
		return false
	}
	if end.Set && d >= st.age(end) {
		return false
	}
	return true
}

// sortDoses orders doses by date, keeping input order for equal dates.
func sortDoses(ds []pdose) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].date < ds[j-1].date; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// evaluate runs the CDSi evaluation of every antigen dose against the
// series' target doses (logic spec chapter 6).
func (st *state) evaluate(r *run, groupComplete func(int, Date) bool) {
	s := r.s
	n := len(s.doses)
	td := 0
	r.prev = -1
	for k, di := range r.ad {
		d := &st.doses[di]
		r.tgt[k] = -1
		if d.sub {
			r.st[k] = SubStandard
			r.why[k] = reason{code: rSubStandard}
			continue
		}
		var prevDate Date
		if r.prev >= 0 {
			prevDate = st.doses[r.ad[r.prev]].date
		}
		for td < n && st.skip(r, &s.doses[td], false, d.date, k, prevDate, groupComplete) {
			r.sat[td] = satSkipped
			td++
		}
		if td >= n {
			r.st[k] = Extraneous
			r.why[k] = reason{code: rSeriesComplete}
			continue
		}
		sd := &s.doses[td]
		r.tgt[k] = int8(td)
		r.tgtIndex = td
		status, why := st.evalDose(r, sd, k, d)
		why.target = td + 1
		r.st[k], r.why[k] = status, why
		switch {
		case status == Valid:
			r.sat[td] = k
			r.valid++
			if r.firstVal == NoDate {
				r.firstVal = d.date
			}
			r.lastVal = d.date
			if !sd.recurring {
				td++
			}
			r.prev = k
		case status == NotValid && why.code != rInadvertent:
			r.prev = k
		}
	}
	r.next = td
	r.complete = td >= n
}

func (st *state) prevBad(r *run) bool {
	if r.prev < 0 || r.st[r.prev] != NotValid {
		return false
	}
	switch r.why[r.prev].code {
	case rTooYoung, rTooYoungGrace, rTooSoon, rTooSoonGrace:
		return true
	}
	return false
}

// evalDose checks one dose against one target dose: inadvertent vaccine,
// age, preferable and allowable intervals, live-virus conflicts, and
// preferable/allowable vaccine (spec 6.3-6.9).
func (st *state) evalDose(r *run, sd *seriesDose, k int, d *pdose) (EvalStatus, reason) {
	if sd.inadvertent.has(d.cvx) {
		return NotValid, reason{code: rInadvertent, cvx: d.cvx}
	}
	if age := pickAge(sd.ages, d.date); age != nil {
		absMin := age.absMin
		if !absMin.Set {
			absMin = age.min
		}
		if absMin.Set {
			if lim := st.age(absMin); d.date < lim {
				return NotValid, reason{code: rTooYoung, date: lim, dur: absMin}
			}
			if age.min.Set {
				if lim := st.age(age.min); d.date < lim && r.tgtIndex > 0 && st.prevBad(r) {
					return NotValid, reason{code: rTooYoungGrace, date: lim, dur: age.min}
				}
			}
		}
		if age.max.Set {
			if lim := st.age(age.max); d.date >= lim {
				return Extraneous, reason{code: rTooOld, date: lim, dur: age.max}
			}
		}
	}
	// Preferable intervals, then allowable intervals if those fail.
	var fail reason
	failed := false
	for i := range sd.intervals {
		iv := &sd.intervals[i]
		if !inWindow(d.date, iv.eff, iv.cess) {
			continue
		}
		ref := st.refDate(r, iv, d.date, false)
		if ref == NoDate {
			continue
		}
		absMin := iv.absMin
		if !absMin.Set {
			absMin = iv.min
		}
		if !absMin.Set {
			continue
		}
		if lim := ref.add(absMin); d.date < lim {
			if !failed || lim > fail.date {
				fail = reason{code: rTooSoon, date: lim, dur: absMin, ref: ref}
			}
			failed = true
		} else if iv.min.Set {
			if lim := ref.add(iv.min); d.date < lim && r.tgtIndex > 0 && st.prevBad(r) {
				if !failed {
					fail = reason{code: rTooSoonGrace, date: lim, dur: iv.min, ref: ref}
				}
				failed = true
			}
		}
	}
	if failed && len(sd.allowInts) > 0 {
		ok, any := true, false
		for i := range sd.allowInts {
			iv := &sd.allowInts[i]
			if !inWindow(d.date, iv.eff, iv.cess) {
				continue
			}
			ref := st.refDate(r, iv, d.date, false)
			if ref == NoDate || !iv.absMin.Set {
				continue
			}
			any = true
			if d.date < ref.add(iv.absMin) {
				ok = false
			}
		}
		if any && ok {
			failed = false
		}
	}
	if failed {
		return NotValid, fail
	}
	// Live virus conflicts with any earlier dose of the patient.
	if d.cvx >= 0 && len(st.e.live[d.cvx]) > 0 {
		cs, from := st.e.live[d.cvx], &st.e.liveFrom[d.cvx]
		for j := range st.doses {
			p := &st.doses[j]
			if p.date >= d.date {
				break
			}
			if p.sub || !from.has(p.cvx) {
				continue
			}
			for ci := range cs {
				c := &cs[ci]
				if c.prev != p.cvx {
					continue
				}
				end := c.minEnd
				if !st.validIn(r, j) {
					end = c.end
				}
				b, e := p.date.add(c.begin), p.date.add(end)
				if d.date >= b && d.date < e {
					return NotValid, reason{code: rLiveVirus, date: e, ref: p.date, cvx: p.cvx}
				}
			}
		}
	}
	// Preferable, then allowable vaccine.
	for i := range sd.preferable {
		v := &sd.preferable[i]
		if v.cvx == d.cvx && st.inAgeRange(d.date, v.begin, v.end) && (v.mvx == "" || d.mvx == "" || v.mvx == d.mvx) {
			return Valid, reason{}
		}
	}
	for i := range sd.allowable {
		v := &sd.allowable[i]
		if v.cvx == d.cvx && st.inAgeRange(d.date, v.begin, v.end) {
			return Valid, reason{allowable: true}
		}
	}
	return NotValid, reason{code: rNotAllowed, cvx: d.cvx}
}

// validIn reports whether patient dose j counts as valid for a live-virus
// conflict: if it belongs to this run's antigen, its status here; otherwise
// it is presumed valid.
func (st *state) validIn(r *run, j int) bool {
	for k, di := range r.ad {
		if di == j {
			return r.st[k] == Valid
		}
	}
	return true
}

// refDate finds the reference date of an interval: previous dose, a given
// target dose, the most recent dose of given vaccines, or an observation.
// at is the date being evaluated (a dose's date, or the assessment date
// when forecasting, in which case doses on that date count).
func (st *state) refDate(r *run, iv *intervalRule, at Date, forecasting bool) Date {
	switch {
	case iv.fromPrevious:
		if r.prev >= 0 {
			return st.doses[r.ad[r.prev]].date
		}
		return NoDate
	case iv.fromTarget > 0:
		t := iv.fromTarget - 1
		if t < len(r.sat) && r.sat[t] >= 0 {
			return st.doses[r.ad[r.sat[t]]].date
		}
		return NoDate
	case iv.hasMostRecent:
		var best Date
		for j := range st.doses {
			p := &st.doses[j]
			if p.date > at || (!forecasting && p.date == at) {
				break
			}
			if !p.sub && iv.fromMostRecent.has(p.cvx) {
				best = p.date
			}
		}
		return best
	case iv.fromObs > 0:
		for _, o := range st.obsAt {
			if o.code == iv.fromObs {
				return o.date
			}
		}
	}
	return NoDate
}

// skip evaluates the conditional-skip rules of a target dose for the
// evaluation (forecast=false; ref is the dose date, k its position) or
// forecast context (ref is the assessment date, k = len(ad)).
func (st *state) skip(r *run, sd *seriesDose, forecast bool, ref Date, k int, prevDate Date, groupComplete func(int, Date) bool) bool {
	for i := range sd.skips {
		sk := &sd.skips[i]
		if forecast && !sk.forecast || !forecast && !sk.evaluation {
			continue
		}
		met := sk.and
		for j := range sk.sets {
			v := st.setMet(r, &sk.sets[j], ref, k, prevDate, groupComplete)
			if sk.and {
				met = met && v
			} else {
				met = met || v
			}
		}
		if len(sk.sets) > 0 && met {
			return true
		}
	}
	return false
}

func (st *state) setMet(r *run, set *skipSet, ref Date, k int, prevDate Date, groupComplete func(int, Date) bool) bool {
	if !inWindow(ref, set.eff, set.cess) || len(set.conds) == 0 {
		return false
	}
	for i := range set.conds {
		v := st.condMet(r, &set.conds[i], ref, k, prevDate, groupComplete)
		if set.or && v {
			return true
		}
		if !set.or && !v {
			return false
		}
	}
	return !set.or
}

func (st *state) condMet(r *run, c *condition, ref Date, k int, prevDate Date, groupComplete func(int, Date) bool) bool {
	switch c.kind {
	case condAge:
		return st.inAgeRange(ref, c.beginAge, c.endAge)
	case condInterval:
		return prevDate != NoDate && c.interval.Set && ref >= prevDate.add(c.interval)
	case condCountByAge, condCountByDate, condCountByDateAndAge:
		n := 0
		for j := 0; j < k && j < len(r.ad); j++ {
			p := &st.doses[r.ad[j]]
			if p.sub || !c.anyCVX && !c.cvx.has(p.cvx) {
				continue
			}
			if c.validOnly && r.st[j] != Valid {
				continue
			}
			if c.kind != condCountByDate && !st.inAgeRange(p.date, c.beginAge, c.endAge) {
				continue
			}
			if c.kind != condCountByAge {
				if c.start != NoDate && p.date < c.start || c.end != NoDate && p.date >= c.end {
					continue
				}
			}
			n++
		}
		switch c.logic {
		case countEqual:
			return n == c.count
		case countLess:
			return n < c.count
		}
		return n > c.count
	case condCompletedSeries:
		for _, g := range c.groups {
			if groupComplete != nil && groupComplete(g, ref) {
				return true
			}
		}
	}
	return false
}
