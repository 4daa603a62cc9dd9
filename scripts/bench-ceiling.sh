#!/usr/bin/env bash
# bench's own ceiling: how many messages per second one `mqttforge bench`
# process generates and times on this machine, against Mosquitto (from PATH)
# and the bundled broker (rumqttd, `mqttforge broker`), compared with
# `mosquitto_pub -l` into `mosquitto_sub` on the same broker in the same run.
# Every case runs RUNS times; the table shows medians, with the CPU each
# process used (100% = one core) to tell which side is the limit.
#
# Usage: scripts/bench-ceiling.sh [RUNS] [SECONDS]   (defaults: 3 runs of 5 s)
set -euo pipefail

runs=${1:-3}
seconds=${2:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --release --quiet --bin mqttforge
bin="$repo/target/release/mqttforge"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPU seconds (user + system) a process has used so far.
cpu_of() {
  awk -v tck="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / tck }' "/proc/$1/stat"
}

wait_for() { # FILE TEXT
  for _ in $(seq 100); do
    if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "not ready: $1" >&2
  cat "$1" >&2
  exit 1
}

start_mosquitto() {
  mosquitto_port=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\nlog_dest stderr\n' "$mosquitto_port" >"$work/mosquitto.conf"
  mosquitto -c "$work/mosquitto.conf" 2>"$work/mosquitto.log" &
  mosquitto_pid=$!
  pids+=("$mosquitto_pid")
  wait_for "$work/mosquitto.log" " running"
}

start_bundled() {
  rumqttd_port=$(free_port)
  local tls_port
  tls_port=$(free_port)
  sed -e "s/port: 1883/port: $rumqttd_port/" -e "s/port: 8883/port: $tls_port/" \
    site-examples/dev-rumqttd.yaml >"$work/bundled.yaml"
  "$bin" broker "$work/bundled.yaml" --dir "$work/bundled" >"$work/bundled.log" 2>&1 &
  bundled_pid=$!
  pids+=("$bundled_pid")
  wait_for "$work/bundled.log" "listener \`local\` ready"
}

# One bench run: prints "sent/s received/s bench-cpu% broker-cpu% bench-cpu-us/msg p50 p99 lost"
# (CPU % over the whole run, 100 = one core; CPU per message over sent + received).
bench_once() { # BROKER_PID PORT QOS PUBLISHERS
  local before after report times
  before=$(cpu_of "$1")
  report="$work/report.json"
  times="$work/times"
  /usr/bin/time -f '%e %U %S' -o "$times" "$bin" bench "mqtt://127.0.0.1:$2" \
    --rate max --qos "$3" --publishers "$4" --subscribers 1 --payload 256B \
    --duration "${seconds}s" --warmup 1s --format json --no-progress >"$report" || true
  after=$(cpu_of "$1")
  python3 - "$report" "$times" "$before" "$after" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
wall, user, system = map(float, open(sys.argv[2]).read().split()[-3:])
broker = (float(sys.argv[4]) - float(sys.argv[3])) / wall * 100
t, lat = report["throughput"], report["latency_ms"] or {"p50": 0, "p99": 0}
m = report["messages"]
per_message = (user + system) / max(1, m["sent"] + m["received"]) * 1e6
print(t["sent_per_s"], t["received_per_s"], round((user + system) / wall * 100),
      round(broker), round(per_message, 2), lat["p50"], lat["p99"], m["lost"])
EOF
}

# mosquitto_pub -l into mosquitto_sub: prints "msg/s msg/s - broker-cpu% - - - lost".
# The time runs from the first line fed to mosquitto_pub to the last line
# mosquitto_sub printed; a subscriber that gets nothing new for 2 s is done
# (Mosquitto drops QoS 1 messages past max_queued_messages for a slow one).
clients_once() { # BROKER_PID PORT QOS COUNT
  local before after start last got seen
  before=$(cpu_of "$1")
  : >"$work/sub.out"
  mosquitto_sub -p "$2" -q "$3" -t ceiling/clients -C "$4" >"$work/sub.out" &
  local sub=$!
  sleep 0.5
  start=$(date +%s.%N)
  python3 -c "import sys; sys.stdout.write(('x' * 255 + '\n') * $4)" |
    timeout 120 mosquitto_pub -p "$2" -q "$3" -t ceiling/clients -l
  seen=-1 last=$(date +%s.%N)
  while kill -0 "$sub" 2>/dev/null; do
    got=$(wc -l <"$work/sub.out")
    if [[ $got != "$seen" ]]; then
      seen=$got last=$(date +%s.%N)
    elif python3 -c "import sys; sys.exit(0 if $(date +%s.%N) - $last > 2 else 1)"; then
      kill "$sub" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  wait "$sub" 2>/dev/null || true
  got=$(wc -l <"$work/sub.out")
  if [[ $got == "$4" ]]; then last=$(date +%s.%N); fi
  after=$(cpu_of "$1")
  python3 -c "
wall = $last - $start
print(round($got / wall, 1), round($got / wall, 1), '-', round(($after - $before) / wall * 100), '-', '-', '-', $4 - $got)"
}

median_row() { # LABEL, then lines on stdin
  python3 -c '
import sys, statistics
label = sys.argv[1]
rows = [l.split() for l in sys.stdin if l.strip()]
def med(i):
    vals = [r[i] for r in rows]
    if vals[0] == "-":
        return "-"
    m = statistics.median(float(v) for v in vals)
    return f"{m:,.0f}" if i < 4 or i == 7 else f"{m:.3f}".rstrip("0").rstrip(".")
print(f"| {label} | " + " | ".join(med(i) for i in range(8)) + " |")
' "$1"
}

start_mosquitto
start_bundled
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr)"
echo "mosquitto: $(mosquitto -h | head -1); $runs runs of ${seconds} s each, medians; payload 256 B, 1 subscriber"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| broker, generator, QoS | sent msg/s | received msg/s | bench CPU % | broker CPU % | bench CPU µs/msg | P50 ms | P99 ms | lost |"
echo "|---|---|---|---|---|---|---|---|---|"
for broker in mosquitto bundled; do
  if [[ $broker == mosquitto ]]; then pid=$mosquitto_pid port=$mosquitto_port; else pid=$bundled_pid port=$rumqttd_port; fi
  for qos in 0 1; do
    for publishers in 1 4; do
      for _ in $(seq "$runs"); do bench_once "$pid" "$port" "$qos" "$publishers"; done |
        median_row "$broker, bench $publishers pub, QoS $qos"
    done
    if [[ $qos == 0 ]]; then count=300000; else count=3000; fi
    for _ in $(seq "$runs"); do clients_once "$pid" "$port" "$qos" "$count"; done |
      median_row "$broker, mosquitto_pub -l, QoS $qos"
  done
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
