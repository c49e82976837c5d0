#!/bin/sh
# Installs what the backup procedure and `make restore-drill` use, when
# missing: pgBackRest (Debian package) and the nats CLI (natscli, from the
# Go module proxy, into $(go env GOPATH)/bin).
set -eu
if ! command -v pgbackrest >/dev/null 2>&1; then
	echo "installing pgbackrest (apt-get)" >&2
	apt-get install -y pgbackrest >/dev/null
fi
gobin="$(${GO:-go} env GOPATH)/bin"
if ! command -v nats >/dev/null 2>&1 && [ ! -x "$gobin/nats" ]; then
	echo "installing the nats CLI (go install github.com/nats-io/natscli/nats@v0.5.0)" >&2
	GOFLAGS= ${GO:-go} install github.com/nats-io/natscli/nats@v0.5.0
fi
