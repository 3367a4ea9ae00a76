"""The data_volume role against a real loop device on this machine (needs root and losetup).

Mount point and fstab live in a temporary directory (data_volume_fstab), so the host's /etc/fstab
is never touched. The refusal tests need sfdisk (Debian package fdisk), pvcreate (lvm2) and cryptsetup
(cryptsetup-bin); the RAID member is written without mdadm (see _write_md_superblock).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import uuid
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


def _umount_under(path: Path) -> None:
    """Lazily unmount everything mounted at or below path (deepest first)."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for mnt in sorted((m for m in mounts if m == str(path) or m.startswith(f"{path}/")), reverse=True):
        subprocess.run(["umount", "-l", mnt], capture_output=True, check=False)


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    """A 320 MiB sparse file attached to a free loop device; detached (and unmounted) afterwards."""
    if os.geteuid() != 0:
        pytest.fail("the data_volume loop-device test needs root (losetup, mkfs, mount)")
    image = tmp_path / "disk.img"
    with image.open("wb") as fh:
        fh.truncate(320 * 1024 * 1024)
    dev = _sh("losetup", "-f", "-P", "--show", str(image))
    try:
        yield dev
    finally:
        _umount_under(tmp_path)
        # Partitions added with partx outlive the loop device unless removed first.
        subprocess.run(["partx", "-d", dev], capture_output=True, check=False)
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


# ---- Refusal: a device holding any signature is never written to ----

def _need(tool: str, package: str) -> None:
    """Fail (not skip) when a tool the test needs is missing, naming the Debian package."""
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: apt-get install {package}")


def _sfdisk(dev: str, script: str) -> None:
    """Write a partition table with sfdisk and tell the kernel about its partitions (no udev here)."""
    _need("sfdisk", "fdisk")
    subprocess.run(["sfdisk", "-q", "--no-reread", dev], input=script, text=True, capture_output=True,
                   check=True, timeout=60)
    subprocess.run(["partx", "-u", dev], capture_output=True, check=False, timeout=60)
    subprocess.run(["partx", "-a", dev], capture_output=True, check=False, timeout=60)


def _write_md_superblock(dev: str) -> None:
    """Write the md RAID superblock (metadata 1.2, at 4 KiB) that mdadm --create writes for a 2-disk RAID1.

    This kernel has no md driver, so mdadm --create cannot run here; blkid and wipefs read the same
    bytes either way (magic, version, super_offset and checksum are what libblkid checks).
    """
    with open(dev, "r+b") as fh:
        sectors = fh.seek(0, os.SEEK_END) // 512
        max_dev = 2
        sb = bytearray(256 + 2 * max_dev)
        struct.pack_into("<IIII", sb, 0, 0xA92B4EFC, 1, 0, 0)  # magic, major_version, feature_map, pad
        sb[16:32] = uuid.uuid4().bytes  # set_uuid
        sb[32:40] = b"jops:0\0\0"  # set_name
        struct.pack_into("<QIIQII", sb, 64, 1_700_000_000, 1, 0, sectors - 2048, 0, 2)  # ctime, level 1...
        struct.pack_into("<QQQ", sb, 128, 2048, sectors - 2048, 8)  # data_offset, data_size, super_offset
        sb[168:184] = uuid.uuid4().bytes  # device_uuid
        struct.pack_into("<I", sb, 220, max_dev)
        struct.pack_into("<HH", sb, 256, 0, 1)  # dev_roles
        csum = sum(struct.unpack_from(f"<{len(sb) // 4}I", sb))
        struct.pack_into("<I", sb, 216, ((csum & 0xFFFFFFFF) + (csum >> 32)) & 0xFFFFFFFF)
        fh.seek(4096)
        fh.write(sb)


def _gpt(dev: str, tmp_path: Path) -> None:
    _sfdisk(dev, "label: gpt\n")


def _dos(dev: str, tmp_path: Path) -> None:
    _sfdisk(dev, "label: dos\n")


def _backup_gpt_only(dev: str, tmp_path: Path) -> None:
    # The primary GPT and protective MBR are gone, the backup header at the end is not: blkid -p
    # reports nothing, only wipefs sees it.
    _sfdisk(dev, "label: gpt\n")
    with open(dev, "r+b") as fh:
        fh.write(b"\0" * (1024 * 1024))


def _partition_with_fs(dev: str, tmp_path: Path) -> None:
    _sfdisk(dev, "label: gpt\n,100M\n")
    _sh("mkfs.ext4", "-q", "-L", "jopspart", f"{dev}p1")


def _lvm(dev: str, tmp_path: Path) -> None:
    _need("pvcreate", "lvm2")
    subprocess.run(["pvcreate", "-q", dev], capture_output=True, check=True, timeout=60,
                   env=dict(os.environ, LVM_SUPPRESS_FD_WARNINGS="1"))


def _raid(dev: str, tmp_path: Path) -> None:
    _write_md_superblock(dev)


def _luks(dev: str, tmp_path: Path) -> None:
    _need("cryptsetup", "cryptsetup-bin")
    key = tmp_path / "luks.key"
    key.write_bytes(os.urandom(32))
    # pbkdf2 with the minimum iterations: argon2's default would take seconds and a GiB of memory.
    _sh("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2", "--pbkdf", "pbkdf2",
        "--pbkdf-force-iterations", "1000", "--key-file", str(key), dev)


