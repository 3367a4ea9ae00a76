"""Pure helpers for the data_volume role: find the device, and decide whether it may be formatted."""

from __future__ import annotations

import json
import os
import re
from typing import Any

_VOLUME_ID = re.compile(r"^vol-?([0-9a-f]{8}|[0-9a-f]{17})$")
_PART = re.compile(r"-part\d+$")
_EXPORT_ESCAPE = re.compile(r"\\(.)")
# blkid exit code 8: more than one signature at the top of the device ("ambivalent result").
_BLKID_AMBIVALENT = 8


def data_volume_compact_id(volume_id: Any) -> str:
    """'vol0123...' for a valid EBS volume id (with or without the dash), else ''."""
    if not isinstance(volume_id, str):
        return ""
    match = _VOLUME_ID.match(volume_id.strip().lower())
    return f"vol{match.group(1)}" if match else ""


def data_volume_find_by_volume_id(paths: Any, volume_id: Any) -> str:
    """The by-id path of the whole disk whose name contains the volume id, '' when none."""
    compact = data_volume_compact_id(volume_id)
    if not compact or not isinstance(paths, list | tuple):
        return ""
    hits = [str(p) for p in paths
            if compact in os.path.basename(str(p)).lower() and not _PART.search(str(p))]
    # Prefer the Amazon EBS name over other aliases of the same disk (nvme-nvme.<vendor>...).
    hits.sort(key=lambda p: (0 if "Amazon_Elastic_Block_Store" in p else 1, p))
    return hits[0] if hits else ""


def parse_blkid_export(text: Any) -> dict[str, str]:
    """Tags of `blkid -p -o export DEVICE` as a dict (DEVNAME dropped, backslash escapes undone)."""
    if not isinstance(text, str):
        raise ValueError("blkid output is not text")
    tags: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.strip().partition("=")
        if not sep or not key:
            raise ValueError(f"unexpected blkid line {line!r}")
        if key != "DEVNAME":
            tags[key] = _EXPORT_ESCAPE.sub(r"\1", value)
    return tags


def parse_wipefs_json(text: Any) -> list[dict[str, str]]:
    """Signatures of `wipefs --no-act --json DEVICE` as [{'type', 'offset'}] (empty output: none)."""
    if not isinstance(text, str):
        raise ValueError("wipefs output is not text")
    if not text.strip():
        return []
    data = json.loads(text)
    rows = data.get("signatures") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ValueError("wipefs output has no 'signatures' list")
    return [{"type": str(row.get("type") or "?"), "offset": str(row.get("offset") or "?")}
            for row in rows if isinstance(row, dict)]


def data_volume_devnum(rdev: Any) -> str:
    """'major:minor' of a Linux device number (stat's st_rdev, Ansible stat's device_type), '' if invalid."""
    if isinstance(rdev, bool) or not isinstance(rdev, int | str) or not str(rdev).isdigit():
        return ""
    dev = int(rdev)
    major = ((dev >> 8) & 0xFFF) | ((dev >> 32) & 0xFFFFF000)
    minor = (dev & 0xFF) | ((dev >> 12) & 0xFFFFFF00)
    return f"{major}:{minor}"


def sysfs_children(sysfs_dev: Any, partitions: Any, holders: Any) -> list[dict[str, str]]:
    """Partitions and holders of a device from sysfs paths (NAME/dev, NAME/P/partition, NAME/holders/H).

    sysfs_dev must be exactly the one 'dev' file of the device; anything else raises ValueError.
    """
    if not isinstance(sysfs_dev, list | tuple) or len(sysfs_dev) != 1:
        raise ValueError("the device was not found exactly once in /sys/class/block")
    if not isinstance(partitions, list | tuple) or not isinstance(holders, list | tuple):
        raise ValueError("sysfs listings are not lists")
    top = os.path.dirname(str(sysfs_dev[0]))
    # NAME/P/partition only: a partition's own NAME/partition file says what it is, not what it holds.
    found = [{"name": "/dev/" + os.path.basename(os.path.dirname(str(p))), "type": "partition"}
             for p in partitions
             if os.path.basename(str(p)) == "partition" and os.path.dirname(os.path.dirname(str(p))) == top]
    found += [{"name": "/dev/" + os.path.basename(str(h)), "type": "holder"} for h in holders]
    return sorted(found, key=lambda c: (c["type"] != "partition", c["name"]))


def _kind(tags: dict[str, str], device: str) -> tuple[str, str]:
    """(what a non-filesystem top-level signature is, how to reach the data inside it)."""
    fstype, usage = tags.get("TYPE", ""), tags.get("USAGE", "")
    if fstype == "LVM2_member":
        return ("an LVM physical volume (LVM2_member)",
                "activate its volume group (vgchange -ay) and point data_volume_device at the logical "
                "volume that holds the filesystem (/dev/VG/LV)")
    if fstype.endswith("_raid_member") or usage == "raid":
        return (f"a RAID member ({fstype})",
                "assemble the array (mdadm --assemble --scan) and point data_volume_device at the array "
                "(/dev/mdN)")
    if usage == "crypto":
        return (f"an encrypted volume ({fstype})",
                f"open it (cryptsetup open {device} NAME) and point data_volume_device at /dev/mapper/NAME")
    return (f"a {fstype} signature (USAGE={usage or 'unknown'}), not a filesystem the role can use",
            f"check what it holds (wipefs -n {device}; lsblk {device})")


