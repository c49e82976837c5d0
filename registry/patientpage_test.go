package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
)

var (
	twinA = person{mrn: "T1", authority: "CLINIC_A", last: "Okafor", first: "William", mother: "Reyes", dob: "20220304", sex: "M",
		street: "5 Oak Ave", city: "New Haven", zip: "06510", phone: "2035550111", multiple: "Y", order: 1}
	twinB = person{mrn: "T2", authority: "CLINIC_A", last: "Okafor", first: "Samuel", mother: "Reyes", dob: "20220304", sex: "M",
		street: "5 Oak Ave", city: "New Haven", zip: "06510", phone: "2035550111", multiple: "Y", order: 2}
	other = person{mrn: "X9", authority: "CLINIC_B", last: "Lindqvist", first: "Maja", mother: "Berg", dob: "20210610", sex: "F",
		street: "9 Pine Rd", city: "Bristol", zip: "06010", phone: "8605550199"}
)

func day(s string) time.Time {
	t, err := time.Parse("20060102", s)
	if err != nil {
		panic(err)
	}
	return t
}

// SearchPatients finds by exact name and birth date, with a typo or a
// nickname, by identifier; tells twins apart; refuses a vague search.
func TestSearchPatients(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a := apply(t, s, message(t, "CLINIC_A", "s1", vxu("CLINIC_A", "s1", twinA, "20:20220504:L1"))).PatientID
	b := apply(t, s, message(t, "CLINIC_A", "s2", vxu("CLINIC_A", "s2", twinB, "20:20220504:L1"))).PatientID
	c := apply(t, s, message(t, "CLINIC_B", "s3", vxu("CLINIC_B", "s3", other, "20:20210810:L1"))).PatientID
	for _, tc := range []struct {
		name      string
		q         registry.PatientSearch
		first     int64
		exact     bool
		mustLack  []int64
		mustExist []int64
	}{
		{"exact", registry.PatientSearch{Family: "okafor", Given: "william", BirthDate: day("20220304")}, a, true, []int64{c}, nil},
		{"nickname", registry.PatientSearch{Family: "Okafor", Given: "Bill", BirthDate: day("20220304")}, a, false, []int64{c}, nil},
		{"typo", registry.PatientSearch{Family: "Okafr", Given: "William", BirthDate: day("20220304")}, a, false, []int64{c}, nil},
		{"twin", registry.PatientSearch{Family: "Okafor", Given: "Samuel", BirthDate: day("20220304")}, b, true, []int64{c}, nil},
		{"identifier", registry.PatientSearch{Identifier: "X9"}, c, false, []int64{a, b}, nil},
		{"swapped day and month", registry.PatientSearch{Family: "Lindqvist", Given: "Maja", BirthDate: day("20211006")}, c, false, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := s.SearchPatients(ctx, tc.q, 20)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 || hits[0].PatientID != tc.first || hits[0].Exact != tc.exact {
				t.Fatalf("hits %+v, want patient %d first (exact %v)", hits, tc.first, tc.exact)
			}
			for _, h := range hits {
				for _, id := range tc.mustLack {
					if h.PatientID == id {
						t.Errorf("patient %d found", id)
					}
				}
			}
		})
	}
	hits, err := s.SearchPatients(ctx, registry.PatientSearch{Family: "Okafor", Given: "William", BirthDate: day("20220304")}, 20)
	if err != nil {
		t.Fatal(err)
	}
	var ha, hb *registry.PatientHit
	for i := range hits {
		switch hits[i].PatientID {
		case a:
			ha = &hits[i]
		case b:
			hb = &hits[i]
		}
	}
	if ha == nil || ha.BirthOrder != 1 || ha.MultipleBirth != "Y" || ha.Town != "New Haven" || ha.Sex != "M" || len(ha.Identifiers) != 1 {
		t.Fatalf("twin A summary %+v", ha)
	}
	if hb != nil && hb.BirthOrder != 2 {
		t.Fatalf("twin B summary %+v", hb)
	}
	if _, err := s.SearchPatients(ctx, registry.PatientSearch{Family: "Okafor"}, 20); !errors.Is(err, registry.ErrSearchTooVague) {
		t.Fatalf("vague search: %v", err)
	}
	ids, err := s.ExactPatients(ctx, "OKAFOR", "samuel", day("20220304"))
	if err != nil || len(ids) != 1 || ids[0] != b {
		t.Fatalf("exact: %v %v", ids, err)
	}
}

