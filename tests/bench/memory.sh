#!/usr/bin/env bash
# Peak memory of `chatctl serve`, scenario by scenario: a fresh server on an
# empty data directory for each loadgen scenario (and for the file uploads),
# its peak RSS (VmHWM) after the scenario, beside the scenario's figures.
# Then all of them in a row on one server, as tests/bench.sh runs them.
# Expects the release binaries tests/bench.sh builds. The server's
# environment is passed through, so settings can be compared
# (CHAT_CACHE_MB=16 tests/bench/memory.sh), and SERVER_BIN runs another
# chatctl (a build of an earlier version, for before/after).
#   SECONDS_PER_SCENARIO (default 10), CONCURRENCY (default 16),
#   MEMORY_SCENARIOS (default: every scenario, then "all")
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${SECONDS_PER_SCENARIO:-10}
conc=${CONCURRENCY:-16}
server=${SERVER_BIN:-target/release/chatctl}
scenarios=${MEMORY_SCENARIOS:-create send history10 history1000 history1000-page stats-by-user files all}
work=$(mktemp -d)
serve_pid=
cleanup() { [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start_server() {
  rm -rf "$work/data" && mkdir -p "$work/data"
  RATE_LIMIT_MESSAGES_PER_HOUR=1000000000 RUST_LOG=warn \
    "$server" serve --addr 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 150); do
    grep -q '^Demo API key: ' "$work/serve.log" 2>/dev/null && break
    sleep 0.2
  done
  api=$(sed -n 's#^Chat API: \(http://[^/]*\)/api/chat/#\1#p' "$work/serve.log")
  key=$(sed -n 's/^Demo API key: //p' "$work/serve.log")
  [[ -n $key ]] || { cat "$work/serve.log"; exit 1; }
}

stop_server() { kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=; }

peak_mb() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$serve_pid/status"; }

run() {
  case $1 in
    files) target/release/filebench --url "$api" --key "$key" --out "$work/files" ;;
    *) target/release/loadgen --url "$api" --key "$key" --scenario "$1" --concurrency "$conc" --seconds "$secs" ;;
  esac
}

for scenario in $scenarios; do
  start_server
  start=$(peak_mb)
  if [[ $scenario == all ]]; then
    for s in create send history10 history1000 history1000-page stats-by-user; do run "$s"; done
    target/release/loadgen --url "$api" --key "$key" --scenario stats-by-user --sessions 90000 --concurrency "$conc" --seconds "$secs"
    run history1000-page
    run files
  else
    run "$scenario"
  fi
  echo "memory $scenario: peak RSS $(peak_mb) MB (at start $start MB)"
  stop_server
done
