package quality_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/quality"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/synth"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// seedAnalysed writes perDay analysed messages a day for a year to
// facility CLINIC_BIG (and a tenth as many to ten other facilities), each
// message with 0 to 3 findings among 40 detections, straight into the
// quality tables: their triggers keep the per-day sums as the analyser's
// writes do.
func seedAnalysed(b *testing.B, e *env, perDay int) int {
	ctx := context.Background()
	t0 := time.Now()
	_, err := e.reg.Pool().Exec(ctx, `
		INSERT INTO quality_messages (report_id, facility, day, received_at, control_id, kind, ack_code, has_error, has_warning,
			doses, administered, historical, lot, mvx, vis, eligibility, funding)
		SELECT i, CASE WHEN i % 11 = 0 THEN 'CLINIC_' || (i % 10) ELSE 'CLINIC_BIG' END,
			DATE '2025-01-01' + (i / $1)::int, TIMESTAMPTZ '2025-01-01' + (i / $1) * interval '1 day', 'C' || i, 'vxu',
			CASE WHEN i % 17 = 0 THEN 'AE' ELSE 'AA' END, i % 17 = 0, i % 3 = 0, 2, 2 - (i % 2), i % 2, 1, 1, i % 2, 1, 0
		FROM generate_series(1, $1 * 365) AS i`, perDay)
	if err != nil {
		b.Fatal(err)
	}
	_, err = e.reg.Pool().Exec(ctx, `
		INSERT INTO quality_findings (report_id, detection, severity, facility, day, positions, sent)
		SELECT m.report_id, 'MQE' || lpad(((m.report_id * 7 + k * 13) % 40)::text, 4, '0'), CASE WHEN k = 0 AND m.has_error THEN 'E' ELSE 'W' END,
			m.facility, m.day, ARRAY['RXA-' || (5 + k)], 'X'
		FROM quality_messages m CROSS JOIN generate_series(0, 2) AS k
		WHERE k < m.report_id % 4`)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.reg.Pool().Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	n := perDay * 365
	b.Logf("seeded %d analysed messages in %v", n, time.Since(t0).Round(time.Millisecond))
	return n
}

// BenchmarkReport: a facility's report over 30 and 365 days, from the
// per-day sums (what the pages do) and, for comparison, summed from the
// per-message rows. IIS_QUALITY_BENCH_PER_DAY sets the messages a day
// (default 2,000: 730,000 messages in the year).
func BenchmarkReport(b *testing.B) {
	e := newEnv(b)
	seedAnalysed(b, e, envInt("IIS_QUALITY_BENCH_PER_DAY", 2000))
	ctx := context.Background()
	for _, days := range []int{30, 365} {
		p := quality.Period{From: day("2025-12-31").AddDate(0, 0, 1-days), To: day("2025-12-31")}
		b.Run(fmt.Sprintf("sums/%ddays", days), func(b *testing.B) {
			for range b.N {
				r, err := e.q.Report(ctx, "CLINIC_BIG", p)
				if err != nil || r.Totals.Messages == 0 || len(r.Detections) == 0 {
					b.Fatalf("report: %v, %d messages, %d detections", err, r.Totals.Messages, len(r.Detections))
				}
			}
		})
		b.Run(fmt.Sprintf("per-message/%ddays", days), func(b *testing.B) {
			if _, err := e.reg.Pool().Exec(ctx, `CREATE INDEX IF NOT EXISTS bench_qm_facility_day ON quality_messages (facility, day)`); err != nil {
				b.Fatal(err)
			}
			for range b.N {
				summedFromMessages(b, e, p)
			}
		})
	}
}

