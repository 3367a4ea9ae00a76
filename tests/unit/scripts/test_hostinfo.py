"""Unit tests of scripts/hostinfo.py, the host detection of scripts/setup.sh and scripts/build-images.sh.

A Debian 12 and a Debian 13 host must both get a working `make setup` / `make images`: the release
comes from /etc/os-release, the mirror from `apt-get indextargets`, containers.conf from podman's
version, the cgroup layout, the hard limits and the installed OCI runtimes.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[3]
_PATH = _REPO / "scripts" / "hostinfo.py"
_SPEC = importlib.util.spec_from_file_location("hostinfo", _PATH)
hostinfo = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = hostinfo
_SPEC.loader.exec_module(hostinfo)

OS_RELEASE_DEBIAN12 = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""

OS_RELEASE_DEBIAN13 = """\
PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.8
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""

OS_RELEASE_UBUNTU2404 = """\
PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
"""


def _target(uri: str, *, release: str, codename: str | None = None, label: str | None = None,
            origin: str | None = "Debian", entry: str = "/etc/apt/sources.list.d/debian.sources:1",
            repo: str | None = None) -> str:
    """One record of `apt-get indextargets` as apt prints it (Release fields only after apt-get update)."""
    base = uri.split("/dists/")[0] + "/"
    lines = [
        "MetaKey: main/binary-amd64/Packages",
        "ShortDesc: Packages",
        f"Description: {base} {release}/main amd64 Packages",
        f"URI: {uri}",
        "Optional: no",
    ]
    if origin is not None:
        lines += [f"Codename: {codename or release}", f"Label: {label or 'Debian'}", f"Origin: {origin}",
                  "Trusted: yes"]
    lines += [
        "Architecture: amd64",
        f"Base-URI: {uri.split('main/binary')[0]}",
        "Component: main",
        "Created-By: Packages",
        "DefaultEnabled: yes",
        "Fallback-Of: ",
        "Identifier: Packages",
        f"Release: {release}",
        f"Repo-URI: {repo or base}",
        f"Site: {base.rstrip('/')}",
        f"Sourcesentry: {entry}",
        "Target-Of: deb",
    ]
    return "\n".join(lines) + "\n"


# This machine's own output (Debian 12, deb822 /etc/apt/sources.list.d/debian.sources).
INDEXTARGETS_DEBIAN12 = "\n".join([
    _target("http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages", release="bookworm"),
    _target("http://deb.debian.org/debian/dists/bookworm-updates/main/binary-amd64/Packages",
            release="bookworm-updates"),
    _target("http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-amd64/Packages",
            release="bookworm-security", label="Debian-Security",
            entry="/etc/apt/sources.list.d/debian.sources:2"),
    # A third-party repository must never be taken for the Debian archive.
    _target("https://deb.nodesource.com/node_20.x/dists/nodistro/main/binary-amd64/Packages",
            release="nodistro", origin="Node Source", label="Node Source",
            entry="/etc/apt/sources.list.d/nodesource.sources:1"),
])

# A Debian 13 host on snapshot mirrors (deb822 sources), a local mirror for security.
INDEXTARGETS_DEBIAN13_SNAPSHOT = "\n".join([
    _target("https://packages.cloud.google.com/apt/dists/cloud-sdk/main/binary-amd64/Packages",
            release="cloud-sdk", origin="cloud-sdk", label="cloud-sdk",
            entry="/etc/apt/sources.list.d/google-cloud-sdk.list:1"),
    _target("http://snapshot.debian.org/archive/debian/20260101T000000Z/dists/trixie/main/binary-amd64/Packages",
            release="trixie"),
    _target("http://snapshot.debian.org/archive/debian/20260101T000000Z/dists/trixie-updates/main/binary-amd64/"
            "Packages", release="trixie-updates"),
    _target("http://snapshot.debian.org/archive/debian-security/20260101T000000Z/dists/trixie-security/main/"
            "binary-amd64/Packages", release="trixie-security", label="Debian-Security",
            entry="/etc/apt/sources.list.d/debian.sources:2"),
])

