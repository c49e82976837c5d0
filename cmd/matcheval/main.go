// Command matcheval evaluates the patient matcher (package match).
//
// Usage:
//
//	matcheval [-v] [-wrong N] [-disputed] FILE...   AIRA labelled pair files
//	matcheval -synth N [-seed S]                   synthetic population, pairwise
//	matcheval -synth N -registry [-popfreq] [-cleanfirst] [-seed S]
//	                                               synthetic population, clustered as the registry does
//
// For AIRA files it prints, per file and in total, the 3×3 confusion matrix
// (expected × decided) and the counts per perturbation type, flagging false
// merges (Not a Match decided Match), split records (Match decided
// NonMatch) and Possible Match pairs decided Match. Totals are printed both
// over every case and over the cases whose record pair is not labelled
// differently by another of the given files. It exits 1 on malformed input
// and 2 on usage errors.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/iisproject/iis/match"
	"github.com/iisproject/iis/match/aira"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("matcheval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "print every wrongly decided case with its field explanation")
	wrongMax := fs.Int("wrong", 20, "print at most this many false merges / splits / skipped reviews per file")
	disputed := fs.Bool("disputed", false, "print the pairs labelled differently by the given files (markdown) and exit")
	undisputed := fs.Bool("undisputed", false, "evaluate only cases that are not disputed (see -disputed)")
	threshold := fs.Float64("threshold", 0, "override the Match threshold (0: default)")
	synthN := fs.Int("synth", 0, "evaluate on a synthetic population of N patients instead of files")
	seed := fs.Int64("seed", 1, "random seed for -synth")
	registry := fs.Bool("registry", false, "with -synth: apply the reports one by one as the registry does (accumulated patient records) and score the final patients")
	cleanFirst := fs.Bool("cleanfirst", false, "with -synth -registry: apply the reports without perturbations first (the default order is the generator's shuffle)")
	popFreq := fs.Bool("popfreq", false, "with -synth -registry: name frequencies built from the population (as the pairwise evaluation does) instead of the registry's default table")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := match.DefaultConfig()
	if *threshold != 0 {
		cfg.MatchThreshold = *threshold
	}
	m := match.New(cfg)
	if *synthN > 0 && *registry {
		return runRegistry(cfg, *synthN, *seed, *popFreq, *cleanFirst, *verbose, stdout)
	}
	if *synthN > 0 {
		return runSynth(cfg, *synthN, *seed, *verbose, stdout, stderr)
	}
	files := fs.Args()
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: matcheval [-v] [-disputed] FILE... | matcheval -synth N")
		return 2
	}
	var sets [][]aira.Case
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			fmt.Fprintf(stderr, "matcheval: %v\n", err)
			return 1
		}
		cases, err := aira.Parse(fh, f)
		fh.Close()
		if err != nil {
			fmt.Fprintf(stderr, "matcheval: %v\n", err)
			return 1
		}
		if len(cases) == 0 {
			fmt.Fprintf(stderr, "matcheval: %s: no cases\n", f)
			return 1
		}
		sets = append(sets, cases)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	disp := aira.Disputed(names, sets...)
	if *disputed {
		writeDisputed(stdout, m, names, sets, disp)
		return 0
	}
	var total, totalClean aira.Confusion
	byAll := map[string]*aira.Confusion{}
	for i, cases := range sets {
		var skip func(*aira.Case) bool
		if *undisputed {
			si := i
			skip = func(c *aira.Case) bool {
				_, ok := disp[[2]int{si, caseIndex(cases, c)}]
				return ok
			}
		}
		rep := aira.Evaluate(filepath.Base(files[i]), m, cases, skip)
		fmt.Fprintf(stdout, "== %s: %d cases (%d skipped: Not Sure)\n", files[i], rep.All.Total(), rep.Skipped)
		aira.WriteMatrix(stdout, &rep.All)
		fmt.Fprintln(stdout)
		aira.WritePerturbations(stdout, rep.ByPerturbation)
		writeWrong(stdout, rep, *verbose, *wrongMax)
		fmt.Fprintln(stdout)
		addTo(&total, &rep.All)
		for k, c := range rep.ByPerturbation {
			if byAll[k] == nil {
				byAll[k] = &aira.Confusion{}
			}
			addTo(byAll[k], c)
		}
		si := i
		clean := aira.Evaluate(rep.Name, m, cases, func(c *aira.Case) bool {
			_, ok := disp[[2]int{si, caseIndex(cases, c)}]
			return ok
		})
		addTo(&totalClean, &clean.All)
	}
	if len(sets) > 1 {
		fmt.Fprintf(stdout, "== total over %d files: %d cases\n", len(sets), total.Total())
		aira.WriteMatrix(stdout, &total)
		fmt.Fprintln(stdout)
		aira.WritePerturbations(stdout, byAll)
		fmt.Fprintln(stdout)
	}
	if len(disp) > 0 {
		fmt.Fprintf(stdout, "== total excluding %d disputed cases (same pair or same agreement pattern labelled differently; list with -disputed): %d cases\n", len(disp), totalClean.Total())
		aira.WriteMatrix(stdout, &totalClean)
	}
	return 0
}

func addTo(dst, src *aira.Confusion) {
	for i := range src {
		for j := range src[i] {
			dst[i][j] += src[i][j]
		}
	}
}

func writeWrong(w io.Writer, rep *aira.Report, verbose bool, max int) {
	shown := 0
	for _, o := range rep.Wrong {
		want := o.Case.Expect.Outcome()
		serious := want == match.NonMatch && o.Result.Outcome == match.Match ||
			want == match.Match && o.Result.Outcome == match.NonMatch ||
			want == match.PossibleMatch && o.Result.Outcome == match.Match
		if !verbose && !(serious && shown < max) {
			continue
		}
		shown++
		tag := ""
		if serious {
			tag = "!! "
		}
		fmt.Fprintf(w, "  %s%s:%s:%s (line %d) expected %s, decided %s: %s\n", tag, o.Case.ID, o.Case.Perturbation, o.Case.Quality, o.Case.Line,
			o.Case.Expect, o.Result.Outcome, aira.Explain(o.Result))
	}
}

// caseIndex returns c's index in cases (c points into the slice).
func caseIndex(cases []aira.Case, c *aira.Case) int {
	for i := range cases {
		if &cases[i] == c {
			return i
		}
	}
	return -1
}

// writeDisputed prints the disputed cases the matcher decides against the
// label in a costly way (false merge, split, review skipped), as markdown.
func writeDisputed(w io.Writer, m *match.Matcher, names []string, sets [][]aira.Case, disp map[[2]int]string) {
	fmt.Fprintln(w, "| set | case | label | decided | why the label is disputed |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	n := 0
	for si, cases := range sets {
		for i := range cases {
			why, ok := disp[[2]int{si, i}]
			if !ok {
				continue
			}
			c := &cases[i]
			got := m.Compare(c.A, c.B).Outcome
			want := c.Expect.Outcome()
			costly := want == match.NonMatch && got == match.Match || want == match.Match && got == match.NonMatch || want == match.PossibleMatch && got == match.Match
			if !costly {
				continue
			}
			n++
			fmt.Fprintf(w, "| %s | %s:%s:%s | %s | %s | %s |\n", names[si], c.ID, c.Perturbation, c.Quality, c.Expect, got, why)
		}
	}
	fmt.Fprintf(w, "\n%d disputed cases in all; %d of them decided against the label in a costly way (listed).\n", len(disp), n)
}