def _found(tags: dict[str, str] | None, blkid_rc: int, signatures: list[dict[str, str]] | None,
           children: list[dict[str, str]] | None) -> list[str]:
    """One line per probe that saw something, in the probes' own terms."""
    found = []
    if tags:
        found.append("blkid -p: " + " ".join(f"{k}={v}" for k, v in tags.items()))
    if blkid_rc == _BLKID_AMBIVALENT:
        found.append("blkid -p: ambivalent result (more than one signature)")
    if signatures:
        found.append("wipefs -n: " + ", ".join(f"{s['type']} at {s['offset']}" for s in signatures))
    if children:
        found.append("sysfs: " + ", ".join(f"{c['name']} ({c['type']})" for c in children))
    return found


def data_volume_disk_decision(tags: dict[str, str] | None, blkid_rc: int,
                              signatures: list[dict[str, str]] | None, children: list[dict[str, str]] | None,
                              wanted: str, device: str = "the device") -> dict[str, Any]:
    """Decide create / keep / mismatch / refuse from parsed blkid tags, wipefs and sysfs results."""
    found = _found(tags, blkid_rc, signatures, children)
    fstype, pttype = (tags or {}).get("TYPE", ""), (tags or {}).get("PTTYPE", "")
    inner = [c["name"] for c in children or []]
    to_inner = ("point data_volume_device at the partition or volume that holds the filesystem"
                + (f" ({', '.join(inner)})" if inner else ", if there is one"))
    action, hint = "refuse", f"check what it holds (wipefs -n {device}; lsblk {device})"
    if tags is None or signatures is None or children is None:
        reason = "its signatures could not be read (blkid, wipefs or sysfs gave unexpected output)"
    elif blkid_rc == _BLKID_AMBIVALENT:
        reason = "blkid finds more than one signature on it"
    elif children:
        reason, hint = "it has partitions, or volumes that use it (holders)", to_inner
    elif pttype:
        reason, hint = f"it holds a {pttype} partition table", to_inner
    elif fstype and tags.get("USAGE", "filesystem") == "filesystem":
        action = "keep" if fstype == wanted else "mismatch"
        reason = f"it holds a {fstype} filesystem"
    elif fstype:
        what, hint = _kind(tags, device)
        reason = f"it is {what}"
    elif signatures:
        reason = "wipefs finds signatures on it (" + ", ".join(s["type"] for s in signatures) + ")"
    else:
        action, reason = "create", "no filesystem, partition table, partition or other signature"
    message = ""
    if action == "mismatch":
        message = (f"{device} already holds a {fstype} filesystem but data_volume_fstype is {wanted}. "
                   f"Nothing was changed: set data_volume_fstype to {fstype} to use it, or, only if its data "
                   f"is really not needed, wipe the device yourself (wipefs -a {device}).")
    elif action == "refuse":
        message = (f"Refusing to format {device}: {reason}. Found: {'; '.join(found) or 'nothing readable'}. "
                   f"Nothing was changed. To proceed, {hint}; or, only if the data on {device} is really not "
                   f"needed, wipe it yourself (wipefs -a {device}) and run the role again.")
    return {"action": action, "reason": reason, "found": found, "fstype": fstype, "message": message}


def data_volume_disk_action(probe: Any, wanted: str, device: str = "the device") -> dict[str, Any]:
    """Parse the raw probe results and decide; unreadable -> refuse.

    probe: blkid_rc and blkid (`blkid -p -o export`), wipefs (`wipefs --no-act --json`), sysfs_dev,
    partitions and holders (paths found under /sys/class/block).
    """
    probe = probe if isinstance(probe, dict) else {}
    try:
        blkid_rc = int(probe.get("blkid_rc", -1))
        tags = parse_blkid_export(probe.get("blkid")) if blkid_rc in (0, 2, _BLKID_AMBIVALENT) else None
    except (ValueError, TypeError):
        tags, blkid_rc = None, -1
    try:
        signatures = parse_wipefs_json(probe.get("wipefs"))
    except ValueError:  # json.JSONDecodeError is a ValueError
        signatures = None
    try:
        children = sysfs_children(probe.get("sysfs_dev"), probe.get("partitions"), probe.get("holders"))
    except ValueError:
        children = None
    return data_volume_disk_decision(tags, blkid_rc, signatures, children, wanted, device)


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {
            "data_volume_compact_id": data_volume_compact_id,
            "data_volume_devnum": data_volume_devnum,
            "data_volume_find_by_volume_id": data_volume_find_by_volume_id,
            "data_volume_disk_action": data_volume_disk_action,
        }
