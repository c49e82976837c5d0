// Command iisd is the immunization information system server: MLLP and the
// CDC SOAP web service in, JetStream as the durable queue, Prometheus
// metrics and health endpoints. See README.md for configuration.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"github.com/iisproject/iis/reports"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/bulk"
	"github.com/iisproject/iis/certificate"
	"github.com/iisproject/iis/console"
	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/fhirapi"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/ingest"
	"github.com/iisproject/iis/localpg"
	"github.com/iisproject/iis/mllp"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/query"
	"github.com/iisproject/iis/queue"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/smart"
	"github.com/iisproject/iis/soap"
	"github.com/iisproject/iis/worker"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "disclosures" {
		runDisclosures()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "replay" {
		runReplay()
		return
	}
	if len(os.Args) > 1 && (os.Args[1] == "smart-key" || os.Args[1] == "smart-assertion") {
		if err := runSMART(os.Args[1], os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "iisd:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "hash-password" {
		if err := hashPassword(); err != nil {
			fmt.Fprintln(os.Stderr, "iisd:", err)
			os.Exit(1)
		}
		return
	}
	cfg, _, err := loadConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iisd:", err)
		os.Exit(2)
	}
	// The live heap is small (tens of MB) and the allocation rate high:
	// collecting less often buys ~15% throughput and a shorter ACK tail
	// (README, "Ingest end to end"). GOGC in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "iisd:", err)
		os.Exit(1)
	}
}

// hashPassword reads a password from standard input and prints its bcrypt
// hash for a soap_accounts entry.
func hashPassword() error {
	fmt.Fprint(os.Stderr, "password: ")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("read password: %w", err)
	}
	h, err := soap.HashPassword(strings.TrimRight(line, "\r\n"))
	if err != nil {
		return err
	}
	fmt.Println(h)
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// server is a running iisd.
type server struct {
	cfg      Config
	log      *slog.Logger
	q        *queue.Queue
	pg       *localpg.Cluster // the private cluster, when no database URL is set
	store    *registry.Store
	queryReg *query.StoreRegistry
	worker   *worker.Worker
	stopW    context.CancelFunc
	doneW    chan error
	handler  *ingest.Handler
	profiles *facility.Directory
	onboard  *facility.Onboarding // facilities in test status: not written to the registry
	console  *console.Console
	accounts *accounts.Store
	portal   *portal.Portal     // the people's pages at /
	stopBg   context.CancelFunc // background loops: console sampler, settings refresh
	reports  *reports.Runner    // report runs under way, recorded failed when stopped
	mllp     *mllp.Server
	http     *http.Server
	shcKeys  *certificate.Keys // signs certificates' SMART Health Cards; published at /.well-known/jwks.json
	smart    *smart.Server     // FHIR access tokens (cmd/iisd/bulk.go)
	bulk     *bulk.Server      // FHIR Groups and $export
	bulkDone chan struct{}     // closed when the export loop has stopped
	mllpLn   net.Listener
	httpLn   net.Listener
	fhir     *fhirapi.Server // the FHIR R4 API, when configured (fhir.go)
}

// run starts iisd and blocks until ctx is cancelled, then shuts down
// gracefully: listeners stop accepting, in-flight messages finish and are
// answered, the queue connection drains.
func run(ctx context.Context, cfg Config, out *os.File) error {
	s, err := start(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, s.banner())
	<-ctx.Done()
	s.log.Info("shutting down")
	return s.shutdown(30 * time.Second)
}

