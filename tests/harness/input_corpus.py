"""Helpers of the input corpus (tests/integration/inputs): read a JSON-callback report, list EC2 resources."""

from __future__ import annotations

import json
import re
from typing import Any

# Tasks that only check input: the playbooks' validate play, the access check and the roles' own checks.
VALIDATION_PREFIXES = ("Validate |", "Access |", "Validating arguments", "Preflight |")


def task_name(raw: str) -> str:
    """A task name without its 'role : ' prefix."""
    return raw.split(" : ", 1)[-1]


def names_variable(name: str, messages: list[str]) -> bool:
    """True if a message names the variable as a word (jupyterlab_port, not jupyterlab_port_x)."""
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
    return any(pattern.search(message) for message in messages)


def parse_report(stdout: str) -> dict[str, Any] | None:
    """The JSON callback's report, or None when the run printed none (a parse error before any play)."""
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        return json.loads(stdout[start:])
    except json.JSONDecodeError:
        return None


def host_results(report: dict[str, Any], host: str) -> dict[str, Any]:
    """For one host: the tasks it ran, the failed tasks and their messages, its recap stats."""
    tasks: list[str] = []
    failed: list[str] = []
    messages: list[str] = []
    for play in report.get("plays", []):
        for task in play.get("tasks", []):
            if host not in task.get("hosts", {}):
                continue
            name = task_name(task["task"]["name"])
            tasks.append(name)
            result = task["hosts"][host]
            for item in [result, *result.get("results", [])]:
                if not isinstance(item, dict) or not (item.get("failed") or item.get("unreachable")):
                    continue
                if name not in failed:
                    failed.append(name)
                messages.append(str(item.get("msg", "")))
                messages.extend(str(err) for err in item.get("argument_errors", []))
    return {"tasks": tasks, "failed": failed, "messages": messages,
            "stats": report.get("stats", {}).get(host, {})}


def ec2_resources(ec2: Any, project: str | None = None) -> dict[str, list[str]]:
    """Ids of the live EC2 resources (of one Project tag, or all that a run could create), by kind."""
    tag = [{"Name": "tag:Project", "Values": [project]}] if project else []
    instances = [i["InstanceId"] for r in ec2.describe_instances(Filters=tag)["Reservations"]
                 for i in r["Instances"] if i["State"]["Name"] != "terminated"]
    groups = [g["GroupId"] for g in ec2.describe_security_groups(Filters=tag)["SecurityGroups"]
              if g["GroupName"] != "default"]
    return {
        "instances": instances,
        "volumes": [v["VolumeId"] for v in ec2.describe_volumes(Filters=tag)["Volumes"]],
        "snapshots": [s["SnapshotId"]
                      for s in ec2.describe_snapshots(Filters=tag, OwnerIds=["self"])["Snapshots"]],
        "images": [i["ImageId"] for i in ec2.describe_images(Filters=tag, Owners=["self"])["Images"]],
        "eips": [a["AllocationId"] for a in ec2.describe_addresses(Filters=tag)["Addresses"]],
        "security_groups": groups,
        "key_pairs": [k["KeyName"] for k in ec2.describe_key_pairs(Filters=tag)["KeyPairs"]],
    }
