package immz

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// gluedDose is the base message with a DTaP dose glued to its last OBX (the
// segment terminator before the RXA is missing).
const gluedDose = "RXA|0|1|20120814||20^DTaP^CVX|0.5|mL^mL^UCUM||00^New immunization record^NIP001||||||L123||CSL^CSL Behring^MVX|||CP|A"

// TestShapeRules: a segment glued to the one before it, or data past the
// last field a segment has, is an error at that position, never passed
// over; a dose group with such a segment is rejected (and so is the dose
// in the glued text, which the ERR names).
func TestShapeRules(t *testing.T) {
	v := New(Config{Now: testNow})
	base := readSample(t, baseSample)
	lastOBX := "OBX|4|TS|29769-7^Date vaccine information statement presented^LN|2|20120814||||||F"
	if !strings.Contains(base, lastOBX+"\r") {
		t.Fatal("base message changed")
	}
	glue := func(seg, with string) string { return strings.Replace(base, seg, seg+with, 1) }
	tests := []struct {
		name     string
		msg      string
		msa      string
		loc      string // "" : no shape issue
		code     int
		rule     string
		scope    Scope
		rejected []int // dose positions rejected
	}{
		{"RXA glued after OBX-11 F", glue(lastOBX, gluedDose), "AE", "OBX^4^11", 100, "segment glued", ScopeGroup, []int{1}},
		{"RXA glued after OBX-14 date", glue(lastOBX, "|||20120814"+gluedDose), "AE", "OBX^4^14", 100, "segment glued", ScopeGroup, []int{1}},
		{"RXA glued after an empty field", glue(lastOBX, "|"+gluedDose), "AE", "OBX^4^12", 100, "segment glued", ScopeGroup, []int{1}},
		{"ORC glued to NK1", strings.Replace(base, "^657^5558563\rORC", "^657^5558563ORC", 1), "AE", "NK1^1^5", 100, "segment glued", ScopeMessage, nil},
		{"PID glued to MSH", glue("Z22^CDCPHINVS", "|||PID|1||X^^^Y^MR"), "AR", "MSH^1^24", 100, "segment glued", ScopeEnvelope, nil},
		{"RXR data past RXR-6", glue("LD^Left Arm^HL70163", "||||||x"), "AE", "RXR^1^8", 102, "data past last field", ScopeGroup, []int{1}},
		{"PID data past PID-39", glue("2186-5^non Hispanic or Latino^CDCREC", strings.Repeat("|", 18)+"x"), "AE", "PID^1^40", 102, "data past last field", ScopeMessage, nil},
		{"smm-tester's glued OBX and RXA", readFile(t, "../../testdata/hl7/defects/vxu-bad-missing-segment-separator-obx-rxa-joined.hl7"), "AE", "OBX^1^12", 100, "segment glued", ScopeGroup, []int{2, 3}},
		{"empty fields past the last are not data", glue("LD^Left Arm^HL70163", "||||||"), "AA", "", 0, "", 0, nil},
		{"a lot number ending in a segment ID", strings.Replace(base, "|Z0860BB|", "|Z0860PID|", 1), "AA", "", 0, "", 0, nil},
		{"a lot number ending in a segment ID, expiry empty", strings.Replace(base, "|Z0860BB|20121104|", "|Z0860OBX||", 1), "AA", "", 0, "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := v.Decode([]byte(tt.msg))
			if c := v.Check([]byte(tt.msg)); !sameVerdict(r, c) {
				t.Errorf("Check differs from Decode:\n decode %+v\n check  %+v", r.Issues, c.Issues)
			}
			if got := v.AckCode(r); got != tt.msa {
				t.Errorf("MSA-1 = %s, want %s (issues %+v)", got, tt.msa, r.Issues)
			}
			var found *Issue
			for i := range r.Issues {
				if rule := r.Issues[i].Rule; rule == "segment glued" || rule == "data past last field" {
					if found != nil {
						t.Errorf("two shape issues: %+v and %+v", *found, r.Issues[i])
					}
					found = &r.Issues[i]
				}
			}
			if tt.loc == "" {
				if found != nil {
					t.Fatalf("unexpected %+v", *found)
				}
				return
			}
			if found == nil {
				t.Fatalf("no shape issue; issues %+v", r.Issues)
			}
			if found.Location.String() != tt.loc || found.Code != tt.code || found.Severity != Error || found.AppCode != AppInvalidValue || found.Rule != tt.rule || found.Scope != tt.scope {
				t.Errorf("got %s %d %s %d %q scope %d, want %s %d E 4 %q scope %d (%s)", found.Location, found.Code, found.Severity, found.AppCode, found.Rule, found.Scope, tt.loc, tt.code, tt.rule, tt.scope, found.Message)
			}
			if !strings.HasPrefix(found.Message, found.Location.Path()) || !strings.Contains(found.Message, "not read") {
				t.Errorf("ERR-8 %q does not say where and what was not read", found.Message)
			}
			if tt.scope == ScopeGroup {
				if r.VXU == nil || !slices.Equal(r.VXU.Rejected, tt.rejected) {
					t.Errorf("rejected doses %v, want %v", r.VXU.Rejected, tt.rejected)
				}
				for _, vac := range r.VXU.Vaccinations {
					if vac.CVX == "20" {
						t.Errorf("the glued DTaP was kept: %+v", vac)
					}
				}
			}
		})
	}
}

// TestShapeQuery: in a QBP, an RCP glued to the QPD (its quantity limit
// would otherwise be lost) or data past RCP-7 rejects the query.
func TestShapeQuery(t *testing.T) {
	v := New(Config{Now: testNow})
	base := readSample(t, "qbp-z44-nist-qr-1.1.hl7")
	if r := v.Decode([]byte(base)); r.Rejected() {
		t.Fatalf("base query rejected: %+v", r.Issues)
	}
	tests := []struct{ name, msg, loc, rule string }{
		{"RCP glued to QPD", strings.Replace(base, "^^^P\rRCP|", "^^^PRCP|", 1), "QPD^1^8", "segment glued"},
		{"data past RCP-7", strings.Replace(base, "HL70126", "HL70126||||||x", 1), "RCP^1^8", "data past last field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := v.Decode([]byte(tt.msg))
			if c := v.Check([]byte(tt.msg)); !sameVerdict(r, c) {
				t.Errorf("Check differs from Decode:\n decode %+v\n check  %+v", r.Issues, c.Issues)
			}
			if !r.Rejected() || v.AckCode(r) != "AE" {
				t.Errorf("query not rejected (%s): %+v", v.AckCode(r), r.Issues)
			}
			var found bool
			for _, is := range r.Issues {
				found = found || is.Rule == tt.rule && is.Location.String() == tt.loc && is.Severity == Error
			}
			if !found {
				t.Errorf("no %q at %s: %+v", tt.rule, tt.loc, r.Issues)
			}
		})
	}
}
