#!/usr/bin/python3
"""Host facts for scripts/setup.sh and scripts/build-images.sh, as pure functions plus a small CLI.

Standard library only: setup.sh runs it with /usr/bin/python3 before the project venv exists.
Every decision is taken from what the host shows (its /etc/os-release, `apt-get indextargets`,
`podman --version`, /proc/self/mounts, its resource limits), never from a guessed release name.

CLI (each prints plain text for the shell):
  hostinfo.py os-release [FILE]                 -> "ID VERSION_ID CODENAME"
  hostinfo.py codename VERSION                  -> Debian codename of a release number (12, 13)
  hostinfo.py mirror CODENAME                   -> the Debian archive to build CODENAME from
  hostinfo.py security-mirror CODENAME          -> the Debian security archive for CODENAME
  hostinfo.py apt-sources CODENAME MIRROR SEC   -> the image's apt sources (path on line 1)
  hostinfo.py containers-conf                   -> /etc/containers/containers.conf for this host
"""

from __future__ import annotations

import re
import resource
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"

# Debian release numbers and codenames (https://www.debian.org/releases/).
DEBIAN_CODENAMES = {
    "10": "buster",
    "11": "bullseye",
    "12": "bookworm",
    "13": "trixie",
    "14": "forky",
    "15": "duke",
}
# Names a Debian archive suite may carry (codenames, aliases), used when apt has no Release data yet.
_DEBIAN_SUITE_NAMES = set(DEBIAN_CODENAMES.values()) | {
    "sid", "stable", "oldstable", "oldoldstable", "testing", "unstable", "experimental"}

# What rootful podman asks the kernel for when containers.conf sets no default_ulimits
# (define.RLimitDefaultValue in podman 4 and 5). A host whose hard limit is lower (a nested
# sandbox) refuses setrlimit, so the config must ask for no more than the host allows.
PODMAN_RLIMIT_DEFAULT = 1048576
WANTED_NOFILE = 16384
WANTED_NPROC = 32768
# Where Debian's crun and runc live (/usr/bin, /usr/sbin), whatever PATH the caller has.
_RUNTIME_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# --------------------------------------------------------------------------- os-release

def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release(5) text into a dict (shell-style quoting, comments ignored)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            parts = shlex.split(value, posix=True)
        except ValueError:
            parts = [value.strip("'\"")]
        out[key.strip()] = parts[0] if parts else ""
    return out


def os_identity(text: str) -> tuple[str, str, str]:
    """Return (ID, VERSION_ID, codename) of an os-release text; codename from the release number if absent."""
    info = parse_os_release(text)
    os_id = info.get("ID", "")
    version = info.get("VERSION_ID", "")
    codename = info.get("VERSION_CODENAME", "")
    if not codename:
        # Older files put it in VERSION="12 (bookworm)" only.
        m = re.search(r"\(([a-z]+)\)", info.get("VERSION", ""))
        codename = m.group(1) if m else ""
    if not codename and os_id == "debian":
        codename = DEBIAN_CODENAMES.get(version.split(".")[0], "")
    return os_id, version, codename


def debian_codename(version: str) -> str:
    """Return the Debian codename of a release number ('13' -> 'trixie'); ValueError if unknown."""
    major = version.split(".")[0]
    if major not in DEBIAN_CODENAMES:
        raise ValueError(f"unknown Debian release {version!r}; known: {', '.join(DEBIAN_CODENAMES)}")
    return DEBIAN_CODENAMES[major]


# --------------------------------------------------------------------------- apt mirrors

@dataclass(frozen=True)
class AptTarget:
    """One `Created-By: Packages` record of `apt-get indextargets`."""

    repo: str  # archive root, e.g. http://deb.debian.org/debian
    suite: str  # as the sources entry names it: bookworm, stable, trixie-security
    codename: str  # Release file's Codename (the suite when apt has no Release data yet)
    origin: str  # Release file's Origin ("" before the first apt-get update)
    label: str  # Release file's Label