func start(ctx context.Context, cfg Config) (*server, error) {
	log := newLogger(cfg.LogLevel)
	s := &server{cfg: cfg, log: log}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	// World-traversable, so that a private PostgreSQL run as the postgres
	// account (when iisd runs as root) can reach its directory inside.
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	q, err := openQueue(ctx, cfg, dataDir, reg, log)
	if err != nil {
		return nil, err
	}
	s.q = q

	vcfg := validatorConfig(cfg)
	validator := immz.New(vcfg)

	if err := s.openRegistry(ctx, dataDir); err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	// Facility settings from the console override the validation profile
	// per facility, for the listeners and the worker alike.
	profiles, err := facility.Open(ctx, s.store.Pool(), vcfg, log)
	if err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	s.profiles = profiles
	bg, cancel := context.WithCancel(context.Background())
	s.stopBg = cancel
	go profiles.Run(bg, 10*time.Second)
	if err := s.startQuality(ctx, bg); err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	if cfg.Mode != "listener" {
		if err := s.startMessageStore(bg); err != nil {
			s.shutdown(5 * time.Second)
			return nil, err
		}
		if err := s.startWorker(reg, validator); err != nil {
			s.shutdown(5 * time.Second)
			return nil, err
		}
	}
	if cfg.Mode == "worker" {
		// A worker serves only /metrics and health, for its probes.
		if cfg.HTTPAddr != "" {
			if err := s.startHTTP(reg, false); err != nil {
				s.shutdown(5 * time.Second)
				return nil, err
			}
		}
		return s, nil
	}

	fc, err := loadForecaster(cfg.CDSIDir, reg, log, time.Now)
	if err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	s.queryReg = query.FromStore(s.store)
	queries := query.New(query.Config{Validator: validator, Registry: s.queryReg, Forecaster: fc,
		Authorizer: queryAuthorizer(cfg, log), Authority: registryAuthority(cfg), Logger: log})
	s.handler = ingest.New(ingest.Config{Validator: validator, Queue: q, Queries: queries, Profiles: profiles, Metrics: ingest.NewMetrics(reg), Logger: log})
	if err := s.startPortal(ctx, bg, fc); err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	if err := s.startFHIR(fc); err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	if err := s.startBulk(bg, fc); err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	// The console signs people in through the people's pages.
	h := s.handler
	con, err := console.New(console.Config{
		Messages: s.store, Patients: s.store, Audit: s.store, Auth: consoleAuth{s.portal}, Facilities: profiles, Queue: q, Gatherer: reg, Reviews: s.store,
		Logger: log, Notice: releaseNotice(fc, time.Now),
		Resend: func(ctx context.Context, facility, operator string, msg []byte) []byte {
			return h.ServeHL7(ingest.WithSource(ctx, ingest.Source{Facility: facility, Transport: "console", Resend: operator}), msg)
		},
	})
	if err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	s.console = con
	if err := s.mountQuality(con); err != nil {
		s.shutdown(5 * time.Second)
		return nil, err
	}
	go con.Run(bg)

	if cfg.MLLPAddr != "" {
		if err := s.startMLLP(reg); err != nil {
			s.shutdown(5 * time.Second)
			return nil, err
		}
	}
	if cfg.HTTPAddr != "" {
		if err := s.startHTTP(reg, true); err != nil {
			s.shutdown(5 * time.Second)
			return nil, err
		}
	}
	return s, nil
}

// openQueue connects to (or starts) the ingest queue as cfg says.
func openQueue(ctx context.Context, cfg Config, dataDir string, reg prometheus.Registerer, log *slog.Logger) (*queue.Queue, error) {
	return queue.Open(ctx, queue.Config{
		URL: cfg.NATSURL, DataDir: filepath.Join(dataDir, "jetstream"), SyncAlways: cfg.QueueSyncAlways,
		Stream: cfg.QueueStream, Replicas: cfg.QueueReplicas, DuplicateWindow: cfg.QueueDupWindow,
		PublishTimeout: cfg.QueuePublishTimout, Coalesce: cfg.QueueCoalesce, CoalesceWait: cfg.QueueCoalesceWait, Registerer: reg, Logger: log,
	})
}

// validatorConfig is the server's validation profile.
func validatorConfig(cfg Config) immz.Config {
	return immz.Config{ProcessingIDs: cfg.ProcessingIDs, WarningsAsAE: cfg.WarningsAsAE, Application: cfg.Application, Facility: cfg.Facility}
}

// queryAuthorizer returns who may query: the configured facilities once
// the transport authenticated them, or, with query_allow_unauthenticated,
// whoever claims one of them, which is said loudly.
func queryAuthorizer(cfg Config, log *slog.Logger) query.Authorizer {
	if !cfg.QueryAllowUnauthenticated {
		return query.AllowList(cfg.QueryFacilities)
	}
	log.Warn("UNAUTHENTICATED QUERIES ENABLED (query_allow_unauthenticated): any sender that reaches a listener can read the record of any patient by claiming a listed MSH-4; never use this with real data",
		"query_facilities", strings.Join(cfg.QueryFacilities, ","))
	return query.AllowUnauthenticated(cfg.QueryFacilities)
}

