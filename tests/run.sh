#!/usr/bin/env bash
# The full test suite. Needs the Rust toolchain, python3, curl and Node.js 20
# with npm; everything else it installs by itself from the package registries
# (pinned and cached between runs: tests/tools.sh).
#   1. cargo fmt --check; cargo clippy -D warnings; template.yaml through
#      cfn-lint and SAM's transform
#   2. cargo test --workspace: unit tests, the API on the embedded store,
#      the chatctl binary on a real socket, the fuzz corpus replay
#   3. Schemathesis (PyPI, pinned) against the OpenAPI document on
#      `chatctl serve`: no 5xx, every response as documented
#   4. local DynamoDB- and S3-compatible servers on 127.0.0.1 (moto,
#      s3s-fs); chatctl init / tenant create / serve on them
#   5. the function binaries under a local Lambda Runtime API, fed
#      tests/events/ (tests/lambda-local.sh), and one under cargo-lambda's
#      emulator (`cargo lambda watch`, tests/lambda-watch.sh)
#   6. the widget's browser tests: headless Chromium (Debian's package,
#      installed when missing) with playwright-core (npm ci) against
#      chatctl serve
#   7. the conformance suites and the whole API suite on the cloud drivers
#   8. the fuzz targets under AFL++ (fuzz/run.sh) for FUZZ_SECONDS each
#   9. the release artefacts (arm64, or x86_64 where the toolchain has no
#      aarch64 standard library): cargo lambda build, then sam build on
#      the same target directory (tests/build-lambda.sh), built niced in
#      the background from step 4 on
# Two cores do it in time by overlapping: the installs that wait on the
# network, clippy and the template checks run in the background beside the
# test build; the cloud API suite (bound by moto, one request at a time) and
# AFL++ beside steps 3-6. Each is waited for by the step that needs it and
# its output shown there; a failure fails the run.
# Every cargo command here builds the workspace with one feature set (that of
# `cargo test --workspace`), so the dependencies are compiled once: a `-p`
# would resolve features anew and rebuild most of them.
# Each step prints its elapsed time; a table of all of them ends the run.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/tools.sh
source tests/servers.sh

LOGS=$(mktemp -d)
TIMINGS=()
CURRENT=""
SUITE_START=$SECONDS

table() {
  local status=$?
  printf '\n==> timings (s)\n'
  printf '%s\n' "${TIMINGS[@]}"
  if [ -n "$CURRENT" ]; then
    printf '%6d  %s (FAILED)\n' "$((SECONDS - CURRENT_START))" "$CURRENT"
  fi
  printf '%6d  total\n' "$((SECONDS - SUITE_START))"
  stop_servers || true
  for pid in "${BACKGROUND[@]}"; do kill_tree "$pid"; done
  rm -rf "$LOGS"
  exit "$status"
}
trap table EXIT

# step NAME CMD...: runs CMD under a heading, then prints and records its time.
step() {
  CURRENT=$1 CURRENT_START=$SECONDS
  shift
  printf '\n==> %s\n' "$CURRENT"
  "$@"
  local took=$((SECONDS - CURRENT_START))
  printf '==> %s: %ds\n' "$CURRENT" "$took"
  TIMINGS+=("$(printf '%6d  %s' "$took" "$CURRENT")")
  CURRENT=""
}

# background NAME CMD...: runs CMD in the background, its output in a log.
declare -A BACKGROUND=()
background() {
  local name=$1
  shift
  (
    start=$SECONDS
    "$@"
    echo "took $((SECONDS - start))s"
  ) >"$LOGS/$name.log" 2>&1 &
  BACKGROUND[$name]=$!
}

# ready NAME [--show]: waits for a background job; shows its log when it
# failed, or always with --show (a check's output).
ready() {
  local name=$1 show=${2:-} pid=${BACKGROUND[$1]}
  # Waited for: the exit trap must not signal its (reusable) pid again.
  unset 'BACKGROUND[$name]'
  if ! wait "$pid"; then
    echo "$name failed:"
    cat "$LOGS/$name.log"
    return 1
  fi
  [ "$show" = --show ] && sed '$d' "$LOGS/$name.log"
  local took
  took=$(sed -n 's/^took \([0-9]*\)s$/\1/p' "$LOGS/$name.log")
  echo "$name: ok (took ${took}s in the background)"
  TIMINGS+=("$(printf '%6d  (background) %s' "$took" "$name")")
}

