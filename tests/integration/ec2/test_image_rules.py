"""image.yml against the emulator: AWS rules moto does not model, asserted on the requests sent.

- Sharing an image needs a root volume encrypted with a customer managed key: AWS shares no snapshot
  encrypted with the AWS managed key aws/ebs (https://docs.aws.amazon.com/ebs/latest/userguide/
  ebs-modifying-snapshot-permissions.html). moto shares it anyway, so the test asserts that no CreateImage
  was sent.
- The image says what image_scrub removed (tag jupyterops:scrubbed, description), and a host whose scrub did
  not finish is not imaged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.integration.ec2.conftest import Lab, podman, systemd_container

SHARE = {"ec2_host_image_launch_accounts": ["111122223333"]}


@pytest.fixture
def host() -> Iterator[str]:
    """A running systemd container that stands in for the instance's host (reached with podman, not SSH)."""
    seed = "mkdir -p /etc/jupyter/tls && echo k > /etc/jupyter/tls/key.pem"
    with systemd_container("jops-image", seed) as name:
        yield name


def _image_tags(lab: Lab) -> tuple[dict[str, str], str]:
    (image,) = lab.client().describe_images(Owners=["self"])["Images"]
    return {t["Key"]: t["Value"] for t in image.get("Tags", [])}, image.get("Description", "")


def test_sharing_refuses_a_root_volume_with_the_aws_managed_key(lab: Lab) -> None:
    # Provisioned without ec2_host_kms_key_id: the volumes are encrypted with the AWS managed key aws/ebs.
    lab.ok("provision")
    ec2 = lab.client()
    (inst,) = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    root_id = next(b["Ebs"]["VolumeId"] for b in inst["BlockDeviceMappings"]
                   if b["DeviceName"] == inst["RootDeviceName"])
    (root,) = ec2.describe_volumes(VolumeIds=[root_id])["Volumes"]
    aws_ebs = lab.client("kms").describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["Arn"]
    assert root["Encrypted"] and root["KmsKeyId"] == aws_ebs, root
    key = lab.client("kms").create_key(Description="jupyterops test")["KeyMetadata"]["Arn"]
    before = len(lab.emulator.requests("CreateImage"))

    # Setting the key now does not change the existing root volume: refused before CreateImage.
    proc = lab.run("image", ec2_host_kms_key_id=key, **SHARE)
    out = " ".join(proc.stdout.split())
    assert proc.returncode != 0, out[-3000:]
    assert "the AWS managed key aws/ebs" in out and "ec2_host_kms_key_id" in out, out[-3000:]
    assert "an existing volume keeps its key" in out and "Nothing was created" in out, out[-3000:]
    assert len(lab.emulator.requests("CreateImage")) == before
    assert ec2.describe_images(Owners=["self"])["Images"] == []

    # Without sharing the same instance is imaged; the image says it was not scrubbed.
    lab.ok("image", ec2_host_image_name="alice-private")
    tags, description = _image_tags(lab)
    assert tags["jupyterops:scrubbed"] == "none", tags
    assert description == "jupyterops jopstest/alice; scrubbed: none", description


def test_image_says_what_was_scrubbed(lab: Lab, host: str) -> None:
    key = lab.client("kms").create_key(Description="jupyterops test")["KeyMetadata"]["Arn"]
    lab.base["ec2_host_kms_key_id"] = key
    # The host is the container, reached through podman (never the emulator's fake public address).
    lab.base["ec2_host_connection_vars"] = {
        "ansible_connection": "containers.podman.podman",
        "ansible_host": host,
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_user": "root",
    }
    lab.ok("provision")
    lab.ok("image", ec2_host_image_name="alice-scrubbed", image_scrub_before_image=True,
           image_scrub_logs=False, **SHARE)
    tags, description = _image_tags(lab)
    expected = ("ssh-host-keys,authorized-keys,shell-histories,machine-id,cloud-init-state,cloud-init-logs,"
                "jupyter-runtime,jupyter-password-hash,tls-key,acme-account-key,hub-database,hub-secrets")
    assert tags["jupyterops:scrubbed"] == expected, tags
    assert description == f"jupyterops jopstest/alice; scrubbed: {expected}", description
    assert podman("exec", host, "test", "-e", "/etc/jupyter/tls/key.pem", check=False).returncode == 1


def test_a_host_whose_scrub_failed_is_not_imaged(lab: Lab) -> None:
    lab.base["ec2_host_connection_vars"] = {
        "ansible_connection": "containers.podman.podman",
        "ansible_host": f"jops-missing-{uuid.uuid4().hex[:8]}",
    }
    lab.ok("provision")
    before = len(lab.emulator.requests("CreateImage"))
    proc = lab.run("image", ec2_host_image_name="alice-unscrubbed", image_scrub_before_image=True)
    out = " ".join(proc.stdout.split())
    # Ansible ends the run when every host of the scrub play is lost: no image.
    assert proc.returncode != 0 and "UNREACHABLE" in out, out[-3000:]
    # When only some are lost, the role refuses each host that has no image_scrub_removed (what image.yml
    # collects, here given empty as when alice's scrub failed beside another host's).
    proc = lab.run("image", ec2_host_image_name="alice-unscrubbed", __ec2_host_image_scrubbed={})
    out = " ".join(proc.stdout.split())
    assert proc.returncode != 0 and "alice was not scrubbed" in out, out[-3000:]
    assert len(lab.emulator.requests("CreateImage")) == before
    assert lab.client().describe_images(Owners=["self"])["Images"] == []
