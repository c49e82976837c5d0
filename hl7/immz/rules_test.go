package immz

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7"
)

const samples = "../../testdata/hl7/samples/"

// testNow is the clock of every test: 2026-11-25 noon UTC.
var testNow = func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

func readSample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(samples + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit changes one value of a CR-separated message: loc is "SEG(n)-f" or
// "SEG(n)-f.c" (occurrence optional); value is written raw. The segment
// "-SEG(n)" deletes a segment; "+SEG|..." after "SEG(n)" inserts a line.
func edit(t testing.TB, msg, loc, value string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(msg, "\r\n"), "\r")
	if strings.HasPrefix(loc, "-") {
		i := findSeg(t, lines, loc[1:])
		return strings.Join(append(lines[:i], lines[i+1:]...), "\r") + "\r"
	}
	if strings.HasPrefix(loc, "+") {
		i := findSeg(t, lines, loc[1:])
		lines = append(lines[:i+1], append([]string{value}, lines[i+1:]...)...)
		return strings.Join(lines, "\r") + "\r"
	}
	l, err := hl7.ParseLocation(loc)
	if err != nil {
		t.Fatalf("edit %q: %v", loc, err)
	}
	i := findSeg(t, lines, l.Segment+"("+itoa(max(l.Occurrence, 1))+")")
	fields := strings.Split(lines[i], "|")
	idx := l.Field
	if l.Segment == "MSH" {
		idx--
	}
	for len(fields) <= idx {
		fields = append(fields, "")
	}
	if l.Component > 0 {
		comps := strings.Split(fields[idx], "^")
		for len(comps) < l.Component {
			comps = append(comps, "")
		}
		comps[l.Component-1] = value
		fields[idx] = strings.Join(comps, "^")
	} else {
		fields[idx] = value
	}
	lines[i] = strings.Join(fields, "|")
	return strings.Join(lines, "\r") + "\r"
}

func findSeg(t testing.TB, lines []string, spec string) int {
	t.Helper()
	id, occ := spec, 1
	if j := strings.IndexByte(spec, '('); j > 0 {
		id = spec[:j]
		occ = atoi(strings.TrimSuffix(spec[j+1:], ")"))
	}
	for i, l := range lines {
		if strings.HasPrefix(l, id) {
			occ--
			if occ == 0 {
				return i
			}
		}
	}
	t.Fatalf("no segment %s", spec)
	return -1
}

// base is NIST's IZ-001 child influenza VXU: valid, answered AA with no ERR.
const baseSample = "nist/vxu_z22_nist_iz001_child_flu_ndc_vfc_v05_vis.hl7"

type edits [][2]string

