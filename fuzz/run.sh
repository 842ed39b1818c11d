#!/bin/sh
# Runs every cargo-fuzz target for a bounded time, seeded with the working
# corpus (fuzz/corpus/<target>, gitignored), the committed seeds
# (fuzz/seeds/<target>, made by fuzz/make_seeds.py from the test vectors)
# and the regression corpus (fuzz/regressions: the conformance cases and
# past crashers; fuzz/regressions/<target>/ for the targets whose input is
# not one whole BGP message). docs/fuzzing.md has the details.
#
#   fuzz/run.sh                          each target for 60 s
#   VIPD_FUZZ_SECONDS=600 fuzz/run.sh    (FUZZ_SECONDS works too)
#   fuzz/run.sh ospf_packet config_load  only these targets
#   VIPD_FUZZ_SANITIZER=none fuzz/run.sh no AddressSanitizer (what CI
#                                        does): builds faster, runs ~10x as
#                                        many inputs; safe Rust bounds-checks
#                                        every access anyway
#   VIPD_FUZZ_JOBS=2 fuzz/run.sh         two targets at a time
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a toolchain that takes
# -Z flags: nightly if installed, else stable with RUSTC_BOOTSTRAP=1. When
# either is missing it says so and exits 0, so it can be called anywhere.
# Exits non-zero when a target does not build or finds a crash, a timeout
# or an allocation over the limit: the input is in fuzz/artifacts/<target>/;
# fix the bug, then copy the input into fuzz/regressions/ (message_decode,
# frame_stream) or fuzz/regressions/<target>/ (the others) so
# `cargo test --lib regressions` keeps checking it.
set -eu

cd "$(dirname "$0")"
seconds="${VIPD_FUZZ_SECONDS:-${FUZZ_SECONDS:-60}}"
sanitizer="${VIPD_FUZZ_SANITIZER:-address}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 1
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

if [ $# -gt 0 ]; then
    targets="$*"
else
    targets="$(cargo $toolchain fuzz list)"
fi
if [ -z "$targets" ]; then
    echo "fuzz/run.sh: cargo fuzz list found no targets" >&2
    exit 1
fi

# One build for every target, so a build failure is not mistaken for a crash.
start=$(date +%s)
if ! cargo $toolchain fuzz build --sanitizer "$sanitizer"; then
    echo "fuzz/run.sh: the fuzz targets do not build" >&2
    exit 1
fi
echo "fuzz/run.sh: built in $(($(date +%s) - start))s (sanitizer $sanitizer)"

# Runs one target; its libFuzzer output goes to artifacts/<target>/run.log
# (printed when it fails, its final stats otherwise).
run_target() {
    target="$1"
    mkdir -p "corpus/$target" "artifacts/$target"
    # The first directory receives new inputs; the others are only read.
    dirs="corpus/$target"
    for d in "seeds/$target" "regressions/$target"; do
        if [ -d "$d" ]; then dirs="$dirs $d"; fi
    done
    case "$target" in
        # Whole BGP messages: the top-level regression files are theirs.
        message_decode | frame_stream) dirs="$dirs regressions" ;;
    esac
    # A BGP message is at most 4096 octets (RFC 4271 4.1); a config file may
    # be longer (configs/examples/full.toml is 16 KB).
    case "$target" in
        config_load) max_len=32768 ;;
        *) max_len=4096 ;;
    esac
    marker="artifacts/$target/.started"
    log="artifacts/$target/run.log"
    touch "$marker"
    # The BGP and OSPF targets check their own allocation bound
    # (alloc_bound.rs) on every input. -malloc_limit_mb (with ASan): one
    # allocation above 64 MB is a crash; no input is over 32 KB.
    # -rss_limit_mb bounds the whole process (ASan's shadow memory
    # included). -timeout: one input taking 10 s is a hang.
    # shellcheck disable=SC2086 # $dirs is a list of directories
    if cargo $toolchain fuzz run --sanitizer "$sanitizer" "$target" $dirs -- \
        -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=64 -print_final_stats=1 >"$log" 2>&1; then
        echo "fuzz/run.sh: $target passed: $(grep -E '^Done [0-9]+ runs' "$log" || true)" \
            "$(grep -E '^stat::(new_units_added|peak_rss_mb)' "$log" | tr '\n' ' ' | tr -s ' ')"
        return 0
    fi
    tail -n 60 "$log" >&2
    echo "fuzz/run.sh: $target FAILED (log: $PWD/$log); reproducers:" >&2
    find "$PWD/artifacts/$target" -type f -newer "$marker" ! -name run.log >&2
    echo "fuzz/run.sh: replay one with: cd fuzz && cargo fuzz run $target artifacts/$target/<file>" >&2
    return 1
}

# VIPD_FUZZ_JOBS targets at a time (each libFuzzer process uses one core).
jobs="${VIPD_FUZZ_JOBS:-1}"
echo "fuzz/run.sh: each target for ${seconds}s, $jobs at a time"
status=0
pids=""
running=0
for target in $targets; do
    run_target "$target" &
    pids="$pids $!"
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        for pid in $pids; do
            wait "$pid" || status=1
        done
        pids=""
        running=0
    fi
done
for pid in $pids; do
    wait "$pid" || status=1
done
exit $status
