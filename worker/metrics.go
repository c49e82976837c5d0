package worker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	messages *prometheus.CounterVec
	doses    prometheus.Counter
	matches  *prometheus.CounterVec
	actions  *prometheus.CounterVec
	dead     *prometheus.CounterVec
	lag      prometheus.Gauge
	batch    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iis_worker_messages_total",
			Help: "Messages handled by the registry worker, by result (stored, duplicate, stored_only, retried, dead).",
		}, []string{"result"}),
		doses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "iis_worker_doses_total",
			Help: "Reported doses (accepted RXA groups) committed to the registry.",
		}),
		matches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iis_worker_match_outcomes_total",
			Help: "Patient matching outcomes: identifier, match, possible (new patient queued for review), new.",
		}, []string{"outcome"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iis_worker_consolidation_actions_total",
			Help: "Consolidation results over the recomputed patients: events, duplicates folded, updates and deletes applied, refusals.",
		}, []string{"action"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iis_worker_dead_letters_total",
			Help: "Messages moved to the dead-letter stream, by reason (permanent, max deliveries).",
		}, []string{"reason"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "iis_worker_lag_messages",
			Help: "Messages in the ingest stream not yet delivered to the worker's consumer (NumPending).",
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "iis_worker_batch_seconds",
			Help:    "Time to apply one shard of a fetched batch (one transaction, or one per message after a failure), to its last ack.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	for _, c := range []prometheus.Collector{m.messages, m.doses, m.matches, m.actions, m.dead, m.lag, m.batch} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("worker: metrics: %w", err)
		}
	}
	return m, nil
}
