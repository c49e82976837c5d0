//go:build tune

package match_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/iisproject/iis/match"
	"github.com/iisproject/iis/match/aira"
	"github.com/iisproject/iis/match/synth"
)

// TestTune is a development harness, not a test: it prints, for a few
// weight variants, the AIRA figures on undisputed cases and the synthetic
// 20,000-patient precision and recall. Run with
//
//	go test -tags tune -run TestTune -v ./match
func TestTune(t *testing.T) {
	files, _ := filepath.Glob("../testdata/matching/*.txt")
	var names []string
	var sets [][]aira.Case
	for _, f := range files {
		fh, _ := os.Open(f)
		c, err := aira.Parse(fh, f)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(f))
		sets = append(sets, c)
	}
	disp := aira.Disputed(names, sets...)
	pop := synth.Generate(synth.DefaultConfig(20000))
	freq := match.BuildFrequencies(pop.Records, 5)
	// Edit the variants to compare weight settings on both benchmarks.
	variants := map[string]func(c *match.Config){}
	for _, th := range []float64{39.5, 38.5, 37, 36, 34, 32, 30} {
		variants[fmt.Sprintf("threshold %4.1f", th)] = func(c *match.Config) { c.MatchThreshold = th }
	}
	for name, v := range variants {
		cfg := match.DefaultConfig()
		v(&cfg)
		m := match.New(cfg)
		var conf aira.Confusion
		for si, cases := range sets {
			for i := range cases {
				c := &cases[i]
				if _, ok := disp[[2]int{si, i}]; ok || c.Expect == aira.NotSure {
					continue
				}
				conf.Add(c.Expect.Outcome(), m.Compare(c.A, c.B).Outcome)
			}
		}
		cfg.Frequencies = freq
		r := synth.EvaluateWith(match.New(cfg), pop)
		t.Logf("%-16s AIRA: NaM->M %d P->M %d recall %.4f | synth: prec %.5f recall %.4f FP %d", name,
			conf.FalseMerges(), conf[match.PossibleMatch][match.Match], conf.MatchRecall(), r.Precision(), r.Recall(), r.FP)
	}
}
