package synth

import (
	"cmp"
	"slices"
	"strings"

	"github.com/iisproject/iis/match"
)

// RegistryMaxBlock is the registry's default MaxBlock: a blocking key
// shared by this many patients or more is skipped when looking for
// candidates.
const RegistryMaxBlock = 1000

// RegistryResult is the outcome of EvaluateRegistry: the population's
// reports clustered into patients as the registry clusters them, scored
// against the truth.
type RegistryResult struct {
	Records, Persons int
	Patients         int // patients created
	// PatientOf[i] is the patient report i joined, numbered from 0 in
	// creation order.
	PatientOf []int32

	// Outcome of each report, as the registry records it.
	Identifier, Match, Possible, New int

	Candidates    int // candidate patients scored, over all reports
	MaxCandidates int // most candidates of one report
	SkippedKeys   int // key look-ups skipped: the block had RegistryMaxBlock patients or more

	// The final clustering, pairwise over reports: TP pairs of reports of
	// one child in one patient, FP pairs of reports of two children in one
	// patient, of TruePairs pairs of reports of the same child.
	Pairs
	MixedPatients int // patients holding reports of two or more children (false merges)
	TwinMerges    int // twin pairs with reports in one patient
	SplitPersons  int // children whose reports are in two patients or more
	// WrongLinks counts reports linked to a patient that held no report of
	// their child; FalseLinks describes them.
	WrongLinks int
	FalseLinks []FalseLink

	// The review queue: one row per (new patient, candidate) of each
	// Possible report, at most five per report, as in match_reviews.
	ReviewRows, ReviewRowsTrue int
	// ReviewTP is TP once a person has resolved every review row
	// correctly: the rows whose candidate holds a report of the same child
	// "linked" (merging the two patients), the others "distinct".
	ReviewTP int

	// Misses are the reports that were not linked although a patient
	// already held a report of their child.
	Misses []Miss
}

// Miss is a report the registry did not link to a patient that already
// held a report of its child.
type Miss struct {
	Report int // index in Population.Records
	// Outcome is the report's outcome: "possible" or "new" (or "match"
	// for a report linked to another child's patient).
	Outcome string
	// Candidate reports whether a patient of the same child was among the
	// report's candidates; when false, blocking or the candidate filter
	// kept it away.
	Candidate bool
	// Applied lists the perturbations of this report and of the child's
	// earlier reports, sorted, each once.
	Applied []string
	// Best is the matcher's result against the child's patient that scores
	// highest.
	Best match.Result
}

// FalseLink is a report linked to a patient holding no report of its
// child.
type FalseLink struct {
	Report  int     // index in Population.Records
	Patient []int32 // the reports the patient held, indexes in Population.Records
	Result  match.Result
	Record  *match.Record // the patient's record the report was compared with
}

// ReviewRecall is Recall once every review row is resolved correctly.
func (r RegistryResult) ReviewRecall() float64 {
	if r.TruePairs == 0 {
		return 1
	}
	return float64(r.ReviewTP) / float64(r.TruePairs)
}

type regPatient struct {
	rec     *match.Record
	keys    []string
	reports []int32
}

type regCandidate struct {
	id    int32
	score float64
}

// EvaluateRegistry applies the population's reports one by one, in the
// population's order (Generate shuffles them with its seed: reports arrive
// in no particular order, a re-report often before the child's first
// report), the way registry.Store.ApplyBulk does when every report is in
// a transaction of its own:
//
//   - candidates are the patients sharing two of the report's blocking
//     keys, or one that is not a birth-date (D:) or surname-and-year (L:)
//     key; a key shared by RegistryMaxBlock patients or more is skipped.
//     A patient's keys are those of every report linked to it;
//   - candidates are compared in id (creation) order; a Match sharing an
//     identifier with the same named authority wins, otherwise the
//     best-scoring Match, the first on a tie: the report is linked and
//     the patient's record becomes match.Merge(record, report);
//   - otherwise PossibleMatch candidates give a new patient and review
//     rows for the five best; otherwise a new patient.
//
// This mirrors the registry's (unexported) decide; see
// registry/registry.go. A report linked within a batch of several is
// decided the same way, except that a block's size limit does not apply
// to the patients the batch created, which no block reaches here.
func EvaluateRegistry(m *match.Matcher, p *Population) RegistryResult {
	sim := newRegistrySim(m, p)
	for i, rec := range p.Records {
		sim.apply(i, rec)
	}
	res := sim.res
	res.Records = len(p.Records)
	res.Patients = len(sim.pats)
	res.PatientOf = sim.patOf
	res.Persons = len(sim.byPerson)
	for _, ps := range sim.byPerson {
		if len(ps) > 1 {
			res.SplitPersons++
		}
	}
	scoreClusters(p, sim.pats, &res)
	res.TruePairs = truePairs(p.Person)
	res.ReviewRows = len(sim.reviews)
	res.ReviewRowsTrue, res.ReviewTP = resolveReviews(p, sim.pats, sim.reviews, sim.patOf)
	return res
}

