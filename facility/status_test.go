package facility_test

import (
	"context"
	"testing"

	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]facility.Status{"test": facility.Test, " Production ": facility.Production, "TEST": facility.Test} {
		if got, err := facility.ParseStatus(in); err != nil || got != want {
			t.Errorf("ParseStatus(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "onboarding", "prod", "T"} {
		if _, err := facility.ParseStatus(in); err == nil {
			t.Errorf("ParseStatus(%q) accepted", in)
		}
	}
}

// TestOnboarding: a facility without a status is in production; Set
// changes it at once in this process, keeps the change with who made it,
// and another process sees it after Reload.
func TestOnboarding(t *testing.T) {
	ctx := context.Background()
	reg, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	a, err := facility.OpenOnboarding(ctx, reg.Pool(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := facility.OpenOnboarding(ctx, reg.Pool(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.InTest("CLINIC") || a.Status("CLINIC").Status != facility.Production {
		t.Fatalf("a facility without a status: %+v", a.Status("CLINIC"))
	}
	from, err := a.Set(ctx, "CLINIC", facility.Test, "ana", "onboarding starts")
	if err != nil || from != facility.Production {
		t.Fatalf("Set test: from %q, %v", from, err)
	}
	if !a.InTest("CLINIC") || a.InTest("OTHER") {
		t.Errorf("after Set: CLINIC in test %v, OTHER in test %v", a.InTest("CLINIC"), a.InTest("OTHER"))
	}
	if b.InTest("CLINIC") {
		t.Errorf("the other process saw the change before reloading")
	}
	if err := b.Reload(ctx); err != nil || !b.InTest("CLINIC") {
		t.Errorf("the other process after Reload: in test %v, %v", b.InTest("CLINIC"), err)
	}
	if from, err = a.Set(ctx, "CLINIC", facility.Production, "ben", "vendor fixed RXA-17"); err != nil || from != facility.Test {
		t.Fatalf("Set production: from %q, %v", from, err)
	}
	h, err := a.History(ctx, "CLINIC")
	if err != nil || len(h) != 2 {
		t.Fatalf("history %+v, %v", h, err)
	}
	if h[0].From != facility.Test || h[0].To != facility.Production || h[0].ChangedBy != "ben" || h[0].Note != "vendor fixed RXA-17" {
		t.Errorf("newest change %+v", h[0])
	}
	if rec := a.Recorded(); len(rec) != 1 || rec[0].Facility != "CLINIC" {
		t.Errorf("recorded statuses %+v", rec)
	}
	if r := a.Status("CLINIC"); r.Status != facility.Production || r.ChangedBy != "ben" || r.ChangedAt.IsZero() {
		t.Errorf("status record %+v", r)
	}
	for _, bad := range []struct {
		fac, by string
		to      facility.Status
	}{{"", "ana", facility.Test}, {"CLINIC", "", facility.Test}, {"CLINIC", "ana", "live"}} {
		if _, err := a.Set(ctx, bad.fac, bad.to, bad.by, ""); err == nil {
			t.Errorf("Set(%q, %q, by %q) accepted", bad.fac, bad.to, bad.by)
		}
	}
}
