"""Unit tests of the option rules of the jupyterops.cloud.tagged_ec2 inventory plugin (no AWS)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "plugins" / "module_utils" / "_tagged_ec2_options.py"
_SPEC = importlib.util.spec_from_file_location("jupyterops_tagged_ec2_options", _PATH)
r = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = r
_SPEC.loader.exec_module(r)

KNOWN = frozenset(("eu-west-1", "us-east-1", "eusc-de-east-1"))
# The plugin's defaults (DOCUMENTATION), plus the one region a configuration needs.
DEFAULTS = {
    "plugin": "jupyterops.cloud.tagged_ec2", "regions": ["eu-west-1"], "region": None, "tags": {},
    "filters": {}, "instance_states": ["pending", "running", "stopping", "stopped"],
    "hostname_source": "tag", "hostname_tag": "Name", "hostname_fallback": "skip",
    "address_preference": ["elastic_ip", "public_ip", "private_ip"], "use_private_ip": False,
    "group": "tagged_ec2", "ssh_user": None, "ssh_identity_file": None, "jupyter_port": None,
    "tunnel_local_port": 8889, "jupyter_url_template": None,
    "ssh_tunnel_command_template": "ssh -N -L {local_port}:127.0.0.1:{jupyter_port} {user}@{address}",
    "compose": {}, "groups": {}, "keyed_groups": [], "strict": False, "leading_separator": True,
    "use_extra_vars": False, "cache": False, "cache_plugin": "memory", "cache_timeout": 3600,
    "cache_connection": None, "cache_prefix": "ansible_inventory_", "access_key": None, "secret_key": None,
    "session_token": None, "profile": None, "endpoint_url": None, "assume_role_arn": None,
}


def errors(**options):
    """The messages for the defaults overridden by options."""
    return r.option_errors({**DEFAULTS, **options}, known_regions=KNOWN)


def test_the_defaults_and_the_documented_examples_pass():
    assert errors() == []
    assert errors(
        regions=["eu-west-1", "us-east-1"], tags={"Project": ["jupyter", "jupyter-staging"]},
        filters={"instance-type": ["t3.large", "t3.xlarge"], "tag:Owner": "ann*"},
        hostname_source="instance_id", use_private_ip=True, jupyter_port=9999,
        jupyter_url_template="https://{address}:{jupyter_port}/", ssh_identity_file="~/.ssh/jupyter.pem",
        ssh_tunnel_command_template="ssh -N -i {identity_file} -L {local_port}:127.0.0.1:{jupyter_port} "
                                    "{user}@{address}",
        keyed_groups=[{"key": "instance_tags.Owner | default('nobody')", "prefix": "owner"}],
        compose={"jupyter_ready": "instance_state == 'running'"}, groups={"big": "'xlarge' in instance_type"},
        cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection="~/.cache/jupyterops-inventory",
        endpoint_url="http://127.0.0.1:5000", profile="work",
        assume_role_arn="arn:aws:iam::123456789012:role/inventory",
    ) == []


def test_the_message_names_the_option_the_rule_and_the_value():
    assert errors(jupyter_port=0) == ["tagged_ec2: jupyter_port must be 1-65535 and not 22 (got 0)"]


@pytest.mark.parametrize(("option", "value"), [
    ("jupyter_port", 0),
    ("jupyter_port", 22),
    ("jupyter_port", 65536),
    ("jupyter_port", True),
    ("jupyter_port", "8888"),
    ("tunnel_local_port", 0),
    ("tunnel_local_port", 70000),
    ("tunnel_local_port", -1),
    ("tunnel_local_port", None),
    ("ssh_user", "admin\nProxyCommand touch /tmp/x"),
    ("ssh_user", "-oProxyCommand=x"),
    ("ssh_user", "ad min"),
    ("ssh_user", ""),
    ("ssh_user", "a" * 33),
    ("ssh_identity_file", "~/.ssh/id\nx"),
    ("ssh_identity_file", "~/.ssh/id\x1b[2J"),
    ("ssh_identity_file", "~/.ssh/id\u2028x"),
    ("ssh_identity_file", ""),
    ("ssh_identity_file", " ~/.ssh/id"),
    ("hostname_tag", ""),
    ("hostname_tag", "   "),
    ("hostname_tag", "Name\n"),
    ("ssh_user", "admin\n"),
    ("group", "tagged\n"),
    ("assume_role_arn", "arn:aws:iam::123456789012:role/x\n"),
    ("hostname_tag", "x" * 129),
    ("hostname_tag", "bad!key"),
    ("hostname_source", "ip"),
    ("hostname_fallback", "drop"),
    ("group", ""),
    ("group", "all"),
    ("group", "running"),
    ("group", "my-group"),
    ("group", "1st"),
    ("jupyter_url_template", "ftp://{address}/"),
    ("jupyter_url_template", "https://{address}/\nx"),
    ("jupyter_url_template", ""),
    ("ssh_tunnel_command_template", ""),
    ("ssh_tunnel_command_template", "ssh {user}@{address}\nrm -rf ~"),
    ("cache_timeout", -5),
    ("cache_timeout", True),
    ("cache_plugin", "json file"),
    ("cache_connection", "/tmp/cache\nx"),
    ("cache_prefix", "a\tb"),
    ("endpoint_url", "ftp://x"),
    ("endpoint_url", "http://"),
    ("endpoint_url", "http://host/ x"),
    ("profile", ""),
    ("profile", "work\nx"),
    ("assume_role_arn", "nope"),
    ("assume_role_arn", "arn:aws:iam::12345:role/x"),
    ("compose", {"ansible_port": 2222}),
    ("compose", {"bad-name": "x"}),
    ("compose", {"x": ""}),
    ("groups", {"big": True}),
    ("groups", {"my-group": "true"}),
    ("keyed_groups", "instance_type"),
    ("keyed_groups", [{"prefix": "x"}]),
    ("keyed_groups", ["instance_type"]),
    ("keyed_groups", [{"key": "x", "prefx": "y"}]),
    ("keyed_groups", [{"key": "x", "trailing_separator": "no"}]),
    ("keyed_groups", [{"key": "x", "parent_group": "a-b"}]),
    ("keyed_groups", [{"key": "x", "separator": "\n"}]),
    ("keyed_groups", [{"key": "x", "default_value": "d", "trailing_separator": False}]),
])
def test_a_bad_value_is_refused_naming_the_option(option, value):
    found = errors(**{option: value})
    assert len(found) == 1, found
    assert found[0].startswith(f"tagged_ec2: {option}")
    assert "must be" in found[0]


@pytest.mark.parametrize(("option", "value"), [
    ("jupyter_port", 1), ("jupyter_port", 65535), ("jupyter_port", 8888), ("tunnel_local_port", 1),
    ("tunnel_local_port", 65535), ("ssh_user", "ec2-user"), ("ssh_user", "ubuntu"),
    ("ssh_user", "svc.user_1"), ("ssh_user", None),
    ("ssh_identity_file", "/home/ann/.ssh/id ed25519"), ("hostname_tag", "aws:cloudformation:stack-name"),
    ("hostname_tag", "Host Name"), ("group", "_jupyter2"), ("cache_timeout", 0), ("cache_prefix", ""),
    ("endpoint_url", "https://ec2.eu-west-1.amazonaws.com"),
    ("assume_role_arn", "arn:aws-us-gov:iam::123456789012:role/path/inventory"),
    ("keyed_groups", [{"key": "placement.region", "parent_group": "regions", "separator": "",
                       "leading_separator": False, "trailing_separator": False}]),
])
def test_a_good_value_passes(option, value):
    assert errors(**{option: value}) == []


def test_credentials_are_never_shown():
    found = errors(secret_key="s3cr3t\nvalue", access_key="", session_token="t0k3n\x00")
    assert len(found) == 3
    assert all("(hidden)" in message for message in found)
    assert not any(word in message for message in found for word in ("s3cr3t", "t0k3n"))


@pytest.mark.parametrize(("region", "regions", "fragment"), [
    (None, [], "option 'regions' (or 'region' / AWS_REGION) is required"),
    (None, ["europe"], "regions must be a region name like eu-west-1 (got 'europe')"),
    (None, ["eu-west-1; rm -rf"], "regions must be a region name"),
    (None, ["eu-west-9"], "regions must be an EC2 region botocore knows (eu-west-1, eusc-de-east-1, us-"),
    ("mars-1", [], "region must be a region name like eu-west-1 (got 'mars-1')"),
    ("eu-west-9", [], "region must be an EC2 region botocore knows"),
    (None, "eu-west-1", "regions must be a list"),
])
def test_regions_must_be_known_to_botocore(region, regions, fragment):
    found = errors(region=region, regions=regions)
    assert len(found) == 1 and fragment in found[0], found


def test_regions_come_from_regions_else_region():
    assert errors(region="eu-west-9", regions=["us-east-1"]) == []  # region is not used
    assert errors(region="eusc-de-east-1", regions=[]) == []
    assert r.regions_to_query("eu-west-1", []) == ["eu-west-1"]
    assert r.regions_to_query("eu-west-1", ["us-east-1", "eu-west-1", "us-east-1"]) == [
        "eu-west-1", "us-east-1"]


def test_without_botocore_data_only_the_region_format_is_checked(monkeypatch):
    monkeypatch.setattr(r, "known_ec2_regions", lambda: None)
    assert r.region_errors(None, ["eu-west-9"]) == []
    assert r.region_errors(None, ["europe"]) != []


def test_botocore_knows_the_common_regions():
    known = r.known_ec2_regions()
    assert known is None or {"eu-west-1", "us-east-1"} <= known


@pytest.mark.parametrize(("option", "value", "fragment"), [
    ("tags", {"bad!key": "x"}, "tags must be a mapping whose keys are EC2 tag keys"),
    ("tags", {"": "x"}, "tags must be a mapping whose keys are EC2 tag keys"),
    ("tags", {"Project": "a\nb"}, "tags.Project must be one line"),
    ("tags", {"Project": ["ok", "a\u2028b"]}, "tags.Project must be one line"),
    ("tags", {"Project": "x" * 257}, "tags.Project must be at most 256 characters"),
    ("tags", "Project=jupyter", "tags must be a mapping"),
    ("filters", {"tag:": "x"}, "filters must be a mapping whose keys are EC2 tag keys"),
    ("filters", {"tag:bad!key": "x"}, "filters must be a mapping whose keys are EC2 tag keys"),
    ("filters", {"instance-type": "t3.large\nx"}, "filters.instance-type must be one line"),
])
def test_tag_keys_and_filter_values(option, value, fragment):
    found = errors(**{option: value})
    assert len(found) == 1 and fragment in found[0], found


def test_filter_values_of_other_filters_may_be_long_and_tag_values_use_wildcards():
    assert errors(filters={"network-interface.description": "x" * 300}, tags={"Project": "jupyter-*"}) == []


def test_every_broken_rule_is_reported_at_once():
    found = errors(jupyter_port=22, ssh_user="-o", hostname_tag="")
    assert [m.split(" ")[1] for m in found] == ["hostname_tag", "ssh_user", "jupyter_port"]


@pytest.mark.parametrize(("text", "expected"), [
    ("plain", None), ("a\nb", "U+000A at position 1"), ("\x7f", "U+007F at position 0"),
    ("a\u2029", "U+2029 at position 1"), ("tab\there", "U+0009 at position 3"),
])
def test_control_character(text, expected):
    assert r.control_character(text) == expected
