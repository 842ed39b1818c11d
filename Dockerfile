# vipd container image: the `vipd:latest` that the containerlab topologies
# (containerlab/*.clab.yml) run on their vipd nodes.
#
#   docker build -t vipd:latest .        (BuildKit: Docker 23 or newer)
#   docker run --rm -v "$PWD/configs/examples/minimal.toml:/etc/vipd/vipd.toml:ro" \
#       vipd:latest check --config /etc/vipd/vipd.toml
#
# Stage 1 builds vipd with exactly the command CI uses for its release build
# (proto-tests/test-all.sh, "cargo build --locked --release"; the proto-test
# dockerfile_matches_ci checks that the two stay the same).
# The binary is stripped of the debug info the release profile keeps.
# Stage 2 is Debian bookworm-slim (the same glibc as the builder) with the
# binary, and runs it as the unprivileged user `vipd` (uid and gid 179).
#
# Capabilities: the binary carries them as file capabilities, so vipd gets
# them although it does not run as root:
#   CAP_NET_BIND_SERVICE  [speaker] listen on port 179, metrics on a port < 1024
#   CAP_NET_ADMIN         interface VIPs and interface checks (netlink)
#   CAP_NET_RAW           OSPF (raw IP protocol 89)
# The kernel refuses to run a binary whose file capabilities are not all in
# the container's bounding set, and Docker's default set lacks NET_ADMIN: run
# the image with `--cap-add NET_ADMIN` (`cap-add: [NET_ADMIN]` in containerlab;
# the topologies in containerlab/ set it). `ip` gets CAP_NET_ADMIN too, so a
# topology's `exec` lines (addresses and routes, run as the image's user) work.
#
# python3 runs the HTTP service behind the VIPs in the anycast topologies
# (configs/anycast-ecmp/http-service.py); iproute2 is for the `exec` lines.

# Pinned: the toolchain CI builds with, on the Debian release of the runtime.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# The whole tree (.dockerignore leaves out target/, .git and fuzzing data):
# Cargo.toml names test and bench targets that must exist to build at all.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --locked --release \
    && install -s -m 0755 target/release/vipd /usr/local/bin/vipd

FROM debian:bookworm-slim AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Unpinned versions on purpose: bookworm point releases replace them, and a
# pinned version would stop building.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates iproute2 libcap2-bin procps python3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 179 vipd \
    && useradd --system --uid 179 --gid vipd --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin vipd \
    && install -d -o vipd -g vipd -m 0755 /etc/vipd /run/vipd
COPY --from=build /usr/local/bin/vipd /usr/local/bin/vipd
# Run it once before setcap: afterwards the build container (no NET_ADMIN in
# its bounding set) could not execute it any more.
RUN /usr/local/bin/vipd --version \
    && setcap cap_net_admin,cap_net_raw,cap_net_bind_service+ep /usr/local/bin/vipd \
    && setcap cap_net_admin+ep "$(readlink -f /usr/bin/ip)" \
    && getcap /usr/local/bin/vipd | grep -q cap_net_admin

# The user `vipd` (uid 179, as BGP's port), numeric so any runtime resolves it.
USER 179:179
WORKDIR /etc/vipd
ENTRYPOINT ["/usr/local/bin/vipd"]
CMD ["run", "--config", "/etc/vipd/vipd.toml"]
