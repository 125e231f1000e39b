#!/usr/bin/env bash
# Lambda cold start: each function binary's init (process start to its first
# `invocation/next`, real SDK clients built) and what its first request adds
# over the warm ones, on the local DynamoDB/S3 servers of tests/servers.sh
# (tests/lambda/first_request.rs). Expects the binaries already built:
#   LAMBDA_BIN_DIR (default target/release), LAMBDA_FUNCTIONS (default the
#   three), LAMBDA_INIT_RUNS (default 5 starts each)
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/servers.sh
start_servers

export CHAT_STORE=dynamodb TABLE_NAME="bench-$RANDOM$RANDOM" BUCKET_NAME="bench-$RANDOM$RANDOM"
data=$(mktemp -d)
chatctl=${CHATCTL:-target/debug/chatctl}
$chatctl init --data-dir "$data"
key=$($chatctl tenant create --name "Bench" --email bench@example.test --data-dir "$data" | tail -n 1)
rm -rf "$data"
[[ $key == cb_* ]] || { echo "no key printed: $key"; exit 1; }

LAMBDA_BIN_DIR="${LAMBDA_BIN_DIR:-$PWD/target/release}" LAMBDA_TEST_API_KEY="$key" \
  cargo test --locked -q -p integration-tests --features lambda --test lambda first_request_latency \
  -- --ignored --nocapture 2>&1 | grep -E '^chat-|test result'