// registrySim is the registry as EvaluateRegistry builds it, report by
// report.
type registrySim struct {
	m        *match.Matcher
	p        *Population
	res      RegistryResult
	pats     []*regPatient
	index    map[string][]int32 // blocking key → patients, in creation order
	patOf    []int32
	byPerson map[int32][]int32 // child → patients holding its reports, in creation order
	reviews  [][2]int32        // (new patient, candidate)
	// Per-patient hit counts of the current report, reset through stamp.
	hits   []int32
	strong []bool
	stamp  []int32
}

func newRegistrySim(m *match.Matcher, p *Population) *registrySim {
	return &registrySim{m: m, p: p, index: map[string][]int32{}, patOf: make([]int32, len(p.Records)),
		byPerson: map[int32][]int32{}}
}

// apply applies report i: it finds the candidates, decides as the
// registry does, links the report or creates a patient, and keeps the
// score.
func (s *registrySim) apply(i int, rec *match.Record) {
	if !rec.Normalized() {
		match.Normalize(rec)
	}
	keys := slices.Compact(slices.Sorted(slices.Values(match.BlockingKeys(rec))))
	cands := s.candidates(i, keys)
	s.res.Candidates += len(cands)
	s.res.MaxCandidates = max(s.res.MaxCandidates, len(cands))
	best, identifier, possible := s.decide(rec, cands)
	s.checkLink(i, rec, best)
	var pid int32
	outcome := "new"
	switch {
	case best >= 0:
		outcome = "match"
		if identifier {
			s.res.Identifier++
		} else {
			s.res.Match++
		}
		pid = best
		s.link(pid, rec, keys)
	default:
		pid = s.create(rec, keys)
		if len(possible) > 0 {
			outcome = "possible"
			s.res.Possible++
			for _, c := range bestPossible(possible, 5) {
				s.reviews = append(s.reviews, [2]int32{pid, c.id})
			}
		} else {
			s.res.New++
		}
	}
	s.place(i, pid, outcome, cands)
}

// candidates returns the patients, in id order, that share with report i
// two of its blocking keys, or one that is not a birth-date (D:) or
// surname-and-year (L:) key; a key shared by RegistryMaxBlock patients or
// more is skipped.
func (s *registrySim) candidates(i int, keys []string) []int32 {
	var touched []int32
	for _, k := range keys {
		b := s.index[k]
		if len(b) >= RegistryMaxBlock {
			s.res.SkippedKeys++
			continue
		}
		for _, pid := range b {
			if s.stamp[pid] != int32(i+1) {
				s.stamp[pid], s.hits[pid], s.strong[pid] = int32(i+1), 0, false
				touched = append(touched, pid)
			}
			s.hits[pid]++
			if !strings.HasPrefix(k, "D:") && !strings.HasPrefix(k, "L:") {
				s.strong[pid] = true
			}
		}
	}
	var cands []int32
	for _, pid := range touched {
		if s.hits[pid] >= 2 || s.strong[pid] {
			cands = append(cands, pid)
		}
	}
	slices.Sort(cands)
	return cands
}

// decide chooses among the candidates as registry.Store.decide does: the
// patient to link (-1 for none), whether an identifier decided, and the
// candidates that are a PossibleMatch.
func (s *registrySim) decide(rec *match.Record, cands []int32) (best int32, identifier bool, possible []regCandidate) {
	crecs := make([]*match.Record, 0, len(cands))
	for _, pid := range cands {
		crecs = append(crecs, s.pats[pid].rec)
	}
	b, identifier := s.m.Choose(rec, crecs, func(k int, r match.Result) {
		if r.Outcome == match.PossibleMatch {
			possible = append(possible, regCandidate{cands[k], r.Score})
		}
	})
	if b < 0 {
		return -1, identifier, possible
	}
	return cands[b], identifier, possible
}

// checkLink counts report i as a wrong link when best, the patient it is
// linked to, holds no report of its child.
func (s *registrySim) checkLink(i int, rec *match.Record, best int32) {
	person := s.p.Person[i]
	if best < 0 || slices.ContainsFunc(s.pats[best].reports, func(r int32) bool { return s.p.Person[r] == person }) {
		return
	}
	s.res.WrongLinks++
	s.res.FalseLinks = append(s.res.FalseLinks, FalseLink{Report: i, Patient: slices.Clone(s.pats[best].reports),
		Result: s.m.Compare(rec, s.pats[best].rec), Record: s.pats[best].rec})
}

// link merges rec into patient pid, which gains the report's keys.
func (s *registrySim) link(pid int32, rec *match.Record, keys []string) {
	pt := s.pats[pid]
	pt.rec = match.Merge(pt.rec, rec)
	match.Normalize(pt.rec)
	for _, k := range keys {
		if !slices.Contains(pt.keys, k) {
			pt.keys = append(pt.keys, k)
			s.index[k] = append(s.index[k], pid)
		}
	}
}

