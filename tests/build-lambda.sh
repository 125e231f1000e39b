#!/usr/bin/env bash
# Builds the arm64 deployment artefacts twice over, the way they are
# deployed, and checks they agree:
#   1. `cargo lambda build --release --arm64`: one `bootstrap` per Lambda
#      function (chat-sessions, chat-messages, chat-files, chat-tenant),
#      zipped as Lambda takes them, under target/lambda/<function>/;
#   2. `sam build`: template.yaml's build metadata (BuildMethod
#      rust-cargolambda, each function's Binary) through SAM CLI's own
#      builder, which runs `cargo lambda build --release --arm64 --bin <Binary>`
#      in the workspace (no container). Same cargo-lambda, target directory,
#      flags and feature set as step 1, so cargo finds every crate fresh and
#      SAM only copies: the release build is paid once.
# Then each of SAM's artefacts must be an arm64 `bootstrap` identical to
# cargo-lambda's.
#
# Needs the Rust toolchain (rustup) and python3; installs, pinned and cached
# (tests/tools.sh), cargo-lambda from PyPI into a venv (it brings zig, the
# cross linker) and SAM CLI into another, and adds the
# aarch64-unknown-linux-gnu target. A long release build (LTO, one codegen
# unit): tests/run.sh runs it in the background while the servers' steps
# leave cores idle. Prints each function's stripped binary and zip size and
# how long each half took.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/tools.sh

TARGET=aarch64-unknown-linux-gnu
FUNCTIONS=(chat-sessions chat-messages chat-files chat-tenant)
# SAM copies each bootstrap from ./target/lambda/<binary>/ (its builder
# knows no other place), so the build goes to ./target whatever the caller's
# CARGO_TARGET_DIR.
export CARGO_TARGET_DIR="$PWD/target"
# No usage reports from SAM CLI: this script talks to package registries only.
export SAM_CLI_TELEMETRY=0

install_cargo_lambda
install_sam
if ! rustup target list --installed | grep -qx "$TARGET"; then
  rustup target add "$TARGET"
fi

# cargo-lambda and its zig (python -m ziglang) from the venv; SAM finds
# `cargo` and `cargo-lambda` on PATH.
export PATH="$CARGO_LAMBDA_BIN:$PATH"
bin_args=()
for f in "${FUNCTIONS[@]}"; do bin_args+=(--bin "$f"); done

start=$SECONDS
cargo lambda build --release --arm64 --output-format zip --locked "${bin_args[@]}"
cargo_took=$((SECONDS - start))

build_dir=$(mktemp -d)
trap 'rm -rf "$build_dir"' EXIT
start=$SECONDS
# --beta-features: SAM still calls its rust-cargolambda builder a beta.
"$SAM" build --beta-features --template-file template.yaml \
  --build-dir "$build_dir/build" --cache-dir "$build_dir/cache"
sam_took=$((SECONDS - start))

printf '\n%-15s %16s %14s\n' function "stripped binary" "zip"
for f in "${FUNCTIONS[@]}"; do
  # cargo-lambda moves the stripped binary here from target/<triple>/release.
  bin="target/lambda/$f/bootstrap"
  zip="target/lambda/$f/bootstrap.zip"
  [ -f "$bin" ] || { echo "missing $bin"; exit 1; }
  [ -f "$zip" ] || { echo "missing $zip"; exit 1; }
  file "$bin" | grep -q 'ARM aarch64' || { echo "$bin is not an arm64 binary: $(file "$bin")"; exit 1; }
  printf '%-15s %10s bytes %8s bytes\n' "$f" "$(stat -c %s "$bin")" "$(stat -c %s "$zip")"
done

# SAM's artefacts: one per function resource, named by its Binary.
"$TOOLS/sam-venv/bin/python" - "$build_dir/build" <<'EOF'
import pathlib, subprocess, sys
import yaml  # PyYAML, a SAM CLI dependency

build = pathlib.Path(sys.argv[1])

class Tagged(yaml.SafeLoader):
    pass

Tagged.add_multi_constructor("!", lambda loader, suffix, node: None)
template = yaml.load((build / "template.yaml").read_text(), Loader=Tagged)
failures, seen = [], 0
for name, resource in template["Resources"].items():
    if resource.get("Type") != "AWS::Serverless::Function":
        continue
    seen += 1
    binary = resource["Metadata"]["BuildProperties"]["Binary"]
    built = build / name / "bootstrap"
    if not built.is_file():
        failures.append(f"{name}: sam build made no {built}")
        continue
    arch = subprocess.run(["file", str(built)], capture_output=True, text=True).stdout
    if "ARM aarch64" not in arch:
        failures.append(f"{name}: not an arm64 binary: {arch}")
    own = pathlib.Path("target/lambda") / binary / "bootstrap"
    if built.read_bytes() != own.read_bytes():
        failures.append(f"{name}: SAM's bootstrap differs from cargo-lambda's {own}")
if seen != 4 or failures:
    sys.exit("\n".join(failures) or f"expected 4 functions, found {seen}")
print(f"sam build: {seen} functions, each an arm64 bootstrap identical to cargo-lambda's")
EOF
echo "cargo lambda build: ${cargo_took}s; sam build after it: ${sam_took}s"
