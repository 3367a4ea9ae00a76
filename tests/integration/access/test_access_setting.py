"""jupyterops_access (tunnel | public) is the one access setting: provision.yml and configure.yml refuse,
before any AWS call or host change, a value outside it and every lower-level variable that disagrees
with it, naming both variables."""

from __future__ import annotations

import json
from typing import Any

import pytest

# A host whose SSH port refuses connections: the access check runs on the controller and needs no
# connection; every later step would fail UNREACHABLE - so nothing on any machine can change. It names
# its data disk (as provision.yml does for EC2 hosts), so the data_volume checks of the validate play pass.
UNREACHABLE = ["-i", "jhost,", "-e", "jupyterops_hosts=jhost", "-e", "ansible_host=127.0.0.1",
               "-e", "ansible_port=1", "-e", "ansible_connection=ssh",
               "-e", "data_volume_device=/dev/nvme1n1"]

BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    # The playbook switches' choices (playbooks/vars/inputs.yml) come before the access rules.
    ("unknown-mode", {"jupyterops_access": "open"},
     ["jupyterops_access must be one of: tunnel, public", "got: open"]),
    ("not-a-string", {"jupyterops_access": ["public"]}, ["jupyterops_access must be one of: tunnel, public"]),
    ("server-public-sg-closed", {"jupyterlab_access_mode": "public"},
     ["jupyterlab_access_mode=public disagrees with jupyterops_access=tunnel"]),
    ("sg-open-server-loopback", {"ec2_host_jupyter_public": True},
     ["ec2_host_jupyter_public=True disagrees with jupyterops_access=tunnel"]),
    ("sg-closed-server-public", {"jupyterops_access": "public", "ec2_host_jupyter_public": False},
     ["ec2_host_jupyter_public=False disagrees with jupyterops_access=public", "closed security group"]),
    ("ports-differ", {"jupyterops_access": "public", "ec2_host_jupyter_port": 8888},
     ["ec2_host_jupyter_port=8888 differs from the port the server listens on", "jupyterlab_port=9999"]),
    ("ports-differ-explicit",
     {"jupyterops_access": "public", "jupyterlab_port": 9443, "ec2_host_jupyter_port": 9999},
     ["ec2_host_jupyter_port=9999", "jupyterlab_port=9443"]),
    ("hub-ports-differ",
     {"jupyterops_mode": "multi", "jupyterops_access": "public", "ec2_host_jupyter_port": 9999},
     ["ec2_host_jupyter_port=9999", "jupyterhub_port=443"]),
    ("public-without-tls", {"jupyterops_access": "public", "jupyterops_tls": False},
     ["jupyterops_access=public needs TLS", "jupyterops_tls"]),
    ("public-without-password", {"jupyterops_access": "public", "jupyterlab_password_generate": False},
     ["jupyterops_access=public needs a password", "jupyterlab_password"]),
]


@pytest.mark.parametrize(("extra", "needles"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_configure_refuses_a_combination_that_cannot_work(ansible_runner, extra, needles) -> None:
    proc = ansible_runner(["ansible-playbook", "playbooks/configure.yml", *UNREACHABLE,
                           "-e", json.dumps(extra)], timeout=120)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out[-3000:]
    for needle in needles:
        assert needle in out, out[-3000:]
    # Refused on the controller: no fact gathering, no role, no connection attempt.
    assert "Gathering Facts" not in out
    assert "UNREACHABLE" not in out
    assert "changed=0" in out


@pytest.mark.parametrize("extra", [
    {},
    {"jupyterops_access": "tunnel"},
    {"jupyterops_access": "public", "ec2_host_jupyter_cidrs": ["203.0.113.0/24"]},
    # Lower-level variables that agree with the setting stay allowed as overrides.
    {"jupyterops_access": "public", "jupyterlab_access_mode": "public", "ec2_host_jupyter_public": True,
     "jupyterlab_port": 9443, "ec2_host_jupyter_port": 9443},
    {"jupyterops_mode": "multi", "jupyterops_access": "public", "ec2_host_jupyter_port": 443},
], ids=["defaults", "tunnel", "public", "agreeing-overrides", "hub-public"])
def test_configure_accepts_consistent_settings(ansible_runner, extra) -> None:
    proc = ansible_runner(["ansible-playbook", "playbooks/configure.yml", *UNREACHABLE,
                           "-e", json.dumps(extra)], timeout=120)
    out = proc.stdout + proc.stderr
    assert "disagrees with" not in out and "must be tunnel" not in out, out[-3000:]
    # The checks pass; the run then stops only because the host cannot be reached.
    assert "UNREACHABLE" in out, out[-3000:]


@pytest.mark.parametrize(("extra", "needles"), [c[1:] for c in BAD if c[0] != "public-without-password"],
                         ids=[c[0] for c in BAD if c[0] != "public-without-password"])
def test_provision_refuses_before_any_aws_call(ansible_runner, aws_env, ec2_emulator, extra, needles) -> None:
    import boto3

    variables = {"ec2_host_admin_cidrs": ["198.51.100.7/32"], "ec2_host_key_mode": "create",
                 "ec2_host_private_key_file": "/nonexistent/jupyterops-test.pem", **extra}
    proc = ansible_runner(["ansible-playbook", "playbooks/provision.yml", "-e", json.dumps(variables)],
                          env=aws_env, timeout=180)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out[-3000:]
    for needle in needles:
        assert needle in out, out[-3000:]
    assert "changed=0" in out
    ec2 = boto3.client("ec2", endpoint_url=ec2_emulator.url, region_name=aws_env["AWS_REGION"],
                       aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"])
    assert ec2.describe_key_pairs()["KeyPairs"] == []
    assert [g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"] == []
    assert ec2.describe_instances()["Reservations"] == []


def test_update_refuses_a_bad_access_setting_before_starting_anything(ansible_runner) -> None:
    bad = {"jupyterops_access": "public", "ec2_host_jupyter_public": False}
    proc = ansible_runner(["ansible-playbook", "playbooks/update.yml", "-i", "localhost,", "-c", "local",
                           "-e", "jupyterops_hosts=localhost",
                           "-e", "update_lock_dir=/nonexistent/jupyterops-test", "-e", json.dumps(bad)],
                          timeout=120)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out[-3000:]
    assert "ec2_host_jupyter_public=False disagrees with jupyterops_access=public" in out
    # Refused on the controller before the instances are started or any host is touched.
    assert "Read the instances' state" not in out
    assert "changed=0" in out
