"""Bad input to the tls, data_volume and jupyter_service roles is rejected before any change.

Each case runs the role locally (-c local) with paths under a temporary directory; the run must fail,
the output must name the variable, no task may report a change, and the directory stays empty.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

PLAYBOOK = Path(__file__).with_name("bad_input.yml")


@pytest.fixture(scope="module")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A certificate, its key and an unrelated key on the 'controller'."""
    d = tmp_path_factory.mktemp("certs")
    for name in ("key", "other"):
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-out", str(d / f"{name}.pem")], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-key", str(d / "key.pem"), "-out", str(d / "cert.pem"),
                    "-days", "2", "-subj", "/CN=provided.example"], check=True, capture_output=True)
    return {"cert": str(d / "cert.pem"), "key": str(d / "key.pem"), "other": str(d / "other.pem")}


CASES = [
    # (id, role, variables, the variable the message must name)
    ("tls-unknown-mode", "tls", {"tls_mode": "letsencrypt"}, "tls_mode"),
    ("tls-provided-without-key", "tls", {"tls_mode": "provided", "tls_provided_cert_file": "@cert"},
     "tls_provided_key_file"),
    ("tls-provided-key-mismatch", "tls", {"tls_mode": "provided", "tls_provided_cert_file": "@cert",
                                          "tls_provided_key_file": "@other"}, "tls_provided_key_file"),
    ("tls-acme-without-directory", "tls", {"tls_mode": "acme", "tls_acme_directory": "",
                                           "tls_acme_email": "ops@example.org"}, "tls_acme_directory"),
    ("tls-acme-without-contact", "tls", {"tls_mode": "acme"}, "tls_acme_email"),
    ("tls-rsa-1024", "tls", {"tls_key_type": "RSA", "tls_key_size": 1024}, "tls_key_size"),
    ("tls-bad-ip", "tls", {"tls_ip_addresses": ["10.0.0.300"]}, "tls_ip_addresses"),
    ("idle-minutes-zero", "jupyter_service",
     {"jupyter_service_idle_stop": True, "jupyter_service_idle_minutes": 0}, "jupyter_service_idle_minutes"),
    ("idle-minutes-negative", "jupyter_service", {"jupyter_service_idle_minutes": -5},
     "jupyter_service_idle_minutes"),
    ("idle-nightly-malformed", "jupyter_service", {"jupyter_service_idle_nightly_stop": "25:61"},
     "jupyter_service_idle_nightly_stop"),
    ("service-as-root", "jupyter_service", {"jupyter_service_user": "root"}, "jupyter_service_user"),
    ("service-unknown-manager", "jupyter_service", {"jupyter_service_manager": "upstart"},
     "jupyter_service_manager"),
    ("data-device-relative", "data_volume", {"data_volume_device": "nvme1n1"}, "data_volume_device"),
    ("data-fstype-unsupported", "data_volume", {"data_volume_device": "/dev/loop7",
                                                "data_volume_fstype": "btrfs"}, "data_volume_fstype"),
    ("data-mount-point-relative", "data_volume",
     {"data_volume_device": "/dev/loop7", "data_volume_mount_point": "data"}, "data_volume_mount_point"),
    ("data-bad-volume-id", "data_volume", {"data_volume_ebs_volume_id": "vol-xyz"},
     "data_volume_ebs_volume_id"),
]


@pytest.mark.parametrize(("role", "variables", "named"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_rejected_before_any_change(ansible_runner, keypair, tmp_path, role, variables, named):
    work = tmp_path / "host"
    work.mkdir()
    values = {k: (keypair[v[1:]] if isinstance(v, str) and v.startswith("@") else v)
              for k, v in variables.items()}
    base = {
        "role_under_test": role, "ansible_become": False, "ansible_python_interpreter": "/usr/bin/python3",
        # Every path the roles could write points into the empty work directory.
        "tls_dir": str(work / "tls"), "data_volume_mount_point": str(work / "data"),
        "data_volume_fstab": str(work / "fstab"), "jupyter_service_name": "jops-badinput",
        "jupyter_service_env_prefix": str(work / "venv"), "jupyter_service_config_dir": str(work / "etc"),
    }
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps({**base, **values}))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = ansible_runner(["ansible-playbook", "-i", "localhost,", "-c", "local", str(PLAYBOOK),
                           "-e", f"@{varfile}"], env=env, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-2000:]
    assert named in out, f"{named} not named in the failure:\n{out[-3000:]}"
    stats = json.loads(proc.stdout)["stats"]["localhost"]
    assert stats["changed"] == 0 and stats["failures"] == 1
    assert list(work.iterdir()) == []
