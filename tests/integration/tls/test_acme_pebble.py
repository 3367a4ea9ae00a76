"""The tls role's acme mode (certbot) against Debian's Pebble ACME test server on loopback (HTTP-01).

Pebble issues 10-day certificates (conftest.VALIDITY_DAYS), so with the default tls_renew_days (30) a
fresh certificate is already due: a converge must not renew it (it only issues when there is none or the
names change), while the host's renewal (`certbot renew` with the role's directories and its deploy hook,
what the timer runs) must.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

PLAYBOOK = Path(__file__).with_name("acme.yml")


def _run(ansible_runner, pebble, tmp_path: Path, names: list[str], check: bool = False, **extra):
    """Run the role locally with tls_dir in tmp_path; return (CompletedProcess, stats for localhost)."""
    variables = {
        "tls_mode": "acme", "tls_dir": str(tmp_path / "tls"), "tls_owner": "root", "tls_group": "root",
        "tls_common_name": "jupyter.test", "tls_dns_names": names, "tls_include_host_names": False,
        "tls_include_loopback": False, "tls_acme_directory": pebble.directory,
        "tls_acme_email": "ops@jupyter.test", "tls_acme_http_port": pebble.http_port,
        "ansible_become": False, "ansible_python_interpreter": "/usr/bin/python3",
        # No timer on the test machine itself (the container test covers it), no service to restart.
        "tls_acme_renew_timer": False, "tls_acme_restart_services": [],
        **extra,
    }
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(variables))
    env = dict(os.environ, SSL_CERT_FILE=str(pebble.tls_ca), REQUESTS_CA_BUNDLE=str(pebble.tls_ca),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_FORCE_HANDLERS="0")
    args = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(PLAYBOOK), "-e", f"@{varfile}"]
    if check:
        args.append("--check")
    proc = ansible_runner(args, env=env, timeout=300)
    assert proc.returncode == 0, _failures(proc.stdout) + proc.stderr[-2000:]
    return proc, json.loads(proc.stdout)["stats"]["localhost"]


def _failures(stdout: str) -> str:
    """Failed task names and messages from the json callback's output."""
    try:
        plays = json.loads(stdout)["plays"]
    except (ValueError, KeyError):
        return stdout[-4000:]
    return "\n".join(f"{task['task']['name']}: {res.get('msg')} "
                     f"{[r.get('msg') for r in res.get('results', []) if r.get('failed')]}"
                     for play in plays for task in play["tasks"]
                     for res in task["hosts"].values() if res.get("failed"))


def _sans(path: Path) -> set[str]:
    """DNS names in the certificate's subjectAltName."""
    cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
    return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
               .get_values_for_type(x509.DNSName))


def test_acme_issue_keep_and_renew_on_new_name(ansible_runner, pebble, tmp_path):
    tls = tmp_path / "tls"
    _, stats = _run(ansible_runner, pebble, tmp_path, [])
    assert stats["changed"] > 0
    chain = x509.load_pem_x509_certificates((tls / "cert.pem").read_bytes())
    assert len(chain) >= 2, "full chain expected (leaf + intermediate)"
    leaf = chain[0]
    assert _sans(tls / "cert.pem") == {"jupyter.test"}
    # Issued by this Pebble's CA: the leaf verifies against the intermediate it serves.
    intermediate = x509.load_pem_x509_certificate(pebble.issuing_roots()[1])
    leaf.verify_directly_issued_by(intermediate)
    # The server's key: ECDSA P-256, 0600, and the certificate is for that key.
    key_path = tls / "key.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    key = load_pem_private_key(key_path.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert key.public_key() == leaf.public_key()
    serial = leaf.serial_number

    # Second run: still valid and same names -> nothing changes, same certificate.
    _, stats = _run(ansible_runner, pebble, tmp_path, [])
    assert stats["changed"] == 0
    _, stats = _run(ansible_runner, pebble, tmp_path, [], check=True)
    assert stats["changed"] == 0
    assert x509.load_pem_x509_certificates((tls / "cert.pem").read_bytes())[0].serial_number == serial

    # A name is added -> a new certificate with both names.
    _, stats = _run(ansible_runner, pebble, tmp_path, ["extra.jupyter.test"])
    assert stats["changed"] > 0
    assert _sans(tls / "cert.pem") == {"jupyter.test", "extra.jupyter.test"}
    assert x509.load_pem_x509_certificates((tls / "cert.pem").read_bytes())[0].serial_number != serial
    serial = x509.load_pem_x509_certificates((tls / "cert.pem").read_bytes())[0].serial_number
    _, stats = _run(ansible_runner, pebble, tmp_path, ["extra.jupyter.test"])
    assert stats["changed"] == 0


def _renew(acme: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """What the timer runs (vars/main.yml _tls_acme_renew_argv): certbot renew on the role's directories."""
    return subprocess.run(
        ["/usr/bin/certbot", "renew", "--non-interactive", "--no-random-sleep-on-renew",
         "--config-dir", str(acme / "config"), "--work-dir", str(acme / "work"),
         "--logs-dir", str(acme / "logs")],
        env=env, capture_output=True, text=True, timeout=180, check=False)


def _serial(path: Path) -> int:
    """Serial number of the leaf certificate in path."""
    return x509.load_pem_x509_certificates(path.read_bytes())[0].serial_number


def test_host_renewal_installs_the_new_certificate(ansible_runner, pebble, tmp_path):
    tls = tmp_path / "tls"
    _run(ansible_runner, pebble, tmp_path, [])
    before = _serial(tls / "cert.pem")
    renewal = (tls / "acme" / "config" / "renewal" / "jupyterops.conf").read_text()
    assert "renew_before_expiry = 30 days\n" in renewal
    # What the timer runs (vars/main.yml _tls_acme_renew_argv): certbot renew on the role's directories.
    acme = tls / "acme"
    env = dict(os.environ, REQUESTS_CA_BUNDLE=str(pebble.tls_ca))
    proc = _renew(acme, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The deploy hook put the renewed certificate where the server reads it, with the key's modes kept.
    after = _serial(tls / "cert.pem")
    assert after != before
    assert _serial(tls / "acme" / "config" / "live" / "jupyterops" / "cert.pem") == after
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    key = load_pem_private_key((tls / "key.pem").read_bytes(), None)
    leaf = x509.load_pem_x509_certificates((tls / "cert.pem").read_bytes())[0]
    assert key.public_key() == leaf.public_key()
    assert stat.S_IMODE((tls / "key.pem").stat().st_mode) == 0o600
    # A converge afterwards keeps the renewed certificate (nothing to do).
    _, stats = _run(ansible_runner, pebble, tmp_path, [])
    assert stats["changed"] == 0
    assert _serial(tls / "cert.pem") == after
    # A shorter tls_renew_days goes into certbot's renewal configuration.
    _, stats = _run(ansible_runner, pebble, tmp_path, [], tls_renew_days=5)
    assert stats["changed"] == 1
    assert "renew_before_expiry = 5 days\n" in (acme / "config" / "renewal" / "jupyterops.conf").read_text()
    proc = _renew(acme, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _serial(tls / "cert.pem") == after, "not due with 10 days left and renew_before_expiry = 5 days"