// Relations: reported by the organization's facility, queried by it,
// opened with a reason, opted out.
func TestRelations(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a := apply(t, s, message(t, "CLINIC_A", "r1", vxu("CLINIC_A", "r1", twinA, "20:20220504:L1"))).PatientID
	c := apply(t, s, message(t, "CLINIC_B", "r2", vxu("CLINIC_B", "r2", other, "20:20210810:L1"))).PatientID
	const orgA, orgB, school = 11, 12, 13
	rel := func(pid, org int64, fac string) registry.Relation {
		r, err := s.Relation(ctx, pid, org, fac)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := rel(a, orgA, "CLINIC_A"); !r.Reported || r.Queried || r.SearchReason != "" || r.OptedOut {
		t.Errorf("A to its reporter: %+v", r)
	}
	if r := rel(a, orgB, "CLINIC_B"); r.Reported || r.Queried {
		t.Errorf("A to clinic B: %+v", r)
	}
	if r := rel(a, school, ""); r.Reported || r.Queried {
		t.Errorf("A to a school: %+v", r)
	}
	if err := s.RecordDisclosures(ctx, []registry.Disclosure{{At: time.Now(), Facility: "CLINIC_B", PatientID: a, What: "Z32"}}); err != nil {
		t.Fatal(err)
	}
	if r := rel(a, orgB, "CLINIC_B"); !r.Queried {
		t.Errorf("A to clinic B after its query: %+v", r)
	}
	if err := s.RecordSearchReason(ctx, registry.SearchReason{PatientID: c, OrgID: orgA, User: "user:ann", Reason: "new patient transferring in"}); err != nil {
		t.Fatal(err)
	}
	if r := rel(c, orgA, "CLINIC_A"); r.SearchReason != "new patient transferring in" || r.Reported {
		t.Errorf("C to clinic A after a search with reason: %+v", r)
	}
	if r := rel(c, orgB, "CLINIC_B"); r.SearchReason != "" {
		t.Errorf("the reason leaked to clinic B: %+v", r)
	}
	if err := s.RecordSearchReason(ctx, registry.SearchReason{PatientID: c, OrgID: orgA, User: "user:ann", Reason: " "}); err == nil {
		t.Error("an empty reason was recorded")
	}
	if n := count(t, s, `SELECT count(*) FROM audit_log WHERE action = 'search-reason' AND patient_id = $1`, c); n != 1 {
		t.Errorf("%d search-reason audit rows, want 1", n)
	}
	if err := s.RecordOptOut(ctx, registry.OptOut{PatientID: a, SignedOn: day("20240101"), FormRef: "F1", RecordedBy: "user:ann", OrgID: orgA}); err != nil {
		t.Fatal(err)
	}
	if r := rel(a, orgA, "CLINIC_A"); !r.OptedOut || !r.Reported {
		t.Errorf("A after opt-out: %+v", r)
	}
	if _, err := s.Relation(ctx, 999999, orgA, "CLINIC_A"); !errors.Is(err, registry.ErrNoPatient) {
		t.Errorf("unknown patient: %v", err)
	}
}

// DoseSources lists every report of a consolidated dose, the winner and
// the duplicates, with facility and transport.
func TestDoseSources(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a := apply(t, s, message(t, "CLINIC_A", "d1", vxu("CLINIC_A", "d1", twinA, "20:20220504:L1", "08:20220304:L0"))).PatientID
	if got := apply(t, s, message(t, "CLINIC_B", "d2", vxu("CLINIC_B", "d2", twinA, "20:20220504:L1"))).PatientID; got != a {
		t.Fatalf("second report linked to %d, want %d", got, a)
	}
	src, err := s.DoseSources(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	byCVX := map[string][]registry.DoseSource{}
	for _, d := range src {
		byCVX[d.CVX] = append(byCVX[d.CVX], d)
	}
	if len(byCVX["08"]) != 1 || byCVX["08"][0].Facility != "CLINIC_A" || byCVX["08"][0].Transport != "mllp" {
		t.Errorf("hep B sources %+v", byCVX["08"])
	}
	d := byCVX["20"]
	if len(d) != 2 || d[0].EventID != d[1].EventID || d[0].Facility != "CLINIC_A" || d[1].Facility != "CLINIC_B" || d[0].Consolidation == d[1].Consolidation {
		t.Errorf("DTaP sources %+v", d)
	}
}
