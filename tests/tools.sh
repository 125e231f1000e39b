# Sourced by the test scripts: every tool the suite installs, pinned, in one
# place. Each install_* is cached (under $TOOLS, or the system for chromium)
# and does nothing when its pinned version is there already, so tests/run.sh
# can start them all in the background while the CPU compiles and each
# script still works on its own.

TOOLS="${CHAT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-platform}"
TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

CFN_LINT_PIN=(cfn-lint==1.58.0 aws-sam-translator==1.115.0)
# kms, secretsmanager and ssm: the tenant secrets' and provider keys' tests.
MOTO_PIN=(moto[dynamodb,s3,kms,secretsmanager,ssm]==5.2.5 flask==3.1.3 flask-cors==6.0.5)
SCHEMATHESIS_PIN=(schemathesis==4.32.5)
# cargo-lambda from PyPI brings zig, the cross linker for the arm64 build.
CARGO_LAMBDA_PIN=(cargo-lambda==1.9.2)
# SAM CLI: `sam build` runs the template's rust-cargolambda build method
# (cargo-lambda on PATH, no container).
SAM_PIN=(aws-sam-cli==1.170.0)
S3S_VERSION=0.14.1

# install_venv NAME PIN...: a venv at $TOOLS/NAME holding exactly PIN.
install_venv() {
  local name=$1; shift
  local venv="$TOOLS/$name"
  [ "$(cat "$venv/.pins" 2>/dev/null)" = "$*" ] && return 0
  echo "installing $* into $venv"
  mkdir -p "$TOOLS"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$*" >"$venv/.pins"
}

install_cfn_lint() { install_venv cfn-lint-venv "${CFN_LINT_PIN[@]}"; }
install_moto() { install_venv moto-venv "${MOTO_PIN[@]}"; }
install_schemathesis() { install_venv schemathesis-venv "${SCHEMATHESIS_PIN[@]}"; }
install_cargo_lambda() { install_venv cargo-lambda-venv "${CARGO_LAMBDA_PIN[@]}"; }
install_sam() { install_venv sam-venv "${SAM_PIN[@]}"; }
CARGO_LAMBDA_BIN="$TOOLS/cargo-lambda-venv/bin"
SAM="$TOOLS/sam-venv/bin/sam"

# The S3-compatible server. A debug build without debug info: it serves a
# test suite (about 1 s of its CPU in the cloud suite), and the install takes
# 45% of the CPU time of a release build (93 s against 206 s, measured).
# Its own target directory, so it never waits on the workspace build's lock.
install_s3s_fs() {
  local root="$TOOLS/s3s-fs-$S3S_VERSION"
  [ -x "$root/bin/s3s-fs" ] && return 0
  echo "building s3s-fs $S3S_VERSION (debug) into $root"
  CARGO_PROFILE_DEV_DEBUG=0 cargo install s3s-fs --version "$S3S_VERSION" --locked --debug --features binary \
    --root "$root" --target-dir "$TOOLS/s3s-fs-build" || return 1
  rm -rf "$TOOLS/s3s-fs-build"
}
S3S_FS="$TOOLS/s3s-fs-$S3S_VERSION/bin/s3s-fs"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian's headless Chromium for the browser tests, when missing.
# With a Devanagari font (fonts-lohit-deva), so Hindi renders in the
# screenshots as visitors see it, not as empty boxes.
install_chromium() {
  [ -x /usr/bin/chromium ] && dpkg -s fonts-lohit-deva >/dev/null 2>&1 && return 0
  echo "installing chromium and fonts-lohit-deva (apt-get)"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-lohit-deva
}

# playwright-core for the browser tests: `npm ci`, skipped when
# node_modules was installed from this very package-lock.json.
install_node_modules() {
  local dir="$TESTS_DIR/browser" stamp
  stamp="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  [ "$(cat "$dir/node_modules/.lock-sha256" 2>/dev/null)" = "$stamp" ] && return 0
  (cd "$dir" && npm ci --no-audit --no-fund)
  echo "$stamp" >"$dir/node_modules/.lock-sha256"
}

# build_bins BIN...: the workspace's binaries, with the test targets so the
# dependencies get the features of `cargo test --workspace`: after that it
# builds at most the binaries themselves (a `-p` would rebuild most crates).
build_bins() {
  local args=() bin
  for bin in "$@"; do args+=(--bin "$bin"); done
  cargo build --locked --quiet --workspace --tests "${args[@]}"
}
