#!/usr/bin/env bash
# Ingest measured the way an integration engineer would: hl7send against a
# running iisd listener (parse, validate, durable publish to the embedded
# JetStream, then the ACK) and, in the same run, against a bare MLLP server
# that answers a fixed ACK without parsing or queueing (hl7send -bare): the
# ceiling of this machine. Rounds alternate between the two, each with new
# synthetic traffic (a repeated seed would be all resends).
#
# A warm-up run against each server comes first and is not counted: a new
# iisd still grows its heap, its duplicate-id memory and its stream files.
# The last line gives the median of the rounds' ratios.
#
# Settings (environment): E2E_MESSAGES (60000 per run), E2E_CONNS (32),
# E2E_ROUNDS (3), E2E_WARMUP (messages of the warm-up runs, 20000; 0:
# none), E2E_HALF_RATE (messages/s of the steady run; default: half the
# first iisd run's rate), DATABASE_URL (iisd's registry, read for
# facility settings; default: a private cluster under a temporary data
# directory, as make run), E2E_PORT (first of three loopback ports, default
# 24575).
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
N=${E2E_MESSAGES:-60000}
C=${E2E_CONNS:-32}
ROUNDS=${E2E_ROUNDS:-3}
WARMUP=${E2E_WARMUP:-20000}
PORT=${E2E_PORT:-24575}
IISD_MLLP=127.0.0.1:$PORT
BARE=127.0.0.1:$((PORT + 1))
HTTP=127.0.0.1:$((PORT + 2))

$GO build -o bin/iisd ./cmd/iisd
$GO build -o bin/hl7send ./cmd/hl7send
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -n "${DATABASE_URL:-}" ] || deploy/dev/ensure-postgres.sh
chmod 755 "$work"
./bin/iisd -mode listener -data-dir "$work/iisd" -mllp-addr "$IISD_MLLP" -http-addr "$HTTP" >"$work/iisd.log" 2>&1 &
pids+=($!)
./bin/hl7send -bare "$BARE" >"$work/bare.log" 2>&1 &
pids+=($!)
for i in $(seq 1 300); do
  if curl -fs "http://$HTTP/readyz" >/dev/null 2>&1 && grep -q "bare MLLP server" "$work/bare.log"; then
    break
  fi
  if [ "$i" = 300 ]; then
    echo "bench-e2e: iisd or the bare server did not start" >&2
    cat "$work/iisd.log" "$work/bare.log" >&2
    exit 1
  fi
  sleep 0.2
done

# send ADDR SEED [RATE [MESSAGES]]: prints "msgs/s p50 p99" of one hl7send
# run.
send() {
  local rate=()
  [ -n "${3:-}" ] && rate=(-rate "$3")
  ./bin/hl7send -mllp "$1" -q -synth "${4:-$N}" -seed "$2" -c "$C" "${rate[@]}" >"$work/run.txt" 2>&1 || true
  local mps p50 p99
  mps=$(sed -n 's/.*: \([0-9]*\) msgs\/s.*/\1/p' "$work/run.txt")
  p50=$(sed -n 's/.*p50 \([^ ]*\).*/\1/p' "$work/run.txt")
  p99=$(sed -n 's/.*p99 \([^ ]*\).*/\1/p' "$work/run.txt")
  if [ -z "$mps" ]; then
    echo "bench-e2e: hl7send failed:" >&2
    cat "$work/run.txt" >&2
    exit 1
  fi
  echo "$mps $p50 $p99"
}

echo "hl7send -synth $N -c $C against iisd (listener: validate + durable queue) and a bare MLLP server, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-6s %-32s %-32s %s\n' round "iisd msgs/s (ACK p50, p99)" "bare msgs/s (ACK p50, p99)" "iisd/bare"
first=""
seed=1000
if [ "$WARMUP" -gt 0 ]; then
  read -r wi _ <<<"$(send "$IISD_MLLP" 900 "" "$WARMUP")"
  read -r wb _ <<<"$(send "$BARE" 901 "" "$WARMUP")"
  printf '%-6s %-32s %-32s %s\n' warmup "$wi" "$wb" "(not counted)"
fi
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  seed=$((seed + 1)); read -r im ip50 ip99 <<<"$(send "$IISD_MLLP" "$seed")"
  seed=$((seed + 1)); read -r bm bp50 bp99 <<<"$(send "$BARE" "$seed")"
  [ -z "$first" ] && first=$im
  printf '%-6s %-32s %-32s %s%%\n' "$r" "$im ($ip50, $ip99)" "$bm ($bp50, $bp99)" "$((100 * im / bm))"
  ratios+=("$((100 * im / bm))")
done
mapfile -t sorted < <(printf '%s\n' "${ratios[@]}" | sort -n)
median=$((ROUNDS % 2 ? sorted[ROUNDS / 2] : (sorted[ROUNDS / 2 - 1] + sorted[ROUNDS / 2]) / 2))
echo "iisd/bare: median $median% of $ROUNDS rounds, lowest ${sorted[0]}%, highest ${sorted[-1]}%"
half=${E2E_HALF_RATE:-$((first / 2))}
seed=$((seed + 1)); read -r hm hp50 hp99 <<<"$(send "$IISD_MLLP" "$seed" "$half")"
echo "iisd at a steady $half msgs/s: $hm msgs/s, ACK p50 $hp50, p99 $hp99"
