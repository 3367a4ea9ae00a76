"""Read ansible-playbook's default stdout: the play recap and the tasks that reported changed."""

from __future__ import annotations

import re

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(output: str) -> dict[str, tuple[int, int, int, int]]:
    """Per host ok/changed/unreachable/failed of the play recaps in output (the last one wins)."""
    result: dict[str, tuple[int, int, int, int]] = {}
    for host, ok, changed, unreachable, failed in RECAP.findall(output):
        result[host] = (int(ok), int(changed), int(unreachable), int(failed))
    return result


def changed_tasks(output: str) -> list[str]:
    """Names of the tasks that reported changed (default stdout callback)."""
    task, changed = "", []
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line[6:line.rfind("]")]
        elif line.startswith("changed:"):
            changed.append(task)
    return changed
