"""Unit tests of the pure helpers behind the jupyterops.cloud.tagged_ec2 inventory plugin."""

from __future__ import annotations

import datetime
import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "plugins" / "plugin_utils" / "_tagged_ec2.py"
_SPEC = importlib.util.spec_from_file_location("jupyterops_tagged_ec2_helpers", _PATH)
h = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = h
_SPEC.loader.exec_module(h)


def record(instance_id="i-1", name="web", state="running", **extra):
    """A normalized instance record as the plugin caches it."""
    base = {
        "instance_id": instance_id, "instance_type": "t3.large", "state": state,
        "public_ip": "54.1.1.1", "private_ip": "10.0.0.1", "elastic_ip": None,
        "public_dns": "ec2-54-1-1-1.example", "private_dns": "ip-10-0-0-1.internal",
        "launch_time": "2026-01-01T00:00:00+00:00", "availability_zone": "eu-west-1a",
        "region": "eu-west-1", "tags": {"Name": name} if name is not None else {}, "data_volume_ids": [],
    }
    base.update(extra)
    return base


# ------------------------------------------------------------------------------ names

@pytest.mark.parametrize(("tag_value", "expected"), [
    ("web", "web"),
    ("  Jupyter Alice  ", "Jupyter-Alice"),
    ("a/b:c", "a-b-c"),
    ("", None),
    ("10.0.0.5", None),          # never an IP as a host name
    ("---", None),
])
def test_base_name_from_tag(tag_value, expected):
    assert h.base_name(record(name=tag_value), "tag", "Name", "skip") == expected


def test_base_name_missing_tag_skips_or_falls_back_to_instance_id():
    untagged = record(instance_id="i-9", name=None)
    assert h.base_name(untagged, "tag", "Name", "skip") is None
    assert h.base_name(untagged, "tag", "Name", "instance_id") == "i-9"


def test_base_name_from_other_tag_and_instance_id():
    rec = record(name="web", tags={"Name": "web", "Host": "nb1"})
    assert h.base_name(rec, "tag", "Host", "skip") == "nb1"
    assert h.base_name(rec, "instance_id", "Name", "skip") == "i-1"


def test_assign_names_unique_names_are_kept():
    names, warnings = h.assign_names([record("i-1", "a"), record("i-2", "b")])
    assert names == {"i-1": "a", "i-2": "b"}
    assert warnings == []


def test_assign_names_collisions_get_instance_id_suffix_and_a_warning():
    records = [record("i-2", "nb"), record("i-1", "nb"), record("i-3", "other")]
    names, warnings = h.assign_names(records)
    assert names == {"i-1": "nb-i-1", "i-2": "nb-i-2", "i-3": "other"}
    assert len(warnings) == 1
    assert "'nb'" in warnings[0]
    assert "i-1, i-2" in warnings[0]


def test_assign_names_is_independent_of_listing_order():
    records = [record("i-2", "nb"), record("i-1", "NB"), record("i-3", "x")]
    assert h.assign_names(records)[0] == h.assign_names(list(reversed(records)))[0]


def test_assign_names_case_insensitive_collision():
    names, warnings = h.assign_names([record("i-1", "Web"), record("i-2", "web")])
    assert set(names.values()) == {"Web-i-1", "web-i-2"}
    assert warnings


def test_assign_names_suffix_that_hits_a_real_name_falls_back_to_instance_id():
    records = [record("i-1", "nb"), record("i-2", "nb"), record("i-3", "nb-i-1")]
    names, _ = h.assign_names(records)
    assert len(set(names.values())) == 3
    assert names["i-3"] == "nb-i-1"
    assert names["i-1"] == "i-1"


def test_assign_names_skips_untagged():
    names, _ = h.assign_names([record("i-1", None), record("i-2", "b")])
    assert names == {"i-2": "b"}


# ------------------------------------------------------------------------------ addresses

@pytest.mark.parametrize(("extra", "preference", "private", "expected"), [
    ({}, ["elastic_ip", "public_ip", "private_ip"], False, "54.1.1.1"),
    ({"elastic_ip": "3.3.3.3", "public_ip": "3.3.3.3"}, ["elastic_ip", "public_ip"], False, "3.3.3.3"),
    ({"public_ip": None}, ["elastic_ip", "public_ip", "private_ip"], False, None),
    ({"public_ip": None}, ["elastic_ip", "public_ip", "private_ip"], True, "10.0.0.1"),
    ({}, ["private_ip", "public_ip"], True, "10.0.0.1"),
    ({}, ["private_ip", "public_ip"], False, "54.1.1.1"),
    ({}, ["public_dns"], False, "ec2-54-1-1-1.example"),
    ({"state": "stopped", "elastic_ip": "3.3.3.3"}, ["elastic_ip", "public_ip"], True, None),
    ({"state": "stopping"}, ["public_ip"], True, None),
    ({"state": "pending"}, ["public_ip"], False, "54.1.1.1"),
])
def test_choose_address(extra, preference, private, expected):
    assert h.choose_address(record(**extra), preference, private) == expected


