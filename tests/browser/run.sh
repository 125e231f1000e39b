#!/usr/bin/env bash
# Browser tests of the widget: Debian's headless Chromium, driven by
# playwright-core, against the real `chatctl serve` on a free 127.0.0.1 port.
# Installs what it needs (tests/tools.sh): chromium (apt-get) when missing,
# then `npm ci` when node_modules is not from package-lock.json.
# Screenshots go to target/widget-screenshots/.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)

source ../tools.sh
install_chromium
install_node_modules

CHATCTL="$ROOT/target/debug/chatctl"
(cd "$ROOT" && build_bins chatctl)

WORK=$(mktemp -d)
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A second tenant, "Widget Shop", with a publishable key (the key kind a
# page should embed) and its secret key for checking from the server side.
SHOP=$("$CHATCTL" tenant create --name "Widget Shop" --email shop@example.com --data-dir "$WORK/data")
SHOP_TENANT=$(sed -n 's/^tenant: //p' <<<"$SHOP")
CHAT_SHOP_KEY=$(tail -n 1 <<<"$SHOP")
CHAT_SHOP_PK=$("$CHATCTL" key create --tenant "$SHOP_TENANT" --kind publishable --data-dir "$WORK/data" | tail -n 1)
# Its allowed origin is the tests' host page, on a port chosen here.
CHAT_HOST_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$CHATCTL" tenant set-origins --tenant "$SHOP_TENANT" "http://127.0.0.1:$CHAT_HOST_PORT" --data-dir "$WORK/data" >/dev/null
export CHAT_SHOP_KEY CHAT_SHOP_PK CHAT_HOST_PORT

# KNOWLEDGE_ALLOW_PRIVATE_URLS (test-only): the knowledge base may fetch the
# tests' help page on 127.0.0.1.
KNOWLEDGE_ALLOW_PRIVATE_URLS=true RUST_LOG=warn "$CHATCTL" serve --addr 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER=$!
for _ in $(seq 1 200); do
  grep -q '^Demo API key: ' "$WORK/serve.out" 2>/dev/null && break
  if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "chatctl serve exited:" >&2
    cat "$WORK/serve.err" >&2
    exit 1
  fi
  sleep 0.1
done
CHAT_API=$(sed -n 's/^Chat API: //p' "$WORK/serve.out")
CHAT_KEY=$(sed -n 's/^Demo API key: //p' "$WORK/serve.out")
if [ -z "$CHAT_API" ] || [ -z "$CHAT_KEY" ]; then
  echo "chatctl serve did not print its address and key" >&2
  exit 1
fi
echo "chatctl serve at $CHAT_API"
export CHAT_API CHAT_KEY CHATBOT_SCREENSHOTS="$ROOT/target/widget-screenshots"
node --test --test-concurrency=1 widget.test.mjs
CONSOLE_SCREENSHOTS="$ROOT/target/console-screenshots" node --test --test-concurrency=1 console.test.mjs
# Accessibility (axe-core at WCAG 2.2 AA) of both, and the colour maths.
node --test --test-concurrency=1 colour.test.mjs a11y.test.mjs
