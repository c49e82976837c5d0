package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/iisproject/iis/reports"
	"os"
	"strings"
	"time"
)

// Config is iisd's configuration. Sources, later ones winning: defaults, the
// JSON file named by -config (or IIS_CONFIG), environment variables IIS_*,
// then flags.
type Config struct {
	DataDir  string `json:"data_dir"`  // IIS_DATA_DIR, -data-dir
	LogLevel string `json:"log_level"` // IIS_LOG_LEVEL, -log-level: debug, info, warn, error
	// Mode is what this process runs: "all" (listeners and the registry
	// worker), "listener" or "worker" — to scale them out separately.
	Mode string `json:"mode"`

	// DatabaseURL is the registry's PostgreSQL (DATABASE_URL or
	// IIS_DATABASE_URL). Empty: a private cluster under the data directory.
	DatabaseURL       string `json:"database_url"`
	WorkerBatch       int    `json:"worker_batch"`
	WorkerConcurrency int    `json:"worker_concurrency"`
	// InventoryOff stops the worker drawing administered doses on the
	// clinics' vaccine inventory (docs/inventory.md); the pages stay.
	InventoryOff bool `json:"inventory_off"`
	// QueryFacilities may query (QBP) once the transport authenticated
	// them (SOAP login, client certificate); "*" allows any authenticated
	// sender.
	QueryFacilities []string `json:"query_facilities"`
	// QueryAllowUnauthenticated lets senders nobody authenticated (plain
	// MLLP) query by the MSH-4 they claim, if QueryFacilities lists it or
	// holds "*": anyone who reaches the listener can read any record. For
	// closed test set-ups only; iisd warns at every start with it.
	QueryAllowUnauthenticated bool `json:"query_allow_unauthenticated"`
	// FHIR serves the FHIR R4 API under /fhir/ (cmd/iisd/fhir.go).
	FHIR bool `json:"fhir"`

	MLLPAddr           string        `json:"mllp_addr"` // IIS_MLLP_ADDR, -mllp-addr ("" disables)
	MLLPTLSCert        string        `json:"mllp_tls_cert"`
	MLLPTLSKey         string        `json:"mllp_tls_key"`
	MLLPClientCA       string        `json:"mllp_client_ca"` // PEM CAs: client certificates required (mutual TLS)
	MLLPMaxMessageSize int           `json:"mllp_max_message_size"`
	MLLPMaxConnections int           `json:"mllp_max_connections"`
	MLLPReadTimeout    time.Duration `json:"mllp_read_timeout"`
	MLLPIdleTimeout    time.Duration `json:"mllp_idle_timeout"`

	HTTPAddr    string `json:"http_addr"` // IIS_HTTP_ADDR, -http-addr: SOAP, metrics, health
	HTTPTLSCert string `json:"http_tls_cert"`
	HTTPTLSKey  string `json:"http_tls_key"`
	SOAPMaxSize int64  `json:"soap_max_message_size"`

	NATSURL            string        `json:"nats_url"` // IIS_NATS_URL, -nats-url: "" runs the embedded server
	QueueSyncAlways    bool          `json:"queue_sync_always"`
	QueueReplicas      int           `json:"queue_replicas"`
	QueuePublishTimout time.Duration `json:"queue_publish_timeout"`
	QueueDupWindow     time.Duration `json:"queue_duplicate_window"`
	QueueStream        string        `json:"queue_stream"`
	QueueCoalesce      int           `json:"queue_coalesce"`
	QueueCoalesceWait  time.Duration `json:"queue_coalesce_wait"`

	// CDSIDir is a directory of CDC CDSi supporting-data files
	// (ScheduleSupportingData.xml, AntigenSupportingData- *.xml) the
	// forecaster loads instead of the release embedded in the binary.
	CDSIDir string `json:"cdsi_dir"` // IIS_CDSI_DIR, -cdsi-dir

	Pprof bool `json:"pprof"` // IIS_PPROF, -pprof: serve Go's profiler at /debug/pprof/ on the HTTP address

	// SMART Health Cards on immunization certificates: the directory of
	// the signing keys, which must hold at least one private key (empty:
	// <data_dir>/shc-keys, where a development key is generated when there
	// is none; see certificate/README.md) and the issuer URL whose
	// /.well-known/jwks.json serves them (empty: the HTTP address).
	SHCKeyDir string `json:"shc_key_dir"` // IIS_SHC_KEY_DIR, -shc-key-dir
	SHCIssuer string `json:"shc_issuer"`  // IIS_SHC_ISSUER, -shc-issuer

	ProcessingIDs []string `json:"processing_ids"` // accepted MSH-11 values
	WarningsAsAE  bool     `json:"warnings_as_ae"` // AE rather than AA for warnings-only messages
	Application   string   `json:"application"`    // this IIS's MSH-3 when the sender left MSH-5 empty
	Facility      string   `json:"facility"`       // this IIS's MSH-4 when the sender left MSH-6 empty

	// SOAPAccounts are the facilities that may submit over SOAP, with
	// bcrypt or argon2id password hashes (make one with `iisd hash-password`).
	SOAPAccounts []SOAPAccount `json:"soap_accounts"`

	// ConsoleUsers (deprecated) are imported at start as accounts of the
	// state program, password hashes kept, unless the username exists:
	// viewer and engineer as integration engineers, admin as a program
	// administrator. They sign in on the people's pages like everyone.
	ConsoleUsers []ConsoleUser `json:"console_users"`

	// Accounts seeds the people's pages at / (file only): the state
	// program, its first administrator, clinics and schools.
	Accounts AccountsConfig `json:"accounts"`
	// PublicURL is the people's pages' address in links sent by mail
	// (empty: the address the request that sends it came to).
	PublicURL string `json:"public_url"`
	// ReportSchedules are the population reports iisd runs on a schedule
	// (once per slot across replicas; see package reports), e.g.
	// [{"name": "afix-monthly", "kind": "coverage", "day": 1, "hour": 2,
	// "params": {"cohort": "afix"}}]: the statewide AFIX coverage on the
	// 1st of each month at 02:00 UTC. None by default.
	ReportSchedules    []reports.Schedule `json:"report_schedules"`
	SessionIdleTimeout time.Duration      `json:"session_idle_timeout"` // people's pages: sign out after this long unused
	// TrustedProxies are reverse proxies (addresses or CIDR prefixes) whose
	// X-Forwarded-For names the client, for the sign-in throttle and audit.
	TrustedProxies []string `json:"trusted_proxies"`
	// SMTP delivers the outbox (set-password links, denials, resets);
	// without a host the messages wait in the outbox, readable by program
	// administrators.
	SMTPHost     string `json:"smtp_host"`
	SMTPPort     int    `json:"smtp_port"`
	SMTPFrom     string `json:"smtp_from"`
	SMTPUser     string `json:"smtp_user"`
	SMTPPassword string `json:"smtp_password"` // better given as IIS_SMTP_PASSWORD

	// FHIR Bulk Data (cmd/iisd/bulk.go): SMART Backend Services tokens
	// at /auth/token, Groups and Group-level $export under /fhir/.
	FHIRBulk      bool          `json:"fhir_bulk"`       // IIS_FHIR_BULK, -fhir-bulk
	SMARTTokenTTL time.Duration `json:"smart_token_ttl"` // life of an access token (default 5m)
	BulkFileTTL   time.Duration `json:"bulk_file_ttl"`   // how long an export's files are kept (default 1h)

	// MessageStore partitions and prunes the raw message store (see msgstore.go).
	MessageStore MessageStoreConfig `json:"message_store"`
}

