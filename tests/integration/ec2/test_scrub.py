"""image_scrub on a systemd container removes what it promises and nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ec2.conftest import podman, systemd_container

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
echo 'run' > /data/notebooks/run.log; echo 'v1' > /data/notebooks/results.1; echo 'x' > /home/admin/notes.gz
mkdir -p /etc/jupyter/tls/acme/config/accounts/acme.example /etc/jupyter/tls/acme/config/live/jupyterops
mkdir -p /etc/jupyter/tls/acme/config/archive/jupyterops /etc/jupyter/tls/acme/config/renewal
mkdir -p /etc/jupyter/tls/acme/config/renewal-hooks/deploy
echo key > /etc/jupyter/tls/key.pem; echo cert > /etc/jupyter/tls/cert.pem
echo key > /etc/jupyter/tls/acme-account.key
echo key > /etc/jupyter/tls/acme/config/accounts/acme.example/private_key.json
echo key > /etc/jupyter/tls/acme/config/archive/jupyterops/privkey1.pem
echo conf > /etc/jupyter/tls/acme/config/renewal/jupyterops.conf
echo '#!/bin/sh' > /etc/jupyter/tls/acme/config/renewal-hooks/deploy/jupyterops-install
mkdir -p /var/lib/jupyterhub /etc/jupyterhub/secrets
echo db > /var/lib/jupyterhub/jupyterhub.sqlite
echo db > /var/lib/jupyterhub/jupyterhub.sqlite.2026-11-01-120000
echo secret > /var/lib/jupyterhub/jupyterhub_cookie_secret; echo 1 > /var/lib/jupyterhub/jupyterhub-proxy.pid
echo token > /etc/jupyterhub/secrets/admin.token; echo token > /etc/jupyterhub/secrets/idle.token
echo 'c = get_config()' > /etc/jupyterhub/jupyterhub_config.py
mkdir -p /var/log/journal/0123abcd /var/log/jupyterhub /var/log/apt
echo j > /var/log/journal/0123abcd/system.journal; echo j > '/var/log/journal/0123abcd/user-1000@x.journal~'
echo ci > /var/log/cloud-init.log; echo ci > /var/log/cloud-init-output.log
echo old > /var/log/dpkg.log.1; echo old > /var/log/apt/history.log.2.gz
echo old > /var/log/jupyterhub/jupyterhub.log.1
echo now > /var/log/jupyterhub/jupyterhub.log; echo now > /var/log/dpkg.log; echo now > /var/log/wtmp
chown nobody:adm /var/log/jupyterhub/jupyterhub.log; chmod 0640 /var/log/jupyterhub/jupyterhub.log
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
    "/var/lib/dbus/machine-id",
    "/etc/jupyter/tls/key.pem",
    "/etc/jupyter/tls/cert.pem",
    "/etc/jupyter/tls/acme-account.key",
    "/etc/jupyter/tls/acme/config/accounts",
    "/etc/jupyter/tls/acme/config/archive",
    "/etc/jupyter/tls/acme/config/live",
    "/etc/jupyter/tls/acme/config/renewal",
    "/var/lib/jupyterhub/jupyterhub.sqlite",
    "/var/lib/jupyterhub/jupyterhub.sqlite.2026-11-01-120000",
    "/var/lib/jupyterhub/jupyterhub_cookie_secret",
    "/etc/jupyterhub/secrets/admin.token",
    "/etc/jupyterhub/secrets/idle.token",
    "/var/log/journal/0123abcd/system.journal",
    "/var/log/journal/0123abcd/user-1000@x.journal~",
    "/var/log/cloud-init.log",
    "/var/log/cloud-init-output.log",
    "/var/log/dpkg.log.1",
    "/var/log/apt/history.log.2.gz",
    "/var/log/jupyterhub/jupyterhub.log.1",
]
# journald's active files, which it reopens when it next logs.
ACTIVE_JOURNAL = re.compile(r"^/var/log/journal/[0-9a-f]+/(system|user-\d+)\.journal$")
# Emptied, not removed (the services that write them go on).
EMPTIED = ["/etc/machine-id", "/var/log/jupyterhub/jupyterhub.log", "/var/log/dpkg.log", "/var/log/wtmp"]
KEPT = [
    "/etc/ssh/sshd_config",
    "/home/other/.ssh/authorized_keys",
    "/root/.ssh/authorized_keys",
    "/home/admin/.bashrc",
    "/var/lib/cloud/scripts/per-boot/keep.sh",
    "/var/lib/jupyter/.local/share/jupyter/kernels/py/kernel.json",
    "/data/notebooks/work.py",
    "/etc/jupyter/jupyter_server_config.py",
    "/data/notebooks/run.log",
    "/data/notebooks/results.1",
    "/home/admin/notes.gz",
    "/etc/jupyter/tls/acme/config/renewal-hooks/deploy/jupyterops-install",
    "/var/lib/jupyterhub/jupyterhub-proxy.pid",
    "/etc/jupyterhub/jupyterhub_config.py",
    "/var/log/journal/0123abcd",
    *EMPTIED,
]
CLASSES = ("ssh-host-keys,authorized-keys,shell-histories,machine-id,cloud-init-state,cloud-init-logs,logs,"
           "jupyter-runtime,jupyter-password-hash,tls-key,acme-account-key,hub-database,hub-secrets")


@pytest.fixture
def container() -> Iterator[str]:
    """A running systemd container from the project's Debian 12 image."""
    with systemd_container("jops-scrub", SEED) as name:
        yield name


