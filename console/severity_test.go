package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/iisproject/iis/hl7/immz"
)

// TestFacilitySeverities: an engineer sees a facility's data quality
// detections, sets one's severity (applied at once, audited, shown), and
// cannot change a rejecting rule's; a viewer sees them without the form.
func TestFacilitySeverities(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	tok := e.login(t, c, "ed")
	code, body := get(t, c, e.srv.URL+"/console/facilities?facility=NEWCLINIC")
	if code != 200 || !strings.Contains(body, "VaccinationAdminDateIsBeforeBirth") || !strings.Contains(body, `id="severity-form"`) {
		t.Fatalf("page: %d", code)
	}
	code, body = post(t, c, e.srv.URL+"/console/facilities/severity", url.Values{"csrf": {tok}, "facility": {"NEWCLINIC"}, "detection": {"MQE0227"}, "severity": {"E"}})
	if code != 200 || !strings.Contains(body, "Saved MQE0227 for NEWCLINIC") || !strings.Contains(body, `<tr id="sev-MQE0227">`) {
		t.Fatalf("save: %d", code)
	}
	if got := e.dir.Severities("NEWCLINIC")["MQE0227"]; got != immz.Error {
		t.Errorf("stored severity %c", got)
	}
	if e.dir.Validator("NEWCLINIC") == nil {
		t.Error("no validator for NEWCLINIC after its severity was set")
	}
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'facility-severity' AND actor = 'console:ed' AND detail LIKE '%MQE0227 severity E%'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("audit rows %d, %v", n, err)
	}
	if code, _ := post(t, c, e.srv.URL+"/console/facilities/severity", url.Values{"csrf": {tok}, "facility": {"NEWCLINIC"}, "detection": {"MQE0255"}, "severity": {"A"}}); code != http.StatusBadRequest {
		t.Errorf("a rejecting rule's severity accepted: %d", code)
	}
	if code, _ := post(t, c, e.srv.URL+"/console/facilities/severity", url.Values{"csrf": {tok}, "facility": {"NEWCLINIC"}, "detection": {"MQE0227"}, "severity": {"Z"}}); code != http.StatusBadRequest {
		t.Errorf("severity Z accepted: %d", code)
	}
	if code, _ = post(t, c, e.srv.URL+"/console/facilities/severity", url.Values{"csrf": {tok}, "facility": {"NEWCLINIC"}, "detection": {"MQE0227"}, "severity": {""}}); code != 200 || len(e.dir.Severities("NEWCLINIC")) != 0 {
		t.Errorf("default not restored: %d %v", code, e.dir.Severities("NEWCLINIC"))
	}

	v := e.client(t)
	e.login(t, v, "vera")
	if code, body := get(t, v, e.srv.URL+"/console/facilities?facility=NEWCLINIC"); code != 200 || strings.Contains(body, `id="severity-form"`) || !strings.Contains(body, "MQE0227") {
		t.Errorf("viewer page: %d", code)
	}
}
