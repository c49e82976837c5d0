package console

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestQuantile(t *testing.T) {
	bounds := []float64{0.001, 0.01, 0.1}
	for _, c := range []struct {
		name        string
		now, before []float64
		q, want     float64
	}{
		{"no observations", []float64{0, 0, 0, 0}, nil, 0.99, 0},
		{"all in the first bucket", []float64{100, 100, 100, 100}, nil, 0.5, 0.0005},
		{"p99 in the second bucket", []float64{90, 100, 100, 100}, nil, 0.99, 0.001 + 0.009*0.9},
		{"only the new interval counts", []float64{100, 200, 200, 200}, []float64{100, 100, 100, 100}, 0.5, 0.0055},
		{"above the last bound", []float64{0, 0, 0, 10}, nil, 0.99, 0.1},
	} {
		if got := quantile(c.q, bounds, c.now, c.before); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLiveSamples(t *testing.T) {
	reg := prometheus.NewRegistry()
	msgs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iis_messages_total"}, []string{"transport", "facility", "type", "ack"})
	lag := prometheus.NewGauge(prometheus.GaugeOpts{Name: "iis_worker_lag_messages"})
	reg.MustRegister(msgs, lag)
	l := NewLive(reg, 0, 3)
	l.Sample()
	msgs.WithLabelValues("mllp", "A", "VXU", "AA").Add(10)
	msgs.WithLabelValues("mllp", "B", "VXU", "AR").Add(2)
	lag.Set(7)
	l.Sample()
	d := l.Snapshot()
	if len(d.Points) != 1 || d.Totals.Messages != 12 || d.Totals.ByAck["AR"] != 2 {
		t.Fatalf("snapshot %+v", d)
	}
	p := d.Points[0]
	if p.Lag != 7 || p.Rate <= 0 || p.ByFacility["A"] <= p.ByFacility["B"] || p.ByAck["AR"] == 0 {
		t.Errorf("point %+v", p)
	}
	for range 5 {
		l.Sample()
	}
	if n := len(l.Snapshot().Points); n != 3 {
		t.Errorf("kept %d points, want 3", n)
	}
}
