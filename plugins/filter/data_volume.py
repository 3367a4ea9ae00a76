"""Pure helpers for the data_volume role: find an EBS volume's device among /dev/disk/by-id names."""

from __future__ import annotations

import os
import re
from typing import Any

_VOLUME_ID = re.compile(r"^vol-?([0-9a-f]{8}|[0-9a-f]{17})$")
_PART = re.compile(r"-part\d+$")


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


def data_volume_fs_action(current: Any, wanted: str) -> str:
    """'create' for an empty device, 'keep' for the wanted type, 'mismatch' otherwise."""
    current = (current or "").strip() if isinstance(current, str) else ""
    if not current:
        return "create"
    return "keep" if current == wanted else "mismatch"


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {
            "data_volume_compact_id": data_volume_compact_id,
            "data_volume_find_by_volume_id": data_volume_find_by_volume_id,
            "data_volume_fs_action": data_volume_fs_action,
        }
