package queue

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the queue's own: how publishes were grouped.
type metrics struct {
	envelopeMsgs prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		envelopeMsgs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "iis_queue_envelope_messages",
			Help:    "Messages stored together in one JetStream message (envelope) by the queue's group commit.",
			Buckets: []float64{2, 4, 8, 16, 32, 64, 128},
		}),
	}
	if err := reg.Register(m.envelopeMsgs); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
		m.envelopeMsgs = are.ExistingCollector.(prometheus.Histogram)
	}
	return m, nil
}

func (m *metrics) envelope(n int) {
	if m != nil {
		m.envelopeMsgs.Observe(float64(n))
	}
}
