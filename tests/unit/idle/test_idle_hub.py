"""Unit tests of the hub mode of the idle auto-stop (roles/jupyter_service/files/jupyterops_idle.py).

The replies below have the shape JupyterHub 6.1.1 gives to GET /hub/api/users?state=active for a token
with the scopes list:users, read:users:activity and read:servers (captured from a local hub).
"""

from __future__ import annotations

import datetime as dt
import http.server
import importlib.util
import json
import socket
import sys
import threading
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "roles" / "jupyter_service" / "files" / "jupyterops_idle.py"
_SPEC = importlib.util.spec_from_file_location("jupyterops_idle_hub", _PATH)
idle = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = idle
_SPEC.loader.exec_module(idle)

T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
BOOT = "3f1c0e5a-0b1e-4f5e-9d4c-2a7b8c9d0e1f"

# Two users, both default servers ready (JupyterHub 6.1.1, captured).
READY_REPLY = json.loads("""[
 {"last_activity": "2026-11-22T06:41:50.211117Z", "name": "alice", "kind": "user", "admin": false,
  "servers": {"": {"name": "", "display_name": "", "full_name": "alice/",
   "last_activity": "2026-11-22T06:41:50.211117Z", "started": "2026-11-22T06:41:39.559277Z",
   "pending": null, "ready": true, "stopped": false, "url": "/user/alice/", "user_options": {},
   "progress_url": "/hub/api/users/alice/server/progress", "full_url": null, "full_progress_url": null}},
  "user_info": null},
 {"last_activity": "2026-11-22T06:41:37.388395Z", "name": "bob", "kind": "user", "admin": false,
  "servers": {"": {"name": "", "display_name": "", "full_name": "bob/",
   "last_activity": "2026-11-22T06:41:37.388395Z", "started": "2026-11-22T06:41:26.636854Z",
   "pending": null, "ready": true, "stopped": false, "url": "/user/bob/", "user_options": {},
   "progress_url": "/hub/api/users/bob/server/progress", "full_url": null, "full_progress_url": null}},
  "user_info": null}
]""")

# One server still spawning (JupyterHub 6.1.1, captured).
PENDING_REPLY = json.loads("""[
 {"last_activity": "2026-11-22T06:41:26.636854Z", "name": "bob", "kind": "user", "admin": false,
  "servers": {"": {"name": "", "display_name": "", "full_name": "bob/",
   "last_activity": "2026-11-22T06:41:26.636854Z", "started": "2026-11-22T06:41:26.636854Z",
   "pending": "spawn", "ready": false, "stopped": false, "url": "/user/bob/", "user_options": {},
   "progress_url": "/hub/api/users/bob/server/progress", "full_url": null, "full_progress_url": null}},
  "user_info": null}
]""")


def at(minutes: float) -> dt.datetime:
    """T0 plus some minutes."""
    return T0 + dt.timedelta(minutes=minutes)


def record(minutes: float | None, boot: str = BOOT) -> dict | None:
    """A stored record: a user server was last seen running at T0 + minutes."""
    return None if minutes is None else {"last_running": at(minutes).isoformat(), "boot_id": boot}


@pytest.mark.parametrize(("users", "rec", "now_min", "stop", "reason", "recorded_min"), [
    # A running server keeps the machine up, however old the record, and moves the record to now.
    (READY_REPLY, record(0), 600, False, "user server(s) running: alice, bob", 600),
    # A spawning server counts as in use too.
    (PENDING_REPLY, record(0), 600, False, "user server(s) pending: bob (spawn)", 600),
    # No server for less than the idle time: keep, record unchanged.
    ([], record(0), 29, False, "no user server running for 29.0 min", 0),
    # No server for the idle time or longer: stop.
    ([], record(0), 30, True, "no user server running for 30.0 min (limit 30 min)", 0),
    ([], record(0), 95, True, "no user server running for 95.0 min (limit 30 min)", 0),
    # No record yet (first check): keep and start counting now.
    ([], None, 600, False, "no user server running; counting the idle time from now", 600),
    # A record from before the last boot does not count: a fresh boot waits the idle time.
    ([], record(0, boot="previous-boot"), 600, False,
     "no user server running; counting the idle time from now", 600),
    # An unreadable record counts as none.
    ([], {"last_running": "garbage", "boot_id": BOOT}, 600, False,
     "no user server running; counting the idle time from now", 600),
], ids=["running", "pending", "idle-below-limit", "idle-at-limit", "idle-above-limit", "no-record",
        "record-from-previous-boot", "record-unreadable"])
