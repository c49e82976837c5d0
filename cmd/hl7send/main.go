// Command hl7send sends HL7 messages to an IIS over MLLP or the CDC SOAP
// web service and summarises the replies: ACK codes, ERR codes, throughput
// and latency percentiles. It sends files, directories and batch files, or
// synthesises realistic VXU traffic, so it doubles as a load generator.
//
//	hl7send -mllp 127.0.0.1:2575 testdata/hl7/samples/nist
//	hl7send -soap http://127.0.0.1:8080/soap -user demo -password demo -facility DEMO msg.hl7
//	hl7send -mllp 127.0.0.1:2575 -synth 100000 -c 32
//
// With -bare it is instead the other end of a calibration: an MLLP server
// that answers every message with the same ACK, without parsing or
// queueing it, the ceiling an IIS on the same machine is compared with.
//
//	hl7send -bare 127.0.0.1:2576
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/mllp"
	"github.com/iisproject/iis/soap"
	"github.com/iisproject/iis/synth"
)

type options struct {
	mllpAddr, soapURL            string
	user, password, facility     string
	conc                         int
	synthN                       int
	seed                         uint64
	split, quiet                 bool
	tlsCA, tlsCert, tlsKey       string
	insecure                     bool
	timeout                      time.Duration
	record                       string
	rate                         float64
	repeat                       int
	showReplies                  bool
	resendRate, otherRate, badRt float64
	bare                         string
}

