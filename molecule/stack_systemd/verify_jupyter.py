"""What a user does against the Jupyter server over HTTPS (molecule verify; runs with the server's python).

Modes:
  user  - TLS verified against the role's certificate (and pinned to it), unauthenticated API 403,
          login with the password through the _xsrf flow, kernelspecs list python3 and ir, and both
          kernels execute code over the websocket channels API. Prints a JSON report.
  busy  - log in, start a python3 kernel, submit a long cell, wait until the kernel is busy, close the
          websocket and leave the kernel running (idle auto-stop test). Prints the kernel id.
  interrupt - log in and interrupt the kernel --kernel (ends the long cell); prints its state.
  login - only the login (TLS verified as in user); prints its status (302 accepted, 200 refused).
The password comes from the JUPYTER_PASSWORD environment variable.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import ssl
import sys
import urllib.parse
import uuid

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


class Session:
    """Cookie-keeping HTTPS client for one server."""

    def __init__(self, host: str, port: int, cafile: str) -> None:
        self.host, self.port = host, port
        self.ctx = ssl.create_default_context(cafile=cafile)  # hostname is checked against the SANs
        with open(cafile, encoding="ascii") as fh:
            pem = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", fh.read(), re.S)
        self.pin = ssl.PEM_cert_to_DER_cert(pem.group(0))
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """One request; keeps cookies; checks the presented certificate is the role's."""
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
        hdrs = dict(headers or {})
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=hdrs)
            if conn.sock.getpeercert(binary_form=True) != self.pin:
                raise SystemExit("the server presents a certificate other than the role's")
            resp = conn.getresponse()
            data = resp.read()
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            return resp.status, dict(resp.getheaders()), data
        finally:
            conn.close()

    def api(self, method: str, path: str, payload: object | None = None) -> object:
        """Authenticated API call with the XSRF header; JSON result."""
        body = json.dumps(payload).encode() if payload is not None else None
        status, _, data = self.request(method, path, body, {"X-XSRFToken": self.cookies.get("_xsrf", ""),
                                                            "Content-Type": "application/json"})
        if status >= 300:
            raise SystemExit(f"{method} {path} -> HTTP {status}: {data[:200]!r}")
        return json.loads(data) if data else None

    def login(self, password: str) -> int:
        """GET /login for the _xsrf cookie, POST the form; return the POST status (302 on success)."""
        status, _, _ = self.request("GET", "/login")
        if status != 200 or "_xsrf" not in self.cookies:
            raise SystemExit(f"GET /login -> {status}, cookies {sorted(self.cookies)}")
        form = urllib.parse.urlencode({"password": password, "_xsrf": self.cookies["_xsrf"]}).encode()
        status, _, _ = self.request("POST", "/login?next=%2Flab", form,
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        return status

    async def channels(self, kernel_id: str):
        """Open the kernel's websocket channels."""
        url = f"wss://{self.host}:{self.port}/api/kernels/{kernel_id}/channels"
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   "X-XSRFToken": self.cookies.get("_xsrf", "")}
        return await websocket_connect(HTTPRequest(url, headers=headers, ssl_options=self.ctx,
                                                   connect_timeout=30))


def execute_request(code: str) -> tuple[str, str]:
    """An execute_request message and its id."""
    msg_id = uuid.uuid4().hex
    return msg_id, json.dumps({
        "header": {"msg_id": msg_id, "username": "verify", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}})


async def run_code(session: Session, kernel_id: str, code: str, timeout: float = 120) -> dict:
    """Execute code over the websocket; collect outputs until the reply and idle status."""
    ws = await session.channels(kernel_id)
    msg_id, message = execute_request(code)
    await ws.write_message(message)
    outputs, reply = [], None
    idle_seen = False
    try:
        while reply is None or not idle_seen:
            raw = await asyncio.wait_for(ws.read_message(), timeout)
            if raw is None:
                raise SystemExit("websocket closed by the server")
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                outputs.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                outputs.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                outputs.append(f"ERROR {content['ename']}: {content['evalue']}")
            elif kind == "execute_reply":
                reply = content["status"]
            elif kind == "status" and content["execution_state"] == "idle":
                idle_seen = True
    finally:
        ws.close()
    return {"status": reply, "outputs": outputs}


async def start_kernel(session: Session, name: str) -> str:
    """POST /api/kernels; return the id."""
    return session.api("POST", "/api/kernels", {"name": name})["id"]


async def user_mode(session: Session, password: str) -> dict:
    """The full user check."""
    report: dict = {}
    status, _, _ = session.request("GET", "/api/kernelspecs")
    report["unauthenticated_kernelspecs"] = status
    report["login_status"] = session.login(password)
    specs = session.api("GET", "/api/kernelspecs")
    report["kernelspecs"] = sorted(specs["kernelspecs"])
    code = {"python3": "print(6 * 7)", "ir": "cat(6 * 7)"}
    report["kernels"] = {}
    for name, src in code.items():
        if name not in specs["kernelspecs"]:
            continue
        kid = await start_kernel(session, name)
        try:
            report["kernels"][name] = await run_code(session, kid, src)
        finally:
            session.api("DELETE", f"/api/kernels/{kid}")
    return report


async def busy_mode(session: Session, password: str, seconds: int) -> dict:
    """Leave a python3 kernel running a long cell with no client connected."""
    if session.login(password) != 302:
        raise SystemExit("login failed")
    kid = await start_kernel(session, "python3")
    ws = await session.channels(kid)
    msg_id, message = execute_request(f"import time\ntime.sleep({seconds})\nprint('done')")
    await ws.write_message(message)
    while True:
        msg = json.loads(await asyncio.wait_for(ws.read_message(), 60))
        if (msg.get("parent_header", {}).get("msg_id") == msg_id and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "busy"):
            break
    ws.close()
    await asyncio.sleep(1)
    state = session.api("GET", f"/api/kernels/{kid}")
    return {"kernel": kid, "execution_state": state["execution_state"], "connections": state["connections"]}


async def interrupt_mode(session: Session, password: str, kernel_id: str) -> dict:
    """Interrupt a kernel and wait until it is idle."""
    if session.login(password) != 302:
        raise SystemExit("login failed")
    session.api("POST", f"/api/kernels/{kernel_id}/interrupt", {})
    state = {}
    for _ in range(60):
        state = session.api("GET", f"/api/kernels/{kernel_id}")
        if state["execution_state"] == "idle":
            break
        await asyncio.sleep(1)
    return {"kernel": kernel_id, "execution_state": state.get("execution_state")}


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["user", "busy", "interrupt", "login"])
    parser.add_argument("--kernel", default="")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--busy-seconds", type=int, default=60)
    args = parser.parse_args()
    password = os.environ["JUPYTER_PASSWORD"]
    session = Session(args.host, args.port, args.cafile)
    if args.mode == "user":
        result = asyncio.run(user_mode(session, password))
    elif args.mode == "login":
        result = {"login_status": session.login(password)}
    elif args.mode == "busy":
        result = asyncio.run(busy_mode(session, password, args.busy_seconds))
    else:
        result = asyncio.run(interrupt_mode(session, password, args.kernel))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
