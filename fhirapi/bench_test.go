package fhirapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// benchPopulation is a registry of synthetic children (the reports'
// benchmark population) and a Server over it. Its size is
// IIS_FHIR_BENCH_PATIENTS (default 10,000); IIS_BENCH_DATABASE_URL names
// an already seeded database to reuse instead of seeding one.
func benchPopulation(b *testing.B) (*Server, []int64) {
	b.Helper()
	ctx := context.Background()
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("IIS_FHIR_BENCH_PATIENTS")); err == nil && v > 0 {
		n = v
	}
	url := os.Getenv("IIS_BENCH_DATABASE_URL")
	seed := url == ""
	if seed {
		url = pgtest.NewDatabase(b)
	}
	st, err := registry.Open(ctx, registry.Config{URL: url, MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	if seed {
		start := time.Now()
		if err := registry.SeedSyntheticChildren(ctx, st.Pool(), n, time.Now()); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d children in %v", n, time.Since(start).Round(time.Millisecond))
	}
	rows, err := st.Pool().Query(ctx, `SELECT id FROM patients ORDER BY id LIMIT $1`, n)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	fc, err := forecast.Default()
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Config{Registry: st, Forecaster: fc})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	return srv, ids
}

// BenchmarkExportNDJSON exports every patient's Immunizations (and
// Patients, ImmunizationRecommendations) and reports resources/s.
func BenchmarkExportNDJSON(b *testing.B) {
	srv, ids := benchPopulation(b)
	for _, typ := range []string{"Patient", "Immunization", "ImmunizationRecommendation"} {
		b.Run(typ, func(b *testing.B) {
			var lines, bytes int
			start, cpu0 := time.Now(), processCPU()
			for b.Loop() {
				err := srv.ExportNDJSON(grant(""), typ, ids, time.Time{}, func(l []byte) error {
					lines++
					bytes += len(l) + 1
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			secs := time.Since(start).Seconds()
			b.ReportMetric(float64(lines)/secs, "resources/s")
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(lines), "iisd-cpu-µs/resource")
			b.ReportMetric(float64(bytes)/secs/1e6, "MB/s")
			b.ReportMetric(float64(len(ids)), "patients")
		})
	}
}

// BenchmarkForecastRate sends ImmunizationRecommendation?patient= and
// Patient/[id]/$immds-forecast at IIS_FHIR_BENCH_RATE requests/s (default
// 500) for 5 s each, through the HTTP handlers in process, and reports
// the p50 and p99 latency and the process's CPU time per request (the
// handler's and the load generator's).
func BenchmarkForecastRate(b *testing.B) {
	srv, ids := benchPopulation(b)
	rate := 500
	if v, err := strconv.Atoi(os.Getenv("IIS_FHIR_BENCH_RATE")); err == nil && v > 0 {
		rate = v
	}
	f := &fixture{srv: srv}
	mux := f.mux()
	for _, route := range []string{"/fhir/ImmunizationRecommendation?patient=", "/fhir/Patient/%d/$immds-forecast"} {
		b.Run(route, func(b *testing.B) {
			for b.Loop() {
				n := rate * 5
				lat := make([]time.Duration, n)
				var wg sync.WaitGroup
				tick := time.NewTicker(time.Second / time.Duration(rate))
				cpu0 := processCPU()
				for i := 0; i < n; i++ {
					<-tick.C
					id := ids[(i*7919)%len(ids)]
					target := route + itoa(id)
					if route != "/fhir/ImmunizationRecommendation?patient=" {
						target = "/fhir/Patient/" + itoa(id) + "/$immds-forecast"
					}
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						start := time.Now()
						rec := httptest.NewRecorder()
						mux.ServeHTTP(rec, httptest.NewRequestWithContext(grant(""), "GET", target, nil))
						lat[i] = time.Since(start)
						if rec.Code != 200 {
							b.Errorf("%s: %d %s", target, rec.Code, rec.Body)
						}
					}(i)
				}
				wg.Wait()
				tick.Stop()
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/req")
				slices.Sort(lat)
				b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(rate), "req/s")
			}
		})
	}
}

// BenchmarkForecastRead is the registry read of one forecast alone, one
// patient at a time: the full record (ReadRecords with Demographics and
// Doses) against the forecast's light read (ForecastRecord). With -count
// the two alternate.
func BenchmarkForecastRead(b *testing.B) {
	srv, ids := benchPopulation(b)
	ctx := context.Background()
	full := srv.readParts(registry.RecordParts{Demographics: true, Doses: true})
	for _, r := range []struct {
		name string
		read recordReader
	}{{"full", full}, {"forecast", srv.reg.ForecastRecord}} {
		b.Run(r.name, func(b *testing.B) {
			const n = 2000
			for b.Loop() {
				cpu0, start := processCPU(), time.Now()
				for i := 0; i < n; i++ {
					rec, err := r.read(ctx, ids[(i*7919)%len(ids)], "")
					if err != nil || rec == nil {
						b.Fatalf("read: %v, %v", rec, err)
					}
				}
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/n, "cpu-µs/read")
				b.ReportMetric(float64(time.Since(start).Microseconds())/n, "wall-µs/read")
			}
		})
	}
}

// BenchmarkExportRead is the export's reads alone: a thousand patients'
// records per statement, as ExportNDJSON asks for them.
func BenchmarkExportRead(b *testing.B) {
	srv, ids := benchPopulation(b)
	for _, parts := range []registry.RecordParts{{Demographics: true}, {Doses: true}, {Demographics: true, Doses: true}} {
		b.Run(fmt.Sprintf("demographics=%v,doses=%v", parts.Demographics, parts.Doses), func(b *testing.B) {
			n := 0
			start := time.Now()
			for b.Loop() {
				for i := 0; i < len(ids); i += exportBatch {
					recs, err := srv.reg.ReadRecords(context.Background(), ids[i:min(i+exportBatch, len(ids))], "", time.Time{}, parts)
					if err != nil {
						b.Fatal(err)
					}
					n += len(recs)
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "patients/s")
		})
	}
}

// processCPU is the CPU time (user and system) this process used so far:
// on a shared machine, the cost of the work whatever the others do.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
