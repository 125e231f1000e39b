#!/usr/bin/env bash
# A function under cargo-lambda's local Lambda emulator, as the README's
# local loop runs it: `cargo lambda watch` serves the Runtime API on
# 127.0.0.1 (a free port), the chat-sessions binary takes invocations from
# it, and `cargo lambda invoke --data-file tests/events/...` sends two
# sample events (the open health check and a session created with a
# tenant's key, on the embedded store). Checks the answers and that the
# function's log lines are JSON naming the invocation's request id, and
# its metrics lines EMF. Stops what it started.
#
# The watch runs with --only-lambda-apis on the binary the suite already
# built: `cargo lambda watch` would build it again with another feature
# set (no dev-dependencies), recompiling most of the workspace. The
# in-house harness (tests/lambda-local.sh) covers more: every event,
# streaming, init errors.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/tools.sh
install_cargo_lambda
export PATH="$CARGO_LAMBDA_BIN:$PATH"

build_bins chat-sessions chatctl
bin_dir="${CARGO_TARGET_DIR:-target}/debug"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cargo lambda watch --only-lambda-apis --invoke-address 127.0.0.1 --invoke-port "$port" \
  >"$work/watch.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q "starting Runtime server" "$work/watch.log" && break
  sleep 0.1
done
grep -q "starting Runtime server" "$work/watch.log" || { cat "$work/watch.log"; exit 1; }

"$bin_dir/chatctl" init --data-dir "$work/data" >/dev/null
key=$("$bin_dir/chatctl" tenant create --name "Watch Test" --email watch@example.test \
  --data-dir "$work/data" | tail -n 1)
[[ $key == cb_* ]] || { echo "no key printed: $key"; exit 1; }

# The environment cargo-lambda printed for a function it does not start.
AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
  AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 \
  AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true CHAT_DATA_DIR="$work/data" \
  METRICS_NAMESPACE=WatchTest \
  "$bin_dir/chat-sessions" >"$work/function.out" 2>"$work/function.err" &
pids+=($!)

# An invocation the function never takes (it failed to start, say) would
# wait forever: a minute, then its log.
invoke() {
  timeout 60 cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$1" || {
    echo "no answer to $1 within 60 s; the function's log:" >&2
    cat "$work/function.err" >&2
    return 1
  }
}
health=$(invoke tests/events/sessions-health.json)
sed "s/REPLACE_WITH_API_KEY/$key/" tests/events/sessions-create.json >"$work/create.json"
created=$(invoke "$work/create.json")

python3 - "$health" "$created" "$work" "$key" <<'EOF'
import json, pathlib, sys

health, created, work, key = json.loads(sys.argv[1]), json.loads(sys.argv[2]), pathlib.Path(sys.argv[3]), sys.argv[4]
assert health["statusCode"] == 200, health
assert json.loads(health["body"])["status"] == "OK", health
assert created["statusCode"] == 201, created
session = json.loads(created["body"])["sessionId"]

logs = [json.loads(line) for line in (work / "function.err").read_text().splitlines() if line.strip()]
requests = [line for line in logs if line.get("message") == "request"]
assert [r["route"] for r in requests] == ["/health", "/api/chat/sessions/create"], requests
for r in requests:
    assert r["request_id"], f"the Lambda request id: {r}"
assert requests[1]["status"] == 201 and requests[1]["tenant_id"], requests[1]
metrics = [json.loads(l) for l in (work / "function.out").read_text().splitlines() if l.startswith("{")]
assert any(m.get("Sessions") == 1 and m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "WatchTest"
           for m in metrics), metrics
text = (work / "function.err").read_text() + (work / "function.out").read_text()
assert key not in text, "the key is in a log line"
print(f"cargo lambda watch: health 200, session {session} created; {len(requests)} JSON request lines with the request id, EMF lines")
EOF
