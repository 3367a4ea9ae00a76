"""EC2 lifecycle playbooks against the emulator: provision, stop/start/resize, snapshot, image, teardown."""

from __future__ import annotations

from typing import Any

from tests.integration.ec2.conftest import PROJECT, Lab

BASE_TAGS = {
    "Project": PROJECT,
    "Owner": "teacher",
    "ManagedBy": "jupyterops",
    "Course": "stats101",
    "cost:center": "edu",
}


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def _live(lab: Lab, name: str) -> dict[str, Any]:
    reservations = lab.client().describe_instances(
        Filters=[
            {"Name": "tag:Project", "Values": [PROJECT]},
            {"Name": "tag:Name", "Values": [name]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ]
    )["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert len(instances) == 1, instances
    return instances[0]


def _sg_rules(group: dict[str, Any]) -> set[tuple[int, str]]:
    rules = set()
    for perm in group["IpPermissions"]:
        assert perm["IpProtocol"] == "tcp" and perm["FromPort"] == perm["ToPort"], perm
        rules |= {(perm["FromPort"], r["CidrIp"]) for r in perm.get("IpRanges", [])}
        rules |= {(perm["FromPort"], r["CidrIpv6"]) for r in perm.get("Ipv6Ranges", [])}
    return rules


def test_provision_idempotent_tagged_encrypted_locked_down_then_stop_start_resize(lab: Lab) -> None:
    public = {
        "jupyterops_access": "public",
        "ec2_host_jupyter_cidrs": ["203.0.113.0/24"],
        "ec2_host_idle_alarm": True,
        "ec2_host_data_volume_iops": 4000,
        "ec2_host_data_volume_throughput": 250,
    }
    assert lab.ok("provision", **public) > 0
    assert lab.ok("provision", **public) == 0
    assert lab.ok("provision", check=True, **public) == 0

    ec2 = lab.client()
    inst = _live(lab, "alice")
    assert _tags(inst).items() >= {**BASE_TAGS, "Name": "alice"}.items()
    # The access setting is tagged on the instance: the inventory plugin and connect.yml follow it.
    assert _tags(inst)["jupyterops:access"] == "public" and _tags(inst)["jupyterops:port"] == "9999"
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    assert inst["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert "IamInstanceProfile" not in inst
    assert inst["KeyName"] == PROJECT
    shutdown = ec2.describe_instance_attribute(
        InstanceId=inst["InstanceId"], Attribute="instanceInitiatedShutdownBehavior"
    )
    assert shutdown["InstanceInitiatedShutdownBehavior"]["Value"] == "stop"

    volumes = ec2.describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [inst["InstanceId"]]}]
    )
    by_device = {v["Attachments"][0]["Device"]: v for v in volumes["Volumes"]}
    root, data = by_device[inst["RootDeviceName"]], by_device["/dev/sdf"]
    for volume in (root, data):
        assert volume["Encrypted"] is True
        assert volume["VolumeType"] == "gp3"
        assert _tags(volume).items() >= BASE_TAGS.items()
    on_termination = {m["DeviceName"]: m["Ebs"]["DeleteOnTermination"] for m in inst["BlockDeviceMappings"]}
    assert on_termination == {inst["RootDeviceName"]: True, "/dev/sdf": False}
    assert (data["Size"], data["Iops"], data["Throughput"]) == (10, 4000, 250)
    assert _tags(data)["jupyterops:role"] == "data"

    groups = ec2.describe_security_groups(GroupIds=[g["GroupId"] for g in inst["SecurityGroups"]])[
        "SecurityGroups"
    ]
    assert len(groups) == 1
    assert _tags(groups[0]).items() >= BASE_TAGS.items()
    assert _sg_rules(groups[0]) == {(22, "198.51.100.0/24"), (22, "2001:db8::/32"), (9999, "203.0.113.0/24")}

    alarms = lab.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{PROJECT}-alice")["MetricAlarms"]
    assert [(a["AlarmActions"], a["Dimensions"], a["ComparisonOperator"]) for a in alarms] == [
        (
            [f"arn:aws:automate:{lab.region}:ec2:stop"],
            [{"Name": "InstanceId", "Value": inst["InstanceId"]}],
            "LessThanThreshold",
        )
    ]
    keys = ec2.describe_key_pairs(KeyNames=[PROJECT])["KeyPairs"]
    assert _tags(keys[0]).items() >= BASE_TAGS.items()

    inventory = lab.inventory()["alice"]
    assert inventory["ansible_host"] == inst["PublicIpAddress"]
    assert inventory["ec2_data_volume_id"] == data["VolumeId"]

    # Private mode: the Jupyter rule goes away, SSH stays exactly as asked.
    assert lab.ok("provision") > 0
    group = ec2.describe_security_groups(GroupIds=[groups[0]["GroupId"]])["SecurityGroups"][0]
    assert _sg_rules(group) == {(22, "198.51.100.0/24"), (22, "2001:db8::/32")}
    assert lab.client("cloudwatch").describe_alarms(AlarmNamePrefix=PROJECT)["MetricAlarms"] == []

    # ACME mode (tls_mode acme): TCP port 80 from the whole internet, the one world-open rule. Let's Encrypt
    # validates HTTP-01 on port 80 only, from addresses it does not publish
    # (https://letsencrypt.org/docs/challenge-types/); a security group rule names protocol, port range and
    # source CIDR (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).
    # ec2_host_allow_world is not needed for it. Outside acme mode no request ever opened port 80.
    assert [p for r in lab.emulator.requests("AuthorizeSecurityGroupIngress")
            for p in _params(r, "IpPermissions").values() if p.get("FromPort") == "80"] == []
    before = len(lab.emulator.requests("AuthorizeSecurityGroupIngress"))
    acme = {"tls_mode": "acme", "tls_acme_email": "ops@example.org", "tls_dns_names": ["lab.example.org"]}
    assert lab.ok("provision", **acme) > 0
    assert lab.ok("provision", **acme) == 0
    opened = [p for r in lab.emulator.requests("AuthorizeSecurityGroupIngress")[before:]
              for p in _params(r, "IpPermissions").values()]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], p.get("IpRanges.1.CidrIp"),
             p.get("Ipv6Ranges.1.CidrIpv6")) for p in opened if p.get("FromPort") == "80"] in (
        [("tcp", "80", "80", "0.0.0.0/0", None), ("tcp", "80", "80", None, "::/0")],
        [("tcp", "80", "80", None, "::/0"), ("tcp", "80", "80", "0.0.0.0/0", None)],
        [("tcp", "80", "80", "0.0.0.0/0", "::/0")],
    ), opened
    assert [p for p in opened if p.get("FromPort") != "80"] == [], "only the port 80 rule is added"
    group = ec2.describe_security_groups(GroupIds=[groups[0]["GroupId"]])["SecurityGroups"][0]
    assert _sg_rules(group) == {(22, "198.51.100.0/24"), (22, "2001:db8::/32"),
                                (80, "0.0.0.0/0"), (80, "::/0")}
    # Back to the default tls_mode: the rule goes.
    assert lab.ok("provision") > 0
    group = ec2.describe_security_groups(GroupIds=[groups[0]["GroupId"]])["SecurityGroups"][0]
    assert _sg_rules(group) == {(22, "198.51.100.0/24"), (22, "2001:db8::/32")}

    # Stop/start: the public IP changes and facts/inventory follow; resize restores the prior state.
    first = _live(lab, "alice")
    lab.ok("stop")
    assert _live(lab, "alice")["State"]["Name"] == "stopped"
    assert lab.inventory()["alice"]["ec2_state"] == "stopped"

    lab.ok("start")
    started = _live(lab, "alice")
    assert started["State"]["Name"] == "running"
    assert started["PublicIpAddress"] != first["PublicIpAddress"]
    assert lab.inventory()["alice"]["ansible_host"] == started["PublicIpAddress"]

    # A type of another architecture is refused before the instance is stopped: the instance keeps its
    # x86_64 image, which an arm64 type (t4g) cannot boot
    # (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resize-limitations.html).
    stops_before = len(lab.emulator.requests("StopInstances"))
    refused = lab.run("resize", ec2_host_resize_type="t4g.large")
    assert refused.returncode != 0
    assert "ec2_host_resize_type 't4g.large' supports arm64" in refused.stdout
    assert "alice run an image of another architecture (x86_64)" in " ".join(refused.stdout.split())
    assert (_live(lab, "alice")["InstanceType"], _live(lab, "alice")["State"]["Name"]) == (
        started["InstanceType"], "running")
    assert len(lab.emulator.requests("StopInstances")) == stops_before

    assert lab.ok("resize", ec2_host_resize_type="t3.large") > 0
    resized = _live(lab, "alice")
    assert (resized["InstanceType"], resized["State"]["Name"]) == ("t3.large", "running")
    assert lab.inventory()["alice"]["ansible_host"] == resized["PublicIpAddress"]
    assert lab.inventory()["alice"]["ec2_instance_type"] == "t3.large"

    # A stopped instance is resized and stays stopped.
    lab.ok("stop")
    lab.ok("resize", ec2_host_resize_type="t3.xlarge")
    assert (_live(lab, "alice")["InstanceType"], _live(lab, "alice")["State"]["Name"]) == (
        "t3.xlarge",
        "stopped",
    )
    assert lab.ok("resize", ec2_host_resize_type="t3.xlarge") == 0
    # Provision afterwards keeps the resized type (ec2_host_instance_type applies at launch).
    assert lab.ok("provision", ec2_host_instance_state="stopped") == 0
    assert _live(lab, "alice")["InstanceType"] == "t3.xlarge"


