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
	var res RegistryResult
	res.Records = len(p.Records)
	var (
		pats     []*regPatient
		index    = map[string][]int32{}
		patOf    = make([]int32, len(p.Records))
		byPerson = map[int32][]int32{} // child → patients holding its reports, in creation order
		reviews  [][2]int32            // (new patient, candidate)
		// Per-patient hit counts of the current report, reset through stamp.
		hits   []int32
		strong []bool
		stamp  []int32
	)
	for i, rec := range p.Records {
		if !rec.Normalized() {
			match.Normalize(rec)
		}
		keys := slices.Compact(slices.Sorted(slices.Values(match.BlockingKeys(rec))))
		var touched []int32
		for _, k := range keys {
			b := index[k]
			if len(b) >= RegistryMaxBlock {
				res.SkippedKeys++
				continue
			}
			for _, pid := range b {
				if stamp[pid] != int32(i+1) {
					stamp[pid], hits[pid], strong[pid] = int32(i+1), 0, false
					touched = append(touched, pid)
				}
				hits[pid]++
				if !strings.HasPrefix(k, "D:") && !strings.HasPrefix(k, "L:") {
					strong[pid] = true
				}
			}
		}
		var cands []int32
		for _, pid := range touched {
			if hits[pid] >= 2 || strong[pid] {
				cands = append(cands, pid)
			}
		}
		slices.Sort(cands)
		res.Candidates += len(cands)
		res.MaxCandidates = max(res.MaxCandidates, len(cands))

		// decide, as registry.Store.decide.
		crecs := make([]*match.Record, 0, len(cands))
		for _, pid := range cands {
			crecs = append(crecs, pats[pid].rec)
		}
		var possible []regCandidate
		b, identifier := m.Choose(rec, crecs, func(k int, r match.Result) {
			if r.Outcome == match.PossibleMatch {
				possible = append(possible, regCandidate{cands[k], r.Score})
			}
		})
		best := int32(-1)
		if b >= 0 {
			best = cands[b]
		}

		person := p.Person[i]
		if best >= 0 && !slices.ContainsFunc(pats[best].reports, func(r int32) bool { return p.Person[r] == person }) {
			res.WrongLinks++
			res.FalseLinks = append(res.FalseLinks, FalseLink{Report: i, Patient: slices.Clone(pats[best].reports),
				Result: m.Compare(rec, pats[best].rec), Record: pats[best].rec})
		}
		var pid int32
		outcome := "new"
		switch {
		case best >= 0:
			outcome = "match"
			if identifier {
				res.Identifier++
			} else {
				res.Match++
			}
			pid = best
			pt := pats[pid]
			pt.rec = match.Merge(pt.rec, rec)
			match.Normalize(pt.rec)
			for _, k := range keys {
				if !slices.Contains(pt.keys, k) {
					pt.keys = append(pt.keys, k)
					index[k] = append(index[k], pid)
				}
			}
		default:
			pid = int32(len(pats))
			pats = append(pats, &regPatient{rec: rec, keys: keys})
			hits, strong, stamp = append(hits, 0), append(strong, false), append(stamp, 0)
			for _, k := range keys {
				index[k] = append(index[k], pid)
			}
			if len(possible) > 0 {
				outcome = "possible"
				res.Possible++
				slices.SortFunc(possible, func(a, b regCandidate) int {
					if c := cmp.Compare(b.score, a.score); c != 0 {
						return c
					}
					return cmp.Compare(a.id, b.id)
				})
				for _, c := range possible[:min(len(possible), 5)] {
					reviews = append(reviews, [2]int32{pid, c.id})
				}
			} else {
				res.New++
			}
		}

		// A report that does not join a patient of its child while one
		// exists is a miss.
		mine := byPerson[person]
		if len(mine) > 0 && !slices.Contains(mine, pid) {
			res.Misses = append(res.Misses, miss(m, p, i, outcome, mine, cands, pats))
		}
		pats[pid].reports = append(pats[pid].reports, int32(i))
		patOf[i] = pid
		if !slices.Contains(mine, pid) {
			byPerson[person] = append(mine, pid)
		}
	}
	res.Patients = len(pats)
	res.PatientOf = patOf
	res.Persons = len(byPerson)
	for _, ps := range byPerson {
		if len(ps) > 1 {
			res.SplitPersons++
		}
	}

	// The final clustering against the truth.
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
	perPerson := map[int32]int{}
	for _, person := range p.Person {
		perPerson[person]++
	}
	for _, c := range perPerson {
		res.TruePairs += c * (c - 1) / 2
	}

	// The review queue resolved by a person who is always right.
	parent := make([]int32, len(pats))
	for i := range parent {
		parent[i] = int32(i)
	}
	var find func(int32) int32
	find = func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	res.ReviewRows = len(reviews)
	for _, rv := range reviews {
		person := p.Person[pats[rv[0]].reports[0]]
		if slices.ContainsFunc(pats[rv[1]].reports, func(r int32) bool { return p.Person[r] == person }) {
			res.ReviewRowsTrue++
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
		res.ReviewTP += c * (c - 1) / 2
	}
	return res
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
