#!/usr/bin/env bash
# The full test suite. Needs the Rust toolchain and python3; everything else
# it installs by itself from the package registries (cached between runs).
#   1. cargo fmt --check, cargo clippy -D warnings
#   2. cargo test --workspace: unit tests, the API on the embedded store,
#      the chatctl binary on a real socket
#   3. local DynamoDB- and S3-compatible servers on 127.0.0.1, then the
#      conformance suites and the whole API suite on the cloud drivers
#   4. chatctl init / tenant create / serve on the cloud drivers
#   5. the widget's browser tests: headless Chromium (Debian's package,
#      installed when missing) with playwright-core (npm ci) against
#      chatctl serve; needs Node.js 20 with npm
#   6. template.yaml: cfn-lint, SAM's transform (every route, streaming);
#      the function binaries under a local Lambda Runtime API, fed
#      tests/events/ (tests/lambda-local.sh)
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
