#!/usr/bin/env python3
"""Tiny passive BGP speaker that records every message a router sends it.

Used to capture real byte vectors from BIRD, FRR and GoBGP for the codec tests
(src/bgp/wire/testdata/*.hex). It listens on [::]:179 (dual stack), answers an
OPEN with its own OPEN (MP IPv4/IPv6 unicast, 4-octet AS, route refresh) and a
KEEPALIVE, answers every KEEPALIVE, and appends each received message as one
JSON line {"peer": ..., "type": ..., "hex": ...} to the output file.

usage: bgp_recorder.py OUT.jsonl ASN ROUTER_ID [SECONDS]
"""
import json
import socket
import struct
import sys
import threading
import time

MARKER = b"\xff" * 16
TYPES = {1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE", 5: "ROUTE-REFRESH"}


def message(msg_type: int, body: bytes) -> bytes:
    return MARKER + struct.pack("!HB", 19 + len(body), msg_type) + body


def our_open(asn: int, router_id: str) -> bytes:
    caps = b""
    caps += bytes([1, 4]) + struct.pack("!HBB", 1, 0, 1)  # MP IPv4 unicast
    caps += bytes([1, 4]) + struct.pack("!HBB", 2, 0, 1)  # MP IPv6 unicast
    caps += bytes([2, 0])  # route refresh
    caps += bytes([65, 4]) + struct.pack("!I", asn)  # 4-octet AS
    params = bytes([2, len(caps)]) + caps
    my_as = asn if asn < 65536 else 23456
    body = struct.pack("!BHH", 4, my_as, 9) + socket.inet_aton(router_id)
    return message(1, body + bytes([len(params)]) + params)


def read_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def serve(conn, peer, out, lock, asn, router_id):
    conn.settimeout(60)
    try:
        while True:
            header = read_exact(conn, 19)
            length, msg_type = struct.unpack("!HB", header[16:19])
            raw = header + read_exact(conn, length - 19)
            with lock:
                out.write(json.dumps({"peer": peer, "type": TYPES.get(msg_type, str(msg_type)), "hex": raw.hex()}) + "\n")
                out.flush()
            if msg_type == 1:
                conn.sendall(our_open(asn, router_id) + message(4, b""))
            elif msg_type == 4:
                conn.sendall(message(4, b""))
            elif msg_type == 3:
                return
    except (EOFError, OSError):
        return
    finally:
        conn.close()


def main():
    out_path, asn, router_id = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
    lock = threading.Lock()
    out = open(out_path, "a")
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("::", 179))
    listener.listen(8)
    listener.settimeout(1.0)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn, addr = listener.accept()
        except socket.timeout:
            continue
        peer = addr[0].removeprefix("::ffff:")
        threading.Thread(target=serve, args=(conn, peer, out, lock, asn, router_id), daemon=True).start()


if __name__ == "__main__":
    main()