# A Debian 13 host before its first apt-get update (no Release data: no Origin/Codename/Label),
# with one-line sources.list entries naming the suite by its alias.
INDEXTARGETS_DEBIAN13_NO_LISTS = "\n".join([
    _target("http://mirror.example.org/debian/dists/stable/main/binary-amd64/Packages", release="stable",
            origin=None, entry="/etc/apt/sources.list:1"),
    _target("http://mirror.example.org/debian-security/dists/trixie-security/main/binary-amd64/Packages",
            release="trixie-security", origin=None, entry="/etc/apt/sources.list:2"),
    _target("https://deb.nodesource.com/node_20.x/dists/nodistro/main/binary-amd64/Packages",
            release="nodistro", origin=None, entry="/etc/apt/sources.list.d/nodesource.list:1"),
])

# After apt-get update the same host's "stable" entry carries Codename: trixie.
INDEXTARGETS_DEBIAN13_ALIAS = _target(
    "http://mirror.example.org/debian/dists/stable/main/binary-amd64/Packages", release="stable",
    codename="trixie", entry="/etc/apt/sources.list:1")

MOUNTS_DEBIAN12_HYBRID = """\
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
"""
MOUNTS_DEBIAN13_V2 = """\
sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0
"""
MOUNTS_V1 = """\
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
"""


# --------------------------------------------------------------------------- os-release

@pytest.mark.parametrize(("text", "expected"), [
    (OS_RELEASE_DEBIAN12, ("debian", "12", "bookworm")),
    (OS_RELEASE_DEBIAN13, ("debian", "13", "trixie")),
    (OS_RELEASE_UBUNTU2404, ("ubuntu", "24.04", "noble")),
    # No VERSION_CODENAME: from VERSION, else from the Debian release number.
    ('ID=debian\nVERSION_ID="13"\nVERSION="13 (trixie)"\n', ("debian", "13", "trixie")),
    ("ID=debian\nVERSION_ID='12'\n", ("debian", "12", "bookworm")),
])
def test_os_identity(text: str, expected: tuple[str, str, str]) -> None:
    assert hostinfo.os_identity(text) == expected


def test_parse_os_release_ignores_comments_and_unquotes() -> None:
    info = hostinfo.parse_os_release('# comment\n\nNAME="Debian GNU/Linux"\nID=debian\nbroken line\n')
    assert info == {"NAME": "Debian GNU/Linux", "ID": "debian"}


@pytest.mark.parametrize(("version", "codename"), [("12", "bookworm"), ("13", "trixie"), ("13.8", "trixie")])
def test_debian_codename(version: str, codename: str) -> None:
    assert hostinfo.debian_codename(version) == codename


def test_debian_codename_unknown_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown Debian release '99'.*12, 13"):
        hostinfo.debian_codename("99")


# --------------------------------------------------------------------------- mirrors

def test_parse_indextargets_reads_repo_suite_and_origin() -> None:
    targets = hostinfo.parse_indextargets(INDEXTARGETS_DEBIAN12)
    assert [(t.repo, t.suite, t.origin) for t in targets] == [
        ("http://deb.debian.org/debian", "bookworm", "Debian"),
        ("http://deb.debian.org/debian", "bookworm-updates", "Debian"),
        ("http://deb.debian.org/debian-security", "bookworm-security", "Debian"),
        ("https://deb.nodesource.com/node_20.x", "nodistro", "Node Source"),
    ]


