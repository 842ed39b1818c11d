#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/seeds/<target>/ from the
project's test vectors. Rerun after the vectors change:

    python3 fuzz/make_seeds.py

- message_decode, frame_stream: every message in src/bgp/wire/testdata/*.hex.
- update_attributes: the Path Attributes field of every UPDATE in those
  files and in fuzz/regressions/, behind each control octet the target reads.
- open_capabilities: the Optional Parameters of every OPEN, in both the
  RFC 4271 and the RFC 9072 encoding.
- config_load: configs/**/vipd.toml and the examples.
- ospf_packet: every packet in src/ospf/wire/testdata/captured.hex (modes 0
  and 1) and every LSA body in its LS Updates (mode 2).
"""

import glob
import hashlib
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def hex_lines(path):
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            yield bytes.fromhex(line)


def bgp_messages():
    for path in sorted(glob.glob(os.path.join(ROOT, "src/bgp/wire/testdata/*.hex"))):
        yield from hex_lines(path)


def regression_messages():
    for path in sorted(glob.glob(os.path.join(ROOT, "fuzz/regressions/*.bin"))):
        yield open(path, "rb").read()


def write(target, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def update_attributes(msg):
    """The Path Attributes field of a whole UPDATE, or None."""
    if len(msg) < 23 or msg[18] != 2:
        return None
    wlen = int.from_bytes(msg[19:21], "big")
    at = 21 + wlen
    if at + 2 > len(msg):
        return None
    alen = int.from_bytes(msg[at : at + 2], "big")
    return msg[at + 2 : at + 2 + alen]


def open_params(msg):
    """(params, extended) of a whole OPEN, or None."""
    if len(msg) < 29 or msg[18] != 1:
        return None
    olen = msg[28]
    rest = msg[29:]
    if olen == 255 and rest[:1] == b"\xff" and len(rest) >= 3:
        return rest[3:], True
    return rest[:olen], False


def params_to_extended(params):
    """RFC 4271 parameters (1-octet lengths) in the RFC 9072 form."""
    out = b""
    i = 0
    while i + 2 <= len(params):
        t, n = params[i], params[i + 1]
        out += bytes([t]) + n.to_bytes(2, "big") + params[i + 2 : i + 2 + n]
        i += 2 + n
    return out


def ospf_lsa_bodies(pkt):
    """(ls_type, body) of every LSA in an OSPF LS Update."""
    if len(pkt) < 4 or pkt[1] != 4:
        return
    v = pkt[0]
    hdr = 24 if v == 2 else 16
    length = int.from_bytes(pkt[2:4], "big")
    body = pkt[hdr:length]
    if len(body) < 4:
        return
    count = int.from_bytes(body[:4], "big")
    i = 4
    for _ in range(count):
        if i + 20 > len(body):
            return
        lsa_len = int.from_bytes(body[i + 18 : i + 20], "big")
        if v == 2:
            ls_type = body[i + 3]
        else:
            ls_type = int.from_bytes(body[i + 2 : i + 4], "big")
        yield ls_type, body[i + 20 : i + lsa_len]
        i += lsa_len


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    for msg in bgp_messages():
        write("message_decode", msg)
        write("frame_stream", bytes([19]) + msg)
    for msg in list(bgp_messages()) + list(regression_messages()):
        attrs = update_attributes(msg)
        if attrs is not None:
            # The captured sessions negotiated 4-octet ASNs; the conformance
            # rows are 2-octet sessions. Both, with and without an NLRI.
            for control in (0, 1, 4, 5):
                write("update_attributes", bytes([control]) + attrs)
        found = open_params(msg)
        if found is not None:
            params, extended = found
            if extended:
                write("open_capabilities", bytes([1]) + params)
            else:
                write("open_capabilities", bytes([0]) + params)
                write("open_capabilities", bytes([1]) + params_to_extended(params))
    configs = glob.glob(os.path.join(ROOT, "configs/**/vipd.toml"), recursive=True)
    configs += glob.glob(os.path.join(ROOT, "configs/examples/*.toml"))
    for path in sorted(configs):
        write("config_load", open(path, "rb").read())
    for pkt in hex_lines(os.path.join(ROOT, "src/ospf/wire/testdata/captured.hex")):
        write("ospf_packet", bytes([0]) + pkt)
        write("ospf_packet", bytes([1]) + pkt)
        for ls_type, body in ospf_lsa_bodies(pkt):
            write("ospf_packet", bytes([2]) + ls_type.to_bytes(2, "big") + body)
    for target in sorted(os.listdir(SEEDS)):
        d = os.path.join(SEEDS, target)
        files = os.listdir(d)
        size = sum(os.path.getsize(os.path.join(d, f)) for f in files)
        print(f"{target}: {len(files)} seeds, {size} octets")


if __name__ == "__main__":
    main()
