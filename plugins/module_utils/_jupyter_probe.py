"""Talk to a running Jupyter server as a user would: HTTPS, password login, kernels over websocket.

Standard library plus tornado (a jupyter_server dependency, so present in every Jupyter
environment). Used by the jupyter_smoke module (run with the Jupyter environment's python) and by
the tests from the controller.
"""

from __future__ import annotations

import http.cookiejar
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any


class ProbeError(Exception):
    """A step of the probe failed; the message says which."""


@dataclass
class Session:
    """An HTTP(S) session against one Jupyter server, with cookies and the XSRF token."""

    base_url: str
    cafile: str | None = None
    verify: bool = True
    timeout: float = 30.0
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self) -> None:
        if urllib.parse.urlsplit(self.base_url).scheme not in ("http", "https"):
            raise ProbeError(f"url must be http:// or https://, got {self.base_url!r}")
        self.base_url = self.base_url.rstrip("/") + "/"
        context = None
        if self.base_url.startswith("https"):
            context = ssl.create_default_context(cafile=self.cafile) if self.verify \
                else ssl._create_unverified_context()  # noqa: S323 - explicit opt-out only
            if self.verify and self.cafile:
                # A self-signed leaf is its own trust anchor; its name is still checked.
                context.verify_flags &= ~ssl.VERIFY_X509_STRICT
        self.ssl_context = context
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar),
            urllib.request.HTTPSHandler(context=context) if context else urllib.request.HTTPHandler(),
            _NoRedirect(),
        )

    def url(self, path: str) -> str:
        """Absolute URL for a server path."""
        return urllib.parse.urljoin(self.base_url, path.lstrip("/"))

    def xsrf(self) -> str:
        """The _xsrf cookie value ('' before the first GET)."""
        return next((c.value for c in self.jar if c.name == "_xsrf"), "")

    def request(self, method: str, path: str, body: Any = None,
                form: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """One request; returns status, headers and body without raising on HTTP errors."""
        data = None
        headers = {"X-XSRFToken": self.xsrf()} if self.xsrf() else {}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        # The scheme was checked to be http(s) in __post_init__.
        req = urllib.request.Request(self.url(path), data=data, method=method,  # noqa: S310
                                     headers=headers)
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers or {}), err.read() or b""
        except (urllib.error.URLError, OSError) as err:
            raise ProbeError(f"{method} {self.url(path)} failed: {err}") from err

    def login(self, password: str) -> None:
        """The browser's login flow: GET /login for _xsrf, POST the password, expect a redirect."""
        status, _, _ = self.request("GET", "login")
        if status != 200:
            raise ProbeError(f"GET /login answered {status}")
        status, headers, _ = self.request("POST", "login",
                                          form={"password": password, "_xsrf": self.xsrf()})
        if status not in (302, 303) or "/login" in headers.get("Location", ""):
            raise ProbeError(f"login refused (POST /login answered {status})")

    def cookie_header(self) -> str:
        """Cookies as a Cookie header, for the websocket handshake."""
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report redirects instead of following them (login answers 302)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def kernelspecs(session: Session) -> dict[str, Any]:
    """GET /api/kernelspecs (raises when not 200)."""
    status, _, body = session.request("GET", "api/kernelspecs")
    if status != 200:
        raise ProbeError(f"GET /api/kernelspecs answered {status}")
    return json.loads(body)


def _message(code: str, session_id: str) -> dict[str, Any]:
    """A Jupyter messaging protocol execute_request."""
    msg_id = uuid.uuid4().hex
    return {
        "header": {"msg_id": msg_id, "username": "jupyterops", "session": session_id,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }


def output_text(messages: list[dict[str, Any]], msg_id: str) -> str:
    """Text a cell printed or returned (stream, execute_result, display_data), in order."""
    parts: list[str] = []
    for msg in messages:
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg.get("msg_type"), msg.get("content", {})
        if kind == "stream":
            parts.append(content.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            parts.append(content.get("data", {}).get("text/plain", ""))
        elif kind == "error":
            parts.append(f"{content.get('ename')}: {content.get('evalue')}")
    return "".join(parts).strip()


def execute(session: Session, kernel_name: str, code: str, timeout: float = 120.0) -> str:
    """Start a kernel through the API, run code over the websocket, shut the kernel down."""
    status, _, body = session.request("POST", "api/kernels", body={"name": kernel_name})
    if status not in (200, 201):
        raise ProbeError(f"starting kernel {kernel_name!r} answered {status}: {body[:200]!r}")
    kernel_id = json.loads(body)["id"]
    try:
        return _run_over_websocket(session, kernel_id, code, timeout)
    finally:
        session.request("DELETE", f"api/kernels/{kernel_id}")


def _run_over_websocket(session: Session, kernel_id: str, code: str, timeout: float) -> str:
    from tornado import httpclient, ioloop, websocket  # jupyter_server's own dependency

    ws_base = "wss" if session.base_url.startswith("https") else "ws"
    ws_url = (ws_base + session.base_url[session.base_url.index(":"):]
              + f"api/kernels/{kernel_id}/channels")
    session_id = uuid.uuid4().hex

    async def run() -> str:
        request = httpclient.HTTPRequest(
            f"{ws_url}?session_id={session_id}",
            headers={"Cookie": session.cookie_header(), "X-XSRFToken": session.xsrf()},
            ssl_options=session.ssl_context, request_timeout=timeout, connect_timeout=30)
        conn = await websocket.websocket_connect(request)
        msg = _message(code, session_id)
        await conn.write_message(json.dumps(msg))
        seen: list[dict[str, Any]] = []
        while True:
            raw = await conn.read_message()
            if raw is None:
                raise ProbeError("kernel websocket closed before the cell finished")
            if isinstance(raw, bytes):
                continue
            reply = json.loads(raw)
            seen.append(reply)
            if (reply.get("msg_type") == "status"
                    and reply.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]
                    and reply.get("content", {}).get("execution_state") == "idle"):
                conn.close()
                return output_text(seen, msg["header"]["msg_id"])

    return ioloop.IOLoop.current().run_sync(run, timeout=timeout)


def smoke(url: str, password: str, checks: list[dict[str, str]], cafile: str | None = None,
          verify: bool = True) -> dict[str, Any]:
    """Full user check: anonymous API refused, login, kernelspecs, each check's code and output."""
    session = Session(url, cafile=cafile, verify=verify)
    status, _, _ = session.request("GET", "api/kernelspecs")
    if status != 403:
        raise ProbeError(f"unauthenticated GET /api/kernelspecs answered {status}, expected 403")
    session.login(password)
    specs = sorted(kernelspecs(session).get("kernelspecs", {}))
    results = []
    for check in checks:
        if check["kernel"] not in specs:
            raise ProbeError(f"kernel {check['kernel']!r} not listed (have {specs})")
        out = execute(session, check["kernel"], check["code"])
        if check.get("expect") is not None and check["expect"] not in out:
            raise ProbeError(f"kernel {check['kernel']!r} ran {check['code']!r} and printed "
                             f"{out!r}, expected {check['expect']!r}")
        results.append({"kernel": check["kernel"], "code": check["code"], "output": out})
    return {"kernelspecs": specs, "results": results}


DEFAULT_CHECKS = [
    {"kernel": "python3", "code": "1+1", "expect": "2"},
    {"kernel": "ir", "code": "1+1", "expect": "[1] 2"},
]
