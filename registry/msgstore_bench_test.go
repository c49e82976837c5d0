package registry_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// BenchmarkMessageStorePrune measures the prune of one month holding
// IIS_BENCH_PRUNE_ROWS VXU bodies (default 100,000; 200-byte messages:
// the rows' size and number do not enter a DROP, which unlinks the
// partition's files) and its ERR rows, in a fresh database: each
// iteration loads the month (not timed) and times MaintainMessageStore
// dropping it; detach-ms and drop-ms are its two steps (the detaches, the
// only moment others may wait; the drops, the file system's time).
func BenchmarkMessageStorePrune(b *testing.B) {
	ctx := context.Background()
	rows := 100_000
	if v := os.Getenv("IIS_BENCH_PRUNE_ROWS"); v != "" {
		rows, _ = strconv.Atoi(v)
	}
	s, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	month := time.Date(now.Year(), now.Month()-25, 1, 0, 0, 0, 0, time.UTC) // expired: every kind is kept 24 months
	keep := registry.MessageStorePolicy{From: month}
	prune := registry.MessageStorePolicy{RetentionMonths: map[string]int{"vxu": 24, "rejected": 24, "query": 24, "other": 24}}
	var detach, drop time.Duration
	for b.Loop() {
		b.StopTimer()
		if _, err := s.MaintainMessageStore(ctx, keep, now); err != nil {
			b.Fatal(err)
		}
		for _, q := range []string{
			`INSERT INTO message_bodies (report_id, received_at, kind, raw, ack)
				SELECT g, $1::timestamptz + g * ($3::interval / $2), 'vxu', convert_to(repeat('MSH|^~\&|EHR|CLINIC|', 10), 'UTF8'), NULL
				FROM generate_series(1, $2::int) g`,
			`INSERT INTO message_errors (report_id, code, severity, facility, received_at, ack_code, positions, kind)
				SELECT g, '101', 'E', 'CLINIC', $1::timestamptz + g * ($3::interval / $2), 'AE', '{6:RXA-17}', 'vxu'
				FROM generate_series(1, $2::int / 25) g`,
			`CHECKPOINT`,
		} {
			args := []any{month, rows, "28 days"}
			if q == `CHECKPOINT` {
				args = nil
			}
			if _, err := s.Pool().Exec(ctx, q, args...); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		ch, err := s.MaintainMessageStore(ctx, prune, now)
		if err != nil {
			b.Fatal(err)
		}
		if len(ch.Dropped) != 10 { // 4 kinds and the month, in both tables
			b.Fatalf("dropped %v", ch.Dropped)
		}
		detach, drop = detach+ch.DetachTime, drop+ch.DropTime
	}
	b.ReportMetric(float64(rows), "rows/month")
	b.ReportMetric(float64(detach.Microseconds())/1000/float64(b.N), "detach-ms/op")
	b.ReportMetric(float64(drop.Microseconds())/1000/float64(b.N), "drop-ms/op")
}
