package compliancy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/compliancy"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

var today = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// kid is a synthetic child for a VXU.
type kid struct {
	mrn, last, first, dob, town, county string
}

// schedule is "CVX@days after birth".
var (
	infant = []string{"08@0", "08@31", "08@183",
		"20@59", "20@120", "20@183", "10@59", "10@120", "10@183", "48@59", "48@120", "48@183",
		"133@59", "133@120", "133@183", "116@59", "116@120", "116@183"}
	toddler = append(append([]string(nil), infant...), "03@366", "21@366", "48@366", "133@366", "83@366", "20@456")
)

func drop(list []string, cvx string) []string {
	var out []string
	for _, s := range list {
		if !strings.HasPrefix(s, cvx+"@") {
			out = append(out, s)
		}
	}
	return out
}

// VXU builds a VXU from facility fac for k with one RXA per "cvx@days".
func VXU(fac, ctl string, k kid, doses ...string) []byte {
	dob, err := time.Parse("20060102", k.dob)
	if err != nil {
		panic(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|20250601120000||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, ctl)
	fmt.Fprintf(&b, "PID|1||%s^^^%s^MR||%s^%s^^^^^L|Mother^^^^^^M|%s|F|||1 Main St^^%s^CT^06001^USA^P^^%s\r",
		k.mrn, fac, k.last, k.first, k.dob, k.town, k.county)
	for i, d := range doses {
		cvx, days, _ := strings.Cut(d, "@")
		var n int
		fmt.Sscan(days, &n)
		fmt.Fprintf(&b, "ORC|RE||%s-%d^%s\r", ctl, i+1, fac)
		fmt.Fprintf(&b, "RXA|0|1|%s||%s^vaccine^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||||||||CP|A\r", dob.AddDate(0, 0, n).Format("20060102"), cvx)
	}
	return []byte(b.String())
}

var validator = immz.New(immz.Config{Now: func() time.Time { return today }})

// store applies VXUs in order and returns the patient id of each.
func store(t testing.TB, s *registry.Store, raws ...[]byte) []int64 {
	t.Helper()
	var ids []int64
	for i, raw := range raws {
		res := validator.Decode(raw)
		if res.VXU == nil {
			t.Fatalf("VXU %d not accepted: %+v", i, res.Issues)
		}
		m := &registry.Message{Kind: "vxu", Facility: res.Header.SendingFacility.Name, ControlID: res.Header.ControlID, Type: "VXU",
			Ack: validator.AckCode(res), Transport: "mllp", Received: time.Now(), Raw: raw, Decoded: res}
		r, err := s.ApplyLocked(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.PatientID)
	}
	return ids
}

// fixturePopulation stores the children of the tests: who turned 8 or 20 months
// in May 2025, who turns 2 in 2025, at two clinics and three towns.
func fixturePopulation(t *testing.T) (*registry.Store, *forecast.Engine, []int64) {
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
	early := append(drop(toddler, "08"), "08@0", "08@31", "08@160") // HepB #3 before 24 weeks
	ids := store(t, s,
		VXU("CLINA", "k1", kid{"K1", "Able", "Ann", "20240915", "Hartford", "Hartford"}, infant...),
		VXU("CLINA", "k2", kid{"K2", "Baker", "Bea", "20240915", "Hartford", "Hartford"}, drop(infant, "20")...),
		VXU("CLINA", "k3", kid{"K3", "Cole", "Cara", "20230910", "Hartford", "Hartford"}, drop(toddler, "03")...),
		VXU("CLINB", "k4", kid{"K4", "Dunn", "Dan", "20240915", "Mystic", "New London"}, "08@0"),
		VXU("CLINA", "k5", kid{"K5", "Eve", "Eli", "20240815", "Hartford", "Hartford"}, "08@0"),
		VXU("CLINA", "g1", kid{"G1", "Ford", "Fay", "20230115", "Hartford", "Hartford"}, toddler...),
		VXU("CLINA", "g2", kid{"G2", "Gray", "Gus", "20230115", "Hartford", "Hartford"}, early...),
	)
	return s, e, ids
}

func TestLists(t *testing.T) {
	ctx := context.Background()
	s, e, ids := fixturePopulation(t)
	l := &compliancy.Lists{Source: s, Engine: e}

	m, err := l.Monthly(ctx, "CLINA", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if m.Considered[8] != 2 || m.Considered[20] != 1 || len(m.Rows) != 2 {
		t.Fatalf("monthly: %+v", m)
	}
	if r := m.Rows[0]; r.PatientID != ids[1] || r.Age != 8 || r.Reached.Format(time.DateOnly) != "2025-05-15" ||
		len(r.Missing) != 1 || !strings.HasPrefix(r.Missing[0], "DTaP/Tdap/Td dose 1") {
		t.Fatalf("Bea at 8 months: %+v", r)
	}
	if r := m.Rows[1]; r.PatientID != ids[2] || r.Age != 20 || len(r.Missing) != 1 || !strings.HasPrefix(r.Missing[0], "MMR dose 1") {
		t.Fatalf("Cara at 20 months: %+v", r)
	}
	if m, err := l.Monthly(ctx, "CLINB", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)); err != nil || len(m.Rows) != 1 || m.Rows[0].PatientID != ids[3] {
		t.Fatalf("CLINB's monthly list: %+v, %v", m, err)
	}

	g, err := l.Goldenrod(ctx, "CLINA", 2025, today)
	if err != nil {
		t.Fatal(err)
	}
	if g.Considered != 2 || len(g.Rows) != 1 || g.Rows[0].PatientID != ids[6] || !strings.Contains(strings.Join(g.Rows[0].Missing, ";"), "HepB") {
		t.Fatalf("Goldenrod: %+v", g)
	}
	if _, err := l.Goldenrod(ctx, "CLINA", 2025, time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Fatal("a Goldenrod list before any child turned 2 was made")
	}

	if err := s.SetIAPArea(ctx, " HARTFORD ", "North Central", "staff"); err != nil {
		t.Fatal(err)
	}
	areas, err := s.IAPAreas(ctx)
	if err != nil || len(areas) != 1 || areas[0].Town != "hartford" || areas[0].Area != "North Central" || areas[0].UpdatedBy != "staff" {
		t.Fatalf("IAP areas: %+v, %v", areas, err)
	}
	o, err := l.Outreach(ctx, today, 36, map[string]string{"hartford": "North Central"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if o.Considered != 7 || len(o.Areas) != 2 || o.Areas[0].Name != "North Central" || o.Areas[1].Name != compliancy.NoArea ||
		o.Areas[1].Towns[0].Name != "Mystic" || o.Areas[1].Towns[0].Rows[0].PatientID != ids[3] {
		t.Fatalf("outreach: %+v", o)
	}
	late := map[int64]bool{}
	for _, r := range o.Areas[0].Towns[0].Rows {
		late[r.PatientID] = true
	}
	if !late[ids[1]] || late[ids[0]] {
		t.Fatalf("Hartford's late children: %v (Bea %d late, Ann %d not)", late, ids[1], ids[0])
	}
	if o, err := l.Outreach(ctx, today, 36, map[string]string{"hartford": "North Central"}, compliancy.NoArea); err != nil || len(o.Areas) != 1 {
		t.Fatalf("one area: %+v, %v", o, err)
	}
	if err := s.SetIAPArea(ctx, "hartford", "", "staff"); err != nil {
		t.Fatal(err)
	}
	if areas, _ := s.IAPAreas(ctx); len(areas) != 0 {
		t.Fatalf("town not removed: %+v", areas)
	}
}
