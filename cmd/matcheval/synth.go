package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/iisproject/iis/match"
	"github.com/iisproject/iis/match/aira"
	"github.com/iisproject/iis/match/synth"
)

// generate makes the synthetic population of n children for seed, and
// says how long that took.
func generate(n int, seed int64) (*synth.Population, time.Duration) {
	cfg := synth.DefaultConfig(n)
	cfg.Seed = uint64(seed)
	start := time.Now()
	p := synth.Generate(cfg)
	return p, time.Since(start)
}

func runSynth(mcfg match.Config, n int, seed int64, verbose bool, stdout, stderr io.Writer) int {
	p, gen := generate(n, seed)
	start := time.Now()
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

// runRegistry applies a synthetic population's reports one by one as the
// registry does (synth.EvaluateRegistry) and prints the final clustering's
// figures and what was left unlinked, grouped by the generator's
// perturbations.
func runRegistry(mcfg match.Config, n int, seed int64, popFreq, cleanFirst, verbose bool, stdout io.Writer) int {
	p, gen := generate(n, seed)
	start := time.Now()
	freq := "the matcher's default table, as the registry runs"
	if popFreq {
		mcfg.Frequencies = match.BuildFrequencies(p.Records, 5)
		freq = "built from the population"
	}
	order := "the population's (shuffled) order"
	if cleanFirst {
		p = synth.CleanFirst(p)
		order = "reports without perturbations first, then the others"
	}
	m := match.New(mcfg)
	r := synth.EvaluateRegistry(m, p)
	took := time.Since(start)
	pct := func(a, b int) float64 { return 100 * float64(a) / float64(max(b, 1)) }
	fmt.Fprintf(stdout, "synthetic population: %d patients, %d reports, %d twin pairs, seed %d (generated in %s); name frequencies %s\n",
		r.Persons, r.Records, p.Twins, seed, gen.Round(time.Millisecond), freq)
	fmt.Fprintf(stdout, "reports applied one by one in %s: %d identifier links, %d match links, %d possible (new patient + review), %d new; %.2f candidates per report (max %d), %d key look-ups over the block limit %d\n",
		order, r.Identifier, r.Match, r.Possible, r.New, float64(r.Candidates)/float64(max(r.Records, 1)), r.MaxCandidates, r.SkippedKeys, synth.RegistryMaxBlock)
	fmt.Fprintf(stdout, "patients: %d for %d children; %d mix two children (false merges), %d twin pairs merged, %d reports linked to another child's patient; %d children split over several patients\n",
		r.Patients, r.Persons, r.MixedPatients, r.TwinMerges, r.WrongLinks, r.SplitPersons)
	fmt.Fprintf(stdout, "report pairs in one patient: %d of %d true pairs, %d false\n", r.TP, r.TruePairs, r.FP)
	fmt.Fprintf(stdout, "review queue: %d rows from %d reports, %d of them right (candidate holds the same child); true pairs together once all are resolved correctly: %d\n",
		r.ReviewRows, r.Possible, r.ReviewRowsTrue, r.ReviewTP)
	fmt.Fprintf(stdout, "precision %.4f%%  recall %.4f%%  (recall after the review queue %.4f%%)  evaluated in %s\n",
		100*r.Precision(), 100*r.Recall(), 100*r.ReviewRecall(), took.Round(time.Millisecond))

	for i, f := range r.FalseLinks {
		if i == 20 {
			fmt.Fprintf(stdout, "  ... %d more false links\n", len(r.FalseLinks)-i)
			break
		}
		fmt.Fprintf(stdout, "  false link: report %d (perturbations %v) to a patient of %d reports: %s\n",
			f.Report, p.Applied[f.Report], len(f.Patient), aira.Explain(f.Result))
	}

	// What was left unlinked.
	type group struct {
		key   string
		n     int
		first synth.Miss
	}
	tally := func(key func(synth.Miss) string) []group {
		idx := map[string]int{}
		var gs []group
		for _, x := range r.Misses {
			k := key(x)
			i, ok := idx[k]
			if !ok {
				i = len(gs)
				idx[k] = i
				gs = append(gs, group{key: k, first: x})
			}
			gs[i].n++
		}
		sort.SliceStable(gs, func(a, b int) bool { return gs[a].n > gs[b].n })
		return gs
	}
	fmt.Fprintf(stdout, "unlinked: %d reports did not join a patient already holding their child (%.2f%% of reports)\n", len(r.Misses), pct(len(r.Misses), r.Records))
	for _, g := range tally(func(x synth.Miss) string {
		c := "the child's patient was a candidate"
		if !x.Candidate {
			c = "the child's patient was not a candidate (blocking filter)"
		}
		return fmt.Sprintf("%s; %s; best: %s %s", x.Outcome, c, x.Best.Outcome, x.Best.Reason)
	}) {
		fmt.Fprintf(stdout, "  %6d  %s\n", g.n, g.key)
	}
	fmt.Fprintln(stdout, "unlinked by kind of noise (on the report or the child's earlier reports):")
	for _, g := range tally(noiseKind) {
		fmt.Fprintf(stdout, "  %6d  %s\n", g.n, g.key)
	}
	single := map[string]int{}
	for _, x := range r.Misses {
		if len(x.Applied) == 0 {
			single["(none: missing fields only)"]++
		}
		for _, a := range x.Applied {
			single[a]++
		}
	}
	var names []string
	for k := range single {
		names = append(names, k)
	}
	sort.Slice(names, func(a, b int) bool {
		if single[names[a]] != single[names[b]] {
			return single[names[a]] > single[names[b]]
		}
		return names[a] < names[b]
	})
	fmt.Fprint(stdout, "unlinked reports involving each perturbation (on the report or the child's earlier reports):")
	for _, k := range names {
		fmt.Fprintf(stdout, " %s=%d", k, single[k])
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "unlinked by the perturbations on the report and the child's earlier reports:")
	for i, g := range tally(func(x synth.Miss) string {
		if len(x.Applied) == 0 {
			return "(none: missing fields only)"
		}
		return strings.Join(x.Applied, " + ")
	}) {
		if i == 15 && !verbose {
			fmt.Fprintln(stdout, "  ... (-v for all)")
			break
		}
		fmt.Fprintf(stdout, "  %6d  %s\n", g.n, g.key)
		if verbose {
			fmt.Fprintf(stdout, "          e.g. %s\n", aira.Explain(g.first.Best))
		}
	}
	return 0
}

// identitySlips are the generator's perturbations of the name, birth date
// or sex (the others change the family's contact details or leave fields
// out).
var identitySlips = map[string]bool{
	"first-typo": true, "first-nickname": true, "last-typo": true, "last-hyphenated": true, "last-changed": true,
	"dob-swapped": true, "dob-off-by-one": true, "dob-year": true, "sex-missing": true,
}

// noiseKind sorts an unlinked report into a coarse kind of noise: whether
// the family moved and how many slips of the identity (name, birth date,
// sex) the report and the child's earlier reports carry.
func noiseKind(x synth.Miss) string {
	moved, slips := false, 0
	for _, a := range x.Applied {
		if a == "moved" {
			moved = true
		}
		if identitySlips[a] {
			slips++
		}
	}
	s := "one identity slip"
	switch {
	case slips == 0:
		s = "identity exact"
	case slips > 1:
		s = "two or more identity slips"
	}
	if moved {
		return "family moved, " + s
	}
	return "same home, " + s
}
