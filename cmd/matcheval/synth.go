package main

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/iisproject/iis/match"
	"github.com/iisproject/iis/match/aira"
	"github.com/iisproject/iis/match/synth"
)

func runSynth(mcfg match.Config, n int, seed int64, verbose bool, stdout, stderr io.Writer) int {
	cfg := synth.DefaultConfig(n)
	cfg.Seed = uint64(seed)
	start := time.Now()
	p := synth.Generate(cfg)
	gen := time.Since(start)
	start = time.Now()
	mcfg.Frequencies = match.BuildFrequencies(p.Records, 5)
	r := synth.EvaluateWith(match.New(mcfg), p)
	took := time.Since(start)
	fmt.Fprintf(stdout, "synthetic population: %d patients, %d reports, %d twin pairs, seed %d (generated in %s)\n", r.Persons, r.Records, p.Twins, seed, gen.Round(time.Millisecond))
	var names []string
	for k := range p.Noise {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprint(stdout, "noise applied:")
	for _, k := range names {
		fmt.Fprintf(stdout, " %s=%d", k, p.Noise[k])
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "blocking: %d candidate pairs compared (%.1f per report; largest block %d, %d blocks over %d skipped), %d of %d true pairs share no key\n",
		r.Compared, 2*float64(r.Compared)/float64(max(r.Records, 1)), r.MaxBlock, r.SkippedBlocks, synth.MaxBlockSize, r.NotBlocked, r.TruePairs)
	fmt.Fprintf(stdout, "auto-links: %d true, %d false (%d of them twins); review queue: %d true, %d false\n", r.TP, r.FP, r.TwinMerges, r.ReviewTrue, r.ReviewFalse)
	fmt.Fprintf(stdout, "precision %.4f%%  recall %.4f%%  (recall incl. review queue %.4f%%)  evaluated in %s\n",
		100*r.Precision(), 100*r.Recall(), 100*float64(r.TP+r.ReviewTrue)/float64(max(r.TruePairs, 1)), took.Round(time.Millisecond))
	if verbose {
		for _, x := range r.FalseLinks {
			fmt.Fprintf(stdout, "  false link: %s\n", aira.Explain(x))
		}
		for _, x := range r.Reviewed {
			fmt.Fprintf(stdout, "  true pair sent to review: %s\n", aira.Explain(x))
		}
	}
	return 0
}
