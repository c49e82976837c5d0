package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/smart"
	"github.com/iisproject/iis/soap"
)

// fhirResource is what the end-to-end test reads of an exported resource.
type fhirResource struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Patient      struct {
		Reference string `json:"reference"`
	} `json:"patient"`
	VaccineCode struct {
		Coding []struct{ System, Code string } `json:"coding"`
	} `json:"vaccineCode"`
	OccurrenceDateTime string `json:"occurrenceDateTime"`
}

// TestBulkExportEndToEnd drives Bulk Data against a real iisd and
// PostgreSQL as the Helios pattern has it: a clinic reports VXUs over
// MLLP, finds a child with a QBP over SOAP (the RSP's PID-3 carries the
// child's FHIR Patient.id, type SR), gets an access token as a backend
// client, puts the child in a Group of its own, exports the Group, and
// the NDJSON's Immunizations are the doses the VXUs sent. Another
// facility's client and a client without the scopes are refused; an
// opted-out child is absent from every answer.
func TestBulkExportEndToEnd(t *testing.T) {
	s := startTest(t, func(c *Config) {
		c.FHIR, c.FHIRBulk, c.QueryFacilities, c.Facility = true, true, []string{"CLINIC1"}, "CTIIS"
	})
	ctx := context.Background()
	base := "http://" + s.httpLn.Addr().String()
	ada := []string{"08:20240110", "20:20240312", "10:20240312"}
	reportAccepted(t, s, 4,
		homeVXU("CLINIC1", "BE-1", "ADA1", "Ada", "Avery", "20240110", ada...),
		homeVXU("CLINIC1", "BE-2", "EVE1", "Eve", "Ellison", "20230605", "08:20230605"),
		homeVXU("CLINIC1", "BE-3", "OLA1", "Ola", "Okafor", "20220920", "08:20220920", "20:20221121"),
		homeVXU("CLINIC2", "BE-4", "HAL1", "Hal", "Hughes", "20210101", "08:20210101"),
	)
	// Ola is found over v2 (the registry id in the RSP's PID-3), Ada over
	// FHIR (Patient/$match) once the client has a token.
	olaID := registryIDFromQBP(t, s, "OLA1^^^CLINIC1^MR|Okafor^Ola^^^^^L||20220920|F")
	var halID int64
	s.store.Pool().QueryRow(ctx, `SELECT patient_id FROM patient_identifiers WHERE value = 'HAL1'`).Scan(&halID)

	all := "system/Patient.rs system/Immunization.rs system/ImmunizationRecommendation.rs system/Group.cruds"
	clinic1 := registerClient(t, s, base, "clinic1-ehr", "CLINIC1", all)
	clinic2 := registerClient(t, s, base, "clinic2-ehr", "CLINIC2", all)
	narrow := registerClient(t, s, base, "clinic1-portal", "CLINIC1", "system/Patient.rs system/Group.rs")
	_, tok1 := clinic1.token(all)
	_, tok2 := clinic2.token(all)
	if tok1 == "" || tok2 == "" {
		t.Fatal("no token")
	}
	adaID := matchOne(t, clinic1, tok1, "Avery", "Ada", "2024-01-10")

	// The clinic's own Group: Ada and Ola; Hal (CLINIC2's) is refused.
	if status, _, body := clinic1.do(tok1, "POST", "/fhir/Group", groupJSON(adaID, halID)); status != 422 {
		t.Errorf("a member of another facility: %d %s", status, body)
	}
	status, h, body := clinic1.do(tok1, "POST", "/fhir/Group", groupJSON(adaID, olaID))
	if status != 201 {
		t.Fatalf("create Group: %d %s", status, body)
	}
	group := strings.TrimPrefix(h.Get("Location"), base+"/fhir/Group/")
	// Ola's parent opts out: she is absent from everything from now on.
	if err := s.store.RecordOptOut(ctx, registry.OptOut{PatientID: olaID, SignedOn: time.Now(), FormRef: "F-1", RecordedBy: "user:pat", OrgID: 1}); err != nil {
		t.Fatal(err)
	}

	files := exportGroup(t, clinic1, tok1, group, "")
	var doses []string
	for _, r := range files["Immunization"] {
		if r.Patient.Reference != "Patient/"+strconv.FormatInt(adaID, 10) || len(r.VaccineCode.Coding) == 0 {
			t.Errorf("Immunization %+v", r)
			continue
		}
		doses = append(doses, cvxOf(r)+":"+strings.ReplaceAll(r.OccurrenceDateTime, "-", ""))
	}
	slices.Sort(doses)
	want := slices.Clone(ada)
	slices.Sort(want)
	if !slices.Equal(doses, want) {
		t.Errorf("exported Immunizations %v, want the VXU's doses %v", doses, want)
	}
	if len(files["Patient"]) != 1 || files["Patient"][0].ID != strconv.FormatInt(adaID, 10) || len(files["ImmunizationRecommendation"]) != 1 {
		t.Errorf("Patient and ImmunizationRecommendation files: %+v", files)
	}
	// The facility's automatic Group: Ada and Eve, never Ola.
	auto := exportGroup(t, clinic1, tok1, "facility-CLINIC1", "?_type=Patient,Immunization")
	if len(auto["Patient"]) != 2 || len(auto["Immunization"]) != 4 || auto["ImmunizationRecommendation"] != nil {
		t.Errorf("automatic Group's files: %d patients, %d immunizations", len(auto["Patient"]), len(auto["Immunization"]))
	}
	ola := "Patient/" + strconv.FormatInt(olaID, 10)
	for _, rs := range [](map[string][]fhirResource){files, auto} {
		for typ, list := range rs {
			for _, r := range list {
				if r.Patient.Reference == ola || typ == "Patient" && r.ID == strconv.FormatInt(olaID, 10) {
					t.Errorf("the opted-out child is in the %s file", typ)
				}
			}
		}
	}
	for _, g := range []string{group, "facility-CLINIC1"} {
		if status, _, body := clinic1.do(tok1, "GET", "/fhir/Group/"+g, ""); status != 200 || strings.Contains(body, ola) {
			t.Errorf("Group %s: %d, lists the opted-out child: %v", g, status, strings.Contains(body, ola))
		}
	}

	// Ola is not found by $match nor read any more.
	if status, _, body := clinic1.do(tok1, "POST", "/fhir/Patient/$match", matchParams("Okafor", "Ola", "2022-09-20")); status != 200 || strings.Contains(body, `"Patient"`) && strings.Contains(body, strconv.FormatInt(olaID, 10)) {
		t.Errorf("$match of the opted-out child: %d %s", status, body)
	}
	if status, _, _ := clinic1.do(tok1, "GET", "/fhir/Patient/"+strconv.FormatInt(olaID, 10), ""); status != 404 {
		t.Errorf("read of the opted-out child: %d, want 404", status)
	}

	// Refusals.
	for _, tc := range []struct {
		name   string
		c      *backendClient
		token  string
		path   string
		status int
	}{
		{"another facility's client, the clinic's Group", clinic2, tok2, "/fhir/Group/" + group + "/$export", 403},
		{"another facility's client, the automatic Group", clinic2, tok2, "/fhir/Group/facility-CLINIC1/$export", 403},
		{"no token", clinic1, "", "/fhir/Group/" + group + "/$export", 401},
	} {
		if status, _, body := tc.c.do(tc.token, "GET", tc.path, ""); status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.status)
		}
	}
	if status, _ := narrow.token("system/Immunization.rs"); status != 400 {
		t.Errorf("a scope never registered: %d, want 400 invalid_scope", status)
	}
	_, tokN := narrow.token("system/Patient.rs system/Group.rs")
	if status, _, body := narrow.do(tokN, "GET", "/fhir/Group/facility-CLINIC1/$export?_type=Immunization", ""); status != 403 {
		t.Errorf("export of a type outside the scopes: %d %s", status, body)
	}
	if status, _, body := narrow.do(tokN, "POST", "/fhir/Group", groupJSON(adaID)); status != 403 {
		t.Errorf("create without Group.c: %d %s", status, body)
	}
	var audited int
	s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'fhir:clinic1-ehr' AND action = 'disclose' AND patient_id = $1`, adaID).Scan(&audited)
	if audited == 0 {
		t.Errorf("the export's disclosures of Ada are not audited")
	}
}

func matchParams(family, given, dob string) string {
	return `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","name":[{"family":"` +
		family + `","given":["` + given + `"]}],"birthDate":"` + dob + `","gender":"female"}}]}`
}

