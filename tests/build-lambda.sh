#!/usr/bin/env bash
# Builds the arm64 deployment artefacts: one `bootstrap` per Lambda function
# (chat-sessions, chat-messages, chat-files, chat-tenant), zipped as Lambda takes them,
# under target/lambda/<function>/bootstrap.zip. A long release build (LTO,
# one codegen unit): not part of tests/run.sh.
#
# Needs the Rust toolchain (rustup) and python3; installs, once and cached
# under ~/.cache/chat-platform, cargo-lambda from PyPI into a venv (it brings
# zig, the cross linker), and adds the aarch64-unknown-linux-gnu target.
# `sam build` does the same through the template's rust-cargolambda build
# method; this script is for building and measuring without SAM.
#
# Prints each function's stripped binary size and zip size.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${CHAT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-platform}"
CARGO_LAMBDA_PIN=cargo-lambda==1.9.2
TARGET=aarch64-unknown-linux-gnu
FUNCTIONS=(chat-sessions chat-messages chat-files chat-tenant)

if [ ! -x "$TOOLS/cargo-lambda-venv/bin/cargo-lambda" ]; then
  echo "installing $CARGO_LAMBDA_PIN into $TOOLS/cargo-lambda-venv"
  mkdir -p "$TOOLS"
  rm -rf "$TOOLS/cargo-lambda-venv"
  python3 -m venv "$TOOLS/cargo-lambda-venv"
  "$TOOLS/cargo-lambda-venv/bin/pip" install --quiet --disable-pip-version-check "$CARGO_LAMBDA_PIN"
fi
if ! rustup target list --installed | grep -qx "$TARGET"; then
  rustup target add "$TARGET"
fi

# cargo-lambda and its zig (python -m ziglang) from the venv.
export PATH="$TOOLS/cargo-lambda-venv/bin:$PATH"
bin_args=()
for f in "${FUNCTIONS[@]}"; do bin_args+=(--bin "$f"); done

cargo lambda build --release --arm64 --output-format zip --locked "${bin_args[@]}"

printf '\n%-15s %16s %14s\n' function "stripped binary" "zip"
for f in "${FUNCTIONS[@]}"; do
  bin="target/$TARGET/release/$f"
  zip="target/lambda/$f/bootstrap.zip"
  [ -f "$bin" ] || { echo "missing $bin"; exit 1; }
  [ -f "$zip" ] || { echo "missing $zip"; exit 1; }
  file "$bin" | grep -q 'ARM aarch64' || { echo "$bin is not an arm64 binary: $(file "$bin")"; exit 1; }
  printf '%-15s %10s bytes %8s bytes\n' "$f" "$(stat -c %s "$bin")" "$(stat -c %s "$zip")"
done
