#!/usr/bin/env bash
# Property-based API testing from the OpenAPI document: starts `chatctl
# serve` on a free 127.0.0.1 port with a fresh data directory and runs
# Schemathesis (PyPI, pinned in tests/tools.sh, in a cached venv) against
# /api/chat/openapi.json with the demo key. Fails on any 5xx, any response
# that breaks its documented schema, an undocumented status code or
# content type. Bounded by --max-examples per operation.
#   tests/schemathesis.sh [extra st run options]
set -euo pipefail
cd "$(dirname "$0")/.."

source tests/tools.sh
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-100}"

install_schemathesis
build_bins chatctl
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The embedded store and the dummy provider; a limit no run reaches, so
# sends are answered by their inputs, not the rate limiter.
env -u CHAT_STORE -u ANTHROPIC_API_KEY -u OPENAI_API_KEY -u CUSTOM_PROVIDER_BASE_URL \
  RATE_LIMIT_MESSAGES_PER_HOUR=100000000 RUST_LOG=warn \
  target/debug/chatctl serve --addr "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  if grep -q '^Demo API key: ' "$WORK/serve.log" 2>/dev/null; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "chatctl serve exited:"; cat "$WORK/serve.log"; exit 1; fi
  sleep 0.5
done
KEY=$(sed -n 's/^Demo API key: //p' "$WORK/serve.log")
[ -n "$KEY" ] || { echo "no demo key:"; cat "$WORK/serve.log"; exit 1; }
echo "chatctl serve on 127.0.0.1:$PORT"

# One worker: with two, Schemathesis' threads can parse source at once, and
# CPython 3.11 then fails with "AST constructor recursion depth mismatch"
# (CPython issue 106905), an error of the tool, not of the API.
# From the scratch directory: Schemathesis keeps its caches in the working
# directory, which must not be the checkout. regenerate_key is left out: it
# would revoke the demo key the whole run uses (tests/api/tenant.rs covers it).
# add_knowledge is left out: its generated URLs would be fetched from the
# network (tests/api/knowledge.rs covers it with a local server).
cd "$WORK"
"$TOOLS/schemathesis-venv/bin/st" run "http://127.0.0.1:$PORT/api/chat/openapi.json" \
  --url "http://127.0.0.1:$PORT" \
  -H "X-API-Key: $KEY" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$MAX_EXAMPLES" \
  --seed 1 \
  --workers 1 \
  --request-timeout 30 \
  --exclude-operation-id regenerate_key \
  --exclude-operation-id add_knowledge \
  "$@"