@pytest.mark.parametrize(("indextargets", "codename", "mirror", "security"), [
    # Debian 12 host: its own release and trixie (built on bookworm) come from the host's archive.
    (INDEXTARGETS_DEBIAN12, "bookworm", "http://deb.debian.org/debian", "http://deb.debian.org/debian-security"),
    (INDEXTARGETS_DEBIAN12, "trixie", "http://deb.debian.org/debian", "http://deb.debian.org/debian-security"),
    # Debian 13 host on snapshots: both releases from the same snapshot, never from the Google repo.
    (INDEXTARGETS_DEBIAN13_SNAPSHOT, "trixie", "http://snapshot.debian.org/archive/debian/20260101T000000Z",
     "http://snapshot.debian.org/archive/debian-security/20260101T000000Z"),
    (INDEXTARGETS_DEBIAN13_SNAPSHOT, "bookworm", "http://snapshot.debian.org/archive/debian/20260101T000000Z",
     "http://snapshot.debian.org/archive/debian-security/20260101T000000Z"),
    # Before apt-get update: suites from the URIs, third-party repositories still left out.
    (INDEXTARGETS_DEBIAN13_NO_LISTS, "bookworm", "http://mirror.example.org/debian",
     "http://mirror.example.org/debian-security"),
    (INDEXTARGETS_DEBIAN13_ALIAS, "trixie", "http://mirror.example.org/debian",
     hostinfo.DEFAULT_SECURITY_MIRROR),
    # Nothing usable: Debian's own redirector.
    ("", "trixie", hostinfo.DEFAULT_MIRROR, hostinfo.DEFAULT_SECURITY_MIRROR),
])
def test_choose_mirrors(indextargets: str, codename: str, mirror: str, security: str) -> None:
    targets = hostinfo.parse_indextargets(indextargets)
    assert hostinfo.choose_mirror(targets, codename) == mirror
    assert hostinfo.choose_security_mirror(targets, codename) == security


def test_choose_mirror_prefers_the_entry_for_the_suite() -> None:
    text = "\n".join([
        _target("http://a.example/debian/dists/bookworm/main/binary-amd64/Packages", release="bookworm"),
        _target("http://b.example/debian/dists/trixie/main/binary-amd64/Packages", release="trixie"),
        _target("http://c.example/debian-security/dists/bookworm-security/main/binary-amd64/Packages",
                release="bookworm-security", label="Debian-Security"),
        _target("http://d.example/debian-security/dists/trixie-security/main/binary-amd64/Packages",
                release="trixie-security", label="Debian-Security"),
    ])
    targets = hostinfo.parse_indextargets(text)
    assert hostinfo.choose_mirror(targets, "trixie") == "http://b.example/debian"
    assert hostinfo.choose_mirror(targets, "bookworm") == "http://a.example/debian"
    assert hostinfo.choose_security_mirror(targets, "trixie") == "http://d.example/debian-security"
    assert hostinfo.choose_security_mirror(targets, "bookworm") == "http://c.example/debian-security"


def test_apt_sources_debian12_one_line_format() -> None:
    path, content = hostinfo.apt_sources("bookworm", "http://m/debian", "http://m/debian-security")
    assert path == "/etc/apt/sources.list"
    assert content.splitlines() == [
        "deb http://m/debian bookworm main",
        "deb http://m/debian bookworm-updates main",
        "deb http://m/debian-security bookworm-security main",
    ]


def test_apt_sources_debian13_deb822_with_trixie_security() -> None:
    path, content = hostinfo.apt_sources("trixie", "http://m/debian", "http://m/debian-security")
    assert path == "/etc/apt/sources.list.d/debian.sources"
    blocks = content.strip().split("\n\n")
    stanzas = [dict(line.split(": ", 1) for line in block.splitlines()) for block in blocks]
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    assert stanzas == [
        {"Types": "deb", "URIs": "http://m/debian", "Suites": "trixie trixie-updates", "Components": "main",
         "Signed-By": keyring},
        {"Types": "deb", "URIs": "http://m/debian-security", "Suites": "trixie-security",
         "Components": "main", "Signed-By": keyring},
    ]


# --------------------------------------------------------------------------- podman / cgroups

@pytest.mark.parametrize(("text", "version"), [
    ("podman version 4.3.1\n", (4, 3)),
    ("podman version 5.4.2\n", (5, 4)),
])
def test_parse_podman_version(text: str, version: tuple[int, int]) -> None:
    assert hostinfo.parse_podman_version(text) == version


def test_parse_podman_version_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="cannot read a podman version"):
        hostinfo.parse_podman_version("command not found")


@pytest.mark.parametrize(("mounts", "layout"), [
    (MOUNTS_DEBIAN12_HYBRID, "hybrid"), (MOUNTS_DEBIAN13_V2, "v2"), (MOUNTS_V1, "v1")])
