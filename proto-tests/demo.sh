#!/usr/bin/env bash
# Live demo of vipd: two nodes announce the same anycast VIP over BGP to one
# router, which spreads traffic over both (ECMP); stop one node and the router
# drops it from its next hops; start it again and it comes back.
#
# One command on a fresh Debian machine, as root:
#     sudo proto-tests/demo.sh
# (DEMO_PAUSE=0 drops the 1.5 s pause before each step.)
#
# Everything runs in network namespaces named vipd-demo-*, with addresses only
# from 10.255.0.0/16, 198.18.0.0/15 and fd00::/8. Processes, namespaces and the
# temporary directory are removed on exit, on error and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"

NS_R="vipd-demo-router"
NS_1="vipd-demo-node1"
NS_2="vipd-demo-node2"
VIP4="198.18.0.10"
VIP6="fd00:198:18::10"

WORK=""
BIRD_PID=""
NODE1_PID=""
NODE2_PID=""

# --- output helpers ----------------------------------------------------------

if [ -t 1 ]; then
    BOLD=$'\e[1m'; RED=$'\e[31m'; GREEN=$'\e[32m'; RESET=$'\e[0m'
else
    BOLD=""; RED=""; GREEN=""; RESET=""
fi
# A short pause before each step, so the output can be followed as it comes;
# DEMO_PAUSE=0 turns it off.
section() {
    sleep "${DEMO_PAUSE:-1.5}"
    printf '\n%s== %s%s\n' "$BOLD" "$*" "$RESET"
}
say() { printf '   %s\n' "$*"; }
ok() { printf '   %s%s%s\n' "$GREEN" "$*" "$RESET"; }
indent() { sed 's/^/      /'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

die() {
    printf '\n%sdemo.sh: %s%s\n' "$RED" "$*" "$RESET" >&2
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        for log in "$WORK"/bird.log "$WORK"/node1.log "$WORK"/node2.log; do
            [ -s "$log" ] || continue
            printf '\n--- last lines of %s\n' "$(basename "$log")" >&2
            tail -n 15 "$log" >&2
        done
    fi
    exit 1
}

# --- cleanup -----------------------------------------------------------------

stop_pid() {
    local pid="$1"
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    stop_pid "$NODE1_PID"
    stop_pid "$NODE2_PID"
    stop_pid "$BIRD_PID"
    wait 2>/dev/null
    for ns in "$NS_R" "$NS_1" "$NS_2"; do
        ip netns del "$ns" 2>/dev/null
    done
    [ -n "$WORK" ] && rm -rf -- "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT
trap 'exit 143' TERM

# --- 0. prerequisites --------------------------------------------------------

printf '%s== 0. Checking prerequisites%s\n' "$BOLD" "$RESET"
[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces need it): sudo $0"

if ! command -v bird >/dev/null || ! command -v birdc >/dev/null || ! command -v ip >/dev/null; then
    say "installing bird2 and iproute2 with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq bird2 iproute2 >/dev/null
fi
command -v bird >/dev/null || die "bird is still missing after installing bird2"

# cargo: in PATH, or (under sudo, which resets PATH) the invoking user's rustup
# toolchain, which is then also run as that user so target/ keeps its owner.
CARGO=(cargo)
if ! command -v cargo >/dev/null; then
    user_home=""
    if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
        user_home="$(getent passwd "$SUDO_USER" | cut -d: -f6)"
    fi
    if [ -n "$user_home" ] && [ -x "$user_home/.cargo/bin/cargo" ]; then
        CARGO=(sudo -u "$SUDO_USER" -H env "PATH=$user_home/.cargo/bin:$PATH" cargo)
    else
        die "cargo not found. Install a Rust toolchain (1.85 or newer), e.g. from https://rustup.rs, then run this again."
    fi
fi
ok "BIRD $(bird --version 2>&1 | awk '{print $3}'), $(ip -V | sed -n 's/.*iproute2-\([^ ,]*\).*/iproute2 \1/p'), $("${CARGO[@]}" --version)"

# --- 1. build ----------------------------------------------------------------

section "1. Building vipd (cargo build --release)"
say "(a few minutes the first time; cargo's output is shown only if it fails)"
WORK="$(mktemp -d /tmp/vipd-demo.XXXXXX)"
if ! "${CARGO[@]}" build --release >"$WORK/build.log" 2>&1; then
    tail -n 40 "$WORK/build.log" >&2
    die "cargo build --release failed"
fi
VIPD="${CARGO_TARGET_DIR:-$REPO/target}/release/vipd"
[ -x "$VIPD" ] || die "built, but $VIPD is missing"
ok "$VIPD"

# --- 2. network --------------------------------------------------------------

section "2. Creating the lab network (three network namespaces)"
cat <<'EOF'
      node 1 (vipd, AS 65001)    router (BIRD, AS 65000)        node 2 (vipd, AS 65001)
      eth0 10.255.1.2 ---------- to-node1 10.255.1.1
           fd00:255:1::2                  fd00:255:1::1
                                 to-node2 10.255.2.1 ---------- eth0 10.255.2.2
                                          fd00:255:2::1              fd00:255:2::2
      lo   198.18.0.10 (VIP)                                    lo   198.18.0.10 (VIP)
           fd00:198:18::10                                           fd00:198:18::10
EOF

# Leftovers of a demo that was killed with SIGKILL: its own namespaces only.
for ns in "$NS_R" "$NS_1" "$NS_2"; do
    if ip netns list | awk '{print $1}' | grep -qxF -- "$ns"; then
        say "removing $ns left over from an earlier run"
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns"
    fi
done

for ns in "$NS_R" "$NS_1" "$NS_2"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
for n in 1 2; do
    ns="vipd-demo-node$n"
    # One cable per node: "to-node$n" in the router, "eth0" in the node.
    ip -n "$NS_R" link add "to-node$n" type veth peer name eth0 netns "$ns"
    ip -n "$NS_R" addr add "10.255.$n.1/24" dev "to-node$n"
    ip -n "$NS_R" addr add "fd00:255:$n::1/64" dev "to-node$n" nodad
    ip -n "$NS_R" link set "to-node$n" up
    ip -n "$ns" addr add "10.255.$n.2/24" dev eth0
    ip -n "$ns" addr add "fd00:255:$n::2/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up
    # The VIP itself lives on each node's loopback, so either node can answer it.
    ip -n "$ns" addr add "$VIP4/32" dev lo
    ip -n "$ns" addr add "$VIP6/128" dev lo nodad
done
# Hash connections onto next hops by addresses and ports (default: addresses only).
ip netns exec "$NS_R" sysctl -qw net.ipv4.fib_multipath_hash_policy=1
ip netns exec "$NS_R" sysctl -qw net.ipv6.fib_multipath_hash_policy=1
ok "namespaces $NS_R, $NS_1, $NS_2 are up"

# --- 3. router ---------------------------------------------------------------

section "3. Starting the router (BIRD, AS 65000)"
say "It accepts BGP sessions from both nodes and installs what they announce"
say "into its kernel routing table; 'merge paths' lets one route have several next hops."
BIRD_SOCK="$WORK/bird.ctl"
cat >"$WORK/bird.conf" <<EOF
log "$WORK/bird.log" all;
router id 10.255.0.1;

protocol device { scan time 1; }

# ECMP: equally good BGP routes are merged into one kernel route with several
# next hops.
protocol kernel kernel4 {
    ipv4 { export all; };
    merge paths on;
}
protocol kernel kernel6 {
    ipv6 { export all; };
    merge paths on;
}

template bgp vipd_node {
    local as 65000;
    neighbor as 65001;
    passive on;               # the nodes connect to us
    hold time 9;
    error wait time 1, 5;     # accept a restarted node again right away
    ipv4 { import all; export none; };
    ipv6 { import all; export none; };
}
protocol bgp node1 from vipd_node { neighbor 10.255.1.2; source address 10.255.1.1; }
protocol bgp node2 from vipd_node { neighbor 10.255.2.2; source address 10.255.2.1; }
EOF
bird -p -c "$WORK/bird.conf" || die "BIRD refused the generated configuration"
ip netns exec "$NS_R" bird -f -c "$WORK/bird.conf" -s "$BIRD_SOCK" >"$WORK/bird.out" 2>&1 &
BIRD_PID=$!
for _ in $(seq 1 50); do
    [ -S "$BIRD_SOCK" ] && birdc -s "$BIRD_SOCK" show status >/dev/null 2>&1 && break
    kill -0 "$BIRD_PID" 2>/dev/null || die "BIRD exited: $(cat "$WORK/bird.out")"
    sleep 0.1
done
[ -S "$BIRD_SOCK" ] || die "BIRD did not open its control socket"
ok "BIRD running (pid $BIRD_PID), control socket $BIRD_SOCK"

# --- 4. nodes ----------------------------------------------------------------

write_node_config() {
    local n="$1"
    cat >"$WORK/node$n.toml" <<EOF
# vipd on node $n: one upstream router, one anycast VIP in each family.
[speaker]
asn = 65001
router_id = "10.255.$n.2"
hold_time = 9
connect_retry = 1
connect_retry_max = 2

[[peer]]
name = "router"
address = "10.255.$n.1"
remote_asn = 65000
local_address = "10.255.$n.2"
# IPv6 VIPs travel over this IPv4 session with an IPv6 next hop.
next_hop_ipv6 = "fd00:255:$n::2"

[[vip]]
prefix = "$VIP4/32"
communities = ["65000:100"]

[[vip]]
prefix = "$VIP6/128"
communities = ["65000:100"]
EOF
}

start_node() {
    local n="$1"
    NO_COLOR=1 ip netns exec "vipd-demo-node$n" "$VIPD" run --config "$WORK/node$n.toml" --control-socket "$WORK/node$n.sock" \
        >>"$WORK/node$n.log" 2>&1 &
    local pid=$!
    if [ "$n" = 1 ]; then NODE1_PID=$pid; else NODE2_PID=$pid; fi
}

# Prints the number of next hops the router's kernel has for a VIP (0 = no route).
next_hops() {
    local family="$1" vip="$2"
    ip -n "$NS_R" "$family" route show "$vip" | grep -c ' via ' || true
}

# Waits until the router has `want` next hops for both VIPs; prints the wait in ms.
wait_next_hops() {
    local want="$1" start="$2" deadline=$(($(date +%s) + 15))
    while [ "$(next_hops -4 "$VIP4")" != "$want" ] || [ "$(next_hops -6 "$VIP6")" != "$want" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "the router still does not have $want next hop(s) after 15 s"
        sleep 0.05
    done
    echo $(($(now_ms) - start))
}

show_kernel_routes() {
    say "The router's kernel routing table (what actually forwards packets):"
    {
        echo "\$ ip -n $NS_R route show $VIP4"
        ip -n "$NS_R" -4 route show "$VIP4"
        echo "\$ ip -n $NS_R -6 route show $VIP6"
        ip -n "$NS_R" -6 route show "$VIP6"
    } | indent
}

# Where would the router send 8 TCP connections (source ports 40001..40008) to
# port 80 of the VIP? Asks the kernel; the router hashes on ports too (see
# fib_multipath_hash_policy above), so different connections take different nodes.
show_flows() {
    local line="" port via
    say "Where the router would send 8 TCP connections to $VIP4:80 (by source port):"
    for port in $(seq 40001 40008); do
        via="$(ip -n "$NS_R" route get "$VIP4" ipproto tcp sport "$port" dport 80 |
            sed -n 's/.* via 10\.255\.\([12]\)\.2 .*/node \1/p')"
        line+="$(printf '%s -> %-8s' "$port" "${via:-?}")"
        if [ "$port" = 40004 ] || [ "$port" = 40008 ]; then
            printf '      %s\n' "$line"
            line=""
        fi
    done
}

# BIRD's BGP sessions, one line each.
show_sessions() {
    birdc -s "$BIRD_SOCK" show protocols | awk 'NR > 1 && ($1 == "Name" || $1 ~ /^node/)' | indent
}

# vipd's log lines without the timestamp and module path.
strip_log() {
    sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^[0-9T:.-]*Z *//' -e 's/ vipd::[a-z_:]*: / /'
}

section "4. Starting two vipd nodes that announce the same VIP"
say "Each node has the VIP on its loopback and tells the router over BGP:"
say "\"send traffic for $VIP4 and $VIP6 to me\". Node 1's config:"
write_node_config 1
write_node_config 2
grep -v '^#' "$WORK/node1.toml" | sed '/^$/d' | indent
say "'vipd check' validates it and says what it will do:"
"$VIPD" check --config "$WORK/node1.toml" | indent

start=$(now_ms)
start_node 1
start_node 2
deadline=$(($(date +%s) + 20))
for n in 1 2; do
    until grep -q 'session established' "$WORK/node$n.log"; do
        pid=$NODE1_PID; [ "$n" = 2 ] && pid=$NODE2_PID
        kill -0 "$pid" 2>/dev/null || die "vipd on node $n exited"
        [ "$(date +%s)" -lt "$deadline" ] || die "node $n: no BGP session with the router after 20 s"
        sleep 0.1
    done
done
ok "Both BGP sessions are up ($(($(now_ms) - start)) ms). From node 1's log:"
grep -m1 'session established' "$WORK/node1.log" | strip_log | indent
say "BIRD's view of its two BGP sessions:"
show_sessions
wait_next_hops 2 "$start" >/dev/null

# --- 5. ECMP -----------------------------------------------------------------

section "5. The router now has two next hops for the VIP (ECMP)"
say "BIRD received the VIP from both nodes (one line per node; '*' marks the one BIRD"
say "calls best, but both are equally good and both go into the kernel):"
birdc -s "$BIRD_SOCK" show route for "$VIP4" all | sed '1d' | indent
show_kernel_routes
say "Two 'nexthop via' lines: the router spreads connections to the VIP over both nodes."
show_flows

# --- 6. failure --------------------------------------------------------------

section "6. Stopping node 1 (SIGTERM, as 'systemctl stop' would)"
say "On SIGTERM vipd withdraws its VIPs and closes the session; the router removes node 1."
start=$(now_ms)
kill -TERM "$NODE1_PID"
wait "$NODE1_PID" || die "vipd on node 1 exited with status $? on SIGTERM"
NODE1_PID=""
took=$(wait_next_hops 1 "$start")
ok "The router is down to one next hop $took ms after the SIGTERM. Node 1's last log lines:"
grep -E 'shutting down|session closed' "$WORK/node1.log" | strip_log | indent
say "BIRD's view of its two BGP sessions (node 1 closed it with a reason):"
show_sessions
birdc -s "$BIRD_SOCK" show route for "$VIP4" | sed '1d' | indent
show_kernel_routes
say "Only node 2 is left, so every connection goes to node 2; nobody waited for a"
say "BGP timer to expire."
show_flows

# --- 7. recovery -------------------------------------------------------------

section "7. Starting node 1 again"
start=$(now_ms)
start_node 1
took=$(wait_next_hops 2 "$start")
ok "The router has two next hops again $took ms after node 1 started:"
birdc -s "$BIRD_SOCK" show route for "$VIP4" | sed '1d' | indent
show_kernel_routes
show_flows

section "Done"
say "Logs were in $WORK (removed now). Cleaning up: processes, namespaces, temp dir."
