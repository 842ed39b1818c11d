#!/usr/bin/env bash
# Live demo of vipd on the anycast-ecmp lab (containerlab/anycast-ecmp.clab.yml,
# the same file containerlab and the proto-tests use): three servers offer one
# web service on the same address (a "VIP"), and a router spreads a client's
# requests over them. vipd on each server tells the router, over BGP, whether
# that server can take traffic. The demo breaks a server, repairs it, and takes
# one out for maintenance, while counting the client's failed requests.
#
# One command on a fresh Debian machine, from the repository root, as root:
#     sudo proto-tests/demo.sh
# DEMO_PAUSE=0 drops the pause before each step (default 1.5 s).
#
# Everything runs in network namespaces named vipd-demo-<node>, with addresses
# only from 10.255.0.0/16, 198.18.0.0/15 and fd00::/8. Every process,
# namespace and temporary file is removed on exit, on error and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"

TOPOLOGY="$REPO/containerlab/anycast-ecmp.clab.yml"
PREFIX="vipd-demo"
ROUTER="router"
CLIENT="client"
VIP4="198.18.0.10"
VIP6="fd00:198:18::10"
# Requests per second the client sends, each on a new connection.
RATE=20
# drain_time of the VIPs in configs/anycast-ecmp/nodeN/vipd.toml.
DRAIN_TIME_S=2
# FRR's pathspace: its sockets live in /var/run/frr/<pathspace>.
PATHSPACE="vipddemo"
PY=/usr/bin/python3

WORK=""
PIDS=()
NAMESPACES=()
FRR_RUN=""
CLIENT_PID=""
declare -A HTTP_PID=()
declare -A NODE_BEHIND=()   # router interface -> node
declare -A CONFIG=()        # node -> its bound daemon config (host path)

# --- output ------------------------------------------------------------------

if [ -t 1 ]; then
    BOLD=$'\e[1m'; RED=$'\e[31m'; GREEN=$'\e[32m'; RESET=$'\e[0m'
else
    BOLD=""; RED=""; GREEN=""; RESET=""
fi
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
        for log in "$WORK"/*.log; do
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
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[i]}"
    done
    wait 2>/dev/null
    for ns in "${NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null
        rm -rf -- "/etc/netns/$ns"
    done
    [ -n "$FRR_RUN" ] && rm -rf -- "$FRR_RUN"
    [ -n "$WORK" ] && rm -rf -- "$WORK"
    if [ "$status" -eq 0 ]; then
        echo "   Cleaned up: processes, namespaces and temporary files are gone."
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT
trap 'exit 143' TERM

# Starts a background process and remembers its pid for the cleanup.
# Usage: spawn VAR LOG command...   (sets VAR to the pid)
spawn() {
    local var="$1" log="$2"
    shift 2
    "$@" >>"$log" 2>&1 &
    local spawned=$!
    PIDS+=("$spawned")
    printf -v "$var" '%s' "$spawned"
}

# --- 0. prerequisites --------------------------------------------------------

printf '%s== 0. Checking prerequisites%s\n' "$BOLD" "$RESET"
[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces need it): sudo $0"

need=()
for pkg in frr iproute2 python3 python3-yaml; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for binary in /usr/lib/frr/zebra /usr/lib/frr/bgpd /usr/bin/vtysh "$PY"; do
    [ -x "$binary" ] || die "$binary is missing"
done

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
ok "$(/usr/lib/frr/zebra --version | head -n 1), $(ip -V | sed -n 's/.*iproute2-\([^ ,]*\).*/iproute2 \1/p'), $("${CARGO[@]}" --version)"

# --- 1. build ----------------------------------------------------------------

section "1. Building vipd (cargo build --locked --release, as CI and the Dockerfile do)"
say "(a few minutes the first time; cargo's output is shown only if it fails)"
WORK="$(mktemp -d /tmp/vipd-demo.XXXXXX)"
if ! "${CARGO[@]}" build --locked --release >"$WORK/build.out" 2>&1; then
    tail -n 40 "$WORK/build.out" >&2
    die "cargo build --locked --release failed"
