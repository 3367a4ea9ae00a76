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


def test_base_name_prefers_the_name_given_at_launch():
    rec = record(tags={"Name": "renamed-in-console", "jupyterops:host": "alice"})
    assert h.base_name(rec, "tag", "Name", "skip") == "alice"
    # An unusable jupyterops:host value falls back to the Name tag (then to the fallback).
    ip_tagged = record(tags={"Name": "bob", "jupyterops:host": "10.0.0.1"})
    assert h.base_name(ip_tagged, "tag", "Name", "skip") == "bob"
    assert h.base_name(record(tags={"jupyterops:host": " "}), "tag", "Name", "instance_id") == "i-1"
    assert h.base_name(rec, "instance_id", "Name", "skip") == "i-1"


def test_hosts_without_the_launch_tag_fall_back_to_name():
    records = [record("i-1", tags={"Name": "web"}),
               record("i-2", tags={"Name": "x", "jupyterops:host": "db"})]
    assert h.assign_names(records)[0] == {"i-1": "web", "i-2": "db"}


def test_assign_names_unique_names_are_kept():
    names, warnings = h.assign_names([record("i-1", "a"), record("i-2", "b")])
    assert names == {"i-1": "a", "i-2": "b"}
    assert warnings == []


T0, T1, T2 = "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"


def alice(instance_id, launched, **extra):
    """An instance the ec2_host role launched as alice (Name and jupyterops:host), first launched then."""
    return record(instance_id, tags={"Name": "alice", "jupyterops:host": "alice"},
                  first_launch_time=launched, **extra)


def test_a_newer_namesake_appearing_does_not_rename_the_older():
    old = alice("i-9", T0)
    assert h.assign_names([old])[0] == {"i-9": "alice"}
    names, warnings = h.assign_names([old, alice("i-1", T1)])   # newer, though its id sorts first
    assert names == {"i-9": "alice", "i-1": "alice-i-1"}
    assert len(warnings) == 1
    assert "'alice'" in warnings[0] and "i-9 (launched first) keeps it, i-1 get" in warnings[0]


def test_the_newer_namesake_going_changes_nothing_for_the_older():
    old, new = alice("i-9", T0), alice("i-1", T1)
    assert h.assign_names([old, new])[0]["i-9"] == "alice"
    assert h.assign_names([old])[0] == {"i-9": "alice"}
    # Terminated, still listed (instance_states with terminated): a live namesake outranks it.
    names, _ = h.assign_names([alice("i-9", T0, state="terminated"), alice("i-1", T1)])
    assert names == {"i-1": "alice", "i-9": "alice-i-9"}


def test_the_older_going_hands_the_bare_name_to_the_next_oldest():
    new = alice("i-1", T1)
    assert h.assign_names([alice("i-9", T0), new])[0]["i-1"] == "alice-i-1"
    assert h.assign_names([new]) == ({"i-1": "alice"}, [])


def test_three_namesakes_rank_by_first_launch_then_instance_id():
    records = [alice("i-3", T2), alice("i-2", T1), alice("i-1", T1), alice("i-4", T0)]
    names, warnings = h.assign_names(records)
    assert names == {"i-4": "alice", "i-1": "alice-i-1", "i-2": "alice-i-2", "i-3": "alice-i-3"}
    assert len(warnings) == 1 and "4 instances" in warnings[0]
    # Any subset keeps the order: the names are a pure function of the listed instances.
    assert h.assign_names(records[:3])[0] == {"i-1": "alice", "i-2": "alice-i-2", "i-3": "alice-i-3"}
    assert h.assign_names(list(reversed(records)))[0] == names


def test_a_stop_start_does_not_make_an_instance_younger():
    # LaunchTime is the last start; the first launch (primary ENI AttachTime) decides.
    old = alice("i-9", T0, launch_time=T2)
    new = alice("i-1", T1, launch_time=T1)
    assert h.assign_names([old, new])[0] == {"i-9": "alice", "i-1": "alice-i-1"}


def test_without_a_first_launch_time_launch_time_decides_and_unknown_ranks_last():
    old = record("i-9", "nb", first_launch_time=None, launch_time=T0)
    new = record("i-1", "nb", first_launch_time=None, launch_time=T1)
    unknown = record("i-0", "nb", first_launch_time=None, launch_time=None)
    names, _ = h.assign_names([unknown, new, old])
    assert names == {"i-9": "nb", "i-1": "nb-i-1", "i-0": "nb-i-0"}


def test_timestamps_in_other_forms_compare_by_time():
    # Offsets, Z and naive (UTC) forms: the earlier moment wins, not the smaller string.
    early = record("i-2", "nb", first_launch_time="2026-01-01T01:00:00+02:00")   # 23:00 UTC the day before
    late = record("i-1", "nb", first_launch_time="2026-01-01T00:00:00Z")
    assert h.assign_names([early, late])[0]["i-2"] == "nb"
    naive = record("i-3", "nb", first_launch_time="2025-12-31T22:00:00")
    assert h.assign_names([early, late, naive])[0]["i-3"] == "nb"
    garbage = record("i-0", "nb", first_launch_time="yesterday")
    assert h.assign_names([garbage, late])[0]["i-1"] == "nb"


def test_first_launch_time_is_the_primary_eni_attach_time():
    attach = datetime.datetime(2026, 1, 1, 1, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    raw = {"InstanceId": "i-1", "LaunchTime": datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC),
           "NetworkInterfaces": [
               {"Attachment": {"DeviceIndex": 1,
                               "AttachTime": datetime.datetime(2026, 4, 1, tzinfo=datetime.UTC)}},
               {"Attachment": {"DeviceIndex": 0, "AttachTime": attach}}]}
    assert h.first_launch_time(raw) == "2026-01-01T00:00:00+00:00"
    assert h.first_launch_time({"LaunchTime": datetime.datetime(2026, 5, 1)}) == "2026-05-01T00:00:00+00:00"
    assert h.first_launch_time({}) is None


