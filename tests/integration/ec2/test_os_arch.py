"""ec2_host_os and the instance type's architecture choose the AMI owner, name pattern and login user.

moto ships no Debian image and no arm64 image at all, so the table's lookups are asserted on the
DescribeImages request the role sends (what AWS would receive), and the end-to-end Graviton run uses an
arm64 image registered in the in-process emulator under Canonical's owner id and the real naming.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.ec2.conftest import PROJECT, Lab

CANONICAL = "099720109477"
DEBIAN = "136693071363"
NOBLE = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04"
JAMMY = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04"


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def _filters(request: dict[str, Any]) -> dict[str, list[str]]:
    """The Filter.N.Name / Filter.N.Value.M parameters of a recorded query request, by filter name."""
    params = request["params"]
    found: dict[str, list[str]] = {}
    index = 1
    while f"Filter.{index}.Name" in params:
        values = [v for k, v in sorted(params.items()) if k.startswith(f"Filter.{index}.Value.")]
        found[params[f"Filter.{index}.Name"]] = values
        index += 1
    return found


def _table_lab(lab: Lab) -> Lab:
    """The lab without the conftest's explicit pattern and owner: the OS table decides."""
    for key in ("ec2_host_ami_name_pattern", "ec2_host_ami_owner"):
        lab.base.pop(key, None)
    return lab