// openRegistry connects to the registry's PostgreSQL (applying its
// migrations), starting a private cluster under the data directory when no
// database URL is configured.
func (s *server) openRegistry(ctx context.Context, dataDir string) error {
	url := s.cfg.DatabaseURL
	if url == "" {
		pg, err := localpg.Start(ctx, filepath.Join(dataDir, "postgres"))
		if err != nil {
			return fmt.Errorf("private PostgreSQL (set DATABASE_URL to use another): %w", err)
		}
		s.pg = pg
		url = pg.URL()
	}
	st, err := registry.Open(ctx, registry.Config{URL: url})
	if err != nil {
		return err
	}
	s.store = st
	return nil
}

// startWorker runs the registry worker: queued messages into PostgreSQL.
func (s *server) startWorker(reg *prometheus.Registry, v *immz.Validator) error {
	w, err := worker.New(worker.Config{Queue: s.q, Store: s.store, Validator: v, Profiles: s.profiles, Onboarding: s.onboard, BatchSize: s.cfg.WorkerBatch,
		Concurrency: s.cfg.WorkerConcurrency, Registerer: reg, Logger: s.log, Doses: s.inventoryHook()})
	if err != nil {
		return err
	}
	s.worker = w
	ctx, cancel := context.WithCancel(context.Background())
	s.stopW, s.doneW = cancel, make(chan error, 1)
	go func() { s.doneW <- w.Run(ctx) }()
	return nil
}

func (s *server) startMLLP(reg *prometheus.Registry) error {
	var tlsCfg *tls.Config
	if s.cfg.MLLPTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.MLLPTLSCert, s.cfg.MLLPTLSKey)
		if err != nil {
			return fmt.Errorf("MLLP TLS certificate: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if s.cfg.MLLPClientCA != "" {
			pem, err := os.ReadFile(s.cfg.MLLPClientCA)
			if err != nil {
				return fmt.Errorf("MLLP client CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("MLLP client CA %s holds no PEM certificate", s.cfg.MLLPClientCA)
			}
			tlsCfg.ClientCAs = pool
			tlsCfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	conns := prometheus.NewGauge(prometheus.GaugeOpts{Name: "iis_mllp_connections", Help: "Open MLLP connections."})
	events := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iis_mllp_events_total", Help: "MLLP connection events by kind."}, []string{"kind"})
	reg.MustRegister(conns, events)
	// The counter of each kind, resolved once: EventMessage comes with
	// every message.
	var byKind [mllp.EventConnClosed + 1]prometheus.Counter
	for k := mllp.EventConnAccepted; k <= mllp.EventConnClosed; k++ {
		byKind[k] = events.WithLabelValues(k.String())
	}
	s.mllp = &mllp.Server{
		Addr:           s.cfg.MLLPAddr,
		Name:           "mllp",
		Handler:        s.handler,
		ConnContext:    mllpSource,
		TLSConfig:      tlsCfg,
		MaxMessageSize: s.cfg.MLLPMaxMessageSize,
		ReadTimeout:    s.cfg.MLLPReadTimeout,
		IdleTimeout:    s.cfg.MLLPIdleTimeout,
		MaxConnections: s.cfg.MLLPMaxConnections,
		ErrorLog:       s.log,
		Observer: mllp.ObserverFunc(func(e mllp.Event) {
			if e.Kind > 0 && int(e.Kind) < len(byKind) {
				byKind[e.Kind].Inc()
			} else {
				events.WithLabelValues(e.Kind.String()).Inc()
			}
			switch e.Kind {
			case mllp.EventConnAccepted:
				conns.Inc()
			case mllp.EventConnClosed:
				conns.Dec()
			}
		}),
	}
	ln, err := net.Listen("tcp", s.cfg.MLLPAddr)
	if err != nil {
		return fmt.Errorf("MLLP listen: %w", err)
	}
	s.mllpLn = ln
	go func() {
		if err := s.mllp.Serve(ln); err != nil && !errors.Is(err, mllp.ErrServerClosed) {
			s.log.Error("MLLP server stopped", "err", err)
		}
	}()
	return nil
}

// mllpSource tells the ingest handler who is sending on an MLLP
// connection: the verified client certificate's common name over mutual
// TLS, otherwise nobody in particular (MSH-4 then names the facility).
func mllpSource(ctx context.Context, p mllp.Peer) context.Context {
	src := ingest.Source{Transport: "mllp"}
	if c := p.Certificate(); c != nil {
		src.Facility, src.Authenticated = c.Subject.CommonName, true
	}
	return ingest.WithSource(ctx, src)
}

func soapAdapter(h *ingest.Handler) soap.Handler {
	return soap.HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		src := ingest.Source{Transport: "soap"}
		if f, ok := soap.FacilityFromContext(ctx); ok {
			src.Facility, src.Authenticated = f.FacilityID, true
		}
		return h.ServeHL7(ingest.WithSource(ctx, src), msg)
	})
}

