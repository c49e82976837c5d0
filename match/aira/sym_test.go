package aira_test

import (
	"testing"

	"github.com/iisproject/iis/match"
)

// TestSymmetric: the decision does not depend on which record comes first.
func TestSymmetric(t *testing.T) {
	_, sets := loadSets(t)
	m := match.New(match.DefaultConfig())
	n := 0
	for _, cases := range sets {
		for i := range cases {
			c := &cases[i]
			ab, ba := m.Compare(c.A, c.B), m.Compare(c.B, c.A)
			if ab.Outcome != ba.Outcome || ab.Score-ba.Score > 1e-9 || ba.Score-ab.Score > 1e-9 {
				n++
				if n <= 5 {
					t.Errorf("%s %s: A,B %s %.2f; B,A %s %.2f", c.ID, c.Perturbation, ab.Outcome, ab.Score, ba.Outcome, ba.Score)
				}
			}
		}
	}
	if n > 0 {
		t.Errorf("%d asymmetric cases", n)
	}
}
