"""Unit tests of the data_volume role's device lookup (plugins/filter/data_volume.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "plugins" / "filter" / "data_volume.py"
_SPEC = importlib.util.spec_from_file_location("jupyterops_data_volume_filters", _PATH)
dv = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = dv
_SPEC.loader.exec_module(dv)

# A Nitro instance's /dev/disk/by-id: root disk with partitions, the data disk under two aliases.
LISTING = [
    "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0aaaaaaaaaaaaaaa1",
    "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0aaaaaaaaaaaaaaa1-part1",
    "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0aaaaaaaaaaaaaaa1-part14",
    "/dev/disk/by-id/nvme-nvme.1d0f-766f6c3062626262626262626262626262626232-416d617a6f6e-00000001",
    "/dev/disk/by-id/nvme-nvme.vol0bbbbbbbbbbbbbbb2-00000001",
    "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0bbbbbbbbbbbbbbb2",
]


@pytest.mark.parametrize(("volume_id", "expected"), [
    ("vol-0bbbbbbbbbbbbbbb2", "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0bbbbbbbbbbbbbbb2"),
    ("vol0bbbbbbbbbbbbbbb2", "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0bbbbbbbbbbbbbbb2"),
    ("VOL-0BBBBBBBBBBBBBBB2", "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0bbbbbbbbbbbbbbb2"),
    ("vol-0aaaaaaaaaaaaaaa1", "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0aaaaaaaaaaaaaaa1"),
    ("vol-0ccccccccccccccc3", ""),
    ("vol-12345678", ""),
    ("not-a-volume", ""),
    (None, ""),
])
def test_find_by_volume_id(volume_id, expected):
    assert dv.data_volume_find_by_volume_id(LISTING, volume_id) == expected


def test_partition_alone_is_not_a_match():
    only_part = ["/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0aaaaaaaaaaaaaaa1-part1"]
    assert dv.data_volume_find_by_volume_id(only_part, "vol-0aaaaaaaaaaaaaaa1") == ""


def test_other_alias_is_used_when_the_amazon_name_is_missing():
    assert dv.data_volume_find_by_volume_id(
        ["/dev/disk/by-id/nvme-nvme.vol0bbbbbbbbbbbbbbb2-00000001"], "vol-0bbbbbbbbbbbbbbb2"
    ) == "/dev/disk/by-id/nvme-nvme.vol0bbbbbbbbbbbbbbb2-00000001"


@pytest.mark.parametrize(("value", "compact"), [
    ("vol-0123456789abcdef0", "vol0123456789abcdef0"), ("vol-1234abcd", "vol1234abcd"),
    ("vol-0123", ""), ("vol-0123456789abcdefg", ""), ("", ""), (7, "")])
def test_compact_id(value, compact):
    assert dv.data_volume_compact_id(value) == compact


@pytest.mark.parametrize(("current", "action"), [
    ("", "create"), ("\n", "create"), (None, "create"), ("xfs", "keep"), ("ext4\n", "mismatch")])
def test_fs_action(current, action):
    assert dv.data_volume_fs_action(current, "xfs") == action