def _existing(name: str, paths: list[str]) -> set[str]:
    script = "; ".join(f"[ -e {p} ] || [ -L {p} ] && echo {p}" for p in paths) + "; true"
    return set(podman("exec", name, "sh", "-c", script).stdout.split())


def _sizes(name: str, paths: list[str]) -> dict[str, str]:
    script = "; ".join(f"stat -c '%n %s %U:%G %a' {p}" for p in paths)
    return {line.split()[0]: " ".join(line.split()[1:])
            for line in podman("exec", name, "sh", "-c", script).stdout.splitlines()}


def _play(runner, repo_root: Path, name: str, *extra: str) -> tuple[int, str]:
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
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return int(re.search(r"changed=(\d+)", proc.stdout).group(1)), proc.stdout


def _changes(out: str) -> list[tuple[str, str]]:
    """(task name, item) of every change a run reports."""
    found, task = [], ""
    for line in out.splitlines():
        header = re.match(r"TASK \[(?:[\w.]+ : )?(.*?)\] \*+", line)
        if header:
            task = header.group(1)
        change = re.match(r"changed: \[[^\]]+\](?: => \(item=(.*)\))?", line)
        if change:
            found.append((task, change.group(1) or ""))
    return found


def test_scrub_removes_exactly_what_it_promises(ansible_runner, repo_root: Path, container: str) -> None:
    assert _existing(container, REMOVED) == set(REMOVED)
    assert _existing(container, KEPT) == set(KEPT)
    assert all(size != "0" for size, *_ in (v.split() for v in _sizes(container, EMPTIED).values()))
    before = _sizes(container, EMPTIED)

    # Told to keep the password hash: everything else promised goes, nothing else is touched.
    changed, out = _play(ansible_runner, repo_root, container, "-e", "image_scrub_keep_password_hash=true")
    assert changed > 0
    assert f"SCRUBBED={CLASSES.replace(',jupyter-password-hash', '')}" in out
    assert _existing(container, REMOVED) == set()
    assert _existing(container, KEPT) == set(KEPT)
    assert HASH_LINE in podman("exec", container, "cat", "/etc/jupyter/jupyter_server_config.py").stdout
    # The current logs and machine-id are empty, with their owner and mode kept.
    after = _sizes(container, EMPTIED)
    owners = {p: v.split(" ", 1)[1] for p, v in before.items()}
    assert {p: v.split(" ", 1)[1] for p, v in after.items()} == owners
    assert {v.split()[0] for v in after.values()} == {"0"}

    # Default: the hash is blanked too, the only change left to make (idempotent otherwise) but for
    # the journal file journald reopens as soon as it logs again (the image keeps only those last entries).
    changed, out = _play(ansible_runner, repo_root, container)
    changes = _changes(out)
    assert ("Blank the Jupyter password hash", "") in changes, out[-3000:]
    assert all(task == "Blank the Jupyter password hash"
               or (task == "Remove the journal files and the rotated logs" and ACTIVE_JOURNAL.match(item))
               for task, item in changes), changes
    assert f"SCRUBBED={CLASSES}" in out
    config = podman("exec", container, "cat", "/etc/jupyter/jupyter_server_config.py").stdout.splitlines()
    assert config == [
        "c = get_config()",
        'c.PasswordIdentityProvider.hashed_password = ""',
        "c.ServerApp.port = 8888",
    ]
    assert _existing(container, KEPT) == set(KEPT)


