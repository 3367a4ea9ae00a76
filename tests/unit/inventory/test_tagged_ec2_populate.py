"""The tagged_ec2 plugin's inventory for given DescribeInstances answers: names, group clashes, login user.

The plugin is loaded through Ansible's plugin loader (as ansible-inventory does) and its EC2 client is a
stand-in that answers from a list of instances, so the whole parse -> populate path runs without AWS.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def loader_ready() -> None:
    """Make the collection importable as ansible-inventory does."""
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([str(REPO_ROOT / "collections")])


def instance(instance_id: str, name: str | None = None, days: int = 0, state: str = "running",
             **tags: str) -> dict[str, Any]:
    """A DescribeInstances item, first launched `days` after T0."""
    tag_list = [{"Key": k.replace("__", ":").replace("_", "-"), "Value": v} for k, v in tags.items()]
    if name is not None:
        tag_list.append({"Key": "Name", "Value": name})
    launched = T0 + datetime.timedelta(days=days)
    return {
        "InstanceId": instance_id, "InstanceType": "t3.large", "State": {"Name": state},
        "PublicIpAddress": "54.1.1.1", "PrivateIpAddress": "10.0.0.1", "LaunchTime": launched,
        "Placement": {"AvailabilityZone": "eu-west-1a"}, "Tags": tag_list,
        "NetworkInterfaces": [{"Attachment": {"DeviceIndex": 0, "AttachTime": launched}}],
    }


class Paginator:
    """A stand-in boto3 paginator answering one fixed result."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result

    def paginate(self, **_kwargs: Any) -> Paginator:
        return self

    def build_full_result(self) -> dict[str, Any]:
        return self.result


class Ec2:
    """A stand-in EC2 client for the calls the plugin makes without its cache."""

    def __init__(self, instances: list[dict[str, Any]]) -> None:
        self.instances = instances

    def describe_addresses(self) -> dict[str, Any]:
        return {"Addresses": []}

    def get_paginator(self, name: str) -> Paginator:
        assert name == "describe_instances"
        return Paginator({"Reservations": [{"Instances": self.instances}]})


def parse(tmp_path: Path, instances: list[dict[str, Any]], **options: Any):
    """Parse one config against the given instances; return the inventory and the warnings shown."""
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    plugin = inventory_loader.get("jupyterops.cloud.tagged_ec2")
    plugin.client = lambda service, *_a, **_k: Ec2(instances)
    warnings: list[str] = []
    plugin.warn = warnings.append
    config = {"plugin": "jupyterops.cloud.tagged_ec2", "regions": ["eu-west-1"], "tags": {"Project": "x"},
              **options}
    path = tmp_path / "test.tagged_ec2.yml"
    path.write_text(yaml.safe_dump(config))
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=False)
    inventory.reconcile_inventory()
    return inventory, warnings


def hostvars(inventory, name: str) -> dict[str, Any]:
    """The variables of one host, its groups' variables below its own (Ansible's precedence)."""
    host = inventory.hosts[name]
    merged: dict[str, Any] = {}
    for group in sorted(host.get_groups(), key=lambda g: g.depth):
        merged.update(group.get_vars())
    return {**merged, **host.get_vars()}


def test_the_older_namesake_keeps_the_bare_name(loader_ready, tmp_path):
    older = instance("i-9", "alice", 0, jupyterops__host="alice")
    newer = instance("i-1", "alice", 1, jupyterops__host="alice")
    inventory, warnings = parse(tmp_path, [newer, older])
    assert inventory.hosts["alice"].vars["instance_id"] == "i-9"
    assert inventory.hosts["alice-i-1"].vars["instance_id"] == "i-1"
    assert any("claim the host name 'alice'" in w for w in warnings)


