#!/bin/sh
# iis-backup.sh — the backup and restore procedure of iis (docs/backup-restore.md).
#
# PostgreSQL: pgBackRest (full/differential backups + continuous WAL
# archiving, point-in-time recovery). JetStream: `nats backup stream`
# snapshots of the ingest stream and its consumers. The two meet at restore
# points: `restore-point` reads how far the registry worker has
# acknowledged the stream (consumer ack floor F: every message up to F is
# committed in PostgreSQL) and records a named PostgreSQL restore point
# carrying F. After restoring the registry to that point, `iisd replay -from
# F+1` applies the stream again from there; messages the registry already
# holds are recognised by their source identity and skipped.
#
# Environment (every step reads what it needs):
#   PGBACKREST_CONFIG  pgBackRest configuration (default /etc/pgbackrest/pgbackrest.conf)
#   IIS_STANZA         pgBackRest stanza of the registry cluster (default iis)
#   IIS_PG_OS_USER     run pgBackRest as this account when invoked as root (default: postgres if it exists)
#   DATABASE_URL       the registry's PostgreSQL, for restore points
#   NATS_URL           the NATS servers (the nats CLI reads it)
#   IIS_STREAM         ingest stream (default IIS_INGEST); IIS_CONSUMER its worker consumer (default registry)
#   IIS_DEAD_STREAM    dead-letter stream, backed up with it (default IIS_DEAD)
#   IIS_RESTORE_REPLICAS  restore-stream: replicas of the restored streams (default: as backed up)
#   IIS_BACKUP_DIR     where stream backups and the restore-point catalog go (keep it off the machine)
#   NATS_CLI, PGBACKREST, PSQL  the programs (default: from PATH)
#
# Steps:
#   setup                          create the stanza and check that WAL archiving works
#   backup [full|diff|incr]        PostgreSQL base backup (default incr; full when none exists)
#   restore-point                  record a named restore point carrying the worker's ack floor
#   stream-backup                  snapshot the ingest and dead-letter streams and their consumers
#                                  into IIS_BACKUP_DIR/stream/<time>/<stream>
#   restore-pg DIR name NAME | time 'YYYY-MM-DD HH:MM:SS+00' | latest
#                                  restore the registry cluster into the empty directory DIR
#   restore-stream BACKUPDIR       restore both streams (and their consumers) into a NATS without them
#   replay-from name NAME | time T | latest
#                                  print the stream sequence `iisd replay -from` must start at
#   info                           pgBackRest's backups and the recorded restore points
set -eu

STANZA=${IIS_STANZA:-iis}
STREAM=${IIS_STREAM:-IIS_INGEST}
DEAD_STREAM=${IIS_DEAD_STREAM:-IIS_DEAD}
CONSUMER=${IIS_CONSUMER:-registry}
NATS_CLI=${NATS_CLI:-nats}
PGBACKREST=${PGBACKREST:-pgbackrest}
PSQL=${PSQL:-psql}

die() { echo "iis-backup: $*" >&2; exit 1; }

# pgbr runs pgBackRest as the account that owns the cluster. The
# configuration is named on the command line, so that the restore_command
# pgBackRest writes into a restored cluster names it too.
pgbr() {
	os_user=${IIS_PG_OS_USER:-}
	if [ -z "$os_user" ] && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then os_user=postgres; fi
	if [ -n "$os_user" ] && [ "$(id -un)" != "$os_user" ]; then
		runuser -u "$os_user" -- "$PGBACKREST" ${PGBACKREST_CONFIG:+--config="$PGBACKREST_CONFIG"} --stanza="$STANZA" "$@"
	else
		"$PGBACKREST" ${PGBACKREST_CONFIG:+--config="$PGBACKREST_CONFIG"} --stanza="$STANZA" "$@"
	fi
}

backup_dir() {
	[ -n "${IIS_BACKUP_DIR:-}" ] || die "IIS_BACKUP_DIR is not set"
	mkdir -p "$IIS_BACKUP_DIR"
	echo "$IIS_BACKUP_DIR"
}

catalog() { echo "$(backup_dir)/restore-points.tsv"; }

# ack_floor prints the stream sequence up to which the registry consumer has
# acknowledged every message (each one committed in PostgreSQL first).
ack_floor() {
	"$NATS_CLI" consumer info "$STREAM" "$CONSUMER" --json |
		sed -n '/"ack_floor"/,/}/p' | sed -n 's/.*"stream_seq": *\([0-9][0-9]*\).*/\1/p' | head -n 1
}

