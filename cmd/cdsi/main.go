// Command cdsi runs the CDSi immunization forecaster.
//
//	cdsi [-data dir] forecast <history.json>
//	cdsi [-data dir] check [-v] <cases.json>...
//
// forecast prints the evaluation and forecast for one patient history given
// as JSON: {"dob","gender","assessment_date","observations":[{"code","date"}],
// "doses":[{"date","cvx","mvx"}]} (the shape of one CDC test case).
// check runs every case of files in the CDC test-case JSON format, prints
// each case's pass/fail with its differences, and ends with the line
// "N passed, M failed".
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/forecast/testcase"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cdsi:", err)
		os.Exit(2)
	}
}

func usage() error {
	return errors.New("usage: cdsi [-data dir] forecast <history.json> | cdsi [-data dir] check [-v] <cases.json>...")
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("cdsi", flag.ContinueOnError)
	data := fs.String("data", "", "directory holding a CDC supporting-data release (default: the embedded release)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usage()
	}
	var e *forecast.Engine
	var err error
	if *data != "" {
		e, err = forecast.New(os.DirFS(*data))
	} else {
		e, err = forecast.Default()
	}
	if err != nil {
		return err
	}
	switch fs.Arg(0) {
	case "forecast":
		ff := flag.NewFlagSet("forecast", flag.ContinueOnError)
		asOf := ff.String("asof", "", "assessment date YYYY-MM-DD (default: the history's assessment_date, else today)")
		if err := ff.Parse(fs.Args()[1:]); err != nil {
			return err
		}
		if ff.NArg() != 1 {
			return usage()
		}
		return forecastCmd(e, ff.Arg(0), *asOf, out)
	case "check":
		cf := flag.NewFlagSet("check", flag.ContinueOnError)
		verbose := cf.Bool("v", false, "print passing cases too")
		only := cf.String("case", "", "run only the case with this id and print its full result")
		if err := cf.Parse(fs.Args()[1:]); err != nil {
			return err
		}
		if cf.NArg() == 0 {
			return usage()
		}
		return checkCmd(e, cf.Args(), *verbose, *only, out)
	}
	return usage()
}

func forecastCmd(e *forecast.Engine, path, asOfFlag string, out io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var (
		p        forecast.Patient
		doses    []forecast.Dose
		refusals []forecast.Refusal
		asOf     time.Time
	)
	trimmed := strings.TrimSpace(string(b))
	switch {
	case strings.HasPrefix(trimmed, "MSH"):
		rec, err := fromVXU(e, b)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		p, doses, refusals = rec.Patient, rec.Doses, rec.Refusals
	case strings.HasPrefix(trimmed, "{"):
		var c testcase.Case
		if err := json.Unmarshal(b, &c); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if c.AssessmentDate == "" {
			c.AssessmentDate = time.Now().Format(time.DateOnly)
		}
		if p, doses, asOf, err = c.Input(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s: want a JSON history or an HL7 VXU message", path)
	}
	if asOfFlag != "" {
		if asOf, err = time.Parse(time.DateOnly, asOfFlag); err != nil {
			return fmt.Errorf("-asof: %w", err)
		}
	}
	if asOf.IsZero() {
		y, m, d := time.Now().Date()
		asOf = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	res := e.Forecast(p, doses, asOf)
	fmt.Fprintf(out, "Assessment date %s, supporting data %s\n\n", asOf.Format(time.DateOnly), e.Version())
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VACCINE GROUP\tSTATUS\tDOSE\tEARLIEST\tRECOMMENDED\tPAST DUE\tLATEST")
	for _, g := range res.Groups {
		dn := ""
		if g.DoseNumber > 0 && g.Status == forecast.NotComplete {
			dn = fmt.Sprint(g.DoseNumber)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.VaccineGroup, g.Status, dn, g.Earliest, g.Recommended, g.PastDue, g.Latest)
	}
	tw.Flush()
	if len(doses) > 0 {
		fmt.Fprintln(out, "\nDose evaluations:")
		for _, ev := range res.Evaluations {
			d := doses[ev.Dose]
			line := fmt.Sprintf("  #%d %s CVX %s  %-10s %-11s", ev.Dose+1, day(d.Date), d.CVX, ev.Antigen, ev.Status)
			if ev.Reason != "" {
				line += "  " + ev.Reason
			}
			fmt.Fprintln(out, line)
		}
	}
	if len(refusals) > 0 {
		// CDSi does not use refusals: a refused dose is still due.
		fmt.Fprintln(out, "\nRefusals:")
		for _, r := range refusals {
			fmt.Fprintf(out, "  %s CVX %s  reason %s\n", day(r.Date), r.CVX, strings.Join(r.Reasons, ", "))
		}
	}
	fmt.Fprintln(out, "\nReasons:")
	for _, g := range res.Groups {
		fmt.Fprintf(out, "  %s: %s\n", g.VaccineGroup, g.Reason)
	}
	return nil
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

func checkCmd(e *forecast.Engine, paths []string, verbose bool, only string, out io.Writer) error {
	passed, failed := 0, 0
	for _, path := range paths {
		f, labels, err := testcase.Load(path)
		if err != nil {
			return err
		}
		for i := range f.Cases {
			c := &f.Cases[i]
			if only != "" && c.ID != only {
				continue
			}
			o := testcase.Check(e, c, labels)
			if only != "" {
				detail(e, c, out)
			}
			if o.Pass() {
				passed++
				if verbose {
					fmt.Fprintf(out, "PASS %s [%s] %s\n", c.ID, o.Group, c.Name)
				}
				continue
			}
			failed++
			fmt.Fprintf(out, "FAIL %s [%s] %s\n", c.ID, o.Group, c.Name)
			for _, d := range o.Diffs {
				fmt.Fprintf(out, "     %s\n", d)
			}
		}
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", passed, failed)
	return nil
}

// detail prints every antigen's result for one case (debugging aid).
func detail(e *forecast.Engine, c *testcase.Case, out io.Writer) {
	p, doses, asOf, err := c.Input()
	if err != nil {
		fmt.Fprintln(out, err)
		return
	}
	res := e.Forecast(p, doses, asOf)
	fmt.Fprintf(out, "case %s dob %s assessed %s: %s\n", c.ID, c.DOB, c.AssessmentDate, c.Description)
	for _, a := range res.Antigens {
		fmt.Fprintf(out, "  %-14s %-16s dose %d  %s %s %s  [%s] %s\n", a.Antigen, a.Status, a.DoseNumber, a.Earliest, a.Recommended, a.PastDue, a.Series, a.Reason)
	}
	for _, ev := range res.Evaluations {
		d := doses[ev.Dose]
		fmt.Fprintf(out, "    #%d %s CVX %s %-12s td%d %s %s\n", ev.Dose+1, day(d.Date), d.CVX, ev.Antigen, ev.TargetDose, ev.Status, ev.Reason)
	}
}
