"""Unit tests of the idle auto-stop decision (roles/jupyter_service/files/jupyterops_idle.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "roles" / "jupyter_service" / "files" / "jupyterops_idle.py"
_SPEC = importlib.util.spec_from_file_location("jupyterops_idle", _PATH)
idle = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = idle
_SPEC.loader.exec_module(idle)

T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)


def iso(t: dt.datetime) -> str:
    """Jupyter's timestamp format."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def snap(minutes_after_start: float, last_activity_min: float | None = None, kernels=(), terminals=(),
         connections=0, load=None, **kw) -> idle.Snapshot:
    """A snapshot taken minutes_after_start after a server start at T0."""
    last = T0 + dt.timedelta(minutes=last_activity_min) if last_activity_min is not None else T0
    return idle.Snapshot(now=T0 + dt.timedelta(minutes=minutes_after_start), started=T0, last_activity=last,
                         kernels=list(kernels), terminals=list(terminals), connections=connections,
                         load_per_cpu=load, **kw)


SETTINGS = idle.Settings(idle_minutes=30, never_connected_minutes=20)


def kernel(state="idle", last_min=1.0, connections=0, kid="k1"):
    """A /api/kernels entry."""
    return {"id": kid, "execution_state": state, "connections": connections,
            "last_activity": iso(T0 + dt.timedelta(minutes=last_min))}


def test_stops_after_the_idle_period():
    result = idle.decide(snap(45, last_activity_min=10, kernels=[kernel(last_min=12)]), SETTINGS)
    assert result["stop"] and "idle for 33.0 min" in result["reason"]


def test_keeps_running_within_the_idle_period():
    assert not idle.decide(snap(35, last_activity_min=10, kernels=[kernel(last_min=12)]), SETTINGS)["stop"]


def test_never_stops_while_a_kernel_is_busy():
    busy = kernel("busy", last_min=1, kid="long")
    result = idle.decide(snap(600, last_activity_min=1, kernels=[busy]), SETTINGS)
    assert not result["stop"] and result["reason"] == "kernel busy: long"


def test_busy_kernel_wins_over_nightly_stop():
    s = idle.Settings(idle_minutes=30, never_connected_minutes=20, nightly_stop="20:00")
    local = dt.datetime(2026, 11, 22, 21, 0, tzinfo=dt.UTC)
    result = idle.decide(snap(600, kernels=[kernel("busy")], local_now=local, boot_time=T0), s)
    assert not result["stop"]


def test_stops_a_machine_nobody_ever_connected_to():
    result = idle.decide(snap(21), SETTINGS)
    assert result["stop"] and "nobody connected" in result["reason"]
    assert not idle.decide(snap(19), SETTINGS)["stop"]


def test_a_login_counts_as_a_connection():
    # API activity after the start: somebody used the server, so the normal idle limit applies.
    assert not idle.decide(snap(21, last_activity_min=2), SETTINGS)["stop"]
    assert idle.decide(snap(33, last_activity_min=2), SETTINGS)["stop"]


def test_terminal_activity_counts():
    term = {"name": "1", "last_activity": iso(T0 + dt.timedelta(minutes=40))}
    assert not idle.decide(snap(60, last_activity_min=5, terminals=[term]), SETTINGS)["stop"]


def test_open_connections_keep_it_up_unless_told_otherwise():
    k = kernel(last_min=1, connections=1)
    assert not idle.decide(snap(90, last_activity_min=1, kernels=[k], connections=1), SETTINGS)["stop"]
    relaxed = idle.Settings(idle_minutes=30, never_connected_minutes=20, count_connections=False)
    assert idle.decide(snap(90, last_activity_min=1, kernels=[k], connections=1), relaxed)["stop"]


def test_cpu_load_counts_only_when_enabled():
    busy_cpu = idle.Settings(idle_minutes=30, never_connected_minutes=20, cpu_threshold=0.5)
    assert not idle.decide(snap(90, last_activity_min=1, load=0.9), busy_cpu)["stop"]
    assert idle.decide(snap(90, last_activity_min=1, load=0.1), busy_cpu)["stop"]
    assert idle.decide(snap(90, last_activity_min=1, load=0.9), SETTINGS)["stop"]


@pytest.mark.parametrize(("local_hour", "boot_hour", "stop"), [
    (22, 8, True),   # past the stop time, up since the morning
    (19, 8, False),  # before the stop time
    (23, 22, False),  # booted after today's stop time: wait for tomorrow
])
def test_nightly_stop(local_hour, boot_hour, stop):
    s = idle.Settings(idle_minutes=600, never_connected_minutes=600, nightly_stop="21:30")
    local = dt.datetime(2026, 11, 22, local_hour, 0, tzinfo=dt.UTC)
    boot = dt.datetime(2026, 11, 22, boot_hour, 0, tzinfo=dt.UTC)
    # Active a minute ago, so only the nightly rule can stop it.
    result = idle.decide(idle.Snapshot(now=local, started=boot, last_activity=local - dt.timedelta(minutes=1),
                                       kernels=[], local_now=local, boot_time=boot), s)
    assert result["stop"] is stop


@pytest.mark.parametrize(("value", "ok"), [
    ("21:30", True), ("00:00", True), ("23:59", True), ("24:00", False),
    ("7:30", False), ("21:60", False), ("", False), (None, False)])
def test_valid_hhmm(value, ok):
    assert idle.valid_hhmm(value) is ok


def test_parse_time_variants():
    assert idle.parse_time("2026-11-22T08:00:00.000000Z") == T0
    assert idle.parse_time("2026-11-22T09:00:00+01:00") == T0
    assert idle.parse_time("garbage") is None and idle.parse_time(None) is None


def test_cookie_helpers_match_jupyter_and_tornado_formats():
    assert idle.cookie_name("127.0.0.1:9999") == "username-127-0-0-1-9999"
    secret = idle.cookie_secret(b"file-secret", "", "argon2:$argon2id$x")
    expected = hmac.new(b"file-secret", digestmod=hashlib.sha256)
    expected.update(b"argon2:$argon2id$x")
    assert secret == expected.digest()
    value = idle.sign_cookie(b"s" * 32, "name", '{"u":1}', timestamp=1700000000)
    body, signature = value.rsplit("|", 1)
    assert body.startswith("2|1:0|10:1700000000|4:name|")
    assert signature == hmac.new(b"s" * 32, (body + "|").encode(), hashlib.sha256).hexdigest()
