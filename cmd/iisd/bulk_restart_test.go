package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/bulk"
	"github.com/iisproject/iis/smart"
)

// TestBulkExportSurvivesRestart: exports asked of an iisd that stopped
// before running them — one still queued, one whose runner died mid-way
// (running, no heartbeat for minutes) — are run by the next iisd on the
// same PostgreSQL, whose token check accepts the token the first issued.
func TestBulkExportSurvivesRestart(t *testing.T) {
	on := func(c *Config) { c.FHIR, c.FHIRBulk = true, true }
	ctx := context.Background()
	s1, err := start(ctx, testConfig(t, on))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s1.shutdown(10 * time.Second)
		}
	})
	reportAccepted(t, s1, 1, homeVXU("CLINIC1", "RS-1", "RS1", "Ray", "Reyes", "20240201", "08:20240201", "20:20240405"))
	base1 := "http://" + s1.httpLn.Addr().String()
	c := registerClient(t, s1, base1, "ehr", "CLINIC1", "system/Patient.rs system/Immunization.rs system/Group.rs")
	_, token := c.token("system/Patient.rs system/Immunization.rs system/Group.rs")
	if token == "" {
		t.Fatal("no token")
	}
	stopped = true
	if err := s1.shutdown(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	// What the first iisd left: two exports it never finished.
	s2 := startTest(t, func(c *Config) { on(c); c.DatabaseURL = s1.cfg.DatabaseURL })
	store := bulk.NewStore(s2.store.Pool())
	grant, err := smart.NewStore(s2.store.Pool()).Token(ctx, token)
	if err != nil {
		t.Fatalf("the first iisd's token, after the restart: %v", err)
	}
	var ids []string
	for i := 0; i < 2; i++ {
		id, err := store.CreateExport(ctx, bulk.Export{Grant: grant, GroupID: "facility-CLINIC1", Types: []string{"Patient", "Immunization"}, RequestURL: "restart"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := s2.store.Pool().Exec(ctx, `UPDATE bulk_exports SET status = 'running', claimed_by = 'dead', heartbeat = now() - interval '5 minutes' WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	c.base = "http://" + s2.httpLn.Addr().String()
	for _, id := range ids {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			status, _, body := c.do(token, "GET", "/fhir/bulkstatus/"+id, "")
			if status == 200 {
				if !strings.Contains(body, `"type":"Immunization"`) || !strings.Contains(body, `"count":2`) {
					t.Errorf("export %s after the restart: %s", id, body)
				}
				break
			}
			if status != 202 || time.Now().After(deadline) {
				t.Fatalf("export %s after the restart: %d %s", id, status, body)
			}
		}
	}
}
