package immz

import (
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
)

// segmentIDs lists a message's segment IDs, leaving out ERR rows (the
// structure allows them anywhere after MSA; the IG's query examples lack
// MSH-4, which earns a warning).
func segmentIDs(m *hl7.Message) string {
	var ids []string
	for _, s := range m.Segments() {
		if !s.Is("ERR") {
			ids = append(ids, s.ID())
		}
	}
	return strings.Join(ids, " ")
}

func history(t testing.TB) *PatientHistory {
	t.Helper()
	v := New(Config{Now: testNow})
	r := v.Decode([]byte(readSample(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")))
	h := &PatientHistory{Patient: r.VXU.Patient, AssessedOn: time.Date(2012, 1, 20, 0, 0, 0, 0, time.UTC)}
	h.Patient.Identifiers = append(h.Patient.Identifiers, iis.Identifier{Value: "IIS-1", Authority: "STATE", Type: "SR"})
	for _, vac := range r.VXU.Vaccinations {
		h.Doses = append(h.Doses, EvaluatedDose{Vaccination: vac, Evaluations: []DoseEvaluation{
			{Group: iis.Code{Code: "45", Text: "Hep B, unspecified formulation", System: "CVX"}, DoseNumber: 1, DosesInSeries: 3, Valid: true},
			{Group: iis.Code{Code: "17", Text: "Hib, unspecified formulation", System: "CVX"}, Valid: false, Reason: "Too young: given at 4 days; minimum age 6 weeks (on 2011-05-23)"},
		}})
	}
	h.Recommendations = []Recommendation{
		{Group: iis.Code{Code: "45", Text: "Hep B", System: "CVX"}, Status: "Not Complete", DoseNumber: 2,
			Earliest: time.Date(2011, 5, 13, 0, 0, 0, 0, time.UTC), Recommended: time.Date(2011, 6, 11, 0, 0, 0, 0, time.UTC),
			PastDue: time.Date(2011, 8, 11, 0, 0, 0, 0, time.UTC), Latest: time.Date(2030, 4, 10, 0, 0, 0, 0, time.UTC)},
		{Group: iis.Code{Code: "03", Text: "MMR", System: "CVX"}, Status: "Not Complete", DoseNumber: 1,
			Earliest: time.Date(2012, 4, 11, 0, 0, 0, 0, time.UTC), Recommended: time.Date(2012, 4, 11, 0, 0, 0, 0, time.UTC)},
		{Group: iis.Code{Code: "21", Text: "Varicella", System: "CVX"}, Status: "Immune", Reason: "Evidence of immunity"},
	}
	return h
}

func query(t *testing.T, v *Validator, file string) *Result {
	t.Helper()
	r := v.Decode([]byte(readSample(t, file)))
	if r.Query == nil {
		t.Fatalf("%s: not a usable query: %+v", file, r.Issues)
	}
	return r
}

func TestResponseZ42(t *testing.T) {
	v := New(Config{Now: testNow, Facility: "STATE"})
	r := query(t, v, "qbp-z44-nist-qr-1.1.hl7")
	out := v.Response(r, &QueryResponse{Status: StatusOK, Match: history(t)})
	m, err := hl7.Parse(out)
	if err != nil {
		t.Fatalf("RSP does not parse: %v", err)
	}
	checks := map[string]string{
		"MSH-9": "RSP^K11^RSP_K11", "MSH-21.1": "Z42", "MSH-5": "NISTEHRAPP", "MSH-6": "NISTEHRFAC", "MSH-3": "NISTIISAPP",
		"MSA-1": "AA", "MSA-2": "NIST-IZ-QR-1.1_Query_Q11_Z44",
		"QAK-1": "IZ-1.1-2015", "QAK-2": "OK", "QAK-3.1": "Z44",
		"PID-1": "1", "PID-3(2).1": "IIS-1", "PID-3(2).5": "SR", "PID-5.1": "Patient", "PID-7": "20110411",
		"RXA-5.1": "85", "RXA(2)-5.1": "110", "RXA(4)-5.1": "998", "RXA(4)-20": "NA",
	}
	for loc, want := range checks {
		if got := m.Get(loc).String(); got != want {
			t.Errorf("%s = %q, want %q", loc, got, want)
		}
	}
	// The QPD is echoed unchanged.
	in, _ := hl7.Parse([]byte(readSample(t, "qbp-z44-nist-qr-1.1.hl7")))
	qin, _ := in.Segment("QPD", 1)
	qout, _ := m.Segment("QPD", 1)
	if string(qin.Bytes()) != string(qout.Bytes()) {
		t.Errorf("QPD not echoed:\n%s\n%s", qin.Bytes(), qout.Bytes())
	}
	// Structure: MSH MSA QAK QPD PID [PD1] NK1 {ORC RXA [RXR] {OBX}} then the forecast group.
	ids := segmentIDs(m)
	if !strings.HasPrefix(ids, "MSH MSA QAK QPD PID NK1 ORC RXA OBX") {
		t.Errorf("segments: %s", ids)
	}
	// Evaluation of the first dose: group, schedule, dose number, doses in
	// series, validity; and a reason for the invalid one; OBX-4 ties them.
	obs := map[string][]string{}
	var forecast []string
	inForecast := false
	for _, s := range m.Segments() {
		if s.Is("RXA") {
			inForecast = s.Field(5).Comp(1).Equal("998")
		}
		if !s.Is("OBX") {
			continue
		}
		key := s.Field(3).Comp(1).String() + "/" + s.Field(4).String()
		if inForecast {
			forecast = append(forecast, key+"="+s.Field(5).String())
			continue
		}
		obs[key] = append(obs[key], s.Field(5).String())
	}
	if got := obs["59781-5/1"]; len(got) != 3 || got[0] != "Y" {
		t.Errorf("validity rows %v", got)
	}
	if got := obs["59781-5/2"]; len(got) != 3 || got[0] != "N" {
		t.Errorf("invalid rows %v", got)
	}
	if got := obs["30982-3/2"]; len(got) != 3 || !strings.Contains(got[0], "Too young") {
		t.Errorf("reason rows %v", got)
	}
	if got := obs["59779-9/1"]; len(got) != 3 || got[0] != "VXC16^ACIP^CDCPHINVS" {
		t.Errorf("schedule rows %v", got)
	}
	want := []string{
		"30956-7/1=45^Hep B^CVX", "59779-9/1=VXC16^ACIP^CDCPHINVS", "59783-1/1=LA13423-1^Overdue^LN", "30973-2/1=2",
		"30981-5/1=20110513", "30980-7/1=20110611", "59778-1/1=20110811", "59777-3/1=20300410",
		"30956-7/2=03^MMR^CVX", "59779-9/2=VXC16^ACIP^CDCPHINVS", "59783-1/2=LA13422-3^On schedule^LN", "30973-2/2=1",
		"30981-5/2=20120411", "30980-7/2=20120411",
		"30956-7/3=21^Varicella^CVX", "59779-9/3=VXC16^ACIP^CDCPHINVS", "59783-1/3=^Immune", "30982-3/3=Evidence of immunity",
	}
	if strings.Join(forecast, "\n") != strings.Join(want, "\n") {
		t.Errorf("forecast OBX:\n%s\nwant\n%s", strings.Join(forecast, "\n"), strings.Join(want, "\n"))
	}
}

func TestResponseZ32Z31Z33(t *testing.T) {
	v := New(Config{Now: testNow})
	r := query(t, v, "cdc-ig/pair_ig_z34_z32/1_qbp_z34_request_history.hl7")

	z32, _ := hl7.Parse(v.Response(r, &QueryResponse{Status: StatusOK, Match: history(t)}))
	if !z32.Get("MSH-21.1").Equal("Z32") || z32.Count("RXA") != 3 || !z32.Get("QAK-2").Equal("OK") {
		t.Errorf("Z32: %s", segmentIDs(z32))
	}
	// A Z32 has the OBX the doses were reported with (eligibility, VIS),
	// no evaluation.
	for _, seg := range z32.Segments() {
		if seg.Is("OBX") && seg.Field(3).Comp(1).Equal("59781-5") {
			t.Errorf("Z32 evaluates: %s", seg.Bytes())
		}
	}
	if !strings.Contains(segmentIDs(z32), "RXR OBX") || !z32.Get("OBX-3.1").Equal("64994-7") {
		t.Errorf("Z32 without the reported OBX: %s", z32.Bytes())
	}

	h := history(t)
	c1, c2 := h.Patient, h.Patient
	c2.Names = []iis.Name{{Family: "Patient", Given: "John", Type: "L"}}
	z31, _ := hl7.Parse(v.Response(r, &QueryResponse{Status: StatusOK, Candidates: []iis.Patient{c1, c2}}))
	if !z31.Get("MSH-21.1").Equal("Z31") || z31.Count("PID") != 2 || !z31.Get("PID(2)-1").Equal("2") || z31.Count("RXA") != 0 {
		t.Errorf("Z31: %s", segmentIDs(z31))
	}

	// NF and TM: Z33 with no patient data, as the IG's examples.
	for _, tc := range []struct{ status, sample string }{
		{StatusNotFound, "cdc-ig/rsp_z33_ig_NF_no_match.hl7"},
		{StatusTooMany, "cdc-ig/rsp_z33_ig_TM_too_many_candidates.hl7"},
		{StatusProtected, ""},
	} {
		m, _ := hl7.Parse(v.Response(r, &QueryResponse{Status: tc.status}))
		if segmentIDs(m) != "MSH MSA QAK QPD" || !m.Get("MSH-21.1").Equal("Z33") || !m.Get("QAK-2").Equal(tc.status) || !m.Get("MSA-1").Equal("AA") {
			t.Errorf("%s: %s %q", tc.status, segmentIDs(m), m.Bytes())
		}
		if tc.sample == "" {
			continue
		}
		ig, _ := hl7.Parse([]byte(readSample(t, tc.sample)))
		if segmentIDs(ig) != segmentIDs(m) || !ig.Get("QAK-2").Equal(m.Get("QAK-2").String()) || !ig.Get("QAK-1").Equal(m.Get("QAK-1").String()) {
			t.Errorf("%s differs from the IG example: %s vs %s", tc.status, segmentIDs(m), segmentIDs(ig))
		}
	}
}

// TestResponseQueryError: a query without QPD-2 is answered as the IG's
// pair shows: Z33, MSA AE, ERR QPD^1^2 101, QAK AE.
func TestResponseQueryError(t *testing.T) {
	v := New(Config{Now: testNow})
	r := v.Decode([]byte(readSample(t, "cdc-ig/pair_ig_qbp_error/1_qbp_z34_missing_query_tag_qpd2.hl7")))
	m, err := hl7.Parse(v.Response(r, &QueryResponse{Status: StatusAppError}))
	if err != nil {
		t.Fatal(err)
	}
	ig, _ := hl7.Parse([]byte(readSample(t, "cdc-ig/pair_ig_qbp_error/2_rsp_z33_AE_required_field_missing.hl7")))
	for _, loc := range []string{"MSA-1", "QAK-2", "MSH-21.1"} {
		if m.Get(loc).String() != strings.TrimSpace(ig.Get(loc).String()) {
			t.Errorf("%s = %q, IG %q", loc, m.Get(loc).String(), ig.Get(loc).String())
		}
	}
	found := false
	for i := 1; i <= m.Count("ERR"); i++ {
		e, _ := m.Segment("ERR", i)
		if e.Field(2).Equal("QPD^1^2") && e.Field(3).Comp(1).Equal("101") && e.Field(4).Equal("E") {
			found = true
		}
	}
	if !found {
		t.Errorf("no ERR QPD^1^2 101 E: %q", m.Bytes())
	}
}

// BenchmarkResponseZ42 writes a Z42 for a child with twenty doses, each
// evaluated in two vaccine groups, and fifteen vaccine groups forecast:
// the size of a full childhood record.
func BenchmarkResponseZ42(b *testing.B) {
	v := New(Config{Now: testNow, Facility: "STATE"})
	r := v.Decode([]byte(readSample(b, "qbp-z44-nist-qr-1.1.hl7")))
	h := history(b)
	for len(h.Doses) < 20 {
		h.Doses = append(h.Doses, h.Doses[len(h.Doses)%3])
	}
	for len(h.Recommendations) < 15 {
		h.Recommendations = append(h.Recommendations, h.Recommendations[len(h.Recommendations)%3])
	}
	resp := &QueryResponse{Status: StatusOK, Match: h}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		size = len(v.Response(r, resp))
	}
	b.SetBytes(int64(size))
}