// AccountsConfig is what a fresh registry's people's pages start with;
// entries that exist are left alone.
type AccountsConfig struct {
	Program       string              `json:"program"` // the state immunization program's name
	Admin         *BootstrapAdmin     `json:"admin"`   // its first program administrator
	Organizations []OrganizationEntry `json:"organizations"`
}

// BootstrapAdmin is the first program administrator.
type BootstrapAdmin struct {
	Username     string `json:"username"`
	PasswordHash string `json:"password_hash"` // bcrypt or argon2id (iisd hash-password)
	FullName     string `json:"full_name"`
	Email        string `json:"email"`
}

// OrganizationEntry is a clinic or school known from the start.
type OrganizationEntry struct {
	Kind       string `json:"kind"` // clinic or school
	Name       string `json:"name"`
	Town       string `json:"town"`
	FacilityID string `json:"facility_id"` // a clinic's MSH-4 / SOAP facility / certificate CN
}

// ConsoleUser is one console login (deprecated; see Config.ConsoleUsers).
type ConsoleUser struct {
	Username     string `json:"username"`
	PasswordHash string `json:"password_hash"` // bcrypt or argon2id (iisd hash-password)
	Role         string `json:"role"`          // viewer, engineer or admin
}

// SOAPAccount is one SOAP login.
type SOAPAccount struct {
	Username     string   `json:"username"`
	PasswordHash string   `json:"password_hash"`
	Facilities   []string `json:"facilities"` // facility IDs the account may submit for
}