fi
VIPD="${CARGO_TARGET_DIR:-$REPO/target}/release/vipd"
[ -x "$VIPD" ] || die "built, but $VIPD is missing"
ok "$VIPD"

# --- 2. the lab --------------------------------------------------------------

# The topology file as tab-separated lines: node NAME / bind NODE HOST-PATH /
# exec NODE COMMAND / link A A-IF B B-IF. Bind paths are resolved against
# containerlab/, as containerlab does.
read_topology() {
    "$PY" - "$TOPOLOGY" <<'EOF'
import os, sys, yaml
path = sys.argv[1]
base = os.path.dirname(path)
topo = yaml.safe_load(open(path))["topology"]
for name, node in topo["nodes"].items():
    print(f"node\t{name}")
    for bind in node.get("binds") or []:
        host = os.path.normpath(os.path.join(base, bind.split(":")[0]))
        print(f"bind\t{name}\t{host}")
    for line in node.get("exec") or []:
        print(f"exec\t{name}\t{line}")
for link in topo.get("links") or []:
    (a, a_if), (b, b_if) = (e.split(":") for e in link["endpoints"])
    print(f"link\t{a}\t{a_if}\t{b}\t{b_if}")
EOF
}

section "2. Creating the lab network from containerlab/anycast-ecmp.clab.yml"
cat <<'EOF'
      One client, one router, three servers (node1, node2, node3):

                                         +---- node1   each server has the VIP
      client ----- router (FRR) ---------+---- node2   198.18.0.10 and runs a
                                         +---- node3   small web service on it

      The client sends every request to 198.18.0.10; the router decides which
      server gets it. vipd on each server tells the router "send me traffic
      for 198.18.0.10" only while that server's web service answers.
EOF
NODES=(); EXECS=(); LINKS=()
while IFS=$'\t' read -r kind a b c d; do
    case "$kind" in
        node) NODES+=("$a") ;;
        bind)
            case "$(basename "$b")" in
                vipd.toml | frr.conf) CONFIG[$a]="$b" ;;
            esac
            ;;
        exec) EXECS+=("$a"$'\t'"$b") ;;
        link) LINKS+=("$a $b $c $d") ;;
    esac
