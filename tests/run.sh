#!/usr/bin/env bash
# The full test suite. Needs the Rust toolchain and python3; everything else
# it installs by itself from the package registries (cached between runs).
#   1. cargo fmt --check, cargo clippy -D warnings
#   2. cargo test --workspace: unit tests, the API on the embedded store,
#      the chatctl binary on a real socket
#   3. Schemathesis (PyPI, pinned) against the OpenAPI document on
#      `chatctl serve`: no 5xx, every response as documented
#   4. the fuzz targets (fuzz/): corpus replay and mutations in cargo test,
#      then coverage-guided under AFL++ (cargo-afl) for FUZZ_SECONDS each
#   5. local DynamoDB- and S3-compatible servers on 127.0.0.1, then the
#      conformance suites and the whole API suite on the cloud drivers
#   6. chatctl init / tenant create / serve on the cloud drivers
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    step "installing the ${component} component"
    rustup component add "${component}"
  fi
done

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --locked --workspace --all-targets --all-features -- -D warnings

step "cargo test (embedded store)"
cargo test --locked --workspace

step "schemathesis: the API against its OpenAPI document (chatctl serve, embedded store)"
tests/schemathesis.sh

step "fuzz targets: the seed corpus and its mutations (cargo test)"
CARGO_TARGET_DIR="$PWD/target" cargo test --locked --manifest-path fuzz/Cargo.toml
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "fuzz targets under AFL++ (coverage-guided, ${FUZZ_SECONDS:-60}s each)"
fuzz/run.sh

step "local DynamoDB- and S3-compatible servers"
source tests/servers.sh
install_servers
start_servers

step "cloud drivers: conformance suites and the whole API suite (CHAT_STORE=dynamodb)"
CHAT_STORE=dynamodb cargo test --locked -p integration-tests --features cloud --test api

step "chatctl on the cloud drivers"
tests/chatctl-cloud.sh
