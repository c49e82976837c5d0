package query

import (
	"context"
	"testing"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/ingest"
	"github.com/iisproject/iis/synth"
)

// BenchmarkAnswerZ44 measures the Go work of one Z44 answer without a
// database: an in-memory registry holding synthetic children, the CDSi
// evaluation and forecast, and the RSP^K11 Z42 written. It is the CPU
// part of BenchmarkQueryZ44 that does not depend on PostgreSQL.
func BenchmarkAnswerZ44(b *testing.B) {
	v := immz.New(immz.Config{})
	g := synth.New(synth.Config{Seed: 1})
	reg := &memRegistry{history: map[int64][]iis.Vaccination{}}
	var queries []*immz.Result
	for i := 0; len(queries) < 200; i++ {
		m := g.Next()
		if m.Kind != synth.Valid {
			continue
		}
		r := v.Decode(m.Body)
		q := z44Query(b, v, m.Facility, i, &r.VXU.Patient)
		queries = append(queries, q)
		id := int64(len(queries))
		reg.history[id] = r.VXU.Vaccinations
		reg.cands = append(reg.cands, Candidate{PatientID: id, Patient: r.VXU.Patient, Confident: true})
	}
	fc, err := forecast.Default()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := New(Config{Validator: v, Registry: reg, Forecaster: fc, Authorizer: AllowList{"*"}, Now: func() time.Time { return now }})
	src := ingest.Source{Facility: "BENCH", Transport: "bench", Authenticated: true}
	ctx := context.Background()
	all := reg.cands
	var size int
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(queries)
		reg.cands = all[k : k+1]
		out := s.Answer(ctx, queries[k], src)
		if !containsZ42(out) {
			b.Fatalf("not a Z42: %q", out)
		}
		size += len(out)
		reg.audit = reg.audit[:0]
		i++
	}
	b.ReportMetric(float64(size)/float64(i), "bytes/rsp")
}
