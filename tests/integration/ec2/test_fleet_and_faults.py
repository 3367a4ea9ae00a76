"""A fleet in one run, unlisted instances, retries through injected throttling/503, and a killed provision
that converges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.ec2.conftest import PROJECT, Lab
from tests.integration.ec2.fault_proxy import STATUS, FaultProxy
from tests.integration.ec2.spot_model import spot_requests_from_run_instances  # noqa: F401 - fixture

FLEET = ["ann", "bob", "cat"]


def _spot_requests(lab: Lab) -> list[dict]:
    return lab.client().describe_spot_instance_requests(
        Filters=[
            {"Name": "tag:Project", "Values": [PROJECT]},
            {"Name": "state", "Values": ["open", "active", "disabled"]},
        ]
    )["SpotInstanceRequests"]


@pytest.mark.usefixtures("spot_requests_from_run_instances")
def test_fleet_of_three_provisioned_and_torn_down_in_one_run_each(lab: Lab) -> None:
    lab.ok("provision", ec2_host_names=FLEET, ec2_host_spot=True)
    # Spot goes through RunInstances with a launch template per name holding the market options (persistent,
    # stop on interruption: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_SpotMarketOptions.html),
    # never through RequestSpotInstances (whose launch specification cannot carry IMDSv2); test_spot.py
    # asserts the parameters in full.
    assert lab.emulator.requests("RequestSpotInstances") == []
    templates = lab.emulator.requests("CreateLaunchTemplate")
    names = [f"{PROJECT}-{n}-spot" for n in FLEET]
    assert sorted(t["params"]["LaunchTemplateName"] for t in templates) == names
    assert {(t["params"]["LaunchTemplateData.InstanceMarketOptions.SpotOptions.SpotInstanceType"],
             t["params"]["LaunchTemplateData.InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior"])
            for t in templates} == {("persistent", "stop")}
    launches = lab.emulator.requests("RunInstances")
    assert sorted(r["params"]["LaunchTemplate.LaunchTemplateName"] for r in launches) == names
    requests = _spot_requests(lab)
    assert {(r["Type"], r["InstanceInterruptionBehavior"]) for r in requests} == {("persistent", "stop")}
    assert len(requests) == 3
    hosts = lab.inventory()
    assert sorted(hosts) == FLEET
    assert len({h["ec2_instance_id"] for h in hosts.values()}) == 3
    assert len({h["ec2_data_volume_id"] for h in hosts.values()}) == 3
    tagged = lab.tagged()
    assert (len(tagged["instances"]), len(tagged["security_groups"]), len(tagged["key_pairs"])) == (3, 1, 1)

    # Tearing down part of the class keeps the shared security group and key pair.
    lab.ok("teardown", ec2_host_names=["cat"], teardown_delete_data=True, teardown_confirm=PROJECT)
    tagged = lab.tagged()
    assert (len(tagged["instances"]), len(tagged["security_groups"]), len(tagged["key_pairs"])) == (2, 1, 1)

    assert len(_spot_requests(lab)) == 2

    lab.ok("teardown", ec2_host_names=FLEET, teardown_delete_data=True, teardown_confirm=PROJECT)
    assert lab.tagged() == {k: [] for k in tagged}
    assert _spot_requests(lab) == []
    assert lab.client().describe_launch_templates()["LaunchTemplates"] == []


def _by_name(lab: Lab) -> dict[str, dict[str, Any]]:
    reservations = lab.client().describe_instances(
        Filters=[{"Name": "tag:Project", "Values": [PROJECT]},
                 {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    )["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    return {next(t["Value"] for t in i["Tags"] if t["Key"] == "Name"): i for i in instances}


def test_unlisted_instances_are_listed_and_left_alone_then_pruned_keeping_their_data(lab: Lab) -> None:
    lab.ok("provision", ec2_host_names=["ann"], ec2_host_eip=True)
    lab.ok("provision", ec2_host_names=["bob"], ec2_host_eip=True, ec2_host_instance_type="z1d.large")
    ann = _by_name(lab)["ann"]

    # ann is no longer listed: reported with its id, type, state and hourly cost hint, and left running.
    proc = lab.run("provision", ec2_host_names=["bob"], ec2_host_eip=True)
    assert proc.returncode == 0, proc.stdout[-6000:]
    out = " ".join(proc.stdout.split())
    assert f"ann {ann['InstanceId']} t3.medium running ~0.0416 USD/h" in out, out[-4000:]
    assert "ec2_host_prune_unlisted" in out and "hint" in out
    # Only bob is in the inventory; both instances, both data volumes and both addresses stay.
    assert list(lab.inventory()) == ["bob"]
    before = lab.tagged()
    assert (len(before["instances"]), len(before["volumes"]), len(before["eips"])) == (2, 4, 2)
    assert lab.emulator.requests("TerminateInstances") == [] and lab.emulator.requests("CreateSnapshot") == []

    # A type the table does not know: "unknown".
    proc = lab.run("provision", ec2_host_names=["ann"], ec2_host_eip=True)
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 0 and "bob " in out and "z1d.large running cost unknown" in out, out[-4000:]
    assert lab.tagged() == before

    # Pruned: bob goes through teardown's keep-data path (final snapshot, data volume kept, address released).
    bob = _by_name(lab)["bob"]
    bob_data = next(b["Ebs"]["VolumeId"] for b in bob["BlockDeviceMappings"]
                    if b["DeviceName"] != bob["RootDeviceName"])
    lab.ok("provision", ec2_host_names=["ann"], ec2_host_eip=True, ec2_host_prune_unlisted=True)
    assert set(_by_name(lab)) == {"ann"} and _by_name(lab)["ann"]["InstanceId"] == ann["InstanceId"]
    after = lab.tagged()
    assert bob_data in after["volumes"] and len(after["volumes"]) == 3  # ann's root and data, bob's data
    assert len(after["eips"]) == 1
    finals = lab.client().describe_snapshots(
        Filters=[{"Name": "tag:jupyterops:role", "Values": ["data-final-snapshot"]}], OwnerIds=["self"]
    )["Snapshots"]
    assert [s["VolumeId"] for s in finals] == [bob_data]
    # Nothing unlisted is left: a second run changes nothing.
    assert lab.ok("provision", ec2_host_names=["ann"], ec2_host_eip=True, ec2_host_prune_unlisted=True) == 0


def test_fault_proxy_answers_request_limit_exceeded_400_and_503() -> None:
    """What the proxy injects, seen by a client that does not retry (every request of every=1 is a fault)."""
    with FaultProxy("http://127.0.0.1:9", every=1) as proxy:
        answers = []
        for _ in range(2):
            request = urllib.request.Request(proxy.url, data=b"Action=DescribeInstances", method="POST")
            with pytest.raises(urllib.error.HTTPError) as failure:
                urllib.request.urlopen(request, timeout=10)
            answers.append((failure.value.code, failure.value.read()))
    # RequestLimitExceeded is an EC2 client error (HTTP 400) that SDKs retry as throttling:
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html,
    # https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html; 503: a transient server error.
    assert answers[0][0] == STATUS["throttle"] == 400
    assert b"<Code>RequestLimitExceeded</Code>" in answers[0][1]
    assert answers[1][0] == STATUS["unavailable"] == 503 and answers[1][1] == b""
    assert proxy.faults == {"throttle": 1, "unavailable": 1}


def _counts(lab: Lab) -> tuple[int, int]:
    tagged = lab.tagged()
    return len(tagged["instances"]), len(tagged["volumes"])


def _state(lab: Lab) -> str:
    (reservation,) = lab.client().describe_instances(
        Filters=[{"Name": "tag:Project", "Values": [PROJECT]},
                 {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    )["Reservations"]
    return reservation["Instances"][0]["State"]["Name"]


def test_lifecycle_converges_through_throttling_and_503(lab: Lab) -> None:
    with FaultProxy(lab.endpoint, every=4) as proxy:
        env = {**lab.env, "AWS_URL": proxy.url, "AWS_ENDPOINT_URL": proxy.url}
        injected: dict[str, dict[str, int]] = {}

        def phase(name: str, playbook: str, **extra: Any) -> int:
            before = dict(proxy.faults)
            changed = lab.ok(playbook, env=env, ec2_host_eip=True, **extra)
            injected[name] = {kind: proxy.faults[kind] - before[kind] for kind in before}
            return changed

        assert phase("provision", "provision") > 0
        assert phase("provision again", "provision") == 0
        tagged = lab.tagged()
        assert (len(tagged["instances"]), len(tagged["eips"]), len(tagged["security_groups"])) == (1, 1, 1)
        assert len(tagged["volumes"]) == 2  # root + data
        instance = tagged["instances"]

        phase("stop", "stop")
        assert _state(lab) == "stopped" and _counts(lab) == (1, 2)
        phase("start", "start")
        assert _state(lab) == "running" and _counts(lab) == (1, 2)
        assert lab.tagged()["instances"] == instance  # the same instance: never a second one
        phase("teardown", "teardown")
        assert _counts(lab) == (0, 1)  # the data volume is kept
        assert phase("teardown again", "teardown") == 0
    # Every phase went through both kinds of fault and still converged.
    assert all(kinds["throttle"] > 0 and kinds["unavailable"] > 0 for kinds in injected.values()), injected
    assert len(lab.emulator.requests("RunInstances")) == 1 and len(lab.emulator.requests("CreateVolume")) == 1
    finals = lab.client().describe_snapshots(
        Filters=[{"Name": "tag:jupyterops:role", "Values": ["data-final-snapshot"]}], OwnerIds=["self"]
    )["Snapshots"]
    assert len(finals) == 1


def _live_instances(lab: Lab) -> list[str]:
    return lab.tagged()["instances"]


def test_killed_provision_rerun_converges_without_duplicates(lab: Lab) -> None:
    argv = lab.command("provision", ec2_host_eip=True)
    cmd = [str(Path(sys.executable).parent / argv[0]), *argv[1:]]
    proc = subprocess.Popen(
        cmd,
        cwd=lab.root,
        env=lab.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not _live_instances(lab) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "provision finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    partial = lab.tagged()
    assert len(partial["instances"]) == 1
    assert proc.returncode == -signal.SIGKILL  # killed mid-run, not finished

    lab.ok("provision", ec2_host_eip=True)
    tagged = lab.tagged()
    assert (
        len(tagged["instances"]),
        len(tagged["eips"]),
        len(tagged["security_groups"]),
        len(tagged["key_pairs"]),
    ) == (1, 1, 1, 1)
    assert tagged["instances"] == partial["instances"]
    assert len(tagged["volumes"]) == 2
    assert lab.ok("provision", ec2_host_eip=True) == 0