@pytest.mark.parametrize("group", ["all", "ungrouped", "running", "stopped", "mine", "owner_ann"])
def test_a_name_tag_equal_to_a_group_is_suffixed_and_the_host_kept(loader_ready, tmp_path, group):
    instances = [instance("i-1", group, Owner="ann"), instance("i-2", "web", Owner="bob")]
    inventory, warnings = parse(tmp_path, instances, group="mine",
                                keyed_groups=[{"key": "instance_tags.Owner", "prefix": "owner"}])
    renamed = f"{group}-i-1"
    assert set(inventory.hosts) == {renamed, "web"}
    assert {h.name for h in inventory.groups["mine"].get_hosts()} == {renamed, "web"}
    assert {h.name for h in inventory.groups["owner_ann"].get_hosts()} == {renamed}
    assert {h.name for h in inventory.groups["running"].get_hosts()} == {renamed, "web"}
    assert hostvars(inventory, renamed)["instance_id"] == "i-1"
    # No host variable leaked onto a group of the same name.
    for g in inventory.groups.values():
        assert "instance_id" not in g.vars
    assert len([w for w in warnings if "is also a group name" in w]) == 1


def test_a_host_named_like_a_keyed_group_built_by_an_earlier_host(loader_ready, tmp_path):
    # i-1 builds group owner_ann; i-2 is called owner_ann and comes later: renamed, its vars on itself.
    instances = [instance("i-1", "alpha", Owner="ann"), instance("i-2", "owner_ann", Owner="bob")]
    inventory, warnings = parse(tmp_path, instances,
                                keyed_groups=[{"key": "instance_tags.Owner", "prefix": "owner",
                                               "parent_group": "owners"}],
                                compose={"jupyter_ready": "instance_state == 'running'"},
                                groups={"big": "instance_type == 't3.large'"},
                                jupyter_url_template="https://{name}.example.org/")
    assert set(inventory.hosts) == {"alpha", "owner_ann-i-2"}
    renamed = hostvars(inventory, "owner_ann-i-2")
    assert renamed["instance_id"] == "i-2" and renamed["jupyter_ready"] is True
    assert renamed["jupyter_url"] == "https://owner_ann-i-2.example.org/"   # rendered for the new name
    assert {h.name for h in inventory.groups["owner_ann"].get_hosts()} == {"alpha"}
    assert {h.name for h in inventory.groups["owner_bob"].get_hosts()} == {"owner_ann-i-2"}
    assert {h.name for h in inventory.groups["big"].get_hosts()} == {"alpha", "owner_ann-i-2"}
    assert {g.name for g in inventory.groups["owners"].child_groups} == {"owner_ann", "owner_bob"}
    assert "instance_id" not in inventory.groups["owner_ann"].vars
    assert any("built by keyed_groups; listed as 'owner_ann-i-2'" in w for w in warnings)


def test_a_name_equal_to_a_composed_group_is_suffixed_even_when_the_group_is_empty(loader_ready, tmp_path):
    # The keys of `groups` are reserved up front, so a host's name does not depend on who matches.
    inventory, _ = parse(tmp_path, [instance("i-1", "big")], groups={"big": "false"})
    assert set(inventory.hosts) == {"big-i-1"}


def test_login_user_from_the_tag_unless_set_by_option_or_compose(loader_ready, tmp_path):
    instances = [instance("i-1", "deb", jupyterops__login_user="admin"),
                 instance("i-2", "ubu", jupyterops__login_user="ubuntu"),
                 instance("i-3", "old")]
    inventory, _ = parse(tmp_path, instances)
    assert {n: hostvars(inventory, n)["ansible_user"] for n in inventory.hosts} == {
        "deb": "admin", "ubu": "ubuntu", "old": "admin"}
    assert hostvars(inventory, "ubu")["ssh_tunnel_command"].endswith(" ubuntu@54.1.1.1")

    inventory, _ = parse(tmp_path, instances, ssh_user="ec2-user")
    assert {hostvars(inventory, n)["ansible_user"] for n in inventory.hosts} == {"ec2-user"}
    assert inventory.groups["tagged_ec2"].vars["ansible_user"] == "ec2-user"

    inventory, _ = parse(tmp_path, instances, compose={"ansible_user": "'root'"})
    assert hostvars(inventory, "ubu")["ansible_user"] == "root"
