#!/usr/bin/env python3
"""Idle check for a Jupyter server: prints a JSON decision, exits 10 when the machine should stop.

Installed by the jupyterops.cloud.jupyter_service role and run as the service user (by a systemd
timer or cron through the root wrapper that does the power-off). It reads the server's own
configuration and cookie secret to sign a login cookie locally, so no password or extra token is
stored on the host, and it queries the API with ``no_track_activity`` so its own requests never count
as activity. With ``"source": "hub"`` in the settings it asks a JupyterHub instead (read-only API
token from a file, loopback HTTP only): the machine is idle when no user server has been running or
pending for ``idle_minutes``. Exit codes: 0 keep running, 10 stop the machine, 2 state unknown (keep
running).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import re
import ssl
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

EXIT_KEEP, EXIT_STOP, EXIT_UNKNOWN = 0, 10, 2
_NEVER_CONNECTED_SLACK = dt.timedelta(seconds=5)


@dataclass
class Settings:
    """What counts as idle."""

    idle_minutes: float = 60.0
    never_connected_minutes: float = 60.0
    cpu_threshold: float = 0.0  # 1-minute load average per CPU above this counts as activity; 0 = off
    count_connections: bool = True  # an open kernel connection (browser tab) counts as activity
    nightly_stop: str = ""  # "HH:MM" local time, empty = off


@dataclass
class Snapshot:
    """What the server and the machine report at one moment."""

    now: dt.datetime
    started: dt.datetime
    last_activity: dt.datetime
    kernels: list[dict[str, Any]] = field(default_factory=list)
    terminals: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    load_per_cpu: float | None = None
    boot_time: dt.datetime | None = None
    local_now: dt.datetime | None = None  # wall clock in the host's zone, for the nightly stop


def parse_time(value: Any) -> dt.datetime | None:
    """Parse Jupyter's ISO timestamps ('...Z' or with offset) to aware UTC datetimes."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def valid_hhmm(value: Any) -> bool:
    """True for 'HH:MM' with 00-23 and 00-59."""
    return isinstance(value, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value) is not None


def _nightly_due(snap: Snapshot, nightly: str) -> bool:
    """True when today's stop time has passed and the machine was already up before it."""
    if not nightly or snap.local_now is None or snap.boot_time is None:
        return False
    hour, minute = (int(x) for x in nightly.split(":"))
    stop_at = snap.local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    boot_local = snap.boot_time.astimezone(snap.local_now.tzinfo) if snap.local_now.tzinfo else snap.boot_time
    return snap.local_now >= stop_at and boot_local < stop_at


def decide(snap: Snapshot, settings: Settings) -> dict[str, Any]:
    """The stop decision for one snapshot: {'stop': bool, 'reason': str, 'idle_seconds': float}."""
    busy = [k.get("id", "?") for k in snap.kernels if k.get("execution_state") == "busy"]
    if busy:
        return {"stop": False, "reason": f"kernel busy: {', '.join(busy)}", "idle_seconds": 0.0}
    if _nightly_due(snap, settings.nightly_stop):
        return {"stop": True, "reason": f"nightly stop time {settings.nightly_stop} passed",
                "idle_seconds": 0.0}
    load = snap.load_per_cpu
    if settings.cpu_threshold > 0 and load is not None and load > settings.cpu_threshold:
        return {"stop": False, "reason": f"CPU load {load:.2f} per CPU above {settings.cpu_threshold}",
                "idle_seconds": 0.0}
    connections = snap.connections + sum(int(k.get("connections") or 0) for k in snap.kernels)
    if settings.count_connections and connections > 0:
        return {"stop": False, "reason": f"{connections} open connection(s)", "idle_seconds": 0.0}
    times = [snap.started, snap.last_activity]
    times += [t for t in (parse_time(k.get("last_activity")) for k in snap.kernels) if t]
    times += [t for t in (parse_time(t.get("last_activity")) for t in snap.terminals) if t]
    last = max(times)
    idle = max(0.0, (snap.now - last).total_seconds())
    never = (not snap.kernels and not snap.terminals
             and snap.last_activity - snap.started <= _NEVER_CONNECTED_SLACK)
    if never:
        limit = settings.never_connected_minutes * 60
        if idle >= limit:
            reason = f"nobody connected within {settings.never_connected_minutes:g} min of the server start"
            return {"stop": True, "reason": reason, "idle_seconds": idle}
        return {"stop": False, "reason": "waiting for a first connection", "idle_seconds": idle}
    limit = settings.idle_minutes * 60
    if idle >= limit:
        return {"stop": True, "reason": f"idle for {idle / 60:.1f} min (limit {settings.idle_minutes:g} min)",
                "idle_seconds": idle}
    return {"stop": False, "reason": f"idle for {idle / 60:.1f} min", "idle_seconds": idle}


