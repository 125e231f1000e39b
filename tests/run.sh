#!/usr/bin/env bash
# The full test suite: formatting, lints, and every test of the workspace.
# Needs only the Rust toolchain (cargo with rustfmt and clippy); everything
# else comes from crates.io through Cargo.lock.
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
