#!/usr/bin/env bash
# chatctl init, tenant create and serve against the DynamoDB/S3 endpoints in
# the environment (tests/run.sh starts them). Fails on any unexpected answer.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/tools.sh
: "${AWS_ENDPOINT_URL_DYNAMODB:?start the servers first (tests/run.sh)}"

export CHAT_STORE=dynamodb TABLE_NAME="chatctl-$RANDOM$RANDOM" BUCKET_NAME="chatctl-$RANDOM$RANDOM"
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

build_bins chatctl
chatctl=target/debug/chatctl

first=$($chatctl init --data-dir "$work")
echo "$first"
grep -q "table $TABLE_NAME: created" <<<"$first"
grep -q "bucket $BUCKET_NAME: created" <<<"$first"
again=$($chatctl init --data-dir "$work")
grep -q "table $TABLE_NAME: exists" <<<"$again"

key=$($chatctl tenant create --name Acme --email ops@acme.test --data-dir "$work" | tail -n 1)
[[ $key == cb_* ]] || { echo "no key printed: $key"; exit 1; }
$chatctl tenant list --data-dir "$work" | grep -q Acme

$chatctl serve --addr 127.0.0.1:0 --data-dir "$work" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q "^Chat API: " "$work/serve.log" && break; sleep 0.2; done
base=$(sed -n 's/^Chat API: //p' "$work/serve.log")
[ -n "$base" ] || { cat "$work/serve.log"; exit 1; }

created=$(curl -sS -X POST "${base}sessions/create" -H "X-API-Key: $key" \
  -d '{"config":{"aiProvider":"dummy"},"user_identifier":"cloud@example.com"}')
session=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["sessionId"])' <<<"$created")
sent=$(curl -sS -X POST "${base}messages/send" -H "X-API-Key: $key" \
  -d "{\"sessionId\":\"$session\",\"message\":\"Hello from the cloud drivers\"}")
python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["messageCount"]==2, r' <<<"$sent"
printf 'id,name\n1,Alice\n' >"$work/data.csv"
uploaded=$(curl -sS -X POST "${base}files/upload" -H "X-API-Key: $key" \
  -F sessionId="$session" -F file=@"$work/data.csv")
python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["file"]["rows"]==1, r' <<<"$uploaded"
stats=$(curl -sS "${base}sessions/stats/by-user" -H "X-API-Key: $key")
python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["userStats"]=={"cloud@example.com":1}, r' <<<"$stats"
echo "chatctl on the cloud drivers: init, tenant create, serve, session, message, upload, stats: ok"
