#!/usr/bin/env bash
# Issue 17's store figures, each beside the floor of the same run: send, and
# stats by user at 665, 1,000 and 10,000 unique users, and at 10,000 with
# sessions created beside it, on a fresh data directory. Called by
# tests/bench.sh after its release builds (chatctl, loadgen, floor); builds
# statsbench. SERVER_BIN runs another chatctl (a build of
# an earlier version, for before/after); REPEAT runs the set more than once.
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${SECONDS_PER_SCENARIO:-10}
conc=${CONCURRENCY:-16}
server=${SERVER_BIN:-target/release/chatctl}
cargo build --release --locked --bin statsbench
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

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

RATE_LIMIT_MESSAGES_PER_HOUR=1000000000 RUST_LOG=warn \
  "$server" serve --addr 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.log" 2>&1 &
pids+=($!)
wait_line "$work/serve.log" "^Demo API key: "
api=$(sed -n 's#^Chat API: \(http://[^/]*\)/api/chat/#\1#p' "$work/serve.log")
key=$(sed -n 's/^Demo API key: //p' "$work/serve.log")

echo "store figures: $server, concurrency $conc, ${secs}s each"
for round in $(seq 1 "${REPEAT:-1}"); do
  target/release/loadgen --url "$floor" --scenario floor --concurrency "$conc" --seconds "$secs"
  target/release/loadgen --url "$api" --key "$key" --scenario send --concurrency "$conc" --seconds "$secs"
  for users in 665 1000 10000; do
    target/release/statsbench --url "$api" --key "$key" --users "$users" --concurrency "$conc" --seconds "$secs" --floor "$floor"
  done
  # 10,000 users again with sessions created beside it (2 connections):
  # every create invalidates a kept answer, so this is the reading's cost.
  target/release/loadgen --url "$api" --key "$key" --scenario create --concurrency 2 --seconds "$secs" >"$work/creates.log" &
  creates=$!
  target/release/statsbench --url "$api" --key "$key" --users 10000 --concurrency "$conc" --seconds "$secs"
  wait "$creates"
  echo "  beside it: $(cat "$work/creates.log")"
done
