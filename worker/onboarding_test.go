package worker_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iisproject/iis/worker"
)

// inTest is an onboarding directory with a fixed set of facilities in
// test status.
type inTest map[string]bool

func (f inTest) InTest(facility string) bool { return f[facility] }

// TestOnboardingFacilityNotWritten: a VXU from a facility in test status is
// kept in the message store (answered as usual) but leaves no patient and
// no dose in the registry; the same VXU from a facility in production is
// written.
func TestOnboardingFacilityNotWritten(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "hl7", "samples", "vxu-nist-ad-2.1-adult-flu.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	from := func(facility string) []byte {
		return []byte(strings.Replace(string(raw), "|RI88140101|", "|"+facility+"|", 1))
	}
	e := newEnv(t)
	e.start(t, worker.Config{Onboarding: inTest{"CLINIC_TEST": true}})
	e.publish(t, from("CLINIC_TEST"))
	e.drain(t, "registry")
	if got := e.count(t, `SELECT count(*) FROM source_reports WHERE facility = 'CLINIC_TEST' AND kind = 'vxu' AND patient_id IS NULL`); got != 1 {
		t.Fatalf("test-status VXU in the message store: %d rows, want 1 without a patient", got)
	}
	if got := e.count(t, `SELECT count(*) FROM patients`); got != 0 {
		t.Errorf("patients after a test-status VXU = %d, want 0", got)
	}
	if got := e.count(t, `SELECT count(*) FROM source_vaccinations`); got != 0 {
		t.Errorf("doses after a test-status VXU = %d, want 0", got)
	}

	e.publish(t, from("CLINIC_PROD"))
	e.drain(t, "registry")
	if got := e.count(t, `SELECT count(*) FROM patients WHERE family_name = 'Wong' AND given_name = 'Elise'`); got != 1 {
		t.Errorf("patients after a production VXU = %d, want 1", got)
	}
	if got := e.count(t, `SELECT count(*) FROM source_vaccinations WHERE facility = 'CLINIC_PROD'`); got != 1 {
		t.Errorf("doses after a production VXU = %d, want 1", got)
	}
	if got := e.count(t, `SELECT count(*) FROM source_vaccinations WHERE facility = 'CLINIC_TEST'`); got != 0 {
		t.Errorf("doses of the test-status facility = %d, want 0", got)
	}
}
