#!/usr/bin/env bash
# vipd's performance benchmarks against GoBGP, ExaBGP and BIRD, in one run
# on this machine (method and latest results: BENCHMARKS.md). As root:
#   sudo proto-tests/bench.sh
# Installs what is missing (bird2, gobgpd, exabgp, tcpdump), builds in
# release, runs every benchmark at the issue's sizes (about 15 minutes on
# 2 cores), prints the results table and writes it to
# target/vipd-bench-results.md, then runs the criterion codec benchmarks.
# Sizes come from the environment, e.g. VIPD_BENCH_N=1000,100000,
# VIPD_BENCH_ONLY=announce,churn, VIPD_BENCH_SMOKE=1 (tiny, as CI runs it);
# see proto-tests/bench/main.rs. VIPD_BENCH_CODEC=0 skips criterion.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "bench.sh: run as root (the benchmarks create network namespaces)" >&2
    exit 1
fi
need=()
for pkg in bird2 gobgpd exabgp tcpdump iproute2; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

VIPD_BENCH=1 cargo test --release --test vipd_bench
if [ "${VIPD_BENCH_CODEC:-1}" != 0 ]; then
    cargo bench --bench codec
fi