def parse_indextargets(text: str) -> list[AptTarget]:
    """Parse the full (deb822-style) output of `apt-get indextargets` into Packages targets."""
    targets: list[AptTarget] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith((" ", "\t")):
                fields[key.strip()] = value.strip()
        if fields.get("Created-By", "Packages") != "Packages" or "URI" not in fields:
            continue
        uri = fields["URI"]
        m = re.match(r"(?P<root>.+?)/dists/(?P<suite>[^/]+)/", uri)
        if not m:  # flat repositories have no dists/ and are never a Debian archive
            continue
        repo = fields.get("Repo-URI", "").rstrip("/") or m.group("root")
        suite = fields.get("Release") or m.group("suite")
        targets.append(AptTarget(repo=repo, suite=suite, codename=fields.get("Codename") or suite,
                                 origin=fields.get("Origin", ""),
                                 label=fields.get("Label", "")))
    return targets


def _is_debian(t: AptTarget) -> bool:
    """True for Debian's own archive (main or security), not for third-party repositories."""
    if t.origin:
        return t.origin == "Debian"
    return t.suite.split("-")[0] in _DEBIAN_SUITE_NAMES


def _is_security(t: AptTarget) -> bool:
    return t.suite.endswith("-security") or t.codename.endswith("-security") or t.label == "Debian-Security"


def choose_mirror(targets: list[AptTarget], codename: str) -> str:
    """Return the Debian archive for CODENAME: the host's entry for it, else the host's Debian archive."""
    main = [t for t in targets if _is_debian(t) and not _is_security(t)]
    for t in main:
        if codename in (t.suite, t.codename):
            return t.repo
    # The host runs another release: its Debian archive (plain mirror or snapshot) serves every suite.
    return main[0].repo if main else DEFAULT_MIRROR


def choose_security_mirror(targets: list[AptTarget], codename: str) -> str:
    """Return the security archive for CODENAME: the host's entry for it, else the host's security archive."""
    sec = [t for t in targets if _is_debian(t) and _is_security(t)]
    for t in sec:
        if f"{codename}-security" in (t.suite, t.codename):
            return t.repo
    return sec[0].repo if sec else DEFAULT_SECURITY_MIRROR


def apt_sources(codename: str, mirror: str, security: str) -> tuple[str, str]:
    """Return (path, content) of an image's apt sources: one-line up to 12, deb822 (trixie's) from 13."""
    release = {v: k for k, v in DEBIAN_CODENAMES.items()}.get(codename)
    if release is not None and int(release) <= 12:
        return "/etc/apt/sources.list", (
            f"deb {mirror} {codename} main\n"
            f"deb {mirror} {codename}-updates main\n"
            f"deb {security} {codename}-security main\n")
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    return "/etc/apt/sources.list.d/debian.sources", (
        f"Types: deb\nURIs: {mirror}\nSuites: {codename} {codename}-updates\nComponents: main\n"
        f"Signed-By: {keyring}\n\n"
        f"Types: deb\nURIs: {security}\nSuites: {codename}-security\nComponents: main\n"
        f"Signed-By: {keyring}\n")


# --------------------------------------------------------------------------- podman / cgroups

def parse_podman_version(text: str) -> tuple[int, int]:
    """Return (major, minor) from `podman --version` output ('podman version 5.4.2')."""
    m = re.search(r"(\d+)\.(\d+)", text)
    if not m:
        raise ValueError(f"cannot read a podman version from {text.strip()!r}")
    return int(m.group(1)), int(m.group(2))


def cgroup_layout(mounts: str) -> str:
    """Return 'v2', 'hybrid' or 'v1' from /proc/self/mounts text."""
    fs_at: dict[str, str] = {}
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            fs_at[parts[1]] = parts[2]
    if fs_at.get("/sys/fs/cgroup") == "cgroup2":
        return "v2"
    if fs_at.get("/sys/fs/cgroup/unified") == "cgroup2":
        return "hybrid"
    return "v1"


