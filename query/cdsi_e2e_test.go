package query

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/forecast/cdsidata"
	"github.com/iisproject/iis/forecast/testcase"
	"github.com/iisproject/iis/hl7"
)

// TestCDSiCasesThroughRegistry: every CDC test case with observations
// (conditions, immunity, contraindications), sent as a VXU — its doses as
// historical RXA, its observations as OBX under a 998 "no vaccine
// administered" RXA — through the worker into PostgreSQL and queried as
// Z44, gets the forecast `cdsi check` computes for the case: the case's
// vaccine group's series status, next dose number and dates.
func TestCDSiCasesThroughRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	f, labels, err := testcase.Load("../testdata/cdsi/testcases/conditions-v4.6.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	coded := observationCodes(t, e)
	p := newPipeline(t)
	var cases []*testcase.Case
	for i := range f.Cases {
		c := &f.Cases[i]
		if len(c.Observations) == 0 {
			continue
		}
		cases = append(cases, c)
		p.send(t, caseVXU(t, len(cases), c, coded))
	}
	if len(cases) < 300 {
		t.Fatalf("only %d cases with observations", len(cases))
	}
	p.wait(t)
	failed := 0
	for i, c := range cases {
		pin, doses, asOf, err := c.Input()
		if err != nil {
			t.Fatal(err)
		}
		want := e.Forecast(pin, doses, asOf)
		group := testcase.GroupName(c.VaccineGroup, labels)
		g := want.Group(group)
		if g == nil { // a group this release does not forecast
			continue
		}
		p.asOf = asOf
		id, family, given := caseNames(i + 1)
		m := p.query(t, qbp("Z44", fmt.Sprint("Q", i), id, family, given, strings.ReplaceAll(c.DOB, "-", ""), c.Gender))
		if !m.Get("MSH-21.1").Equal("Z42") {
			t.Fatalf("case %s: answered %q", c.ID, m.Bytes())
		}
		got := forecastOf(m)[groupCode(g.VaccineGroup).Code]
		exp := rspForecast{status: wantStatus(g, asOf), earliest: day(g.Earliest), due: day(g.Recommended), overdue: day(g.PastDue)}
		if g.DoseNumber > 0 {
			exp.dose = fmt.Sprint(g.DoseNumber)
		}
		if got != exp {
			failed++
			if failed <= 15 {
				t.Errorf("case %s (%s, observations %v): Z42 %+v, cdsi %+v", c.ID, group, c.Observations, got, exp)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d cases differ", failed, len(cases))
	}
}

// observationCodes maps each CDSi observation code to a SNOMED or
// CDCPHINVS code CDC lists for it and that names it alone; the others are
// sent with the CDSI coding system.
func observationCodes(t *testing.T, e *forecast.Engine) map[string][2]string {
	b, err := fs.ReadFile(cdsidata.FS, "ScheduleSupportingData.xml")
	if err != nil {
		t.Fatal(err)
	}
	obsRe := regexp.MustCompile(`(?s)<observation>(.*?)</observation>`)
	codeRe := regexp.MustCompile(`<observationCode>\s*(.*?)\s*</observationCode>`)
	valRe := regexp.MustCompile(`(?s)<code>\s*(.*?)\s*</code>\s*<codeSystem>\s*(.*?)\s*</codeSystem>`)
	out := map[string][2]string{}
	for _, o := range obsRe.FindAllSubmatch(b, -1) {
		cm := codeRe.FindSubmatch(o[1])
		if cm == nil {
			continue
		}
		code := string(cm[1])
		for _, v := range valRe.FindAllSubmatch(o[1], -1) {
			sys := string(v[2])
			if (sys == "SNOMED" || sys == "CDCPHINVS") && e.ObservationCode(string(v[1])) == code {
				if sys == "SNOMED" {
					sys = "SCT"
				}
				out[code] = [2]string{string(v[1]), sys}
				break
			}
		}
	}
	return out
}

func caseNames(n int) (id, family, given string) {
	letters := func(n int) string {
		s := ""
		for ; n > 0; n /= 26 {
			s += string(rune('A' + n%26))
		}
		return s
	}
	return fmt.Sprint("CASE", n), "Cdsi" + strings.ToLower(letters(n*7+3)), "Pat" + strings.ToLower(letters(n*13+5))
}

// caseVXU is a case as a VXU: the doses historical, the observations
// under a 998 RXA given on the birth date.
func caseVXU(t *testing.T, n int, c *testcase.Case, coded map[string][2]string) []byte {
	id, family, given := caseNames(n)
	dt := func(s string) string { return strings.ReplaceAll(s, "-", "") }
	text := func(s string) string { // a display text without HL7 delimiters or line breaks
		s, _, _ = strings.Cut(s, "\n")
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune("|^~\\&\r", r) {
				return ' '
			}
			return r
		}, s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|TESTAPP|TESTFAC|IIS|IIS|20250101120000||VXU^V04^VXU_V04|CASE%d|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", n)
	fmt.Fprintf(&b, "PID|1||%s^^^AUTH^MR||%s^%s^^^^^L||%s|%s\r", id, family, given, dt(c.DOB), c.Gender)
	for k, d := range c.Doses {
		fmt.Fprintf(&b, "ORC|RE||%s-%d^TESTFAC\r", id, k+1)
		fmt.Fprintf(&b, "RXA|0|1|%s|%s|%s^%s^CVX|999|||01^Historical^NIP001||||||||%s^^MVX\r", dt(d.Date), dt(d.Date), d.CVX, text(d.Vaccine), d.MVX)
	}
	fmt.Fprintf(&b, "ORC|RE||%s-obs^TESTFAC\r", id)
	fmt.Fprintf(&b, "RXA|0|1|%s|%s|998^No vaccine administered^CVX|999||||||||||||||NA\r", dt(c.DOB), dt(c.DOB))
	for k, o := range c.Observations {
		v, ok := coded[o.Code]
		if !ok {
			v = [2]string{o.Code, forecast.CodeSystemCDSi}
		}
		date := ""
		if o.Date != "" {
			date = dt(o.Date)
		}
		fmt.Fprintf(&b, "OBX|%d|CE|59785-6^Indication for immunization^LN|%d|%s^%s^%s||||||F|||%s\r", k+1, k+1, v[0], text(o.Text), v[1], date)
	}
	return []byte(b.String())
}

// rspForecast is one vaccine group's forecast as a Z42 gives it.
type rspForecast struct {
	status, dose, earliest, due, overdue string
}

// forecastOf reads the forecast OBX (under the last 998 RXA) by vaccine
// group (30956-7 code).
func forecastOf(m *hl7.Message) map[string]rspForecast {
	out := map[string]rspForecast{}
	inForecast, group := false, ""
	for _, seg := range m.Segments() {
		if seg.Is("RXA") {
			// The forecast rides on the last 998 RXA.
			inForecast = seg.Field(5).Comp(1).Equal("998") && seg.Field(20).Equal("NA")
			if inForecast {
				out = map[string]rspForecast{}
			}
		}
		if !inForecast || !seg.Is("OBX") {
			continue
		}
		value := seg.Field(5).String()
		f := out[group]
		switch seg.Field(3).Comp(1).String() {
		case "30956-7":
			group = seg.Field(5).Comp(1).String()
			out[group] = rspForecast{}
			continue
		case "59783-1":
			f.status = seg.Field(5).Comp(2).String()
		case "30973-2":
			f.dose = value
		case "30981-5":
			f.earliest = value
		case "30980-7":
			f.due = value
		case "59778-1":
			f.overdue = value
		}
		out[group] = f
	}
	return out
}

func wantStatus(g *forecast.GroupForecast, on time.Time) string {
	switch s := strings.ToLower(g.Status.String()); s {
	case "complete":
		return "Complete"
	case "aged out":
		return "Too old"
	case "not complete":
		if pd := g.PastDue.Time(); !pd.IsZero() && !on.Before(pd) {
			return "Overdue"
		}
		return "On schedule"
	}
	return g.Status.String()
}

func day(d forecast.Date) string {
	t := d.Time()
	if t.IsZero() {
		return ""
	}
	return t.Format("20060102")
}
