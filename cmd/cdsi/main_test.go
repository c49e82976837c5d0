package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestCheckPrintsSummary(t *testing.T) {
	dir := t.TempDir()
	cases := `{"cases":[
 {"id":"T-1","name":"newborn","dob":"2025-11-10","gender":"F","assessment_date":"2025-11-10","vaccine_group":"DTAP",
  "series_status":"Not complete","doses":[],"forecast":{"dose_number":"1","earliest":"2025-12-22","recommended":"2026-01-10","past_due":"2026-03-09"}},
 {"id":"T-2","name":"wrong on purpose","dob":"2025-11-10","gender":"F","assessment_date":"2025-11-10","vaccine_group":"DTAP",
  "series_status":"Complete","doses":[],"forecast":{}}]}`
	path := filepath.Join(dir, "cases.json")
	if err := os.WriteFile(path, []byte(cases), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"check", path}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if got := lines[len(lines)-1]; got != "1 passed, 1 failed" {
		t.Errorf("summary line = %q", got)
	}
	if !strings.Contains(out.String(), "FAIL T-2") || !strings.Contains(out.String(), `series status: want "Complete"`) {
		t.Errorf("missing failure detail:\n%s", out.String())
	}
}

func TestForecastJSONAndVXU(t *testing.T) {
	dir := t.TempDir()
	hist := filepath.Join(dir, "h.json")
	os.WriteFile(hist, []byte(`{"dob":"2025-01-01","gender":"M","assessment_date":"2025-06-01","doses":[{"date":"2025-03-01","cvx":"20"}]}`), 0o644)
	var out bytes.Buffer
	if err := run([]string{"forecast", hist}, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`DTaP/Tdap/Td\s+Not complete\s+2\s+2025-03-29\s+2025-05-01`).MatchString(out.String()) {
		t.Errorf("JSON forecast output:\n%s", out.String())
	}

	vxu := "MSH|^~\\&|EHR|CLINIC|IIS|IIS|20250601||VXU^V04^VXU_V04|MSG1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
		"PID|1||12345^^^CLINIC^MR||Doe^John^^^^^L||20250101|M\r" +
		"ORC|RE||197023^CLINIC\r" +
		"RXA|0|1|20250301|20250301|20^DTaP^CVX|0.5|mL^mL^UCUM||00^new^NIP001||||||||PMC^Sanofi^MVX|||CP|A\r"
	msg := filepath.Join(dir, "v.hl7")
	os.WriteFile(msg, []byte(vxu), 0o644)
	out.Reset()
	if err := run([]string{"forecast", "-asof", "2025-06-01", msg}, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`DTaP/Tdap/Td\s+Not complete\s+2\s+2025-03-29\s+2025-05-01`).MatchString(out.String()) {
		t.Errorf("VXU forecast output:\n%s", out.String())
	}
}

// TestForecastVXUEvidenceAndRefusals: a VXU's evidence of immunity (a 998
// RXA with OBX 59784-9) makes varicella Immune, and its refusals are
// listed.
func TestForecastVXUEvidenceAndRefusals(t *testing.T) {
	for _, tc := range []struct {
		file, asOf string
		want       *regexp.Regexp
	}{
		{"gathered/nist-2014/vxu_nist_iz016_varicella_history_998_OBX_59784-9.hl7", "2015-01-01", regexp.MustCompile(`Varicella\s+Immune`)},
		{"gathered/nist-onc-2015/vxu_z22_onc2015_iz_ad5_child_refusal_RXA18_RXA20_RE_plus_3_admin.hl7", "2015-07-01",
			regexp.MustCompile(`Refusals:\n  2015-06-24 CVX 21  reason 00\n`)},
	} {
		var out bytes.Buffer
		if err := run([]string{"forecast", "-asof", tc.asOf, filepath.Join("../../testdata/hl7/samples", tc.file)}, &out); err != nil {
			t.Fatal(err)
		}
		if !tc.want.MatchString(out.String()) {
			t.Errorf("%s: no %s in\n%s", tc.file, tc.want, out.String())
		}
	}
}
