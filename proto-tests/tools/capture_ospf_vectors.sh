#!/usr/bin/env bash
# Capture real OSPF packets between FRR (ospfd/ospf6d) and BIRD for the
# OSPF codec's byte vectors (src/ospf/wire/testdata/*.hex). Needs root.
#
#   frr ns (10.255.24N.1, fd00:255:24N::1)  <--veth eth1-->  bird ns (.2, ::2)
#
# Runs, one link each:
#   240  OSPFv2 point-to-point, null authentication, externals both ways
#   241  OSPFv2 broadcast (BIRD priority 0, so FRR is DR and sends a Network-LSA)
#   242  OSPFv2 point-to-point, keyed MD5 key id 1
#   243  OSPFv2 point-to-point, BIRD <-> BIRD, HMAC-SHA-256 key id 2
#   244  OSPFv3 point-to-point (ospf6d <-> BIRD)
#   245  OSPFv3 broadcast (Network-LSA, Intra-Area-Prefix-LSA for the network)
# Each run is captured with tcpdump on the FRR side for ~15 s, then
# pick_ospf_vectors.py picks one packet of each kind from each sender.
#
# usage: capture_ospf_vectors.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: capture_ospf_vectors.sh OUTDIR}
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
work=$(mktemp -d /tmp/vipd-ospf-capture.XXXXXX)
chmod 755 "$work"
pids=()
namespaces=()
pathspaces=()

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    for p in "${pathspaces[@]}"; do rm -rf "/var/run/frr/$p"; done
    [ -n "${KEEP_CAPTURE:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

make_link() { # n -> namespaces vcapo-N-a (frr side), vcapo-N-b (bird side)
    local n=$1 a=vcapo-$1-a b=vcapo-$1-b
    ip netns add "$a"; namespaces+=("$a")
    ip netns add "$b"; namespaces+=("$b")
    ip link add eth1 netns "$a" type veth peer name eth1 netns "$b"
    for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
    ip -n "$a" addr add 10.255.$n.1/24 dev eth1
    ip -n "$a" addr add fd00:255:$n::1/64 dev eth1 nodad
    ip -n "$a" addr add 198.18.$n.1/32 dev lo
    ip -n "$a" addr add fd00:198:18:$n::1/128 dev lo
    ip -n "$b" addr add 10.255.$n.2/24 dev eth1
    ip -n "$b" addr add fd00:255:$n::2/64 dev eth1 nodad
    ip -n "$b" addr add 198.18.$n.2/32 dev lo
    ip -n "$b" addr add fd00:198:18:$n::2/128 dev lo
    ip -n "$a" link set eth1 up
    ip -n "$b" link set eth1 up
}

start_capture() { # n
    ip netns exec vcapo-$1-a tcpdump -i eth1 -U -w "$work/cap-$1.pcap" 'ip proto 89 or ip6 proto 89' \
        >"$work/tcpdump-$1.log" 2>&1 &
    pids+=($!)
    sleep 1
}

start_frr() { # n daemon conf
    local n=$1 daemon=$2 p=vcapo$1
    pathspaces+=("$p")
    mkdir -p /var/run/frr/$p && chown frr:frr /var/run/frr/$p
    ip netns exec vcapo-$n-a /usr/lib/frr/zebra -N $p -u frr -g frr -P 0 --log "file:$work/zebra-$n.log" \
        >/dev/null 2>&1 &
    pids+=($!)
    sleep 1
    ip netns exec vcapo-$n-a /usr/lib/frr/$daemon -N $p -u frr -g frr -P 0 --log "file:$work/$daemon-$n.log" \
        >/dev/null 2>&1 &
    pids+=($!)
    sleep 1
    vtysh -N $p -f "$3"
}

start_bird() { # n ns-side conf
    ip netns exec vcapo-$1-$2 bird -f -c "$3" -s "$work/bird-$1-$2.ctl" -P "$work/bird-$1-$2.pid" \
        >"$work/bird-$1-$2.out" 2>&1 &
    pids+=($!)
}

frr_v2_conf() { # n network-type extra-interface-lines
    cat <<CONF
frr defaults traditional
hostname frr$1
interface eth1
 ip ospf network $2
 ip ospf hello-interval 1
 ip ospf dead-interval 4
$3
router ospf
 ospf router-id 10.255.$1.1
 network 10.255.$1.0/24 area 0
 redistribute connected
CONF
}

bird_v2_conf() { # n type extra-interface-lines
    cat <<CONF
router id 10.255.$1.2;
protocol device {}
protocol direct { ipv4; interface "lo"; }
protocol ospf v2 o2 {
  ipv4 { import all; export where source = RTS_DEVICE; };
  area 0 { interface "eth1" { type $2; hello 1; dead 4; priority 0; $3 }; };
}
CONF
}

run_v2() { # n frr-network bird-type frr-extra bird-extra
    local n=$1
    make_link $n; start_capture $n
    frr_v2_conf $n "$2" "$4" >"$work/frr-$n.conf"
    bird_v2_conf $n "$3" "$5" >"$work/bird-$n.conf"
    start_bird $n b "$work/bird-$n.conf"
    start_frr $n ospfd "$work/frr-$n.conf"
    sleep 15
}

run_v2_bird_pair() { # n extra
    local n=$1
    make_link $n; start_capture $n
    for side in a b; do
        local id=1; [ $side = b ] && id=2
        cat >"$work/bird-$n-$side.conf" <<CONF
router id 10.255.$n.$id;
protocol device {}
protocol direct { ipv4; interface "lo"; }
protocol ospf v2 o2 {
  ipv4 { import all; export where source = RTS_DEVICE; };
  area 0 { interface "eth1" { type ptp; hello 1; dead 4; $2 }; };
}
CONF
        start_bird $n $side "$work/bird-$n-$side.conf"
    done
    sleep 15
}

run_v3() { # n frr-network bird-type
    local n=$1
    make_link $n; start_capture $n
    cat >"$work/frr-$n.conf" <<CONF
frr defaults traditional
hostname frr$n
interface eth1
 ipv6 ospf6 area 0
 ipv6 ospf6 network $2
 ipv6 ospf6 hello-interval 1
 ipv6 ospf6 dead-interval 4
router ospf6
 ospf6 router-id 10.255.$n.1
 redistribute connected
CONF
    cat >"$work/bird-$n.conf" <<CONF
router id 10.255.$n.2;
protocol device {}
protocol direct { ipv6; interface "lo"; }
protocol ospf v3 o3 {
  ipv6 { import all; export where source = RTS_DEVICE; };
  area 0 { interface "eth1" { type $3; hello 1; dead 4; priority 0; }; };
}
CONF
    start_bird $n b "$work/bird-$n.conf"
    start_frr $n ospf6d "$work/frr-$n.conf"
    sleep 15
}

md5_frr=" ip ospf authentication message-digest
 ip ospf message-digest-key 1 md5 vipdtest"
md5_bird='authentication cryptographic; password "vipdtest" { id 1; algorithm keyed md5; };'
sha_bird='authentication cryptographic; password "vipdtest" { id 2; algorithm hmac sha256; };'

run_v2 240 point-to-point ptp "" ""
run_v2 241 broadcast broadcast "" ""
run_v2 242 point-to-point ptp "$md5_frr" "$md5_bird"
run_v2_bird_pair 243 "$sha_bird"
run_v3 244 point-to-point ptp
run_v3 245 broadcast broadcast

for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
sleep 1
mkdir -p "$out"
python3 "$here/pick_ospf_vectors.py" "$work" >"$out/captured.hex"
echo "wrote $out/captured.hex"
