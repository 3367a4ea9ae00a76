"""Unit tests for the ec2_host filter plugin (validation, SG rules, instance summaries)."""

from __future__ import annotations

import pytest

from plugins.filter.ec2_host import (
    FilterModule,
    ec2_regions,
    instance_summary,
    invalid_cidrs,
    invalid_tag_keys,
    region_known,
    sg_rules,
    wide_cidrs,
)


@pytest.mark.parametrize(
    ("values", "bad"),
    [
        (["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32"], []),
        (["10.0.0.1/24"], []),
        (
            ["10.0.0.300/24", "10.0.0.1", "x/8", "10.0.0.0/33", ""],
            ["10.0.0.300/24", "10.0.0.1", "x/8", "10.0.0.0/33", ""],
        ),
        ([42], [42]),
        ("10.0.0.0/8", ["10.0.0.0/8"]),
    ],
)
def test_invalid_cidrs(values, bad):
    assert invalid_cidrs(values) == bad


def test_wide_cidrs_counts_the_union_of_each_family():
    """The whole internet in pieces is the whole internet: 0.0.0.0/1 + 128.0.0.0/1 like 0.0.0.0/0."""
    assert wide_cidrs(["0.0.0.0/1", "128.0.0.0/1", "2001:db8::/32"]) == ["IPv4 100% (0.0.0.0/1, 128.0.0.0/1)"]
    assert wide_cidrs(["::/1", "8000::/1"]) == ["IPv6 100% (::/1, 8000::/1)"]
    # A /8 (0.39%) passes the default 1%; a /6 (1.56%) does not; overlaps count once.
    assert wide_cidrs(["10.0.0.0/8", "10.0.0.0/8", "198.51.100.0/24"]) == []
    assert wide_cidrs(["8.0.0.0/6"]) == ["IPv4 1.562% (8.0.0.0/6)"]
    assert wide_cidrs(["8.0.0.0/6"], 5) == []
    # The whole space is refused whatever the limit; a half is not at 100%.
    assert wide_cidrs(["0.0.0.0/0"], 100) == ["IPv4 100% (0.0.0.0/0)"]
    assert wide_cidrs(["0.0.0.0/1"], 100) == []
    assert wide_cidrs("0.0.0.0/0") == [] and wide_cidrs(["bad"]) == []


def test_wide_cidrs_reports_the_whole_internet_per_family():
    """What world_cidrs checked before wide_cidrs replaced it: /0 in either family, not a lone string."""
    assert wide_cidrs(["0.0.0.0/0", "10.0.0.0/8", "::/0", "bad"]) == [
        "IPv4 100% (0.0.0.0/0, 10.0.0.0/8)", "IPv6 100% (::/0)"]
    assert wide_cidrs("0.0.0.0/0") == []


def test_sg_rules_ssh_only_in_private_mode():
    rules = sg_rules(["198.51.100.0/24", "2001:db8::/32", "198.51.100.0/24"], ["203.0.113.0/24"], 8888, False)
    assert rules == [
        {"proto": "tcp", "ports": [22], "cidr_ip": ["198.51.100.0/24"], "rule_desc": "SSH from admin CIDRs"},
        {"proto": "tcp", "ports": [22], "cidr_ipv6": ["2001:db8::/32"], "rule_desc": "SSH from admin CIDRs"},
    ]


def test_sg_rules_public_mode_adds_jupyter_for_listed_cidrs_only():
    rules = sg_rules(["198.51.100.7/32"], ["203.0.113.0/24"], "9999", True)
    assert rules[-1] == {
        "proto": "tcp",
        "ports": [9999],
        "cidr_ip": ["203.0.113.0/24"],
        "rule_desc": "JupyterLab (public mode)",
    }
    assert len(rules) == 2


_ACME = "ACME HTTP-01 challenge (tls_mode acme)"
_ACME_RULES = [
    {"proto": "tcp", "ports": [80], "cidr_ip": ["0.0.0.0/0"], "rule_desc": _ACME},
    {"proto": "tcp", "ports": [80], "cidr_ipv6": ["::/0"], "rule_desc": _ACME},
]


def test_sg_rules_acme_http01_opens_port_80_to_the_world_and_nothing_else():
    """HTTP-01 is validated on port 80 from unpublished CA addresses (https://letsencrypt.org/docs/challenge-types/)."""
    plain = sg_rules(["198.51.100.7/32"], ["203.0.113.0/24"], 8889, False)
    rules = sg_rules(["198.51.100.7/32"], ["203.0.113.0/24"], 8889, False, acme_http01=True)
    assert rules == plain + _ACME_RULES
    # Public mode keeps its own rule; the Jupyter CIDRs do not leak into the challenge rule or the reverse.
    public = sg_rules(["198.51.100.7/32"], ["203.0.113.0/24"], 9999, True, 22, True)
    assert public[:-2] == sg_rules(["198.51.100.7/32"], ["203.0.113.0/24"], 9999, True)
    assert public[-2:] == _ACME_RULES
    assert next(r for r in public if r["ports"] == [9999])["cidr_ip"] == ["203.0.113.0/24"]


