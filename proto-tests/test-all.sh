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
echo "== cargo build"
cargo build --locked
echo "== unit tests"
cargo test --locked --lib --bins
echo "== failover benchmark switch (the benchmark runs only with VIPD_BENCH=1; here it must skip)"
env -u VIPD_BENCH cargo test --locked --test failover_bench
echo "== proto-tests (BIRD $(bird --version 2>&1 | awk '{print $3}'), FRR, GoBGP)"
# Most of a proto-test is waiting on routers and timers, so run more of them
# at once than there are cores.
cargo test --locked --test proto -- --test-threads 6
