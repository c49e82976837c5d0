package ingest

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iisproject/iis/hl7/immz"
)

// maxFacilityLabels bounds the facility label's cardinality: MSH-4 comes
// from the sender, so past this many distinct values the rest are counted
// as "other".
const maxFacilityLabels = 2000

// Metrics are the ingest path's Prometheus metrics.
type Metrics struct {
	messages   *prometheus.CounterVec
	errs       *prometheus.CounterVec
	bytes      *prometheus.CounterVec
	handle     *prometheus.HistogramVec
	publish    prometheus.Histogram
	publishErr prometheus.Counter

	mu sync.Mutex
	// facilities holds the facility labels in use, each a copy of its own:
	// the decoded MSH-4 shares its memory with the rest of the message.
	facilities map[string]string
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iis_messages_total", Help: "HL7 messages handled, by transport, sending facility, message type and MSA-1 sent back.",
		}, []string{"transport", "facility", "type", "ack"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iis_message_errors_total", Help: "ERR rows sent back, by HL7 table 0357 code, severity and the rule that raised them.",
		}, []string{"code", "severity", "rule"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iis_message_bytes_total", Help: "Bytes of HL7 messages received, by transport.",
		}, []string{"transport"}),
		handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "iis_handle_seconds", Help: "Time from receiving a message to having its reply, by message type (includes the queue publish).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"type"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "iis_queue_publish_seconds", Help: "Time for JetStream to acknowledge a publish.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		publishErr: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "iis_queue_publish_failures_total", Help: "Publishes that failed or timed out (the sender was told to resend).",
		}),
		facilities: map[string]string{},
	}
	reg.MustRegister(m.messages, m.errs, m.bytes, m.handle, m.publish, m.publishErr)
	return m
}

func (m *Metrics) facilityLabel(f string) string {
	if f == "" {
		return "unknown"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.facilities[f]; ok {
		return l
	}
	if len(m.facilities) >= maxFacilityLabels {
		return "other"
	}
	l := strings.Clone(f)
	m.facilities[l] = l
	return l
}

func (m *Metrics) observe(transport, facility string, r *immz.Result, ack string, extra []immz.Issue, n int, d time.Duration) {
	if m == nil {
		return
	}
	typ := "other"
	switch r.Header.Type {
	case "VXU":
		typ = "VXU"
	case "QBP":
		typ = "QBP"
	}
	m.messages.WithLabelValues(transport, m.facilityLabel(facility), typ, ack).Inc()
	m.bytes.WithLabelValues(transport).Add(float64(n))
	m.handle.WithLabelValues(typ).Observe(d.Seconds())
	for _, list := range [][]immz.Issue{r.Issues, extra} {
		for _, is := range list {
			m.errs.WithLabelValues(strconv.Itoa(is.Code), is.Severity.String(), is.Rule).Inc()
		}
	}
}

func (m *Metrics) observePublish(d time.Duration, err error) {
	if m == nil {
		return
	}
	m.publish.Observe(d.Seconds())
	if err != nil {
		m.publishErr.Inc()
	}
}
