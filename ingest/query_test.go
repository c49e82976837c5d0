package ingest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/queue"
)

// notFound answers every query Z33 NF.
type notFound struct{ v *immz.Validator }

func (n notFound) Answer(_ context.Context, r *immz.Result, _ Source) []byte {
	return n.v.Response(r, &immz.QueryResponse{Status: immz.StatusNotFound})
}

// TestQueriesStored: every QBP, answered, refused or rejected, is queued
// for the message store as kind "query" with its reply, MSA-1 and ERR
// summary, after the reply was made.
func TestQueriesStored(t *testing.T) {
	qbp := sample(t, "qbp-z44-nist-qr-1.1.hl7")
	tests := []struct {
		name    string
		queries bool
		msg     string
		ack     string
		issues  string // a prefix of the queued ERR summary
	}{
		{"answered", true, string(qbp), "AA", ""},
		{"queries disabled", false, string(qbp), "AR", "E:200:0:MSH-9.1"},
		{"envelope rejected", true, strings.Replace(string(qbp), "|2.5.1|", "|2.3|", 1), "AR", "E:203:0:MSH-12"},
		{"malformed query", true, string(sample(t, "cdc-ig/pair_ig_qbp_error/1_qbp_z34_missing_query_tag_qpd2.hl7")), "AE", "W:102:2:MSH-7;E:101:7:QPD-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, queue.Config{})
			if tt.queries {
				f.h.qh = notFound{f.h.v}
			}
			reply := f.h.ServeHL7(WithSource(context.Background(), Source{Transport: "mllp"}), []byte(tt.msg))
			if err := f.h.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			q := f.queued(t)
			if len(q) != 1 {
				t.Fatalf("%d queued, want 1", len(q))
			}
			m := q[0]
			if m.Kind != "query" || m.Type != "QBP" || string(m.Body) != tt.msg || string(m.AckBody) != string(reply) ||
				m.Ack != tt.ack || !strings.HasPrefix(m.Issues, tt.issues) || m.Transport != "mllp" {
				t.Errorf("queued %s %s ack %s issues %q transport %s; reply %q", m.Kind, m.Type, m.Ack, m.Issues, m.Transport, reply)
			}
		})
	}
}

// blockingQueue holds every publish until released, then fails it.
type blockingQueue struct {
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (b *blockingQueue) Publish(ctx context.Context, m *queue.Message) (queue.PubAck, error) {
	<-b.release
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
	return queue.PubAck{}, errors.New("queue down")
}

// TestQueryAnswerDoesNotWaitOnStore: a query is answered while its record
// is still being queued; a record that could not be queued is counted.
func TestQueryAnswerDoesNotWaitOnStore(t *testing.T) {
	bq := &blockingQueue{release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	v := immz.New(immz.Config{Now: testNow})
	h := New(Config{Validator: v, Queue: bq, Queries: notFound{v}, Metrics: m, Now: testNow})
	done := make(chan []byte, 1)
	go func() { done <- h.ServeHL7(context.Background(), sample(t, "qbp-z44-nist-qr-1.1.hl7")) }()
	select {
	case reply := <-done:
		if !strings.Contains(string(reply), "QAK|") {
			t.Fatalf("reply %q", reply)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the answer waited on the queue")
	}
	close(bq.release)
	if err := h.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if bq.n != 1 {
		t.Errorf("%d publishes, want 1", bq.n)
	}
	if n := testutil.ToFloat64(m.queryStoreErr); n != 1 {
		t.Errorf("query store failures %v, want 1", n)
	}
}
