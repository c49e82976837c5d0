package codeset

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const syntheticDir = "../testdata/hl7/samples/synthetic"

// TestSyntheticExpectationsUseKnownCodes checks that every expected ACK in
// the synthetic corpus uses codes from the shipped tables: MSA-1 (0008),
// ERR-3 (0357), ERR-4 (0516) and ERR-5 (CDC 0533), and that each named file
// exists.
func TestSyntheticExpectationsUseKnownCodes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(syntheticDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp map[string]struct {
		MSA1 string `json:"msa1"`
		Errs []struct {
			Loc      string `json:"loc"`
			HL7Code  string `json:"hl7code"`
			Severity string `json:"severity"`
			CDCCode  string `json:"cdccode"`
		} `json:"errs"`
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp) < 20 {
		t.Fatalf("expected.json has %d entries", len(exp))
	}
	s := Default()
	for key, e := range exp {
		file, _, _ := strings.Cut(key, "#")
		if _, err := os.Stat(filepath.Join(syntheticDir, file)); err != nil {
			t.Errorf("%s: %v", key, err)
		}
		if !s.Table(AckCode).Contains(e.MSA1) {
			t.Errorf("%s: MSA-1 %q not in HL70008", key, e.MSA1)
		}
		hasError := false
		for _, r := range e.Errs {
			if !s.ErrorCondition().Contains(r.HL7Code) {
				t.Errorf("%s: ERR-3 %q not in HL70357", key, r.HL7Code)
			}
			if !s.Severity().Contains(r.Severity) {
				t.Errorf("%s: ERR-4 %q not in HL70516", key, r.Severity)
			}
			if r.CDCCode != "" && !s.ApplicationError().Contains(r.CDCCode) {
				t.Errorf("%s: ERR-5 %q not in HL70533", key, r.CDCCode)
			}
			if r.Loc == "" {
				t.Errorf("%s: ERR-2 empty", key)
			}
			hasError = hasError || r.Severity == "E"
		}
		// The corpus rule: AA never carries an error, AE/AR always do.
		if (e.MSA1 == "AA") == hasError {
			t.Errorf("%s: MSA-1 %s inconsistent with ERR severities %+v", key, e.MSA1, e.Errs)
		}
	}
}

// TestSyntheticBaselineCodesResolve checks that the codes of the valid
// synthetic messages are all in the tables, so that the only problems in the
// error cases are the ones they were written to have.
func TestSyntheticBaselineCodesResolve(t *testing.T) {
	s := Default()
	for _, name := range []string{"syn_vxu_ok_baseline.hl7", "syn_vxu_refusal_rxa18_rxa20_RE.hl7", "syn_vxu_delete_rxa21_D.hl7"} {
		data, err := os.ReadFile(filepath.Join(syntheticDir, name))
		if err != nil {
			t.Fatal(err)
		}
		checks := 0
		for _, segText := range strings.Split(strings.TrimRight(string(data), "\r"), "\r") {
			f := strings.Split(segText, "|")
			get := func(i int) string { // first component of field i
				if i >= len(f) {
					return ""
				}
				c, _, _ := strings.Cut(f[i], "^")
				return c
			}
			want := func(table string, code string) {
				checks++
				if code != "" && !s.Table(table).Contains(code) {
					t.Errorf("%s: %s %q not in %s", name, f[0], code, table)
				}
			}
			switch f[0] {
			case "MSH":
				want(ProcessingID, get(10)) // MSH-11 (f[1] is MSH-2)
				want(VersionID, get(11))
				want(MessageProfile, get(20))
			case "PID":
				want(Sex, get(8))
				want(Race, get(10))
				want(Ethnicity, get(22))
			case "PD1":
				want(Publicity, get(11))
				want(RegistryStatus, get(16))
			case "NK1":
				want(Relationship, get(3))
			case "RXA":
				want(CVX, get(5))
				want(InformationSource, get(9))
				want(MVX, get(17))
				want(RefusalReason, get(18))
				want(CompletionStatus, get(20))
				want(ActionCode, get(21))
			case "RXR":
				want(Route, get(1))
				want(Site, get(2))
			case "OBX":
				want(ObservationID, get(3))
				switch get(3) {
				case "64994-7":
					want(FinancialClass, get(5))
					want(EligibilityMethod, get(17))
				case "30963-3":
					want(FundingSource, get(5))
				case "69764-9":
					want(VISDocument, get(5))
				}
			}
		}
		if checks < 15 {
			t.Errorf("%s: only %d codes checked", name, checks)
		}
	}
}
