package registry

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/iisproject/iis/codeset"
)

// SeedChild is a synthetic patient with doses, for coverage benchmarks.
type SeedChild struct {
	Family, Given, Sex string
	BirthDate          time.Time
	Town, County       string
	Facility           string // the clinic that reported the doses
	Doses              []SeedDose
}

// SeedDose is one dose of a SeedChild.
type SeedDose struct {
	CVX string
	On  time.Time
}

// SeedChildren loads children with COPY as if their clinic had reported
// all their doses in one VXU each: a patient, its address, one source
// report, a source vaccination and a consolidated event per dose. It
// builds a large registry for the coverage benchmarks quickly (no
// identifiers or blocking keys: the children are not found by matching),
// then analyzes the tables. It returns the number of children loaded.
func SeedChildren(ctx context.Context, pool *pgxpool.Pool, kids []SeedChild) (int, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("registry: seed children: %w", err)
	}
	defer conn.Release()
	ids, err := reserveIDs(ctx, conn, "patients_id_seq", len(kids))
	if err != nil {
		return 0, err
	}
	reports, err := reserveIDs(ctx, conn, "source_reports_id_seq", len(kids))
	if err != nil {
		return 0, err
	}
	nd := 0
	for _, k := range kids {
		nd += len(k.Doses)
	}
	doses, err := reserveIDs(ctx, conn, "source_vaccinations_id_seq", nd)
	if err != nil {
		return 0, err
	}
	const chunk = 20000
	emptyDigest := sha256.Sum256(nil) // seeded reports have no body
	codes := codeset.Default()
	for lo := 0; lo < len(kids); lo += chunk {
		hi := min(lo+chunk, len(kids))
		var pats, addrs, reps, svs, evs [][]any
		now := time.Now()
		for i := lo; i < hi; i++ {
			k, id, rep := &kids[i], ids+int64(i), reports+int64(i)
			pats = append(pats, []any{id, now, now, k.Family, k.Given, k.BirthDate, k.Sex})
			addrs = append(addrs, []any{id, "1 Main St", k.Town, "CT", k.County, "P", now})
			ctl := fmt.Sprintf("seed-%d", id)
			reps = append(reps, []any{rep, k.Facility, ctl, "VXU", "vxu", "AA", "seed", now, id, "new", emptyDigest[:]})
			for j, d := range k.Doses {
				var groups []string
				if v, ok := codes.Vaccine(d.CVX); ok {
					for _, g := range v.Groups {
						groups = append(groups, g.Name)
					}
				}
				sv := doses
				doses++
				svs = append(svs, []any{sv, rep, id, k.Facility, ctl, j + 1, now, d.CVX, d.On, sv, "winner"})
				evs = append(evs, []any{sv, id, groups, d.CVX, d.On, false, 1})
			}
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			for _, c := range []struct {
				table string
				cols  []string
				rows  [][]any
			}{
				{"patients", []string{"id", "created_at", "updated_at", "family_name", "given_name", "birth_date", "sex"}, pats},
				{"patient_addresses", []string{"patient_id", "street", "city", "state", "county", "type", "reported_at"}, addrs},
				{"source_reports", []string{"id", "facility", "control_id", "message_type", "kind", "ack_code", "transport", "received_at", "patient_id", "match_outcome", "raw_digest"}, reps},
				{"source_vaccinations", []string{"id", "report_id", "patient_id", "facility", "control_id", "position", "received_at", "cvx", "administered_on", "event_id", "consolidation"}, svs},
				{"vaccination_events", []string{"id", "patient_id", "vaccine_groups", "cvx", "administered_on", "historical", "source_count"}, evs},
			} {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
					return fmt.Errorf("%s: %w", c.table, err)
				}
			}
			return nil
		})
		if err != nil {
			return lo, fmt.Errorf("registry: seed children: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) patients, patient_addresses, source_reports, source_vaccinations, vaccination_events`); err != nil {
		return len(kids), fmt.Errorf("registry: seed children: vacuum: %w", err)
	}
	return len(kids), nil
}

// reserveIDs takes n values of a sequence and returns the first.
func reserveIDs(ctx context.Context, conn *pgxpool.Conn, seq string, n int) (int64, error) {
	var first int64
	if err := conn.QueryRow(ctx, `SELECT nextval($1)`, seq).Scan(&first); err != nil {
		return 0, fmt.Errorf("registry: seed children: %w", err)
	}
	if n > 1 {
		if _, err := conn.Exec(ctx, `SELECT setval($1, $2)`, seq, first+int64(n)-1); err != nil {
			return 0, fmt.Errorf("registry: seed children: %w", err)
		}
	}
	return first, nil
}

// scheduledDose is one dose of the routine schedule: CVX and age in days.
type scheduledDose struct {
	cvx string
	age int
}

var routineSchedule = []scheduledDose{
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

// SyntheticChildren makes n synthetic patients born over the 19 years before
// asOf, each vaccinated on the routine schedule up to asOf with
// realistic delays: 70% within two weeks of each date, 20% drifting later
// dose after dose (up to three months each), 10% also missing a quarter
// of their doses; 3% get HepB #3 at 21 weeks (too young: not up to date),
// 1% MMR at 11 months (not valid). 200 clinics, 169 towns, 8 counties.
func SyntheticChildren(n int, asOf time.Time, seed uint64) []SeedChild {
	rng := rand.New(rand.NewPCG(seed, 16))
	counties := []string{"Hartford", "New Haven", "Fairfield", "Litchfield", "Middlesex", "New London", "Tolland", "Windham"}
	kids := make([]SeedChild, n)
	for i := range kids {
		dob := asOf.AddDate(0, 0, -rng.IntN(19*365))
		town := rng.IntN(169)
		k := SeedChild{Family: fmt.Sprintf("Family%d", i), Given: "Child", Sex: [2]string{"F", "M"}[rng.IntN(2)],
			BirthDate: dob, Town: fmt.Sprintf("Town%03d", town), County: counties[town%len(counties)],
			Facility: fmt.Sprintf("CLIN%03d", rng.IntN(200))}
		profile := rng.IntN(100)
		drift := 0
		visit := map[int]int{} // scheduled age -> age given: the doses of a visit are given together
		for _, s := range routineSchedule {
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
			k.Doses = append(k.Doses, SeedDose{CVX: s.cvx, On: on})
		}
		kids[i] = k
	}
	return kids
}

// SeedSyntheticChildren seeds n SyntheticChildren as of asOf, 100,000 at
// a time, for the reports' benchmarks.
func SeedSyntheticChildren(ctx context.Context, pool *pgxpool.Pool, n int, asOf time.Time) error {
	for lo := 0; lo < n; lo += 100_000 {
		if _, err := SeedChildren(ctx, pool, SyntheticChildren(min(100_000, n-lo), asOf, uint64(lo))); err != nil {
			return err
		}
	}
	return nil
}
