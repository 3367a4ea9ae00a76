"""Unattended ACME renewal on the host: the timer's service (cron on SysV) renews and the server follows.

A rootful podman container with systemd as PID 1 (the project's Debian 12 image) shares the host's
network, so certbot in it reaches Pebble on loopback and answers HTTP-01 on Pebble's validation port.
A stand-in for the JupyterLab service (a systemd unit named jupyterlab that serves HTTPS with the role's
certificate and key, read at start like jupyter_server) shows that the renewal hook restarts the server
so it presents the renewed certificate. Pebble's certificates live 10 days, the role renews 30 days
before expiry: every run of the renewal service renews. The SysV case runs the cron entry's command as
cron would (sh -c, a minimal PATH) in the project's sysvinit image.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

IMAGE = "localhost/jupyterops-debian12-systemd:latest"
SYSV_IMAGE = "localhost/jupyterops-debian12-sysv:latest"
PLAYBOOK = Path(__file__).with_name("acme.yml")
TLS = "/etc/jupyter/tls"
STAND_IN = """[Unit]
Description=Stand-in for the JupyterLab server: HTTPS with the tls role's certificate
[Service]
ExecStart=/usr/bin/python3 -c "import http.server, ssl; s = http.server.HTTPServer(('127.0.0.1', {port}), \
http.server.BaseHTTPRequestHandler); c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); \
c.load_cert_chain('{tls}/cert.pem', '{tls}/key.pem'); s.socket = c.wrap_socket(s.socket, server_side=True); \
s.serve_forever()"
[Install]
WantedBy=multi-user.target
"""


def _podman(*args: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run podman; fail with its output when check and it fails."""
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"podman {' '.join(args)}: {proc.stdout}{proc.stderr}")
    return proc