// matchOne finds one patient with Patient/$match and returns its id.
func matchOne(t *testing.T, c *backendClient, token, family, given, dob string) int64 {
	t.Helper()
	status, _, body := c.do(token, "POST", "/fhir/Patient/$match", matchParams(family, given, dob))
	var b struct {
		Entry []struct {
			Resource fhirResource `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(body), &b); status != 200 || err != nil || len(b.Entry) != 1 || b.Entry[0].Resource.ResourceType != "Patient" {
		t.Fatalf("$match %s, %s: %d %v %s", family, given, status, err, body)
	}
	id, err := strconv.ParseInt(b.Entry[0].Resource.ID, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// registryIDFromQBP asks for a child as CLINIC1 over SOAP and returns the
// registry id the RSP's PID-3 carries (type SR, the registry's authority).
func registryIDFromQBP(t *testing.T, s *server, qpd string) int64 {
	t.Helper()
	sc := &soap.Client{URL: "http://" + s.httpLn.Addr().String() + "/soap", Username: "clinic", Password: "s3cret", FacilityID: "CLINIC1"}
	msg := "MSH|^~\\&|EHR|CLINIC1|IIS|STATE|20261125||QBP^Q11^QBP_Q11|" + qpd[:4] + "|P|2.5.1|||ER|AL|||||Z34^CDCPHINVS\r" +
		"QPD|Z34^Request Immunization History^CDCPHINVS|" + qpd[:4] + "|" + qpd + "\rRCP|I|5^RD&Records&HL70126\r"
	reply, err := sc.SubmitSingleMessage(context.Background(), []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse(reply)
	if err != nil || !m.Get("QAK-2").Equal("OK") {
		t.Fatalf("RSP: %v %q", err, reply)
	}
	pid, _ := m.Segment("PID", 1)
	f := pid.Field(3)
	for i := 1; i <= f.NumReps(); i++ {
		if r := f.Rep(i); r.Comp(5).Equal("SR") && r.Comp(4).Equal("CTIIS") {
			id, err := strconv.ParseInt(r.Comp(1).String(), 10, 64)
			if err == nil {
				return id
			}
		}
	}
	t.Fatalf("no registry id (SR, CTIIS) in PID-3 %q", f.String())
	return 0
}

func registerClient(t *testing.T, s *server, base, id, facility, scopes string) *backendClient {
	t.Helper()
	c := newBackendClient(t, base, id)
	registerClientJWKS(t, s, id, facility, scopes, c.jwks())
	return c
}

// registerClientJWKS registers a client with its public keys.
func registerClientJWKS(t *testing.T, s *server, id, facility, scopes, jwks string) {
	t.Helper()
	sc, err := smart.ParseScopes(scopes)
	if err != nil {
		t.Fatal(err)
	}
	if err := smart.NewStore(s.store.Pool()).Register(context.Background(), smart.Client{ID: id, Name: id, FacilityID: facility, Scopes: sc, JWKS: jwks}); err != nil {
		t.Fatal(err)
	}
}

func groupJSON(ids ...int64) string {
	var m []string
	for _, id := range ids {
		m = append(m, fmt.Sprintf(`{"entity":{"reference":"Patient/%d"}}`, id))
	}
	return `{"resourceType":"Group","type":"person","actual":true,"name":"Tomorrow's appointments","member":[` + strings.Join(m, ",") + `]}`
}

func cvxOf(r fhirResource) string {
	for _, c := range r.VaccineCode.Coding {
		if strings.HasSuffix(c.System, "cvx") {
			return c.Code
		}
	}
	return ""
}

// exportGroup runs a Group's $export to the end and returns its files'
// resources by type.
func exportGroup(t *testing.T, c *backendClient, token, group, query string) map[string][]fhirResource {
	t.Helper()
	status, h, body := c.do(token, "GET", "/fhir/Group/"+group+"/$export"+query, "")
	if status != 202 {
		t.Fatalf("kick-off: %d %s", status, body)
	}
	statusURL := h.Get("Content-Location")
	var m struct {
		RequiresAccessToken bool `json:"requiresAccessToken"`
		Output              []struct {
			Type, URL string
			Count     int
		} `json:"output"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		status, h, body = c.do(token, "GET", statusURL, "")
		if status == 200 {
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatal(err)
			}
			break
		}
		if status != 202 || h.Get("X-Progress") == "" || time.Now().After(deadline) {
			t.Fatalf("status: %d %s", status, body)
		}
	}
	out := map[string][]fhirResource{}
	for _, o := range m.Output {
		if status, _, _ := c.do("", "GET", o.URL, ""); status != 401 {
			t.Errorf("a file without the token: %d, want 401", status)
		}
		status, _, body := c.do(token, "GET", o.URL, "")
		if status != 200 {
			t.Fatalf("file %s: %d", o.URL, status)
		}
		for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
			var r fhirResource
			if err := json.Unmarshal([]byte(line), &r); err != nil || r.ResourceType != o.Type {
				t.Fatalf("%s line %q: %v", o.Type, line, err)
			}
			out[o.Type] = append(out[o.Type], r)
		}
		if len(out[o.Type]) != o.Count {
			t.Errorf("%s: %d lines, manifest count %d", o.Type, len(out[o.Type]), o.Count)
		}
	}
	return out
}