@pytest.mark.parametrize(("state", "group"), [
    ("running", "running"), ("stopped", "stopped"), ("stopping", "stopped"), ("pending", "pending"),
    ("shutting-down", "shutting_down"), (None, "unknown"),
])
def test_state_group(state, group):
    assert h.state_group(state) == group


def test_host_vars_has_no_ansible_host_without_address():
    assert "ansible_host" not in h.host_vars(record(state="stopped"), None)
    hv = h.host_vars(record(), "54.1.1.1")
    assert hv["ansible_host"] == "54.1.1.1"
    assert hv["instance_tags"] == {"Name": "web"}
    assert hv["instance_state"] == "running"


def test_normalize_instance_keeps_stable_facts_and_data_volumes():
    raw = {
        "InstanceId": "i-1", "InstanceType": "t3.large", "State": {"Name": "running"},
        "PublicIpAddress": "3.3.3.3", "PrivateIpAddress": "10.0.0.1", "PublicDnsName": "",
        "LaunchTime": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "Placement": {"AvailabilityZone": "eu-west-1b"}, "RootDeviceName": "/dev/xvda",
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": "vol-root"}},
                                {"DeviceName": "/dev/sdf", "Ebs": {"VolumeId": "vol-data"}}],
        "Tags": [{"Key": "Name", "Value": "nb"}],
    }
    rec = h.normalize_instance(raw, "eu-west-1", {"i-1": "3.3.3.3"})
    assert rec["data_volume_ids"] == ["vol-data"]
    assert rec["elastic_ip"] == "3.3.3.3"
    assert rec["public_dns"] is None
    assert rec["launch_time"] == "2026-01-02T03:04:05+00:00"
    assert rec["tags"] == {"Name": "nb"}
    assert rec["availability_zone"] == "eu-west-1b"


# ------------------------------------------------------------------------------ templates

def test_template_renders_named_fields():
    tpl = h.validate_template("jupyter_url_template", "https://{address}:{jupyter_port}/lab?host={name}")
    values = h.template_values(record(), "nb", "54.1.1.1", {"jupyter_port": 8888})
    assert h.render_template(tpl, values) == "https://54.1.1.1:8888/lab?host=nb"


def test_connection_vars_only_for_hosts_with_an_address():
    templates = {"jupyter_url": "http://localhost:{local_port}/",
                 "ssh_tunnel_command": "ssh -N -i {identity_file} {user}@{address}"}
    settings = {"local_port": 8889, "user": "admin", "identity_file": None}
    assert h.connection_vars(record(state="stopped"), "nb", None, settings, templates) == {}
    assert h.connection_vars(record(), "nb", "54.1.1.1", settings, templates) == {
        "jupyter_url": "http://localhost:8889/"}
    settings["identity_file"] = "k.pem"
    assert h.connection_vars(record(), "nb", "54.1.1.1", settings, templates)["ssh_tunnel_command"] == (
        "ssh -N -i k.pem admin@54.1.1.1")


def test_template_with_missing_value_is_not_rendered():
    settings = {"jupyter_port": 8888, "local_port": 9000}
    values = h.template_values(record(state="stopped"), "nb", None, settings)
    assert h.render_template("https://{address}:{jupyter_port}/", values) is None
    assert h.render_template("https://localhost:{local_port}/", values) == "https://localhost:9000/"


@pytest.mark.parametrize("bad", [
    "https://{adress}/",            # unknown field
    "{}",                           # positional
    "{0}",                          # positional index
    "{name.__class__}",             # attribute access
    "{tags[Name]}",                 # item access
    "{name!r}",                     # conversion
    "{name:{jupyter_port}}",        # nested field
    "https://{address",             # unbalanced
    42,                             # wrong type
])
def test_bad_templates_fail_naming_the_option(bad):
    with pytest.raises(h.ConfigError, match="option 'ssh_tunnel_command_template'"):
        h.validate_template("ssh_tunnel_command_template", bad)


# ------------------------------------------------------------------------------ configuration

