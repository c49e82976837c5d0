package aira

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/iisproject/iis/match"
)

// Confusion counts cases by expected label (row) and decided outcome
// (column), both indexed by match.Outcome (NonMatch, PossibleMatch, Match).
type Confusion [3][3]int

// Add counts one case.
func (c *Confusion) Add(want, got match.Outcome) { c[want][got]++ }

// Total returns the number of cases counted.
func (c *Confusion) Total() int {
	n := 0
	for _, row := range c {
		for _, v := range row {
			n += v
		}
	}
	return n
}

// FalseMerges counts Not-a-Match cases decided Match.
func (c *Confusion) FalseMerges() int { return c[match.NonMatch][match.Match] }

// Splits counts Match cases decided NonMatch.
func (c *Confusion) Splits() int { return c[match.Match][match.NonMatch] }

// MatchRecall is the share of Match cases decided Match.
func (c *Confusion) MatchRecall() float64 {
	row := c[match.Match]
	n := row[0] + row[1] + row[2]
	if n == 0 {
		return 1
	}
	return float64(row[match.Match]) / float64(n)
}

// Outcome of one case.
type Outcome struct {
	Case   *Case
	Result match.Result
}

// Report is the evaluation of one set of cases.
type Report struct {
	Name           string
	All            Confusion
	ByPerturbation map[string]*Confusion
	Wrong          []Outcome // decided differently from the label
	Skipped        int       // Not Sure, or excluded
}

// Evaluate runs m over cases. Cases labelled Not Sure, and cases for which
// exclude returns true (nil: none), are skipped.
func Evaluate(name string, m *match.Matcher, cases []Case, exclude func(*Case) bool) *Report {
	rep := &Report{Name: name, ByPerturbation: map[string]*Confusion{}}
	for i := range cases {
		c := &cases[i]
		if c.Expect == NotSure || exclude != nil && exclude(c) {
			rep.Skipped++
			continue
		}
		res := m.Compare(c.A, c.B)
		want := c.Expect.Outcome()
		rep.All.Add(want, res.Outcome)
		p := c.Perturbation
		if p == "" {
			p = "(none)"
		}
		if rep.ByPerturbation[p] == nil {
			rep.ByPerturbation[p] = &Confusion{}
		}
		rep.ByPerturbation[p].Add(want, res.Outcome)
		if res.Outcome != want {
			rep.Wrong = append(rep.Wrong, Outcome{Case: c, Result: res})
		}
	}
	return rep
}

// PairKey identifies a case's record pair independently of its label.
func PairKey(c *Case) string { return c.RawA + "\n" + c.RawB }

// ConflictingPairs returns the pair keys that occur in the given sets with
// more than one label (Not Sure ignored): the same two records, labelled
// differently by different sets. No matcher can agree with both labels.
func ConflictingPairs(sets ...[]Case) map[string]bool {
	labels := map[string]map[Label]bool{}
	for _, set := range sets {
		for i := range set {
			c := &set[i]
			if c.Expect == NotSure {
				continue
			}
			k := PairKey(c)
			if labels[k] == nil {
				labels[k] = map[Label]bool{}
			}
			labels[k][c.Expect] = true
		}
	}
	out := map[string]bool{}
	for k, ls := range labels {
		if len(ls) > 1 {
			out[k] = true
		}
	}
	return out
}

// Signature is the matcher-independent agreement pattern of a case: its
// perturbation type and, for every key of the format, whether the two
// records carry equal values (case-insensitive), different values, or the
// key is missing on either side. Under the Fellegi–Sunter assumption that a
// field missing on one side is no evidence, cases with the same signature
// carry the same evidence.
func Signature(c *Case) string {
	var b strings.Builder
	b.WriteString(c.Perturbation)
	for _, k := range signatureKeys {
		x, y := strings.TrimSpace(c.FieldsA[k]), strings.TrimSpace(c.FieldsB[k])
		switch {
		case x == "" || y == "":
			b.WriteString(" -")
		case strings.EqualFold(x, y):
			b.WriteString(" =")
		default:
			b.WriteString(" x")
		}
	}
	return b.String()
}

var signatureKeys = []string{"nameFirst", "nameMiddle", "nameLast", "nameLastHyph", "nameSuffix", "nameAlias", "birthDate",
	"gender", "birthType", "birthOrder", "birthStatus", "mrns", "ssn", "medicaid", "motherMaidenName", "guardianNameFirst",
	"guardianNameLast", "phone", "addressStreet1", "addressStreet2", "addressCity", "addressState", "addressZip", "address2Zip"}

