"""playbooks/connect.yml: an SSH config that follows the instances' addresses across stop/start."""

from __future__ import annotations

import shutil
import stat
import subprocess


def run_connect(ansible_runner, aws_env, config, ssh_config, *extra):
    """Run the connect playbook against a tagged_ec2 inventory; return the completed process."""
    args = ["ansible-playbook", "-i", str(config), "playbooks/connect.yml",
            "-e", f"jupyterops_connect_ssh_config={ssh_config}", *extra]
    proc = ansible_runner(args, env=aws_env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def ssh_resolve(ssh_config, host):
    """What `ssh -F FILE HOST` would use (ssh -G), as a dict of lower-case keys to values."""
    out = subprocess.run(["ssh", "-G", "-F", str(ssh_config), host], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    resolved: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        resolved.setdefault(key, []).append(value)
    return resolved


def test_connect_writes_blocks_and_follows_a_new_ip(fleet, write_config, ansible_runner, aws_env, tmp_path):
    (nb,) = fleet.launch("notebook")
    (off,) = fleet.launch("parked")
    fleet.stop(off)
    config = write_config(ssh_identity_file="~/.ssh/jupyter.pem")
    ssh_config = tmp_path / "ssh" / "jupyterops.config"
    first_ip = fleet.describe(nb)["PublicIpAddress"]

    proc = run_connect(ansible_runner, aws_env, config, ssh_config)
    text = ssh_config.read_text()
    assert stat.S_IMODE(ssh_config.stat().st_mode) == 0o600
    assert "Host notebook\n" in text
    assert f"HostName {first_ip}\n" in text
    assert "LocalForward 8889 127.0.0.1:8889" in text
    assert "IdentityFile ~/.ssh/jupyter.pem" in text
    assert "Host parked" not in text
    assert f"# parked ({off}) is stopped" in text
    assert f"ssh -N -L 8889:127.0.0.1:8889 admin@{first_ip}" in proc.stdout
    assert "http://localhost:8889/" in proc.stdout

    fleet.stop(nb)
    fleet.start(nb)
    fleet.start(off)
    new_ip = fleet.describe(nb)["PublicIpAddress"]
    assert new_ip != first_ip
    run_connect(ansible_runner, aws_env, config, ssh_config)
    text = ssh_config.read_text()
    assert f"HostName {new_ip}\n" in text
    assert first_ip not in text
    assert "Host parked\n" in text

    if shutil.which("ssh"):
        resolved = ssh_resolve(ssh_config, "notebook")
        assert resolved["hostname"] == [new_ip]
        assert resolved["user"] == ["admin"]
        assert resolved["hostkeyalias"] == ["notebook"]
        assert any(v.endswith("8889 127.0.0.1:8889") or v == "8889 [127.0.0.1]:8889"
                   for v in resolved.get("localforward", []))


def test_connect_is_idempotent_and_can_skip_the_tunnel(fleet, write_config, ansible_runner, aws_env,
                                                        tmp_path):
    fleet.launch("notebook")
    config = write_config()
    ssh_config = tmp_path / "jupyterops.config"
    run_connect(ansible_runner, aws_env, config, ssh_config, "-e", "jupyterops_connect_tunnel=false")
    assert "LocalForward" not in ssh_config.read_text()
    again = run_connect(ansible_runner, aws_env, config, ssh_config, "-e", "jupyterops_connect_tunnel=false")
    assert "changed=0" in again.stdout


def test_connect_fails_clearly_without_tagged_hosts(write_config, ansible_runner, aws_env, tmp_path):
    config = write_config()
    proc = ansible_runner(["ansible-playbook", "-i", str(config), "playbooks/connect.yml",
                           "-e", f"jupyterops_connect_ssh_config={tmp_path / 'x.config'}",
                           "-e", "jupyterops_connect_group=nonexistent"], env=aws_env, timeout=300)
    assert proc.returncode != 0
    assert "jupyterops_connect_group" in proc.stdout
