"""Unit tests for the ec2_volume_kms_info module's pure part and its DescribeVolumes paging."""

from __future__ import annotations

from pathlib import Path

import boto3
from ansible.plugins.loader import init_plugin_loader
from botocore.stub import Stubber

# The module imports amazon.aws through ansible_collections: load it the way Ansible does (the collection
# loader over this checkout's collections/ and the installed ones), or a plain import of ansible_collections
# hides jupyterops.cloud from every later test in the session.
init_plugin_loader([str(Path(__file__).resolve().parents[3] / "collections")])

from ansible_collections.jupyterops.cloud.plugins.modules.ec2_volume_kms_info import describe, encryption  # noqa: E402

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_encryption_keeps_the_order_asked_and_an_empty_key_when_none() -> None:
    described = [{"VolumeId": "vol-b", "Encrypted": False},
                 {"VolumeId": "vol-a", "Encrypted": True, "KmsKeyId": KEY}]
    assert encryption(described, ["vol-a", "vol-b", "vol-missing"]) == [
        {"volume_id": "vol-a", "encrypted": True, "kms_key_id": KEY},
        {"volume_id": "vol-b", "encrypted": False, "kms_key_id": ""},
    ]


def test_describe_follows_next_token() -> None:
    client = boto3.client("ec2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("describe_volumes", {"Volumes": [{"VolumeId": "vol-a", "Encrypted": True,
                                                            "KmsKeyId": KEY}], "NextToken": "p2"},
                          {"VolumeIds": ["vol-a", "vol-b"]})
        stub.add_response("describe_volumes", {"Volumes": [{"VolumeId": "vol-b", "Encrypted": False}]},
                          {"VolumeIds": ["vol-a", "vol-b"], "NextToken": "p2"})
        found = describe(client, ["vol-a", "vol-b"])
        stub.assert_no_pending_responses()
    assert [v["kms_key_id"] for v in encryption(found, ["vol-a", "vol-b"])] == [KEY, ""]
