package synth

import (
	"slices"
	"testing"

	"github.com/iisproject/iis/match"
)

// TestCandidatesBlocking: a patient is a candidate when it shares two of
// the report's blocking keys or one strong key (not D: or L:); a key held
// by RegistryMaxBlock patients is skipped and counted.
func TestCandidatesBlocking(t *testing.T) {
	s := newRegistrySim(match.New(match.DefaultConfig()), &Population{})
	for range 4 {
		s.create(&match.Record{}, nil)
	}
	big := make([]int32, RegistryMaxBlock)
	for i := range big {
		big[i] = 3 // patient 3 is only reachable through the oversized block
	}
	s.index = map[string][]int32{
		"D:20160509":   {0, 1}, // weak: alone it is not enough
		"L:KOWAL2016":  {1},    // weak, but 1 shares two keys
		"P:5175550100": {2},    // strong
		"S:SMITH":      big,    // skipped
	}
	keys := []string{"D:20160509", "L:KOWAL2016", "P:5175550100", "S:SMITH"}
	got := s.candidates(0, keys)
	if !slices.Equal(got, []int32{1, 2}) || s.res.SkippedKeys != 1 {
		t.Errorf("candidates %v, %d keys skipped; want [1 2], 1", got, s.res.SkippedKeys)
	}
	// The hit counts start again for the next report.
	if got := s.candidates(1, []string{"D:20160509"}); len(got) != 0 {
		t.Errorf("one weak key: candidates %v, want none", got)
	}
}

// TestBestPossible: review rows go to the five best-scoring candidates,
// the lower patient id first on a tie.
func TestBestPossible(t *testing.T) {
	possible := []regCandidate{{7, 0.5}, {3, 0.9}, {9, 0.9}, {1, 0.1}, {4, 0.7}, {2, 0.7}, {5, 0.2}}
	got := bestPossible(possible, 5)
	want := []regCandidate{{3, 0.9}, {9, 0.9}, {2, 0.7}, {4, 0.7}, {7, 0.5}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := bestPossible(nil, 5); len(got) != 0 {
		t.Errorf("no candidates: got %v", got)
	}
}

// TestScoreClusters: pairs of reports in one patient are true when they
// are of one child; a patient with two children is mixed, and with both
// twins a twin merge.
func TestScoreClusters(t *testing.T) {
	p := &Population{Person: []int32{0, 0, 0, 1, 2, 3}, TwinOf: map[int32]int32{2: 3, 3: 2}}
	pats := []*regPatient{
		{reports: []int32{0, 1}}, // child 0: one true pair
		{reports: []int32{2, 3}}, // children 0 and 1: one false pair
		{reports: []int32{4, 5}}, // the twins: a false pair, a twin merge
	}
	var res RegistryResult
	scoreClusters(p, pats, &res)
	if res.TP != 1 || res.FP != 2 || res.MixedPatients != 2 || res.TwinMerges != 1 {
		t.Errorf("TP %d FP %d mixed %d twins %d; want 1 2 2 1", res.TP, res.FP, res.MixedPatients, res.TwinMerges)
	}
	if got := truePairs(p.Person); got != 3 {
		t.Errorf("true pairs %d, want 3 (child 0's three reports)", got)
	}
}

// TestResolveReviews: a right review row merges the child's two patients
// (its pairs become true positives); a row pointing at another child's
// patient merges nothing.
func TestResolveReviews(t *testing.T) {
	p := &Population{Person: []int32{0, 0, 1}}
	pats := []*regPatient{{reports: []int32{0}}, {reports: []int32{1}}, {reports: []int32{2}}}
	patOf := []int32{0, 1, 2}
	rowsTrue, tp := resolveReviews(p, pats, [][2]int32{{1, 0}, {1, 2}}, patOf)
	if rowsTrue != 1 || tp != 1 {
		t.Errorf("%d right rows, TP %d; want 1, 1", rowsTrue, tp)
	}
	if rowsTrue, tp := resolveReviews(p, pats, nil, patOf); rowsTrue != 0 || tp != 0 {
		t.Errorf("no rows: %d right rows, TP %d; want 0, 0", rowsTrue, tp)
	}
}
