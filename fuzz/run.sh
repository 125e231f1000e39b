#!/usr/bin/env bash
# Coverage-guided fuzzing on stable Rust: AFL++ through cargo-afl (both from
# crates.io, cargo-afl pinned; the AFL++ runtime is built once by
# `cargo afl config --build`). Builds the targets of src/bin instrumented
# (the workspace member chat-fuzz, profile `fuzz`: binaries in
# target/fuzz/, beside and not over the workspace's other builds) and
# fuzzes each for FUZZ_SECONDS (default 60), starting from corpus/NAME;
# fails when AFL++ records a crash (a panic, a failed check, an abort).
#   fuzz/run.sh [target...]        targets: files context (default: both)
set -euo pipefail
cd "$(dirname "$0")"
TARGET_DIR="${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}"

TOOLS="${CHAT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-platform}"
CARGO_AFL_VERSION=0.18.2
SECONDS_EACH="${FUZZ_SECONDS:-60}"
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(files context)

if [ ! -x "$TOOLS/cargo-afl/bin/cargo-afl" ]; then
  echo "installing cargo-afl $CARGO_AFL_VERSION into $TOOLS/cargo-afl"
  cargo install cargo-afl --version "$CARGO_AFL_VERSION" --locked --root "$TOOLS/cargo-afl"
fi
export PATH="$TOOLS/cargo-afl/bin:$PATH"
# Builds AFL++ for this rustc once; says so (and fails) when it is built already.
if ! out=$(cargo afl config --build 2>&1); then
  grep -q "already built" <<<"$out" || { echo "$out"; exit 1; }
fi

cargo afl build --profile fuzz --locked -p chat-fuzz --features afl --bins

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
status=0
for target in "${TARGETS[@]}"; do
  echo "fuzzing $target for ${SECONDS_EACH}s"
  AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    AFL_BENCH_UNTIL_CRASH=1 \
    cargo afl fuzz -i "corpus/$target" -o "$WORK/$target" -V "$SECONDS_EACH" \
    "$TARGET_DIR/fuzz/$target" >"$WORK/$target.log" 2>&1 || {
      echo "afl-fuzz failed for $target:"; tail -40 "$WORK/$target.log"; exit 1; }
  stats="$WORK/$target/default/fuzzer_stats"
  grep -E '^(execs_done|corpus_count|saved_crashes|saved_hangs|bitmap_cvg|run_time) ' "$stats" | sed "s/^/  $target: /"
  crashes=$(find "$WORK/$target/default/crashes" -type f ! -name README.txt | wc -l)
  if [ "$crashes" -gt 0 ]; then
    echo "$target: $crashes crashing input(s); kept in fuzz/findings/$target"
    mkdir -p "findings/$target"
    cp "$WORK/$target/default/crashes/"id* "findings/$target/"
    status=1
  fi
done
exit $status
