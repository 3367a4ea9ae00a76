"""Bad input is rejected before any AWS call that creates something, with a message naming the variable."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.integration.ec2.conftest import Lab

CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("missing-admin-cidr", "provision", {"ec2_host_admin_cidrs": []}, "ec2_host_admin_cidrs is required"),
    ("world-without-opt-in", "provision", {"ec2_host_admin_cidrs": ["0.0.0.0/0"]}, "ec2_host_allow_world"),
    (
        "world-v6-jupyter",
        "provision",
        {"jupyterops_access": "public", "ec2_host_jupyter_cidrs": ["::/0"]},
        "ec2_host_allow_world",
    ),
    (
        "malformed-cidr",
        "provision",
        {"ec2_host_admin_cidrs": ["10.0.0.300/24"]},
        "ec2_host_admin_cidrs has malformed",
    ),
    (
        "cidr-without-prefix",
        "provision",
        {"ec2_host_admin_cidrs": ["10.0.0.1"]},
        "ec2_host_admin_cidrs has malformed",
    ),
    (
        "public-without-cidrs",
        "provision",
        {"jupyterops_access": "public"},
        "ec2_host_jupyter_cidrs must list",
    ),
    ("instance-type", "provision", {"ec2_host_instance_type": "t3medium"}, "ec2_host_instance_type must"),
    (
        "data-size-zero",
        "provision",
        {"ec2_host_data_volume_size": 0},
        "ec2_host_data_volume_size must be 1-16384",
    ),
    (
        "data-size-huge",
        "provision",
        {"ec2_host_data_volume_size": 16385},
        "ec2_host_data_volume_size must be 1-16384",
    ),
    (
        "root-size-zero",
        "provision",
        {"ec2_host_root_volume_size": 0},
        "ec2_host_root_volume_size must be 1-16384",
    ),
    (
        "iops-low",
        "provision",
        {"ec2_host_data_volume_iops": 2000},
        "ec2_host_data_volume_iops must be 3000-16000",
    ),
    (
        "throughput-high",
        "provision",
        {"ec2_host_data_volume_throughput": 2000},
        "ec2_host_data_volume_throughput",
    ),
    (
        "snapshot-retention",
        "snapshot",
        {"ec2_host_snapshot_retention": 0},
        "ec2_host_snapshot_retention must be",
    ),
    ("image-retention", "image", {"ec2_host_image_retention": 0}, "ec2_host_image_retention must be"),
    (
        "image-accounts",
        "image",
        {"ec2_host_image_launch_accounts": ["1234"]},
        "ec2_host_image_launch_accounts",
    ),
    ("delete-without-confirm", "teardown", {"teardown_delete_data": True}, "ec2_host_teardown_confirm"),
    ("region-format", "provision", {"ec2_host_region": "europe-west"}, "ec2_host_region must look like"),
    (
        "ami-matches-nothing",
        "provision",
        {"ec2_host_ami_name_pattern": "no-such-image-*"},
        "ec2_host_ami_name_pattern no-such-image-*",
    ),
    (
        "tag-key-aws-prefix",
        "provision",
        {"ec2_host_tags": {"aws:owner": "x"}},
        "ec2_host_tags has invalid keys",
    ),
    ("tag-key-charset", "provision", {"ec2_host_tags": {"bad#key": "x"}}, "ec2_host_tags has invalid keys"),
    (
        "duplicate-names",
        "provision",
        {"ec2_host_names": ["ann", "bob", "ann"]},
        "ec2_host_names contains duplicate",
    ),
    ("key-type-choice", "provision", {"ec2_host_key_mode": "guess"}, "ec2_host_key_mode"),
]


def _check(lab: Lab, case: tuple[str, str, dict[str, Any], str]) -> str | None:
    """Run one case; return a failure description or None."""
    name, playbook, extra, expected = case
    proc = lab.run(playbook, **extra)
    output = " ".join((proc.stdout + proc.stderr).split())
    if proc.returncode == 0:
        return f"{name}: accepted"
    if expected not in output:
        return f"{name}: message without {expected!r}: {output[-1500:]}"
    return None


def test_rejected_before_creating_anything(lab: Lab) -> None:
    # Cases are independent runs against one emulator; run a few at a time to keep the suite short.
    with ThreadPoolExecutor(max_workers=4) as pool:
        dry_run = pool.submit(
            lab.ok, "provision", check=True, ec2_host_names=["ann", "bob"], ec2_host_eip=True
        )
        failures = [f for f in pool.map(lambda case: _check(lab, case), CASES) if f]
        assert dry_run.result() > 0  # check mode on an empty account reports what it would create...
    assert failures == []
    # ...and neither the dry run nor any rejected run created anything.
    assert lab.tagged() == {k: [] for k in lab.tagged()}
