package console_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/console"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// TestRedriveAudited: queueing a dead letter again is audited even when
// its identity is not text PostgreSQL can store (a NUL in MSH-10, bytes
// that are not UTF-8 in the facility): the audit row is written, with the
// offending bytes spelled \xHH.
func TestRedriveAudited(t *testing.T) {
	ctx := context.Background()
	st, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	q, err := queue.Open(ctx, queue.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	c, err := console.New(console.Config{Messages: st, Patients: st, Audit: st, Queue: q, Auth: testUsers})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: st}
	e.srv = httptest.NewServer(c)
	t.Cleanup(e.srv.Close)
	m := &queue.Message{Kind: "vxu", Facility: "CLINIC \xe9", ControlID: "BAD\x00ID", Type: "VXU", Ack: "AA",
		Received: time.Now(), Body: []byte("MSH|^~\\&|A|B|C|D|20260101||VXU^V04^VXU_V04|BAD\x00ID|P|2.5.1\r")}
	if _, err := q.PublishDead(ctx, m, "registry refused it", "dead-1"); err != nil {
		t.Fatal(err)
	}
	dls, err := q.DeadLetters(ctx, 10)
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters: %v %v", dls, err)
	}
	cl := e.client(t)
	tok := e.login(t, cl, "ed")
	code, body := post(t, cl, e.srv.URL+"/console/dead/"+strconv.FormatUint(dls[0].Seq, 10)+"/resend", url.Values{"csrf": {tok}})
	if code != 200 {
		t.Fatalf("redrive: %d %s", code, body)
	}
	var detail string
	if err := st.Pool().QueryRow(ctx, `SELECT detail FROM audit_log WHERE action LIKE 'redrive%'`).Scan(&detail); err != nil {
		t.Fatalf("no audit row for the redrive: %v", err)
	}
	if want := `(CLINIC \xE9 BAD\x00ID) queued again`; !strings.Contains(detail, want) {
		t.Errorf("audit detail %q does not contain %q", detail, want)
	}
}
