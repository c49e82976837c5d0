package ingest

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/iisproject/iis/hl7/immz"
)

// TestMetricsSeries: a message is counted under its facility even when
// the facility's text shares memory that is later reused (as the decoded
// MSH-4 shares the received bytes), facilities past maxFacilityLabels are
// counted as "other", and every ERR row and byte is counted.
func TestMetricsSeries(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	r := &immz.Result{Issues: []immz.Issue{{Code: immz.CodeTableValueNotFound, Severity: immz.Warning, Rule: "rule"}}}
	r.Header.Type = "VXU"
	buf := []byte("CLINIC-A")
	f := unsafe.String(&buf[0], len(buf))
	m.observe("mllp", f, r, "AA", nil, 100, time.Millisecond)
	copy(buf, "CLINIC-B") // the same memory, another message
	m.observe("mllp", f, r, "AA", nil, 100, time.Millisecond)
	m.observe("mllp", "CLINIC-A", r, "AE", []immz.Issue{issueQueueDown}, 100, time.Millisecond)
	const past = 7
	for i := range maxFacilityLabels + past - 2 {
		m.observe("soap", fmt.Sprint("F", i), r, "AA", nil, 10, time.Millisecond)
	}
	total := 3 + maxFacilityLabels + past - 2
	for _, c := range []struct {
		got  prometheus.Collector
		want float64
	}{
		{m.messages.WithLabelValues("mllp", "CLINIC-A", "VXU", "AA"), 1},
		{m.messages.WithLabelValues("mllp", "CLINIC-B", "VXU", "AA"), 1},
		{m.messages.WithLabelValues("mllp", "CLINIC-A", "VXU", "AE"), 1},
		{m.messages.WithLabelValues("soap", "other", "VXU", "AA"), past},
		{m.messages.WithLabelValues("soap", "F0", "VXU", "AA"), 1},
		{m.bytes.WithLabelValues("mllp"), 300},
		{m.errs.WithLabelValues(fmt.Sprint(immz.CodeTableValueNotFound), "W", "rule"), float64(total)},
		{m.errs.WithLabelValues(fmt.Sprint(issueQueueDown.Code), "E", issueQueueDown.Rule), 1},
	} {
		if got := testutil.ToFloat64(c.got); got != c.want {
			t.Errorf("%v = %v, want %v", c.got.(prometheus.Metric).Desc(), got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.handle); n != 1 {
		t.Errorf("%d handle histograms, want 1 (VXU)", n)
	}
}

// TestMetricsNoAllocs: counting a message of a known kind allocates
// nothing.
func TestMetricsNoAllocs(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	r := &immz.Result{Issues: []immz.Issue{{Code: immz.CodeTableValueNotFound, Severity: immz.Warning, Rule: "rule"}}}
	r.Header.Type = "VXU"
	m.observe("mllp", "CLINIC-A", r, "AA", nil, 100, time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { m.observe("mllp", "CLINIC-A", r, "AA", nil, 100, time.Millisecond) }); n != 0 {
		t.Errorf("%v allocations per message", n)
	}
}
