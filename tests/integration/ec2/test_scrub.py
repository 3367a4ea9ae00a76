"""image_scrub on a systemd container removes what it promises and nothing else."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

IMAGE = "localhost/jupyterops-debian12-systemd:latest"
HASH_LINE = 'c.PasswordIdentityProvider.hashed_password = "argon2:$argon2id$v=19$m=10240,t=10,p=8$abc$def"'

SEED = f"""
set -e
useradd -m -s /bin/bash admin; useradd -m -s /bin/bash other
useradd -r -d /var/lib/jupyter -m -s /bin/bash jupyter
mkdir -p /etc/ssh /home/admin/.ssh /home/other/.ssh /root/.ssh
for t in rsa ecdsa ed25519; do
  echo key > /etc/ssh/ssh_host_${{t}}_key; echo pub > /etc/ssh/ssh_host_${{t}}_key.pub
done
echo 'PermitRootLogin no' > /etc/ssh/sshd_config
echo ssh-ed25519 AAAA admin > /home/admin/.ssh/authorized_keys
echo ssh-ed25519 AAAA other > /home/other/.ssh/authorized_keys
echo ssh-ed25519 AAAA root > /root/.ssh/authorized_keys
echo 'ls' > /home/admin/.bash_history; echo 'ls' > /home/other/.zsh_history; echo 'ls' > /root/.bash_history
echo 'ls' > /var/lib/jupyter/.bash_history; echo 'alias l=ls' > /home/admin/.bashrc
mkdir -p /var/lib/cloud/instances/i-123/sem /var/lib/cloud/data /var/lib/cloud/sem
mkdir -p /var/lib/cloud/scripts/per-boot
ln -s /var/lib/cloud/instances/i-123 /var/lib/cloud/instance
echo x > /var/lib/cloud/instances/i-123/user-data.txt; echo x > /var/lib/cloud/data/instance-id
echo '#!/bin/sh' > /var/lib/cloud/scripts/per-boot/keep.sh
mkdir -p /var/lib/jupyter/.local/share/jupyter/runtime /var/lib/jupyter/.local/share/jupyter/kernels/py
echo '{{"token": "secret"}}' > /var/lib/jupyter/.local/share/jupyter/runtime/jpserver-1.json
echo '{{}}' > /var/lib/jupyter/.local/share/jupyter/kernels/py/kernel.json
mkdir -p /etc/jupyter /data/notebooks
printf '%s\\n' 'c = get_config()' '{HASH_LINE}' 'c.ServerApp.port = 8888' \\
  > /etc/jupyter/jupyter_server_config.py
echo 'print(1)' > /data/notebooks/work.py
"""

REMOVED = [
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ed25519_key.pub",
    "/etc/ssh/ssh_host_ecdsa_key",
    "/home/admin/.ssh/authorized_keys",
    "/home/admin/.bash_history",
    "/home/other/.zsh_history",
    "/root/.bash_history",
    "/var/lib/jupyter/.bash_history",
    "/var/lib/cloud/instance",
    "/var/lib/cloud/instances",
    "/var/lib/cloud/data",
    "/var/lib/cloud/sem",
    "/var/lib/jupyter/.local/share/jupyter/runtime",
]
KEPT = [
    "/etc/ssh/sshd_config",
    "/home/other/.ssh/authorized_keys",
    "/root/.ssh/authorized_keys",
    "/home/admin/.bashrc",
    "/var/lib/cloud/scripts/per-boot/keep.sh",
    "/var/lib/jupyter/.local/share/jupyter/kernels/py/kernel.json",
    "/data/notebooks/work.py",
    "/etc/jupyter/jupyter_server_config.py",
]


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=120)


@pytest.fixture
def container() -> Iterator[str]:
    """A running systemd container from the project's Debian 12 image."""
    if shutil.which("podman") is None or _podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail(f"{IMAGE} is required (scripts/build-images.sh)")
    name = f"jops-scrub-{uuid.uuid4().hex[:8]}"
    _podman("run", "-d", "--name", name, "--cap-add", "SYS_BOOT", IMAGE)
    try:
        _podman("exec", name, "sh", "-c", SEED)
        yield name
    finally:
        _podman("rm", "-f", "-t", "0", name, check=False)


def _existing(name: str, paths: list[str]) -> set[str]:
    script = "; ".join(f"[ -e {p} ] || [ -L {p} ] && echo {p}" for p in paths) + "; true"
    return set(_podman("exec", name, "sh", "-c", script).stdout.split())


def _scrub(runner, repo_root: Path, name: str, *extra: str) -> int:
    proc = runner(
        [
            "ansible-playbook",
            str(repo_root / "tests/integration/ec2/scrub.yml"),
            "-i",
            f"{name},",
            "-c",
            "containers.podman.podman",
            "-e",
            "ansible_python_interpreter=/usr/bin/python3",
            "-e",
            "image_scrub_login_user=admin",
            *extra,
        ],
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return int(re.search(r"changed=(\d+)", proc.stdout).group(1))


def test_scrub_removes_exactly_what_it_promises(ansible_runner, repo_root: Path, container: str) -> None:
    assert _existing(container, REMOVED) == set(REMOVED)
    assert _existing(container, KEPT) == set(KEPT)

    # Told to keep the password hash: everything else promised goes, nothing else is touched.
    assert _scrub(ansible_runner, repo_root, container, "-e", "image_scrub_keep_password_hash=true") > 0
    assert _existing(container, REMOVED) == set()
    assert _existing(container, KEPT) == set(KEPT)
    assert HASH_LINE in _podman("exec", container, "cat", "/etc/jupyter/jupyter_server_config.py").stdout

    # Default: the hash is blanked too, and that is the only change left to make (idempotent otherwise).
    assert _scrub(ansible_runner, repo_root, container) == 1
    config = _podman("exec", container, "cat", "/etc/jupyter/jupyter_server_config.py").stdout.splitlines()
    assert config == [
        "c = get_config()",
        'c.PasswordIdentityProvider.hashed_password = ""',
        "c.ServerApp.port = 8888",
    ]
    assert _existing(container, KEPT) == set(KEPT)