def _register_image(lab: Lab, name: str, architecture: str, owner: str, created: str) -> str:
    """An available public image in the in-process emulator (moto's RegisterImage takes no architecture)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.amis import Ami
    from moto.ec2.utils import random_ami_id

    backend = ec2_backends[DEFAULT_ACCOUNT_ID][lab.region]
    image = Ami(backend, random_ami_id(), name=name, owner_id=owner, public=True, architecture=architecture,
                virtualization_type="hvm", root_device_type="ebs", root_device_name="/dev/sda1",
                hypervisor="xen", region_name=lab.region,
                creation_date=datetime.fromisoformat(created).replace(tzinfo=UTC))
    backend.amis[image.id] = image
    return image.id


def test_emulator_reports_graviton_types_as_arm64(lab: Lab) -> None:
    """The premise of the tests below: DescribeInstanceTypes says t4g and m7g are arm64, t3 x86_64."""
    described = lab.client().describe_instance_types(InstanceTypes=["t4g.small", "m7g.medium", "t3.medium"])
    archs = {t["InstanceType"]: t["ProcessorInfo"]["SupportedArchitectures"]
             for t in described["InstanceTypes"]}
    assert archs == {"t4g.small": ["arm64"], "m7g.medium": ["arm64"], "t3.medium": ["x86_64"]}


# The publishers' owner ids and image names, from their own pages:
# Debian: https://wiki.debian.org/Cloud/AmazonEC2Image (account 136693071363, debian-<major>-<amd64|arm64>-*)
# Ubuntu: https://documentation.ubuntu.com/aws/aws-how-to/instances/find-ubuntu-images/ (account 099720109477;
# 24.04 under hvm-ssd-gp3, 22.04 under hvm-ssd).
@pytest.mark.parametrize(
    ("os_name", "instance_type", "owner", "pattern", "arch"),
    [
        ("debian12", "t3.medium", DEBIAN, "debian-12-amd64-*", "x86_64"),
        ("debian13", "m7g.medium", DEBIAN, "debian-13-arm64-*", "arm64"),
        ("ubuntu2404", "t4g.small", CANONICAL, f"{NOBLE}-arm64-server-*", "arm64"),
        ("ubuntu2204", "t3.micro", CANONICAL, f"{JAMMY}-amd64-server-*", "x86_64"),
    ],
)
def test_os_and_instance_type_select_owner_and_pattern(
    lab: Lab, os_name: str, instance_type: str, owner: str, pattern: str, arch: str
) -> None:
    """The DescribeImages request carries the OS's owner and its pattern for the type's architecture.

    DescribeImages filters by owner-id (amazon.aws sends the owners as that filter), name and architecture:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImages.html
    The emulator has no such image, so provision stops in preflight with nothing created.
    """
    proc = _table_lab(lab).run("provision", ec2_host_os=os_name, ec2_host_instance_type=instance_type)
    assert proc.returncode != 0
    assert "ec2_host_ami_name_pattern" in proc.stdout and pattern in proc.stdout, proc.stdout[-3000:]

    (types,) = lab.emulator.requests("DescribeInstanceTypes")
    assert types["params"]["InstanceType.1"] == instance_type
    (images,) = lab.emulator.requests("DescribeImages")
    assert _filters(images) == {"name": [pattern], "architecture": [arch], "state": ["available"],
                                "owner-id": [owner]}, images
    assert lab.emulator.requests("RunInstances") == []
    assert all(ids == [] for ids in lab.tagged().values()), lab.tagged()


def test_ubuntu_on_graviton_launches_the_arm64_image_and_tags_login_user(lab: Lab) -> None:
    """ubuntu2404 + t4g.small: the newest arm64 noble image is launched; OS, arch and login user tagged."""
    old_arm = _register_image(lab, f"{NOBLE}-arm64-server-20250101",
                              "arm64", CANONICAL, "2025-01-01T00:00:00")
    new_arm = _register_image(lab, f"{NOBLE}-arm64-server-20250601",
                              "arm64", CANONICAL, "2025-06-01T00:00:00")
    # Newer, but the wrong architecture and name: never chosen for a Graviton type.
    _register_image(lab, f"{NOBLE}-amd64-server-20251201",
                    "x86_64", CANONICAL, "2025-12-01T00:00:00")
    # The right name under another owner: not Canonical's, never chosen.
    _register_image(lab, f"{NOBLE}-arm64-server-20251201",
                    "arm64", "111122223333", "2025-12-01T00:00:00")
    graviton = {"ec2_host_os": "ubuntu2404", "ec2_host_instance_type": "t4g.small"}
    lab = _table_lab(lab)

    assert lab.ok("provision", **graviton) > 0
    (launch,) = lab.emulator.requests("RunInstances")
    assert (launch["params"]["ImageId"], launch["params"]["InstanceType"]) == (new_arm, "t4g.small"), launch
    assert new_arm != old_arm

    reservations = lab.client().describe_instances(
        Filters=[{"Name": "tag:Project", "Values": [PROJECT]}, {"Name": "tag:Name", "Values": ["alice"]}]
    )["Reservations"]
    (inst,) = [i for r in reservations for i in r["Instances"]]
    assert inst["Architecture"] == "arm64"
    tags = _tags(inst)
    assert (tags["jupyterops:os"], tags["jupyterops:arch"], tags["jupyterops:login-user"]) == (
        "ubuntu2404", "arm64", "ubuntu")
    # The role's own inventory logs in as the image's user.
    assert lab.inventory()["alice"]["ansible_user"] == "ubuntu"

    assert lab.ok("provision", **graviton) == 0
    assert lab.ok("provision", check=True, **graviton) == 0

    # An existing instance keeps its image and type: another OS or architecture is refused, nothing changes.
    before = len(lab.emulator.requests())
    other_os = lab.run("provision", ec2_host_os="debian12", ec2_host_instance_type="t4g.small")
    assert other_os.returncode != 0 and "ec2_host_os" in other_os.stdout
    assert "alice" in other_os.stdout and "rebuild" in other_os.stdout, other_os.stdout[-3000:]
    other_arch = lab.run("provision", ec2_host_os="ubuntu2404", ec2_host_instance_type="t3.medium")
    assert other_arch.returncode != 0, other_arch.stdout[-3000:]
    assert "ec2_host_instance_type" in other_arch.stdout, other_arch.stdout[-3000:]
    writes = [r["action"] for r in lab.emulator.requests()[before:]
              if not r["action"].startswith(("Describe", "Get", "List"))]
    assert writes == [], writes
    now = lab.client().describe_instances(InstanceIds=[inst["InstanceId"]])["Reservations"][0]["Instances"][0]
    assert _tags(now)["jupyterops:os"] == "ubuntu2404"


def test_explicit_overrides_win_over_the_table(lab: Lab) -> None:
    """ec2_host_ami_owner / _name_pattern / _ssh_user keep working as explicit overrides."""
    image = _register_image(lab, "my-golden-ubuntu-arm64-1", "arm64", "111122223333", "2025-03-01T00:00:00")
    lab = _table_lab(lab)
    assert lab.ok("provision", ec2_host_os="ubuntu2404", ec2_host_instance_type="t4g.small",
                  ec2_host_ami_owner="111122223333", ec2_host_ami_name_pattern="my-golden-ubuntu-arm64-*",
                  ec2_host_ssh_user="ops") > 0
    (images,) = lab.emulator.requests("DescribeImages")
    assert _filters(images)["owner-id"] == ["111122223333"]
    assert _filters(images)["name"] == ["my-golden-ubuntu-arm64-*"]
    (launch,) = lab.emulator.requests("RunInstances")
    assert launch["params"]["ImageId"] == image
    reservations = lab.client().describe_instances(Filters=[{"Name": "tag:Project", "Values": [PROJECT]}])
    (inst,) = [i for r in reservations["Reservations"] for i in r["Instances"]]
    assert _tags(inst)["jupyterops:login-user"] == "ops"
    assert lab.inventory()["alice"]["ansible_user"] == "ops"
