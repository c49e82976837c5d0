#!/usr/bin/env bash
# Compare two iisd builds (or two settings of one) under the same load, the
# way bench-e2e.sh measures one: each round sends hl7send -synth N -c C to
# build A, to a bare MLLP server and to build B in turn (new traffic each
# time), and prints each one's msgs/s and CPU per message (the server's
# process CPU time over the run, from /proc) and the ratios to the bare
# server. On a shared machine the rounds vary by ±15%: compare A and B
# within rounds, over many.
#
#   deploy/dev/bench-ab.sh ROUNDS BIN_A "ENV_A" BIN_B "ENV_B"
#   e.g. deploy/dev/bench-ab.sh 8 /tmp/iisd.old "" bin/iisd "IIS_QUEUE_COALESCE_WAIT=-1ns"
#
# Settings (environment): AB_MESSAGES (40000), AB_CONNS (32), AB_PORT
# (first of five loopback ports, 25575), DATABASE_URL (required: the
# listeners read facility settings from it).
set -euo pipefail
[ $# -eq 5 ] || { sed -n 2,14p "$0" >&2; exit 2; }
cd "$(dirname "$0")/../.."
ROUNDS=$1 BIN_A=$2 ENV_A=$3 BIN_B=$4 ENV_B=$5
N=${AB_MESSAGES:-40000}
C=${AB_CONNS:-32}
PORT=${AB_PORT:-25575}
: "${DATABASE_URL:?set DATABASE_URL}"
go build -o bin/hl7send ./cmd/hl7send
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME BIN ENV MLLP HTTP
start() {
  # shellcheck disable=SC2086 # ENV is a list of NAME=value words
  env $3 "$2" -mode listener -data-dir "$work/$1" -mllp-addr "127.0.0.1:$4" -http-addr "127.0.0.1:$5" \
    -database-url "$DATABASE_URL" >"$work/$1.log" 2>&1 &
  pids+=($!)
  for i in $(seq 1 150); do
    curl -fs "http://127.0.0.1:$5/readyz" >/dev/null 2>&1 && return
    [ "$i" = 150 ] && { echo "bench-ab: $1 did not start" >&2; cat "$work/$1.log" >&2; exit 1; }
    sleep 0.2
  done
}
start a "$BIN_A" "$ENV_A" "$PORT" $((PORT + 1))
pid_a=${pids[-1]}
start b "$BIN_B" "$ENV_B" $((PORT + 2)) $((PORT + 3))
pid_b=${pids[-1]}
./bin/hl7send -bare "127.0.0.1:$((PORT + 4))" >"$work/bare.log" 2>&1 &
pids+=($!)
pid_bare=$!
sleep 0.5

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# run PORT PID SEED: prints "msgs/s cpu-µs/msg" of one hl7send run.
run() {
  local t0 t1 mps
  t0=$(ticks "$2")
  mps=$(./bin/hl7send -mllp "127.0.0.1:$1" -q -synth "$N" -seed "$3" -c "$C" 2>&1 | sed -n 's/.*: \([0-9]*\) msgs\/s.*/\1/p')
  t1=$(ticks "$2")
  echo "$mps $(awk -v t="$((t1 - t0))" -v n="$N" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", t * 1e6 / hz / n}')"
}
printf '%-6s %-22s %-22s %-22s %s\n' round "A msgs/s (cpu-µs/msg)" "bare" "B" "A/bare B/bare"
seed=5000
for r in $(seq 1 "$ROUNDS"); do
  seed=$((seed + 1)); read -r am ac <<<"$(run "$PORT" "$pid_a" "$seed")"
  seed=$((seed + 1)); read -r bm bc <<<"$(run $((PORT + 4)) "$pid_bare" "$seed")"
  seed=$((seed + 1)); read -r cm cc <<<"$(run $((PORT + 2)) "$pid_b" "$seed")"
  printf '%-6s %-22s %-22s %-22s %s%% %s%%\n' "$r" "$am ($ac)" "$bm ($bc)" "$cm ($cc)" "$((100 * am / bm))" "$((100 * cm / bm))"
done
for side in "A $((PORT + 1))" "B $((PORT + 3))"; do
  set -- $side
  curl -fs "http://127.0.0.1:$2/metrics" | awk -v s="$1" '
    /^iis_queue_envelope_messages_sum /{m=$2} /^iis_queue_envelope_messages_count /{e=$2} /^iis_queue_publish_seconds_count /{p=$2}
    END{printf "%s: %d messages published, %d in %d envelopes (%.1f each)\n", s, p, m, e, (e ? m/e : 0)}'
done
