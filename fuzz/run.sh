#!/usr/bin/env bash
# Every cargo-fuzz target of the repository, each for SECONDS (default 60):
# fuzz/ (VietQR, wire payloads and topics, tickets and ids, tariff files and
# configuration, Modbus replies, webhook bodies) and tag-reader/fuzz (reader
# frames, Wiegand, camera frames). CI runs it briefly (`fuzz/run.sh 10`);
# run it longer on demand. Installs cargo-fuzz if it is missing. A target
# that crashes leaves its input in <crate>/artifacts/<target>/ and fails
# the run. Built without a sanitizer (safe Rust: a panic is the finding) and,
# with FUZZ_DEV=1, unoptimised (quicker to build, slower to run).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
export RUSTC_BOOTSTRAP=1 # cargo-fuzz's flags on a stable toolchain
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
profile=()
[ -n "${FUZZ_DEV:-}" ] && profile=(--dev)
failed=0
for crate in fuzz tag-reader/fuzz; do
  (cd "$crate" && cargo fuzz build -s none "${profile[@]}")
  for target in $(cd "$crate" && cargo fuzz list); do
    printf '%s/%s: ' "$crate" "$target"
    log="$(mktemp)"
    if (cd "$crate" && cargo fuzz run -s none "${profile[@]}" "$target" -- \
        -max_total_time="$SECONDS_EACH" -max_len=4096 >"$log" 2>&1); then
      grep -E '^Done [0-9]+ runs' "$log" || echo done
    else
      failed=1
      echo "FAILED"
      grep -E -A12 'panicked|ERROR: libFuzzer' "$log" | head -30
    fi
    rm -f "$log"
  done
done
exit "$failed"
