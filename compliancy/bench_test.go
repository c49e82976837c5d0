package compliancy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/iisproject/iis/compliancy"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// benchDay is the benchmark population's "today".
var benchDay = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// The synthetic population (as package coverage's benchmark makes it).
// scheduled is one dose of the routine schedule: CVX and age in days.
type scheduled struct {
	cvx string
	age int
}

var schedule = []scheduled{
	{"08", 0}, {"08", 30}, {"08", 183},
	{"20", 61}, {"20", 122}, {"20", 183}, {"20", 457}, {"20", 1642},
	{"10", 61}, {"10", 122}, {"10", 183}, {"10", 1642},
	{"48", 61}, {"48", 122}, {"48", 183}, {"48", 380},
	{"133", 61}, {"133", 122}, {"133", 183}, {"133", 380},
	{"116", 61}, {"116", 122}, {"116", 183},
	{"03", 380}, {"03", 1642}, {"21", 380}, {"21", 1642},
	{"83", 380}, {"83", 560},
	{"115", 4040}, {"114", 4040}, {"114", 5850}, {"165", 4040}, {"165", 4230},
}

// population makes n synthetic patients born over the 19 years before
// asOf, each vaccinated on the routine schedule up to asOf with
// realistic delays: 70% within two weeks of each date, 20% drifting later
// dose after dose (up to three months each), 10% also missing a quarter
// of their doses; 3% get HepB #3 at 21 weeks (too young: not up to date),
// 1% MMR at 11 months (not valid). 200 clinics, 169 towns, 8 counties.
func population(n int, asOf time.Time, seed uint64) []registry.SeedChild {
	rng := rand.New(rand.NewPCG(seed, 16))
	counties := []string{"Hartford", "New Haven", "Fairfield", "Litchfield", "Middlesex", "New London", "Tolland", "Windham"}
	kids := make([]registry.SeedChild, n)
	for i := range kids {
		dob := asOf.AddDate(0, 0, -rng.IntN(19*365))
		town := rng.IntN(169)
		k := registry.SeedChild{Family: fmt.Sprintf("Family%d", i), Given: "Child", Sex: [2]string{"F", "M"}[rng.IntN(2)],
			BirthDate: dob, Town: fmt.Sprintf("Town%03d", town), County: counties[town%len(counties)],
			Facility: fmt.Sprintf("CLIN%03d", rng.IntN(200))}
		profile := rng.IntN(100)
		drift := 0
		visit := map[int]int{} // scheduled age -> age given: the doses of a visit are given together
		for _, s := range schedule {
			if profile >= 90 && rng.IntN(4) == 0 {
				continue
			}
			age, ok := visit[s.age]
			if !ok {
				age = s.age
				switch {
				case profile < 70:
					age += rng.IntN(15)
				default:
					drift += rng.IntN(90)
					age += drift
				}
				visit[s.age] = age
			}
			if s.cvx == "08" && s.age == 183 && profile%33 == 0 {
				age = 147
			}
			if s.cvx == "03" && s.age == 380 && profile == 50 {
				age = 335
			}
			on := dob.AddDate(0, 0, age)
			if on.After(asOf) {
				continue
			}
			k.Doses = append(k.Doses, registry.SeedDose{CVX: s.cvx, On: on})
		}
		kids[i] = k
	}
	return kids
}

// benchRegistry opens the benchmark registry: IIS_BENCH_DATABASE_URL, or
// a new database, seeded with IIS_BENCH_PATIENTS patients (default
// 100,000) unless it holds seeded children already.
func benchRegistry(b *testing.B) *registry.Store {
	ctx := context.Background()
	url := os.Getenv("IIS_BENCH_DATABASE_URL")
	if url == "" {
		url = pgtest.NewDatabase(b)
	}
	s, err := registry.Open(ctx, registry.Config{URL: url, MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	var have int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM patients`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == 0 {
		n := 100_000
		if v, err := strconv.Atoi(os.Getenv("IIS_BENCH_PATIENTS")); err == nil && v > 0 {
			n = v
		}
		t0 := time.Now()
		for lo := 0; lo < n; lo += 100_000 {
			kids := population(min(100_000, n-lo), benchDay, uint64(lo))
			if _, err := registry.SeedChildren(ctx, s.Pool(), kids); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("seeded %d patients in %v", n, time.Since(t0).Round(time.Second))
	}
	return s
}

// BenchmarkLists measures one clinic's monthly and Goldenrod lists and
// the statewide outreach lists (children under 36 months), on a registry
// of IIS_BENCH_PATIENTS synthetic patients (see population).
func BenchmarkLists(b *testing.B) {
	s := benchRegistry(b)
	e, err := forecast.Default()
	if err != nil {
		b.Fatal(err)
	}
	l := &compliancy.Lists{Source: s, Engine: e}
	ctx := context.Background()
	b.Run("monthly-clinic", func(b *testing.B) {
		var m *compliancy.Monthly
		for b.Loop() {
			if m, err = l.Monthly(ctx, "CLIN007", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(m.Considered[8]+m.Considered[20]), "children")
		b.ReportMetric(float64(len(m.Rows)), "listed")
	})
	b.Run("goldenrod-clinic", func(b *testing.B) {
		var g *compliancy.Goldenrod
		for b.Loop() {
			if g, err = l.Goldenrod(ctx, "CLIN007", 2025, benchDay); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(g.Considered), "children")
		b.ReportMetric(float64(len(g.Rows)), "listed")
	})
	b.Run("outreach-statewide", func(b *testing.B) {
		var o *compliancy.Outreach
		for b.Loop() {
			if o, err = l.Outreach(ctx, benchDay, 36, map[string]string{"town001": "North"}, ""); err != nil {
				b.Fatal(err)
			}
		}
		late := 0
		for _, a := range o.Areas {
			late += a.Late
		}
		b.ReportMetric(float64(o.Considered), "children")
		b.ReportMetric(float64(late), "late")
	})
}