def containers_conf(podman: tuple[int, int], layout: str, nofile_hard: int, nproc_hard: int,
                    runtimes: frozenset[str] | set[str]) -> str:
    """Return the containers.conf this host needs; what no fact calls for is left to podman's defaults.

    podman: (major, minor); layout: cgroup_layout(); *_hard: the host's hard limits (-1 = unlimited);
    runtimes: the OCI runtimes installed ("crun", "runc").
    """
    if podman < (4, 0):
        raise ValueError(f"podman {podman[0]}.{podman[1]} is too old: Molecule's podman driver needs 4.0+")
    containers: list[str] = []
    engine: list[str] = []
    # RLIM_INFINITY reads as -1 through the resource module.
    nofile_hard = PODMAN_RLIMIT_DEFAULT if nofile_hard < 0 else nofile_hard
    nproc_hard = PODMAN_RLIMIT_DEFAULT if nproc_hard < 0 else nproc_hard
    if nofile_hard < PODMAN_RLIMIT_DEFAULT or nproc_hard < PODMAN_RLIMIT_DEFAULT:
        nofile = min(WANTED_NOFILE, nofile_hard)
        nproc = min(WANTED_NPROC, nproc_hard)
        containers += [
            f"# the host's hard limits (nofile {nofile_hard}, nproc {nproc_hard}) are below podman's default",
            f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]']
    if layout == "hybrid":
        containers += [
            "# hybrid cgroups: without the unified hierarchy systemd in a container hangs some stops 90 s",
            'volumes = ["/sys/fs/cgroup/unified:/sys/fs/cgroup/unified:rw"]']
        if "runc" not in runtimes:
            raise ValueError("this host has hybrid cgroups, which crun refuses: install runc")
        engine += ["# crun refuses the hybrid cgroup layout", 'runtime = "runc"']
    elif "crun" not in runtimes:
        if "runc" not in runtimes:
            raise ValueError("no OCI runtime found (crun or runc): install one")
        # podman 4.3 and 5.x both try crun first.
        engine += ["# crun is not installed", 'runtime = "runc"']
    facts = f"podman {podman[0]}.{podman[1]}, cgroup {layout}"
    lines = [f"# Written by jupyterops.cloud scripts/setup.sh ({facts})"]
    if containers:
        lines += ["[containers]", *containers]
    if engine:
        lines += ["", "[engine]", *engine] if containers else ["[engine]", *engine]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CLI

def _indextargets() -> list[AptTarget]:
    try:
        out = subprocess.run(["apt-get", "indextargets", "Created-By: Packages"], capture_output=True,
                             text=True, check=False).stdout
    except OSError:
        out = ""
    return parse_indextargets(out)


def main(argv: list[str]) -> int:
    """Run one CLI command (see the module docstring)."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "os-release":
        path = Path(args[0] if args else "/etc/os-release")
        print(*os_identity(path.read_text()))
    elif cmd == "codename" and len(args) == 1:
        print(debian_codename(args[0]))
    elif cmd == "mirror" and len(args) == 1:
        print(choose_mirror(_indextargets(), args[0]))
    elif cmd == "security-mirror" and len(args) == 1:
        print(choose_security_mirror(_indextargets(), args[0]))
    elif cmd == "apt-sources" and len(args) == 3:
        path, content = apt_sources(*args)
        print(path)
        print(content, end="")
    elif cmd == "containers-conf":
        version = subprocess.run(["podman", "--version"], capture_output=True, text=True, check=True).stdout
        layout = cgroup_layout(Path("/proc/self/mounts").read_text())
        runtimes = {rt for rt in ("crun", "runc") if shutil.which(rt, path=_RUNTIME_PATH)}
        limits = (resource.getrlimit(resource.RLIMIT_NOFILE)[1], resource.getrlimit(resource.RLIMIT_NPROC)[1])
        print(containers_conf(parse_podman_version(version), layout, *limits, runtimes), end="")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
