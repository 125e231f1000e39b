#!/usr/bin/env bash
# The public-widget load test (issue 19, BENCHMARKS.md "Many visitors of one
# tenant"): thousands of simulated visitors of one tenant through its
# publishable key against `chatctl serve` (release, embedded store), then a
# smaller run on the DynamoDB driver (moto, as tests/run.sh starts it; skipped
# with VISITORS_DYNAMODB=0). Bounded in requests and time; fails when a
# visitor is not given exactly its allowance, the tenant cap admits other
# than its figure, or a counter differs from what the generator counted.
#   VISITORS (default 3000), VISITORS_DYNAMODB (default 1), VISITORS_DYNAMODB_COUNT (default 200)
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release --locked --bin chatctl --bin visitors
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  if declare -F stop_servers >/dev/null; then stop_servers; fi
  rm -rf "$work"
}
trap cleanup EXIT

# serve_and_run LABEL ARGS...: a fresh tenant, chatctl serve, the load test.
serve_and_run() {
  local label=$1; shift
  local dir="$work/$label"
  mkdir -p "$dir"
  local key
  key=$(target/release/chatctl tenant create --name "Load $label" --email "load@$label.test" --data-dir "$dir" | tail -n 1)
  # Settings are read through the key cache: off, so each phase's limits
  # apply from its first request.
  API_KEY_CACHE_SECONDS=0 RUST_LOG=warn \
    target/release/chatctl serve --addr 127.0.0.1:0 --data-dir "$dir" >"$dir/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 150); do grep -q "^Chat API: " "$dir/serve.log" && break; sleep 0.2; done
  local api
  api=$(sed -n 's#^Chat API: \(http://[^/]*\)/api/chat/#\1#p' "$dir/serve.log")
  [ -n "$api" ] || { cat "$dir/serve.log"; return 1; }
  echo "$label:"
  target/release/visitors --url "$api" --key "$key" "$@"
  grep -E '^(VmHWM)' "/proc/$server_pid/status" || true
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
}

serve_and_run embedded --visitors "${VISITORS:-3000}" --abusers 30 --cap-visitors 400 --cap-extra 150 --concurrency 64

if [ "${VISITORS_DYNAMODB:-1}" = 1 ]; then
  source tests/servers.sh
  start_servers --no-trap
  export CHAT_STORE=dynamodb TABLE_NAME="visitors-$RANDOM$RANDOM" BUCKET_NAME="visitors-$RANDOM$RANDOM"
  mkdir -p "$work/dynamodb"
  target/release/chatctl init --data-dir "$work/dynamodb" >/dev/null
  serve_and_run dynamodb --visitors "${VISITORS_DYNAMODB_COUNT:-200}" --abusers 5 --cap-visitors 60 \
    --cap-extra 20 --concurrency 8 --max-seconds 600
fi
