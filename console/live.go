package console

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Live samples the server's own Prometheus metrics at a fixed interval and
// keeps the recent history the live view charts: messages per second by
// facility and by type, the ACK code mix, the p99 handling latency, the
// worker's lag and throughput. (Grafana over Prometheus does the same for
// a fleet; this is the one-process view with no set-up.)
type Live struct {
	g     prometheus.Gatherer
	every time.Duration
	keep  int

	mu      sync.Mutex
	last    *sample
	points  []LivePoint
	totals  LiveTotals
	started time.Time
}

// LivePoint is one interval.
type LivePoint struct {
	Time       int64              `json:"t"` // Unix milliseconds
	Rate       float64            `json:"rate"`
	ByFacility map[string]float64 `json:"by_facility"`
	ByType     map[string]float64 `json:"by_type"`
	ByAck      map[string]float64 `json:"by_ack"`
	P99ms      float64            `json:"p99_ms"`
	Lag        float64            `json:"lag"`
	DosesRate  float64            `json:"doses_rate"`
	StoredRate float64            `json:"stored_rate"`
}

// LiveTotals are counts since the server started.
type LiveTotals struct {
	Messages float64            `json:"messages"`
	ByAck    map[string]float64 `json:"by_ack"`
	Doses    float64            `json:"doses"`
	Dead     float64            `json:"dead"`
}

type sample struct {
	at      time.Time
	byLabel map[[3]string]float64 // facility, type, ack
	buckets []float64             // handle latency cumulative counts, all types
	bounds  []float64
	doses   float64
	stored  float64
	dead    float64
	lag     float64
}

// NewLive returns a sampler of g every interval keeping keep points.
func NewLive(g prometheus.Gatherer, every time.Duration, keep int) *Live {
	return &Live{g: g, every: every, keep: keep, totals: LiveTotals{ByAck: map[string]float64{}}}
}

// Run samples until ctx ends.
func (l *Live) Run(ctx context.Context) {
	if l.g == nil {
		return
	}
	l.Sample()
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.Sample()
		}
	}
}

// Sample takes one sample now.
func (l *Live) Sample() {
	if l.g == nil {
		return
	}
	mfs, err := l.g.Gather()
	if err != nil && len(mfs) == 0 {
		return
	}
	s := &sample{at: time.Now(), byLabel: map[[3]string]float64{}}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "iis_messages_total":
			for _, m := range mf.GetMetric() {
				k := [3]string{label(m, "facility"), label(m, "type"), label(m, "ack")}
				s.byLabel[k] += m.GetCounter().GetValue()
			}
		case "iis_handle_seconds":
			for _, m := range mf.GetMetric() {
				h := m.GetHistogram()
				if s.bounds == nil {
					for _, b := range h.GetBucket() {
						s.bounds = append(s.bounds, b.GetUpperBound())
					}
					s.buckets = make([]float64, len(s.bounds)+1)
				}
				for i, b := range h.GetBucket() {
					if i < len(s.bounds) {
						s.buckets[i] += float64(b.GetCumulativeCount())
					}
				}
				s.buckets[len(s.bounds)] += float64(h.GetSampleCount())
			}
		case "iis_worker_doses_total":
			for _, m := range mf.GetMetric() {
				s.doses += m.GetCounter().GetValue()
			}
		case "iis_worker_messages_total":
			for _, m := range mf.GetMetric() {
				if label(m, "result") == "stored" {
					s.stored += m.GetCounter().GetValue()
				}
			}
		case "iis_worker_dead_letters_total":
			for _, m := range mf.GetMetric() {
				s.dead += m.GetCounter().GetValue()
			}
		case "iis_worker_lag_messages":
			for _, m := range mf.GetMetric() {
				s.lag += m.GetGauge().GetValue()
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tot := LiveTotals{ByAck: map[string]float64{}, Doses: s.doses, Dead: s.dead}
	for k, v := range s.byLabel {
		tot.Messages += v
		tot.ByAck[k[2]] += v
	}
	l.totals = tot
	if l.last != nil {
		dt := s.at.Sub(l.last.at).Seconds()
		if dt <= 0 {
			return
		}
		p := LivePoint{Time: s.at.UnixMilli(), ByFacility: map[string]float64{}, ByType: map[string]float64{}, ByAck: map[string]float64{},
			Lag: s.lag, DosesRate: math.Max(0, s.doses-l.last.doses) / dt, StoredRate: math.Max(0, s.stored-l.last.stored) / dt}
		for k, v := range s.byLabel {
			d := math.Max(0, v-l.last.byLabel[k]) / dt
			if d == 0 {
				continue
			}
			p.Rate += d
			p.ByFacility[k[0]] += d
			p.ByType[k[1]] += d
			p.ByAck[k[2]] += d
		}
		p.P99ms = quantile(0.99, s.bounds, s.buckets, l.last.buckets) * 1000
		l.points = append(l.points, p)
		if len(l.points) > l.keep {
			l.points = slices.Delete(l.points, 0, len(l.points)-l.keep)
		}
	}
	l.last = s
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// quantile estimates the q quantile of the observations between two
// cumulative histogram snapshots (linear inside the bucket, as Prometheus's
// histogram_quantile does). It is 0 with no observations.
func quantile(q float64, bounds, now, before []float64) float64 {
	if len(now) == 0 {
		return 0
	}
	delta := make([]float64, len(now))
	for i := range now {
		delta[i] = now[i]
		if i < len(before) {
			delta[i] -= before[i]
		}
	}
	total := delta[len(delta)-1]
	if total <= 0 {
		return 0
	}
	rank := q * total
	i := sort.Search(len(bounds), func(i int) bool { return delta[i] >= rank })
	if i == len(bounds) {
		return bounds[len(bounds)-1] // above the last bound: report it
	}
	lo, prev := 0.0, 0.0
	if i > 0 {
		lo, prev = bounds[i-1], delta[i-1]
	}
	in := delta[i] - prev
	if in <= 0 {
		return bounds[i]
	}
	return lo + (bounds[i]-lo)*(rank-prev)/in
}

// LiveData is what live.json returns.
type LiveData struct {
	IntervalMs int64       `json:"interval_ms"`
	Points     []LivePoint `json:"points"`
	Totals     LiveTotals  `json:"totals"`
}

// Snapshot returns the history and totals.
func (l *Live) Snapshot() LiveData {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LiveData{IntervalMs: l.every.Milliseconds(), Points: slices.Clone(l.points), Totals: l.totals}
}

func (c *Console) liveJSON(w http.ResponseWriter, r *http.Request, s *session) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(c.live.Snapshot())
}

func (c *Console) livePage(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, s, "live", page{Title: "Live", Nav: "live"})
}
