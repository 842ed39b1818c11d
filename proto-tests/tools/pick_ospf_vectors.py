#!/usr/bin/env python3
"""Pick captured OSPF packets and print them as a .hex vector file.

usage: pick_ospf_vectors.py WORKDIR > captured.hex

Reads WORKDIR/cap-<n>.pcap written by capture_ospf_vectors.sh. For each run
and each sender (told apart by the Router ID in the OSPF header), keeps the
first packet of each type, the first Database Description with headers, and
for every LSA type the first LS Update that carries one.

Output: a comment line `# <sender> <run> <packet kind> src <addr> dst <addr>`
(the addresses let the test recompute an OSPFv3 checksum), then the IP
payload (OSPF packet and any digest) as lowercase hex.
"""
import glob
import ipaddress
import os
import struct
import sys

RUNS = {
    240: "v2 p2p",
    241: "v2 broadcast",
    242: "v2 p2p md5",
    243: "v2 p2p hmac-sha-256",
    244: "v3 p2p",
    245: "v3 broadcast",
}
TYPES = {1: "Hello", 2: "DbDesc", 3: "LsRequest", 4: "LsUpdate", 5: "LsAck"}


def packets(path):
    """Yield (src, dst, payload) of every OSPF packet in a pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    pos = 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[pos:pos + 16])
        frame = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        if linktype == 1:
            ethertype = struct.unpack("!H", frame[12:14])[0]
            ip = frame[14:]
        elif linktype == 113:  # Linux cooked capture
            ethertype = struct.unpack("!H", frame[14:16])[0]
            ip = frame[16:]
        else:
            raise SystemExit(f"unsupported link type {linktype}")
        if ethertype == 0x0800:
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            if ip[9] != 89:
                continue
            src = ipaddress.ip_address(ip[12:16])
            dst = ipaddress.ip_address(ip[16:20])
            yield src, dst, ip[ihl:total]
        elif ethertype == 0x86DD:
            if ip[6] != 89:
                continue
            plen = struct.unpack("!H", ip[4:6])[0]
            src = ipaddress.ip_address(ip[8:24])
            dst = ipaddress.ip_address(ip[24:40])
            yield src, dst, ip[40:40 + plen]


def lsa_types(payload):
    """LS types in an LS Update."""
    version = payload[0]
    hlen = 24 if version == 2 else 16
    length = struct.unpack("!H", payload[2:4])[0]
    body = payload[hlen:length]
    count = struct.unpack("!I", body[:4])[0]
    pos = 4
    out = []
    for _ in range(count):
        if version == 2:
            t = body[pos + 3]
        else:
            t = struct.unpack("!H", body[pos + 2:pos + 4])[0]
        out.append(t)
        pos += struct.unpack("!H", body[pos + 18:pos + 20])[0]
    return out


def main():
    work = sys.argv[1]
    print("# Captured by proto-tests/tools/capture_ospf_vectors.sh from FRR 8.4 (ospfd,")
    print("# ospf6d) and BIRD 2.0 talking to each other in network namespaces; one IP")
    print("# payload (OSPF packet, then any digest) per line, lowercase hex.")
    for path in sorted(glob.glob(os.path.join(work, "cap-*.pcap"))):
        n = int(os.path.basename(path)[4:-5])
        run = RUNS.get(n, str(n))
        seen = set()
        for src, dst, payload in packets(path):
            if len(payload) < 16:
                continue
            rid = ipaddress.ip_address(payload[4:8])
            last = int(str(rid).split(".")[-1])
            if n == 243:
                sender = f"bird-{last}"
            else:
                sender = "frr" if last == 1 else "bird"
            ptype = payload[1]
            name = TYPES.get(ptype, str(ptype))
            keys = [name]
            if ptype == 2:
                hlen = 24 if payload[0] == 2 else 16
                length = struct.unpack("!H", payload[2:4])[0]
                fixed = 8 if payload[0] == 2 else 12
                keys = ["DbDesc empty" if length - hlen == fixed else "DbDesc with headers"]
            elif ptype == 4:
                keys = [f"LsUpdate with LS type {t:#x}" for t in lsa_types(payload)]
            new = [k for k in dict.fromkeys(keys) if (sender, k) not in seen]
            if not new:
                continue
            seen.update((sender, k) for k in new)
            what = new[0]
            if len(new) > 1:
                what += ", " + ", ".join(k.rsplit(" ", 1)[-1] for k in new[1:])
            print(f"# {sender} {run} {what} src {src} dst {dst}")
            print(payload.hex())


if __name__ == "__main__":
    main()
