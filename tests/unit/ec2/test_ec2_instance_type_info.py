"""Unit tests for the ec2_instance_type_info module's pure parts and its DescribeInstanceTypes paging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from ansible.plugins.loader import init_plugin_loader
from botocore.stub import Stubber

# The module imports amazon.aws through ansible_collections: load it the way Ansible does (the collection
# loader over this checkout's collections/ and the installed ones), or a plain import of ansible_collections
# hides jupyterops.cloud from every later test in the session.
init_plugin_loader([str(Path(__file__).resolve().parents[3] / "collections")])

from ansible_collections.jupyterops.cloud.plugins.modules.ec2_instance_type_info import (  # noqa: E402
    architectures,
    describe,
)

OS_TABLE = Path(__file__).resolve().parents[3] / "roles" / "ec2_host" / "vars" / "os.yml"


def _type(name: str, *archs: str) -> dict[str, Any]:
    return {"InstanceType": name, "ProcessorInfo": {"SupportedArchitectures": list(archs)}}


def test_architectures_maps_each_type_in_ec2_order() -> None:
    described = [_type("t4g.small", "arm64"), _type("t2.micro", "i386", "x86_64"), {"InstanceType": "odd.x"}]
    assert architectures(described) == {"t4g.small": ["arm64"], "t2.micro": ["i386", "x86_64"], "odd.x": []}


def test_describe_follows_next_token() -> None:
    client = boto3.client("ec2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("describe_instance_types", {"InstanceTypes": [_type("m7g.medium", "arm64")],
                                                      "NextToken": "page2"},
                          {"InstanceTypes": ["m7g.medium", "t3.medium"]})
        stub.add_response("describe_instance_types", {"InstanceTypes": [_type("t3.medium", "x86_64")]},
                          {"InstanceTypes": ["m7g.medium", "t3.medium"], "NextToken": "page2"})
        found = describe(client, ["m7g.medium", "t3.medium"])
        stub.assert_no_pending_responses()
    assert architectures(found) == {"m7g.medium": ["arm64"], "t3.medium": ["x86_64"]}


@pytest.mark.parametrize("os_name", ["debian12", "debian13", "ubuntu2404", "ubuntu2204"])
def test_os_table_has_both_architectures_owner_and_login_user(os_name: str) -> None:
    """Every accepted ec2_host_os has an owner, a login user and a pattern naming each architecture."""
    entry = yaml.safe_load(OS_TABLE.read_text())["_ec2_host_os_table"][os_name]
    assert entry["owner"] in {"136693071363", "099720109477"}
    assert entry["login_user"] == ("admin" if os_name.startswith("debian") else "ubuntu")
    assert set(entry["name_patterns"]) == {"x86_64", "arm64"}
    assert "amd64" in entry["name_patterns"]["x86_64"] and "arm64" in entry["name_patterns"]["arm64"]


def test_os_table_matches_the_accepted_values() -> None:
    """The table and the argument spec's choices list the same operating systems."""
    table = yaml.safe_load(OS_TABLE.read_text())["_ec2_host_os_table"]
    spec = yaml.safe_load((OS_TABLE.parents[1] / "meta" / "argument_specs.yml").read_text())
    assert set(spec["argument_specs"]["main"]["options"]["ec2_host_os"]["choices"]) == set(table)
