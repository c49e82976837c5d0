package soap

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkSubmitSingleMessage measures whole submitSingleMessage round trips
// (client envelope, HTTP over loopback, parse, authentication with a warm
// credential cache, handler, response, client parse) with parallel clients,
// and reports requests per second.
func BenchmarkSubmitSingleMessage(b *testing.B) {
	vxu := readSample(b, "vxu-nist-ad-2.1-adult-flu.hl7")
	for _, bc := range []struct {
		name string
		rev  Revision
		tls  bool
	}{
		{"2011/http", Rev2011, false},
		{"2014/http", Rev2014, false},
		{"2011/https", Rev2011, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ts := newTestServer(b, bc.tls, Config{})
			hc := ts.Client()
			tr := hc.Transport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = 256
			hc = &http.Client{Transport: tr}
			defer tr.CloseIdleConnections()
			c := &Client{URL: ts.URL + "/IISService", HTTPClient: hc, Revision: bc.rev, Username: user1, Password: pass1, FacilityID: "FAC1"}
			if _, err := c.SubmitSingleMessage(b.Context(), []byte(vxu)); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(vxu)))
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					reply, err := c.SubmitSingleMessage(b.Context(), []byte(vxu))
					if err != nil || !strings.Contains(string(reply), "MSA|AA|") {
						b.Errorf("reply %q, %v", reply, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// BenchmarkServeHTTP measures the server alone (no network, no client):
// parse, authenticate (warm cache), handle and write one 2011 request.
func BenchmarkServeHTTP(b *testing.B) {
	vxu := readSample(b, "vxu-nist-ad-2.1-adult-flu.hl7")
	srv, err := NewServer(Config{Handler: ackHandler, Auth: testAccounts(b)})
	if err != nil {
		b.Fatal(err)
	}
	body := env12(submit2011(user1, pass1, "FAC1", vxu))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "/IISService", strings.NewReader(body))
		req.Header.Set("Content-Type", ctSOAP12)
		w := discardWriter{h: http.Header{}}
		srv.ServeHTTP(&w, req)
		if w.status != 200 {
			b.Fatalf("HTTP %d", w.status)
		}
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
