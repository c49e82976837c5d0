package facility_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// adultV02 is AIRA's adult hepatitis A VXU with VFC eligibility V02, which
// raises MQE0227 (VFC eligibility past its age limit) as a warning.
const adultV02 = "../testdata/dqa/samples/vxu-adult-hepa-simple-vfc-v02.hl7"

func severityOf(t *testing.T, v *immz.Validator, raw []byte, code string) (immz.Severity, string) {
	t.Helper()
	r := v.Check(raw)
	i := slices.IndexFunc(r.Issues, func(is immz.Issue) bool { return is.Detection == code })
	if i < 0 {
		return 0, v.AckCode(r)
	}
	return r.Issues[i].Severity, v.AckCode(r)
}

// TestSeverities: a facility's severity of a detection is stored, applied
// by its validator at once and after a reload, restored to the default, and
// refused for a rejecting rule and an unknown code.
func TestSeverities(t *testing.T) {
	ctx := context.Background()
	st, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	now := func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
	base := immz.Config{Now: now}
	dir, err := facility.Open(ctx, st.Pool(), base, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(adultV02)
	if err != nil {
		t.Fatal(err)
	}
	if sev, ack := severityOf(t, immz.New(base), raw, "MQE0227"); sev != immz.Warning || ack != "AA" {
		t.Fatalf("default: MQE0227 %c, %s", sev, ack)
	}

	if err := dir.SetSeverity(ctx, "CLINIC", "MQE0227", immz.Error, "engineer"); err != nil {
		t.Fatal(err)
	}
	if sev, ack := severityOf(t, dir.Validator("CLINIC"), raw, "MQE0227"); sev != immz.Error || ack != "AE" {
		t.Errorf("set to E: MQE0227 %c, %s", sev, ack)
	}
	if dir.Validator("OTHER") != nil {
		t.Error("a facility without settings got a validator")
	}
	other, err := facility.Open(ctx, st.Pool(), base, nil) // another process
	if err != nil {
		t.Fatal(err)
	}
	if got := other.Severities("CLINIC"); got["MQE0227"] != immz.Error {
		t.Errorf("reloaded severities %v", got)
	}

	if err := dir.SetSeverity(ctx, "CLINIC", "MQE0227", immz.Accept, "engineer"); err != nil {
		t.Fatal(err)
	}
	if sev, _ := severityOf(t, dir.Validator("CLINIC"), raw, "MQE0227"); sev != 0 {
		t.Errorf("set to A: MQE0227 still raised as %c", sev)
	}

	// With settings of its own too, the facility's validator has both.
	yes := true
	if err := dir.Put(ctx, facility.Settings{Facility: "CLINIC", WarningsAsAE: &yes, UpdatedBy: "engineer"}); err != nil {
		t.Fatal(err)
	}
	if sev, _ := severityOf(t, dir.Validator("CLINIC"), raw, "MQE0227"); sev != 0 {
		t.Errorf("with settings: MQE0227 raised as %c", sev)
	}

	if err := dir.SetSeverity(ctx, "CLINIC", "MQE0227", 0, "engineer"); err != nil {
		t.Fatal(err)
	}
	if len(dir.Severities("CLINIC")) != 0 {
		t.Errorf("default restored, severities %v", dir.Severities("CLINIC"))
	}
	if sev, _ := severityOf(t, dir.Validator("CLINIC"), raw, "MQE0227"); sev != immz.Warning {
		t.Errorf("default restored: MQE0227 %c", sev)
	}

	for _, code := range []string{"MQE0255", "MQE9999", "MQE0002", "bogus"} {
		if err := dir.SetSeverity(ctx, "CLINIC", code, immz.Information, "engineer"); err == nil {
			t.Errorf("%s: severity accepted", code)
		}
	}
}