func defaultConfig() Config {
	return Config{
		DataDir:            "./var",
		LogLevel:           "info",
		MLLPAddr:           "127.0.0.1:2575",
		MLLPMaxMessageSize: 4 << 20,
		MLLPMaxConnections: 2000,
		MLLPReadTimeout:    30 * time.Second,
		MLLPIdleTimeout:    10 * time.Minute,
		HTTPAddr:           "127.0.0.1:8080",
		SOAPMaxSize:        4 << 20,
		QueueReplicas:      1,
		QueuePublishTimout: 2 * time.Second,
		QueueDupWindow:     2 * time.Minute,
		ProcessingIDs:      []string{"P", "T"},
		Application:        "IIS",
		Mode:               "all",
		WorkerBatch:        200,
		WorkerConcurrency:  4,
		SessionIdleTimeout: 30 * time.Minute,
		SMTPPort:           587,
		SMARTTokenTTL:      5 * time.Minute,
		BulkFileTTL:        time.Hour,
	}
}

// loadConfig builds the configuration from args and the environment.
func loadConfig(args []string, getenv func(string) string) (Config, *flag.FlagSet, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("iisd", flag.ContinueOnError)
	file := fs.String("config", getenv("IIS_CONFIG"), "JSON configuration file (env IIS_CONFIG)")
	// First pass: find -config so the file sits under env and flags.
	var pre Config
	bind(fs, &pre)
	if err := fs.Parse(args); err != nil {
		return cfg, fs, err
	}
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return cfg, fs, fmt.Errorf("config file: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return cfg, fs, fmt.Errorf("config file %s: %w", *file, err)
		}
	}
	if v := getenv("DATABASE_URL"); v != "" {
		cfg.DatabaseURL = v
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, fs, err
	}
	// Second pass: flags over everything.
	fs2 := flag.NewFlagSet("iisd", flag.ContinueOnError)
	fs2.String("config", "", "")
	bind(fs2, &cfg)
	if err := fs2.Parse(args); err != nil {
		return cfg, fs, err
	}
	switch cfg.Mode {
	case "all", "listener", "worker":
	default:
		return cfg, fs, fmt.Errorf("mode %q: use all, listener or worker", cfg.Mode)
	}
	if cfg.SMTPHost != "" && cfg.SMTPFrom == "" {
		return cfg, fs, errors.New("smtp-host needs smtp-from, the sender address")
	}
	if cfg.MLLPTLSCert != "" && cfg.MLLPTLSKey == "" || cfg.HTTPTLSCert != "" && cfg.HTTPTLSKey == "" {
		return cfg, fs, errors.New("a TLS certificate needs its key")
	}
	return cfg, fs, nil
}

