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
#   7. the function binaries under a local Lambda Runtime API, fed
#      tests/events/ (tests/lambda-local.sh); template.yaml is checked
#      with cfn-lint and SAM's transform right after clippy
#   8. the widget's browser tests: headless Chromium (Debian's package,
#      installed when missing) with playwright-core (npm ci) against
#      chatctl serve; needs Node.js 20 with npm
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

step "template.yaml: cfn-lint and SAM's transform"
TOOLS="${CHAT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-platform}"
CFN_LINT_PIN=(cfn-lint==1.58.0 aws-sam-translator==1.115.0)
if [ "$(cat "$TOOLS/cfn-lint-venv/.pins" 2>/dev/null)" != "${CFN_LINT_PIN[*]}" ]; then
  echo "installing ${CFN_LINT_PIN[*]} into $TOOLS/cfn-lint-venv"
  mkdir -p "$TOOLS"
  rm -rf "$TOOLS/cfn-lint-venv"
  python3 -m venv "$TOOLS/cfn-lint-venv"
  "$TOOLS/cfn-lint-venv/bin/pip" install --quiet --disable-pip-version-check "${CFN_LINT_PIN[@]}"
  echo "${CFN_LINT_PIN[*]}" >"$TOOLS/cfn-lint-venv/.pins"
fi
"$TOOLS/cfn-lint-venv/bin/cfn-lint" template.yaml
"$TOOLS/cfn-lint-venv/bin/python" tests/check-template.py

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

step "the function binaries under a local Lambda Runtime API"
tests/lambda-local.sh

step "browser tests (the widget in headless Chromium against chatctl serve)"
tests/browser/run.sh
