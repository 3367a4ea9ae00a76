"""The data_volume role against a real loop device on this machine (needs root and losetup).

Mount point and fstab live in a temporary directory (data_volume_fstab), so the host's /etc/fstab
is never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

PLAYBOOK = Path(__file__).with_name("data_volume.yml")


def _sh(*args: str) -> str:
    """Run a command, return stdout (raises on failure)."""
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def _blkid(dev: str, tag: str) -> str:
    """One blkid tag of a device ('' when none)."""
    proc = subprocess.run(["blkid", "-p", "-o", "value", "-s", tag, dev], capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip()


def _mounted(path: Path) -> bool:
    """Whether path is a mount point according to /proc/self/mounts."""
    return any(line.split()[1] == str(path) for line in Path("/proc/self/mounts").read_text().splitlines())


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    """A 320 MiB sparse file attached to a free loop device; detached (and unmounted) afterwards."""
    if os.geteuid() != 0:
        pytest.fail("the data_volume loop-device test needs root (losetup, mkfs, mount)")
    image = tmp_path / "disk.img"
    with image.open("wb") as fh:
        fh.truncate(320 * 1024 * 1024)
    dev = _sh("losetup", "-f", "--show", str(image))
    try:
        yield dev
    finally:
        subprocess.run(["umount", "-l", str(tmp_path / "mnt")], capture_output=True, check=False)
        subprocess.run(["losetup", "-d", dev], capture_output=True, check=False)


def _run(ansible_runner, tmp_path: Path, **overrides):
    """Run the role locally; return (CompletedProcess, stats or None, output text)."""
    variables = {
        "data_volume_mount_point": str(tmp_path / "mnt"), "data_volume_fstab": str(tmp_path / "fstab"),
        "data_volume_owner": "nobody", "data_volume_group": "nogroup", "data_volume_create_owner": False,
        "data_volume_directories": ["notebooks"], "ansible_become": False,
        "ansible_python_interpreter": "/usr/bin/python3", **overrides,
    }
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = ansible_runner(["ansible-playbook", "-i", "localhost,", "-c", "local", str(PLAYBOOK),
                           "-e", f"@{varfile}"], env=env, timeout=300)
    try:
        stats = json.loads(proc.stdout)["stats"]["localhost"]
    except (ValueError, KeyError):
        stats = None
    return proc, stats, proc.stdout + proc.stderr


def test_format_mount_keep_refuse_and_remount(ansible_runner, loop_device, tmp_path):
    mnt, fstab = tmp_path / "mnt", tmp_path / "fstab"
    fstab.write_text("# test fstab\n")

    # First run: empty device -> xfs created with the label, mounted by UUID with nofail.
    proc, stats, out = _run(ansible_runner, tmp_path, data_volume_device=loop_device,
                            data_volume_fs_label="jopsdata")
    assert proc.returncode == 0, out[-3000:]
    assert stats["changed"] > 0
    assert _blkid(loop_device, "TYPE") == "xfs"
    uuid = _blkid(loop_device, "UUID")
    assert _mounted(mnt)
    entry = [line.split() for line in fstab.read_text().splitlines() if str(mnt) in line]
    assert entry == [[f"UUID={uuid}", str(mnt), "xfs", "defaults,nofail", "0", "0"]]
    notebooks = mnt / "notebooks"
    assert notebooks.is_dir() and notebooks.stat().st_uid == int(_sh("id", "-u", "nobody"))
    (notebooks / "keep.txt").write_text("survives\n")

    # Second run: nothing changes, the file is still there.
    proc, stats, out = _run(ansible_runner, tmp_path, data_volume_device=loop_device,
                            data_volume_fs_label="jopsdata")
    assert proc.returncode == 0, out[-3000:]
    assert stats["changed"] == 0
    assert (notebooks / "keep.txt").read_text() == "survives\n"

    # A different filesystem type is refused, naming the variable; nothing is touched.
    fstab_before = fstab.read_text()
    proc, stats, out = _run(ansible_runner, tmp_path, data_volume_device=loop_device,
                            data_volume_fstype="ext4")
    assert proc.returncode != 0
    assert "data_volume_fstype" in out and "already holds a xfs filesystem" in out
    assert stats["changed"] == 0
    assert _blkid(loop_device, "TYPE") == "xfs" and _blkid(loop_device, "UUID") == uuid
    assert fstab.read_text() == fstab_before
    assert (notebooks / "keep.txt").read_text() == "survives\n"

    # Unmounted behind the role's back: the next run (by label this time) mounts it again.
    _sh("umount", str(mnt))
    assert not _mounted(mnt)
    proc, stats, out = _run(ansible_runner, tmp_path, data_volume_label="jopsdata")
    assert proc.returncode == 0, out[-3000:]
    assert stats["changed"] > 0
    assert _mounted(mnt)
    assert (notebooks / "keep.txt").read_text() == "survives\n"
    assert fstab.read_text() == fstab_before


def test_missing_device_fails_or_is_skipped_when_optional(ansible_runner, tmp_path):
    fstab = tmp_path / "fstab"
    fstab.write_text("")
    proc, stats, out = _run(ansible_runner, tmp_path, data_volume_device="/dev/jops-no-such-disk")
    assert proc.returncode != 0
    assert "data_volume_device=/dev/jops-no-such-disk" in out and "Data disk not found" in out
    proc, stats, out = _run(ansible_runner, tmp_path, data_volume_device="/dev/jops-no-such-disk",
                            data_volume_optional=True)
    assert proc.returncode == 0, out[-3000:]
    assert stats["changed"] == 0
    assert "data_volume_optional is true" in out
    assert fstab.read_text() == "" and not (tmp_path / "mnt").exists()


def test_ebs_volume_id_resolves_through_by_id_names(ansible_runner, loop_device, tmp_path):
    # A stand-in /dev/disk/by-id with the NVMe name a Nitro instance gives this volume.
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    (by_id / "nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0").symlink_to(loop_device)
    (by_id / "nvme-Amazon_Elastic_Block_Store_vol0fffffffffffffff0").symlink_to("/dev/null")
    proc, _, out = _run(ansible_runner, tmp_path, data_volume_ebs_volume_id="vol-0123456789abcdef0",
                            data_volume_by_id_dir=str(by_id), data_volume_fstype="ext4")
    assert proc.returncode == 0, out[-3000:]
    assert _blkid(loop_device, "TYPE") == "ext4"
    assert _mounted(tmp_path / "mnt")