def _clean_signature(dev: str) -> None:
    """Leave no LVM state behind (the PV label is forgotten with the image file otherwise)."""
    if shutil.which("pvremove") and _blkid(dev, "TYPE") == "LVM2_member":
        subprocess.run(["pvremove", "-ff", "-y", "-q", dev], capture_output=True, check=False, timeout=60,
                       env=dict(os.environ, LVM_SUPPRESS_FD_WARNINGS="1"))


def _snapshot(dev: str) -> tuple[str, str, str]:
    """What the probes see plus a sha256 of every byte of the device."""
    blkid = subprocess.run(["blkid", "-p", "-o", "export", dev], capture_output=True, text=True,
                           check=False).stdout
    wipefs = _sh("wipefs", "--no-act", "--json", dev)
    digest = hashlib.sha256()
    with open(dev, "rb") as fh:
        for chunk in iter(lambda: fh.read(4 * 1024 * 1024), b""):
            digest.update(chunk)
    return blkid, wipefs, digest.hexdigest()


@pytest.mark.parametrize(("make", "precondition", "expected"), [
    pytest.param(_gpt, "PTTYPE=gpt", ["it holds a gpt partition table", "PTTYPE=gpt", "gpt at 0x200",
                                      "PMBR at 0x1fe"], id="gpt-no-partitions"),
    pytest.param(_dos, "PTTYPE=dos", ["it holds a dos partition table", "PTTYPE=dos", "dos at 0x1fe"],
                 id="dos-label"),
    pytest.param(_backup_gpt_only, "", ["wipefs finds signatures on it (gpt)",
                                        "wipefs -n: gpt at 0x13fffe00"], id="backup-gpt-only"),
    pytest.param(_partition_with_fs, "PTTYPE=gpt", ["it has partitions, or volumes that use it", "PTTYPE=gpt",
                                                    "p1 (partition)"], id="partition-with-ext4"),
    pytest.param(_lvm, "TYPE=LVM2_member", ["it is an LVM physical volume (LVM2_member)",
                                           "LVM2_member at 0x218", "vgchange -ay"], id="lvm-pv"),
    pytest.param(_raid, "TYPE=linux_raid_member", ["it is a RAID member (linux_raid_member)",
                                                  "linux_raid_member at 0x1000", "mdadm --assemble"],
                 id="md-raid-member"),
    pytest.param(_luks, "TYPE=crypto_LUKS", ["it is an encrypted volume (crypto_LUKS)", "crypto_LUKS at 0x0",
                                            "cryptsetup open"], id="luks2"),
])
def test_device_with_a_signature_is_refused_untouched(ansible_runner, loop_device, tmp_path, make,
                                                      precondition, expected):
    make(loop_device, tmp_path)
    try:
        before = _snapshot(loop_device)
        assert precondition in before[0], before  # the signature is really there
        fstab = tmp_path / "fstab"
        fstab.write_text("# test fstab\n")

        proc, stats, out = _run(ansible_runner, tmp_path, data_volume_device=loop_device)

        assert proc.returncode != 0, out[-3000:]
        assert stats is not None and stats["changed"] == 0 and stats["failures"] == 1, stats
        assert f"Refusing to format {loop_device}: " in out
        for text in expected:
            assert text in out, (text, out[-3000:])
        assert "Nothing was changed" in out and f"wipefs -a {loop_device}" in out
        assert _snapshot(loop_device) == before
        assert fstab.read_text() == "# test fstab\n" and not (tmp_path / "mnt").exists()
    finally:
        _clean_signature(loop_device)


def test_refused_disk_is_used_through_its_partitions(ansible_runner, loop_device, tmp_path):
    # The way out the message gives: point data_volume_device at the partition.
    _sfdisk(loop_device, "label: gpt\n,100M\n,100M\n")
    part1, part2 = f"{loop_device}p1", f"{loop_device}p2"
    _sh("mkfs.ext4", "-q", part1)
    (tmp_path / "fstab").write_text("")
    before = _snapshot(loop_device)

    proc, stats, out = _run(ansible_runner, tmp_path, data_volume_device=loop_device,
                            data_volume_fstype="ext4")
    assert proc.returncode != 0 and stats["changed"] == 0
    assert f"holds the filesystem ({part1}, {part2})" in out
    assert _snapshot(loop_device) == before

    # The partition with ext4 is kept and mounted; the blank one gets ext4 (xfs needs 300 MB).
    uuid1 = _blkid(part1, "UUID")
    proc, stats, out = _run(ansible_runner, tmp_path, data_volume_device=part1, data_volume_fstype="ext4")
    assert proc.returncode == 0, out[-3000:]
    assert _blkid(part1, "UUID") == uuid1 and _mounted(tmp_path / "mnt")
    proc, stats, out = _run(ansible_runner, tmp_path, data_volume_device=part2, data_volume_fstype="ext4",
                            data_volume_mount_point=str(tmp_path / "mnt2"))
    assert proc.returncode == 0, out[-3000:]
    assert _blkid(part2, "TYPE") == "ext4" and _blkid(part2, "UUID") != uuid1 and _mounted(tmp_path / "mnt2")
    assert _blkid(loop_device, "PTTYPE") == "gpt"
