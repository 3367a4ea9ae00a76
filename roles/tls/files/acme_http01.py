#!/usr/bin/python3
"""Temporary HTTP-01 responder: serves /.well-known/acme-challenge/<token> from a directory.

Exits when the stop file appears or after --timeout seconds. Installed and run by the
jupyterops.cloud.tls role during ACME validation only.
"""

from __future__ import annotations

import argparse
import http.server
import os
import re
import threading
import time

_TOKEN = re.compile(r"^/\.well-known/acme-challenge/([A-Za-z0-9_-]+)$")


def main() -> int:
    """Serve challenge tokens until stopped."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--bind", default="")
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--stop-file", required=True)
    args = parser.parse_args()
    root = os.path.join(args.root, ".well-known", "acme-challenge")

    class Handler(http.server.BaseHTTPRequestHandler):
        """Answer GET for known tokens only."""

        def do_GET(self) -> None:
            match = _TOKEN.match(self.path.split("?", 1)[0])
            path = os.path.join(root, match.group(1)) if match else ""
            if not path or not os.path.isfile(path):
                self.send_error(404)
                return
            with open(path, "rb") as fh:
                body = fh.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline and not os.path.exists(args.stop_file):
            time.sleep(0.2)
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
