#!/usr/bin/env python3
"""Pick one captured message of each kind and print it as a .hex vector file.

usage: pick_vectors.py ROUTER CAPTURE.jsonl > ROUTER.hex

Output: a `# <router> <what>` comment line, then one full message (marker
included) as lowercase hex, for each of: OPEN (IPv4 transport), OPEN (IPv6
transport), KEEPALIVE, UPDATE with IPv4 NLRI and communities, UPDATE with
MP_REACH_NLRI IPv6, End-of-RIB, NOTIFICATION Cease.
"""
import json
import struct
import sys


def attributes(msg: bytes):
    """Yield (flags, type, value) of an UPDATE's path attributes."""
    body = msg[19:]
    withdrawn_len = struct.unpack("!H", body[:2])[0]
    pos = 2 + withdrawn_len
    attrs_len = struct.unpack("!H", body[pos:pos + 2])[0]
    pos += 2
    end = pos + attrs_len
    while pos < end:
        flags, code = body[pos], body[pos + 1]
        if flags & 0x10:
            length = struct.unpack("!H", body[pos + 2:pos + 4])[0]
            pos += 4
        else:
            length = body[pos + 2]
            pos += 3
        yield flags, code, body[pos:pos + length]
        pos += length


def nlri_len(msg: bytes) -> int:
    body = msg[19:]
    withdrawn_len = struct.unpack("!H", body[:2])[0]
    attrs_len = struct.unpack("!H", body[2 + withdrawn_len:4 + withdrawn_len])[0]
    return len(body) - 4 - withdrawn_len - attrs_len


def main():
    router, path = sys.argv[1], sys.argv[2]
    records = [json.loads(line) for line in open(path)]
    picks = {}

    def pick(what, record):
        picks.setdefault(what, record)

    for r in records:
        msg = bytes.fromhex(r["hex"])
        v6 = ":" in r["peer"]
        if r["type"] == "OPEN":
            pick("OPEN (IPv6 transport)" if v6 else "OPEN (IPv4 transport)", r)
        elif r["type"] == "KEEPALIVE":
            pick("KEEPALIVE", r)
        elif r["type"] == "NOTIFICATION" and msg[19] == 6:
            pick(f"NOTIFICATION Cease subcode {msg[20]}", r)
        elif r["type"] == "UPDATE":
            attrs = {code: value for _, code, value in attributes(msg)}
            if not attrs and nlri_len(msg) == 0 and len(msg) == 23:
                pick("UPDATE End-of-RIB IPv4 unicast", r)
            elif 15 in attrs and len(attrs) == 1 and attrs[15][:3] == b"\x00\x02\x01" and len(attrs[15]) == 3:
                pick("UPDATE End-of-RIB IPv6 unicast (empty MP_UNREACH_NLRI)", r)
            elif nlri_len(msg) > 0 and 8 in attrs:
                pick("UPDATE IPv4 NLRI with communities, large communities, MED", r)
            elif 14 in attrs and attrs[14][:3] == b"\x00\x02\x01":
                pick("UPDATE MP_REACH_NLRI IPv6 unicast with communities, large communities, MED", r)
    order = [
        "OPEN (IPv4 transport)",
        "OPEN (IPv6 transport)",
        "KEEPALIVE",
        "UPDATE IPv4 NLRI with communities, large communities, MED",
        "UPDATE MP_REACH_NLRI IPv6 unicast with communities, large communities, MED",
        "UPDATE End-of-RIB IPv4 unicast",
        "UPDATE End-of-RIB IPv6 unicast (empty MP_UNREACH_NLRI)",
    ] + sorted(k for k in picks if k.startswith("NOTIFICATION"))
    missing = [w for w in order[:5] if w not in picks] + ([] if any(k.startswith("NOTIFICATION") for k in picks) else ["NOTIFICATION"])
    if missing:
        sys.exit(f"{router}: no captured message for: {', '.join(missing)}")
    print(f"# Captured from a real {router} session by proto-tests/tools/capture_vectors.sh;")
    print("# one full message (marker included) per line, lowercase hex.")
    for what in order:
        if what in picks:
            print(f"# {router} {what}")
            print(picks[what]["hex"])


if __name__ == "__main__":
    main()