def test_cgroup_layout(mounts: str, layout: str) -> None:
    assert hostinfo.cgroup_layout(mounts) == layout


def _settings(conf: str) -> list[str]:
    """The non-comment lines of a containers.conf text."""
    return [line for line in conf.splitlines() if line and not line.startswith("#")]


@pytest.mark.parametrize("podman", [(4, 3), (5, 4)])
def test_containers_conf_debian12_hybrid_sandbox(podman: tuple[int, int]) -> None:
    """This machine's facts: hybrid cgroups, nofile hard 20000, nproc hard 96362, runc only."""
    conf = hostinfo.containers_conf(podman, "hybrid", 20000, 96362, {"runc"})
    assert _settings(conf) == [
        "[containers]",
        'default_ulimits = ["nofile=16384:16384", "nproc=32768:32768"]',
        'volumes = ["/sys/fs/cgroup/unified:/sys/fs/cgroup/unified:rw"]',
        "[engine]",
        'runtime = "runc"',
    ]
    # crun being installed does not matter: it refuses the hybrid layout.
    assert hostinfo.containers_conf(podman, "hybrid", 20000, 96362, {"crun", "runc"}) == conf


@pytest.mark.parametrize("podman", [(4, 3), (5, 4)])
def test_containers_conf_cgroup_v2_with_crun_needs_nothing(podman: tuple[int, int]) -> None:
    """A Debian 13 host with cgroup v2 only and no low limits: podman's defaults work, nothing is set."""
    conf = hostinfo.containers_conf(podman, "v2", -1, -1, {"crun", "runc"})
    assert _settings(conf) == []
    facts = f"podman {podman[0]}.{podman[1]}, cgroup v2"
    assert conf.startswith(f"# Written by jupyterops.cloud scripts/setup.sh ({facts})")


def test_containers_conf_v2_sandbox_caps_ulimits_at_the_hard_limit() -> None:
    conf = hostinfo.containers_conf((5, 4), "v2", 8192, 1048576 * 4, {"crun"})
    assert _settings(conf) == ["[containers]", 'default_ulimits = ["nofile=8192:8192", "nproc=32768:32768"]']


def test_containers_conf_v2_without_crun_uses_runc() -> None:
    conf = hostinfo.containers_conf((5, 4), "v2", -1, -1, {"runc"})
    assert _settings(conf) == ["[engine]", 'runtime = "runc"']


@pytest.mark.parametrize(("args", "message"), [
    (((3, 4), "v2", -1, -1, {"runc"}), "podman 3.4 is too old"),
    (((4, 3), "hybrid", -1, -1, {"crun"}), "install runc"),
    (((5, 4), "v2", -1, -1, set()), "no OCI runtime found"),
])
def test_containers_conf_refuses_what_cannot_work(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hostinfo.containers_conf(*args)


# --------------------------------------------------------------------------- CLI

@pytest.mark.parametrize(("text", "line"), [(OS_RELEASE_DEBIAN12, "debian 12 bookworm"),
                                             (OS_RELEASE_DEBIAN13, "debian 13 trixie")])
def test_cli_os_release(tmp_path: Path, text: str, line: str) -> None:
    f = tmp_path / "os-release"
    f.write_text(text)
    out = subprocess.run(["/usr/bin/python3", str(_PATH), "os-release", str(f)], capture_output=True,
                         text=True, check=True).stdout
    assert out == line + "\n"


def test_cli_apt_sources_prints_path_then_content() -> None:
    out = subprocess.run(["/usr/bin/python3", str(_PATH), "apt-sources", "trixie", "http://m/debian",
                          "http://m/debian-security"], capture_output=True, text=True, check=True).stdout
    path, _, content = out.partition("\n")
    assert (path, content) == hostinfo.apt_sources("trixie", "http://m/debian", "http://m/debian-security")


def test_cli_unknown_command_exits_2() -> None:
    proc = subprocess.run(["/usr/bin/python3", str(_PATH), "nonsense"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 2