def test_sg_rules_without_acme_never_open_port_80():
    for public in (False, True):
        rules = sg_rules(["198.51.100.7/32"], ["203.0.113.0/24"], 9999, public)
        assert all(r["ports"] != [80] for r in rules)
        assert all("0.0.0.0/0" not in r.get("cidr_ip", []) for r in rules)


@pytest.mark.parametrize(
    ("tags", "bad"),
    [
        ({"Course": "stats", "cost:center": "a/b", "x y_z.+=@-": "1"}, []),
        ({"aws:owner": "x", "AWS:Thing": "y"}, ["aws:owner", "AWS:Thing"]),
        ({"bad#key": "x", "": "y", "k" * 129: "z"}, ["bad#key", "", "k" * 129]),
        ({"long": "v" * 257, "list": ["a"]}, ["long", "list"]),
        (["not", "a", "dict"], [["not", "a", "dict"]]),
    ],
)
def test_invalid_tag_keys(tags, bad):
    assert invalid_tag_keys(tags) == bad


def test_instance_summary_joins_volume_and_eip_by_tags():
    instances = [
        {
            "instance_id": "i-2",
            "tags": {"Name": "bob"},
            "state": {"name": "stopped"},
            "instance_type": "t3.small",
            "placement": {"availability_zone": "eu-west-1a"},
            "private_ip_address": "10.0.0.2",
            "root_device_name": "/dev/xvda",
            "block_device_mappings": [
                {"device_name": "/dev/xvda", "ebs": {"volume_id": "vol-root2"}},
                {"device_name": "/dev/sdf", "ebs": {"volume_id": "vol-data2"}},
            ],
        },
        {
            "instance_id": "i-1",
            "tags": {"Name": "ann"},
            "state": {"name": "running"},
            "instance_type": "t3.large",
            "placement": {"availability_zone": "eu-west-1b"},
            "public_ip_address": "54.214.1.1",
            "private_ip_address": "10.0.0.1",
            "public_dns_name": "ec2-54-214-1-1",
            "root_device_name": "/dev/sda1",
            "block_device_mappings": [{"device_name": "/dev/sda1", "ebs": {"volume_id": "vol-root1"}}],
        },
    ]
    volumes = [
        {"id": "vol-data1", "tags": {"jupyterops:role": "data", "jupyterops:host": "ann"}},
        {"id": "vol-data2", "tags": {"jupyterops:role": "data", "jupyterops:host": "bob"}},
        {"id": "vol-other", "tags": {"jupyterops:role": "root", "jupyterops:host": "bob"}},
    ]
    addresses = [{"instance_id": "i-1", "public_ip": "54.214.1.1"}, {"public_ip": "54.214.9.9"}]
    ann, bob = instance_summary(instances, volumes, addresses)
    assert ann == {
        "name": "ann",
        "instance_id": "i-1",
        "state": "running",
        "instance_type": "t3.large",
        "availability_zone": "eu-west-1b",
        "public_ip": "54.214.1.1",
        "private_ip": "10.0.0.1",
        "public_dns": "ec2-54-214-1-1",
        "address": "54.214.1.1",
        "eip": "54.214.1.1",
        "root_volume_id": "vol-root1",
        "data_volume_id": "vol-data1",
    }
    assert (bob["address"], bob["eip"], bob["root_volume_id"], bob["data_volume_id"]) == (
        "10.0.0.2",
        "",
        "vol-root2",
        "vol-data2",
    )
    assert instance_summary([], None, None) == []


def test_filter_names():
    assert set(FilterModule().filters()) == {
        "invalid_cidrs",
        "wide_cidrs",
        "sg_rules",
        "invalid_tag_keys",
        "instance_summary",
        "region_known",
        "ec2_regions",
    }


def test_region_known_uses_botocore_regions():
    """Regions come from botocore's bundled endpoint data (offline); misspelt ones are unknown."""
    regions = ec2_regions()
    assert {"us-east-1", "eu-west-1"} <= set(regions) and regions == sorted(regions)
    assert region_known("eu-west-1") and not region_known("eu-westt-1") and not region_known(None)
    assert region_known("xx-test-1", ["xx-test-1"]) and not region_known("eu-west-1", ["xx-test-1"])