def _container(pebble, image: str, systemd: bool) -> Iterator[str]:
    """A container of image on the host's network that trusts Pebble's TLS CA; its name."""
    if _podman("image", "exists", image, check=False).returncode != 0:
        pytest.fail(f"{image} is missing: build it with make images")
    name = f"jupyterops-tls-acme-{uuid.uuid4().hex[:8]}"
    init = "--systemd=always" if systemd else "--systemd=false"
    _podman("run", "-d", "--name", name, "--network", "host", init, "--cap-add", "SYS_BOOT",
            "--label", "jupyterops=tls-acme-test", image, "/sbin/init")
    try:
        for _ in range(60):
            if not systemd:
                time.sleep(2)
                break
            state = _podman("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.5)
        _podman("cp", str(pebble.tls_ca), f"{name}:/usr/local/share/ca-certificates/pebble-tls.crt")
        _podman("exec", name, "sh", "-c", "update-ca-certificates >/dev/null && apt-get update -qq")
        yield name
    finally:
        _podman("rm", "-f", "-t", "5", name, check=False)


@pytest.fixture
def host(pebble) -> Iterator[str]:
    """A systemd container (the project's Debian 12 image)."""
    yield from _container(pebble, IMAGE, systemd=True)


@pytest.fixture
def sysv_host(pebble) -> Iterator[str]:
    """A SysV-init container (the project's Debian 12 sysvinit image)."""
    yield from _container(pebble, SYSV_IMAGE, systemd=False)


def _converge(ansible_runner, pebble, host: str, tmp_path: Path, check: bool = False,
              mode: str = "acme") -> dict:
    """Run the role in acme mode in the container; return the recap stats."""
    variables = {
        "tls_mode": mode, "tls_owner": "root", "tls_group": "root", "tls_common_name": "jupyter.test",
        "tls_include_host_names": False, "tls_include_loopback": False,
        "tls_acme_directory": pebble.directory, "tls_acme_email": "ops@jupyter.test",
        "tls_acme_http_port": pebble.http_port, "ansible_python_interpreter": "/usr/bin/python3",
    }
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    args = ["ansible-playbook", "-i", f"{host},", "-c", "containers.podman.podman", str(PLAYBOOK),
            "-e", f"@{varfile}"] + (["--check"] if check else [])
    proc = ansible_runner(args, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)["stats"][host]


def _served_serial(port: int) -> int:
    """Serial of the certificate the server on 127.0.0.1:port presents (waits for it to listen)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            pem = ssl.get_server_certificate(("127.0.0.1", port), timeout=2)
            return x509.load_pem_x509_certificate(pem.encode()).serial_number
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_timer_renews_and_the_server_presents_the_new_certificate(ansible_runner, pebble, host, tmp_path):
    assert _converge(ansible_runner, pebble, host, tmp_path)["changed"] > 0
    assert _converge(ansible_runner, pebble, host, tmp_path)["changed"] == 0
    assert _converge(ansible_runner, pebble, host, tmp_path, check=True)["changed"] == 0

    unit = "jupyterops-tls-renew"
    assert _podman("exec", host, "systemctl", "is-enabled", f"{unit}.timer").stdout.strip() == "enabled"
    assert _podman("exec", host, "systemctl", "is-active", f"{unit}.timer").stdout.strip() == "active"
    verify = _podman("exec", host, "systemd-analyze", "verify", f"/etc/systemd/system/{unit}.service",
                     f"/etc/systemd/system/{unit}.timer", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    service = _podman("exec", host, "systemctl", "cat", f"{unit}.service").stdout
    assert "ExecStart=/usr/bin/certbot renew --non-interactive" in service, service

    # The stand-in server presents the issued certificate.
    port = _free_port()
    stand_in = STAND_IN.format(port=port, tls=TLS).replace('"', '\\"').replace("\\\\\n", "\\\n")
    _podman("exec", host, "sh", "-c", f'printf "%s" "{stand_in}" > /etc/systemd/system/jupyterlab.service'
            " && systemctl daemon-reload && systemctl start jupyterlab.service")
    issued = _served_serial(port)

    # What the timer starts: the renewal service (oneshot; Pebble's 10-day certificate is due at 30 days).
    renew = _podman("exec", host, "systemctl", "start", f"{unit}.service", check=False, timeout=300)
    assert renew.returncode == 0, _podman("exec", host, "journalctl", "-u", f"{unit}.service",
                                          "--no-pager", check=False).stdout[-4000:]
    installed = x509.load_pem_x509_certificates(
        _podman("exec", host, "cat", f"{TLS}/cert.pem").stdout.encode())[0].serial_number
    assert installed != issued
    assert _served_serial(port) == installed, "the hook restarted the server with the renewed certificate"
    # Nothing left pending, and a converge afterwards keeps the renewed certificate.
    pending = _podman("exec", host, "ls", "/var/lib/jupyterops/restart-pending/", check=False)
    assert pending.stdout.strip() == ""
    assert _converge(ansible_runner, pebble, host, tmp_path)["changed"] == 0

    # Leaving acme mode stops the renewal: no timer, no hook that could overwrite the new mode's certificate.
    assert _converge(ansible_runner, pebble, host, tmp_path, mode="self_signed")["changed"] > 0
    timer = _podman("exec", host, "systemctl", "is-active", f"{unit}.timer", check=False)
    assert timer.stdout.strip() != "active"
    left = _podman("exec", host, "sh", "-c", f"ls /etc/systemd/system/{unit}.* "
                   f"{TLS}/acme/config/renewal-hooks/deploy/jupyterops-install 2>/dev/null", check=False)
    assert left.stdout.strip() == ""
    assert _converge(ansible_runner, pebble, host, tmp_path, mode="self_signed")["changed"] == 0


def test_cron_renews_on_a_sysv_host(ansible_runner, pebble, sysv_host, tmp_path):
    host = sysv_host
    assert _converge(ansible_runner, pebble, host, tmp_path)["changed"] > 0
    assert _converge(ansible_runner, pebble, host, tmp_path)["changed"] == 0
    assert _converge(ansible_runner, pebble, host, tmp_path, check=True)["changed"] == 0
    cron = _podman("exec", host, "cat", "/etc/cron.d/jupyterops-tls-renew").stdout
    (entry,) = [line for line in cron.splitlines() if line and not line.startswith("#")]
    minute, hour, _dom, _month, _dow, user, job = entry.split(None, 6)
    assert (hour, user) == ("3,15", "root") and 0 <= int(minute) <= 59, entry
    assert job.startswith("/usr/bin/certbot renew --non-interactive"), job
    issued = x509.load_pem_x509_certificates(
        _podman("exec", host, "cat", f"{TLS}/cert.pem").stdout.encode())[0].serial_number
    # What cron runs, as cron runs it (sh -c with cron's minimal PATH).
    run = _podman("exec", host, "env", "-i", "PATH=/usr/bin:/bin", "/bin/sh", "-c", job, check=False,
                  timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    renewed = x509.load_pem_x509_certificates(
        _podman("exec", host, "cat", f"{TLS}/cert.pem").stdout.encode())[0].serial_number
    assert renewed != issued
