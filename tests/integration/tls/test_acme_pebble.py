"""The tls role's acme mode against Debian's Pebble ACME test server on loopback (HTTP-01)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

PLAYBOOK = Path(__file__).with_name("acme.yml")


def _run(ansible_runner, pebble, tmp_path: Path, names: list[str], check: bool = False):
    """Run the role locally with tls_dir in tmp_path; return (CompletedProcess, stats for localhost)."""
    variables = {
        "tls_mode": "acme", "tls_dir": str(tmp_path / "tls"), "tls_owner": "root", "tls_group": "root",
        "tls_common_name": "jupyter.test", "tls_dns_names": names, "tls_include_host_names": False,
        "tls_include_loopback": False, "tls_acme_directory": pebble.directory,
        "tls_acme_email": "ops@jupyter.test", "tls_acme_http_port": pebble.http_port,
        "tls_acme_http_timeout": 60, "ansible_become": False,
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(variables))
    env = dict(os.environ, SSL_CERT_FILE=str(pebble.tls_ca), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
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
    assert not (tls / "acme-webroot").exists()
