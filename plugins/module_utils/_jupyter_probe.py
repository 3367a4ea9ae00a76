"""Talk to a running Jupyter server as a user would: HTTPS, password login, kernels over websocket.

Standard library plus tornado (a jupyter_server dependency, so present in every Jupyter
environment). Used by the jupyter_smoke module (run with the Jupyter environment's python) and by
the tests from the controller.
"""

from __future__ import annotations

import http.cookiejar
import json
import ssl
import time
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
    token: str | None = None  # API token (JupyterHub); sent as "Authorization: token ..."
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

    def auth_headers(self) -> dict[str, str]:
        """The XSRF header (cookie sessions) and the token header (API tokens) of every request."""
        headers = {"X-XSRFToken": self.xsrf()} if self.xsrf() else {}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        return headers

    def request(self, method: str, path: str, body: Any = None,
                form: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """One request; returns status, headers and body without raising on HTTP errors."""
        data = None
        headers = self.auth_headers()
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
            headers={"Cookie": session.cookie_header(), **session.auth_headers()},
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
    return run_checks(session, checks)


def hub_login(session: Session, username: str, password: str) -> None:
    """JupyterHub's login form: GET hub/login for _xsrf, POST name and password, expect a redirect."""
    status, _, _ = session.request("GET", "hub/login")
    if status != 200:
        raise ProbeError(f"GET /hub/login answered {status}")
    status, headers, _ = session.request(
        "POST", "hub/login", form={"username": username, "password": password, "_xsrf": session.xsrf()})
    if status >= 500:
        raise ProbeError(f"POST /hub/login failed for {username!r}: HTTP {status}")
    if status not in (302, 303) or "/login" in headers.get("Location", ""):
        raise ProbeError(f"login refused for {username!r} (POST /hub/login answered {status})")


def _hub_json(session: Session, method: str, path: str, body: Any = None,
              ok: tuple[int, ...] = (200, 201)) -> Any:
    status, _, raw = session.request(method, path, body=body)
    if status not in ok:
        raise ProbeError(f"{method} /{path} answered {status}: {raw[:200]!r}")
    return json.loads(raw) if raw else None


def hub_token(session: Session, username: str, expires_in: int = 600) -> tuple[str, str]:
    """A short-lived API token for the logged-in user and its id (POST hub/api/users/NAME/tokens)."""
    reply = _hub_json(session, "POST", f"hub/api/users/{username}/tokens",
                      body={"note": "jupyterops smoke check", "expires_in": expires_in})
    return reply["token"], reply["id"]


def hub_revoke_token(session: Session, username: str, token_id: str) -> None:
    """Revoke a token made by hub_token (best effort: it expires anyway)."""
    session.request("DELETE", f"hub/api/users/{username}/tokens/{token_id}")


def hub_server_ready(session: Session, username: str) -> bool:
    """True when the user's default server is running and ready."""
    user = _hub_json(session, "GET", f"hub/api/users/{username}")
    return bool(user.get("servers", {}).get("", {}).get("ready"))


def hub_start_server(session: Session, username: str, timeout: float = 180.0) -> None:
    """Start the user's server (no-op when it runs) and wait until the hub reports it ready."""
    if not hub_server_ready(session, username):
        _hub_json(session, "POST", f"hub/api/users/{username}/server", ok=(201, 202, 400))
    deadline = time.monotonic() + timeout
    while not hub_server_ready(session, username):
        if time.monotonic() > deadline:
            raise ProbeError(f"the server of {username!r} was not ready within {timeout:g} s")
        time.sleep(1)


def hub_stop_server(session: Session, username: str, timeout: float = 120.0) -> None:
    """Stop the user's server and wait until the hub no longer lists it."""
    _hub_json(session, "DELETE", f"hub/api/users/{username}/server", ok=(202, 204, 400))
    deadline = time.monotonic() + timeout
    while _hub_json(session, "GET", f"hub/api/users/{username}").get("servers"):
        if time.monotonic() > deadline:
            raise ProbeError(f"the server of {username!r} did not stop within {timeout:g} s")
        time.sleep(1)


def run_checks(session: Session, checks: list[dict[str, str]]) -> dict[str, Any]:
    """List the kernels, then run each check's code and compare its output."""
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


def hub_smoke(url: str, username: str, password: str, checks: list[dict[str, str]],
              cafile: str | None = None, verify: bool = True, stop_server: bool = False,
              spawn_timeout: float = 180.0) -> dict[str, Any]:
    """A JupyterHub user's day: log in, start the own server, run code in each kernel."""
    hub = Session(url, cafile=cafile, verify=verify)
    status, _, _ = hub.request("GET", "hub/api/user")
    if status not in (401, 403):
        raise ProbeError(f"unauthenticated GET /hub/api/user answered {status}, expected 403")
    hub_login(hub, username, password)
    token, token_id = hub_token(hub, username)
    api = Session(url, cafile=cafile, verify=verify, token=token)
    try:
        hub_start_server(api, username, spawn_timeout)
        user = Session(api.url(f"user/{username}/"), cafile=cafile, verify=verify, token=token)
        result = run_checks(user, checks)
        if stop_server:
            hub_stop_server(api, username)
    finally:
        hub_revoke_token(api, username, token_id)
    result["username"] = username
    return result


DEFAULT_CHECKS = [
    {"kernel": "python3", "code": "1+1", "expect": "2"},
    {"kernel": "ir", "code": "1+1", "expect": "[1] 2"},
]
