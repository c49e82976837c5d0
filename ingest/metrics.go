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
	// queryStoreErr counts answered queries whose record could not be
	// queued for the message store.
	queryStoreErr prometheus.Counter

	mu sync.RWMutex
	// facilities holds the facility labels in use, each a copy of its own:
	// the decoded MSH-4 shares its memory with the rest of the message.
	facilities map[string]string
	// series and issues hold the children of the vectors already used,
	// so that counting a message does not hash its labels again.
	series map[seriesKey]*series
	issues map[issueKey]prometheus.Counter
}

// maxSeries bounds the cache of resolved children; past it, messages are
// still counted, through the vectors.
const maxSeries = 4 * maxFacilityLabels

// seriesKey names the series a message is counted in.
type seriesKey struct{ transport, facility, typ, ack string }

// series are the children of one seriesKey.
type series struct {
	messages, bytes prometheus.Counter
	handle          prometheus.Observer
}

type issueKey struct {
	code     int
	severity immz.Severity
	rule     string
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
		queryStoreErr: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "iis_query_store_failures_total", Help: "Queries answered whose record (QBP and RSP) could not be queued for the message store.",
		}),
		facilities: map[string]string{},
		series:     map[seriesKey]*series{},
		issues:     map[issueKey]prometheus.Counter{},
	}
	reg.MustRegister(m.messages, m.errs, m.bytes, m.handle, m.publish, m.publishErr, m.queryStoreErr)
	return m
}

// facilityLabel is f's label; m.mu is held.
func (m *Metrics) facilityLabel(f string) string {
	if f == "" {
		return "unknown"
	}
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

// resolved returns cache[k], making it under mu the first time; made
// also returns the key to keep it under (with copies of any text that
// shares a message's memory). Past maxSeries entries nothing more is kept.
func resolved[K comparable, V any](mu *sync.RWMutex, cache map[K]V, k K, made func() (K, V)) V {
	mu.RLock()
	v, ok := cache[k]
	mu.RUnlock()
	if ok {
		return v
	}
	mu.Lock()
	defer mu.Unlock()
	if v, ok = cache[k]; ok {
		return v
	}
	kept, v := made()
	if len(cache) < maxSeries {
		cache[kept] = v
	}
	return v
}

// seriesOf returns the series of a message.
func (m *Metrics) seriesOf(transport, facility, typ, ack string) *series {
	return resolved(&m.mu, m.series, seriesKey{transport, facility, typ, ack}, func() (seriesKey, *series) {
		label := m.facilityLabel(facility)
		return seriesKey{strings.Clone(transport), strings.Clone(facility), strings.Clone(typ), strings.Clone(ack)}, &series{
			messages: m.messages.WithLabelValues(transport, label, typ, ack),
			bytes:    m.bytes.WithLabelValues(transport),
			handle:   m.handle.WithLabelValues(typ),
		}
	})
}

// issueCounter returns the counter of ERR rows like is.
func (m *Metrics) issueCounter(is immz.Issue) prometheus.Counter {
	return resolved(&m.mu, m.issues, issueKey{is.Code, is.Severity, is.Rule}, func() (issueKey, prometheus.Counter) {
		return issueKey{is.Code, is.Severity, strings.Clone(is.Rule)}, m.errs.WithLabelValues(strconv.Itoa(is.Code), is.Severity.String(), is.Rule)
	})
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
	s := m.seriesOf(transport, facility, typ, ack)
	s.messages.Inc()
	s.bytes.Add(float64(n))
	s.handle.Observe(d.Seconds())
	for _, list := range [][]immz.Issue{r.Issues, extra} {
		for _, is := range list {
			m.issueCounter(is).Inc()
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

func (m *Metrics) observeQueryNotStored() {
	if m != nil {
		m.queryStoreErr.Inc()
	}
}
