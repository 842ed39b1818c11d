#!/bin/sh
# Runs every cargo-fuzz target for a bounded time, seeded with the working
# corpus (fuzz/corpus/<target>, gitignored) and the regression corpus
# (fuzz/regressions, committed: the conformance cases and past crashers).
#
#   fuzz/run.sh                 each target for 60 s
#   FUZZ_SECONDS=600 fuzz/run.sh
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a toolchain that takes
# -Z flags: nightly if installed, else stable with RUSTC_BOOTSTRAP=1. When
# either is missing it says so and exits 0, so CI can call it anywhere.
# Exits non-zero when a target finds a crash: the input is in
# fuzz/artifacts/<target>/; copy it into fuzz/regressions/ (any name) so
# `cargo test --lib regressions` keeps checking it.
set -eu

cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: cargo-fuzz is not installed (cargo install cargo-fuzz); not fuzzing."
    exit 0
fi

# A toolchain that accepts the sanitizer flags cargo-fuzz passes.
toolchain=""
if cargo +nightly --version >/dev/null 2>&1; then
    toolchain="+nightly"
elif RUSTC_BOOTSTRAP=1 rustc -Z help >/dev/null 2>&1; then
    export RUSTC_BOOTSTRAP=1
    echo "fuzz/run.sh: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1."
else
    echo "fuzz/run.sh: no nightly toolchain and RUSTC_BOOTSTRAP=1 is refused; not fuzzing."
    exit 0
fi

targets="$(cargo $toolchain fuzz list)"
if [ -z "$targets" ]; then
    echo "fuzz/run.sh: cargo fuzz list found no targets" >&2
    exit 1
fi

status=0
for target in $targets; do
    # Build first, so that a build failure is not mistaken for a crash.
    if ! cargo $toolchain fuzz build "$target"; then
        echo "fuzz/run.sh: $target does not build" >&2
        status=1
        continue
    fi
    mkdir -p "corpus/$target"
    echo "fuzz/run.sh: $target for ${seconds}s"
    # The first corpus directory receives new inputs; regressions/ is only
    # read. -max_len matches the largest BGP message (RFC 4271 4.1).
    if ! cargo $toolchain fuzz run "$target" "corpus/$target" regressions -- \
        -max_total_time="$seconds" -max_len=4096 -print_final_stats=1; then
        echo "fuzz/run.sh: $target FAILED; crash inputs are in fuzz/artifacts/$target/" >&2
        status=1
    fi
done
exit $status