// Disputed returns, for the given sets, the reason each disputed case
// cannot be scored against its label, keyed by set index and case index:
// the same record pair is labelled differently in another set, or a case
// of the same set with the same Signature has a different label (the label
// then depends on something other than the evidence, such as the
// data-quality tier the generator drew).
func Disputed(names []string, sets ...[]Case) map[[2]int]string {
	out := map[[2]int]string{}
	type where struct {
		set, idx int
	}
	byPair := map[string][]where{}
	for si, set := range sets {
		bySig := map[string][]int{}
		for i := range set {
			c := &set[i]
			if c.Expect == NotSure {
				continue
			}
			byPair[PairKey(c)] = append(byPair[PairKey(c)], where{si, i})
			bySig[Signature(c)] = append(bySig[Signature(c)], i)
		}
		for _, idx := range bySig {
			for _, i := range idx {
				for _, j := range idx {
					if set[i].Expect != set[j].Expect {
						out[[2]int{si, i}] = fmt.Sprintf("same agreement pattern as %s labelled %s", set[j].ID, set[j].Expect)
						break
					}
				}
			}
		}
	}
	for _, ws := range byPair {
		for _, a := range ws {
			for _, b := range ws {
				x, y := &sets[a.set][a.idx], &sets[b.set][b.idx]
				if x.Expect != y.Expect {
					out[[2]int{a.set, a.idx}] = fmt.Sprintf("same pair labelled %s in %s (%s)", y.Expect, names[b.set], y.ID)
					break
				}
			}
		}
	}
	return out
}

var outcomeShort = [3]string{"NonMatch", "Possible", "Match"}

// WriteMatrix prints a 3×3 confusion matrix.
func WriteMatrix(w io.Writer, c *Confusion) {
	fmt.Fprintf(w, "  %-22s %9s %9s %9s\n", "expected \\ decided", outcomeShort[2], outcomeShort[1], outcomeShort[0])
	for _, want := range []match.Outcome{match.Match, match.PossibleMatch, match.NonMatch} {
		row := c[want]
		fmt.Fprintf(w, "  %-22s %9d %9d %9d\n", labelOf(want), row[match.Match], row[match.PossibleMatch], row[match.NonMatch])
	}
	fmt.Fprintf(w, "  false merges (Not a Match -> Match): %d   split records (Match -> NonMatch): %d   Possible Match -> Match: %d   Match recall: %.2f%%\n",
		c.FalseMerges(), c.Splits(), c[match.PossibleMatch][match.Match], 100*c.MatchRecall())
}

func labelOf(o match.Outcome) string {
	switch o {
	case match.Match:
		return "Match"
	case match.PossibleMatch:
		return "Possible Match"
	}
	return "Not a Match"
}

// WritePerturbations prints one line per perturbation type: the nine cells
// (expected→decided, M/P/N) and flags for false merges and splits.
func WritePerturbations(w io.Writer, by map[string]*Confusion) {
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "  %-34s %5s %5s %5s | %5s %5s %5s | %5s %5s %5s\n", "perturbation", "M>M", "M>P", "M>N", "P>M", "P>P", "P>N", "N>M", "N>P", "N>N")
	for _, k := range keys {
		c := by[k]
		var flags []string
		if c.FalseMerges() > 0 {
			flags = append(flags, fmt.Sprintf("FALSE MERGE x%d", c.FalseMerges()))
		}
		if c.Splits() > 0 {
			flags = append(flags, fmt.Sprintf("SPLIT x%d", c.Splits()))
		}
		if n := c[match.PossibleMatch][match.Match]; n > 0 {
			flags = append(flags, fmt.Sprintf("REVIEW SKIPPED x%d", n))
		}
		M, P, N := match.Match, match.PossibleMatch, match.NonMatch
		fmt.Fprintf(w, "  %-34s %5d %5d %5d | %5d %5d %5d | %5d %5d %5d  %s\n", k,
			c[M][M], c[M][P], c[M][N], c[P][M], c[P][P], c[P][N], c[N][M], c[N][P], c[N][N], strings.Join(flags, " "))
	}
}

// Explain formats a result's field levels and weights on one line.
func Explain(r match.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "score=%.1f reason=%q", r.Score, r.Reason)
	for f := match.Field(0); f < match.NumFields; f++ {
		fs := r.Fields[f]
		if fs.Level == match.Missing {
			continue
		}
		fmt.Fprintf(&b, " %s:%s(%+.1f)", f, fs.Level, fs.Weight)
	}
	return b.String()
}