def test_regions_default_to_single_region_and_one_is_required():
    assert h.validate_regions("eu-west-1", []) == ["eu-west-1"]
    regions = h.validate_regions("eu-west-1", ["us-east-1", "eu-west-1", "us-east-1"])
    assert regions == ["eu-west-1", "us-east-1"]
    with pytest.raises(h.ConfigError, match=r"'regions'.*required"):
        h.validate_regions(None, [])
    with pytest.raises(h.ConfigError, match=r"'regions'.*'Europe'"):
        h.validate_regions(None, ["Europe"])


def test_filters_are_normalized_and_merged_with_tags_and_states():
    tags = h.validate_filters("tags", {"Project": "x", "Env": ["a", "b"]})
    filters = h.validate_filters("filters", {"instance-type": "t3.large"})
    assert h.build_filters(tags, filters, ["running"]) == [
        {"Name": "instance-state-name", "Values": ["running"]},
        {"Name": "instance-type", "Values": ["t3.large"]},
        {"Name": "tag:Env", "Values": ["a", "b"]},
        {"Name": "tag:Project", "Values": ["x"]},
    ]
    assert h.build_filters(tags, {}, None)[0]["Name"] == "tag:Env"


@pytest.mark.parametrize("bad", [["tag:x"], {"tag:x": {"a": 1}}, {"": "x"}, {"bad name": "x"},
                                 {"tag:x": []}, {"tag:x": [None]}, {"tag:x": True}])
def test_malformed_filters_fail_naming_the_option(bad):
    with pytest.raises(h.ConfigError, match="option 'filters'"):
        h.validate_filters("filters", bad)


def test_state_filter_must_use_instance_states():
    with pytest.raises(h.ConfigError, match="instance_states"):
        h.build_filters({}, {"instance-state-name": ["running"]}, None)


def test_states_and_address_preference_validation():
    assert h.validate_states(["running", "running", "stopped"]) == ["running", "stopped"]
    with pytest.raises(h.ConfigError, match=r"'instance_states'.*'sleeping'"):
        h.validate_states(["sleeping"])
    with pytest.raises(h.ConfigError, match=r"'address_preference'.*'ipv6'"):
        h.validate_address_preference(["ipv6"])
    with pytest.raises(h.ConfigError, match="'address_preference'"):
        h.validate_address_preference([])


# ------------------------------------------------------------------------------ cache

def _entry(*records, other_ids=()):
    return {"format": h.CACHE_FORMAT, "fingerprint": "fp", "instances": list(records),
            "other_ids": list(other_ids)}


def _fresh(*records):
    states = {r["instance_id"]: r["state"] for r in records}
    fields = ("public_ip", "private_ip", "elastic_ip")
    addresses = {r["instance_id"]: {k: r[k] for k in fields} for r in records}
    return states, addresses


def test_cache_is_served_when_states_and_addresses_are_unchanged():
    a, b = record("i-1"), record("i-2", state="stopped", public_ip=None)
    states, addresses = _fresh(a, b)
    states["i-9"] = "running"            # known non-matching instance
    assert h.cache_decision(_entry(a, b, other_ids=["i-9"]), "fp", states, addresses) == (
        True, "states and addresses unchanged")


@pytest.mark.parametrize(("change", "reason"), [
    (lambda s, a: a["i-1"].update(public_ip="54.9.9.9"), "public_ip changed"),   # stop/start between runs
    (lambda s, a: s.update({"i-1": "stopped"}), "now stopped"),
    (lambda s, a: s.pop("i-1"), "gone"),
    (lambda s, a: s.update({"i-7": "running"}), "appeared"),
    (lambda s, a: a["i-1"].update(elastic_ip="3.3.3.3"), "elastic_ip changed"),
])
def test_cache_is_invalidated_by_any_volatile_change(change, reason):
    a = record("i-1")
    states, addresses = _fresh(a)
    change(states, addresses)
    ok, why = h.cache_decision(_entry(a), "fp", states, addresses)
    assert not ok
    assert reason in why


def test_cache_is_invalidated_by_config_change_or_unknown_format():
    a = record("i-1")
    states, addresses = _fresh(a)
    assert h.cache_decision(_entry(a), "other", states, addresses)[0] is False
    assert h.cache_decision({"instances": []}, "fp", states, addresses)[0] is False
    assert h.cache_fingerprint(regions=["a"], tags={}) == h.cache_fingerprint(tags={}, regions=["a"])
    assert h.cache_fingerprint(regions=["a"]) != h.cache_fingerprint(regions=["b"])


