#!/usr/bin/env python3
"""The example platform API that scripts/run guards with apitokend.

A small JSON responder on a Unix socket, behind nginx's auth_request: it
answers every GET with the path it was asked for and the token identity
nginx passed on (X-Token-Id, X-Account-Id, X-Account-Type,
X-Token-Modules), so a test can see what reached it.

    upstream.py SOCKET_PATH
"""

import json
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler


class Handler(BaseHTTPRequestHandler):
    server_version = "apitokend-example-upstream"

    def do_GET(self):
        h = self.headers
        modules = h.get("X-Token-Modules") or ""
        body = json.dumps({
            "path": self.path,
            "method": self.command,
            "tokenId": h.get("X-Token-Id"),
            "accountId": h.get("X-Account-Id"),
            "accountType": h.get("X-Account-Type"),
            "modules": [m for m in modules.split(",") if m],
            "authorization": h.get("Authorization"),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def address_string(self):
        return "nginx"

    def log_message(self, fmt, *args):
        sys.stderr.write("upstream: " + (fmt % args) + "\n")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: upstream.py SOCKET_PATH")
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    with Server(path, Handler) as srv:
        os.chmod(path, 0o600)
        srv.serve_forever()


if __name__ == "__main__":
    main()
