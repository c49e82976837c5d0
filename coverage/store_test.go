package coverage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/coverage"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

var asOf = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// kid is a synthetic child for a VXU.
type kid struct {
	mrn, last, first, dob, town, county string
}

// routine is the routine schedule of a child born 2023-01-15 (CVX:date),
// up to date at 24 months.
var routine = []string{
	"08:20230115", "08:20230215", "08:20230717",
	"20:20230315", "20:20230515", "20:20230717", "20:20240415",
	"10:20230315", "10:20230515", "10:20230717",
	"48:20230315", "48:20230515", "48:20230717", "48:20240116",
	"133:20230315", "133:20230515", "133:20230717", "133:20240116",
	"03:20240116", "21:20240116",
}

// earlyHepB3 is routine with HepB #3 at 23 weeks and 2 days.
func earlyHepB3() []string {
	out := append([]string(nil), routine...)
	out[2] = "08:20230627"
	return out
}

// VXU builds a VXU from facility fac for k with one RXA per "cvx:date".
func VXU(fac, ctl string, k kid, doses ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|20250601120000||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, ctl)
	fmt.Fprintf(&b, "PID|1||%s^^^%s^MR||%s^%s^^^^^L|Mother^^^^^^M|%s|F|||1 Main St^^%s^CT^06001^USA^P^^%s\r",
		k.mrn, fac, k.last, k.first, k.dob, k.town, k.county)
	for i, d := range doses {
		cvx, on, _ := strings.Cut(d, ":")
		fmt.Fprintf(&b, "ORC|RE||%s-%d^%s\r", ctl, i+1, fac)
		fmt.Fprintf(&b, "RXA|0|1|%s||%s^vaccine^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||||||||CP|A\r", on, cvx)
	}
	return []byte(b.String())
}

var validator = immz.New(immz.Config{Now: func() time.Time { return asOf }})

// store applies VXUs in order (each its own transaction) and returns the
// patient id of each.
func store(t testing.TB, s *registry.Store, raws ...[]byte) []int64 {
	t.Helper()
	var ids []int64
	for i, raw := range raws {
		res := validator.Decode(raw)
		if res.VXU == nil {
			t.Fatalf("VXU %d not accepted: %+v", i, res.Issues)
		}
		fac := res.Header.SendingFacility.Name
		m := &registry.Message{Kind: "vxu", Facility: fac, ControlID: res.Header.ControlID, Type: "VXU",
			Ack: validator.AckCode(res), Transport: "mllp", Received: time.Now(), Raw: raw, Decoded: res}
		r, err := s.ApplyLocked(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.PatientID)
	}
	return ids
}

