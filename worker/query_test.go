package worker_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/worker"
)

// publishQuery queues a QBP from CLINIC with control id id and its
// answer, as ingest does.
func (e *env) publishQuery(t *testing.T, id string, answer string, ack string) string {
	t.Helper()
	raw := "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20261125||QBP^Q11^QBP_Q11|" + id + "|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS\r" +
		"QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|" + id + "|999^^^dcs^MR|Nobody^Nemo^^^^^L||20200101|M\rRCP|I|5^RD&Records&HL70126\r"
	r := validator.Decode([]byte(raw))
	var reply []byte
	if answer == "" {
		reply = validator.Ack(r, immz.Issue{Location: immz.ErrorLocation{Segment: "MSH", Sequence: 1, Field: 9, Repetition: 1, Component: 1},
			Code: immz.CodeUnsupportedMsgType, Severity: immz.Error, Scope: immz.ScopeEnvelope, Message: "queries disabled"})
	} else {
		reply = validator.Response(r, &immz.QueryResponse{Status: answer})
	}
	m := &queue.Message{Kind: "query", Facility: "CLINIC", ControlID: id, Transport: "mllp", Type: "QBP", Ack: ack,
		Received: time.Now(), Body: []byte(raw), AckBody: reply}
	if _, err := e.q.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestQueriesStored: a queued query is kept in the message store with its
// answer and outcome; the same query again is stored once; a query that
// reuses another message's MSH-10 neither replaces nor hides it.
func TestQueriesStored(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A rejected message and an accepted VXU whose MSH-10s a query reuses.
	rej := e.publish(t, []byte(strings.Replace(string(vxuFrom("CLINIC", "REUSED-1")), "|2.5.1|", "|2.3|", 1)))
	if rej.Kind != "rejected" {
		t.Fatalf("kind %s", rej.Kind)
	}
	e.publish(t, vxuFrom("CLINIC", "REUSED-2"))
	e.start(t, worker.Config{})
	e.drain(t, "registry")

	raw := e.publishQuery(t, "Q-NF", immz.StatusNotFound, "AA")
	e.publishQuery(t, "Q-NF", immz.StatusNotFound, "AE") // the same QBP again (another queue id)
	e.publishQuery(t, "Q-OFF", "", "AR")
	e.publishQuery(t, "REUSED-1", immz.StatusNotFound, "AA")
	e.publishQuery(t, "REUSED-2", immz.StatusProtected, "AA")
	e.drain(t, "registry")

	var kind, typ, ack, outcome string
	var stored, answer []byte
	var msh7 *time.Time
	if err := e.store.Pool().QueryRow(ctx, `SELECT r.kind, r.message_type, r.ack_code, r.query_outcome, b.raw, b.ack, r.message_time
		FROM source_reports r JOIN message_bodies b ON b.report_id = r.id AND b.received_at = r.received_at AND b.kind = r.kind
		WHERE r.facility = 'CLINIC' AND r.control_id = 'Q-NF'`).Scan(&kind, &typ, &ack, &outcome, &stored, &answer, &msh7); err != nil {
		t.Fatal(err)
	}
	if msh7 == nil || msh7.Format("20060102") != "20261125" {
		t.Errorf("MSH-7 stored as %v", msh7)
	}
	if kind != "query" || typ != "QBP" || ack != "AA" || outcome != "Z33 NF" || string(stored) != raw || !strings.Contains(string(answer), "QAK|Q-NF|NF|") {
		t.Errorf("stored query: %s %s %s %q %q", kind, typ, ack, outcome, answer)
	}
	for _, c := range []struct{ where, want string }{
		{`control_id LIKE 'Q-NF%'`, "1"},
		{`control_id = 'Q-OFF' AND query_outcome = 'ACK AR' AND ack_code = 'AR'`, "1"},
		{`control_id = 'REUSED-1' AND kind = 'rejected'`, "1"},
		{`control_id LIKE 'REUSED-1#%' AND kind = 'query' AND query_outcome = 'Z33 NF'`, "1"},
		{`control_id = 'REUSED-2' AND kind = 'vxu'`, "1"},
		{`control_id LIKE 'REUSED-2#%' AND kind = 'query' AND query_outcome = 'Z33 PD'`, "1"},
		{`kind = 'query'`, "4"},
	} {
		if n := e.count(t, `SELECT count(*) FROM source_reports WHERE facility = 'CLINIC' AND `+c.where); itoa(n) != c.want {
			t.Errorf("%s: %d rows, want %s", c.where, n, c.want)
		}
	}
}

// vxuFrom is the CDC IG example VXU from facility fac with control id id.
func vxuFrom(fac, id string) []byte {
	b, err := os.ReadFile("../testdata/hl7/samples/cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")
	if err != nil {
		panic(err)
	}
	return []byte(strings.Replace(strings.Replace(string(b), "45646ug", id, 1), "|MYEHR|DCS|", "|MYEHR|"+fac+"|", 1))
}

func itoa(n int) string { return strconv.Itoa(n) }