def test_decide_hub(users, rec, now_min, stop, reason, recorded_min):
    snap = idle.HubSnapshot(now=at(now_min), users=users, boot_id=BOOT)
    result = idle.decide_hub(snap, rec, idle_minutes=30)
    assert result["stop"] is stop
    assert result["reason"] == reason
    assert idle.parse_time(result["record"]["last_running"]) == at(recorded_min)
    assert result["record"]["boot_id"] == BOOT


def test_a_fresh_boot_waits_the_idle_time_then_stops():
    # Check after check with no user server: the first one records, the one idle_minutes later stops.
    rec = None
    for minute, stop in [(1, False), (15, False), (30, False), (31, True)]:
        result = idle.decide_hub(idle.HubSnapshot(now=at(minute), users=[], boot_id=BOOT), rec, 30)
        assert result["stop"] is stop, minute
        rec = result["record"]


@pytest.mark.parametrize(("users", "running", "pending"), [
    (READY_REPLY, ["alice", "bob"], []),
    (PENDING_REPLY, [], ["bob (spawn)"]),
    ([], [], []),
    # Named servers, one stopping; a stopped one (include_stopped_servers) does not count.
    ([{"name": "carol", "servers": {
        "gpu": {"name": "gpu", "pending": "stop", "ready": False, "stopped": False},
        "": {"name": "", "pending": None, "ready": True, "stopped": False},
        "old": {"name": "old", "pending": None, "ready": False, "stopped": True}}}],
     ["carol"], ["carol/gpu (stop)"]),
    # No server details (token without read:servers): the hub listed the user as active.
    ([{"name": "dave", "kind": "user", "last_activity": None}], ["dave"], []),
    # A paginated reply.
    ({"items": PENDING_REPLY, "_pagination": {"offset": 0, "limit": 50, "total": 1, "next": None}},
     [], ["bob (spawn)"]),
], ids=["ready", "pending", "none", "named-servers", "no-server-details", "paginated"])
def test_hub_active_servers(users, running, pending):
    assert idle.hub_active_servers(users) == (running, pending)


@pytest.mark.parametrize("reply", [{"status": 403, "message": "Missing or invalid credentials."}, "x", [1]])
def test_hub_active_servers_rejects_other_replies(reply):
    with pytest.raises(ValueError):
        idle.hub_active_servers(reply)


@pytest.mark.parametrize(("url", "ok"), [
    ("http://127.0.0.1:8081/hub/api", True), ("http://localhost:8081/hub/api", True),
    ("http://[::1]:8081/hub/api", True), ("https://127.0.0.1:8081/hub/api", False),
    ("http://10.0.0.5:8081/hub/api", False), ("http://hub.example.org/hub/api", False), ("", False)])
def test_only_loopback_http_is_accepted(url, ok):
    if ok:
        assert idle.loopback_http_url(url).hostname in {"127.0.0.1", "localhost", "::1"}
    else:
        with pytest.raises(ValueError):
            idle.loopback_http_url(url)


