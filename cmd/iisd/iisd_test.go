package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/internal/cputime"
	"github.com/iisproject/iis/mllp"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/soap"
	"github.com/iisproject/iis/synth"
)

// startTest runs iisd on free loopback ports with an embedded queue; it
// is shut down when the test ends.
func startTest(t testing.TB, mutate func(*Config)) *server {
	t.Helper()
	s, err := start(context.Background(), testConfig(t, mutate))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.shutdown(10 * time.Second) })
	return s
}

// testConfig is startTest's configuration: free loopback ports, a
// database of the test's own, then mutate.
func testConfig(t testing.TB, mutate func(*Config)) Config {
	t.Helper()
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.MLLPAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.LogLevel = "error"
	cfg.DatabaseURL = pgtest.NewDatabase(t) // the machine's PostgreSQL, a database of this test's own
	cfg.QueryFacilities = []string{"*"}
	hash, err := soap.HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	cfg.SOAPAccounts = []SOAPAccount{{Username: "clinic", PasswordHash: hash, Facilities: []string{"CLINIC1"}}}
	if mutate != nil {
		mutate(&cfg)
	}
	return cfg
}

func readSample(t testing.TB, name string) []byte {
	b, err := os.ReadFile("../../testdata/hl7/samples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServeMLLPAndSOAP(t *testing.T) {
	s := startTest(t, nil)
	ctx := context.Background()
	msg := readSample(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")

	c, err := mllp.Dial(ctx, s.mllpLn.Addr().String(), &mllp.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply, err := c.Send(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := hl7.Parse(reply)
	if err != nil || !ack.Get("MSA-1").Equal("AA") || !ack.Get("MSA-2").Equal("45646ug") {
		t.Fatalf("MLLP reply %q %v", reply, err)
	}

	base := "http://" + s.httpLn.Addr().String()
	sc := &soap.Client{URL: base + "/soap", Username: "clinic", Password: "s3cret", FacilityID: "CLINIC1"}
	msg2 := []byte(strings.Replace(string(msg), "45646ug", "SOAP-1", 1))
	reply, err = sc.SubmitSingleMessage(ctx, msg2)
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := hl7.Parse(reply); err != nil || !ack.Get("MSA-1").Equal("AA") || !ack.Get("MSA-2").Equal("SOAP-1") {
		t.Fatalf("SOAP reply %q", reply)
	}
	bad := &soap.Client{URL: base + "/soap", Username: "clinic", Password: "wrong", FacilityID: "CLINIC1"}
	if _, err := bad.SubmitSingleMessage(ctx, msg2); err == nil || !strings.Contains(err.Error(), "Security") {
		t.Errorf("bad password: %v", err)
	}

	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": `iis_messages_total{ack="AA",facility="CLINIC1",transport="soap",type="VXU"} 1`} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, no %q", path, resp.StatusCode, want)
		}
	}
	// The worker stored both messages in the registry: one patient (the same
	// child reported twice), three consolidated doses.
	deadline := time.Now().Add(20 * time.Second)
	var reports, patients, events int
	for time.Now().Before(deadline) {
		row := s.store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM source_reports), (SELECT count(*) FROM patients), (SELECT count(*) FROM vaccination_events)`)
		if err := row.Scan(&reports, &patients, &events); err != nil {
			t.Fatal(err)
		}
		if reports == 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if reports != 2 || patients != 1 || events != 3 {
		t.Errorf("registry holds %d reports, %d patients, %d events; want 2, 1, 3", reports, patients, events)
	}
	// The MLLP sender was counted under its MSH-4.
	resp, _ := http.Get(base + "/metrics")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `iis_messages_total{ack="AA",facility="DCS",transport="mllp",type="VXU"} 1`) {
		t.Errorf("MLLP message not counted")
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/iisd.json"
	os.WriteFile(file, []byte(`{"mllp_addr":"127.0.0.1:1111","http_addr":"127.0.0.1:2222","data_dir":"/from/file"}`), 0o644)
	env := map[string]string{"IIS_CONFIG": file, "IIS_HTTP_ADDR": "127.0.0.1:3333", "IIS_PROCESSING_IDS": "P"}
	cfg, _, err := loadConfig([]string{"-data-dir", "/from/flag"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MLLPAddr != "127.0.0.1:1111" || cfg.HTTPAddr != "127.0.0.1:3333" || cfg.DataDir != "/from/flag" || len(cfg.ProcessingIDs) != 1 {
		t.Errorf("precedence wrong: %+v", cfg)
	}
	os.WriteFile(file, []byte(`{"mllp_adr":"x"}`), 0o644)
	if _, _, err := loadConfig(nil, func(k string) string { return env[k] }); err == nil {
		t.Error("unknown key in the config file accepted")
	}
}

// BenchmarkEndToEnd sends synthetic VXU over N MLLP connections on loopback
// to iisd (validation, ACK after the JetStream publish acknowledgement) and,
// in the same run, to a bare MLLP server that answers a fixed ACK without
// parsing or queueing: the ceiling of this machine. It reports msgs/s and
// the ACK latency percentiles.
//
// iisd runs as a listener (-mode listener): the registry worker, which
// consumes the queue into PostgreSQL after the ACK was sent, is not part
// of the ingest path measured here and is scaled out on its own. Both
// servers run at iisd's own garbage-collection setting (GOGC 400, see
// main), unless GOGC is set in the environment.
func BenchmarkEndToEnd(b *testing.B) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	// New traffic for every message: cycling through fewer would make the
	// rest resends, answered from the queue's memory without a publish.
	traffic := func(b *testing.B) []*synth.Message { return synth.New(synth.Config{Seed: 3}).Take(b.N) }
	const conns = 32
	b.Run(fmt.Sprintf("c%d/ours", conns), func(b *testing.B) {
		msgs := traffic(b)
		s := startTest(b, func(c *Config) { c.Mode = "listener" })
		drive(b, s.mllpLn.Addr().String(), msgs, conns)
		// How the group commit grouped them.
		resp, err := http.Get("http://" + s.httpLn.Addr().String() + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var sum, count float64
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "iis_queue_envelope_messages_sum "); ok {
				sum, _ = strconv.ParseFloat(v, 64)
			} else if v, ok := strings.CutPrefix(sc.Text(), "iis_queue_envelope_messages_count "); ok {
				count, _ = strconv.ParseFloat(v, 64)
			}
		}
		if count > 0 {
			b.ReportMetric(sum/count, "msgs/envelope")
			b.ReportMetric(100*sum/float64(b.N), "%-in-envelopes")
		}
	})
	b.Run(fmt.Sprintf("c%d/bare-mllp", conns), func(b *testing.B) {
		ack := []byte("MSH|^~\\&|IIS|STATE|EHR|CLINIC|20260101||ACK^V04^ACK|1|P|2.5.1\rMSA|AA|1\r")
		srv := &mllp.Server{Handler: mllp.HandlerFunc(func(context.Context, []byte) []byte { return ack })}
		ln, err := netListen()
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(ln)
		defer srv.Close()
		drive(b, ln.Addr().String(), traffic(b), conns)
	})
}

// drive sends b.N messages over conns connections and reports throughput
// and latency.
func drive(b *testing.B, addr string, msgs []*synth.Message, conns int) {
	ctx := context.Background()
	clients := make([]*mllp.Client, conns)
	for i := range clients {
		c, err := mllp.Dial(ctx, addr, &mllp.ClientOptions{Timeout: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	lat := make([]time.Duration, b.N)
	var next, notQueued atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cputime.Process()
	start := time.Now()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				reply, err := c.Send(ctx, msgs[i%len(msgs)].Body)
				if err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
				if bytes.Contains(reply, []byte("|207^")) {
					notQueued.Add(1) // AR: the queue did not take it in time
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cputime.Process() - cpu0
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
	if n := notQueued.Load(); n > 0 {
		b.Errorf("%d of %d messages not queued in time (AR 207)", n, b.N)
	}
	// CPU time per message (server and client together, this process):
	// unlike msgs/s it does not depend on what else the machine runs.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// TestQueryEndToEnd: a VXU goes through MLLP, the queue and the worker into
// PostgreSQL; then QBP Z44 over SOAP finds the child and gets Z42 with the
// evaluated history and forecast, the disclosure is audited, an unknown
// child gets NF, a protected one PD, and an unauthorised facility AR.
func TestQueryEndToEnd(t *testing.T) {
	s := startTest(t, func(c *Config) { c.QueryFacilities = []string{"CLINIC1"} })
	ctx := context.Background()
	c, err := mllp.Dial(ctx, s.mllpLn.Addr().String(), &mllp.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, f := range []string{"cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7", "gathered/nist-onc-2015/vxu_z22_onc2015_iz_ad3_child_protection_PD1-12_Y.hl7"} {
		if _, err := c.Send(ctx, readSample(t, f)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for n := 0; n < 2 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM source_reports`).Scan(&n)
	}

	base := "http://" + s.httpLn.Addr().String() + "/soap"
	sc := &soap.Client{URL: base, Username: "clinic", Password: "s3cret", FacilityID: "CLINIC1"}
	qbp := func(tag, qpd string) *hl7.Message {
		t.Helper()
		msg := "MSH|^~\\&|EHR|CLINIC1|IIS|STATE|20261125||QBP^Q11^QBP_Q11|" + tag + "|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS\r" +
			"QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|" + tag + "|" + qpd + "\rRCP|I|5^RD&Records&HL70126\r"
		reply, err := sc.SubmitSingleMessage(ctx, []byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		m, err := hl7.Parse(reply)
		if err != nil {
			t.Fatalf("RSP does not parse: %v", err)
		}
		return m
	}
	m := qbp("Q1", "432155^^^dcs^MR|Patient^Johnny^New^^^^L|Lastname^Sally^^^^^M|20110411|M|123 Any St^^Somewhere^WI^54000^^L")
	if !m.Get("MSH-21.1").Equal("Z42") || !m.Get("QAK-2").Equal("OK") || !m.Get("PID-5.2").Equal("Johnny") {
		t.Fatalf("Z44 for a known child: %q", m.Bytes())
	}
	cvx := map[string]bool{}
	for i := 1; i <= m.Count("RXA"); i++ {
		rxa, _ := m.Segment("RXA", i)
		cvx[rxa.Field(5).Comp(1).String()] = true
	}
	if !cvx["85"] || !cvx["110"] || !cvx["48"] || !cvx["998"] {
		t.Errorf("doses in the Z42: %v", cvx)
	}
	var pid int64
	s.store.Pool().QueryRow(ctx, `SELECT patient_id FROM patient_identifiers WHERE value = '432155'`).Scan(&pid)
	ds, err := s.store.Disclosures(ctx, pid)
	if err != nil || len(ds) != 1 || ds[0].Facility != "CLINIC1" || !strings.Contains(ds[0].What, "Z42") {
		t.Errorf("disclosures %+v %v", ds, err)
	}
	// The same list from the command line, by the patient's identifier.
	var out strings.Builder
	env := map[string]string{"DATABASE_URL": s.cfg.DatabaseURL}
	if err := disclosures([]string{"-id", "432155", "-authority", "dcs"}, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "disclosures of patient") || !strings.Contains(out.String(), "CLINIC1") || !strings.Contains(out.String(), "Z42") {
		t.Errorf("iisd disclosures printed:\n%s", out.String())
	}

	if m := qbp("Q2", "999999^^^dcs^MR|Nobody^Nemo^^^^^L||20200101|M"); !m.Get("QAK-2").Equal("NF") || m.Count("PID") != 0 {
		t.Errorf("unknown child: %s", m.Get("QAK-2").String())
	}
	// The ONC AD-3 child asked for protection (PD1-12 Y).
	if m := qbp("Q3", "89778^^^wcEHR^MR|Benton^Katherine^Mackenzie^^^^L||20031221|F"); !m.Get("QAK-2").Equal("PD") || m.Count("PID") != 0 {
		onc, _ := hl7.Parse(readSample(t, "gathered/nist-onc-2015/vxu_z22_onc2015_iz_ad3_child_protection_PD1-12_Y.hl7"))
		t.Errorf("protected child: %s (PID-3 %s, PID-5 %s, PID-7 %s)", m.Get("QAK-2").String(), onc.Get("PID-3").String(), onc.Get("PID-5").String(), onc.Get("PID-7").String())
	}
	// MLLP without a client certificate: MSH-4 alone does not authorise.
	msg := "MSH|^~\\&|EHR|CLINIC1|IIS|STATE|20261125||QBP^Q11^QBP_Q11|Q4|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS\r" +
		"QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|Q4|432155^^^dcs^MR|Patient^Johnny^^^^^L||20110411\r"
	reply, err := c.Send(ctx, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := hl7.Parse(reply); !m.Get("MSA-1").Equal("AR") || m.Count("PID") != 0 {
		t.Errorf("unauthenticated MLLP query: %q", reply)
	}
}

// TestModes: a listener and a worker as separate servers on one queue and
// one registry: the listener queues, the worker stores; the worker serves
// only metrics and health.
func TestModes(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	n := time.Now().UnixNano()
	shared := func(c *Config) {
		c.DatabaseURL = dbURL
		c.NATSURL = "nats://127.0.0.1:4222"
		c.QueueStream = fmt.Sprintf("IIS_MODES_%d", n)
	}
	listener := startTest(t, func(c *Config) { shared(c); c.Mode = "listener" })
	wrk := startTest(t, func(c *Config) { shared(c); c.Mode = "worker"; c.MLLPAddr = "" })
	t.Cleanup(func() {
		_ = listener.q.JetStream().DeleteStream(context.Background(), listener.q.Config().Stream)
	})
	if wrk.mllpLn != nil || wrk.handler != nil || listener.worker != nil {
		t.Fatal("modes not honoured")
	}
	ctx := context.Background()
	c, err := mllp.Dial(ctx, listener.mllpLn.Addr().String(), &mllp.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Send(ctx, readSample(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")); err != nil {
		t.Fatal(err)
	}
	var reports int
	for deadline := time.Now().Add(20 * time.Second); reports == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		wrk.store.Pool().QueryRow(ctx, `SELECT count(*) FROM source_reports`).Scan(&reports)
	}
	if reports != 1 {
		t.Fatalf("the worker stored %d reports", reports)
	}
	base := "http://" + wrk.httpLn.Addr().String()
	for path, code := range map[string]int{"/metrics": 200, "/readyz": 200, "/soap": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("worker %s: %d, want %d", path, resp.StatusCode, code)
		}
	}
}

// TestPprofOnlyWhenAsked: Go's profiler is served only with -pprof.
func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		s := startTest(t, func(c *Config) { c.Pprof = on; c.Mode = "listener" })
		resp, err := http.Get("http://" + s.httpLn.Addr().String() + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[on]; resp.StatusCode != want {
			t.Errorf("pprof %v: status %d, want %d", on, resp.StatusCode, want)
		}
	}
}

