package query

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7"
)

// TestNonEventsAnswered: what the registry stores that is not a dose — a
// refusal (RXA-20 RE with RXA-18), a 998 record of immunity (OBX 59784-9),
// patient-level evidence of immunity — comes back in the Z32 and Z42 as
// the IG has it (an RXA of RXA-20 RE with its RXA-5 vaccine, RXA-3 date
// and RXA-18 reason; the 998 RXA with its OBX), once however many times
// it was reported, and the forecast knows it (varicella Immune).
func TestNonEventsAnswered(t *testing.T) {
	p := newPipeline(t)
	refusal := sample(t, "gathered/nist-onc-2015/vxu_z22_onc2015_iz_ad5_child_refusal_RXA18_RXA20_RE_plus_3_admin.hl7")
	p.send(t, refusal)
	// The same report again under another MSH-10: the refusal is given once.
	p.send(t, bytes.Replace(refusal, []byte("|18019|"), []byte("|18019-2|"), 1))
	p.send(t, sample(t, "gathered/nist-2014/vxu_nist_iz016_varicella_history_998_OBX_59784-9.hl7"))
	p.send(t, []byte("MSH|^~\\&|TESTAPP|TESTFAC|IIS|IIS|20250101120000||VXU^V04^VXU_V04|PLOBX1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r"+
		"PID|1||PL-1^^^AUTH^MR||Quillfeather^Odalys^^^^^L||20100304|F\r"+
		"OBX|1|CE|59784-9^Disease with presumed immunity^LN|1|38907003^Varicella infection^SCT||||||F\r"+
		"ORC|RE||PL-1-1^TESTFAC\r"+
		"RXA|0|1|20100304||08^HepB pediatric^CVX|0.5|mL^mL^UCUM||00^New record^NIP001||||||||||||CP|A\r"))
	p.wait(t)
	p.asOf = time.Date(2015, 7, 1, 0, 0, 0, 0, time.UTC)

	for _, profile := range []string{"Z34", "Z44"} {
		// qbp names authority AUTH; the refusal's patient is wcEHR's.
		m := p.query(t, bytes.Replace(qbp(profile, "R"+profile, "8891", "Banks", "Tyler", "20140602", "M"), []byte("^^^AUTH^MR"), []byte("^^^wcEHR^MR"), 1))
		if want := map[string]string{"Z34": "Z32", "Z44": "Z42"}[profile]; !m.Get("MSH-21.1").Equal(want) {
			t.Fatalf("%s answered %q", profile, m.Bytes())
		}
		var refusals []hl7.Segment
		for _, seg := range m.Segments() {
			if seg.Is("RXA") && seg.Field(20).Equal("RE") {
				refusals = append(refusals, seg)
			}
		}
		if len(refusals) != 1 {
			t.Fatalf("%s: %d refusal RXA, want 1:\n%s", profile, len(refusals), bytes.ReplaceAll(m.Bytes(), []byte("\r"), []byte("\n")))
		}
		r := refusals[0]
		for field, want := range map[int]string{3: "20150624", 5: "21^varicella^CVX", 18: "00^Parental decision^NIP002", 20: "RE"} {
			if got := r.Field(field).String(); got != want {
				t.Errorf("%s: refusal RXA-%d = %q, want %q", profile, field, got, want)
			}
		}
	}

	for _, tc := range []struct {
		name, query string
		record      bool // a 998 RXA with its 59784-9 OBX is answered
	}{
		{"998 with OBX 59784-9", strings.Replace(string(qbp("Z44", "W1", "MR-11891", "Wolfe", "Aron", "20010907", "M")), "^^^AUTH^MR", "^^^NIST MPI^MR", 1), true},
		{"patient-level OBX 59784-9", string(qbp("Z44", "Q1", "PL-1", "Quillfeather", "Odalys", "20100304", "F")), false},
	} {
		m := p.query(t, []byte(tc.query))
		if !m.Get("MSH-21.1").Equal("Z42") {
			t.Fatalf("%s: %q", tc.name, m.Bytes())
		}
		if got := forecastOf(m)["21"].status; got != "Immune" {
			t.Errorf("%s: varicella %q, want Immune", tc.name, got)
		}
		if !tc.record {
			continue
		}
		found := false
		inRecord := false
		for _, seg := range m.Segments() {
			if seg.Is("RXA") {
				inRecord = seg.Field(5).Comp(1).Equal("998") && seg.Field(3).Equal("20110215")
			}
			if inRecord && seg.Is("OBX") && seg.Field(3).Comp(1).Equal("59784-9") && seg.Field(5).Comp(1).Equal("38907003") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no 998 RXA of 2011-02-15 with its OBX 59784-9:\n%s", tc.name, bytes.ReplaceAll(m.Bytes(), []byte("\r"), []byte("\n")))
		}
	}
}