RESERVED = ("all", "ungrouped", "tagged_ec2", "pending", "running", "stopped", "shutting_down",
            "terminated", "unknown")


@pytest.mark.parametrize("group", ["all", "ungrouped", "tagged_ec2", "running", "stopped", "unknown", "ALL"])
def test_a_name_equal_to_a_group_is_suffixed_with_a_warning(group):
    names, warnings = h.assign_names([record("i-1", group), record("i-2", "web")], reserved=RESERVED)
    assert names == {"i-1": f"{group}-i-1", "i-2": "web"}
    assert len(warnings) == 1
    assert f"{group!r} (i-1) is also a group name" in warnings[0]


def test_namesakes_of_a_group_name_are_all_suffixed():
    names, warnings = h.assign_names([record("i-2", "all"), record("i-1", "all")], reserved=["all"])
    assert names == {"i-1": "all-i-1", "i-2": "all-i-2"}
    assert len(warnings) == 1


def test_assign_names_is_independent_of_listing_order():
    records = [record("i-2", "nb"), record("i-1", "NB"), record("i-3", "x")]
    assert h.assign_names(records)[0] == h.assign_names(list(reversed(records)))[0]


def test_assign_names_case_insensitive_collision():
    names, warnings = h.assign_names([record("i-1", "Web"), record("i-2", "web")])
    assert names == {"i-1": "Web", "i-2": "web-i-2"}
    assert warnings


def test_assign_names_suffix_that_hits_a_real_name_falls_back_to_instance_id():
    records = [record("i-1", "nb"), record("i-2", "nb"), record("i-3", "nb-i-2")]
    names, _ = h.assign_names(records)
    assert names == {"i-1": "nb", "i-2": "i-2", "i-3": "nb-i-2"}


def test_a_host_whose_every_name_is_taken_is_left_out_with_a_warning():
    records = [record("i-1", "nb"), record("i-2", "nb"), record("i-3", "nb-i-2"), record("i-4", "i-2")]
    names, warnings = h.assign_names(records)
    assert "i-2" not in names and names["i-4"] == "i-2"
    assert any("skipping i-2" in w for w in warnings)


def test_assign_names_skips_untagged():
    names, _ = h.assign_names([record("i-1", None), record("i-2", "b")])
    assert names == {"i-2": "b"}


def test_suffixed_name():
    assert h.suffixed_name("all", "i-1", set()) == "all-i-1"
    assert h.suffixed_name("all", "i-1", {"all-i-1"}) == "i-1"
    assert h.suffixed_name("all", "i-1", {"all-i-1", "i-1"}) is None


def test_assign_names_is_n_log_n_on_a_large_fleet():
    # 20000 instances, every name claimed twice: well under a second (a quadratic rule would take minutes).
    import time
    records = [record(f"i-{n:06d}", f"nb{n // 2}", first_launch_time=T0) for n in range(20000)]
    start = time.perf_counter()
    names, warnings = h.assign_names(records, reserved=RESERVED)
    assert time.perf_counter() - start < 5
    assert len(set(names.values())) == 20000 and len(warnings) == 10000


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
    assert h.host_access(record(tags={"Name": "nb", **tags}), settings) == {**expected, "user": "admin"}


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


# ------------------------------------------------------------------------------ login user

@pytest.mark.parametrize(("tags", "option", "expected"), [
    ({}, None, "admin"),                                             # no tag: Debian's user
    ({"jupyterops:login-user": "ubuntu"}, None, "ubuntu"),           # the AMI's user, tagged at launch
    ({"jupyterops:login-user": "admin"}, None, "admin"),
    ({"jupyterops:login-user": "ubuntu"}, "ec2-user", "ec2-user"),   # the explicit option wins
    ({"jupyterops:login-user": "-oProxyCommand=x"}, None, "admin"),  # not a login name: ignored
    ({"jupyterops:login-user": "ubuntu\nProxyCommand x"}, None, "admin"),
    ({"jupyterops:login-user": ""}, None, "admin"),
    ({"jupyterops:login-user": "a" * 33}, None, "admin"),
])
def test_login_user_from_the_tag_unless_the_option_is_set(tags, option, expected):
    rec = record(tags={"Name": "nb", **tags})
    assert h.login_user(rec, {"user": option}) == expected
    assert h.host_access(rec, {"user": option})["user"] == expected


def test_the_tagged_login_user_goes_into_the_tunnel_command_and_only_the_option_into_group_vars():
    templates = {"jupyter_url": None, "ssh_tunnel_command": "ssh {user}@{address}"}
    settings = {"local_port": 8889, "user": None, "identity_file": None, "jupyter_port": None,
                "jupyter_url_template": None}
    ubuntu = record(tags={"Name": "nb", "jupyterops:login-user": "ubuntu"})
    assert h.connection_vars(ubuntu, "nb", "54.1.1.1", settings, templates)["ssh_tunnel_command"] == (
        "ssh ubuntu@54.1.1.1")
    assert "ansible_user" not in h.shared_vars(settings)
    settings["user"] = "admin"
    assert h.connection_vars(ubuntu, "nb", "54.1.1.1", settings, templates)["ssh_tunnel_command"] == (
        "ssh admin@54.1.1.1")
    assert h.shared_vars(settings)["ansible_user"] == "admin"


def test_the_login_user_rule_is_the_ssh_user_rule():
    options = Path(__file__).resolve().parents[3] / "plugins" / "module_utils" / "_tagged_ec2_options.py"
    assert f're.compile(r"{h._LOGIN_USER.pattern}")' in options.read_text()
