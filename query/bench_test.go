package query

import (
	"context"
	"fmt"
	"github.com/iisproject/iis"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/ingest"
	msynth "github.com/iisproject/iis/match/synth"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/synth"
)

// BenchmarkQueryZ44 measures Z44 queries (match → history → CDSi forecast →
// audit → RSP) against a registry of IIS_BENCH_PATIENTS patients (default
// 100,000; 1000000 for the full-size registry) loaded with COPY from the
// synthetic population generator, plus
// 500 children with full histories stored through the registry's write
// path, at a steady rate of IIS_BENCH_QPS queries per second (default
// 1,000). Latency is measured from each query's scheduled start, so a
// backlog counts against it.
func BenchmarkQueryZ44(b *testing.B) {
	patients := envInt("IIS_BENCH_PATIENTS", 100_000)
	qps := envInt("IIS_BENCH_QPS", 1000)
	ctx := context.Background()
	// IIS_BENCH_DATABASE_URL names a registry seeded beforehand (for the
	// full-size run: iisworker -database-url URL -seed 1000000).
	url := os.Getenv("IIS_BENCH_DATABASE_URL")
	seeded := url != ""
	if !seeded {
		url = pgtest.NewDatabase(b)
	}
	st, err := registry.Open(ctx, registry.Config{URL: url, MaxConns: 16})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if !seeded {
		t0 := time.Now()
		pop := msynth.Generate(msynth.DefaultConfig(patients))
		recs := pop.Records
		if len(recs) > patients {
			recs = recs[:patients]
		}
		if _, err := registry.Seed(ctx, st.Pool(), recs); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Pool().Exec(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d patients in %v", len(recs), time.Since(t0).Round(time.Second))
	}
	// The planner's estimate: counting a million rows would take a parallel
	// scan of the table before every run.
	var total int64
	st.Pool().QueryRow(ctx, `SELECT reltuples::bigint FROM pg_class WHERE relname = 'patients'`).Scan(&total)
	b.Logf("registry holds about %d patients", total)

	// Children with histories, stored as the worker stores them.
	v := immz.New(immz.Config{})
	g := synth.New(synth.Config{Seed: uint64(time.Now().UnixNano())})
	var queries []*immz.Result
	var msgs []*registry.Message
	for i := 0; len(msgs) < 500; i++ {
		m := g.Next()
		if m.Kind != synth.Valid {
			continue
		}
		r := v.Decode(m.Body)
		msgs = append(msgs, &registry.Message{Kind: "vxu", Facility: m.Facility, ControlID: m.ControlID, Type: "VXU", Ack: "AA",
			Transport: "bench", Received: time.Now(), Raw: m.Body, Decoded: r})
		q := z44Query(b, v, m.Facility, i, &r.VXU.Patient)
		queries = append(queries, q)
	}
	if err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		_, err := st.ApplyBulk(ctx, tx, msgs)
		return err
	}); err != nil {
		b.Fatal(err)
	}

	fc, err := forecast.Default()
	if err != nil {
		b.Fatal(err)
	}
	reg := FromStore(st)
	defer reg.Close()
	s := New(Config{Validator: v, Registry: reg, Forecaster: fc, Authorizer: AllowList{"*"}})
	src := ingest.Source{Facility: "BENCH", Transport: "bench", Authenticated: true}
	interval := time.Second / time.Duration(qps)
	// run sends n queries at the steady rate from 64 goroutines and returns
	// each one's latency, measured from its scheduled start.
	run := func(n int) ([]time.Duration, time.Duration, int64) {
		lat := make([]time.Duration, n)
		var next, notZ42 atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					due := start.Add(time.Duration(i) * interval)
					time.Sleep(time.Until(due))
					out := s.Answer(ctx, queries[i%len(queries)], src)
					lat[i] = time.Since(due)
					if !containsZ42(out) {
						notZ42.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return lat, time.Since(start), notZ42.Load()
	}
	// Warm up for two seconds at the same rate: the pool opens its
	// connections and prepares its statements.
	run(2 * qps)

	b.ResetTimer()
	lat, elapsed, notZ42 := run(b.N)
	b.StopTimer()
	if notZ42 > 0 {
		b.Errorf("%d of %d answers were not Z42", notZ42, b.N)
	}
	// Where the tail comes from: the worst latency in each second of the run.
	worst := make([]time.Duration, int(time.Duration(b.N)*interval/time.Second)+1)
	for i, l := range lat {
		sec := int(time.Duration(i) * interval / time.Second)
		worst[sec] = max(worst[sec], l)
	}
	b.Logf("worst latency in each second: %v", worst)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "queries/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func containsZ42(rsp []byte) bool {
	for i := 0; i+3 <= len(rsp); i++ {
		if string(rsp[i:i+3]) == "Z42" {
			return true
		}
	}
	return false
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// z44Query is query i of a benchmark: a QBP Z44 from facility for patient
// p by identifier, name, birth date and sex.
func z44Query(tb testing.TB, v *immz.Validator, facility string, i int, p *iis.Patient) *immz.Result {
	tb.Helper()
	n := p.LegalName()
	qbp := fmt.Sprintf("MSH|^~\\&|EHR|%s|IIS|STATE|20261125||QBP^Q11^QBP_Q11|Q%d|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS\r"+
		"QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|T%d|%s^^^%s^MR|%s^%s^^^^^L||%s|%s\rRCP|I|5^RD&Records&HL70126\r",
		facility, i, i, p.Identifiers[0].Value, p.Identifiers[0].Authority, n.Family, n.Given, p.BirthDate.Format("20060102"), p.Sex)
	q := v.Decode([]byte(qbp))
	if q.Query == nil {
		tb.Fatalf("query %d: %+v", i, q.Issues)
	}
	return q
}
