#!/usr/bin/env bash
# The full test suite: formatting, lints, every test of the workspace, then
# the widget's browser tests. Needs the Rust toolchain (cargo with rustfmt
# and clippy) and Node.js 20 with npm; crates come through Cargo.lock,
# playwright-core through tests/browser/package-lock.json, and Chromium from
# Debian's packages (installed with apt-get when /usr/bin/chromium is missing).
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
cargo clippy --locked --workspace --all-targets -- -D warnings

step "cargo test"
cargo test --locked --workspace

step "browser tests (the widget in headless Chromium against chatctl serve)"
tests/browser/run.sh
