# iis — see README.md. The two commands that matter: `make run` and `make test`.
GO        ?= go
GOFLAGS   ?=
PKGS      ?= ./...
BENCHTIME ?= 2s

.PHONY: all build test bench fuzz run eval-matching cdsi-check vet fmt chaos restore-drill

# The development configuration: embedded JetStream under ./var, the
# registry in PostgreSQL from DATABASE_URL or a private cluster under
# ./var/postgres, MLLP on 127.0.0.1:2575, HTTP (SOAP, /metrics, health) on
# 127.0.0.1:8080, and a SOAP account demo/demo. Override with IIS_*
# variables or RUNFLAGS.
RUNCONFIG ?= deploy/iisd.dev.json
RUNFLAGS  ?=

all: build

build:
	$(GO) build $(GOFLAGS) ./...

run:
	@deploy/dev/ensure-postgres.sh
	$(GO) build $(GOFLAGS) -o bin/iisd ./cmd/iisd
	./bin/iisd -config $(RUNCONFIG) $(RUNFLAGS)

# Test artifacts (the console's browser screenshots) land under ARTIFACTS.
ARTIFACTS ?= $(CURDIR)/var/test-artifacts
test:
	@deploy/dev/services.sh
	@deploy/dev/ensure-chromium.sh
	@deploy/dev/ensure-fhir-kit-client.sh
	@deploy/dev/ensure-poppler.sh
	@mkdir -p $(ARTIFACTS)
	$(GO) vet $(PKGS)
	$(GO) test $(GOFLAGS) -count=1 -timeout 20m -artifacts -outputdir $(ARTIFACTS) $(PKGS)

# Benchmarks: every package's go test -bench with comparison tables; the
# end-to-end, worker and query benchmarks set up servers and databases, so
# they run a fixed number of operations each.
bench:
	$(GO) test $(GOFLAGS) -run '^$$' -bench . -skip 'EndToEnd|Worker|QueryZ44|MessageBrowser|ImmunizationHome' -benchmem -benchtime $(BENCHTIME) $(PKGS) | $(GO) run ./cmd/benchtable
	$(GO) test $(GOFLAGS) -run '^$$' -bench EndToEnd -benchtime 20000x ./cmd/iisd | $(GO) run ./cmd/benchtable
	deploy/dev/bench-e2e.sh
	$(GO) test $(GOFLAGS) -run '^$$' -bench Worker -benchtime 3000x ./worker
	$(GO) test $(GOFLAGS) -run '^$$' -bench QueryZ44 -benchtime 10000x -timeout 30m ./query
	$(GO) test $(GOFLAGS) -run '^$$' -bench MessageBrowser -benchtime 20x -timeout 30m ./console
	$(GO) test $(GOFLAGS) -run '^$$' -bench ImmunizationHome -benchtime 1000x -timeout 30m ./home

# Fuzz every target for FUZZTIME each.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Patient matching evaluation on AIRA's labelled pairs (any files in that format: make eval-matching FILES="a.txt b.txt").
FILES ?= testdata/matching/*.txt
eval-matching:
	$(GO) run ./cmd/matcheval $(FILES)

# Run a CDSi test-case file through the forecaster (make cdsi-check CASES=path.json).
CASES ?= testdata/cdsi/testcases/healthy-v4.45.json
cdsi-check:
	$(GO) run ./cmd/cdsi check $(CASES)

# Crash tests: kill -9 listeners and workers, restart PostgreSQL and NATS
# under load, then reconcile what got AA against the registry. Uses its own
# private PostgreSQL and NATS servers, never the machine's.
CHAOSFLAGS ?=
chaos:
	$(GO) run ./cmd/chaos $(CHAOSFLAGS)

# Backup and restore drill (docs/backup-restore.md): a private PostgreSQL
# archiving its WAL with pgBackRest, NATS and iisd under var/drill; traffic,
# a base backup, a restore point, a stream snapshot; then a restore of both
# into fresh servers, iisd replay, and the reconciliation of every AA.
DRILLFLAGS ?=
restore-drill:
	@deploy/dev/ensure-backup-tools.sh
	$(GO) run ./cmd/chaos -restore-drill $(DRILLFLAGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')
