#!/usr/bin/env bash
# Reruns every benchmark in BENCHMARKS.md and prints the figures (release
# builds; a few minutes). Everything runs on 127.0.0.1; the load generator and
# the server share this machine's cores, so figures are for comparison on one
# machine, always beside the bare-handler floor measured in the same run.
#   SECONDS_PER_SCENARIO (default 10), CONCURRENCY (default 16)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${SECONDS_PER_SCENARIO:-10}
conc=${CONCURRENCY:-16}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }

step "release builds"
cargo build --release --locked --bin chatctl --bin loadgen --bin floor --bin filebench

# start NAME LOGFILE CMD...: runs CMD in the background, waits for its address line.
wait_line() {
  local log=$1 pattern=$2
  for _ in $(seq 1 150); do
    grep -q "$pattern" "$log" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "no '$pattern' in $log:"; cat "$log"; return 1
}

target/release/floor 127.0.0.1:0 >"$work/floor.log" 2>&1 &
pids+=($!)
wait_line "$work/floor.log" "^listening on "
floor="http://$(sed -n 's/^listening on //p' "$work/floor.log")"

# The benchmark measures the API, not the per-key message quota.
RATE_LIMIT_MESSAGES_PER_HOUR=1000000000 RUST_LOG=warn \
  target/release/chatctl serve --addr 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.log" 2>&1 &
serve_pid=$!
pids+=($serve_pid)
wait_line "$work/serve.log" "^Demo API key: "
api=$(sed -n 's#^Chat API: \(http://[^/]*\)/api/chat/#\1#p' "$work/serve.log")
key=$(sed -n 's/^Demo API key: //p' "$work/serve.log")

step "API throughput and latency (concurrency $conc, ${secs}s each; chatctl serve, embedded store, dummy provider)"
target/release/loadgen --url "$floor" --scenario floor --concurrency "$conc" --seconds "$secs"
for scenario in create send history10 history1000 history1000-page stats-by-user; do
  target/release/loadgen --url "$api" --key "$key" --scenario "$scenario" --concurrency "$conc" --seconds "$secs"
done
total_sessions() {
  curl -fsS -H "X-API-Key: $key" "$api/api/chat/sessions/stats/summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totalSessions"], "sessions in the store")'
}
total_sessions

step "stats by user again after 90,000 more sessions of the same 100 users (independent of the number of sessions)"
target/release/loadgen --url "$api" --key "$key" --scenario stats-by-user --sessions 90000 --concurrency "$conc" --seconds "$secs"
target/release/loadgen --url "$api" --key "$key" --scenario history1000-page --concurrency "$conc" --seconds "$secs"
total_sessions

step "peak memory of chatctl serve under the load above"
grep -E '^(VmHWM|VmRSS)' "/proc/$serve_pid/status"

step "file processing: 10 MB CSV and JSON, in process and upload-to-stored"
target/release/filebench --url "$api" --key "$key" --out "$work/files"
grep -E '^(VmHWM|VmRSS)' "/proc/$serve_pid/status"
step "peak memory of chatctl serve per scenario, each on a fresh server"
tests/bench/memory.sh
step "the same parse-and-summarise in Python (csv + json modules)"
python3 tests/bench/python_baseline.py "$work/files/bench.csv" "$work/files/bench.json"

step "context building and token estimation (criterion)"
cargo bench --locked -p chat-shared --bench context -- --warm-up-time 1 --measurement-time 3 2>&1 \
  | grep -E '^(build_context|estimate_token_count)|time:'

step "send and stats by user at 665, 1,000 and 10,000 users, beside the floor (fresh data directory)"
tests/bench/store.sh

step "round trips per operation (asserted exactly by the test suite)"
cargo test --locked -q -p integration-tests --test api round_trips 2>&1 | grep -E 'test result'

step "many visitors of one tenant: per-visitor limits, tenant cap, exact counters (embedded, then DynamoDB on moto)"; tests/bench/visitors.sh
