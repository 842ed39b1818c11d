#!/usr/bin/env bash
# Capture real BGP messages from BIRD, FRR and GoBGP for the codec's byte
# vectors (src/bgp/wire/testdata/<router>.hex). Needs root.
#
#   recorder ns (AS 65099, passive)  <--veth-->  router ns (AS 65000, active)
#   10.255.25N.2 / fd00:255:25N::2               10.255.25N.1 / fd00:255:25N::1
#
# 1. start bgp_recorder.py in the recorder namespace, listening on [::]:179
# 2. start the router with one IPv4-transport session (ipv4 unicast, one /24
#    with community 65000:100, large community 65000:1:1, MED 10) and one
#    IPv6-transport session (ipv6 unicast, one /64 with the same attributes)
# 3. wait for OPEN, KEEPALIVE, UPDATEs, then administratively shut the IPv4
#    session down so the router sends a NOTIFICATION Cease
# 4. pick one message of each kind and write them as lowercase hex
#
# usage: capture_vectors.sh OUTDIR [bird|frr|gobgp ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: capture_vectors.sh OUTDIR [routers...]}
shift
routers=("${@:-bird frr gobgp}")
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
work=$(mktemp -d /tmp/vipd-capture.XXXXXX)
pids=()
namespaces=()

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf /var/run/frr/vcapfrr
    [ -n "${KEEP_CAPTURE:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

make_link() { # n -> namespaces vcap-N-rt, vcap-N-rec
    local n=$1 rt=vcap-$1-rt rec=vcap-$1-rec
    ip netns add "$rt"; namespaces+=("$rt")
    ip netns add "$rec"; namespaces+=("$rec")
    ip link add vcap$n-a netns "$rt" type veth peer name vcap$n-b netns "$rec"
    for ns in "$rt" "$rec"; do ip -n "$ns" link set lo up; done
    ip -n "$rt" link set vcap$n-a name eth1
    ip -n "$rec" link set vcap$n-b name eth1
    ip -n "$rt" addr add 10.255.$n.1/24 dev eth1
    ip -n "$rt" addr add fd00:255:$n::1/64 dev eth1 nodad
    ip -n "$rec" addr add 10.255.$n.2/24 dev eth1
    ip -n "$rec" addr add fd00:255:$n::2/64 dev eth1 nodad
    ip -n "$rt" link set eth1 up
    ip -n "$rec" link set eth1 up
}

start_recorder() { # n name
    ip netns exec vcap-$1-rec python3 "$here/bgp_recorder.py" "$work/$2.jsonl" 65099 10.255.$1.2 60 \
        >"$work/$2-recorder.log" 2>&1 &
    pids+=($!)
    sleep 0.5
}

capture_bird() {
    local n=250
    make_link $n; start_recorder $n bird
    cat >"$work/bird.conf" <<CONF
router id 10.255.$n.1;
log "$work/bird.log" all;
protocol device {}
protocol static s4 { ipv4; route 198.18.100.0/24 blackhole; }
protocol static s6 { ipv6; route fd00:198:18:100::/64 blackhole; }
filter add_attrs { bgp_community.add((65000,100)); bgp_large_community.add((65000,1,1)); bgp_med = 10; accept; }
protocol bgp rec4 {
  local 10.255.$n.1 as 65000; neighbor 10.255.$n.2 as 65099;
  hold time 9; connect retry time 1;
  ipv4 { import all; export filter add_attrs; };
}
protocol bgp rec6 {
  local fd00:255:$n::1 as 65000; neighbor fd00:255:$n::2 as 65099;
  hold time 9; connect retry time 1;
  ipv6 { import all; export filter add_attrs; };
}
CONF
    ip netns exec vcap-$n-rt bird -f -c "$work/bird.conf" -s "$work/bird.ctl" -P "$work/bird.pid" \
        >"$work/bird.out" 2>&1 &
    pids+=($!)
    sleep 6
    birdc -s "$work/bird.ctl" disable rec4
    sleep 2
}

capture_frr() {
    local n=251
    make_link $n; start_recorder $n frr
    mkdir -p /var/run/frr/vcapfrr && chown frr:frr /var/run/frr/vcapfrr
    cat >"$work/frr.conf" <<CONF
frr defaults traditional
hostname vcap-frr
route-map TAG permit 10
 set community 65000:100
 set large-community 65000:1:1
 set metric 10
router bgp 65000
 bgp router-id 10.255.$n.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.255.$n.2 remote-as 65099
 neighbor 10.255.$n.2 timers 3 9
 neighbor 10.255.$n.2 timers connect 1
 neighbor fd00:255:$n::2 remote-as 65099
 neighbor fd00:255:$n::2 timers 3 9
 neighbor fd00:255:$n::2 timers connect 1
 address-family ipv4 unicast
  network 198.18.101.0/24
  neighbor 10.255.$n.2 route-map TAG out
  no neighbor fd00:255:$n::2 activate
 exit-address-family
 address-family ipv6 unicast
  network fd00:198:18:101::/64
  neighbor fd00:255:$n::2 activate
  neighbor fd00:255:$n::2 route-map TAG out
 exit-address-family
CONF
    ip netns exec vcap-$n-rt /usr/lib/frr/zebra -N vcapfrr -u frr -g frr -P 0 --log "file:$work/zebra.log" \
        >"$work/zebra.out" 2>&1 &
    pids+=($!)
    sleep 1
    ip netns exec vcap-$n-rt /usr/lib/frr/bgpd -N vcapfrr -u frr -g frr -P 0 --log "file:$work/bgpd.log" \
        >"$work/bgpd.out" 2>&1 &
    pids+=($!)
    sleep 1
    vtysh -N vcapfrr -f "$work/frr.conf" 2>/dev/null
    sleep 6
    vtysh -N vcapfrr -c 'configure terminal' -c 'router bgp 65000' -c "neighbor 10.255.$n.2 shutdown" 2>/dev/null
    sleep 2
}

capture_gobgp() {
    local n=252
    make_link $n; start_recorder $n gobgp
    cat >"$work/gobgpd.toml" <<CONF
[global.config]
  as = 65000
  router-id = "10.255.$n.1"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.255.$n.2"
    peer-as = 65099
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "fd00:255:$n::2"
    peer-as = 65099
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
CONF
    ip netns exec vcap-$n-rt gobgpd -f "$work/gobgpd.toml" --api-hosts 127.0.0.1:50051 -p --pprof-disable \
        >"$work/gobgpd.log" 2>&1 &
    pids+=($!)
    sleep 2
    ip netns exec vcap-$n-rt gobgp global rib -a ipv4 add 198.18.102.0/24 \
        community 65000:100 large-community 65000:1:1 med 10
    ip netns exec vcap-$n-rt gobgp global rib -a ipv6 add fd00:198:18:102::/64 \
        community 65000:100 large-community 65000:1:1 med 10
    sleep 6
    ip netns exec vcap-$n-rt gobgp neighbor 10.255.$n.2 disable
    sleep 2
}

for r in ${routers[@]}; do
    "capture_$r"
    python3 "$here/pick_vectors.py" "$r" "$work/$r.jsonl" >"$out/$r.hex"
    echo "wrote $out/$r.hex"
done