def test_every_class_has_its_switch(ansible_runner, repo_root: Path, container: str) -> None:
    """With every class switched off nothing is removed, and the fact says so."""
    off = ["ssh_host_keys", "authorized_keys", "shell_histories", "machine_id", "cloud_init_state",
           "cloud_init_logs", "logs", "jupyter_runtime", "tls_key", "acme_account_key", "hub_database",
           "hub_secrets"]
    extra = [arg for name in off for arg in ("-e", f"image_scrub_{name}=false")]
    extra += ["-e", "image_scrub_keep_password_hash=true"]
    changed, out = _play(ansible_runner, repo_root, container, *extra)
    assert changed == 0, out[-3000:]
    assert "SCRUBBED=\n" in out or '"SCRUBBED="' in out, out[-2000:]
    assert _existing(container, REMOVED) == set(REMOVED)


def test_tls_key_regenerates_on_the_next_converge(ansible_runner, repo_root: Path, container: str) -> None:
    """A launch from the image: the tls role (self_signed) makes a new key and a certificate matching it."""
    tls = ("-e", "scrub_test_tls=true", "-e", "tls_common_name=alice.example.org")
    _play(ansible_runner, repo_root, container, *tls)
    old_key = podman("exec", container, "cat", "/etc/jupyter/tls/key.pem").stdout
    _play(ansible_runner, repo_root, container)
    assert _existing(container, ["/etc/jupyter/tls/key.pem", "/etc/jupyter/tls/cert.pem"]) == set()

    changed, _ = _play(ansible_runner, repo_root, container, *tls)
    assert changed > 0
    new_key = podman("exec", container, "cat", "/etc/jupyter/tls/key.pem").stdout
    assert new_key and new_key != old_key
    match = (
        "from cryptography import x509; from cryptography.hazmat.primitives import serialization as s;"
        "c = x509.load_pem_x509_certificate(open('/etc/jupyter/tls/cert.pem','rb').read());"
        "k = s.load_pem_private_key(open('/etc/jupyter/tls/key.pem','rb').read(), None);"
        "f = (s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo);"
        "print(c.public_key().public_bytes(*f) == k.public_key().public_bytes(*f))"
    )
    assert podman("exec", container, "python3", "-c", match).stdout.strip() == "True"
    assert _play(ansible_runner, repo_root, container, *tls)[0] == 0


def test_ssh_host_keys_regenerate_on_the_next_converge(ansible_runner, repo_root: Path,
                                                       container: str) -> None:
    """A launch from the image outside EC2 (no cloud-init): configure.yml's first step makes new host keys."""
    apt = "DEBIAN_FRONTEND=noninteractive apt-get -qq"
    podman("exec", container, "sh", "-c",
           f"{apt} update >/dev/null && {apt} install -y --no-install-recommends openssh-server >/dev/null",
           timeout=600)
    keys = "/etc/ssh/ssh_host_ed25519_key"
    _play(ansible_runner, repo_root, container)
    assert _existing(container, [keys, f"{keys}.pub"]) == set()

    changed, _ = _play(ansible_runner, repo_root, container, "-e", "scrub_test_host_keys=true")
    assert changed == 1
    assert podman("exec", container, "cat", f"{keys}.pub").stdout.startswith("ssh-ed25519 ")
    # sshd accepts its configuration with the new keys (ssh.service's RuntimeDirectory makes /run/sshd).
    checked = podman("exec", container, "sh", "-c", "mkdir -p /run/sshd && /usr/sbin/sshd -t", check=False)
    assert checked.returncode == 0, checked.stderr
    # Converged: nothing to do on the next run.
    changed, _ = _play(ansible_runner, repo_root, container, "-e", "scrub_test_host_keys=true")
    assert changed == 0
