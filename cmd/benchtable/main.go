// Command benchtable reads `go test -bench` output on standard input, copies
// it to standard output, and then prints a comparison table for every pair
// of sub-benchmarks named .../ours and .../<other> (for example
// BenchmarkParse/nist-vxu/ours and BenchmarkParse/nist-vxu/lenaten): both
// sides' ns/op, MB/s and allocs/op and how many times faster ours is.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

type result struct {
	nsPerOp, mbPerS, allocs float64
	hasMB, hasAllocs        bool
}

// cpuSuffix is the -N GOMAXPROCS suffix go test appends to benchmark names.
var cpuSuffix = regexp.MustCompile(`-\d+$`)

func parse(r io.Reader, echo io.Writer) (map[string]result, []string, error) {
	results := map[string]result{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(echo, line)
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := cpuSuffix.ReplaceAllString(f[0], "")
		var res result
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				res.nsPerOp = v
			case "MB/s":
				res.mbPerS, res.hasMB = v, true
			case "allocs/op":
				res.allocs, res.hasAllocs = v, true
			}
		}
		if res.nsPerOp == 0 {
			continue
		}
		if _, seen := results[name]; !seen {
			order = append(order, name)
		}
		results[name] = res
	}
	return results, order, sc.Err()
}

func main() {
	results, order, err := parse(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	type row struct{ base, other string }
	var rows []row
	for _, name := range order {
		base, ok := strings.CutSuffix(name, "/ours")
		if !ok {
			continue
		}
		var others []string
		for _, n := range order {
			if strings.HasPrefix(n, base+"/") && n != name {
				others = append(others, n)
			}
		}
		sort.Strings(others)
		for _, o := range others {
			rows = append(rows, row{base, o})
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Println()
	fmt.Println("Comparison (ours vs other, same run):")
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\tother\tours ns/op\tother ns/op\tours MB/s\tother MB/s\tours allocs\tother allocs\tspeed-up\t")
	for _, r := range rows {
		a, b := results[r.base+"/ours"], results[r.other]
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%.1fx\t\n",
			strings.TrimPrefix(r.base, "Benchmark"), strings.TrimPrefix(r.other, r.base+"/"),
			a.nsPerOp, b.nsPerOp, mb(a), mb(b), allocs(a), allocs(b), b.nsPerOp/a.nsPerOp)
	}
	tw.Flush()
}

func mb(r result) string {
	if !r.hasMB {
		return "-"
	}
	return strconv.FormatFloat(r.mbPerS, 'f', 1, 64)
}

func allocs(r result) string {
	if !r.hasAllocs {
		return "-"
	}
	return strconv.FormatFloat(r.allocs, 'f', 0, 64)
}
