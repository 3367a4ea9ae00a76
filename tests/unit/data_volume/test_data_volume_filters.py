"""Unit tests of the data_volume role's device lookup and format decision (plugins/filter/data_volume.py)."""

from __future__ import annotations

import importlib.util
import json
import os
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


# ---- The format decision, fed with output captured from blkid/wipefs (util-linux 2.38) and sysfs ----
DEV = "/dev/loop0"


def _wipefs(*sigs: tuple[str, str]) -> str:
    return json.dumps({"signatures": [
        {"device": "loop0", "offset": off, "type": typ, "uuid": None, "label": None} for typ, off in sigs]})


SYS = "/sys/class/block/loop0"


def _probe(blkid: str = "", rc: int | None = None, wipefs: str | None = None,
           partitions: tuple[str, ...] = (), holders: tuple[str, ...] = ()) -> dict:
    """Probe results as mount.yml passes them (partitions/holders: sysfs names below the device)."""
    return {"blkid_rc": (0 if blkid else 2) if rc is None else rc,
            "blkid": (f"DEVNAME={DEV}\n" + blkid) if blkid else "",
            "wipefs": _wipefs() if wipefs is None else wipefs,
            "sysfs_dev": [f"{SYS}/dev"],
            "partitions": [f"{SYS}/{name}/partition" for name in partitions],
            "holders": [f"{SYS}/holders/{name}" for name in holders]}


XFS = _probe("UUID=9924\nBLOCK_SIZE=512\nTYPE=xfs\nUSAGE=filesystem", wipefs=_wipefs(("xfs", "0x0")))
EXT4 = _probe("UUID=5d57\nVERSION=1.0\nTYPE=ext4\nUSAGE=filesystem", wipefs=_wipefs(("ext4", "0x438")))
GPT = _probe("PTUUID=6833\nPTTYPE=gpt",
             wipefs=_wipefs(("gpt", "0x200"), ("gpt", "0x13fffe00"), ("PMBR", "0x1fe")))
DOS = _probe("PTUUID=2faaa4aa\nPTTYPE=dos", wipefs=_wipefs(("dos", "0x1fe")))
GPT_WITH_PART = dict(GPT, partitions=[f"{SYS}/loop0p1/partition"])
LVM = _probe("UUID=CJer6O\nVERSION=LVM2\\ 001\nTYPE=LVM2_member\nUSAGE=raid",
             wipefs=_wipefs(("LVM2_member", "0x218")))
LVM_ACTIVE = dict(LVM, holders=[f"{SYS}/holders/dm-0"])
RAID = _probe("UUID=097e\nLABEL=jops:0\nVERSION=1.2\nTYPE=linux_raid_member\nUSAGE=raid",
              wipefs=_wipefs(("linux_raid_member", "0x1000")))
ISW = _probe("VERSION=1.3.00\nTYPE=isw_raid_member\nUSAGE=raid",
             wipefs=_wipefs(("isw_raid_member", "0x13fffc00")))
LUKS = _probe("VERSION=2\nUUID=8fdd\nTYPE=crypto_LUKS\nUSAGE=crypto",
              wipefs=_wipefs(("crypto_LUKS", "0x0"), ("crypto_LUKS", "0x4000")))
SWAP = _probe("UUID=1111\nVERSION=1\nTYPE=swap\nUSAGE=other", wipefs=_wipefs(("swap", "0xff6")))
BACKUP_GPT_ONLY = _probe(wipefs=_wipefs(("gpt", "0x13fffe00")))
AMBIVALENT = _probe(rc=8, wipefs=_wipefs(("xfs", "0x0"), ("ext4", "0x438")))
PARTS_WITHOUT_TABLE = _probe(partitions=("loop0p1", "loop0p2"))
# The device is itself a partition with nothing inside: blkid reports only the PART_ENTRY_* tags.
EMPTY_PARTITION = _probe("PART_ENTRY_SCHEME=gpt\nPART_ENTRY_NUMBER=1\nPART_ENTRY_DISK=7:0")


@pytest.mark.parametrize(("probe", "action", "in_reason"), [
    pytest.param(_probe(), "create", "no filesystem", id="blank"),
    pytest.param(EMPTY_PARTITION, "create", "no filesystem", id="blank-partition"),
    pytest.param(XFS, "keep", "xfs filesystem", id="wanted-fs"),
    pytest.param(EXT4, "mismatch", "ext4 filesystem", id="other-fs"),
    pytest.param(GPT, "refuse", "gpt partition table", id="gpt"),
    pytest.param(DOS, "refuse", "dos partition table", id="dos"),
    pytest.param(GPT_WITH_PART, "refuse", "partitions", id="gpt-with-partition"),
    pytest.param(PARTS_WITHOUT_TABLE, "refuse", "partitions", id="partitions-only"),
    pytest.param(LVM, "refuse", "LVM physical volume", id="lvm"),
    pytest.param(LVM_ACTIVE, "refuse", "volumes that use it (holders)", id="lvm-active"),
    pytest.param(RAID, "refuse", "RAID member (linux_raid_member)", id="md-raid"),
    pytest.param(ISW, "refuse", "RAID member (isw_raid_member)", id="intel-raid"),
    pytest.param(LUKS, "refuse", "encrypted volume (crypto_LUKS)", id="luks"),
    pytest.param(SWAP, "refuse", "swap signature", id="swap"),
    pytest.param(BACKUP_GPT_ONLY, "refuse", "wipefs finds signatures on it (gpt)", id="backup-gpt-only"),
    pytest.param(AMBIVALENT, "refuse", "more than one signature", id="ambivalent"),
    pytest.param(dict(XFS, partitions=[f"{SYS}/loop0p1/partition"]), "refuse", "partitions",
                 id="fs-and-partition"),
    pytest.param(dict(XFS, blkid="DEVNAME=/dev/loop0\nPTTYPE=dos\nTYPE=xfs\nUSAGE=filesystem"), "refuse",
                 "dos partition table", id="fs-and-table"),
])
def test_disk_action(probe, action, in_reason):
    decision = dv.data_volume_disk_action(probe, "xfs", DEV)
    assert decision["action"] == action
    assert in_reason in decision["reason"]
    if action in ("create", "keep"):
        assert decision["message"] == ""
    else:
        assert DEV in decision["message"] and "Nothing was changed" in decision["message"]