func open(t testing.TB) (*registry.Store, *coverage.Assessor) {
	t.Helper()
	s, err := registry.Open(context.Background(), registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	e, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	return s, coverage.NewAssessor(e)
}

func TestCohortAttributionAndReport(t *testing.T) {
	ctx := context.Background()
	s, a := open(t)
	ids := store(t, s,
		VXU("CLINA", "a1", kid{"A1", "Able", "Ann", "20230115", "Hartford", "Hartford"}, routine...),
		VXU("CLINA", "a2", kid{"A2", "Baker", "Bea", "20230115", "Hartford", "Hartford"}, earlyHepB3()...),
		// Cara: first at CLINB, then CLINA reports her most recently.
		VXU("CLINB", "b1", kid{"B1", "Cole", "Cara", "20230115", "Mystic", "New London"}, routine[:10]...),
		VXU("CLINA", "a3", kid{"B1", "Cole", "Cara", "20230115", "Mystic", "New London"}, routine[10:]...),
		// Dan is 5 years old: outside the AFIX cohort.
		VXU("CLINA", "a4", kid{"A4", "Dunn", "Dan", "20200115", "Hartford", "Hartford"}, "03:20210116"),
	)
	if ids[2] != ids[3] {
		t.Fatalf("Cara's two reports made patients %d and %d", ids[2], ids[3])
	}
	run := func(p coverage.Params) *coverage.Report {
		t.Helper()
		p.AsOf = asOf
		r, err := coverage.Run(ctx, s, a, p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := run(coverage.Params{})
	if r.Total.Children != 3 || r.Total.UpToDate[coverage.Series4313314] != 2 || r.Total.UpToDate[coverage.HepB] != 2 {
		t.Fatalf("statewide: %+v", r.Total)
	}
	if len(r.NotUpToDate) != 1 || r.NotUpToDate[0].PatientID != ids[1] || r.NotUpToDate[0].Gaps[0].Measure != coverage.HepB {
		t.Fatalf("not up to date: %+v", r.NotUpToDate)
	}
	if got := r.ByFacility["CLINA"]; got == nil || got.Children != 3 {
		t.Fatalf("CLINA: %+v (Cara is CLINA's, the clinic that reported her last)", got)
	}
	if got := r.ByCounty["New London"]; got == nil || got.Children != 1 {
		t.Fatalf("by county: %+v", r.ByCounty)
	}
	if got := r.ByMonth["2025-01"]; got == nil || got.Children != 3 {
		t.Fatalf("by month: %+v", r.ByMonth)
	}

	// CLINA marks Cara moved or gone elsewhere: she is CLINB's again.
	if err := s.MarkMovedOrGoneElsewhere(ctx, ids[2], "CLINA", "user:coord"); err != nil {
		t.Fatal(err)
	}
	if r := run(coverage.Params{Facility: "CLINA"}); r.Total.Children != 2 {
		t.Fatalf("CLINA after MOGE: %+v", r.Total)
	}
	// Reminder/recall reads the same mark.
	if m, err := s.MarkedMovedOrGoneElsewhere(ctx, "CLINA", ids); err != nil || len(m) != 1 || !m[ids[2]] {
		t.Fatalf("CLINA's marks among %v: %v %v", ids, m, err)
	}
	if r := run(coverage.Params{Facility: "CLINB"}); r.Total.Children != 1 || r.Total.UpToDate[coverage.Series4313314] != 1 {
		t.Fatalf("CLINB after CLINA's MOGE: %+v", r.Total)
	}
	// CLINB marks her too: she belongs to no clinic, still statewide.
	if err := s.MarkMovedOrGoneElsewhere(ctx, ids[2], "CLINB", "user:coordb"); err != nil {
		t.Fatal(err)
	}
	r = run(coverage.Params{})
	if r.Total.Children != 3 || r.ByFacility[""] == nil || r.ByFacility[""].Children != 1 {
		t.Fatalf("after both marks: total %+v, by facility %v", r.Total, r.ByFacility)
	}
	marks, err := s.MovedOrGoneElsewhereMarks(ctx, ids[2])
	if err != nil || len(marks) != 2 || marks[0].MarkedBy != "user:coord" {
		t.Fatalf("marks %+v, %v", marks, err)
	}
	if err := s.UnmarkMovedOrGoneElsewhere(ctx, ids[2], "CLINA", "user:coord"); err != nil {
		t.Fatal(err)
	}
	if r := run(coverage.Params{Facility: "CLINA"}); r.Total.Children != 3 {
		t.Fatalf("CLINA after unmark: %+v", r.Total)
	}
	// Town filter, and the at-assessment-date measure.
	if r := run(coverage.Params{Town: "hartford", Timing: coverage.AtAssessment}); r.Total.Children != 2 {
		t.Fatalf("Hartford: %+v", r.Total)
	}
	// Two partitions add up to the whole.
	var sum coverage.Tally
	for part := range int64(2) {
		sum.Add(&run(coverage.Params{Partitions: 2, Partition: part}).Total)
	}
	if all := run(coverage.Params{}).Total; sum != all {
		t.Fatalf("partitions sum to %+v, the whole is %+v", sum, all)
	}
	// Bad parameters.
	if _, err := coverage.Run(ctx, s, a, coverage.Params{Cohort: coverage.BirthCohort, AsOf: asOf}); err == nil {
		t.Fatal("a birth cohort without dates ran")
	}
}
