#!/usr/bin/env python3
"""The service behind the VIP in the anycast-ecmp lab: answers every GET with
this node's name, on every address given, until it is killed.

    python3 http-service.py --name node1 --pidfile /etc/vipd/http-service.pid \
        198.18.0.10 fd00:198:18::10

It writes its pid to --pidfile once every socket listens (vipd's process
check reads it), then prints `listening <unix time>`, so a test knows when
the service is back. Requests are not logged: a client sends hundreds a
second.
"""

import argparse
import http.server
import os
import socket
import socketserver
import sys
import threading
import time


def handler_for(name):
    body = (name + "\n").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    return Handler


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 256

    def server_bind(self):
        # HTTPServer.server_bind looks the address up in DNS; a lab has none.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class Server6(Server):
    address_family = socket.AF_INET6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="what every GET answers")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("address", nargs="+")
    args = parser.parse_args()

    handler = handler_for(args.name)
    servers = []
    for address in args.address:
        cls = Server6 if ":" in address else Server
        servers.append(cls((address, args.port), handler))

    partial = args.pidfile + ".tmp"
    with open(partial, "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(partial, args.pidfile)
    print(f"listening {time.time():.6f}", flush=True)

    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    sys.exit(main())
