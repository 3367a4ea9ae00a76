"""Fixtures for the EC2 lifecycle tests: a per-test workspace that runs the playbooks against the emulator."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PROJECT = "jopstest"
# An AMI that moto ships: tests pass an explicit pattern and owner that exist there.
AMI_PATTERN = "ubuntu/images/hvm-ssd/ubuntu-*-amd64-server-*"
AMI_OWNER = "099720109477"
_RECAP = re.compile(r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@dataclass
class Lab:
    """One test's workspace: base variables, a run() helper and a boto3 EC2 client."""

    root: Path
    tmp: Path
    env: dict[str, str]
    region: str
    endpoint: str
    runner: Callable[..., subprocess.CompletedProcess[str]]
    base: dict[str, Any] = field(default_factory=dict)
    # The emulator itself: its request log shows what AWS would receive (Ec2Emulator.requests).
    emulator: Any = None

    def client(self, service: str = "ec2", endpoint: str | None = None) -> Any:
        """boto3 client against the emulator (never the proxy)."""
        return boto3.client(
            service,
            endpoint_url=endpoint or self.endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def command(self, playbook: str, check: bool = False, **extra: Any) -> list[str]:
        """ansible-playbook argv with the base variables plus extra ones in a JSON vars file."""
        variables = {**self.base, **extra}
        vars_file = self.tmp / f"vars-{uuid.uuid4().hex[:12]}.json"
        vars_file.write_text(json.dumps(variables))
        argv = ["ansible-playbook", str(self.root / "playbooks" / f"{playbook}.yml"), "-e", f"@{vars_file}"]
        return [*argv, "--check"] if check else argv

    def run(
        self, playbook: str, env: dict[str, str] | None = None, check: bool = False, **extra: Any
    ) -> subprocess.CompletedProcess[str]:
        """Run a playbook; return the completed process."""
        argv = self.command(playbook, check=check, **extra)
        return self.runner(argv, env=env or self.env, cwd=self.root, timeout=600)

    def ok(self, playbook: str, env: dict[str, str] | None = None, check: bool = False, **extra: Any) -> int:
        """Run a playbook that must succeed; return its changed count."""
        proc = self.run(playbook, env=env, check=check, **extra)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
        recap = _RECAP.search(proc.stdout)
        assert recap, proc.stdout[-3000:]
        return int(recap.group(2))

    def inventory(self) -> dict[str, dict[str, Any]]:
        """Hosts of the inventory file the role writes."""
        import yaml

        data = yaml.safe_load((self.tmp / "inventory.yml").read_text())
        return data["all"]["children"]["jupyterops_ec2"]["hosts"] or {}

    def tagged(self) -> dict[str, list[str]]:
        """Ids of every live resource carrying Project=PROJECT, by kind."""
        ec2 = self.client()
        project = [{"Name": "tag:Project", "Values": [PROJECT]}]
        instances = [
            i["InstanceId"]
            for r in ec2.describe_instances(Filters=project)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
        return {
            "instances": instances,
            "volumes": [v["VolumeId"] for v in ec2.describe_volumes(Filters=project)["Volumes"]],
            "snapshots": [
                s["SnapshotId"]
                for s in ec2.describe_snapshots(Filters=project, OwnerIds=["self"])["Snapshots"]
            ],
            "images": [i["ImageId"] for i in ec2.describe_images(Filters=project, Owners=["self"])["Images"]],
            "eips": [a["AllocationId"] for a in ec2.describe_addresses(Filters=project)["Addresses"]],
            "security_groups": [
                g["GroupId"] for g in ec2.describe_security_groups(Filters=project)["SecurityGroups"]
            ],
            "key_pairs": [k["KeyName"] for k in ec2.describe_key_pairs(Filters=project)["KeyPairs"]],
        }


@pytest.fixture
def lab(
    repo_root: Path, tmp_path: Path, aws_env: dict[str, str], ec2_emulator: Any, ansible_runner: Any
) -> Lab:
    """A workspace with an SSH key to import and the base variables for the emulator."""
    key = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    (tmp_path / "id_ed25519.pub").write_bytes(key + b" test@jupyterops\n")
    env = dict(aws_env)
    env["ANSIBLE_LOCAL_TEMP"] = str(tmp_path / "ansible-tmp")
    base = {
        "ec2_host_project": PROJECT,
        "ec2_host_names": ["alice"],
        "ec2_host_owner": "teacher",
        "ec2_host_tags": {"Course": "stats101", "cost:center": "edu"},
        "ec2_host_admin_cidrs": ["198.51.100.0/24", "2001:db8::/32"],
        "ec2_host_ami_name_pattern": AMI_PATTERN,
        "ec2_host_ami_owner": AMI_OWNER,
        "ec2_host_public_key_file": str(tmp_path / "id_ed25519.pub"),
        "ec2_host_private_key_file": str(tmp_path / "created.pem"),
        "ec2_host_wait_for_ssh": False,
        "ec2_host_inventory_file": str(tmp_path / "inventory.yml"),
        "ec2_host_data_volume_size": 10,
    }
    return Lab(
        root=repo_root,
        tmp=tmp_path,
        env=env,
        region=ec2_emulator.region,
        endpoint=ec2_emulator.url,
        runner=ansible_runner,
        base=base,
        emulator=ec2_emulator,
    )


SYSTEMD_IMAGE = "localhost/jupyterops-debian12-systemd:latest"


def podman(*args: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """One podman command (the tests' containers are rootful podman)."""
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=timeout)


@contextmanager
def systemd_container(prefix: str, seed: str) -> Iterator[str]:
    """A running systemd container of the Debian 12 image, seeded by a shell script, then removed."""
    if shutil.which("podman") is None or podman("image", "exists", SYSTEMD_IMAGE, check=False).returncode:
        pytest.fail(f"{SYSTEMD_IMAGE} is required (scripts/build-images.sh)")
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--name", name, "--cap-add", "SYS_BOOT", SYSTEMD_IMAGE)
    try:
        podman("exec", name, "sh", "-c", seed)
        yield name
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)
