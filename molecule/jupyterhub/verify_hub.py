#!/usr/bin/env python3
"""What the hub's users and its admin experience, for the Molecule verify of the jupyterhub role.

Runs inside the instance with the hub environment's python, next to a copy of the collection's
plugins/module_utils/_jupyter_probe.py (the same code the jupyter_smoke module uses). Prints JSON;
exits non-zero with the reason when an expectation fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from typing import Any

import _jupyter_probe as probe

HUB = "https://127.0.0.1:443/"
CA = "/etc/jupyter/tls/cert.pem"
ADMIN_TOKEN = "/etc/jupyterhub/secrets/admin.token"  # noqa: S105 - the path, not the token


def _admin() -> probe.Session:
    with open(ADMIN_TOKEN, encoding="ascii") as fh:
        return probe.Session(HUB, cafile=CA, token=fh.read().strip())


def _servers(admin: probe.Session, user: str) -> dict[str, Any]:
    status, _, body = admin.request("GET", f"hub/api/users/{user}")
    if status == 404:
        return {}
    if status != 200:
        raise probe.ProbeError(f"GET user {user} answered {status}")
    return json.loads(body).get("servers", {})


def signup(user: str, password: str) -> dict[str, Any]:
    """Sign up through the native authenticator's form, as a person would."""
    session = probe.Session(HUB, cafile=CA)
    status, _, _ = session.request("GET", "hub/signup")
    if status != 200:
        raise probe.ProbeError(f"GET /hub/signup answered {status}")
    status, _, body = session.request("POST", "hub/signup", form={
        "username": user, "signup_password": password, "signup_password_confirmation": password,
        "_xsrf": session.xsrf()})
    if status != 200:
        raise probe.ProbeError(f"POST /hub/signup answered {status}")
    return {"user": user, "signed_up": True, "page_mentions_success": b"successful" in body.lower()}


def approve(admin: str, password: str, user: str) -> dict[str, Any]:
    """The admin approves a sign-up at /hub/authorize (native authenticator)."""
    session = probe.Session(HUB, cafile=CA)
    probe.hub_login(session, admin, password)
    status, _, page = session.request("GET", "hub/authorize")
    if status != 200:
        raise probe.ProbeError(f"GET /hub/authorize answered {status} for admin {admin}")
    if f'authorize/{user}" role="button">Unauthorize<'.encode() in page:
        return {"admin": admin, "approved": user, "already": True}
    if f'authorize/{user}" role="button">Authorize<'.encode() not in page:
        raise probe.ProbeError(f"{user} has not signed up (not on /hub/authorize)")
    status, _, _ = session.request("GET", f"hub/authorize/{user}")  # toggles the approval
    if status not in (302, 303):
        raise probe.ProbeError(f"approving {user} answered {status}")
    return {"admin": admin, "approved": user, "already": False}


def smoke(user: str, password: str) -> dict[str, Any]:
    """Log in, start the own server, run Python and R as that user."""
    checks = [
        {"kernel": "python3", "code": "import getpass, os; print(getpass.getuser(), os.getcwd())",
         "expect": f"{user} /data/home/{user}"},
        {"kernel": "ir", "code": 'cat(Sys.info()[["effective_user"]], sum(1:10))', "expect": f"{user} 55"},
    ]
    return probe.hub_smoke(HUB, user, password, checks, cafile=CA)


def refused(user: str, password: str) -> dict[str, Any]:
    """The login form must refuse this user."""
    try:
        probe.hub_login(probe.Session(HUB, cafile=CA), user, password)
    except probe.ProbeError as err:
        if "login refused" in str(err):
            return {"user": user, "refused": True}
        raise
    raise probe.ProbeError(f"{user} could log in but must be refused")


def busy(user: str, password: str, seconds: int) -> dict[str, Any]:
    """Leave a kernel computing (a silent cell of `seconds`) in the user's server."""
    hub = probe.Session(HUB, cafile=CA)
    probe.hub_login(hub, user, password)
    api = probe.Session(HUB, cafile=CA, token=probe.hub_token(hub, user)[0])
    probe.hub_start_server(api, user)
    server = probe.Session(api.url(f"user/{user}/"), cafile=CA, token=api.token)
    status, _, body = server.request("POST", "api/kernels", body={"name": "python3"})
    if status not in (200, 201):
        raise probe.ProbeError(f"starting a kernel answered {status}")
    kernel_id = json.loads(body)["id"]

    from tornado import httpclient, ioloop, websocket

    async def send() -> None:
        ws_url = "wss" + server.base_url[server.base_url.index(":"):] + f"api/kernels/{kernel_id}/channels"
        conn = await websocket.websocket_connect(httpclient.HTTPRequest(
            f"{ws_url}?session_id={uuid.uuid4().hex}", headers=server.auth_headers(),
            ssl_options=server.ssl_context))
        await conn.write_message(json.dumps(probe._message(f"import time; time.sleep({seconds})", "busy")))
        await conn.read_message()
        conn.close()

    ioloop.IOLoop.current().run_sync(send, timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, _, body = server.request("GET", f"api/kernels/{kernel_id}")
        if json.loads(body).get("execution_state") == "busy":
            return {"user": user, "kernel": kernel_id, "busy": True}
        time.sleep(1)
    raise probe.ProbeError("the kernel never became busy")


def culled(idle: str, busy_user: str, cull_timeout: int, limit: int) -> dict[str, Any]:
    """The culler stops the idle user's server; the busy one survives well past the timeout."""
    admin = _admin()
    start = time.monotonic()
    while _servers(admin, idle):
        if time.monotonic() - start > limit:
            raise probe.ProbeError(f"{idle}'s idle server was not culled within {limit} s")
        time.sleep(2)
    idle_gone = time.monotonic() - start
    time.sleep(cull_timeout)  # the busy server's own last request is younger than the idle one's
    busy_servers = _servers(admin, busy_user)
    if not busy_servers.get("", {}).get("ready"):
        raise probe.ProbeError(f"{busy_user}'s server with a busy kernel was culled: {busy_servers}")
    return {"idle_culled_after_s": round(idle_gone), "busy_server_kept": True,
            "busy_last_activity": busy_servers[""].get("last_activity")}


def stop(user: str) -> dict[str, Any]:
    """Stop a user's server with the admin token."""
    probe.hub_stop_server(_admin(), user)
    return {"user": user, "stopped": True}


def main(argv: list[str] | None = None) -> int:
    """Dispatch one subcommand."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command",
                        choices=["signup", "approve", "smoke", "refused", "busy", "culled", "stop"])
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", default="")
    parser.add_argument("--other", default="", help="culled: the busy user; approve: the user to approve")
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--limit", type=int, default=240)
    opts = parser.parse_args(argv)
    try:
        if opts.command == "signup":
            result = signup(opts.user, opts.password)
        elif opts.command == "approve":
            result = approve(opts.user, opts.password, opts.other)
        elif opts.command == "smoke":
            result = smoke(opts.user, opts.password)
        elif opts.command == "refused":
            result = refused(opts.user, opts.password)
        elif opts.command == "busy":
            result = busy(opts.user, opts.password, opts.seconds)
        elif opts.command == "culled":
            result = culled(opts.user, opts.other, opts.seconds, opts.limit)
        else:
            result = stop(opts.user)
    except probe.ProbeError as err:
        print(json.dumps({"error": str(err)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
