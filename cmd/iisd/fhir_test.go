package main

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestFHIRMounted: with "fhir" on, iisd serves the CapabilityStatement
// without a token and refuses reads without one (401 OperationOutcome);
// with it off, /fhir/ is not served by the FHIR API.
func TestFHIRMounted(t *testing.T) {
	s := startTest(t, func(c *Config) { c.FHIR = true })
	base := "http://" + s.httpLn.Addr().String()
	for _, tc := range []struct {
		path string
		code int
		rt   string
	}{
		{"/fhir/metadata", 200, "CapabilityStatement"},
		{"/fhir/Patient/1", 401, "OperationOutcome"},
		{"/fhir/Patient?family=x", 401, "OperationOutcome"},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ ResourceType string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || err != nil || body.ResourceType != tc.rt {
			t.Errorf("GET %s: %d %q (%v), want %d %s", tc.path, resp.StatusCode, body.ResourceType, err, tc.code, tc.rt)
		}
	}
	off := startTest(t, nil)
	resp, err := http.Get("http://" + off.httpLn.Addr().String() + "/fhir/metadata")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Type") == "application/fhir+json; charset=utf-8" {
		t.Errorf("the FHIR API is served with fhir off")
	}
}
