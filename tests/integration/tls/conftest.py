"""Fixtures for the tls integration tests: a local Pebble ACME server with its own TLS CA."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Lifetime of the certificates this Pebble issues.
VALIDITY_DAYS = 10


def _free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_https(url: str, cafile: Path, timeout: float = 30) -> None:
    """Wait until url answers over TLS verified with cafile."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass
class Pebble:
    """A running Pebble: directory URL, management URL, CA bundle for its TLS, HTTP-01 port."""

    directory: str
    management: str
    tls_ca: Path
    http_port: int

    def issuing_roots(self) -> list[bytes]:
        """PEM root and intermediate of the issuing CA (regenerated at every Pebble start)."""
        ctx = ssl.create_default_context(cafile=str(self.tls_ca))
        out = []
        for path in ("roots/0", "intermediates/0"):
            with urllib.request.urlopen(f"{self.management}/{path}", context=ctx, timeout=10) as resp:
                out.append(resp.read())
        return out


@pytest.fixture(scope="session")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    """Start pebble-challtestsrv (DNS answering 127.0.0.1 for every name) and pebble on loopback."""
    if not shutil.which("pebble"):
        pytest.fail("Debian package 'pebble' is required (apt-get install --no-install-recommends pebble)")
    work = tmp_path_factory.mktemp("pebble")
    ca_key, ca_crt = work / "ca.key", work / "ca.pem"
    srv_key, srv_csr, srv_crt = work / "server.key", work / "server.csr", work / "server.pem"
    ext = work / "ext.cnf"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "extendedKeyUsage=serverAuth\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "2", "-subj", "/CN=pebble test TLS CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(srv_key), "-out", str(srv_csr), "-subj", "/CN=localhost")
    run("openssl", "x509", "-req", "-in", str(srv_csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(srv_crt), "-days", "2", "-extfile", str(ext))
    acme_port, mgmt_port, http_port, dns_port = (_free_port() for _ in range(4))
    config = work / "pebble.json"
    config.write_text(json.dumps({"pebble": {
        "listenAddress": f"127.0.0.1:{acme_port}", "managementListenAddress": f"127.0.0.1:{mgmt_port}",
        "certificate": str(srv_crt), "privateKey": str(srv_key), "httpPort": http_port,
        "tlsPort": _free_port(), "ocspResponderURL": "", "externalAccountBindingRequired": False,
        # Short-lived certificates (10 days), so the role's default tls_renew_days (30) makes them due.
        "certificateValidityPeriod": VALIDITY_DAYS * 86400}}))
    env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0", PEBBLE_AUTHZREUSE="0")
    log_dns = (work / "challtestsrv.log").open("w")
    log_pebble = (work / "pebble.log").open("w")
    dns = subprocess.Popen(
        ["pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01",
         f"127.0.0.1:{dns_port}", "-http01", "", "-https01", "", "-tlsalpn01", "", "-management",
         f"127.0.0.1:{_free_port()}"], stdout=log_dns, stderr=subprocess.STDOUT)
    server = subprocess.Popen(["pebble", "-config", str(config), "-dnsserver", f"127.0.0.1:{dns_port}"],
                              env=env, stdout=log_pebble, stderr=subprocess.STDOUT)
    try:
        _wait_https(f"https://127.0.0.1:{acme_port}/dir", ca_crt)
        yield Pebble(f"https://127.0.0.1:{acme_port}/dir", f"https://127.0.0.1:{mgmt_port}", ca_crt,
                     http_port)
    finally:
        for proc in (server, dns):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        log_dns.close()
        log_pebble.close()