@pytest.mark.parametrize("probe", [
    pytest.param({}, id="empty-dict"),
    pytest.param(None, id="not-a-dict"),
    pytest.param(dict(_probe(), blkid_rc=4), id="blkid-usage-error"),
    pytest.param(dict(_probe(), blkid="garbage without equals sign"), id="blkid-garbage"),
    pytest.param(dict(_probe(), wipefs="not json"), id="wipefs-garbage"),
    pytest.param(dict(_probe(), wipefs='{"other": []}'), id="wipefs-no-signatures-key"),
    pytest.param(dict(_probe(), sysfs_dev=[]), id="not-in-sysfs"),
    pytest.param(dict(_probe(), sysfs_dev=[f"{SYS}/dev", "/sys/class/block/loop9/dev"]), id="twice-in-sysfs"),
    pytest.param(dict(_probe(), partitions=None), id="partitions-not-listed"),
])
def test_unreadable_probe_is_refused(probe):
    decision = dv.data_volume_disk_action(probe, "xfs", DEV)
    assert decision["action"] == "refuse"
    assert "could not be read" in decision["reason"]


def test_refuse_message_names_device_shows_findings_and_the_way_out():
    message = dv.data_volume_disk_action(GPT_WITH_PART, "xfs", DEV)["message"]
    assert message.startswith("Refusing to format /dev/loop0: it has partitions, or volumes that use it")
    assert "blkid -p: PTUUID=6833 PTTYPE=gpt" in message
    assert "wipefs -n: gpt at 0x200, gpt at 0x13fffe00, PMBR at 0x1fe" in message
    assert "sysfs: /dev/loop0p1 (partition)" in message
    assert "Nothing was changed" in message
    assert ("point data_volume_device at the partition or volume that holds the filesystem (/dev/loop0p1)"
            in message)
    assert "wipefs -a /dev/loop0" in message


@pytest.mark.parametrize(("probe", "hint"), [
    (LVM, "vgchange -ay"), (RAID, "mdadm --assemble"), (LUKS, "cryptsetup open /dev/loop0 NAME"),
    (GPT, "point data_volume_device at the partition"), (SWAP, "wipefs -n /dev/loop0"),
])
def test_refuse_hint_fits_what_was_found(probe, hint):
    assert hint in dv.data_volume_disk_action(probe, "xfs", DEV)["message"]


def test_mismatch_keeps_the_existing_message():
    message = dv.data_volume_disk_action(EXT4, "xfs", DEV)["message"]
    assert message.startswith("/dev/loop0 already holds a ext4 filesystem but data_volume_fstype is xfs.")
    assert "set data_volume_fstype to ext4" in message


def test_blkid_export_escapes_are_undone():
    assert dv.parse_blkid_export("DEVNAME=/dev/x\nVERSION=LVM2\\ 001\n") == {"VERSION": "LVM2 001"}


def test_sysfs_children_lists_partitions_then_holders():
    partitions = [f"{SYS}/loop0p2/partition", f"{SYS}/loop0p1/partition", f"{SYS}/queue/other"]
    children = dv.sysfs_children([f"{SYS}/dev"], partitions, [f"{SYS}/holders/md127"])
    assert children == [{"name": "/dev/loop0p1", "type": "partition"},
                        {"name": "/dev/loop0p2", "type": "partition"},
                        {"name": "/dev/md127", "type": "holder"}]


def test_a_partition_is_not_its_own_child():
    own = "/sys/class/block/loop0p1"
    probe = dict(EMPTY_PARTITION, sysfs_dev=[f"{own}/dev"], partitions=[f"{own}/partition"])
    assert dv.data_volume_disk_action(probe, "xfs", "/dev/loop0p1")["action"] == "create"


@pytest.mark.parametrize(("major", "minor"), [(7, 0), (7, 1), (259, 0), (202, 80), (8, 300), (4095, 1048575)])
def test_devnum_matches_the_kernel_encoding(major, minor):
    assert dv.data_volume_devnum(os.makedev(major, minor)) == f"{major}:{minor}"
    assert dv.data_volume_devnum(str(os.makedev(major, minor))) == f"{major}:{minor}"


@pytest.mark.parametrize("value", [None, "", "7:1", -1, True, 1.5])
def test_devnum_of_garbage_is_empty(value):
    assert dv.data_volume_devnum(value) == ""
