"""The default path end to end over SSH (issue 17): `ACCESS=tunnel scripts/demo.sh` = the EC2 emulator
plus an SSH test host standing in for the EC2 instance (tests/harness/ssh_host.py), site.yml with
default variables - tunnel mode (http://localhost:8889/ through ssh -N -L), the data disk found by its
EBS volume id, TLS and R kernel roles on - reached with Ansible's ssh connection as the sudo user admin.

Then what a user does: connect.yml's SSH config and tunnel, a real browser through it, notebooks on the
data disk, re-runs (changed=0, check mode), update.yml, the same host through a static inventory (the
"other clouds" path), a failed update on a stopped instance, idle auto-stop, and teardown followed by a
new instance that gets the same data volume back with the notebook still on it.

The tests run in order on one demo (module-scoped fixture in conftest.py); the last one removes it.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from plugins.module_utils._jupyter_probe import DEFAULT_CHECKS, ProbeError, Session, smoke
from tests.integration.ssh_default.conftest import REPO, SshDemo, changed_tasks, recap

# One demo, used in order by every test here: keep them on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("ssh_default")

NOTEBOOK = "ssh-default-keep.ipynb"
RECORDER = "/usr/local/bin/jops-record-poweroff"
# Not under /tmp or /var/tmp: the idle service has PrivateTmp=true (enforced here: SYS_ADMIN).
RECORDER_LOG = "/var/log/jops-poweroff.log"


def _out(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def _assert_ok(proc: subprocess.CompletedProcess[str]) -> dict[str, tuple[int, int, int, int]]:
    """rc 0 and a recap without failed or unreachable hosts; returns the recap."""
    assert proc.returncode == 0, _out(proc)[-6000:]
    result = recap(proc.stdout)
    assert result and all(r[2] == 0 and r[3] == 0 for r in result.values()), result
    return result


def _kernels_run(demo: SshDemo) -> None:
    """Login over http through the tunnel; both kernels run code."""
    result = smoke(demo.url, demo.password(), DEFAULT_CHECKS)
    outputs = {r["kernel"]: r["output"] for r in result["results"]}
    assert outputs == {"python3": "2", "ir": "[1] 2"}, outputs


def _session(demo: SshDemo) -> Session:
    session = Session(demo.url)
    session.login(demo.password())
    return session


def _start_busy_kernel(demo: SshDemo, seconds: int = 900) -> str:
    """Start a python3 kernel running a long cell, wait until it is busy, disconnect; its id."""
    from tornado import httpclient, websocket

    from plugins.module_utils._jupyter_probe import _message

    session = _session(demo)
    status, _, body = session.request("POST", "api/kernels", body={"name": "python3"})
    assert status in (200, 201), body
    kernel = json.loads(body)["id"]

    async def submit() -> None:
        ws_url = demo.url.replace("http://", "ws://") + f"api/kernels/{kernel}/channels?session_id=busy"
        conn = await websocket.websocket_connect(httpclient.HTTPRequest(
            ws_url, headers={"Cookie": session.cookie_header(), **session.auth_headers()}))
        request = _message(f"import time; time.sleep({seconds})", "busy")
        await conn.write_message(json.dumps(request))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(conn.read_message(), timeout=60)
            if not isinstance(raw, str):
                continue
            reply = json.loads(raw)
            # A new kernel also reports busy while it answers its own kernel_info request: wait for the
            # busy status of this execute request.
            if (reply.get("content", {}).get("execution_state") == "busy"
                    and reply.get("parent_header", {}).get("msg_id") == request["header"]["msg_id"]):
                break
        conn.close()

    asyncio.run(submit())
    body = b""
    for _ in range(30):
        status, _, body = session.request("GET", f"api/kernels/{kernel}")
        if json.loads(body)["execution_state"] == "busy":
            return kernel
        time.sleep(1)
    raise AssertionError(f"the kernel never reported busy: {body!r}")


def _interrupt(demo: SshDemo, kernel: str) -> None:
    session = _session(demo)
    status, _, body = session.request("POST", f"api/kernels/{kernel}/interrupt")
    assert status in (200, 204), body
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, _, body = session.request("GET", f"api/kernels/{kernel}")
        if json.loads(body)["execution_state"] == "idle":
            return
        time.sleep(1)
    raise AssertionError(f"kernel {kernel} still busy after the interrupt")


def _decision(demo: SshDemo) -> str:
    proc = demo.exec("cat", "/var/lib/jupyterops-idle/last-decision.json", check=False)
    return json.loads(proc.stdout).get("reason", "") if proc.returncode == 0 and proc.stdout else ""


def _uuid(demo: SshDemo) -> str:
    return demo.exec("blkid", "-p", "-o", "value", "-s", "UUID", "/dev/xvdf").stdout.strip()


def _recorded(demo: SshDemo) -> bool:
    return demo.exec("test", "-s", RECORDER_LOG, check=False).returncode == 0


def _wait(predicate, timeout: float, step: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# ---------------------------------------------------------------------------------------------------


def test_first_build_over_ssh_with_the_defaults(ssh_demo: SshDemo) -> None:
    out = _out(ssh_demo.first)
    _assert_ok(ssh_demo.first)
    assert "JupyterLab on jupyter: http://localhost:8889/" in out, out[-4000:]
    assert "ssh -N -L 8889:localhost:8889" in out, out[-4000:]
    assert re.search(r"Data volume: vol-[0-9a-f]+", out)
    assert f"JupyterLab at {ssh_demo.url} answers" in out, out[-3000:]
    # Reached over SSH as admin with the key (not through podman), sudo for root.
    journal = ssh_demo.exec("journalctl", "-u", "ssh", "--no-pager", "-o", "cat").stdout
    assert "Accepted publickey for admin" in journal, journal[-2000:]
    # Key-only, no root login.
    for user, opts in (("root", []), ("admin", ["-o", "PubkeyAuthentication=no"])):
        refused = subprocess.run(
            ["ssh", "-p", str(ssh_demo.ssh_host.port), "-o", f"UserKnownHostsFile={ssh_demo.known_hosts}",
             "-o", "BatchMode=yes", "-i", str(ssh_demo.key), "-o", "IdentitiesOnly=yes", *opts,
             f"{user}@127.0.0.1", "true"], capture_output=True, text=True, timeout=30, check=False)
        assert refused.returncode == 255 and "Permission denied" in refused.stderr, (user, refused.stderr)


def test_server_listens_on_loopback_only_with_plain_http(ssh_demo: SshDemo) -> None:
    listening = ssh_demo.exec("ss", "-Hltn", "sport", "= :8889").stdout
    assert "127.0.0.1:8889" in listening and "0.0.0.0:8889" not in listening, listening
    # Nothing is published on this machine but sshd: the server is only reachable through the tunnel.
    ports = subprocess.run(["podman", "port", ssh_demo.container], capture_output=True, text=True,
                           check=True).stdout
    assert ports.strip() == f"22/tcp -> 127.0.0.1:{ssh_demo.ssh_host.port}", ports


def test_tunnel_from_the_ssh_config_of_connect_yml(ssh_demo: SshDemo) -> None:
    text = ssh_demo.ssh_config.read_text()
    assert "Host jupyter\n" in text, text
    assert f"Port {ssh_demo.ssh_host.port}\n" in text, text
    assert f"LocalForward {ssh_demo.local_port} 127.0.0.1:8889" in text, text
    resolved = subprocess.run(["ssh", "-G", "-F", str(ssh_demo.ssh_config), "jupyter"], text=True,
                              capture_output=True, check=True).stdout
    assert "hostname 127.0.0.1\n" in resolved and "user admin\n" in resolved
    out = _out(ssh_demo.first)
    assert f"ssh -F {ssh_demo.ssh_config}" in out and " -N jupyter" in out
    assert "Plain form:   ssh -N -L" in out
    # The demo's tunnel is `ssh -F <that file> -N jupyter` (in the background): alive and forwarding.
    assert ssh_demo.tunnel_alive()
    session = Session(ssh_demo.url)
    status, _, _ = session.request("GET", "api/kernelspecs")
    assert status == 403
    _kernels_run(ssh_demo)
    with pytest.raises(ProbeError, match="login refused"):
        Session(ssh_demo.url).login(ssh_demo.password() + "-wrong")


def test_browser_logs_in_through_the_tunnel_and_runs_python_and_r(ssh_demo: SshDemo) -> None:
    env = ssh_demo.env | {"JUPYTER_PASSWORD": ssh_demo.password(),
                          "SHOT_DIR": str(REPO / ".cache" / "browser-ssh-default")}
    proc = subprocess.run(["node", "tests/browser/notebook.mjs", ssh_demo.url, "-",
                           "python3=print(6*7)=42", "ir=print(6*7)=[1] 42"],
                          cwd=REPO, env=env, text=True, capture_output=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kernel python3: print(6*7) -> 42" in proc.stdout
    assert "kernel ir: print(6*7) -> [1] 42" in proc.stdout
    # The browser's notebooks were saved under the notebook directory on the data disk (the script
    # deletes them afterwards; Jupyter moves deleted files to the disk's trash).
    found = ssh_demo.exec("find", "/data", "-name", "browser-check-python3.ipynb").stdout.split()
    assert found, "the browser's notebook was not saved on /data"


def test_notebooks_are_on_the_data_disk_found_by_volume_id(ssh_demo: SshDemo) -> None:
    link = ssh_demo.by_id_link()
    assert ssh_demo.exec("readlink", link).stdout.strip() == "/dev/xvdf"
    mount = json.loads(ssh_demo.exec("findmnt", "-J", "-o", "TARGET,SOURCE,FSTYPE", "/data").stdout)
    assert mount["filesystems"][0] == {"target": "/data", "source": "/dev/xvdf", "fstype": "xfs"}, mount
    # A notebook saved as a user saves it (contents API, through the tunnel).
    session = _session(ssh_demo)
    content = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "kept on the data disk"}]}
    status, _, body = session.request("PUT", f"api/contents/{NOTEBOOK}",
                                      body={"type": "notebook", "format": "json", "content": content})
    assert status in (200, 201), body
    path = f"/data/notebooks/{NOTEBOOK}"
    assert ssh_demo.exec("findmnt", "-n", "-o", "TARGET", "-T", path).stdout.strip() == "/data"
    assert "kept on the data disk" in ssh_demo.exec("cat", path).stdout
    ssh_demo.facts["uuid"] = _uuid(ssh_demo)
    ssh_demo.facts["volume_id"] = ssh_demo.data_volume_id()


def test_second_build_changes_nothing(ssh_demo: SshDemo) -> None:
    again = ssh_demo.run("up", label="second build (up)")
    result = _assert_ok(again)
    assert all(r[1] == 0 for r in result.values()), (result, changed_tasks(again.stdout))
    assert ssh_demo.tunnel_alive()


def test_check_mode_changes_nothing(ssh_demo: SshDemo) -> None:
    check = ssh_demo.play("site.yml", "--check", label="check mode (site.yml --check)")
    result = _assert_ok(check)
    assert all(r[1] == 0 for r in result.values()), (result, changed_tasks(check.stdout))


def test_update_succeeds_in_tunnel_mode(ssh_demo: SshDemo) -> None:
    update = ssh_demo.play("playbooks/update.yml", label="update.yml")
    _assert_ok(update)
    lock = ssh_demo.state / "locks" / "jupyter" / "env-lock.txt"
    assert "jupyterlab==" in lock.read_text()
    _kernels_run(ssh_demo)


def test_other_clouds_static_inventory_over_ssh_changes_nothing(ssh_demo: SshDemo) -> None:
    # inventory/static.example.yml's shape with the stand-in as the machine: no AWS involved.
    inventory = ssh_demo.state / "static.yml"
    inventory.write_text(json.dumps({"all": {"children": {"jupyter_hosts": {
        "hosts": {"jupyter": {
            "ansible_host": "127.0.0.1", "ansible_port": ssh_demo.ssh_host.port, "ansible_user": "admin",
            "ansible_ssh_private_key_file": str(ssh_demo.key)}},
        "vars": {
            "jupyterops_data_volume": True, "data_volume_device": "/dev/xvdf",
            "jupyterlab_password_file": str(ssh_demo.state / "jupyter-password")}}}}}, indent=2))
    start = time.monotonic()
    proc = subprocess.run([str(REPO / ".venv/bin/ansible-playbook"), "-i", str(inventory),
                           "playbooks/configure.yml", "-e", "jupyterops_hosts=jupyter_hosts"],
                          cwd=REPO, env=ssh_demo.ansible_env(), text=True, capture_output=True,
                          timeout=900, check=False)
    ssh_demo.timings["static inventory configure.yml"] = round(time.monotonic() - start, 1)
    result = _assert_ok(proc)
    assert result["jupyter"][1] == 0, (result, changed_tasks(proc.stdout))


def test_failed_update_on_a_stopped_instance_leaves_it_stopped(ssh_demo: SshDemo) -> None:
    stop = ssh_demo.play("playbooks/stop.yml", label="stop.yml")
    assert stop.returncode == 0, _out(stop)[-4000:]
    assert [i["State"]["Name"] for i in ssh_demo.instances()] == ["stopped"]

    broken = ssh_demo.play("playbooks/update.yml", "-e",
                           json.dumps({"jupyterlab_pip_packages": ["ipykernel==5.5.6"]}),
                           label="failed update.yml")
    out = _out(broken)
    assert broken.returncode != 0, out[-4000:]
    assert re.search(r"update failed.*jupyter|jupyter.*update failed", out), out[-4000:]
    assert "restored:" in out, out[-4000:]
    assert [i["State"]["Name"] for i in ssh_demo.instances()] == ["stopped"]

    start = ssh_demo.play("playbooks/start.yml", label="start.yml")
    assert start.returncode == 0, _out(start)[-4000:]
    assert [i["State"]["Name"] for i in ssh_demo.instances()] == ["running"]
    # The rolled-back environment still serves both kernels through the tunnel.
    _kernels_run(ssh_demo)


def test_idle_auto_stop_in_tunnel_mode(ssh_demo: SshDemo, tmp_path: Path) -> None:
    # The power-off is replaced by a recorder (as molecule/stack_systemd does).
    script = f'#!/bin/sh\necho "$(date +%s) poweroff requested" >> {RECORDER_LOG}\n'
    ssh_demo.exec("sh", "-c", f"cat > {RECORDER} <<'EOF'\n{script}EOF\nchmod 0755 {RECORDER}")
    kernel = _start_busy_kernel(ssh_demo)
    idle = tmp_path / "idle.json"
    idle.write_text(json.dumps({
        "jupyter_service_idle_stop": True, "jupyter_service_idle_minutes": 0.25,
        "jupyter_service_idle_never_connected_minutes": 0.25, "jupyter_service_idle_check_interval": 5,
        "jupyter_service_idle_grace_seconds": 1, "jupyter_service_idle_poweroff_command": [RECORDER]}))
    on = ssh_demo.play("site.yml", "-e", f"@{idle}", label="site.yml with idle auto-stop")
    _assert_ok(on)
    ssh_demo.exec("rm", "-f", RECORDER_LOG)

    # Well past the idle time with a busy kernel: no power-off, the decision names the busy kernel.
    time.sleep(30)
    assert not _recorded(ssh_demo), "power-off recorded while a kernel was busy"
    assert "kernel busy" in _decision(ssh_demo), _decision(ssh_demo)

    # Idle and nobody connected: the machine powers off (recorded) after the idle period.
    _interrupt(ssh_demo, kernel)
    assert _wait(lambda: _recorded(ssh_demo), timeout=150), _decision(ssh_demo)
    assert re.search(r"idle for|nobody connected", _decision(ssh_demo)), _decision(ssh_demo)


def test_teardown_then_a_new_instance_gets_the_same_disk_back(ssh_demo: SshDemo) -> None:
    down = ssh_demo.play("playbooks/teardown.yml", label="teardown.yml")
    assert down.returncode == 0, _out(down)[-4000:]
    assert ssh_demo.instances() == []
    assert ssh_demo.data_volume_id() == ssh_demo.facts["volume_id"]

    fresh = ssh_demo.run("recreate", label="new stand-in instance (recreate)")
    assert fresh.returncode == 0, _out(fresh)[-4000:]
    assert ssh_demo.exec("test", "-e", f"/data/notebooks/{NOTEBOOK}", check=False).returncode != 0
    rebuilt = ssh_demo.run("up", label="build on the new instance (up)")
    _assert_ok(rebuilt)
    # The same volume came back (by id), was mounted without formatting, and the notebook is there.
    assert ssh_demo.data_volume_id() == ssh_demo.facts["volume_id"]
    assert ssh_demo.exec("readlink", ssh_demo.by_id_link()).stdout.strip() == "/dev/xvdf"
    formatted = [t for t in changed_tasks(rebuilt.stdout) if "Create the filesystem" in t]
    assert not formatted, rebuilt.stdout[-3000:]
    assert _uuid(ssh_demo) == ssh_demo.facts["uuid"]
    assert "kept on the data disk" in ssh_demo.exec("cat", f"/data/notebooks/{NOTEBOOK}").stdout
    session = _session(ssh_demo)
    status, _, body = session.request("GET", f"api/contents/{NOTEBOOK}")
    assert status == 200, body
    _kernels_run(ssh_demo)


def test_demo_down_leaves_nothing(ssh_demo: SshDemo) -> None:
    disk = ssh_demo.ssh_host.disk
    down = ssh_demo.run("down", timeout=300)
    assert down.returncode == 0, _out(down)
    assert subprocess.run(["podman", "container", "exists", ssh_demo.container], check=False).returncode == 1
    attached = subprocess.run(["losetup", "-j", str(disk)], capture_output=True, text=True, check=False)
    assert attached.stdout.strip() == ""
    assert not disk.exists() and not ssh_demo.state.exists()
