"""A fleet in one run, retries through injected throttling/503, and a killed provision that converges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.ec2.conftest import PROJECT, Lab
from tests.integration.ec2.fault_proxy import FaultProxy

FLEET = ["ann", "bob", "cat"]


def _spot_requests(lab: Lab) -> list[dict]:
    return lab.client().describe_spot_instance_requests(
        Filters=[
            {"Name": "tag:Project", "Values": [PROJECT]},
            {"Name": "state", "Values": ["open", "active"]},
        ]
    )["SpotInstanceRequests"]


def test_fleet_of_three_provisioned_and_torn_down_in_one_run_each(lab: Lab) -> None:
    lab.ok("provision", ec2_host_names=FLEET, ec2_host_spot=True)
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

    lab.ok("teardown", ec2_host_names=FLEET, teardown_delete_data=True, teardown_confirm=PROJECT)
    assert lab.tagged() == {k: [] for k in tagged}
    assert _spot_requests(lab) == []


def test_provision_succeeds_through_throttling_and_503(lab: Lab) -> None:
    with FaultProxy(lab.endpoint, every=4) as proxy:
        env = {**lab.env, "AWS_URL": proxy.url, "AWS_ENDPOINT_URL": proxy.url}
        assert lab.ok("provision", env=env, ec2_host_eip=True) > 0
        assert lab.ok("provision", env=env, ec2_host_eip=True) == 0
    assert proxy.faults["throttle"] > 5 and proxy.faults["unavailable"] > 5
    tagged = lab.tagged()
    assert (len(tagged["instances"]), len(tagged["eips"]), len(tagged["security_groups"])) == (1, 1, 1)
    assert len(tagged["volumes"]) == 2  # root + data


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
