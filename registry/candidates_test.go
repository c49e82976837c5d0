package registry

import (
	"strings"
	"testing"

	"github.com/iisproject/iis/match"
	msynth "github.com/iisproject/iis/match/synth"
)

// passes mirrors candidateQuery's filter on two records' blocking keys.
func passes(a, b []string) bool {
	n, strong := 0, false
	for _, k := range a {
		for _, l := range b {
			if k == l {
				n++
				if !strings.HasPrefix(k, "D:") && !strings.HasPrefix(k, "L:") {
					strong = true
				}
			}
		}
	}
	return n >= 2 || strong
}

// TestCandidateFilterKeepsMatches measures on a synthetic population with
// known truth how many true pairs the matcher would link are lost by
// requiring two shared blocking keys or one discriminating key.
func TestCandidateFilterKeepsMatches(t *testing.T) {
	pop := msynth.Generate(msynth.DefaultConfig(5000))
	m := match.New(match.DefaultConfig())
	keys := make([][]string, len(pop.Records))
	byPerson := map[int32][]int{}
	for i, r := range pop.Records {
		match.Normalize(r)
		keys[i] = match.BlockingKeys(r)
		byPerson[pop.Person[i]] = append(byPerson[pop.Person[i]], i)
	}
	var pairs, shareAny, kept, lostMatch, lostPossible int
	for _, idx := range byPerson {
		for x := 0; x < len(idx); x++ {
			for y := x + 1; y < len(idx); y++ {
				a, b := idx[x], idx[y]
				pairs++
				any := false
				for _, k := range keys[a] {
					for _, l := range keys[b] {
						any = any || k == l
					}
				}
				if !any {
					continue
				}
				shareAny++
				if passes(keys[a], keys[b]) {
					kept++
					continue
				}
				switch m.Compare(pop.Records[a], pop.Records[b]).Outcome {
				case match.Match:
					lostMatch++
				case match.PossibleMatch:
					lostPossible++
				}
			}
		}
	}
	t.Logf("true pairs %d, sharing a key %d, kept by the filter %d, lost Match %d, lost Possible %d",
		pairs, shareAny, kept, lostMatch, lostPossible)
	// A lost pair is a split (two records for one child, mergeable later),
	// never a false merge. Allow one in a thousand.
	if lostMatch*1000 > pairs {
		t.Errorf("the candidate filter loses %d of %d true pairs the matcher links", lostMatch, pairs)
	}
}