// TestJWKSServed: the listener publishes the SMART Health Card keys: a
// development key generated under the data directory when none is
// configured; a server given that directory (shc_key_dir) loads the same
// key.
func TestJWKSServed(t *testing.T) {
	dataDir := t.TempDir()
	var kids []string
	for _, keyDir := range []string{"", filepath.Join(dataDir, "shc-keys")} {
		s := startTest(t, func(c *Config) {
			c.Mode = "listener"
			if keyDir == "" {
				c.DataDir = dataDir
			}
			c.SHCKeyDir = keyDir
		})
		resp, err := http.Get("http://" + s.httpLn.Addr().String() + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		var set struct {
			Keys []struct{ Kid, Kty, Crv, D string } `json:"keys"`
		}
		err = json.NewDecoder(resp.Body).Decode(&set)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(set.Keys) != 1 {
			t.Fatalf("JWKS: status %d, %+v, %v", resp.StatusCode, set, err)
		}
		if k := set.Keys[0]; k.Kty != "EC" || k.Crv != "P-256" || k.D != "" || k.Kid != s.shcKeys.SigningKeyID() {
			t.Errorf("JWKS key %+v", k)
		}
		kids = append(kids, set.Keys[0].Kid)
	}
	if kids[0] != kids[1] {
		t.Errorf("the server given the key directory signs with %q, not the generated key %q", kids[1], kids[0])
	}
	if files, _ := filepath.Glob(filepath.Join(dataDir, "shc-keys", "*.pem")); len(files) != 1 {
		t.Errorf("key files %q, want one under the data directory", files)
	}
}

// TestSHCKeyDirMustHoldKeys: a configured key directory is the operator's:
// without a key iisd refuses to start rather than make one of its own,
// which replicas would not share. Only the default directory gets a
// generated development key.
func TestSHCKeyDirMustHoldKeys(t *testing.T) {
	dir := t.TempDir()
	s := &server{cfg: Config{DataDir: t.TempDir(), SHCKeyDir: dir}}
	if err := s.openSHCKeys(); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("empty configured key directory: %v, want an error about no key", err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("iisd wrote %d files into the configured key directory", len(files))
	}
}
