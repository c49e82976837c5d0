package forecast

// Patient series selection (CDSi logic specification chapter 8).

// selectBest picks the patient series for the antigen (spec chapter 8):
// one prioritized series per series group, then one across groups. multi
// tells whether the antigen's vaccine group classifies several antigens.
func (st *state) selectBest(runs []*run, multi bool) (*run, []*run) {
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
	// complete), decides the antigen over the standard schedule. In a
	// vaccine group of several antigens, though, a complete risk series
	// does not end a standard series group that is not equivalent to its
	// own: both are best patient series (spec table 8-14) and the group is
	// not complete while one of them is not (table 9-4), e.g. an MMR dose
	// given at 6 months for travel still leaves the 2-dose series due
	// (CDC case 2016-UC-0093). A single-antigen group takes one series'
	// status (SINGLEANTVG-1): HepA given at 9 months for travel completes
	// the risk 1-dose series (CDC case 2024-UC-0012).
	riskLive, stdStarted := false, false
	for _, b := range bests {
		if b.s.typ != seriesRisk && b.valid > 0 {
			stdStarted = true
		}
	}
	for _, b := range bests {
		if b.s.typ != seriesRisk || b.status != NotComplete && b.status != Complete || b.valid == 0 && stdStarted {
			continue
		}
		if multi && b.status == Complete && !equivalentStandard(b, bests) {
			continue
		}
		riskLive = true
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
	if s.typ == seriesEvaluationOnly && !r.done() {
		return false
	}
	return true
}

// selectInGroup selects the best series of a series group (spec chapter
// 8): the default series when nothing valid was given, else the one
// startable series, else the highest score among the candidates that
// are complete, else in process, else not started.
func (st *state) selectInGroup(group []*run) *run {
	anyValid := anyValidDose(group)
	if !anyValid {
		if r := st.startableDefault(group); r != nil {
			return r
		}
	}
	var cBuf [24]*run
	c := st.startableSeries(group, anyValid, cBuf[:0])
	switch len(c) {
	case 0:
		return nil
	case 1:
		return c[0]
	}
	var vBuf [24]*run
	c = preferValid(c, vBuf[:0])
	var compBuf, inBuf [24]*run
	complete, inproc := byProgress(c, compBuf[:0], inBuf[:0])
	var scoreBuf [24]int
	var pool []*run
	var score []int
	switch {
	case len(complete) > 0:
		pool = topPriority(complete)
		score = scoreComplete(pool, scoreBuf[:0])
	case len(inproc) > 0:
		pool = topPriority(inproc)
		score = st.scoreInProcess(pool, scoreBuf[:0])
	default:
		if r := defaultSeries(c); r != nil {
			return r
		}
		var liveBuf [24]*run
		pool = notStartedPool(c, liveBuf[:0])
		score = st.scoreNotStarted(pool, scoreBuf[:0])
	}
	return pool[bestScore(pool, score)]
}

// anyValidDose reports whether any series of the group has a valid dose.
func anyValidDose(group []*run) bool {
	anyValid := false
	for _, r := range group {
		if r.valid > 0 {
			anyValid = true
		}
	}
	return anyValid
}

// startableDefault returns, for a group with no valid doses anywhere, the
// default series if the group has one the patient is old enough to start
// (otherwise nil: the preferred series the patient can start is chosen).
func (st *state) startableDefault(group []*run) *run {
	for _, r := range group {
		if r.s.isDefault && (!r.s.minStart.Set || st.asOf >= st.age(r.s.minStart)-4) {
			return r
		}
	}
	return nil
}

// startableSeries appends to c the series of the group that can be
// started; when none of them is under way but the group has valid
// doses, those that can be started with the minimum start age relaxed.
func (st *state) startableSeries(group []*run, anyValid bool, c []*run) []*run {
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
	return c
}

// preferValid returns the candidates of the highest priority among those
// with valid doses (gathered in withValid), or c if none has any.
func preferValid(c, withValid []*run) []*run {
	for _, r := range c {
		if r.valid > 0 {
			withValid = append(withValid, r)
		}
	}
	if len(withValid) > 0 {
		return topPriority(withValid)
	}
	return c
}

// byProgress appends the complete candidates to complete and those in
// process (with valid doses) to inproc.
func byProgress(c, complete, inproc []*run) ([]*run, []*run) {
	for _, r := range c {
		if r.done() {
			complete = append(complete, r)
		} else if r.valid > 0 {
			inproc = append(inproc, r)
		}
	}
	return complete, inproc
}

// scoreComplete appends to score the points of each complete series of
// pool: +1 for the most valid doses, +1 for a product series.
func scoreComplete(pool []*run, score []int) []int {
	mostValid := 0
	for _, r := range pool {
		if r.valid > mostValid {
			mostValid = r.valid
		}
	}
	for _, r := range pool {
		sc := 0
		if r.valid == mostValid {
			sc++
		}
		if r.s.product {
			sc++
		}
		score = append(score, sc)
	}
	return score
}

// scoreInProcess appends to score the points of each in-process series of
// pool: +1 for a product series with all doses valid, +1 for the most
// valid doses, +1 for the fewest doses left, +1 for finishing earliest,
// -2 when aged out.
func (st *state) scoreInProcess(pool []*run, score []int) []int {
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
	for i, r := range pool {
		sc := 0
		// A product series scores only while all its doses are
		// valid (spec table 8-13); one with a dose that is not
		// valid stays a candidate (CDC case 2018-0017).
		if r.s.product && r.allValid() {
			sc++
		}
		if r.valid == mostValid {
			sc++
		}

		if len(r.s.doses)-r.next == fewestLeft {
			sc++
		}
		if fin[i] != NoDate && fin[i] == soonest {
			sc++ // can finish earliest
		}
		if r.status == AgedOut {
			sc -= 2
		}
		score = append(score, sc)
	}
	return score
}

// defaultSeries returns the default series among the candidates, if any.
func defaultSeries(c []*run) *run {
	for _, r := range c {
		if r.s.isDefault {
			return r
		}
	}
	return nil
}

// notStartedPool returns the series to score when nothing was given yet.
// Only the series of the highest priority are scored (SELECTSCORE-2),
// among those the patient can still finish (gathered in live): an
// aged-out series does not outrank a lower-priority one that can be given
// (CDC cases 2016-UC-0128, -0198).
func notStartedPool(c, live []*run) []*run {
	for _, r := range c {
		if r.status != AgedOut {
			live = append(live, r)
		}
	}
	if len(live) > 0 {
		return topPriority(live)
	}
	return c
}

// scoreNotStarted appends to score the points of each not-started series
// of pool (spec table 8-11): +1 for the one series that can start
// earliest (0 when tied, -1 otherwise), +1 if completable (-1 if not), -1
// for a product series (+1 otherwise).
func (st *state) scoreNotStarted(pool []*run, score []int) []int {
	soonest, nSoonest := Date(maxDate), 0
	for _, r := range pool {
		if r.status != NotComplete {
			continue
		}
		switch {
		case r.earliest < soonest:
			soonest, nSoonest = r.earliest, 1
		case r.earliest == soonest:
			nSoonest++
		}
	}
	for _, r := range pool {
		sc := 0
		switch {
		case r.status == NotComplete && r.earliest == soonest && nSoonest == 1:
			sc++
		case r.status == NotComplete && r.earliest == soonest:
		default:
			sc--
		}
		if st.completable(r) {
			sc++
		} else {
			sc--
		}
		if r.s.product {
			sc--
		} else {
			sc++
		}
		score = append(score, sc)
	}
	return score
}

// bestScore returns the index in pool of the highest score; ties go to a
// series whose valid doses were all preferable vaccines, then to the
// lowest series preference.
func bestScore(pool []*run, score []int) int {
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
	return bi
}

// better orders best series of different series groups: one under way
// before one not started, a risk series the patient is indicated for
// before a standard one, then series priority (A before B), then the
// earliest forecast date.
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

// equivalentStandard reports whether a best series of a standard series
// group is in a group that b's series group names as equivalent.
func equivalentStandard(b *run, bests []*run) bool {
	for _, o := range bests {
		if o.s.typ == seriesRisk {
			continue
		}
		for _, g := range b.s.equivalent {
			if g == o.s.group {
				return true
			}
		}
	}
	return false
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
				e = maxD(e, ref.add(min))
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

// completable reports whether the series can be finished before the
// maximum age of its last target dose (SELECTB-3).
func (st *state) completable(r *run) bool {
	f := st.finish(r)
	if f == NoDate {
		return false
	}
	last := &r.s.doses[len(r.s.doses)-1]
	if age := pickAge(last.ages, st.asOf); age != nil && age.max.Set {
		return f < st.age(age.max)
	}
	return true
}

// allValid reports whether every dose the series evaluated is valid.
func (r *run) allValid() bool {
	for k := range r.ad {
		if r.st[k] != Valid {
			return false
		}
	}
	return true
}
