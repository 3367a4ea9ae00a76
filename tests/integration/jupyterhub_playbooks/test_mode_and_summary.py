"""jupyterops_mode (single | multi): configure.yml and update.yml refuse anything else before any
change; summary.yml tells multi-user hosts the hub's URL, who signs up first and how to add users."""

from __future__ import annotations

import json

import pytest

# A host whose SSH port refuses connections: the mode check runs on the controller and needs no
# connection, every later step would fail UNREACHABLE - so nothing on any machine can change.
# It names its data disk, as provision.yml does for EC2 hosts: configure checks every host role's inputs
# (the data_volume selector included) on the controller first.
UNREACHABLE = ["-i", "hub1,", "-e", "jupyterops_hosts=hub1", "-e", "ansible_host=127.0.0.1",
               "-e", "ansible_port=1", "-e", "ansible_connection=ssh",
               "-e", "data_volume_device=/dev/nvme1n1"]


def _mode_args(mode: object) -> list[str]:
    return ["-e", json.dumps({"jupyterops_mode": mode})]


@pytest.mark.parametrize("mode", ["bogus", "Multi", "", 1, ["multi"]])
def test_configure_refuses_an_unknown_mode_before_any_change(ansible_runner, mode) -> None:
    proc = ansible_runner(["ansible-playbook", "playbooks/configure.yml", *UNREACHABLE, *_mode_args(mode)],
                          timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    # Refused by the validate play (the switches' argument spec), naming the variable and the choices.
    assert "value of jupyterops_mode must be one of: single, multi" in out
    # The run stopped at the check: no fact gathering, no role, no connection attempt.
    assert "Gathering Facts" not in out
    assert "UNREACHABLE" not in out
    assert "changed=0" in out


@pytest.mark.parametrize("mode", [None, "single", "multi"])
def test_configure_accepts_single_and_multi(ansible_runner, mode) -> None:
    extra = [] if mode is None else _mode_args(mode)
    proc = ansible_runner(["ansible-playbook", "playbooks/configure.yml", *UNREACHABLE, *extra], timeout=120)
    out = proc.stdout + proc.stderr
    # The check passes; the run then stops only because the host cannot be reached.
    assert "jupyterops_mode must be" not in out and "value of jupyterops_mode" not in out
    assert "ok: [hub1]" in out
    assert "UNREACHABLE" in out


def test_update_refuses_an_unknown_mode_before_any_change(ansible_runner) -> None:
    proc = ansible_runner(["ansible-playbook", "playbooks/update.yml", "-i", "localhost,", "-c", "local",
                           "-e", "jupyterops_hosts=localhost", "-e", "update_ec2=false",
                           "-e", "update_lock_dir=/nonexistent/jupyterops-test", *_mode_args("bogus")],
                          timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "value of jupyterops_mode must be one of: single, multi, got: bogus" in out
    # Refused on the controller before the instances are started or any host is touched.
    assert "Cloud steps" not in out
    assert "Gathering Facts" not in out
    assert "changed=0" in out


def _summary(ansible_runner, *extra: str) -> str:
    proc = ansible_runner(["ansible-playbook", "playbooks/summary.yml", "-i", "hub1,",
                           "-e", "jupyterops_hosts=hub1", "-e", "ansible_host=203.0.113.9", *extra],
                          timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return " ".join(proc.stdout.split())  # the callback wraps long lines


def test_summary_multi_native(ansible_runner) -> None:
    out = _summary(ansible_runner, "-e", json.dumps({
        "jupyterops_mode": "multi", "jupyterops_access": "public", "jupyterhub_admin_users": ["alice"],
        "jupyterhub_allowed_users": ["alice", "bob"]}))
    assert "JupyterHub on hub1: https://203.0.113.9:443/" in out
    assert "alice signs up first at https://203.0.113.9:443/hub/signup" in out
    assert "Users: alice, bob. To add one, append the name to jupyterhub_allowed_users" in out
    assert "JupyterLab on" not in out
    assert "Password:" not in out


def test_summary_multi_pam_and_port(ansible_runner) -> None:
    out = _summary(ansible_runner, "-e", json.dumps({
        "jupyterops_mode": "multi", "jupyterops_access": "public", "jupyterhub_authenticator": "pam",
        "jupyterhub_port": 8443,
        "jupyterhub_admin_users": ["carol"], "jupyterhub_allowed_users": ["carol"]}))
    assert "JupyterHub on hub1: https://203.0.113.9:8443/" in out
    assert "carol logs in at https://203.0.113.9:8443/hub/login with the Unix password" in out
    assert "signs up first" not in out


def test_summary_single_tunnel_mode_by_default(ansible_runner) -> None:
    # Defaults: tunnel mode, plain HTTP through the SSH tunnel on 8889.
    out = _summary(ansible_runner)
    assert "JupyterLab on hub1: http://localhost:8889/" in out
    assert "ssh -N -L 8889:localhost:8889 admin@203.0.113.9" in out
    assert "https://" not in out
    assert "JupyterHub" not in out


def test_summary_single_public_mode(ansible_runner) -> None:
    out = _summary(ansible_runner, "-e", "jupyterops_access=public")
    assert "JupyterLab on hub1: https://203.0.113.9:9999/" in out
    assert "ssh -N -L" not in out


def test_summary_multi_tunnel_mode(ansible_runner) -> None:
    out = _summary(ansible_runner, "-e", json.dumps({
        "jupyterops_mode": "multi", "jupyterhub_admin_users": ["alice"],
        "jupyterhub_allowed_users": ["alice"]}))
    assert "JupyterHub on hub1: https://localhost:8443/" in out
    assert "ssh -N -L 8443:localhost:443 admin@203.0.113.9" in out