// create makes a patient of rec and returns its id.
func (s *registrySim) create(rec *match.Record, keys []string) int32 {
	pid := int32(len(s.pats))
	s.pats = append(s.pats, &regPatient{rec: rec, keys: keys})
	s.hits, s.strong, s.stamp = append(s.hits, 0), append(s.strong, false), append(s.stamp, 0)
	for _, k := range keys {
		s.index[k] = append(s.index[k], pid)
	}
	return pid
}

// bestPossible returns the n best-scoring candidates, the lower id first
// on a tie: the review rows the registry writes. It sorts possible.
func bestPossible(possible []regCandidate, n int) []regCandidate {
	slices.SortFunc(possible, func(a, b regCandidate) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return possible[:min(len(possible), n)]
}

// place records that report i joined patient pid with the given outcome,
// and counts a miss when a patient of its child existed and is not pid.
func (s *registrySim) place(i int, pid int32, outcome string, cands []int32) {
	person := s.p.Person[i]
	mine := s.byPerson[person]
	if len(mine) > 0 && !slices.Contains(mine, pid) {
		s.res.Misses = append(s.res.Misses, miss(s.m, s.p, i, outcome, mine, cands, s.pats))
	}
	s.pats[pid].reports = append(s.pats[pid].reports, int32(i))
	s.patOf[i] = pid
	if !slices.Contains(mine, pid) {
		s.byPerson[person] = append(mine, pid)
	}
}

// scoreClusters scores the final patients against the truth, pairwise
// over their reports: TP, FP, MixedPatients and TwinMerges.
func scoreClusters(p *Population, pats []*regPatient, res *RegistryResult) {
	count := map[int32]int{}
	for _, pt := range pats {
		clear(count)
		for _, r := range pt.reports {
			count[p.Person[r]]++
		}
		n := len(pt.reports)
		same := 0
		for person, c := range count {
			same += c * (c - 1) / 2
			if t, ok := p.TwinOf[person]; ok && person < t && count[t] > 0 {
				res.TwinMerges++
			}
		}
		res.TP += same
		res.FP += n*(n-1)/2 - same
		if len(count) > 1 {
			res.MixedPatients++
		}
	}
}

// truePairs is the number of pairs of reports of the same child.
func truePairs(person []int32) int {
	perPerson := map[int32]int{}
	for _, p := range person {
		perPerson[p]++
	}
	n := 0
	for _, c := range perPerson {
		n += c * (c - 1) / 2
	}
	return n
}

// resolveReviews resolves the review queue as a person who is always
// right would: a row whose candidate holds a report of the new patient's
// child merges the two patients. It returns the number of such rows and
// the true pairs of reports in one patient afterwards.
func resolveReviews(p *Population, pats []*regPatient, reviews [][2]int32, patOf []int32) (rowsTrue, tp int) {
	parent := make([]int32, len(pats))
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, rv := range reviews {
		person := p.Person[pats[rv[0]].reports[0]]
		if slices.ContainsFunc(pats[rv[1]].reports, func(r int32) bool { return p.Person[r] == person }) {
			rowsTrue++
			parent[find(rv[0])] = find(rv[1])
		}
	}
	type group struct {
		person, root int32
	}
	groups := map[group]int{}
	for i, person := range p.Person {
		groups[group{person, find(patOf[i])}]++
	}
	for _, c := range groups {
		tp += c * (c - 1) / 2
	}
	return rowsTrue, tp
}

// miss describes report i, which did not join mine, the patients holding
// its child's earlier reports.
func miss(m *match.Matcher, p *Population, i int, outcome string, mine, cands []int32, pats []*regPatient) Miss {
	x := Miss{Report: i, Outcome: outcome}
	applied := slices.Clone(p.Applied[i])
	for j, pid := range mine {
		r := m.Compare(p.Records[i], pats[pid].rec)
		if j == 0 || r.Score > x.Best.Score {
			x.Best = r
		}
		if slices.Contains(cands, pid) {
			x.Candidate = true
		}
		for _, rep := range pats[pid].reports {
			if p.Person[rep] == p.Person[i] {
				applied = append(applied, p.Applied[rep]...)
			}
		}
	}
	slices.Sort(applied)
	x.Applied = slices.Compact(applied)
	return x
}

// CleanFirst returns the population with its reports reordered: those
// without perturbations first, then the others, each group in the
// population's order. It is the kindest arrival order for the registry
// (most children's first patient record is an unperturbed report); the
// records are shared with p.
func CleanFirst(p *Population) *Population {
	q := &Population{Twins: p.Twins, Noise: p.Noise, TwinOf: p.TwinOf}
	for _, clean := range []bool{true, false} {
		for i, r := range p.Records {
			if (len(p.Applied[i]) == 0) == clean {
				q.Records = append(q.Records, r)
				q.Person = append(q.Person, p.Person[i])
				q.Applied = append(q.Applied, p.Applied[i])
			}
		}
	}
	return q
}
