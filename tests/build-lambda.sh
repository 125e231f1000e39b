#!/usr/bin/env bash
# Builds the deployment artefacts twice over, the way they are
# deployed, and checks they agree:
#   1. `cargo lambda build --release --arm64` (or `--x86-64`): one `bootstrap` per Lambda
#      function (chat-sessions, chat-messages, chat-files, chat-tenant),
#      zipped as Lambda takes them, under target/lambda/<function>/;
#   2. `sam build`: template.yaml's build metadata (BuildMethod
#      rust-cargolambda, each function's Binary) through SAM CLI's own
#      builder, which runs `cargo lambda build --release --arm64 --bin <Binary>`
#      in the function's package directory (its CodeUri; no container).
#      Same cargo-lambda, target directory,
#      flags and feature set as step 1, so cargo finds every crate fresh and
#      SAM only copies: the release build is paid once.
# Then each of SAM's artefacts must be a `bootstrap` of that architecture
# identical to cargo-lambda's.
#
# The architecture: LAMBDA_ARCH (arm64 | x86_64) when set, else arm64 when
# the toolchain has the aarch64-unknown-linux-gnu standard library, else
# x86_64 (the host's). The script never downloads a target's standard
# library: that is a toolchain component, not a registry package, and a
# machine that reaches package registries only cannot fetch it. SAM builds
# the same architecture through the template's `Architecture` parameter.
#
# Needs the Rust toolchain (rustup) and python3; installs, pinned and cached
# (tests/tools.sh), cargo-lambda from PyPI into a venv (it brings zig, the
# cross linker) and SAM CLI into another. A long release build (LTO, one codegen
# unit): tests/run.sh runs it in the background while the servers' steps
# leave cores idle. Prints each function's stripped binary and zip size
# (and fails when one passes LAMBDA_MAX_BYTES) and how long each half took.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/tools.sh

FUNCTIONS=(chat-sessions chat-messages chat-files chat-tenant)
# SAM copies each bootstrap from ./target/lambda/<binary>/ (its builder
# knows no other place), so the build goes to ./target whatever the caller's
# CARGO_TARGET_DIR.
export CARGO_TARGET_DIR="$PWD/target"
# No usage reports from SAM CLI: this script talks to package registries only.
export SAM_CLI_TELEMETRY=0
# The functions are optimised for size (LAMBDA_OPT_LEVEL, default z): they
# wait on DynamoDB and S3, not on the CPU, and a smaller bootstrap is less to
# fetch and page in on a cold start (BENCHMARKS.md, "Issue 17's targets":
# 10.0-14.2 MB against 14.8-19.7 MB at opt-level 3, init and warm requests
# no slower). Set for both builds below, so SAM's cargo-lambda run finds
# the same profile. chatctl's own release build keeps opt-level 3.
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${LAMBDA_OPT_LEVEL:-z}"
# They are linked as position-dependent executables (`-no-pie`; LAMBDA_PIE=1
# keeps PIE), as Go links its Lambda functions: a PIE carries a relocation
# for every pointer in its read-only data (vtables, tables of strings),
# 0.9-1.3 MB of `.rela.dyn` here, which the loader applies, copying those
# pages, at every cold start. The code is compiled as before (PIC); only the
# link changes. What it costs: the executable's own image is at a fixed
# address (shared libraries, heap and stack are still randomised). Set per
# target triple, so only the functions' build sees it (build scripts and
# proc macros are built for the host without it), and for SAM's run too.
if [ "${LAMBDA_PIE:-0}" != 1 ]; then
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-no-pie"
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-no-pie"
fi
# No bootstrap may pass this (stripped bytes): a regression guard above
# today's largest, chat-tenant, not the 10 MB goal.
max_bytes=${LAMBDA_MAX_BYTES:-14680064}

install_cargo_lambda
install_sam
if [ -z "${LAMBDA_ARCH:-}" ]; then
  if rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    LAMBDA_ARCH=arm64
  else
    LAMBDA_ARCH=x86_64
  fi
fi
case "$LAMBDA_ARCH" in
  arm64) arch_flag=--arm64; file_arch='ARM aarch64' ;;
  x86_64) arch_flag=--x86-64; file_arch='x86-64' ;;
  *) echo "LAMBDA_ARCH must be arm64 or x86_64, not $LAMBDA_ARCH"; exit 1 ;;
esac
echo "building the $LAMBDA_ARCH artefacts"
export LAMBDA_ARCH FILE_ARCH="$file_arch"

