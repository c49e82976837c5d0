package synth

import (
	"github.com/iisproject/iis/match"
)

// Pairs counts pairs of reports: TruePairs of the same person, TP of them
// found (linked) and FP pairs of two persons linked.
type Pairs struct {
	TruePairs, TP, FP int
}

// Precision is TP/(TP+FP).
func (r Pairs) Precision() float64 {
	if r.TP+r.FP == 0 {
		return 1
	}
	return float64(r.TP) / float64(r.TP+r.FP)
}

// Recall is the share of true pairs found.
func (r Pairs) Recall() float64 {
	if r.TruePairs == 0 {
		return 1
	}
	return float64(r.TP) / float64(r.TruePairs)
}

// Result counts the pairwise decisions over a population; Pairs counts
// Match decisions on true and false pairs.
type Result struct {
	Records, Persons int
	Pairs
	Compared      int // candidate pairs compared (after blocking)
	NotBlocked    int // true pairs that shared no blocking key
	ReviewTrue    int // PossibleMatch decisions on true pairs
	ReviewFalse   int // PossibleMatch decisions on false pairs
	TwinMerges    int // Match decisions on twin pairs (always also in FP)
	MaxBlock      int // largest block used
	SkippedBlocks int // blocks over the size limit, not used
	// Examples of wrong decisions (false links, true pairs sent to
	// review), at most MaxExamples of each.
	FalseLinks, Reviewed []match.Result
}

// MaxExamples bounds Result.FalseLinks and Result.Reviewed.
const MaxExamples = 60

// MaxBlockSize is the largest block Evaluate compares within; larger
// blocks (a very common name pair) are skipped, as a store would.
const MaxBlockSize = 2000

// Evaluate indexes every record under match.BlockingKeys, compares each
// pair of records that share a key once, and counts decisions against the
// truth. Name frequencies are built from the population itself, as a
// registry would build them from its own patients.
func Evaluate(p *Population) Result {
	m := match.New(match.Config{Frequencies: match.BuildFrequencies(p.Records, 5)})
	return EvaluateWith(m, p)
}

// EvaluateWith is Evaluate with a given matcher.
func EvaluateWith(m *match.Matcher, p *Population) Result {
	var res Result
	res.Records = len(p.Records)
	index := map[string][]int32{}
	keys := make([][]string, len(p.Records))
	for i, r := range p.Records {
		keys[i] = match.BlockingKeys(r)
		for _, k := range keys[i] {
			index[k] = append(index[k], int32(i))
		}
	}
	for _, b := range index {
		if len(b) > MaxBlockSize {
			res.SkippedBlocks++
			continue
		}
		res.MaxBlock = max(res.MaxBlock, len(b))
	}
	// Truth: group records by person.
	byPerson := map[int32][]int32{}
	for i, id := range p.Person {
		byPerson[id] = append(byPerson[id], int32(i))
	}
	res.Persons = len(byPerson)
	for _, rs := range byPerson {
		res.TruePairs += len(rs) * (len(rs) - 1) / 2
	}
	seen := make([]int32, len(p.Records)) // seen[j] == i+1: pair (i, j) done
	for i := range p.Records {
		for _, k := range keys[i] {
			b := index[k]
			if len(b) > MaxBlockSize {
				continue
			}
			for _, j := range b {
				if int(j) >= i || seen[j] == int32(i+1) {
					continue
				}
				seen[j] = int32(i + 1)
				res.Compared++
				out := m.Compare(p.Records[i], p.Records[j]).Outcome
				same := p.Person[i] == p.Person[j]
				switch {
				case out == match.Match && same:
					res.TP++
				case out == match.Match:
					res.FP++
					if len(res.FalseLinks) < MaxExamples {
						res.FalseLinks = append(res.FalseLinks, m.Compare(p.Records[i], p.Records[j]))
					}
					if isTwin(p.Records[i], p.Records[j]) {
						res.TwinMerges++
					}
				case out == match.PossibleMatch && same:
					res.ReviewTrue++
					if len(res.Reviewed) < MaxExamples {
						res.Reviewed = append(res.Reviewed, m.Compare(p.Records[i], p.Records[j]))
					}
				case out == match.PossibleMatch:
					res.ReviewFalse++
				}
			}
		}
	}
	// True pairs never compared.
	for _, rs := range byPerson {
		for x := 0; x < len(rs); x++ {
			for y := x + 1; y < len(rs); y++ {
				if !shareKey(keys[rs[x]], keys[rs[y]], index) {
					res.NotBlocked++
				}
			}
		}
	}
	return res
}

func shareKey(a, b []string, index map[string][]int32) bool {
	for _, x := range a {
		if len(index[x]) > MaxBlockSize {
			continue
		}
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func isTwin(a, b *match.Record) bool {
	return a.BirthDate == b.BirthDate && a.First != b.First
}