func bind(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the embedded queue and other state (env IIS_DATA_DIR)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (env IIS_LOG_LEVEL)")
	fs.StringVar(&c.Mode, "mode", c.Mode, "all, listener or worker (env IIS_MODE)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "registry PostgreSQL URL; empty starts a private cluster under the data directory (env DATABASE_URL or IIS_DATABASE_URL)")
	fs.IntVar(&c.WorkerBatch, "worker-batch", c.WorkerBatch, "messages the registry worker commits together (env IIS_WORKER_BATCH)")
	fs.IntVar(&c.WorkerConcurrency, "worker-concurrency", c.WorkerConcurrency, "parallel transactions per batch (env IIS_WORKER_CONCURRENCY)")
	fs.Func("query-facilities", "facilities allowed to query once authenticated (SOAP login, client certificate), comma-separated; * for any authenticated one (env IIS_QUERY_FACILITIES)", func(s string) error {
		c.QueryFacilities = splitList(s)
		return nil
	})
	fs.BoolVar(&c.QueryAllowUnauthenticated, "query-allow-unauthenticated", c.QueryAllowUnauthenticated, "UNSAFE: let senders nobody authenticated (plain MLLP) query by the MSH-4 they claim; for closed test set-ups only (env IIS_QUERY_ALLOW_UNAUTHENTICATED)")
	fs.StringVar(&c.MLLPAddr, "mllp-addr", c.MLLPAddr, "MLLP listen address; empty disables (env IIS_MLLP_ADDR)")
	fs.StringVar(&c.MLLPTLSCert, "mllp-tls-cert", c.MLLPTLSCert, "PEM certificate for MLLP over TLS (env IIS_MLLP_TLS_CERT)")
	fs.StringVar(&c.MLLPTLSKey, "mllp-tls-key", c.MLLPTLSKey, "PEM key for MLLP over TLS (env IIS_MLLP_TLS_KEY)")
	fs.StringVar(&c.MLLPClientCA, "mllp-client-ca", c.MLLPClientCA, "PEM CA bundle: require client certificates it signed (env IIS_MLLP_CLIENT_CA)")
	fs.IntVar(&c.MLLPMaxMessageSize, "mllp-max-message-size", c.MLLPMaxMessageSize, "largest MLLP message in bytes (env IIS_MLLP_MAX_MESSAGE_SIZE)")
	fs.IntVar(&c.MLLPMaxConnections, "mllp-max-connections", c.MLLPMaxConnections, "most MLLP connections at once (env IIS_MLLP_MAX_CONNECTIONS)")
	fs.DurationVar(&c.MLLPReadTimeout, "mllp-read-timeout", c.MLLPReadTimeout, "time allowed to receive one message (env IIS_MLLP_READ_TIMEOUT)")
	fs.DurationVar(&c.MLLPIdleTimeout, "mllp-idle-timeout", c.MLLPIdleTimeout, "idle time before an MLLP connection is closed (env IIS_MLLP_IDLE_TIMEOUT)")
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "HTTP listen address for SOAP, /metrics and health; empty disables (env IIS_HTTP_ADDR)")
	fs.StringVar(&c.HTTPTLSCert, "http-tls-cert", c.HTTPTLSCert, "PEM certificate for HTTPS (env IIS_HTTP_TLS_CERT)")
	fs.StringVar(&c.HTTPTLSKey, "http-tls-key", c.HTTPTLSKey, "PEM key for HTTPS (env IIS_HTTP_TLS_KEY)")
	fs.Int64Var(&c.SOAPMaxSize, "soap-max-message-size", c.SOAPMaxSize, "largest SOAP request in bytes (env IIS_SOAP_MAX_MESSAGE_SIZE)")
	fs.StringVar(&c.NATSURL, "nats-url", c.NATSURL, "external NATS URL(s); empty runs an embedded JetStream (env IIS_NATS_URL)")
	fs.BoolVar(&c.QueueSyncAlways, "queue-sync-always", c.QueueSyncAlways, "embedded JetStream: fsync before acknowledging (env IIS_QUEUE_SYNC_ALWAYS)")
	fs.IntVar(&c.QueueReplicas, "queue-replicas", c.QueueReplicas, "stream replicas on a cluster (env IIS_QUEUE_REPLICAS)")
	fs.DurationVar(&c.QueuePublishTimout, "queue-publish-timeout", c.QueuePublishTimout, "longest wait for the queue before answering AR (env IIS_QUEUE_PUBLISH_TIMEOUT)")
	fs.DurationVar(&c.QueueDupWindow, "queue-duplicate-window", c.QueueDupWindow, "how long resends of one MSH-10 are recognised (env IIS_QUEUE_DUPLICATE_WINDOW)")
	fs.StringVar(&c.QueueStream, "queue-stream", c.QueueStream, "ingest stream name (env IIS_QUEUE_STREAM)")
	fs.StringVar(&c.CDSIDir, "cdsi-dir", c.CDSIDir, "directory of CDC CDSi supporting-data XML files for the forecaster; empty: the release embedded in the binary (env IIS_CDSI_DIR)")
	fs.BoolVar(&c.Pprof, "pprof", c.Pprof, "serve Go's profiler at /debug/pprof/ on the HTTP address (env IIS_PPROF)")
	fs.StringVar(&c.SHCKeyDir, "shc-key-dir", c.SHCKeyDir, "SMART Health Card signing keys (PEM or JWK files), at least one private; empty: <data-dir>/shc-keys with a generated development key (env IIS_SHC_KEY_DIR)")
	fs.StringVar(&c.SHCIssuer, "shc-issuer", c.SHCIssuer, "SMART Health Card issuer URL serving /.well-known/jwks.json; empty: the HTTP address (env IIS_SHC_ISSUER)")
	fs.IntVar(&c.QueueCoalesce, "queue-coalesce", c.QueueCoalesce, "most messages received at once stored in one JetStream message; 1: one each (env IIS_QUEUE_COALESCE; default 64)")
	fs.DurationVar(&c.QueueCoalesceWait, "queue-coalesce-wait", c.QueueCoalesceWait, "under steady traffic, how long a nearly empty envelope waits for more messages; negative: never (env IIS_QUEUE_COALESCE_WAIT; default 500µs)")
	fs.BoolVar(&c.WarningsAsAE, "warnings-as-ae", c.WarningsAsAE, "answer warnings-only messages AE instead of AA (env IIS_WARNINGS_AS_AE)")
	fs.StringVar(&c.Application, "application", c.Application, "this IIS's application name in ACK MSH-3 (env IIS_APPLICATION)")
	fs.StringVar(&c.Facility, "facility", c.Facility, "this IIS's facility in ACK MSH-4 (env IIS_FACILITY)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "address of the people's pages in mailed links, e.g. https://iis.example.org (env IIS_PUBLIC_URL)")
	fs.DurationVar(&c.SessionIdleTimeout, "session-idle-timeout", c.SessionIdleTimeout, "people's pages: sign out after this long unused (env IIS_SESSION_IDLE_TIMEOUT)")
	fs.Func("trusted-proxies", "reverse proxies (addresses, CIDR prefixes; comma-separated) whose X-Forwarded-For names the client (env IIS_TRUSTED_PROXIES)", func(s string) error {
		c.TrustedProxies = splitList(s)
		return nil
	})
	fs.StringVar(&c.SMTPHost, "smtp-host", c.SMTPHost, "mail server for the outbox; empty: messages wait in the outbox page (env IIS_SMTP_HOST)")
	fs.IntVar(&c.SMTPPort, "smtp-port", c.SMTPPort, "mail server port, STARTTLS when offered (env IIS_SMTP_PORT)")
	fs.StringVar(&c.SMTPFrom, "smtp-from", c.SMTPFrom, "sender address of mail to users (env IIS_SMTP_FROM)")
	fs.StringVar(&c.SMTPUser, "smtp-user", c.SMTPUser, "mail server username (env IIS_SMTP_USER; the password: IIS_SMTP_PASSWORD)")
	fs.StringVar(&c.SMTPPassword, "smtp-password", c.SMTPPassword, "mail server password; prefer the environment variable IIS_SMTP_PASSWORD")
	fs.BoolVar(&c.FHIRBulk, "fhir-bulk", c.FHIRBulk, "serve FHIR Bulk Data: SMART Backend Services tokens at /auth/token, Groups and $export under /fhir/ (env IIS_FHIR_BULK)")
	fs.DurationVar(&c.SMARTTokenTTL, "smart-token-ttl", c.SMARTTokenTTL, "life of a FHIR access token (env IIS_SMART_TOKEN_TTL)")
	fs.DurationVar(&c.BulkFileTTL, "bulk-file-ttl", c.BulkFileTTL, "how long a finished $export's files are kept (env IIS_BULK_FILE_TTL)")
	fs.Func("processing-ids", "accepted MSH-11 values, comma-separated (env IIS_PROCESSING_IDS)", func(s string) error {
		c.ProcessingIDs = splitList(s)
		return nil
	})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// applyEnv reads IIS_* variables named after the flags.
func applyEnv(c *Config, getenv func(string) string) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	bind(fs, c)
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "IIS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
			}
		}
	})
	return err
}
