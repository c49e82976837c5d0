package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/mllp"
	"github.com/iisproject/iis/soap"
)

// queryMsg is a Z44 QBP for the CDC IG example child, from facility CLINIC1.
func queryMsg(tag string) []byte {
	return []byte("MSH|^~\\&|EHR|CLINIC1|IIS|STATE|20261125120000-0500||QBP^Q11^QBP_Q11|" + tag + "|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS\r" +
		"QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|" + tag + "|432155^^^dcs^MR|Patient^Johnny^New^^^^L|Lastname^Sally^^^^^M|20110411|M\r" +
		"RCP|I|5^RD&Records&HL70126\r")
}

// storeChild sends the CDC IG example VXU over MLLP and waits until the
// worker stored it.
func storeChild(t *testing.T, s *server) {
	t.Helper()
	ctx := context.Background()
	c, err := mllp.Dial(ctx, s.mllpLn.Addr().String(), &mllp.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Send(ctx, readSample(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for n := 0; n < 1 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM patient_identifiers WHERE value = '432155'`).Scan(&n)
	}
}

func sendMLLP(t *testing.T, s *server, msg []byte) *hl7.Message {
	t.Helper()
	c, err := mllp.Dial(context.Background(), s.mllpLn.Addr().String(), &mllp.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply, err := c.Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse(reply)
	if err != nil {
		t.Fatalf("reply %q: %v", reply, err)
	}
	return m
}

// disclosedTo lists the facilities the audit says were sent patient data.
func disclosedTo(t *testing.T, s *server) []string {
	t.Helper()
	var pid int64
	s.store.Pool().QueryRow(context.Background(), `SELECT patient_id FROM patient_identifiers WHERE value = '432155'`).Scan(&pid)
	ds, err := s.store.Disclosures(context.Background(), pid)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.Facility)
	}
	return out
}

// TestQueryNeedsAuthentication: under query_facilities "*" (the
// development configuration) a QBP over plain MLLP, where MSH-4 is only a
// claim, is refused with AR and the query package's ERR; the same query
// over SOAP with a login is answered, and only that login's facility is
// in the audit.
func TestQueryNeedsAuthentication(t *testing.T) {
	s := startTest(t, nil) // query_facilities ["*"]
	storeChild(t, s)

	m := sendMLLP(t, s, queryMsg("QMLLP"))
	if !m.Get("MSA-1").Equal("AR") || !m.Get("QAK-2").Equal("AR") || m.Count("PID") != 0 {
		t.Fatalf("unauthenticated MLLP query answered: %q", m.Bytes())
	}
	if !m.Get("ERR-2").Equal("MSH^1^4") || !m.Get("ERR-3.1").Equal("207") ||
		!m.Get("ERR-8").Equal("This facility is not authorised to query the registry - query rejected") {
		t.Errorf("ERR of the refused query: %q", m.Get("ERR").String())
	}

	sc := &soap.Client{URL: "http://" + s.httpLn.Addr().String() + "/soap", Username: "clinic", Password: "s3cret", FacilityID: "CLINIC1"}
	reply, err := sc.SubmitSingleMessage(context.Background(), queryMsg("QSOAP"))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := hl7.Parse(reply); err != nil || !m.Get("QAK-2").Equal("OK") || !m.Get("MSH-21.1").Equal("Z42") || m.Count("PID") != 1 {
		t.Fatalf("authenticated SOAP query: %q", reply)
	}
	if got := disclosedTo(t, s); len(got) != 1 || got[0] != "CLINIC1" {
		t.Errorf("disclosures to %q; want only CLINIC1 (the SOAP login)", got)
	}
}

// TestQueryAllowUnauthenticated: the explicit setting lets a plain MLLP
// sender query, iisd warns about it at start, and the audit records the
// sender as unauthenticated, never as the MSH-4 it claims.
func TestQueryAllowUnauthenticated(t *testing.T) {
	var logs bytes.Buffer
	queryAuthorizer(Config{QueryFacilities: []string{"*"}, QueryAllowUnauthenticated: true}, slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "UNAUTHENTICATED QUERIES ENABLED") {
		t.Errorf("no warning: %q", logs.String())
	}
	logs.Reset()
	queryAuthorizer(Config{QueryFacilities: []string{"*"}}, slog.New(slog.NewTextHandler(&logs, nil)))
	if logs.Len() != 0 {
		t.Errorf("warning without the setting: %q", logs.String())
	}

	s := startTest(t, func(c *Config) { c.QueryAllowUnauthenticated = true })
	if !strings.Contains(s.banner(), "unauthenticated senders may query") {
		t.Errorf("banner does not say so:\n%s", s.banner())
	}
	storeChild(t, s)
	m := sendMLLP(t, s, queryMsg("QMLLP"))
	if !m.Get("QAK-2").Equal("OK") || m.Count("PID") != 1 {
		t.Fatalf("query with query_allow_unauthenticated: %q", m.Bytes())
	}
	got := disclosedTo(t, s)
	if len(got) != 1 || got[0] == "CLINIC1" || !strings.Contains(got[0], "unauthenticated") {
		t.Errorf("disclosures to %q; want one naming an unauthenticated sender, not CLINIC1", got)
	}
}

// TestQueryAllowUnauthenticatedConfig: the setting is off unless named, in
// the file, the environment or a flag; the development configuration
// leaves it off.
func TestQueryAllowUnauthenticatedConfig(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/iisd.json"
	os.WriteFile(file, []byte(`{"query_facilities":["*"],"query_allow_unauthenticated":true}`), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want bool
	}{
		{"default", nil, nil, false},
		{"development configuration", []string{"-config", "../../deploy/iisd.dev.json"}, nil, false},
		{"file", []string{"-config", file}, nil, true},
		{"environment", nil, map[string]string{"IIS_QUERY_ALLOW_UNAUTHENTICATED": "true"}, true},
		{"flag", []string{"-query-allow-unauthenticated"}, nil, true},
	} {
		cfg, _, err := loadConfig(tc.args, func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cfg.QueryAllowUnauthenticated != tc.want {
			t.Errorf("%s: query_allow_unauthenticated %v, want %v", tc.name, cfg.QueryAllowUnauthenticated, tc.want)
		}
	}
}
