#!/usr/bin/env bash
# Fuzz smoke run: builds the cargo-fuzz targets (fuzz/) on stable Rust and
# runs each for a bounded time from the seeded corpora; fails if any target
# finds a crash (a panic, a promise of fuzz/src/lib.rs broken) or an input
# that runs longer than the timeout (a parser worse than linear).
#
# Usage: scripts/fuzz-smoke.sh [SECONDS_PER_TARGET] [TARGET...]
#   FUZZ_TOOLCHAIN=+1.95.0   the toolchain (default: cargo's default)
#   FUZZ_TIMEOUT=10          seconds one input may take
#   FUZZ_MAX_LEN=65536       the largest input libFuzzer builds
# Stable only: no sanitizer (ASan needs nightly's -Zsanitizer; safe Rust's
# bugs are panics, which libFuzzer sees without it), and cargo-fuzz's other
# flags (-Cpasses=sancov-module, -Cllvm-args) are stable codegen options.
# Findings go to fuzz/artifacts/<target>/; reproduce one with
#   cd fuzz && cargo fuzz run --sanitizer none <target> artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-10}
shift || true
toolchain=${FUZZ_TOOLCHAIN:-}
timeout=${FUZZ_TIMEOUT:-10}
max_len=${FUZZ_MAX_LEN:-65536}
# cargo-fuzz 0.13.2 builds with Rust 1.95 (and needs no nightly with
# --sanitizer none).
version=0.13.2

if ! cargo $toolchain fuzz --version 2>/dev/null | grep -qF "$version"; then
    cargo $toolchain install --locked "cargo-fuzz@$version"
fi

bash scripts/fuzz-seeds.sh >/dev/null

# fuzz/Cargo.lock is committed: refuse to build with other versions than it
# names (after a dependency change in ../Cargo.toml, update it with
# `cd fuzz && cargo update -p mqttforge`).
cargo $toolchain metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

cd fuzz
# --dev with fuzz/Cargo.toml's dev profile (dependencies unoptimized, the
# mqttforge crate at opt-level 1, no debug info; debug assertions and
# overflow checks on): the two CI targets from scratch took 367 s of CPU,
# against 758 s as release at opt-level 1 and about 700 s as cargo-fuzz's
# release default (opt-level 3, one codegen unit). See the README's Fuzzing
# section for the speed of execution it costs.
build=(--dev --sanitizer none)
started=$(date +%s)
if [ $# -gt 0 ]; then
    targets=("$@")
    for target in "${targets[@]}"; do
        cargo $toolchain fuzz build "${build[@]}" "$target"
    done
else
    mapfile -t targets < <(cargo $toolchain fuzz list)
    cargo $toolchain fuzz build "${build[@]}"
fi
echo "fuzz-smoke: built in $(($(date +%s) - started)) s"

failed=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    log=$(mktemp)
    if cargo $toolchain fuzz run "${build[@]}" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout="$timeout" -max_len="$max_len" \
        -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$target")
        tail -n 60 "$log"
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corpus=$(find "corpus/$target" -type f | wc -l)
    printf 'fuzz-smoke: %-24s %-6s %9s execs %6s/s cov %6s corpus %5s\n' \
        "$target" "$status" "${execs:-?}" "${speed:-?}" "${cov:-?}" "$corpus"
    rm -f "$log"
done
echo "fuzz-smoke: done in $(($(date +%s) - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz-smoke: crashes or timeouts in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
