package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/console"
	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// BenchmarkMessageBrowser measures console page loads (server time to the
// last byte of the HTML) against a message store of IIS_BENCH_MESSAGES
// messages (default 1,000,000: 50 facilities, 30 days, 2% AR and 4% AE with
// ERR rows, 200,000 patients). IIS_BENCH_DATABASE_URL reuses a database
// (seeded on first use). Each b.N iteration loads every page once.
func BenchmarkMessageBrowser(b *testing.B) {
	ctx := context.Background()
	n := 1_000_000
	if v := os.Getenv("IIS_BENCH_MESSAGES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	dbURL := os.Getenv("IIS_BENCH_DATABASE_URL")
	if dbURL == "" {
		dbURL = pgtest.NewDatabase(b)
	}
	st, err := registry.Open(ctx, registry.Config{URL: dbURL})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var have int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM source_reports LIMIT 1) x`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	// Two years of partitions, as the default retention keeps: the seed's
	// messages go straight into their months' partitions, and every search
	// plans over as many partitions as a store in its steady state.
	t0 := time.Now()
	ch, err := st.MaintainMessageStore(ctx, registry.MessageStorePolicy{From: time.Now().AddDate(-2, 0, 0)}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if len(ch.Created) > 0 {
		b.Logf("message store maintained in %s: %d partitions created, %d rows moved out of the default partitions",
			time.Since(t0).Round(time.Millisecond), len(ch.Created), ch.Moved)
	}
	if have == 0 {
		start := time.Now()
		raw, err := os.ReadFile("../testdata/hl7/samples/cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")
		if err != nil {
			b.Fatal(err)
		}
		if err := registry.SeedMessages(ctx, st.Pool(), n, raw); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d messages in %s", n, time.Since(start).Round(time.Second))
	}
	var total int64
	_ = st.Pool().QueryRow(ctx, `SELECT reltuples::bigint FROM pg_class WHERE relname = 'source_reports'`).Scan(&total)

	dir, err := facility.Open(ctx, st.Pool(), immz.Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	c, err := console.New(console.Config{Messages: st, Patients: st, Audit: st, Facilities: dir, Auth: testUsers})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	e := &env{srv: srv}
	client := e.client(b)
	e.login(b, client, "bench")

	var someID, patientID int64
	var family string
	var dob time.Time
	_ = st.Pool().QueryRow(ctx, `SELECT id FROM source_reports ORDER BY received_at DESC LIMIT 1 OFFSET $1`, min(5000, n/2)).Scan(&someID)
	_ = st.Pool().QueryRow(ctx, `SELECT id, family_name, birth_date FROM patients ORDER BY id LIMIT 1 OFFSET $1`, min(777, n/10)).Scan(&patientID, &family, &dob)
	since := time.Now().AddDate(0, 0, -3).Format("2006-01-02")
	pages := []struct{ name, path string }{
		{"newest", "/console/messages"},
		{"page 20", ""}, // filled below by following "older" links
		{"facility", "/console/messages?facility=CLINIC017"},
		{"MSH-10", "/console/messages?control_id=MSG-424242"},
		{"ACK AR", "/console/messages?ack=AR"},
		{"ERR 101 + facility", "/console/messages?err=101&facility=CLINIC013"},
		{"ERR 202", "/console/messages?err=202"},
		{"date range", "/console/messages?from=" + since + "&to=" + since},
		{"patient name + DOB", "/console/messages?name=" + url.QueryEscape(family) + "&dob=" + dob.Format("2006-01-02")},
		{"identifier", "/console/messages?identifier=MRN777"},
		{"message detail", "/console/messages/" + strconv.FormatInt(someID, 10)},
		{"patient", "/console/patients/" + strconv.FormatInt(patientID, 10)},
		{"errors (7 days)", "/console/errors"},
	}
	// Page 20 of the newest messages: follow the keyset cursor.
	next := "/console/messages"
	for range 19 {
		_, body := get(b, client, srv.URL+next)
		i := strings.Index(body, `href="/console/messages?before=`)
		if i < 0 {
			break
		}
		rest := body[i+len(`href="`):]
		next = strings.ReplaceAll(rest[:strings.IndexByte(rest, '"')], "&amp;", "&")
	}
	pages[1].path = next

	times := make([][]time.Duration, len(pages))
	b.ResetTimer()
	for b.Loop() {
		for i, p := range pages {
			t0 := time.Now()
			resp, err := client.Get(srv.URL + p.path)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 32<<10)
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					break
				}
			}
			resp.Body.Close()
			times[i] = append(times[i], time.Since(t0))
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("%s: %d", p.name, resp.StatusCode)
			}
		}
	}
	b.StopTimer()
	fmt.Printf("\nconsole page loads, %d messages in the store, %d loads each:\n", total, len(times[0]))
	fmt.Printf("| page | p50 | p99 | max |\n| --- | --- | --- | --- |\n")
	var worst time.Duration
	for i, p := range pages {
		ts := times[i]
		slices.Sort(ts)
		p50, p99, mx := ts[len(ts)/2], ts[min(len(ts)-1, len(ts)*99/100)], ts[len(ts)-1]
		worst = max(worst, p99)
		fmt.Printf("| %s | %s | %s | %s |\n", p.name, ms(p50), ms(p99), ms(mx))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-p99-ms")
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}
