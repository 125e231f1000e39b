#!/usr/bin/env bash
# The three function binaries under a local Lambda Runtime API, fed the
# API Gateway events in tests/events/ (tests/lambda/main.rs), on the
# DynamoDB/S3 endpoints in the environment (tests/run.sh starts them):
# what `sam local invoke` does, without a container. Builds the x86_64
# binaries (the same code the arm64 bootstrap runs), creates the table,
# bucket and a tenant with chatctl. Fails on any unexpected answer.
#   LAMBDA_PROFILE=release runs the release binaries (debug by default).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/tools.sh
: "${AWS_ENDPOINT_URL_DYNAMODB:?start the servers first (tests/run.sh)}"
: "${AWS_ENDPOINT_URL_S3:?start the servers first (tests/run.sh)}"

export CHAT_STORE=dynamodb TABLE_NAME="lambda-$RANDOM$RANDOM" BUCKET_NAME="lambda-$RANDOM$RANDOM"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

profile=${LAMBDA_PROFILE:-debug}
if [[ $profile == debug ]]; then
  build_bins chat-sessions chat-messages chat-files chat-tenant chatctl
else
  cargo build --locked --quiet --profile "$profile" -p chat-sessions -p chat-messages -p chat-files -p chat-tenant
  build_bins chatctl
fi
chatctl=target/debug/chatctl
$chatctl init --data-dir "$work"
key=$($chatctl tenant create --name "Lambda Test" --email lambda@example.test --data-dir "$work" | tail -n 1)
[[ $key == cb_* ]] || { echo "no key printed: $key"; exit 1; }

LAMBDA_BIN_DIR="$PWD/target/$profile" LAMBDA_TEST_API_KEY="$key" \
  cargo test --locked --workspace --features integration-tests/lambda --test lambda -- --nocapture
