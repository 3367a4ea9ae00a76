"""The tagged_ec2 plugin validates its whole config file before a cache plugin, a role or EC2 is used.

The plugin is loaded through Ansible's plugin loader (as ansible-inventory does); its AWS client is
replaced by one that records the call and fails, so a test sees whether any AWS call was attempted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def loader_ready() -> None:
    """Make the collection importable as ansible-inventory does."""
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([str(REPO_ROOT / "collections")])


class AwsCalled(Exception):
    """Raised by the stand-in AWS client: the plugin tried to call AWS."""


def run(tmp_path: Path, **options: Any) -> tuple[Exception | None, list[str]]:
    """Parse one config (base: one region, one tag); return the exception and the AWS services asked for."""
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    plugin = inventory_loader.get("jupyterops.cloud.tagged_ec2")
    calls: list[str] = []

    def client(service: str, *_args: Any, **_kwargs: Any) -> None:
        calls.append(service)
        raise AwsCalled(service)

    plugin.client = client
    config = {"plugin": "jupyterops.cloud.tagged_ec2", "regions": ["eu-west-1"], "tags": {"Project": "x"},
              **options}
    path = tmp_path / "test.tagged_ec2.yml"
    path.write_text(yaml.safe_dump(config))
    try:
        plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)
    except Exception as exc:  # the test inspects whatever was raised
        return exc, calls
    return None, calls


def test_a_good_config_reaches_ec2(loader_ready, tmp_path):
    """Control: the stand-in client is what the plugin calls once the options pass."""
    exc, calls = run(tmp_path)
    assert isinstance(exc, AwsCalled) and calls == ["ec2"]


@pytest.mark.parametrize(("options", "option"), [
    ({"jupyter_port": 0}, "jupyter_port"),
    ({"jupyter_port": 22}, "jupyter_port"),
    ({"jupyter_port": True}, "jupyter_port"),
    ({"tunnel_local_port": 70000}, "tunnel_local_port"),
    ({"ssh_user": "admin\nProxyCommand touch /tmp/x"}, "ssh_user"),
    ({"ssh_user": False}, "ssh_user"),
    ({"ssh_identity_file": "~/.ssh/id\nx"}, "ssh_identity_file"),
    ({"hostname_tag": ""}, "hostname_tag"),
    ({"group": ""}, "group"),
    ({"regions": ["eu-west-9"]}, "regions"),
    ({"use_private_ip": "yes"}, "use_private_ip"),
    ({"keyed_groups": [{"prefix": "owner"}]}, "keyed_groups[0].key"),
    ({"compose": {"ansible_port": 2222}}, "compose.ansible_port"),
    ({"cache_timeout": -1}, "cache_timeout"),
])
def test_a_bad_option_fails_before_any_aws_call(loader_ready, tmp_path, options, option):
    from ansible.errors import AnsibleParserError

    exc, calls = run(tmp_path, **options)
    assert isinstance(exc, AnsibleParserError), exc
    assert f"tagged_ec2: {option} must be" in str(exc)
    assert calls == []


def test_no_role_is_assumed_before_the_options_pass(loader_ready, tmp_path):
    exc, calls = run(tmp_path, assume_role_arn="arn:aws:iam::123456789012:role/inventory", jupyter_port=0)
    assert "jupyter_port" in str(exc) and calls == []
    exc, calls = run(tmp_path, assume_role_arn="arn:aws:iam::123456789012:role/inventory")
    assert calls == ["sts"]


def test_no_cache_directory_is_made_before_the_options_pass(loader_ready, tmp_path):
    cache_dir = tmp_path / "cache"
    exc, calls = run(tmp_path, cache=True, cache_plugin="ansible.builtin.jsonfile",
                     cache_connection=str(cache_dir), ssh_user="-oProxyCommand=x")
    assert "ssh_user" in str(exc) and calls == []
    assert not cache_dir.exists()


def test_all_broken_rules_are_reported_together(loader_ready, tmp_path):
    exc, _ = run(tmp_path, jupyter_port=0, hostname_tag="", group="all")
    lines = str(exc).splitlines()
    assert [line.split(" ")[1] for line in lines[1:]] == ["hostname_tag", "group", "jupyter_port"]