def _params(request: dict[str, Any], prefix: str) -> dict[str, dict[str, str]]:
    """A recorded request's indexed parameters (e.g. BlockDeviceMapping.1.Ebs.KmsKeyId) per index."""
    found: dict[str, dict[str, str]] = {}
    for key, value in request["params"].items():
        if key.startswith(prefix + "."):
            index, rest = key[len(prefix) + 1:].split(".", 1)
            found.setdefault(index, {})[rest] = value
    return found


def test_snapshots_images_teardown_keep_then_delete(lab: Lab) -> None:
    ec2 = lab.client()
    # A customer managed key: AWS shares no snapshot encrypted with the default aws/ebs key
    # (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html).
    key = lab.client("kms").create_key(Description="jupyterops test")["KeyMetadata"]["Arn"]
    lab.base["ec2_host_kms_key_id"] = key
    lab.ok("provision", ec2_host_eip=True)
    # Both volumes are created with that key: the requests carry it (moto does not model KMS on EBS).
    (launch,) = lab.emulator.requests("RunInstances")
    assert [m.get("Ebs.KmsKeyId") for m in _params(launch, "BlockDeviceMapping").values()] == [key], launch
    assert all(m.get("Ebs.Encrypted") == "true" for m in _params(launch, "BlockDeviceMapping").values())
    (create_volume,) = lab.emulator.requests("CreateVolume")
    assert create_volume["params"].get("KmsKeyId") == key and create_volume["params"]["Encrypted"] == "true"
    data_volume = lab.inventory()["alice"]["ec2_data_volume_id"]
    inst = _live(lab, "alice")
    addresses = ec2.describe_addresses(Filters=[{"Name": "tag:Project", "Values": [PROJECT]}])["Addresses"]
    assert [a["InstanceId"] for a in addresses] == [inst["InstanceId"]]
    assert _tags(addresses[0]).items() >= BASE_TAGS.items()
    assert lab.inventory()["alice"]["ansible_host"] == addresses[0]["PublicIp"]

    lab.ok("snapshot", ec2_host_snapshot_retention=1)
    first_snapshot = ec2.describe_snapshots(
        Filters=[{"Name": "tag:jupyterops:role", "Values": ["data-snapshot"]}]
    )
    lab.ok("snapshot", ec2_host_snapshot_retention=1)
    snaps = ec2.describe_snapshots(Filters=[{"Name": "tag:jupyterops:role", "Values": ["data-snapshot"]}])
    assert len(snaps["Snapshots"]) == 1  # retention 1: the older one was pruned
    assert snaps["Snapshots"][0]["SnapshotId"] != first_snapshot["Snapshots"][0]["SnapshotId"]
    assert snaps["Snapshots"][0]["VolumeId"] == data_volume
    assert _tags(snaps["Snapshots"][0]).items() >= BASE_TAGS.items()

    shared = {"ec2_host_image_launch_accounts": ["111122223333"], "ec2_host_image_retention": 1}
    proc = lab.run("image", ec2_host_image_name="alice-image-1", **shared)
    assert proc.returncode == 0, proc.stdout[-6000:]
    out = " ".join(proc.stdout.split())
    assert "arn:aws:iam::111122223333:root" in out and "kms:CreateGrant" in out and key in out, out[-3000:]
    first = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": ["alice-image-1"]}])[
        "Images"
    ][0]
    first_snaps = [m["Ebs"]["SnapshotId"] for m in first["BlockDeviceMappings"] if "Ebs" in m]
    # Not scrubbed (image_scrub_before_image is false): the image says so.
    assert _tags(first).items() >= {**BASE_TAGS, "jupyterops:host": "alice",
                                    "jupyterops:scrubbed": "none"}.items()
    assert first["Description"] == "jupyterops jopstest/alice; scrubbed: none"
    perms = ec2.describe_image_attribute(ImageId=first["ImageId"], Attribute="launchPermission")
    assert perms["LaunchPermissions"] == [{"UserId": "111122223333"}]
    # The accounts also get its snapshots (createVolumePermission), and the run prints the key-policy grant.
    shares = [r for r in lab.emulator.requests("ModifySnapshotAttribute")
              if r["params"].get("Attribute") == "createVolumePermission"]
    assert {r["params"]["SnapshotId"] for r in shares} == set(first_snaps) and first_snaps, shares
    # ModifySnapshotAttribute: OperationType add with UserId.N (or CreateVolumePermission.Add.N.UserId)
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySnapshotAttribute.html
    assert all(r["params"].get("OperationType") == "add" and r["params"].get("UserId.1") == "111122223333"
               for r in shares), shares

    # AWS rule the emulator does not model: CreateImage includes every attached EBS volume unless its
    # device is mapped with NoDevice (an empty string) -- https://docs.aws.amazon.com/AWSEC2/latest/
    # APIReference/API_CreateImage.html (BlockDeviceMapping) and .../API_BlockDeviceMapping.html (NoDevice).
    # So the request must exclude the data volume's device and leave the root volume in.
    (request,) = lab.emulator.requests("CreateImage")
    devices = {m["DeviceName"]: m for m in _params(request, "BlockDeviceMapping").values()}
    data_device = next(b["DeviceName"] for b in inst["BlockDeviceMappings"]
                       if b["Ebs"]["VolumeId"] == data_volume)
    assert data_device in devices and devices[data_device].get("NoDevice") == "", request
    assert inst["RootDeviceName"] not in devices, request
    assert all(m.get("NoDevice") == "" and "Ebs.SnapshotId" not in m for m in devices.values()), request

    # Duplicate name refused before anything is created.
    proc = lab.run("image", ec2_host_image_name="alice-image-1", **shared)
    assert proc.returncode != 0 and "already exists" in proc.stdout
    assert len(ec2.describe_images(Owners=["self"])["Images"]) == 1

    lab.ok("image", ec2_host_image_name="alice-image-2", **shared)
    images = ec2.describe_images(Owners=["self"])["Images"]
    assert [i["Name"] for i in images] == ["alice-image-2"]
    remaining = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert not set(first_snaps) & remaining

    # Default teardown: instance, EIP, SG and key pair go; data volume stays with a final snapshot.
    lab.ok("teardown", ec2_host_eip=True)
    left = lab.tagged()
    assert left["instances"] == [] and left["eips"] == [] and left["security_groups"] == []
    assert left["key_pairs"] == []
    assert left["volumes"] == [data_volume]
    finals = ec2.describe_snapshots(
        Filters=[{"Name": "tag:jupyterops:role", "Values": ["data-final-snapshot"]}]
    )
    assert [s["VolumeId"] for s in finals["Snapshots"]] == [data_volume]
    assert lab.inventory() == {}

    # A second teardown finds nothing live: no second final snapshot, nothing changed.
    assert lab.ok("teardown", ec2_host_eip=True) == 0
    finals_again = ec2.describe_snapshots(
        Filters=[{"Name": "tag:jupyterops:role", "Values": ["data-final-snapshot"]}]
    )
    first_finals = [s["SnapshotId"] for s in finals["Snapshots"]]
    assert [s["SnapshotId"] for s in finals_again["Snapshots"]] == first_finals
    assert lab.tagged()["volumes"] == [data_volume]

    # Rebuild reattaches the same data volume, never a second one.
    lab.ok("provision", ec2_host_eip=True)
    assert lab.inventory()["alice"]["ec2_data_volume_id"] == data_volume
    assert lab.tagged()["volumes"].count(data_volume) == 1
    assert len([v for v in lab.tagged()["volumes"] if v != data_volume]) == 1  # the new root volume

    # Delete without the typed confirmation is refused and deletes nothing.
    before = lab.tagged()
    proc = lab.run("teardown", teardown_delete_data=True, teardown_confirm="yes")
    assert proc.returncode != 0 and "ec2_host_teardown_confirm" in proc.stdout
    assert lab.tagged() == before

    lab.ok(
        "teardown",
        ec2_host_eip=True,
        teardown_delete_data=True,
        teardown_confirm=PROJECT,
        ec2_host_teardown_delete_images=True,
    )
    assert lab.tagged() == {k: [] for k in before}