// openSHCKeys loads the SMART Health Card keys of the configured
// directory, which must hold them; without one configured, those of
// <data-dir>/shc-keys, where a development key is generated if none is
// there.
func (s *server) openSHCKeys() error {
	var keys *certificate.Keys
	var err error
	if s.cfg.SHCKeyDir != "" {
		keys, err = certificate.LoadKeys(s.cfg.SHCKeyDir)
	} else {
		keys, err = certificate.OpenKeys(filepath.Join(s.cfg.DataDir, "shc-keys"), s.log)
	}
	if err != nil {
		return err
	}
	s.shcKeys = keys
	return nil
}

// shcIssuer is the health cards' iss: the configured URL, else this
// server's HTTP address.
func (s *server) shcIssuer() string {
	if s.cfg.SHCIssuer != "" {
		return s.cfg.SHCIssuer
	}
	scheme := "http"
	if s.cfg.HTTPTLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + s.httpLn.Addr().String()
}

// startHTTP serves /metrics and health, and with withSOAP the CDC SOAP
// service.
func (s *server) startHTTP(reg *prometheus.Registry, withSOAP bool) error {
	mux := http.NewServeMux()
	if withSOAP {
		accounts := make([]soap.Account, 0, len(s.cfg.SOAPAccounts))
		for _, a := range s.cfg.SOAPAccounts {
			accounts = append(accounts, soap.Account{Username: a.Username, PasswordHash: a.PasswordHash, Facilities: a.Facilities})
		}
		auth, err := soap.NewAccounts(accounts)
		if err != nil {
			return fmt.Errorf("SOAP accounts: %w", err)
		}
		ws, err := soap.NewServer(soap.Config{Handler: soapAdapter(s.handler), Auth: auth, MaxMessageSize: s.cfg.SOAPMaxSize, Logger: s.log})
		if err != nil {
			return err
		}
		mux.Handle("/soap", ws)
		mux.Handle("/IISService", ws)
		if err := s.openSHCKeys(); err != nil {
			return err
		}
		mux.Handle("/.well-known/jwks.json", s.shcKeys.Handler())
	}
	if s.console != nil {
		mux.Handle("/console/", s.console)
		mux.Handle("/console", s.console)
	}
	if s.portal != nil {
		mux.Handle("/", s.portal)
	}
	s.registerBulk(mux)
	s.mountFHIR(mux)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if s.cfg.Pprof {
		// Go's profiler, for an engineer looking at where the CPU goes
		// under load; off by default (it reveals internals, not PHI).
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.q.Healthy() {
			http.Error(w, "queue unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP listen: %w", err)
	}
	s.httpLn = ln
	if s.portal != nil && s.cfg.PublicURL == "" {
		s.portal.SetPublicURL(linkAddress(ln.Addr(), s.cfg.HTTPTLSCert != ""))
		s.log.Warn("no -public-url: links mailed to users point to the HTTP listener's address", "address", linkAddress(ln.Addr(), s.cfg.HTTPTLSCert != ""))
	}
	go func() {
		var err error
		if s.cfg.HTTPTLSCert != "" {
			err = s.http.ServeTLS(ln, s.cfg.HTTPTLSCert, s.cfg.HTTPTLSKey)
		} else {
			err = s.http.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("HTTP server stopped", "err", err)
		}
	}()
	return nil
}

func (s *server) banner() string {
	var b strings.Builder
	b.WriteString("iisd is running\n")
	if s.mllpLn != nil {
		scheme := "MLLP"
		if s.cfg.MLLPTLSCert != "" {
			scheme = "MLLP over TLS"
		}
		fmt.Fprintf(&b, "  %-13s %s\n", scheme, s.mllpLn.Addr())
	}
	if s.httpLn != nil {
		scheme := "http"
		if s.cfg.HTTPTLSCert != "" {
			scheme = "https"
		}
		base := scheme + "://" + s.httpLn.Addr().String()
		if s.cfg.Mode != "worker" {
			fmt.Fprintf(&b, "  %-13s %s/soap  (WSDL: %s/soap?wsdl)\n", "SOAP", base, base)
		}
		if s.console != nil {
			fmt.Fprintf(&b, "  %-13s %s/console/\n", "console", base)
		}
		if s.portal != nil {
			fmt.Fprintf(&b, "  %-13s %s/  (people's pages: sign-in, account requests)\n", "pages", base)
		}
		fmt.Fprintf(&b, "  %-13s %s/metrics  %s/healthz  %s/readyz\n", "metrics", base, base, base)
		if s.shcKeys != nil {
			fmt.Fprintf(&b, "  %-13s keys at %s/.well-known/jwks.json (issuer %s)\n", "health cards", base, s.shcIssuer())
		}
		if s.bulk != nil {
			fmt.Fprintf(&b, "  %-13s %s/fhir/Group/[id]/$export  (tokens: %s/auth/token; clients: %s/admin/fhir-clients)\n", "FHIR bulk", base, base, base)
		}
	}
	if s.cfg.NATSURL == "" {
		fmt.Fprintf(&b, "  %-13s embedded JetStream in %s\n", "queue", filepath.Join(s.cfg.DataDir, "jetstream"))
	} else {
		fmt.Fprintf(&b, "  %-13s %s\n", "queue", queue.Redact(s.cfg.NATSURL))
	}
	if s.pg != nil {
		fmt.Fprintf(&b, "  %-13s private PostgreSQL in %s (port %d)\n", "registry", s.pg.Dir(), s.pg.Port())
	} else {
		fmt.Fprintf(&b, "  %-13s PostgreSQL from the configured database URL\n", "registry")
	}
	if s.cfg.QueryAllowUnauthenticated && s.cfg.Mode != "worker" {
		fmt.Fprintf(&b, "  %-13s WARNING: unauthenticated senders may query (query_allow_unauthenticated)\n", "queries")
	}
	if s.worker != nil {
		fmt.Fprintf(&b, "  %-13s registry worker running (mode %s)\n", "worker", s.cfg.Mode)
	}
	b.WriteString("Stop with Ctrl-C.")
	return b.String()
}

func (s *server) shutdown(grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var errs []error
	if s.mllp != nil {
		if err := s.mllp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("MLLP shutdown: %w", err))
		}
	}
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("HTTP shutdown: %w", err))
		}
	}
	if s.handler != nil {
		// Answered queries' records still on their way to the queue.
		if err := s.handler.Wait(ctx); err != nil {
			errs = append(errs, fmt.Errorf("query records not all queued: %w", err))
		}
	}
	if s.stopBg != nil {
		s.stopBg()
	}
	if err := s.waitBulk(ctx); err != nil {
		errs = append(errs, err)
	}
	if s.reports != nil {
		// Runs under way stop with the background context and record
		// their failure before the registry closes.
		done := make(chan struct{})
		go func() { s.reports.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, errors.New("report runs did not stop in time"))
		}
	}
	if s.stopW != nil {
		s.stopW()
		select {
		case err := <-s.doneW:
			if err != nil {
				errs = append(errs, fmt.Errorf("worker: %w", err))
			}
		case <-ctx.Done():
			errs = append(errs, errors.New("worker did not finish its batch in time"))
		}
	}
	if s.q != nil {
		s.q.Close()
	}
	if s.queryReg != nil {
		s.queryReg.Close()
	}
	if s.fhir != nil {
		s.fhir.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
	if s.pg != nil {
		if err := s.pg.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("private PostgreSQL: %w", err))
		}
	}
	return errors.Join(errs...)
}
