"""Fixtures for the tagged_ec2 inventory tests: an EC2 client, fleets, config files, inventory runs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

AMI = "ami-12c6146b"  # an AMI moto ships


def unwrap(value: Any) -> Any:
    """Strip ansible-inventory's {"__ansible_unsafe": ...} markers."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


class Fleet:
    """Small helper around a boto3 EC2 client bound to the emulator."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def launch(self, name: str | None = None, count: int = 1, project: str | None = "jupyter",
               **tags: str) -> list[str]:
        """Launch `count` instances sharing the given tags; return their ids."""
        tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
        if name is not None:
            tag_list.append({"Key": "Name", "Value": name})
        if project is not None:
            tag_list.append({"Key": "Project", "Value": project})
        kwargs: dict[str, Any] = {"ImageId": AMI, "MinCount": count, "MaxCount": count}
        if tag_list:
            kwargs["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tag_list}]
        return [i["InstanceId"] for i in self.client.run_instances(**kwargs)["Instances"]]

    def launch_named(self, prefix: str, count: int, batch: int = 250) -> list[str]:
        """Launch `count` instances in batches, then give each a unique Name tag."""
        ids: list[str] = []
        while len(ids) < count:
            ids += self.launch(None, min(batch, count - len(ids)))
        for n, instance_id in enumerate(ids):
            self.client.create_tags(Resources=[instance_id],
                                    Tags=[{"Key": "Name", "Value": f"{prefix}{n:04d}"}])
        return ids

    def describe(self, instance_id: str) -> dict[str, Any]:
        """Return the DescribeInstances item of one instance."""
        return self.client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]

    def stop(self, instance_id: str) -> None:
        """Stop one instance (instant in the emulator)."""
        self.client.stop_instances(InstanceIds=[instance_id])

    def start(self, instance_id: str) -> None:
        """Start one instance (instant in the emulator)."""
        self.client.start_instances(InstanceIds=[instance_id])

    def eip(self, instance_id: str) -> str:
        """Associate a new Elastic IP with an instance; return it."""
        alloc = self.client.allocate_address(Domain="vpc")
        self.client.associate_address(AllocationId=alloc["AllocationId"], InstanceId=instance_id)
        return alloc["PublicIp"]


@pytest.fixture
def fleet(ec2_emulator) -> Fleet:
    """An EC2 fleet helper on a freshly reset emulator."""
    client = boto3.client("ec2", endpoint_url=ec2_emulator.url, region_name=ec2_emulator.region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    return Fleet(client)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a *.tagged_ec2.yml in tmp_path from keyword options; return its path."""

    def _write(name: str = "test", raw: str | None = None, **options: Any) -> Path:
        path = tmp_path / f"{name}.tagged_ec2.yml"
        if raw is not None:
            path.write_text(raw)
        else:
            config = {"plugin": "jupyterops.cloud.tagged_ec2", "tags": {"Project": "jupyter"}, **options}
            path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    return _write


@pytest.fixture
def inventory(ansible_runner, aws_env,
              tmp_path) -> Callable[..., tuple[subprocess.CompletedProcess[str], dict]]:
    """Run `ansible-inventory -i CONFIG --list`; return the process and the unwrapped JSON (or {})."""

    def _run(path: Path, *extra: str, env: dict[str, str] | None = None,
             check: bool = True) -> tuple[subprocess.CompletedProcess[str], dict]:
        output = tmp_path / "inventory.json"
        output.unlink(missing_ok=True)
        args = ["ansible-inventory", "-i", str(path), "--list", "--output", str(output), *extra]
        proc = ansible_runner(args, env=env or aws_env, timeout=300)
        if check:
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
        data = unwrap(json.loads(output.read_text())) if proc.returncode == 0 else {}
        return proc, data

    return _run


def hosts_of(data: dict, group: str) -> set[str]:
    """Hosts directly in a group of ansible-inventory --list output."""
    return set(data.get(group, {}).get("hosts", []))