def test_primary_addresses_from_network_interfaces():
    enis = [
        {"Attachment": {"InstanceId": "i-1", "DeviceIndex": 0}, "PrivateIpAddress": "10.0.0.1",
         "Association": {"PublicIp": "54.1.1.1"}},
        {"Attachment": {"InstanceId": "i-1", "DeviceIndex": 1}, "PrivateIpAddress": "10.0.1.1"},
        {"Attachment": {"InstanceId": "i-2", "DeviceIndex": 0}, "PrivateIpAddress": "10.0.0.2",
         "Association": {"PublicIp": "3.3.3.3", "AllocationId": "eipalloc-1"}},
        {"PrivateIpAddress": "10.0.0.3"},     # unattached
    ]
    assert h.primary_addresses(enis) == {
        "i-1": {"public_ip": "54.1.1.1", "private_ip": "10.0.0.1", "elastic_ip": None},
        "i-2": {"public_ip": "3.3.3.3", "private_ip": "10.0.0.2", "elastic_ip": "3.3.3.3"},
    }


def test_shared_vars_are_set_once_for_the_group():
    settings = {"user": "ubuntu", "jupyter_port": 9999, "local_port": 8899, "identity_file": None}
    expected = {"ansible_user": "ubuntu", "jupyter_port": 9999, "jupyter_local_port": 8899}
    assert h.shared_vars(settings) == expected
    settings["identity_file"] = "~/.ssh/k.pem"
    assert h.shared_vars(settings)["ansible_ssh_private_key_file"] == "~/.ssh/k.pem"


def test_tag_keys_may_contain_spaces_but_other_filter_names_may_not():
    assert h.validate_filters("tags", {"Cost Center": "42"}) == {"Cost Center": ["42"]}
    assert h.validate_filters("filters", {"tag:Cost Center": "42"}) == {"tag:Cost Center": ["42"]}
    with pytest.raises(h.ConfigError, match="option 'filters'"):
        h.validate_filters("filters", {"instance type": "t3.large"})
    with pytest.raises(h.ConfigError, match=r"option 'tags'.*tag key"):
        h.validate_filters("tags", {" ": "x"})


# ------------------------------------------------------------------------------ access tags

@pytest.mark.parametrize(("tags", "options", "expected"), [
    # No tag: the default access (tunnel) on its default port, plain HTTP through the tunnel.
    ({}, {}, {"access": "tunnel", "port": 8889, "url_template": "http://localhost:{local_port}/"}),
    ({"jupyterops:access": "tunnel", "jupyterops:port": "8890"}, {},
     {"access": "tunnel", "port": 8890, "url_template": "http://localhost:{local_port}/"}),
    ({"jupyterops:access": "public", "jupyterops:port": "9999"}, {},
     {"access": "public", "port": 9999, "url_template": "https://{address}:{jupyter_port}/"}),
    ({"jupyterops:access": "public"}, {},
     {"access": "public", "port": 9999, "url_template": "https://{address}:{jupyter_port}/"}),
    # A tag that is not a mode or a port is ignored (the defaults apply).
    ({"jupyterops:access": "open", "jupyterops:port": "99999"}, {},
     {"access": "tunnel", "port": 8889, "url_template": "http://localhost:{local_port}/"}),
    # Explicit options win over the tags.
    ({"jupyterops:access": "public", "jupyterops:port": "9999"},
     {"jupyter_port": 443, "jupyter_url_template": "https://lab.example.org/"},
     {"access": "public", "port": 443, "url_template": "https://lab.example.org/"}),
])
def test_host_access_from_tags_and_options(tags, options, expected):
    settings = {"jupyter_port": None, "jupyter_url_template": None, **options}
    assert h.host_access(record(tags={"Name": "nb", **tags}), settings) == expected


def test_connection_vars_follow_each_hosts_access():
    templates = {"jupyter_url": None,
                 "ssh_tunnel_command": "ssh -N -L {local_port}:127.0.0.1:{jupyter_port} x"}
    settings = {"local_port": 8889, "user": "admin", "identity_file": None,
                "jupyter_port": None, "jupyter_url_template": None}
    public = record(tags={"Name": "pub", "jupyterops:access": "public", "jupyterops:port": "9999"})
    assert h.connection_vars(public, "pub", "54.1.1.1", settings, templates)["jupyter_url"] == (
        "https://54.1.1.1:9999/")
    tunnel = record(tags={"Name": "tun", "jupyterops:access": "tunnel", "jupyterops:port": "8889"})
    assert h.connection_vars(tunnel, "tun", "54.1.1.1", settings, templates) == {
        "jupyter_url": "http://localhost:8889/", "ssh_tunnel_command": "ssh -N -L 8889:127.0.0.1:8889 x"}
