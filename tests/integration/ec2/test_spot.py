"""Spot instances: launched by RunInstances through a launch template, IMDSv2 and an encrypted root from the
first boot, asserted on the requests AWS would receive; stop/start converge; teardown cancels the request."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.ec2.conftest import PROJECT, Lab
from tests.integration.ec2.spot_model import spot_requests_from_run_instances  # noqa: F401 - fixture

TEMPLATE = f"{PROJECT}-alice-spot"


def _indexed(params: dict[str, str], prefix: str) -> dict[str, dict[str, str]]:
    """A recorded request's indexed parameters (PREFIX.N.rest) per index N."""
    found: dict[str, dict[str, str]] = {}
    for key, value in params.items():
        if key.startswith(prefix + "."):
            index, rest = key[len(prefix) + 1:].split(".", 1)
            found.setdefault(index, {})[rest] = value
    return found


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def _open_requests(lab: Lab) -> list[dict[str, Any]]:
    return lab.client().describe_spot_instance_requests(
        Filters=[{"Name": "state", "Values": ["open", "active", "disabled"]}]
    )["SpotInstanceRequests"]


@pytest.mark.usefixtures("spot_requests_from_run_instances")
def test_spot_boots_with_imdsv2_and_encrypted_root_then_teardown_cancels_its_request(lab: Lab) -> None:
    key = lab.client("kms").create_key(Description="jupyterops spot test")["KeyMetadata"]["Arn"]
    spot = {"ec2_host_spot": True, "ec2_host_kms_key_id": key}
    assert lab.ok("provision", **spot) > 0
    assert lab.ok("provision", **spot) == 0
    assert lab.ok("provision", check=True, **spot) == 0

    # RequestSpotInstances' legacy LaunchSpecification has no MetadataOptions: its instance boots with IMDSv1
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RequestSpotLaunchSpecification.html).
    assert lab.emulator.requests("RequestSpotInstances") == []

    (template,) = lab.emulator.requests("CreateLaunchTemplate")
    data = {k.removeprefix("LaunchTemplateData."): v for k, v in template["params"].items()
            if k.startswith("LaunchTemplateData.")}
    assert template["params"]["LaunchTemplateName"] == TEMPLATE
    # Market options: MarketType spot, SpotInstanceType persistent, InstanceInterruptionBehavior stop
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplateInstanceMarketOptionsRequest.html,
    # .../API_LaunchTemplateSpotMarketOptionsRequest.html); for RunInstances a persistent request is only
    # supported with interruption behaviour stop or hibernate
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_SpotMarketOptions.html, SpotInstanceType).
    assert data["InstanceMarketOptions.MarketType"] == "spot", data
    assert data["InstanceMarketOptions.SpotOptions.SpotInstanceType"] == "persistent", data
    assert data["InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior"] == "stop", data
    # IMDSv2 required, one hop: HttpTokens optional | required (default optional), hop limit 1-64
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplateInstanceMetadataOptionsRequest.html).
    assert data["MetadataOptions.HttpTokens"] == "required", data
    assert data["MetadataOptions.HttpPutResponseHopLimit"] == "1", data
    # Encrypted root with the customer managed key: Encrypted, KmsKeyId
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplateEbsBlockDeviceRequest.html).
    (root,) = _indexed(data, "BlockDeviceMapping").values()
    assert root["Ebs.Encrypted"] == "true" and root["Ebs.KmsKeyId"] == key, data
    # The request it opens carries the name, for teardown to find it (tags of spot-instances-request,
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplateTagSpecificationRequest.html).
    (request_tags,) = _indexed(data, "TagSpecification").values()
    assert request_tags["ResourceType"] == "spot-instances-request", data

    (launch,) = lab.emulator.requests("RunInstances")
    params = launch["params"]
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html: LaunchTemplate
    # (LaunchTemplateName, Version) supplies the market options; parameters given in RunInstances itself
    # override the template's, so it repeats IMDSv2 and the encrypted root (MetadataOptions:
    # .../API_InstanceMetadataOptionsRequest.html; BlockDeviceMapping.N.Ebs: .../API_EbsBlockDevice.html), and
    # names the subnet and security group through NetworkInterface.1 (the template has none).
    assert params["LaunchTemplate.LaunchTemplateName"] == TEMPLATE and params["LaunchTemplate.Version"] == "1"
    assert params["MetadataOptions.HttpTokens"] == "required", params
    assert params["MetadataOptions.HttpPutResponseHopLimit"] == "1", params
    (run_root,) = _indexed(params, "BlockDeviceMapping").values()
    assert run_root["Ebs.Encrypted"] == "true" and run_root["Ebs.KmsKeyId"] == key, params
    # No market options of its own: the template's apply
    # (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceMarketOptionsRequest.html).
    assert not any(k.startswith("InstanceMarketOptions") for k in params), params
    (nic,) = _indexed(params, "NetworkInterface").values()
    group = lab.client().describe_security_groups(
        Filters=[{"Name": "tag:Project", "Values": [PROJECT]}]
    )["SecurityGroups"][0]
    assert nic["DeviceIndex"] == "0" and nic["SecurityGroupId.1"] == group["GroupId"], params
    subnet = lab.client().describe_subnets(SubnetIds=[nic["SubnetId"]])["Subnets"][0]
    assert subnet["AvailabilityZone"] == f"{lab.region}a"

    # What the instance got (moto reflects these from RunInstances).
    ec2 = lab.client()
    (inst,) = [i for r in ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["alice"]}])[
        "Reservations"] for i in r["Instances"] if i["State"]["Name"] != "terminated"]
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    assert inst["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert [g["GroupId"] for g in inst["SecurityGroups"]] == [group["GroupId"]]
    root_volume = next(b["Ebs"]["VolumeId"] for b in inst["BlockDeviceMappings"]
                       if b["DeviceName"] == inst["RootDeviceName"])
    volume = ec2.describe_volumes(VolumeIds=[root_volume])["Volumes"][0]
    assert volume["Encrypted"] and volume["KmsKeyId"] == key
    # The spot request (spot_model's stand-in for AWS) is linked to the instance and carries the name.
    (request,) = _open_requests(lab)
    assert inst["SpotInstanceRequestId"] == request["SpotInstanceRequestId"]
    assert (request["Type"], request["InstanceInterruptionBehavior"]) == ("persistent", "stop")
    assert _tags(request).items() >= {"Project": PROJECT, "Name": "alice"}.items()

    lab.ok("stop", ec2_host_spot=True)
    lab.ok("start", ec2_host_spot=True)
    assert lab.tagged()["instances"] == [inst["InstanceId"]]
    assert len(lab.emulator.requests("RunInstances")) == 1

    data_volume = lab.inventory()["alice"]["ec2_data_volume_id"]
    lab.ok("teardown", ec2_host_spot=True)
    cancels = lab.emulator.requests("CancelSpotInstanceRequests")
    assert [c["params"]["SpotInstanceRequestId.1"] for c in cancels] == [request["SpotInstanceRequestId"]]
    assert _open_requests(lab) == []
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []
    assert lab.tagged()["instances"] == [] and lab.tagged()["volumes"] == [data_volume]
    assert lab.ok("teardown", ec2_host_spot=True) == 0
    assert len(lab.emulator.requests("CancelSpotInstanceRequests")) == 1