def sign_cookie(secret: bytes, name: str, value: str, timestamp: int | None = None) -> str:
    """A tornado version-2 signed cookie value (what RequestHandler.set_signed_cookie makes)."""
    import base64

    def field_(data: bytes) -> bytes:
        return f"{len(data)}:".encode() + data

    stamp = str(int(timestamp if timestamp is not None else time.time())).encode()
    to_sign = b"|".join([b"2", field_(b"0"), field_(stamp), field_(name.encode()),
                         field_(base64.b64encode(value.encode())), b""])
    signature = hmac.new(secret, to_sign, hashlib.sha256).hexdigest().encode()
    return (to_sign + signature).decode()


def cookie_secret(secret_file_bytes: bytes, server_password: str, hashed_password: str) -> bytes:
    """The server's effective cookie secret (ServerApp._default_cookie_secret + password hook)."""
    mac = hmac.new(secret_file_bytes, digestmod=hashlib.sha256)
    mac.update(server_password.encode())
    mac.update(hashed_password.encode())
    return mac.digest()


def cookie_name(host: str) -> str:
    """IdentityProvider.get_cookie_name for a Host header."""
    return re.sub(r"[^A-Za-z0-9]", "-", f"username-{host}")


def _server_config(path: str) -> dict[str, Any]:
    """Values the check needs from the server's config file (loaded with traitlets like the server)."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader(os.path.basename(path), path=os.path.dirname(path)).load_config()
    server, ident = cfg.get("ServerApp", {}), cfg.get("PasswordIdentityProvider", {})
    return {
        "base_url": str(server.get("base_url", "/")) or "/",
        "password": str(server.get("password", "")),
        "hashed_password": str(ident.get("hashed_password", "")),
        "cookie_secret_file": str(server.get("cookie_secret_file", "")),
        "cookie_name": str(cfg.get("IdentityProvider", {}).get("cookie_name", "")),
    }


def _get_json(conn_args: dict[str, Any], path: str, cookie: str) -> Any:
    """GET one API path on loopback with the signed cookie; raise on anything but 200."""
    if conn_args["https"]:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # identity is pinned below against the server's own certificate
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", conn_args["port"], context=ctx, timeout=10)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", conn_args["port"], timeout=10)
    return _fetch_json(conn, path, {"Cookie": cookie, "Host": conn_args["host"]},
                       pin_der=conn_args.get("pin_der") if conn_args["https"] else None)


def _fetch_json(conn: http.client.HTTPConnection, path: str, headers: dict[str, str],
                pin_der: bytes | None = None) -> Any:
    """GET a path on an open connection (checking the peer's certificate when pinned); JSON body or raise."""
    try:
        conn.request("GET", path, headers=headers)
        if pin_der:
            peer = conn.sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
            if peer != pin_der:
                raise RuntimeError("the server on the port does not present the configured certificate")
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET {path} answered HTTP {resp.status}")
        return json.loads(body)
    finally:
        conn.close()


def _first_cert_der(path: str) -> bytes | None:
    """DER of the first certificate in a PEM file (None when unreadable)."""
    try:
        with open(path, encoding="ascii") as fh:
            pem = fh.read()
    except OSError:
        return None
    match = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
    return ssl.PEM_cert_to_DER_cert(match.group(0)) if match else None


def _load_per_cpu() -> float | None:
    """1-minute load average divided by the CPU count."""
    try:
        return os.getloadavg()[0] / max(1, os.cpu_count() or 1)
    except OSError:
        return None


def _boot_time() -> dt.datetime | None:
    """Boot time from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("btime "):
                    return dt.datetime.fromtimestamp(int(line.split()[1]), tz=dt.UTC)
    except OSError:
        return None
    return None


def snapshot(conf: dict[str, Any]) -> Snapshot:
    """Query the server's API and the machine."""
    server = _server_config(conf["server_config"])
    secret_file = server["cookie_secret_file"] or os.path.join(conf["runtime_dir"], "jupyter_cookie_secret")
    with open(secret_file, "rb") as fh:
        secret = cookie_secret(fh.read(), server["password"], server["hashed_password"])
    host = f"127.0.0.1:{conf['port']}"
    user = json.dumps({"username": "jupyterops-idle-check", "name": "jupyterops-idle-check",
                       "display_name": "idle check", "initials": "IC", "color": None, "avatar_url": None})
    name = server["cookie_name"] or cookie_name(host)
    cookie = f"{name}={sign_cookie(secret, name, user)}"
    args = {"https": bool(conf.get("https")), "port": int(conf["port"]), "host": host,
            "pin_der": _first_cert_der(conf.get("certfile", "")) if conf.get("https") else None}
    base = server["base_url"].rstrip("/")
    status = _get_json(args, f"{base}/api/status?no_track_activity=1", cookie)
    kernels = _get_json(args, f"{base}/api/kernels?no_track_activity=1", cookie)
    try:
        terminals = _get_json(args, f"{base}/api/terminals?no_track_activity=1", cookie)
    except RuntimeError:
        terminals = []  # terminals disabled
    now = dt.datetime.now(dt.UTC)
    return Snapshot(
        now=now, started=parse_time(status.get("started")) or now,
        last_activity=parse_time(status.get("last_activity")) or now,
        kernels=kernels, terminals=terminals, connections=int(status.get("connections") or 0),
        load_per_cpu=_load_per_cpu(), boot_time=_boot_time(), local_now=dt.datetime.now().astimezone())


# ---- Hub mode: the machine is idle when no JupyterHub user server is running or pending ----

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class HubSnapshot:
    """What the hub reports at one moment: the active users' models and this boot's id."""

    now: dt.datetime
    users: list[dict[str, Any]] = field(default_factory=list)
    boot_id: str = ""


def hub_active_servers(users: Any) -> tuple[list[str], list[str]]:
    """Running and pending server names ('user' or 'user/name') from a GET /users reply."""
    if isinstance(users, dict) and "items" in users:  # a paginated reply
        users = users["items"]
    if not isinstance(users, list):
        raise ValueError("the hub's user list is not a JSON list")
    running: list[str] = []
    pending: list[str] = []
    for user in users:
        if not isinstance(user, dict):
            raise ValueError("the hub's user list holds something other than user models")
        name = str(user.get("name", "?"))
        servers = user.get("servers")
        if isinstance(servers, dict):
            entries = [(f"{name}/{key}" if key else name, srv if isinstance(srv, dict) else {})
                       for key, srv in servers.items()]
        else:  # no server details (token without read:servers): ?state=active listed the user
            entries = [(name, {"pending": user.get("pending"), "ready": True})]
        for label, srv in entries:
            if srv.get("pending"):
                pending.append(f"{label} ({srv['pending']})")
            elif srv.get("ready") or not srv.get("stopped", False):
                running.append(label)
    return running, pending


def decide_hub(snap: HubSnapshot, record: dict[str, Any] | None, idle_minutes: float) -> dict[str, Any]:
    """The stop decision in hub mode plus the record to keep: {'stop', 'reason', 'idle_seconds', 'record'}.

    ``record`` is {'last_running': ISO time a user server was last seen, 'boot_id': ...}; a record from
    another boot or none at all counts from now, so a fresh boot always waits ``idle_minutes``.
    """
    running, pending = hub_active_servers(snap.users)
    now_record = {"last_running": snap.now.isoformat(), "boot_id": snap.boot_id}
    if running or pending:
        parts = []
        if running:
            parts.append(f"user server(s) running: {', '.join(running)}")
        if pending:
            parts.append(f"user server(s) pending: {', '.join(pending)}")
        return {"stop": False, "reason": "; ".join(parts), "idle_seconds": 0.0, "record": now_record}
    last = parse_time((record or {}).get("last_running"))
    if last is None or (record or {}).get("boot_id", "") != snap.boot_id:
        return {"stop": False, "reason": "no user server running; counting the idle time from now",
                "idle_seconds": 0.0, "record": now_record}
    idle = max(0.0, (snap.now - last).total_seconds())
    kept = {"last_running": last.isoformat(), "boot_id": snap.boot_id}
    reason = f"no user server running for {idle / 60:.1f} min"
    if idle >= idle_minutes * 60:
        return {"stop": True, "reason": f"{reason} (limit {idle_minutes:g} min)", "idle_seconds": idle,
                "record": kept}
    return {"stop": False, "reason": reason, "idle_seconds": idle, "record": kept}


def loopback_http_url(url: Any) -> urllib.parse.SplitResult:
    """Split a hub API URL; only plain HTTP to a loopback address is accepted."""
    parts = urllib.parse.urlsplit(str(url or ""))
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK_HOSTS:
        raise ValueError(f"hub_api_url must be http:// on a loopback address (got {url!r})")
    return parts


def hub_users(api_url: str, token: str, timeout: float = 10) -> Any:
    """GET {api_url}/users?state=active with the token; raise on anything but 200."""
    parts = loopback_http_url(api_url)
    path = parts.path.rstrip("/") + "/users?state=active"
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    return _fetch_json(conn, path, {"Authorization": f"token {token}", "Accept": "application/json"})


def _boot_id() -> str:
    """This boot's random id (empty when unknown)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _read_json(path: str) -> dict[str, Any] | None:
    """A JSON object from a file, None when missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: str, data: dict[str, Any]) -> None:
    """Replace a JSON file atomically (the directory belongs to the check's user)."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError:
        os.unlink(tmp)
        raise


def hub_record_path(conf: dict[str, Any]) -> str:
    """Where the time a user server was last seen is kept: next to the state file."""
    state = conf.get("state_file") or "/var/lib/jupyterops-idle/last-decision.json"
    return os.path.join(os.path.dirname(state), "hub-last-running.json")


def main_hub(conf: dict[str, Any]) -> int:
    """One check in hub mode; print the decision as JSON."""
    try:
        with open(conf["token_file"], encoding="utf-8") as fh:
            token = fh.read().strip()
        if not token:
            raise ValueError(f"the token file {conf['token_file']} is empty")
        users = hub_users(conf["hub_api_url"], token)
        snap = HubSnapshot(now=dt.datetime.now(dt.UTC), users=users, boot_id=_boot_id())
        record_path = hub_record_path(conf)
        result = decide_hub(snap, _read_json(record_path), float(conf["idle_minutes"]))
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        print(json.dumps({"stop": False, "reason": f"hub state unknown ({exc}); keeping the machine up"}))
        return EXIT_UNKNOWN
    record = result.pop("record")
    result["checked_at"] = snap.now.isoformat()
    result["last_running"] = record["last_running"]
    print(json.dumps(result))
    try:
        _write_json(record_path, record)
    except OSError as exc:
        # Without the record the idle time cannot be measured: keep running and say why.
        print(f"cannot write the idle record {record_path}: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    if conf.get("state_file"):
        with contextlib.suppress(OSError):  # the last decision is informational only
            _write_json(conf["state_file"], result)
    return EXIT_STOP if result["stop"] else EXIT_KEEP


def main(argv: list[str] | None = None) -> int:
    """Run one check; print the decision as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="JSON settings written by the role")
    opts = parser.parse_args(argv)
    with open(opts.config, encoding="utf-8") as fh:
        conf = json.load(fh)
    if conf.get("source", "server") == "hub":
        return main_hub(conf)
    settings = Settings(idle_minutes=float(conf["idle_minutes"]),
                        never_connected_minutes=float(conf["never_connected_minutes"]),
                        cpu_threshold=float(conf.get("cpu_threshold", 0)),
                        count_connections=bool(conf.get("count_connections", True)),
                        nightly_stop=str(conf.get("nightly_stop", "")))
    try:
        snap = snapshot(conf)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        print(json.dumps({"stop": False, "reason": f"server state unknown ({exc}); keeping the machine up"}))
        return EXIT_UNKNOWN
    result = decide(snap, settings)
    result["checked_at"] = snap.now.isoformat()
    print(json.dumps(result))
    state = conf.get("state_file")
    if state:
        try:
            with open(state, "w", encoding="utf-8") as fh:
                json.dump(result, fh)
        except OSError:
            pass
    return EXIT_STOP if result["stop"] else EXIT_KEEP


if __name__ == "__main__":
    sys.exit(main())
