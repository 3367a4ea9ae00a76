"""The local EC2 emulator answers boto3 and amazon.aws modules, with the moto gaps patched."""

from __future__ import annotations

import json

import boto3


def _client(emu):
    return boto3.client("ec2", endpoint_url=emu.url, region_name=emu.region,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_describe_regions_through_boto3(ec2_emulator):
    regions = {r["RegionName"] for r in _client(ec2_emulator).describe_regions()["Regions"]}
    assert ec2_emulator.region in regions
    assert "us-east-1" in regions


def test_describe_regions_through_amazon_aws_module(aws_env, ansible_runner, ec2_emulator):
    proc = ansible_runner(["ansible", "localhost", "-m", "amazon.aws.aws_region_info",
                           "-a", f"endpoint_url={ec2_emulator.url}", "-o"], env=aws_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    payload = json.loads(proc.stdout.split("=>", 1)[1])
    names = {r["region_name"] for r in payload["regions"]}
    assert ec2_emulator.region in names


def test_volume_reports_multi_attach_so_ec2_vol_is_rerunnable(ec2_emulator):
    client = _client(ec2_emulator)
    client.create_volume(Size=1, AvailabilityZone=f"{ec2_emulator.region}a")
    volume = client.describe_volumes()["Volumes"][0]
    assert volume["MultiAttachEnabled"] is False
    assert volume["SnapshotId"] == ""


def test_create_image_tags_its_snapshot(ec2_emulator):
    client = _client(ec2_emulator)
    instance = client.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    image_id = client.create_image(
        InstanceId=instance["InstanceId"], Name="jupyterops-test",
        TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "Project", "Value": "t"}]},
                           {"ResourceType": "snapshot", "Tags": [{"Key": "Project", "Value": "t"}]}],
    )["ImageId"]
    image = client.describe_images(ImageIds=[image_id])["Images"][0]
    snapshot_id = image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    snapshot = client.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]
    assert {"Key": "Project", "Value": "t"} in image["Tags"]
    assert {"Key": "Project", "Value": "t"} in snapshot["Tags"]


def test_seed_makes_ids_deterministic(ec2_emulator):
    first = _client(ec2_emulator).run_instances(ImageId="ami-12c6146b", MinCount=1,
                                                MaxCount=1)["Instances"][0]["InstanceId"]
    ec2_emulator.reset()
    again = _client(ec2_emulator).run_instances(ImageId="ami-12c6146b", MinCount=1,
                                                MaxCount=1)["Instances"][0]["InstanceId"]
    assert first == again