# cargo-lambda and its zig (python -m ziglang) from the venv; SAM finds
# `cargo` and `cargo-lambda` on PATH.
export PATH="$CARGO_LAMBDA_BIN:$PATH"
# By package (-p), as SAM builds each function in its package's directory
# (the template's CodeUri): cargo then resolves the functions' features
# alone. `--bin` from the workspace root would select every member and
# unify chatctl's features in (the embedded store among them).
bin_args=()
for f in "${FUNCTIONS[@]}"; do bin_args+=(-p "$f"); done

start=$SECONDS
cargo lambda build --release "$arch_flag" --output-format zip --locked "${bin_args[@]}"
cargo_took=$((SECONDS - start))

build_dir=$(mktemp -d)
trap 'rm -rf "$build_dir"' EXIT
start=$SECONDS
# --beta-features: SAM still calls its rust-cargolambda builder a beta.
"$SAM" build --beta-features --template-file template.yaml \
  --parameter-overrides "Architecture=$LAMBDA_ARCH" \
  --build-dir "$build_dir/build" --cache-dir "$build_dir/cache"
sam_took=$((SECONDS - start))

printf '\n%-15s %16s %14s\n' function "stripped binary" "zip"
for f in "${FUNCTIONS[@]}"; do
  # cargo-lambda moves the stripped binary here from target/<triple>/release.
  bin="target/lambda/$f/bootstrap"
  zip="target/lambda/$f/bootstrap.zip"
  [ -f "$bin" ] || { echo "missing $bin"; exit 1; }
  [ -f "$zip" ] || { echo "missing $zip"; exit 1; }
  file "$bin" | grep -q "$file_arch" || { echo "$bin is not an $LAMBDA_ARCH binary: $(file "$bin")"; exit 1; }
  if [ "${LAMBDA_PIE:-0}" != 1 ]; then
    file "$bin" | grep -q 'LSB executable' || { echo "$bin is not position-dependent: $(file "$bin")"; exit 1; }
  fi
  printf '%-15s %10s bytes %8s bytes\n' "$f" "$(stat -c %s "$bin")" "$(stat -c %s "$zip")"
  [ "$(stat -c %s "$bin")" -le "$max_bytes" ] || { echo "$bin is larger than $max_bytes bytes"; exit 1; }
done

# The artefacts leave the embedded store out (chat-shared's
# `embedded-store` feature, which only chatctl and the tests turn on): no
# redb source path among their panic locations, and, asked for the store,
# each refuses to start and says why (run only on a host of the
# artefacts' architecture).
for f in "${FUNCTIONS[@]}"; do
  if grep -q 'redb-[0-9]' "target/lambda/$f/bootstrap"; then
    echo "$f links redb: a workspace member's features were unified into the functions' build"
    exit 1
  fi
done
case "$(uname -m)/$LAMBDA_ARCH" in
  x86_64/x86_64 | aarch64/arm64)
    for f in "${FUNCTIONS[@]}"; do
      out=$(env -i PATH="$PATH" CHAT_STORE=embedded CHAT_DATA_DIR="$build_dir/data" LOG_FORMAT=text METRICS=off \
        timeout 30 "target/lambda/$f/bootstrap" 2>&1) && { echo "$f started on the embedded store"; exit 1; }
      grep -q "this build has no embedded store" <<<"$out" || { echo "$f did not say why it stopped: $out"; exit 1; }
    done
    echo "each bootstrap refuses CHAT_STORE=embedded: built without the embedded store"
    ;;
  *) echo "not run here: the $LAMBDA_ARCH bootstraps' refusal of the embedded store (host $(uname -m))" ;;
esac

# SAM's artefacts: one per function resource, named by its Binary.
"$TOOLS/sam-venv/bin/python" - "$build_dir/build" <<'EOF'
import os, pathlib, subprocess, sys
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
    if os.environ["FILE_ARCH"] not in arch:
        failures.append(f"{name}: not an {os.environ['LAMBDA_ARCH']} binary: {arch}")
    own = pathlib.Path("target/lambda") / binary / "bootstrap"
    if built.read_bytes() != own.read_bytes():
        failures.append(f"{name}: SAM's bootstrap differs from cargo-lambda's {own}")
if seen != 4 or failures:
    sys.exit("\n".join(failures) or f"expected 4 functions, found {seen}")
print(f"sam build: {seen} functions, each an {os.environ['LAMBDA_ARCH']} bootstrap identical to cargo-lambda's")
EOF
echo "cargo lambda build: ${cargo_took}s; sam build after it: ${sam_took}s"
