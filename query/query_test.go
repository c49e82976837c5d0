package query

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/ingest"
)

// memRegistry is an in-memory registry for the decision logic's unit
// tests; the PostgreSQL-backed one is tested in the registry package and
// end to end.
type memRegistry struct {
	cands   []Candidate
	history map[int64][]iis.Vaccination
	audit   []Disclosure
	err     error
}

func (m *memRegistry) FindPatients(context.Context, *immz.Query) ([]Candidate, error) {
	return m.cands, m.err
}

func (m *memRegistry) History(_ context.Context, id int64) (iis.Patient, []iis.Vaccination, error) {
	for _, c := range m.cands {
		if c.PatientID == id {
			return c.Patient, m.history[id], nil
		}
	}
	return iis.Patient{}, nil, errors.New("no such patient")
}

func (m *memRegistry) RecordDisclosure(_ context.Context, d Disclosure) error {
	m.audit = append(m.audit, d)
	return nil
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func sample(t *testing.T, name string) []byte {
	b, err := os.ReadFile("../testdata/hl7/samples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// child is the IG example patient with its three doses, as the registry
// would hold them.
func child(t *testing.T, v *immz.Validator) (iis.Patient, []iis.Vaccination) {
	r := v.Decode(sample(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7"))
	return r.VXU.Patient, r.VXU.Vaccinations
}

func setup(t *testing.T, reg *memRegistry, allow AllowList) (*Service, *immz.Validator) {
	v := immz.New(immz.Config{Now: func() time.Time { return now }})
	fc, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Validator: v, Registry: reg, Forecaster: fc, Authorizer: allow, Now: func() time.Time { return now }}), v
}

func answer(t *testing.T, s *Service, v *immz.Validator, file, facility string) *hl7.Message {
	t.Helper()
	r := v.Decode(sample(t, file))
	if r.Query == nil {
		t.Fatalf("not a query: %+v", r.Issues)
	}
	m, err := hl7.Parse(s.Answer(context.Background(), r, ingest.Source{Facility: facility, Transport: "soap", Authenticated: true}))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOneMatchZ44(t *testing.T) {
	reg := &memRegistry{}
	s, v := setup(t, reg, AllowList{"NISTEHRFAC"})
	p, doses := child(t, v)
	reg.cands = []Candidate{{PatientID: 7, Patient: p, Confident: true}}
	reg.history = map[int64][]iis.Vaccination{7: doses}
	m := answer(t, s, v, "qbp-z44-nist-qr-1.1.hl7", "NISTEHRFAC")
	if !m.Get("MSH-21.1").Equal("Z42") || !m.Get("QAK-2").Equal("OK") || m.Count("RXA") != 4 {
		t.Fatalf("response %q", m.Bytes())
	}
	// The forecast OBX agree with the forecast package for the same history.
	fc, _ := forecast.Default()
	var fd []forecast.Dose
	for _, d := range doses {
		fd = append(fd, forecast.Dose{Date: d.AdministeredAt, CVX: d.CVX, MVX: d.Manufacturer.Code})
	}
	want := fc.Forecast(forecast.Patient{DOB: p.BirthDate, Gender: forecast.ParseGender(p.Sex)}, fd, now)
	got := map[string]string{} // group CVX → recommended date
	inForecast := false
	group := ""
	for _, seg := range m.Segments() {
		if seg.Is("RXA") {
			inForecast = seg.Field(5).Comp(1).Equal("998")
		}
		if !inForecast || !seg.Is("OBX") {
			continue
		}
		switch seg.Field(3).Comp(1).String() {
		case "30956-7":
			group = seg.Field(5).Comp(1).String()
		case "30980-7":
			got[group] = seg.Field(5).String()
		}
	}
	// Each forecast group's status (59783-1) is a LOINC answer, except the
	// statuses that have none, sent as text.
	statuses := 0
	for _, seg := range m.Segments() {
		if !seg.Is("OBX") || !seg.Field(3).Comp(1).Equal("59783-1") {
			continue
		}
		statuses++
		code, text := seg.Field(5).Comp(1).String(), seg.Field(5).Comp(2).String()
		if !strings.HasPrefix(code, "LA") && text != "Immune" && text != "Contraindicated" && text != "Not recommended" {
			t.Errorf("59783-1 %q^%q: no LOINC answer", code, text)
		}
	}
	if statuses != len(want.Groups) {
		t.Errorf("%d series statuses for %d vaccine groups", statuses, len(want.Groups))
	}
	checked := 0
	for _, g := range want.Groups {
		code := groupCode(g.VaccineGroup).Code
		if g.Recommended == forecast.NoDate {
			continue
		}
		checked++
		if got[code] != g.Recommended.Time().Format("20060102") {
			t.Errorf("%s: RSP recommends %q, forecast %s", g.VaccineGroup, got[code], g.Recommended)
		}
	}
	if checked < 5 {
		t.Errorf("only %d groups with a recommended date", checked)
	}
	if len(reg.audit) != 1 || reg.audit[0].PatientID != 7 || reg.audit[0].Profile != "Z42" || reg.audit[0].Facility != "NISTEHRFAC" {
		t.Errorf("audit %+v", reg.audit)
	}
}

func TestOutcomes(t *testing.T) {
	v0 := immz.New(immz.Config{Now: func() time.Time { return now }})
	p, doses := child(t, v0)
	protected := p
	protected.Protection = "Y"
	twin := p
	twin.Names = []iis.Name{{Family: "Patient", Given: "Jane", Type: "L"}}
	tests := []struct {
		name      string
		cands     []Candidate
		err       error
		facility  string
		profile   string
		status    string
		msa       string
		disclosed int
	}{
		{"one match Z34", []Candidate{{PatientID: 1, Patient: p, Confident: true}}, nil, "CLINIC", "Z32", "OK", "AA", 1},
		{"none", nil, nil, "CLINIC", "Z33", "NF", "AA", 0},
		{"several", []Candidate{{PatientID: 1, Patient: p}, {PatientID: 2, Patient: twin}}, nil, "CLINIC", "Z31", "OK", "AA", 2},
		{"two confident", []Candidate{{PatientID: 1, Patient: p, Confident: true}, {PatientID: 2, Patient: twin, Confident: true}}, nil, "CLINIC", "Z31", "OK", "AA", 2},
		{"too many", []Candidate{{PatientID: 1, Patient: p}, {PatientID: 2, Patient: twin}, {PatientID: 3, Patient: p}, {PatientID: 4, Patient: p}, {PatientID: 5, Patient: p}, {PatientID: 6, Patient: p}}, nil, "CLINIC", "Z33", "TM", "AA", 0},
		{"protected", []Candidate{{PatientID: 1, Patient: protected, Confident: true, Protected: true}}, nil, "CLINIC", "Z33", "PD", "AA", 0},
		{"protected left out of a list", []Candidate{{PatientID: 1, Patient: protected, Protected: true}, {PatientID: 2, Patient: twin}}, nil, "CLINIC", "Z31", "OK", "AA", 1},
		{"unauthorised facility", []Candidate{{PatientID: 1, Patient: p, Confident: true}}, nil, "STRANGER", "Z33", "AR", "AR", 0},
		{"registry down", nil, errors.New("connection refused"), "CLINIC", "Z33", "AE", "AE", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := &memRegistry{cands: tt.cands, err: tt.err, history: map[int64][]iis.Vaccination{1: doses}}
			s, v := setup(t, reg, AllowList{"CLINIC"})
			m := answer(t, s, v, "cdc-ig/pair_ig_z34_z32/1_qbp_z34_request_history.hl7", tt.facility)
			if !m.Get("MSH-21.1").Equal(tt.profile) || !m.Get("QAK-2").Equal(tt.status) || !m.Get("MSA-1").Equal(tt.msa) {
				t.Errorf("got %s %s %s, want %s %s %s", m.Get("MSH-21.1").String(), m.Get("QAK-2").String(), m.Get("MSA-1").String(), tt.profile, tt.status, tt.msa)
			}
			if len(reg.audit) != tt.disclosed {
				t.Errorf("%d disclosures audited, want %d", len(reg.audit), tt.disclosed)
			}
			if tt.profile == "Z33" && (m.Count("PID") != 0 || m.Count("RXA") != 0) {
				t.Errorf("Z33 carries patient data")
			}
			if strings.Contains(string(m.Bytes()), "Jane") != (tt.disclosed > 0 && tt.profile == "Z31") && tt.name != "protected left out of a list" {
				t.Errorf("candidate disclosure mismatch")
			}
		})
	}
}

// TestUnauthenticatedFacility: a facility named only by its own MSH-4 is
// not trusted to query, even if its name is on the list.
func TestUnauthenticatedFacility(t *testing.T) {
	reg := &memRegistry{}
	s, v := setup(t, reg, AllowList{"CLINIC"})
	r := v.Decode(sample(t, "cdc-ig/pair_ig_z34_z32/1_qbp_z34_request_history.hl7"))
	m, _ := hl7.Parse(s.Answer(context.Background(), r, ingest.Source{Facility: "CLINIC", Transport: "mllp"}))
	if !m.Get("MSA-1").Equal("AR") || !m.Get("QAK-2").Equal("AR") {
		t.Errorf("unauthenticated query answered %s %s", m.Get("MSA-1").String(), m.Get("QAK-2").String())
	}
}

// TestAuthorization: "*" admits every authenticated sender and nobody
// else; only AllowUnauthenticated lets a sender the transport did not
// authenticate query, and its disclosures never credit the MSH-4 it
// claims.
func TestAuthorization(t *testing.T) {
	cases := []struct {
		name     string
		auth     Authorizer
		src      ingest.Source
		answered bool
		audited  string // the disclosure's facility when answered
	}{
		{"* and a SOAP login", AllowList{"*"}, ingest.Source{Facility: "NISTEHRFAC", Transport: "soap", Authenticated: true}, true, "NISTEHRFAC"},
		{"* and plain MLLP", AllowList{"*"}, ingest.Source{Facility: "NISTEHRFAC", Transport: "mllp"}, false, ""},
		{"listed and plain MLLP", AllowList{"NISTEHRFAC"}, ingest.Source{Facility: "NISTEHRFAC", Transport: "mllp"}, false, ""},
		{"listed and a certificate", AllowList{"NISTEHRFAC"}, ingest.Source{Facility: "NISTEHRFAC", Transport: "mllp", Authenticated: true}, true, "NISTEHRFAC"},
		{"not listed", AllowList{"OTHER"}, ingest.Source{Facility: "NISTEHRFAC", Transport: "soap", Authenticated: true}, false, ""},
		{"no facility", AllowList{"*"}, ingest.Source{Transport: "soap", Authenticated: true}, false, ""},
		{"unauthenticated allowed, *", AllowUnauthenticated{"*"}, ingest.Source{Facility: "NISTEHRFAC", Transport: "mllp"}, true,
			`unauthenticated mllp sender claiming "NISTEHRFAC"`},
		{"unauthenticated allowed, listed", AllowUnauthenticated{"NISTEHRFAC"}, ingest.Source{Facility: "NISTEHRFAC", Transport: "mllp"}, true,
			`unauthenticated mllp sender claiming "NISTEHRFAC"`},
		{"unauthenticated allowed, not listed", AllowUnauthenticated{"OTHER"}, ingest.Source{Facility: "NISTEHRFAC", Transport: "mllp"}, false, ""},
		{"unauthenticated allowed, authenticated sender", AllowUnauthenticated{"*"}, ingest.Source{Facility: "NISTEHRFAC", Transport: "soap", Authenticated: true}, true, "NISTEHRFAC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := &memRegistry{}
			v := immz.New(immz.Config{Now: func() time.Time { return now }})
			s := New(Config{Validator: v, Registry: reg, Authorizer: tc.auth, Now: func() time.Time { return now }})
			p, doses := child(t, v)
			reg.cands = []Candidate{{PatientID: 7, Patient: p, Confident: true}}
			reg.history = map[int64][]iis.Vaccination{7: doses}
			m, err := hl7.Parse(s.Answer(context.Background(), v.Decode(sample(t, "qbp-z44-nist-qr-1.1.hl7")), tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.answered {
				if !m.Get("MSA-1").Equal("AR") || !m.Get("QAK-2").Equal("AR") || m.Count("PID") != 0 || len(reg.audit) != 0 {
					t.Fatalf("refused query answered: %q", m.Bytes())
				}
				if !m.Get("ERR-2").Equal("MSH^1^4") || !m.Get("ERR-3.1").Equal("207") || !m.Get("ERR-4").Equal("E") ||
					!m.Get("ERR-8").Equal(issueUnauthorized.Message) {
					t.Errorf("ERR of a refused query: %q", m.Get("ERR").String())
				}
				return
			}
			if !m.Get("QAK-2").Equal("OK") || m.Count("PID") != 1 {
				t.Fatalf("authorised query not answered: %q", m.Bytes())
			}
			if len(reg.audit) != 1 || reg.audit[0].Facility != tc.audited {
				t.Errorf("audit rows %+v; want one for %q", reg.audit, tc.audited)
			}
		})
	}
}