// summedFromMessages is what a report costs without the per-day sums.
func summedFromMessages(b *testing.B, e *env, p quality.Period) {
	ctx := context.Background()
	rows, err := e.reg.Pool().Query(ctx, `SELECT day, count(*), count(*) FILTER (WHERE has_error), count(*) FILTER (WHERE has_warning),
		sum(administered), sum(lot), sum(mvx), sum(vis), sum(eligibility) FROM quality_messages
		WHERE facility = 'CLINIC_BIG' AND day BETWEEN $1 AND $2 GROUP BY day`, p.From, p.To)
	if err == nil {
		_, err = pgx.CollectRows(rows, pgx.RowToMap)
	}
	if err == nil {
		rows, err = e.reg.Pool().Query(ctx, `SELECT detection, severity, p, count(*) FROM quality_findings
			CROSS JOIN LATERAL unnest(array_append(positions, '')) AS p
			WHERE facility = 'CLINIC_BIG' AND day BETWEEN $1 AND $2 GROUP BY 1, 2, 3`, p.From, p.To)
	}
	if err == nil {
		_, err = pgx.CollectRows(rows, pgx.RowToMap)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAnalyse: stored messages analysed per second (decoding, the
// values at the findings' positions, the writes and the per-day sums), on
// the NIST adult flu VXU with four ERR entries, stored as a facility in
// test status would store it (batches of IIS_QUALITY_BENCH_BATCH, default
// 500).
func BenchmarkAnalyse(b *testing.B) {
	e := newEnv(b)
	flu := withoutLotAndMVX(sample(b, "vxu-nist-ad-2.1-adult-flu.hl7"))
	issues := "W:101:7:RXA-15:MQE0339;W:101:7:RXA-17:MQE0343;W:103:5:RXR-1;E:103:5:RXA-5"
	ctx := context.Background()
	batch := envInt("IIS_QUALITY_BENCH_BATCH", 500)
	res := validator.Decode([]byte(flu))
	var msgs []*registry.Message
	for i := range b.N {
		msgs = append(msgs, &registry.Message{Kind: "vxu", Facility: "CLINIC_A", ControlID: "M" + strconv.Itoa(i), Type: "VXU", Ack: "AE",
			Received: time.Now(), Raw: []byte(strings.Replace(flu, "NIST-IZ-AD-2.1_Send_V04_Z22", "M"+strconv.Itoa(i), 1)),
			Issues: issues, Decoded: res, StoreOnly: true})
		if len(msgs) == 1000 || i == b.N-1 {
			if err := pgx.BeginFunc(ctx, e.reg.Pool(), func(tx pgx.Tx) error { _, err := e.reg.ApplyBulk(ctx, tx, msgs); return err }); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < b.N; {
		n, err := e.q.AnalyseBatch(ctx, batch)
		if err != nil || n == 0 {
			b.Fatalf("analysed %d of %d: %v", done, b.N, err)
		}
		done += n
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkAnalyseMessage is the CPU of Analyse alone, per message.
func BenchmarkAnalyseMessage(b *testing.B) {
	m := registry.ReceivedMessage{ID: 1, Facility: "CLINIC_A", Kind: "vxu", Ack: "AE", Received: time.Now(),
		Raw:    []byte(withoutLotAndMVX(sample(b, "vxu-nist-ad-2.1-adult-flu.hl7"))),
		Issues: []string{"W:101:7:RXA-15:MQE0339", "W:101:7:RXA-17:MQE0343", "W:103:5:RXR-1", "E:103:5:RXA-5"}}
	b.ReportAllocs()
	for range b.N {
		if a := quality.Analyse(m, time.UTC); len(a.Findings) != 4 {
			b.Fatal(a.Findings)
		}
	}
}

// BenchmarkStoreTrigger is what noting each stored message for the
// analyser (0055's statement trigger on source_reports) costs the
// registry's write path: batches of 200 synthetic VXUs (new patients,
// matching and consolidation included) applied with ApplyBulk, the
// trigger enabled for one batch and disabled for the next, alternately,
// so that the machine's load weighs on both alike. One op is one pair of
// batches; the metrics are the milliseconds of a batch each way.
func BenchmarkStoreTrigger(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	gen := synth.New(synth.Config{Seed: 5, MalformedRate: -1, ResendRate: -1, OtherRate: -1})
	batch := func() []*registry.Message {
		ms := make([]*registry.Message, 200)
		for i := range ms {
			m := gen.Next()
			ms[i] = &registry.Message{Kind: "vxu", Facility: m.Facility, ControlID: m.ControlID, Type: "VXU", Ack: "AA",
				Received: time.Now(), Raw: m.Body, Decoded: validator.Decode(m.Body)}
		}
		return ms
	}
	apply := func(ms []*registry.Message) time.Duration {
		t0 := time.Now()
		if err := pgx.BeginFunc(ctx, e.reg.Pool(), func(tx pgx.Tx) error { _, err := e.reg.ApplyBulk(ctx, tx, ms); return err }); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	toggle := func(on bool) {
		verb := "DISABLE"
		if on {
			verb = "ENABLE"
		}
		if _, err := e.reg.Pool().Exec(ctx, `ALTER TABLE source_reports `+verb+` TRIGGER source_reports_quality_insert`); err != nil {
			b.Fatal(err)
		}
	}
	apply(batch()) // warm up
	var with, without time.Duration
	b.ResetTimer()
	for i := range b.N {
		on, off := batch(), batch()
		b.StopTimer()
		toggle(true)
		b.StartTimer()
		if i%2 == 0 {
			with += apply(on)
		}
		b.StopTimer()
		toggle(false)
		b.StartTimer()
		without += apply(off)
		if i%2 == 1 {
			b.StopTimer()
			toggle(true)
			b.StartTimer()
			with += apply(on)
		}
	}
	b.ReportMetric(float64(with.Milliseconds())/float64(b.N), "ms/batch-with")
	b.ReportMetric(float64(without.Milliseconds())/float64(b.N), "ms/batch-without")
	b.ReportMetric(0, "ns/op")
}