func main() {
	var o options
	flag.StringVar(&o.mllpAddr, "mllp", "", "MLLP address host:port")
	flag.StringVar(&o.soapURL, "soap", "", "SOAP service URL (http:// or https://)")
	flag.StringVar(&o.user, "user", "", "SOAP username")
	flag.StringVar(&o.password, "password", "", "SOAP password")
	flag.StringVar(&o.facility, "facility", "", "SOAP facilityID")
	flag.IntVar(&o.conc, "c", 1, "concurrent connections")
	flag.IntVar(&o.synthN, "synth", 0, "send this many synthetic VXU messages instead of files")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the synthetic traffic")
	flag.Float64Var(&o.resendRate, "resend-rate", 0.01, "synthetic: share of exact resends")
	flag.Float64Var(&o.otherRate, "other-rate", 0.01, "synthetic: share of reports of the same doses by another clinic")
	flag.Float64Var(&o.badRt, "malformed-rate", 0.01, "synthetic: share of malformed messages")
	flag.BoolVar(&o.split, "split", false, "send the messages of batch files one by one instead of whole files")
	flag.BoolVar(&o.quiet, "q", false, "no progress bar")
	flag.BoolVar(&o.showReplies, "v", false, "print every reply")
	flag.StringVar(&o.tlsCA, "tls-ca", "", "PEM CA to verify the server (enables TLS for MLLP)")
	flag.StringVar(&o.tlsCert, "tls-cert", "", "PEM client certificate (mutual TLS)")
	flag.StringVar(&o.tlsKey, "tls-key", "", "PEM client key")
	flag.BoolVar(&o.insecure, "tls-insecure", false, "TLS without verifying the server (testing only)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "time to wait for each reply")
	flag.StringVar(&o.record, "record", "", "write one JSON line per message sent (facility, control id, kind, ACK code) to this file")
	flag.Float64Var(&o.rate, "rate", 0, "messages per second in all (0: as fast as the server answers)")
	flag.IntVar(&o.repeat, "repeat", 1, "send the files this many times")
	flag.StringVar(&o.bare, "bare", "", "instead of sending: serve a bare MLLP server on this address, answering every message with a fixed ACK (the ceiling to compare an IIS with), until interrupted")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: hl7send (-mllp host:port | -soap URL) [flags] [file|dir ...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.bare != "" {
		ln, err := net.Listen("tcp", o.bare)
		if err == nil {
			err = serveBare(ctx, ln, os.Stdout)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "hl7send:", err)
			os.Exit(1)
		}
		return
	}
	if (o.mllpAddr == "") == (o.soapURL == "") {
		flag.Usage()
		os.Exit(2)
	}
	sum, err := run(ctx, o, flag.Args(), os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hl7send:", err)
		os.Exit(1)
	}
	if sum.failed > 0 {
		os.Exit(3)
	}
}

// bareACK is what the bare server answers to everything.
var bareACK = []byte("MSH|^~\\&|IIS|STATE|EHR|CLINIC|20260101||ACK^V04^ACK|1|P|2.5.1\rMSA|AA|1\r")

// serveBare serves MLLP on ln, answering every message with bareACK,
// until ctx ends.
func serveBare(ctx context.Context, ln net.Listener, out io.Writer) error {
	srv := &mllp.Server{Handler: mllp.HandlerFunc(func(context.Context, []byte) []byte { return bareACK })}
	fmt.Fprintf(out, "bare MLLP server on %s (fixed ACK, no parsing, no queue)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-errc:
		return fmt.Errorf("bare server: %w", err)
	}
}

// item is one message to send.
type item struct {
	name      string
	kind      string
	facility  string
	controlID string
	body      []byte
}

func loadItems(o options, args []string) ([]item, error) {
	var items []item
	if o.synthN > 0 {
		g := synth.New(synth.Config{Seed: o.seed, ResendRate: o.resendRate, OtherRate: o.otherRate, MalformedRate: o.badRt})
		for i := range o.synthN {
			m := g.Next()
			items = append(items, item{name: fmt.Sprintf("synth#%d", i+1), kind: m.Kind.String(), facility: m.Facility, controlID: m.ControlID, body: m.Body})
		}
		return items, nil
	}
	if len(args) == 0 {
		return nil, errors.New("no files to send (or use -synth N)")
	}
	for _, arg := range args {
		err := filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || (path != arg && !strings.HasSuffix(path, ".hl7")) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !o.split {
				items = append(items, describe(path, data))
				return nil
			}
			b, err := hl7.SplitBatch(data)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			for i, m := range b.Messages() {
				it := describe(fmt.Sprintf("%s#%d", path, i+1), m)
				items = append(items, it)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var all []item
	for range max(o.repeat, 1) {
		all = append(all, items...)
	}
	return all, nil
}

func describe(name string, data []byte) item {
	it := item{name: name, kind: "file", body: data}
	if m, err := hl7.Parse(data); err == nil {
		it.facility = m.Get("MSH-4.1").String()
		it.controlID = m.Get("MSH-10").String()
	}
	return it
}

// sender sends one message and returns the reply.
type sender interface {
	Send(ctx context.Context, msg []byte) ([]byte, error)
	Close() error
}

type soapSender struct{ c *soap.Client }

func (s soapSender) Send(ctx context.Context, msg []byte) ([]byte, error) {
	return s.c.SubmitSingleMessage(ctx, msg)
}
func (s soapSender) Close() error { return nil }

func tlsConfig(o options) (*tls.Config, error) {
	if o.tlsCA == "" && o.tlsCert == "" && !o.insecure {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: o.insecure, MinVersion: tls.VersionTLS12}
	if o.tlsCA != "" {
		pem, err := os.ReadFile(o.tlsCA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", o.tlsCA)
		}
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func newSender(ctx context.Context, o options, tlsCfg *tls.Config) (sender, error) {
	if o.mllpAddr != "" {
		return mllp.Dial(ctx, o.mllpAddr, &mllp.ClientOptions{TLSConfig: tlsCfg, Timeout: o.timeout})
	}
	c := &soap.Client{URL: o.soapURL, Username: o.user, Password: o.password, FacilityID: o.facility}
	return soapSender{c}, nil
}

// connect returns a sender, or nil (reporting why to errOut, if set) when
// the server cannot be reached.
func connect(ctx context.Context, o options, tlsCfg *tls.Config, errOut io.Writer) sender {
	s, err := newSender(ctx, o, tlsCfg)
	if err != nil {
		if errOut != nil {
			fmt.Fprintln(errOut, "hl7send: connect:", err)
		}
		return nil
	}
	return s
}

// summary accumulates results.
type summary struct {
	mu        sync.Mutex
	acks      map[string]int
	errs      map[string]int
	byKind    map[string]map[string]int
	latencies []time.Duration
	failed    int
	bytes     int64
	elapsed   time.Duration
}

func run(ctx context.Context, o options, args []string, out, errOut io.Writer) (*summary, error) {
	items, err := loadItems(o, args)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := tlsConfig(o)
	if err != nil {
		return nil, err
	}
	var rec *json.Encoder
	if o.record != "" {
		f, err := os.Create(o.record)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rec = json.NewEncoder(f)
	}
	sum := &summary{acks: map[string]int{}, errs: map[string]int{}, byKind: map[string]map[string]int{}}
	var next, done atomic.Int64
	// With -rate, message i is due at start + i/rate: a steady schedule
	// that neither drifts nor bursts (tickers drop ticks at high rates).
	var interval time.Duration
	if o.rate > 0 {
		interval = time.Duration(float64(time.Second) / o.rate)
	}
	stopBar := make(chan struct{})
	if !o.quiet && len(items) > 1 {
		go progress(errOut, len(items), &done, stopBar)
	}
	start := time.Now()
	var wg sync.WaitGroup
	var recMu sync.Mutex
	for range max(o.conc, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := connect(ctx, o, tlsCfg, errOut)
			if s != nil {
				defer s.Close()
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) || ctx.Err() != nil {
					return
				}
				if interval > 0 {
					select {
					case <-time.After(time.Until(start.Add(time.Duration(i) * interval))):
					case <-ctx.Done():
						return
					}
				}
				it := items[i]
				t0 := time.Now()
				if s == nil {
					// The first dial failed: try again for each message
					// rather than failing all of them.
					if s = connect(ctx, o, tlsCfg, nil); s != nil {
						defer s.Close()
					}
				}
				var reply []byte
				err := errors.New("no connection")
				if s != nil {
					reply, err = s.Send(ctx, it.body)
				}
				d := time.Since(t0)
				ack := sum.add(it, reply, err, d)
				if o.showReplies {
					fmt.Fprintf(out, "== %s\n%s\n", it.name, strings.ReplaceAll(string(reply), "\r", "\n"))
				}
				if rec != nil {
					recMu.Lock()
					_ = rec.Encode(map[string]string{"facility": it.facility, "control_id": it.controlID, "kind": it.kind, "ack": ack, "name": it.name})
					recMu.Unlock()
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	sum.elapsed = time.Since(start)
	close(stopBar)
	sum.print(out)
	return sum, nil
}

// add records one result and returns the ACK code (or "error").
func (s *summary) add(it item, reply []byte, err error, d time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytes += int64(len(it.body))
	ack := "error"
	if err != nil {
		s.failed++
	} else {
		s.latencies = append(s.latencies, d)
		for _, code := range acksOf(reply) {
			ack = code.msa
			s.acks[code.msa]++
			for _, e := range code.errs {
				s.errs[e]++
			}
		}
	}
	if s.byKind[it.kind] == nil {
		s.byKind[it.kind] = map[string]int{}
	}
	s.byKind[it.kind][ack]++
	return ack
}

type ackInfo struct {
	msa  string
	errs []string
}

// acksOf reads the ACK (or each ACK of a batch reply, or an RSP's MSA).
func acksOf(reply []byte) []ackInfo {
	b, err := hl7.SplitBatch(reply)
	if err != nil || len(b.Messages()) == 0 {
		return []ackInfo{{msa: "unreadable"}}
	}
	var out []ackInfo
	for _, raw := range b.Messages() {
		m, err := hl7.Parse(raw)
		if err != nil {
			out = append(out, ackInfo{msa: "unreadable"})
			continue
		}
		a := ackInfo{msa: m.Get("MSA-1").String()}
		for i := 1; i <= m.Count("ERR"); i++ {
			e, _ := m.Segment("ERR", i)
			a.errs = append(a.errs, fmt.Sprintf("%s %s %s", e.Field(4).String(), e.Field(3).Comp(1).String(), e.Field(3).Comp(2).String()))
		}
		out = append(out, a)
	}
	return out
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func (s *summary) print(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.latencies) + s.failed
	fmt.Fprintf(w, "\nsent %d messages (%d bytes) in %.2fs: %.0f msgs/s\n", n, s.bytes, s.elapsed.Seconds(), float64(n)/s.elapsed.Seconds())
	sort.Slice(s.latencies, func(i, j int) bool { return s.latencies[i] < s.latencies[j] })
	if len(s.latencies) > 0 {
		fmt.Fprintf(w, "reply latency: p50 %v  p90 %v  p99 %v  max %v\n",
			percentile(s.latencies, 0.5).Round(time.Microsecond), percentile(s.latencies, 0.9).Round(time.Microsecond),
			percentile(s.latencies, 0.99).Round(time.Microsecond), s.latencies[len(s.latencies)-1].Round(time.Microsecond))
	}
	fmt.Fprintf(w, "ACK codes:")
	for _, k := range sortedKeys(s.acks) {
		fmt.Fprintf(w, " %s=%d", k, s.acks[k])
	}
	if s.failed > 0 {
		fmt.Fprintf(w, " transport-errors=%d", s.failed)
	}
	fmt.Fprintln(w)
	if len(s.byKind) > 1 {
		fmt.Fprintln(w, "by kind of message:")
		for _, k := range sortedKeys(s.byKind) {
			fmt.Fprintf(w, "  %-13s", k)
			for _, a := range sortedKeys(s.byKind[k]) {
				fmt.Fprintf(w, " %s=%d", a, s.byKind[k][a])
			}
			fmt.Fprintln(w)
		}
	}
	if len(s.errs) > 0 {
		fmt.Fprintln(w, "ERR rows (severity, HL7 0357 code):")
		for _, k := range sortedKeys(s.errs) {
			fmt.Fprintf(w, "  %6d  %s\n", s.errs[k], k)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// progress draws a progress bar on w until stop is closed.
func progress(w io.Writer, total int, done *atomic.Int64, stop <-chan struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	draw := func() {
		d := int(done.Load())
		const width = 40
		fill := width * d / max(total, 1)
		rate := float64(d) / time.Since(start).Seconds()
		fmt.Fprintf(w, "\r[%s%s] %d/%d %.0f msgs/s ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), d, total, rate)
	}
	for {
		select {
		case <-stop:
			draw()
			fmt.Fprintln(w)
			return
		case <-t.C:
			draw()
		}
	}
}