restore_point() {
	[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set"
	floor=$(ack_floor)
	if [ -z "$floor" ]; then
		# Unknown (NATS unreachable, e.g. iisd's embedded server): the
		# point then carries 0, and a replay after it takes the whole stream.
		echo "iis-backup: WARNING: no ack floor from consumer $CONSUMER of $STREAM; the restore point carries 0 (replay the whole stream)" >&2
		floor=0
	fi
	name="iis-$(date -u +%Y%m%dT%H%M%SZ)-seq-$floor"
	# The ack floor is read first: every message up to it was committed
	# before the restore point's WAL record, hence is in a registry
	# restored to it. The time is PostgreSQL's clock, after the record.
	at=$("$PSQL" "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atq -c "SELECT pg_create_restore_point('$name')" -c "SELECT pg_switch_wal()" -c "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')" | tail -n 1)
	printf '%s\t%s\t%s\n' "$name" "$at" "$floor" >>"$(catalog)"
	echo "$name"
}

# replay_from prints the first stream sequence to apply after restoring to
# the given target: one past the ack floor recorded with the restore point
# (for a time: the last restore point recorded at or before it).
replay_from() {
	kind=${1:-}
	case "$kind" in
	name)
		floor=$(echo "${2:?restore point name}" | sed -n 's/^iis-.*-seq-\([0-9][0-9]*\)$/\1/p')
		[ -n "$floor" ] || die "restore point $2 does not carry a stream sequence (iis-<time>-seq-<n>)"
		;;
	time)
		target=${2:?target time}
		floor=$(awk -F '\t' -v t="$target" '$2 <= t { f = $3 } END { print f }' "$(catalog)" 2>/dev/null || true)
		;;
	latest)
		floor=$(tail -n 1 "$(catalog)" 2>/dev/null | cut -f 3)
		;;
	*) die "replay-from: name NAME | time T | latest" ;;
	esac
	# No restore point before the target: replay the whole stream.
	echo $((${floor:-0} + 1))
}

restore_pg() {
	dir=${1:?target data directory}
	kind=${2:?name, time or latest}
	[ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
	value=${3:-}
	case "$kind" in
	name | time) [ -n "$value" ] || die "restore-pg DIR $kind: the target is missing" ;;
	latest) ;;
	*) die "restore-pg DIR name NAME | time T | latest" ;;
	esac
	mkdir -p "$dir"
	chmod 700 "$dir"
	if [ "$(id -u)" = 0 ] && id "${IIS_PG_OS_USER:-postgres}" >/dev/null 2>&1; then chown "${IIS_PG_OS_USER:-postgres}:" "$dir"; fi
	if [ "$kind" = latest ]; then
		pgbr restore --pg1-path="$dir" --archive-mode=off
	else
		pgbr restore --pg1-path="$dir" --type="$kind" --target="$value" --target-action=promote --archive-mode=off
	fi
	echo "restored into $dir; start it, then: iisd replay -from $(replay_from "$kind" "$value")"
}

case "${1:-}" in
setup)
	pgbr stanza-create
	pgbr check
	;;
backup)
	pgbr backup --type="${2:-incr}"
	;;
restore-point)
	restore_point
	;;
stream-backup)
	out="$(backup_dir)/stream/$(date -u +%Y%m%dT%H%M%SZ)"
	mkdir -p "$out"
	for s in "$STREAM" "$DEAD_STREAM"; do
		"$NATS_CLI" backup stream "$s" "$out/$s" --consumers --no-progress
	done
	echo "$out"
	;;
restore-stream)
	in=${2:?stream backup directory}
	for s in "$STREAM" "$DEAD_STREAM"; do
		# shellcheck disable=SC2086 # IIS_RESTORE_REPLICAS: --replicas=N or nothing
		"$NATS_CLI" backup restore stream "$in/$s" --no-progress ${IIS_RESTORE_REPLICAS:+--replicas="$IIS_RESTORE_REPLICAS"}
	done
	;;
restore-pg)
	shift
	restore_pg "$@"
	;;
replay-from)
	shift
	replay_from "$@"
	;;
info)
	pgbr info
	[ -z "${IIS_BACKUP_DIR:-}" ] || cat "$(catalog)" 2>/dev/null || true
	;;
*)
	sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 2
	;;
esac
