#!/usr/bin/env bash
# The load run (docs/operations.md, "Load"): a big lot of 50 lanes (25 in, 25 out) on
# one controller (a lot's controllers do not share which vehicles are
# inside: a car must leave through a lane of the controller it entered
# by, and the simulator's cars leave by any exit), two lot-server instances sharing the gate
# events (share_group) over one PostgreSQL database, a private Mosquitto,
# and `sim run` replaying arrivals at 10 times the demo day's busiest hour
# on every lane, for 10 minutes. Prints decision p99 (controller), read to
# open p99 (simulator), ingest lag (gate event to committed, from the
# database), and the peak memory of every process.
#
#   bench/load.sh [MINUTES] [FACTOR]      (defaults 10 and 10)
#
# Needs: PostgreSQL on 127.0.0.1:5432 (PARKING_LOAD_DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/test, to create a database next to)
# and mosquitto on the PATH. Starts and stops only its own processes.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-10}
FACTOR=${2:-10}
ADMIN_URL=${PARKING_LOAD_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
DB=parking_load_$$
BASE_URL=${ADMIN_URL%/*}
WORK=$(mktemp -d /tmp/parking-load.XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$1$2" >/dev/null && return 0; sleep 0.1; done; echo "no answer on :$1$2" >&2; return 1; }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

echo "building (release)…"
cargo build --release --quiet -p lot-server -p controller -p sim
BIN=target/release

# The demo day: 5,000 visits, its busiest hour 8/95 of them over 2 entry
# lanes. Here every one of 25 entry lanes takes FACTOR times that hour's
# per-lane rate, for MINUTES; a flat day replayed at SPEED fits MINUTES.
read -r VISITS SPEED < <(python3 -c "
per_lane_hour = 5000 * 8 / 95 / 2
rate = per_lane_hour * $FACTOR * 25 / 3600          # arrivals per second
print(round(rate * $MINUTES * 60), round(86400 / ($MINUTES * 60), 3))")
echo "$VISITS arrivals over 25 entry lanes in $MINUTES min (a flat day at ${SPEED}x)"
# Every process on one simulated clock, so stays are as long in the lot's
# time as in the trace (and cost what the tariff says): it reaches the
# trace's midnight two minutes from now, when the fleet is registered.
DAY=2026-11-23
export PARKING_CLOCK="${DAY}T00:00:00+07:00@$(( $(date +%s) * 1000 + 120000 ))*$SPEED"

MQTT=$(free_port)
mkdir -p "$WORK/mosquitto"
printf 'listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_queued_messages 100000\n' "$MQTT" >"$WORK/mosquitto.conf"
mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
PIDS+=($!); MOSQUITTO=$!; disown
psql "$ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null

LOT="[lot]
id = \"hn-load-01\"
name = \"Load\"
zone = \"hanoi-zone-1\"
tariff_dir = \"$PWD/config/tariffs\"
[broker]
embedded = false
host = \"127.0.0.1\"
port = $MQTT
"
HMAC=load-sepay-hmac-secret
SERVER_PORTS=()
for n in 0 1; do
  port=$(free_port); SERVER_PORTS+=("$port")
  cat >"$WORK/server-$n.toml" <<EOF
$LOT[server]
listen = "127.0.0.1:$port"
node = "server-$n"
share_group = "lot-servers"
webhooks_per_second = 0
[database]
url = "$BASE_URL/$DB"
[settlement]
sepay_hmac_secret = "$HMAC"
[tax]
journal_key = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
[invoice]
drop_dir = "$WORK/invoices-$n"
EOF
done
TOKEN=$($BIN/lot-server token create --role admin --label load --config "$WORK/server-0.toml")
SERVER_PIDS=()
for n in 0 1; do
  RUST_LOG=warn $BIN/lot-server run --config "$WORK/server-$n.toml" 2>"$WORK/server-$n.log" &
  PIDS+=($!); SERVER_PIDS+=($!); disown
  wait_http "${SERVER_PORTS[$n]}" /health/ready
done

ENTRIES=(); EXITS=()
lanes=""
for l in $(seq 1 25); do
  g=$(printf '%02d' "$l")
  ENTRIES+=("\"entry-$g\""); EXITS+=("\"exit-$g\"")
  lanes+="[[lanes]]
gate = \"entry-$g\"
direction = \"entry\"
[[lanes]]
gate = \"exit-$g\"
direction = \"exit\"
"
done
CONTROLLER_PORT=$(free_port)
cat >"$WORK/controller-0.toml" <<EOF
$LOT[controller]
node = "ctl-0"
journal = "$WORK/journal-0.sqlite"
ticket_key = "load-ticket-key-0123456789abcdef"
metrics_listen = "127.0.0.1:$CONTROLLER_PORT"
[bank]
bin = "970403"
account = "0011012345678"
$lanes
EOF
RUST_LOG=warn $BIN/controller run --config "$WORK/controller-0.toml" 2>"$WORK/controller-0.log" &
PIDS+=($!); CONTROLLER=$!; disown
join() { local IFS=,; echo "$*"; }
cat >"$WORK/sim.toml" <<EOF
$LOT[sim]
server = "http://127.0.0.1:${SERVER_PORTS[0]}"
token = "$TOKEN"
sepay_hmac_secret = "$HMAC"
controllers = ["127.0.0.1:$CONTROLLER_PORT"]
setup_concurrency = 16
timeout_s = 60
[traffic]
day = $DAY
hourly = [$(join $(printf '1.0 %.0s' $(seq 1 24)))]
entry_gates = [$(join "${ENTRIES[@]}")]
exit_gates = [$(join "${EXITS[@]}")]
EOF

echo "replaying (setup first: registering the fleet through the API)…"
START=$(date +%s)
$BIN/sim run --config "$WORK/sim.toml" --visits "$VISITS" --speed "$SPEED" --seed 10 >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM=$!
# The peak resident memory of each process, read while they run.
declare -A PEAK
while kill -0 $SIM 2>/dev/null; do
  for p in $MOSQUITTO "${SERVER_PIDS[@]}" $CONTROLLER $SIM; do
    v=$(peak_kib "$p"); [ "${v:-0}" -gt "${PEAK[$p]:-0}" ] && PEAK[$p]=$v
  done
  sleep 2
done
wait $SIM && STATUS=0 || STATUS=$?
WALL=$(( $(date +%s) - START ))

echo
tail -n 4 "$WORK/sim.out"
SUMMARY=$(tail -n 1 "$WORK/sim.out")
echo
echo "== figures ($MINUTES min at ${FACTOR}x the busiest hour, 50 lanes, 2 lot servers on PostgreSQL; sim exit $STATUS, ${WALL} s with setup)"
# Decision latency (input to the decision to open) and open latency (input
# to the pulse, the decision's events committed first): the controller's
# histograms; percentiles as bucket bounds.
curl -s "http://127.0.0.1:$CONTROLLER_PORT/metrics" | python3 -c '
import sys, collections
lines = sys.stdin.read().splitlines()
for name, what in (("decision_latency_seconds", "decision"), ("open_latency_seconds", "read to pulse, journal committed")):
    b = collections.Counter(); n = 0
    for line in lines:
        if line.startswith(f"parking_controller_{name}_bucket"):
            le = line.split("le=\"")[1].split("\"")[0]; b[le] += float(line.split()[-1])
        elif line.startswith(f"parking_controller_{name}_count"):
            n += float(line.split()[-1])
    for q in (0.5, 0.99):
        bound = next((le for le, c in sorted(b.items(), key=lambda kv: float(kv[0])) if c >= q * n), "?")
        shown = f"{float(bound) * 1e6:.0f}" if bound not in ("?", "+Inf") else bound
        print(f"{what} p{int(q*100)}: <= {shown} us  ({int(n)} decisions)")
'
python3 -c "
import json, sys
s = json.loads(sys.argv[1])
print(f\"read to open p50 {s['open_p50_ms']} ms, p99 {s['open_p99_ms']} ms; transfer to open p99 {s['paid_open_p99_ms']} ms\")
print(f\"events {s['gate_events']} committed {s['events_committed']} lost {s['events_lost']} duplicated {s['duplicates']}; stuck {s['stuck']}; revenue {s['revenue_vnd']} = tariff {s['expected_revenue_vnd']}\")
" "$SUMMARY"
# Times in the database are the simulated clock's: divided by its speed.
psql "$BASE_URL/$DB" -Atc "WITH lag AS (SELECT (received_ms - at_ms) / $SPEED AS ms FROM gate_events)
  SELECT 'ingest lag (event to committed, real time) p50 ' || ROUND(CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS NUMERIC), 1)
    || ' ms, p99 ' || ROUND(CAST(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS NUMERIC), 1)
    || ' ms, max ' || ROUND(CAST(MAX(ms) AS NUMERIC), 1) || ' ms over ' || COUNT(*) || ' events' FROM lag"
for n in 0 1; do
  printf 'server-%s committed %s events first\n' "$n" "$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${SERVER_PORTS[$n]}/metrics" | awk '/^parking_server_ingest_events_total / {print $2}')"
done
printf 'peak memory (VmHWM): mosquitto %s MiB' "$(( ${PEAK[$MOSQUITTO]:-0} / 1024 ))"
for n in 0 1; do printf ', server-%s %s MiB' "$n" "$(( ${PEAK[${SERVER_PIDS[$n]}]:-0} / 1024 ))"; done
printf ', controller %s MiB' "$(( ${PEAK[$CONTROLLER]:-0} / 1024 ))"
printf ', sim %s MiB\n' "$(( ${PEAK[$SIM]:-0} / 1024 ))"
echo "work directory (logs): $WORK"
exit "$STATUS"
