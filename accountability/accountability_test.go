package accountability

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/registry"
)

type fakeRegistry struct {
	recall registry.LotRecallQuery
	vfc    registry.VFCQuery
	audits []registry.AuditEntry
}

func (f *fakeRegistry) VFCDosesAdministered(_ context.Context, q registry.VFCQuery) ([]registry.VFCRow, error) {
	f.vfc = q
	return []registry.VFCRow{{Clinic: q.Clinic, Doses: 2}, {Clinic: q.Clinic, Doses: 3}}, nil
}

func (f *fakeRegistry) LotRecall(_ context.Context, q registry.LotRecallQuery) ([]registry.LotRecallRow, error) {
	f.recall = q
	return []registry.LotRecallRow{{PatientID: 1}}, q.Check()
}

func (f *fakeRegistry) RecordAudit(_ context.Context, e registry.AuditEntry) error {
	f.audits = append(f.audits, e)
	return nil
}

type fakeOrgs map[int64]accounts.Organization

func (f fakeOrgs) Organization(_ context.Context, id int64) (accounts.Organization, error) {
	if o, ok := f[id]; ok {
		return o, nil
	}
	return accounts.Organization{}, errors.New("no such organization")
}

var orgs = fakeOrgs{
	1: {ID: 1, Kind: accounts.Program},
	2: {ID: 2, Kind: accounts.Clinic, FacilityID: "RIVERSIDE"},
	3: {ID: 3, Kind: accounts.School},
}

// TestRecallScope is the recall's access rule: a clinic's users search
// their clinic's doses without opted-out or protected patients, whatever
// the form says; program staff any clinic's (or all), with them.
func TestRecallScope(t *testing.T) {
	for _, c := range []struct {
		name        string
		user        accounts.User
		url         string
		clinic      string
		undisclosed bool
		err         bool
	}{
		{"coordinator", accounts.User{OrgID: 2, Role: accounts.VaccineCoordinator}, "/lotrecall?lot=A1&clinic=HILLTOP", "RIVERSIDE", false, false},
		{"clinic user", accounts.User{OrgID: 2, Role: accounts.ClinicUser}, "/lotrecall?lot=A1", "RIVERSIDE", false, false},
		{"program staff, every clinic", accounts.User{OrgID: 1, Role: accounts.ProgramStaff}, "/lotrecall?lot=A1", "", true, false},
		{"program staff, one clinic", accounts.User{OrgID: 1, Role: accounts.ProgramAdmin}, "/lotrecall?lot=A1&clinic=HILLTOP", "HILLTOP", true, false},
		{"a school's user", accounts.User{OrgID: 3, Role: accounts.ClinicUser}, "/lotrecall?lot=A1", "", false, true},
		{"a bad date", accounts.User{OrgID: 1, Role: accounts.ProgramStaff}, "/lotrecall?mvx=PFR&from=June", "", false, true},
	} {
		f := &fakeRegistry{}
		pg, err := New(Config{Registry: f, Orgs: orgs})
		if err != nil {
			t.Fatal(err)
		}
		v, err := pg.search(httptest.NewRequest("GET", c.url, nil), c.user)
		if c.err {
			if err == nil {
				t.Errorf("%s: answered", c.name)
			}
			continue
		}
		if err != nil || !v.Asked || f.recall.Clinic != c.clinic || f.recall.Undisclosed != c.undisclosed {
			t.Errorf("%s: query %+v (%v), want clinic %q undisclosed %v", c.name, f.recall, err, c.clinic, c.undisclosed)
		}
	}
}

func TestPeriod(t *testing.T) {
	now := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		query, from, to string
		err             bool
	}{
		{"", "2026-11-01", "2026-12-01", false},
		{"from=2026-03", "2026-03-01", "2026-04-01", false},
		{"from=2026-01&to=2026-06", "2026-01-01", "2026-07-01", false},
		{"from=2026-06&to=2026-01", "", "", true},
		{"from=March", "", "", true},
	} {
		from, to, err := period(httptest.NewRequest("GET", "/vfc?"+c.query, nil), now)
		if c.err {
			if err == nil {
				t.Errorf("%q: no error", c.query)
			}
			continue
		}
		if err != nil || from.Format(time.DateOnly) != c.from || to.Format(time.DateOnly) != c.to {
			t.Errorf("%q: [%s, %s) %v, want [%s, %s)", c.query, from.Format(time.DateOnly), to.Format(time.DateOnly), err, c.from, c.to)
		}
	}
}

// TestVFCScope: a clinic's users see their clinic's report only.
func TestVFCScope(t *testing.T) {
	f := &fakeRegistry{}
	pg, _ := New(Config{Registry: f, Orgs: orgs, Now: func() time.Time { return time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC) }})
	v, err := pg.report(httptest.NewRequest("GET", "/vfc?clinic=HILLTOP", nil), accounts.User{OrgID: 2, Role: accounts.VaccineCoordinator})
	if err != nil || f.vfc.Clinic != "RIVERSIDE" || v.Total != 5 {
		t.Errorf("coordinator's report: %+v, total %d, %v", f.vfc, v.Total, err)
	}
	if _, err := pg.report(httptest.NewRequest("GET", "/vfc?clinic=HILLTOP", nil), accounts.User{OrgID: 1, Role: accounts.ProgramStaff}); err != nil || f.vfc.Clinic != "HILLTOP" {
		t.Errorf("program staff's report: %+v, %v", f.vfc, err)
	}
}

// FuzzPeriod: any months asked give a period that runs forward, or a
// clear error; never a crash.
func FuzzPeriod(f *testing.F) {
	f.Add("2026-01", "2026-06")
	f.Add("", "")
	f.Add("9999-12", "0000-01")
	f.Fuzz(func(t *testing.T, from, to string) {
		r := httptest.NewRequest("GET", "/vfc", nil)
		r.Form = map[string][]string{"from": {from}, "to": {to}}
		a, b, err := period(r, time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC))
		if err == nil && !b.After(a) {
			t.Fatalf("from %q to %q: [%v, %v)", from, to, a, b)
		}
		if err != nil && !errors.Is(err, errInput) {
			t.Fatalf("from %q to %q: %v is not for people", from, to, err)
		}
	})
}