// TestRules: one row per validation rule. Each row edits the valid base
// message and names the issue it must raise: ERR-2 location, ERR-3 (0357),
// severity, ERR-5 (0533), and MSA-1.
func TestRules(t *testing.T) {
	v := New(Config{Now: testNow})
	base := readSample(t, baseSample)
	if r := v.Decode([]byte(base)); len(r.Issues) != 0 || v.AckCode(r) != "AA" {
		t.Fatalf("base message: %s %+v", v.AckCode(r), r.Issues)
	}
	tests := []struct {
		rule  string
		edits edits
		msa   string
		loc   string
		code  int
		sev   Severity
		app   int
	}{
		// Envelope: AR.
		{"MSH-9 type", edits{{"MSH-9", "ADT^A04^ADT_A01"}}, "AR", "MSH^1^9^1^1", 200, Error, 0},
		{"MSH-9 required", edits{{"MSH-9", ""}}, "AR", "MSH^1^9^1^1", 101, Error, 7},
		{"MSH-9 event", edits{{"MSH-9", "VXU^V05^VXU_V04"}}, "AR", "MSH^1^9^1^2", 201, Error, 0},
		{"MSH-10 required", edits{{"MSH-10", ""}}, "AR", "MSH^1^10", 101, Error, 7},
		{"MSH-10 length", edits{{"MSH-10", strings.Repeat("X", 200)}}, "AR", "MSH^1^10", 102, Error, 4},
		{"MSH-11 required", edits{{"MSH-11", ""}}, "AR", "MSH^1^11^1^1", 101, Error, 7},
		{"MSH-11 processing id", edits{{"MSH-11", "D"}}, "AR", "MSH^1^11^1^1", 202, Error, 0},
		{"MSH-12 required", edits{{"MSH-12", ""}}, "AR", "MSH^1^12^1^1", 101, Error, 7},
		{"MSH-12 version", edits{{"MSH-12", "2.3.1"}}, "AR", "MSH^1^12^1^1", 203, Error, 0},
		// Header warnings: AA.
		{"MSH-4 required", edits{{"MSH-4", ""}}, "AA", "MSH^1^4", 101, Warning, 7},
		{"MSH-7 required", edits{{"MSH-7", ""}}, "AA", "MSH^1^7", 101, Warning, 7},
		{"MSH-7 format", edits{{"MSH-7", "2012-07-01"}}, "AA", "MSH^1^7", 102, Warning, 2},
		{"MSH-21 required", edits{{"MSH-21", ""}}, "AA", "MSH^1^21", 101, Warning, 7},
		{"MSH-21 profile", edits{{"MSH-21", "Z99^CDCPHINVS"}}, "AA", "MSH^1^21^1^1", 103, Warning, 5},
		// Patient: message rejected (AE).
		{"PID required", edits{{"-PID", ""}}, "AE", "PID^1", 100, Error, 0},
		{"PID-3 required", edits{{"PID-3", ""}}, "AE", "PID^1^3", 101, Error, 7},
		{"PID-5 required", edits{{"PID-5", ""}}, "AE", "PID^1^5", 101, Error, 7},
		{"PID-7 required", edits{{"PID-7", ""}}, "AE", "PID^1^7", 101, Error, 7},
		{"PID-7 format", edits{{"PID-7", "20070231"}}, "AE", "PID^1^7", 102, Error, 2},
		{"PID-7 future", edits{{"PID-7", "20270101"}}, "AE", "PID^1^7", 999, Error, 1},
		{"RXA required", edits{{"-RXA", ""}, {"-ORC", ""}, {"-RXR", ""}}, "AE", "RXA^1", 100, Error, 0},
		{"RXA required", edits{{"-RXA", ""}, {"-RXR", ""}}, "AE", "RXA^1", 100, Error, 0},
		// Patient: values ignored (AA + W).
		{"PID-3.5 required", edits{{"PID-3", "D26376273^^^NIST MPI"}}, "AA", "PID^1^3^1^5", 101, Warning, 7},
		{"PID-3.5 table", edits{{"PID-3", "D26376273^^^NIST MPI^XYZ"}}, "AA", "PID^1^3^1^5", 103, Warning, 5},
		{"PID-5.2 required", edits{{"PID-5", "Snow^^^^^^L"}}, "AA", "PID^1^5^1^2", 101, Warning, 7},
		{"PID-7 too old", edits{{"PID-7", "18900101"}, {"RXA-3", "20120814"}}, "AA", "PID^1^7", 999, Warning, 1},
		{"PID-8 table", edits{{"PID-8", "Q"}}, "AA", "PID^1^8", 103, Warning, 5},
		{"PID-10 table", edits{{"PID-10", "9999-9^Martian^CDCREC"}}, "AA", "PID^1^10^1^1", 103, Warning, 5},
		{"PID-11.5 zip", edits{{"PID-11", "32 Prescott Street Ave^^Warwick^MA^0245^USA^L"}}, "AA", "PID^1^11^1^5", 999, Warning, 4},
		{"PID-22 table", edits{{"PID-22", "XX^Unknown^CDCREC"}}, "AA", "PID^1^22^1^1", 103, Warning, 5},
		{"PID-24 table", edits{{"PID-24", "X"}}, "AA", "PID^1^24", 103, Warning, 5},
		{"PID-25 format", edits{{"PID-24", "Y"}, {"PID-25", "first"}}, "AA", "PID^1^25", 102, Warning, 4},
		{"PD1-11 table", edits{{"PD1-11", "99^Bogus^HL70215"}}, "AA", "PD1^1^11^1^1", 103, Warning, 5},
		{"PD1-12 table", edits{{"PD1-12", "Maybe"}}, "AA", "PD1^1^12", 103, Warning, 5},
		{"PD1-16 table", edits{{"PD1-16", "Z"}}, "AA", "PD1^1^16", 103, Warning, 5},
		{"PD1-17 format", edits{{"PD1-17", "2012"}}, "AA", "PD1^1^17", 102, Warning, 2},
		// NK1: segment rejected (AE), the rest kept.
		{"NK1-2 required", edits{{"NK1-2", "^Morgan^^^^^L"}}, "AE", "NK1^1^2", 101, Error, 7},
		{"NK1-2 name required", edits{{"NK1-2", ""}}, "AE", "NK1^1^2", 101, Error, 7},
		{"NK1-3 required", edits{{"NK1-3", ""}}, "AE", "NK1^1^3", 101, Error, 7},
		{"NK1-3 table", edits{{"NK1-3", "ZZZ^Alien^HL70063"}}, "AA", "NK1^1^3^1^1", 103, Warning, 5},
		// Dose group rejected (AE).
		{"RXA-3 required", edits{{"RXA-3", ""}}, "AE", "RXA^1^3", 101, Error, 7},
		{"RXA-3 format", edits{{"RXA-3", "20121314"}}, "AE", "RXA^1^3", 102, Error, 2},
		{"RXA-3 future", edits{{"RXA-3", "20300101"}}, "AE", "RXA^1^3", 999, Error, 1},
		{"RXA-3 before birth", edits{{"RXA-3", "20070101"}}, "AE", "RXA^1^3", 999, Error, 1},
		{"RXA-5 required", edits{{"RXA-5", ""}}, "AE", "RXA^1^5", 101, Error, 7},
		{"RXA-5 unknown CVX", edits{{"RXA-5", "987^Made up^CVX"}}, "AE", "RXA^1^5^1^1", 103, Error, 5},
		{"RXA-5 unknown CVX", edits{{"RXA-5", "33332-0010-01^Flu^NDC^987^Made up^CVX"}}, "AE", "RXA^1^5^1^4", 103, Error, 5},
		{"RXA-5 coding system", edits{{"RXA-5", "FLU^Flu^LOCAL"}}, "AE", "RXA^1^5^1^3", 103, Error, 5},
		{"RXA required in group", edits{{"+RXR", "ORC|RE||IZ-2^NDA"}}, "AE", "RXA^2", 100, Error, 0},
		// Dose values ignored (AA + W).
		{"ORC required", edits{{"-ORC", ""}}, "AA", "RXA^1", 100, Warning, 7},
		{"ORC-3 required", edits{{"ORC-3", ""}}, "AA", "ORC^1^3", 101, Warning, 7},
		{"RXA-4 format", edits{{"RXA-4", "201208"}}, "AA", "RXA^1^4", 102, Warning, 2},
		{"RXA-6 required", edits{{"RXA-6", ""}}, "AA", "RXA^1^6", 101, Warning, 7},
		{"RXA-6 format", edits{{"RXA-6", "half"}}, "AA", "RXA^1^6", 102, Warning, 4},
		{"RXA-9 required", edits{{"RXA-9", ""}}, "AA", "RXA^1^9", 101, Warning, 7},
		{"RXA-9 required", edits{{"RXA-9", ""}, {"RXA-20", "NA"}}, "AA", "", 0, 0, 0}, // not for a dose not given
		{"RXA-9 table", edits{{"RXA-9", "77^Odd^NIP001"}}, "AA", "RXA^1^9^1^1", 103, Warning, 5},
		{"RXA-16 format", edits{{"RXA-16", "soon"}}, "AA", "RXA^1^16", 102, Warning, 2},
		{"RXA-17 table", edits{{"RXA-17", "ZZZ^Nobody^MVX"}}, "AA", "RXA^1^17^1^1", 103, Warning, 5},
		{"RXA-18 table", edits{{"RXA-18", "77^Odd^NIP002"}, {"RXA-20", "RE"}}, "AA", "RXA^1^18^1^1", 103, Warning, 5},
		{"RXA-18 required for RE", edits{{"RXA-20", "RE"}}, "AA", "RXA^1^18", 101, Warning, 7},
		{"RXA-20 table", edits{{"RXA-20", "XX"}}, "AA", "RXA^1^20", 103, Warning, 5},
		{"RXA-21 table", edits{{"RXA-21", "X"}}, "AA", "RXA^1^21", 103, Warning, 5},
		{"RXA-22 format", edits{{"RXA-22", "yesterday"}}, "AA", "RXA^1^22", 102, Warning, 2},
		{"RXR-1 table", edits{{"RXR-1", "XX^Sideways^HL70162"}}, "AA", "RXR^1^1^1^1", 103, Warning, 5},
		{"RXR-2 table", edits{{"RXR-2", "XX^Elbow^HL70163"}}, "AA", "RXR^1^2^1^1", 103, Warning, 5},
		{"RXR placement", edits{{"+PD1", "RXR|C28161^Intramuscular^NCIT"}}, "AA", "RXR^1", 100, Warning, 8},
		{"64994-7 table", edits{{"OBX-5", "V99^Bogus^HL70064"}}, "AA", "OBX^1^5^1^1", 103, Warning, 5},
		{"64994-7 required", edits{{"-OBX", ""}}, "AA", "RXA^1", 101, Warning, 6},
		{"30963-3 table", edits{{"+OBX(4)", "OBX|5|CE|30963-3^Funding Source^LN|3|ZZZ^Bogus^CDCPHINVS||||||F"}}, "AA", "OBX^5^5^1^1", 103, Warning, 5},
		{"OBX-2 required", edits{{"OBX(2)-2", ""}}, "AA", "OBX^2^2", 101, Warning, 7},
		{"OBX-3 required", edits{{"OBX(2)-3", ""}}, "AA", "OBX^2^3", 101, Warning, 7},
		{"OBX-14 format", edits{{"OBX-14", "20120799"}}, "AA", "OBX^1^14", 102, Warning, 2},
		{"OBX placement", edits{{"+ORC", "OBX|9|CE|30945-0^Contraindication^LN|1|1^x^y||||||F"}}, "AA", "OBX^1", 100, Warning, 8},
		{"segment not in VXU", edits{{"+PD1", "AL1|1||x"}}, "AA", "AL1^1", 100, Warning, 8},
		{"PID repeated", edits{{"+PID", "PID|1||X^^^Y^MR||A^B||20070706|F"}}, "AA", "PID^2", 100, Warning, 8},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			msg := base
			for _, e := range tt.edits {
				msg = edit(t, msg, e[0], e[1])
			}
			r := v.Decode([]byte(msg))
			if c := v.Check([]byte(msg)); !sameVerdict(r, c) {
				t.Errorf("Check differs from Decode: %+v", c.Issues)
			}
			if got := v.AckCode(r); got != tt.msa {
				t.Errorf("MSA-1 = %s, want %s (issues %+v)", got, tt.msa, r.Issues)
			}
			var found *Issue
			for i := range r.Issues {
				if r.Issues[i].Rule == tt.rule {
					found = &r.Issues[i]
				}
			}
			if tt.loc == "" { // a row that proves the rule does not fire
				if found != nil {
					t.Fatalf("rule %q raised: %+v", tt.rule, *found)
				}
				return
			}
			if found == nil {
				t.Fatalf("rule %q not raised; issues: %+v", tt.rule, r.Issues)
			}
			if found.Location.String() != tt.loc || found.Code != tt.code || found.Severity != tt.sev || found.AppCode != tt.app {
				t.Errorf("got %s %d %s %d, want %s %d %s %d (%s)", found.Location, found.Code, found.Severity, found.AppCode, tt.loc, tt.code, tt.sev, tt.app, found.Message)
			}
			if found.Message == "" {
				t.Errorf("no ERR-8 message")
			}
			// The ACK carries the issue as an ERR row and parses back.
			ack, err := hl7.Parse(v.Ack(r))
			if err != nil {
				t.Fatal(err)
			}
			if !ack.Get("MSA-1").Equal(tt.msa) || ack.Count("ERR") != len(r.Issues) {
				t.Errorf("ACK: MSA-1 %s, %d ERR for %d issues", ack.Get("MSA-1").String(), ack.Count("ERR"), len(r.Issues))
			}
		})
	}
}