# A failed run leaves no install running behind it.
kill_tree() {
  local child
  for child in $(pgrep -P "$1"); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}

# Chromium needs root: in the background only when no password is asked.
background_chromium() {
  if [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then
    background chromium install_chromium
  else
    background chromium true
  fi
}

components() {
  for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
      rustup component add "${component}"
    fi
  done
}

lint_template() {
  install_cfn_lint
  "$TOOLS/cfn-lint-venv/bin/cfn-lint" template.yaml
  "$TOOLS/cfn-lint-venv/bin/python" tests/check-template.py
}

# Its own target directory: clippy's check build shares nothing with the
# test build, and so it runs beside it instead of holding its lock.
# Then the functions as deployed: their packages alone, so chat-shared
# without the embedded store (the workspace's build unifies it in).
clippy() {
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/clippy" \
    cargo clippy --locked --workspace --all-targets --all-features -- -D warnings
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/clippy" \
    cargo clippy --locked -p chat-sessions -p chat-messages -p chat-files -p chat-tenant -- -D warnings
}

# What the steps after the servers run, built while nothing else needs the
# build directory: the API suite with the cloud feature, the Lambda test and
# the function binaries.
build_rest() {
  cargo test --locked --workspace --features integration-tests/cloud --test api --no-run
  cargo test --locked --workspace --features integration-tests/lambda --test lambda --no-run
  build_bins chat-sessions chat-messages chat-files chat-tenant
}

checks() {
  ready clippy --show
  ready template --show
}

# Two moto servers: the cloud API suite keeps one busy (one request at a
# time), so the other steps get the second.
cloud_servers() {
  ready moto
  ready s3s-fs
  start_servers --no-trap
  start_moto
  CLOUD_SUITE_DYNAMODB=$MOTO_URL
}

install_lambda_tools() {
  install_cargo_lambda
  install_sam
}

# The release build takes what the steps after it leave idle.
lambda_artefacts() {
  ready lambda-tools
  background lambda-artefacts nice -n 10 tests/build-lambda.sh
}

schemathesis() {
  ready schemathesis
  tests/schemathesis.sh
}

browser() {
  ready node-modules
  ready chromium
  tests/browser/run.sh
}

step "rustfmt and clippy components" components
step "cargo fmt --check" cargo fmt --all -- --check

# Network-bound installs and the checks that need no test build: started at
# once, waited for by the step that needs them.
background template lint_template
background moto install_moto
background schemathesis install_schemathesis
background node-modules install_node_modules
background lambda-tools install_lambda_tools
background_chromium
background clippy clippy
# CPU-bound and needed late: niced, so it takes what the builds leave idle.
background s3s-fs nice -n 10 bash -euo pipefail -c "source tests/tools.sh && install_s3s_fs"

step "cargo test (embedded store)" cargo test --locked --workspace
step "build the cloud and Lambda tests and the function binaries" build_rest
step "cargo clippy (warnings are errors), cfn-lint and SAM's transform on template.yaml" checks
step "local DynamoDB- and S3-compatible servers" cloud_servers
step "start the Lambda release build (cargo lambda, sam build)" lambda_artefacts

# From here on the CPU has room: the cloud suite is bound by moto, which
# answers one request at a time on one core (its concurrency test alone
# takes most of it), and AFL++ fuzzes for a fixed time on one core. Both run
# beside the steps below, which need no build (cargo only checks it is
# fresh) and leave cores idle while they wait on servers and browsers.
background cloud-api env CHAT_STORE=dynamodb AWS_ENDPOINT_URL_DYNAMODB="$CLOUD_SUITE_DYNAMODB" \
  cargo test --locked --workspace --features integration-tests/cloud --test api
background fuzz fuzz/run.sh
step "schemathesis: the API against its OpenAPI document (chatctl serve, embedded store)" \
  schemathesis
step "chatctl on the cloud drivers" tests/chatctl-cloud.sh
step "the function binaries under a local Lambda Runtime API" tests/lambda-local.sh
step "a function under cargo lambda watch with sample events" tests/lambda-watch.sh
step "browser tests (the widget in headless Chromium against chatctl serve)" browser
step "cloud drivers: conformance suites and the whole API suite (CHAT_STORE=dynamodb)" \
  ready cloud-api --show
step "fuzz targets under AFL++ (coverage-guided, ${FUZZ_SECONDS:-60}s each)" ready fuzz --show
step "Lambda artefacts: cargo lambda build and sam build agree (tests/build-lambda.sh)" \
  ready lambda-artefacts --show