class _FakeHub(http.server.BaseHTTPRequestHandler):
    """GET /hub/api/users?state=active like JupyterHub: 200 with the current reply for the right token."""

    reply: object = []
    token = "idle-token-0123"
    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        if self.headers.get("Authorization") != f"token {self.token}":
            status, body = 403, {"status": 403, "message": "Missing or invalid credentials."}
        elif self.path != "/hub/api/users?state=active":
            status, body = 404, {"status": 404, "message": "Not Found"}
        else:
            status, body = 200, type(self).reply
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def fake_hub():
    """A fake hub API on 127.0.0.1 (random port)."""
    _FakeHub.reply, _FakeHub.seen = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hub/api"
    server.shutdown()
    server.server_close()


def _settings(tmp_path: Path, api: str, token: str = _FakeHub.token, minutes: float = 30) -> Path:
    """The settings file the role writes, in hub mode."""
    (tmp_path / "idle.token").write_text(token + "\n")
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    conf = {"source": "hub", "hub_api_url": api, "token_file": str(tmp_path / "idle.token"),
            "idle_minutes": minutes, "never_connected_minutes": 60,
            "state_file": str(state / "last-decision.json")}
    path = tmp_path / "idle.json"
    path.write_text(json.dumps(conf))
    return path


def _run(conf: Path, capsys) -> tuple[int, dict]:
    code = idle.main(["--config", str(conf)])
    return code, json.loads(capsys.readouterr().out)


def test_main_hub_keeps_a_machine_with_servers_up_and_records_it(tmp_path, fake_hub, capsys):
    _FakeHub.reply = READY_REPLY
    code, out = _run(_settings(tmp_path, fake_hub), capsys)
    assert code == idle.EXIT_KEEP and out["reason"] == "user server(s) running: alice, bob"
    assert _FakeHub.seen == [("/hub/api/users?state=active", "token idle-token-0123")]
    rec = json.loads((tmp_path / "state" / "hub-last-running.json").read_text())
    assert idle.parse_time(rec["last_running"]) == idle.parse_time(out["checked_at"])
    assert json.loads((tmp_path / "state" / "last-decision.json").read_text())["stop"] is False


def test_main_hub_stops_after_the_idle_time(tmp_path, fake_hub, capsys):
    conf = _settings(tmp_path, fake_hub)
    # A server was last seen 45 min ago in this boot.
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=45)
    (tmp_path / "state" / "hub-last-running.json").write_text(
        json.dumps({"last_running": since.isoformat(), "boot_id": idle._boot_id()}))
    code, out = _run(conf, capsys)
    assert code == idle.EXIT_STOP and out["stop"] is True and "limit 30 min" in out["reason"]


def test_main_hub_first_check_waits(tmp_path, fake_hub, capsys):
    code, out = _run(_settings(tmp_path, fake_hub), capsys)
    assert code == idle.EXIT_KEEP and "counting the idle time from now" in out["reason"]
    assert (tmp_path / "state" / "hub-last-running.json").is_file()


def test_main_hub_wrong_token_is_unknown(tmp_path, fake_hub, capsys):
    code, out = _run(_settings(tmp_path, fake_hub, token="wrong"), capsys)
    assert code == idle.EXIT_UNKNOWN and out["stop"] is False and "HTTP 403" in out["reason"]
    assert not (tmp_path / "state" / "hub-last-running.json").exists()


def test_main_hub_unreachable_is_unknown(tmp_path, capsys):
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out = _run(_settings(tmp_path, f"http://127.0.0.1:{port}/hub/api"), capsys)
    assert code == idle.EXIT_UNKNOWN and "hub state unknown" in out["reason"]


def test_main_hub_missing_token_file_is_unknown(tmp_path, fake_hub, capsys):
    conf = _settings(tmp_path, fake_hub)
    (tmp_path / "idle.token").unlink()
    code, out = _run(conf, capsys)
    assert code == idle.EXIT_UNKNOWN and "idle.token" in out["reason"]
    assert _FakeHub.seen == []


def test_main_hub_refuses_a_remote_url(tmp_path, capsys):
    code, out = _run(_settings(tmp_path, "http://192.0.2.10:8081/hub/api"), capsys)
    assert code == idle.EXIT_UNKNOWN and "loopback" in out["reason"]