done < <(read_topology)
[ ${#NODES[@]} -gt 0 ] || die "could not read $TOPOLOGY"
SERVERS=()
for node in "${NODES[@]}"; do
    case "${CONFIG[$node]:-}" in *vipd.toml) SERVERS+=("$node") ;; esac
done
[ ${#SERVERS[@]} -eq 3 ] || die "expected three vipd nodes in $TOPOLOGY, found ${SERVERS[*]}"

# Leftovers of a demo that was killed with SIGKILL: its own namespaces only.
for node in "${NODES[@]}"; do
    ns="$PREFIX-$node"
    if ip netns list | awk '{print $1}' | grep -qxF -- "$ns"; then
        say "removing $ns left over from an earlier run"
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns"
    fi
    rm -rf -- "/etc/netns/$ns"
done
rm -rf -- "/var/run/frr/$PATHSPACE"

for node in "${NODES[@]}"; do
    ns="$PREFIX-$node"
    ip netns add "$ns"
    NAMESPACES+=("$ns")
    ip -n "$ns" link set lo up
done
for link in "${LINKS[@]}"; do
    read -r a a_if b b_if <<<"$link"
    ip link add name "$a_if" netns "$PREFIX-$a" type veth peer name "$b_if" netns "$PREFIX-$b"
    ip -n "$PREFIX-$a" link set "$a_if" up
    ip -n "$PREFIX-$b" link set "$b_if" up
    [ "$a" = "$ROUTER" ] && NODE_BEHIND[$a_if]="$b"
    [ "$b" = "$ROUTER" ] && NODE_BEHIND[$b_if]="$a"
done
for entry in "${EXECS[@]}"; do
    node="${entry%%$'\t'*}"
    line="${entry#*$'\t'}"
    ip netns exec "$PREFIX-$node" sh -c "$line" || die "exec on $node failed: $line"
done
# Each server's own /etc/vipd (as a container would have): `ip netns exec`
# mounts /etc/netns/<namespace>/vipd over /etc/vipd, which must exist. An
# empty /etc/vipd is left in place afterwards (proto-tests running at the
# same time may be mounting over it too).
mkdir -p /etc/vipd
for node in "${SERVERS[@]}"; do
    mkdir -p "/etc/netns/$PREFIX-$node/vipd"
done
ok "namespaces: ${NAMESPACES[*]}"

# --- 3. router and servers ---------------------------------------------------

section "3. Starting the router (FRR) and, on each server, the web service and vipd"
NS_R="$PREFIX-$ROUTER"
vtysh_r() { ip netns exec "$NS_R" vtysh -N "$PATHSPACE" "$@"; }
FRR_RUN="/var/run/frr/$PATHSPACE"
mkdir -p "$FRR_RUN"
chown frr:frr "$FRR_RUN"
frr_args=(-N "$PATHSPACE" -u frr -g frr -P 0 --log stdout --log-level informational)
spawn ZEBRA_PID "$WORK/router-zebra.log" ip netns exec "$NS_R" /usr/lib/frr/zebra "${frr_args[@]}"
for _ in $(seq 1 100); do
    [ -S "$FRR_RUN/zserv.api" ] && [ -S "$FRR_RUN/zebra.vty" ] && break
    kill -0 "$ZEBRA_PID" 2>/dev/null || die "zebra exited"
    sleep 0.1
done
spawn BGPD_PID "$WORK/router-bgpd.log" ip netns exec "$NS_R" /usr/lib/frr/bgpd "${frr_args[@]}"
for _ in $(seq 1 100); do
    [ -S "$FRR_RUN/bgpd.vty" ] && vtysh_r -c "show bgp summary" >/dev/null 2>&1 && break
    kill -0 "$BGPD_PID" 2>/dev/null || die "bgpd exited"
    sleep 0.1
done
vtysh_r -f "${CONFIG[$ROUTER]}" >"$WORK/vtysh.out" 2>&1 || die "FRR refused ${CONFIG[$ROUTER]}: $(cat "$WORK/vtysh.out")"
ok "FRR (zebra + bgpd) runs with ${CONFIG[$ROUTER]#"$REPO"/}"
say "Its 'maximum-paths 8' lets it use up to 8 servers for one address at once (ECMP)."

HTTP_SERVICE="$REPO/configs/anycast-ecmp/http-service.py"
start_http() {
    local node="$1" log="$WORK/$1-http.log" pid=""
    : >"$log"
    spawn pid "$log" ip netns exec "$PREFIX-$node" "$PY" -u "$HTTP_SERVICE" --name "$node" \
        --pidfile /etc/vipd/http-service.pid "$VIP4" "$VIP6"
    HTTP_PID[$node]="$pid"
    for _ in $(seq 1 100); do
        grep -q '^listening' "$log" && return 0
        kill -0 "$pid" 2>/dev/null || die "the web service on $node exited: $(cat "$log")"
        sleep 0.05
    done
    die "the web service on $node did not start"
}
for node in "${SERVERS[@]}"; do
    start_http "$node"
    spawn pid "$WORK/$node.log" env NO_COLOR=1 ip netns exec "$PREFIX-$node" "$VIPD" run \
        --config "${CONFIG[$node]}" --control-socket "$WORK/$node.sock"
done
ok "web service and vipd running on ${SERVERS[*]}"
say "Each vipd checks its web service every 200 ms (configs/anycast-ecmp/nodeN/vipd.toml)."

# --- helpers on the router's forwarding table ---------------------------------

# The servers the router sends traffic for address $2 (family $1: -4/-6) to.
servers_for() {
    local family="$1" vip="$2"
    ip -n "$NS_R" "$family" route show exact "$vip" | { grep -o 'dev [^ ]*' || true; } |
        awk '{print $2}' | while read -r dev; do echo "${NODE_BEHIND[$dev]:-?}"; done | sort | xargs echo
}

# Waits until the router sends both VIPs to exactly the servers in $1
# ("node1 node3"); prints the wait in ms since $2 (a now_ms value).
wait_servers() {
    local want="$1" start="$2" deadline=$(($(date +%s) + 20))
    while [ "$(servers_for -4 "$VIP4")" != "$want" ] || [ "$(servers_for -6 "$VIP6")" != "$want" ]; do
        [ "$(date +%s)" -lt "$deadline" ] ||
            die "after 20 s the router sends $VIP4 to '$(servers_for -4 "$VIP4")', not '$want'"
        sleep 0.02
    done
    echo $(($(now_ms) - start))
}

show_router_routes() {
    local servers
    servers="$(servers_for -4 "$VIP4")"
    local count
    count="$(wc -w <<<"$servers")"
    ok "The router now sends VIP traffic to $count server(s): ${servers// /, }"
    say "(its kernel routing table, which forwards the packets:)"
    ip -n "$NS_R" -4 route show exact "$VIP4" | indent
}

# --- client traffic -----------------------------------------------------------

cat >"$WORK/client.py" <<'EOF'
# Sends RATE requests/s to http://VIP/, each on a new connection, and appends
# one line per request to LOG: "<start> <end> ok <server>" or
# "<start> <end> fail <reason>" (times in seconds since the epoch).
import socket, sys, threading, time
vip, rate, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = open(log, "a", buffering=1)
lock = threading.Lock()
def request():
    start = time.time()
    try:
        with socket.create_connection((vip, 80), timeout=1) as s:
            s.settimeout(1)
            s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].split()
        if len(status) > 1 and status[1] == b"200":
            result = "ok " + body.decode(errors="replace").strip()
        else:
            result = "fail bad-response"
    except ConnectionRefusedError:
        result = "fail connection-refused"
    except ConnectionResetError:
        result = "fail connection-reset"
    except socket.timeout:
        result = "fail timeout"
    except OSError as e:
        result = "fail " + type(e).__name__
    with lock:
        out.write(f"{start:.3f} {time.time():.3f} {result}\n")
due = time.time()
while True:
    due += 1 / rate
    threading.Thread(target=request, daemon=True).start()
    time.sleep(max(0, due - time.time()))
EOF
CLIENT_LOG="$WORK/client-requests.log"

# Counts the client's requests that started in [$1, $2) (ms; $2 empty: until
# now): "OK FAILED per-server", e.g. "57 0 node1:19 node2:19 node3:19".
traffic() {
    local from="$1" to="${2:-99999999999999}"
    local window
    window="$(awk -v from="$from" -v to="$to" '{ t = $1 * 1000 } t >= from && t < to' "$CLIENT_LOG")"
    local counts
    counts="$(awk '$3 == "ok" { ok++ } $3 == "fail" { failed++ } END { printf "%d %d", ok, failed }' <<<"$window")"
    local servers
    servers="$(awk '$3 == "ok" { print $4 }' <<<"$window" | sort | uniq -c | awk '{ printf " %s:%s", $2, $1 }')"
    echo "$counts$servers"
}

# One line of running totals.
traffic_line() {
    local ok failed rest
    read -r ok failed rest <<<"$(traffic 0)"
    say "Client so far: $ok OK, $failed failed   (answered by: ${rest:-nobody yet})"
}

# The failed requests that started in [$1, $2), each with its time after $1.
failures_between() {
    awk -v from="$1" -v to="$2" '
        { t = $1 * 1000 }
        t >= from && t < to && $3 == "fail" { printf "+%d ms: %s\n", t - from, $4 }' "$CLIENT_LOG"
}

# --- 4. announced ------------------------------------------------------------

section "4. vipd announces the VIP once each web service answers"
start=$(now_ms)
took=$(wait_servers "node1 node2 node3" "$start")
say "All three servers announced $VIP4 and $VIP6 over BGP ($took ms after vipd started)."
show_router_routes
say "The router picks a server for each new connection by hashing its addresses and"
say "ports, so different connections go to different servers."

section "5. The client starts sending $RATE requests per second to http://$VIP4/"
spawn CLIENT_PID "$WORK/client.log" ip netns exec "$PREFIX-$CLIENT" "$PY" -u "$WORK/client.py" \
    "$VIP4" "$RATE" "$CLIENT_LOG"
sleep 3
traffic_line

# --- 6. failure ----------------------------------------------------------------

section "6. Breaking node1: its web service is killed (as if it crashed)"
say "vipd on node1 notices the dead service and tells the router to stop sending"
say "traffic for the VIP to node1 (a BGP 'withdraw'). Requests that reach node1 before"
say "the router has heard it fail: they are counted below."
kill_at=$(now_ms)
# (wait: reaps it quietly, without bash's "Killed" job notice)
{ kill -KILL "${HTTP_PID[node1]}" && wait "${HTTP_PID[node1]}"; } 2>/dev/null || true
gone=$(wait_servers "node2 node3" "$kill_at")
ok "node1 left the router's table $gone ms after its web service died."
sleep 1
end=$(now_ms)
read -r window_ok window_failed _ <<<"$(traffic "$kill_at" "$end")"
say "Requests sent in that second: $window_ok OK, $window_failed failed."
if [ "$window_failed" -gt 0 ]; then
    say "The failed ones (time after the kill):"
    failures_between "$kill_at" "$end" | indent
fi
say "From node1's vipd log:"
{ grep -m 3 -E 'check.*(down|failed)|withdraw' "$WORK/node1.log" || true; } |
    sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^[0-9T:.-]*Z *//' -e 's/ vipd::[a-z_:]*: / /' |
    cut -c1-150 | indent
show_router_routes
traffic_line

# --- 7. recovery ---------------------------------------------------------------

section "7. Repairing node1: its web service starts again"
say "vipd wants 2 good checks in a row (rise = 2, one every 200 ms) before it tells"
say "the router that node1 can take traffic again."
back_at=$(now_ms)
start_http node1
took=$(wait_servers "node1 node2 node3" "$back_at")
ok "node1 is back in the router's table $took ms after its web service started."
show_router_routes
sleep 1
end=$(now_ms)
read -r rejoin_ok rejoin_failed _ <<<"$(traffic "$back_at" "$end")"
say "Requests sent meanwhile: $rejoin_ok OK, $rejoin_failed failed."
if [ "$rejoin_failed" -gt 0 ]; then
    failures_between "$back_at" "$end" | indent
    say "(When the router changes its list of servers, it re-spreads connections: one"
    say "that is open at that very moment may land on another server, which resets it."
    say "That is how ECMP routers work; new connections are not affected.)"
fi
traffic_line

# --- 8. drain ------------------------------------------------------------------

section "8. Maintenance on node2: 'vipd drain' takes it out gently"
say "A drain first asks the router to prefer the other servers (BGP GRACEFUL_SHUTDOWN),"
say "while node2 keeps answering; after the drain time (${DRAIN_TIME_S} s) vipd withdraws the VIP."
say "New connections go elsewhere at once, and nothing is refused along the way."
drain_at=$(now_ms)
"$VIPD" drain --all --socket "$WORK/node2.sock" | indent
took=$(wait_servers "node1 node3" "$drain_at")
ok "The router stopped sending new connections to node2 $took ms after the drain."
sleep $((DRAIN_TIME_S + 1))
end=$(now_ms)
show_router_routes
read -r drain_ok drain_failed _ <<<"$(traffic "$drain_at" "$end")"
if [ "$drain_failed" -eq 0 ]; then
    ok "Drained node2 with 0 failed requests ($drain_ok requests sent during the drain)."
else
    printf '   %sDrained node2 with %d failed requests (of %d):%s\n' \
        "$RED" "$drain_failed" "$((drain_ok + drain_failed))" "$RESET"
    failures_between "$drain_at" "$end" | indent
fi
say "Maintenance done: 'vipd undrain' puts node2 back."
undrain_at=$(now_ms)
"$VIPD" undrain --all --socket "$WORK/node2.sock" | indent
took=$(wait_servers "node1 node2 node3" "$undrain_at")
ok "node2 is back in the router's table $took ms after the undrain."

# --- done ----------------------------------------------------------------------

section "Done"
stop_pid "$CLIENT_PID"
read -r total_ok total_failed rest <<<"$(traffic 0)"
say "The client sent $((total_ok + total_failed)) requests: $total_ok OK, $total_failed failed:"
say "  $window_failed while node1's dead service was still in the router's table (step 6),"
say "  $drain_failed during the drain (step 8), $((total_failed - window_failed - drain_failed)) at any other time."
say "Answered by: $rest"
