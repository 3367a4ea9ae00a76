"""SSH test host: a rootful podman container standing in for the EC2 instance, reached over real SSH.

What it is: Debian 12 with systemd as PID 1 (the project's localhost/jupyterops-debian12-systemd
image plus openssh-server, cached as a derived image), a non-root login user ``admin`` with
passwordless sudo and key-only SSH (the stand-in for the key pair EC2 injects), sshd published on
127.0.0.1:<port>, and a loop device (a sparse file) passed in as ``/dev/xvdf``: the stand-in for the
EBS data volume. The ``/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...`` name that udev makes
on a Nitro instance is made by :func:`hook` when the EC2 emulator attaches the volume (see
``ec2_emulator.py --attach-hook``), so the data_volume role finds the disk by volume id as on EC2.

What it is not: no real EC2 instance (stopping the emulated instance does not stop the container),
no NVMe, no udev (the by-id name is a symlink the hook makes), no cloud-init.

Used two ways:

- from Python (pytest)::

      host = SshHost(state_dir, name="jupyterops-ssh-test", public_key=key.pub).up()
      host.port, host.known_hosts, host.exec("findmnt", "/data")
      host.recreate()      # a fresh machine: new container, same disk
      host.down()          # container, loop device and disk file gone

- from the command line (scripts/demo.sh)::

      python tests/harness/ssh_host.py up --state-dir D --name C --public-key K.pub [--alias jupyter]
      python tests/harness/ssh_host.py recreate --state-dir D
      python tests/harness/ssh_host.py down --state-dir D [--keep-disk]
      python tests/harness/ssh_host.py hook --container C attach|detach VOLUME_ID INSTANCE_ID DEVICE

``up`` prints the state as JSON (container, port, user, known_hosts, loop, disk).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BASE_IMAGE = "localhost/jupyterops-debian12-systemd:latest"
DERIVED_IMAGE = "localhost/jupyterops-ssh-host"
REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "ssh-host"
DISK_DEVICE = "/dev/xvdf"
BY_ID = "/dev/disk/by-id"
BY_ID_PREFIX = "nvme-Amazon_Elastic_Block_Store_"
# Attachments at these device names are the root volume: no by-id name for them.
ROOT_DEVICES = {"/dev/sda", "/dev/sda1", "/dev/xvda", "/dev/xvda1"}
LOGIN_USER = "admin"

# Baked into the derived image (its hash is part of the image tag, so editing it rebuilds the image).
# Host keys are removed and made at each boot, so every stand-in instance has its own, as on EC2.
_IMAGE_SCRIPT = r"""
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/systemd/system/ssh.service.d
cat > /etc/systemd/system/ssh.service.d/10-host-keys.conf <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF
cat > /etc/ssh/sshd_config.d/10-standin.conf <<'EOF'
# SSH test host (stand-in for the EC2 instance): key login only, no root login.
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
EOF
systemctl enable ssh.service >/dev/null 2>&1 || true
apt-get clean
"""

# Run at every new container (the stand-in for first boot: cloud-init makes the user, adds the key).
_BOOT_SCRIPT = r"""
set -eu
id {user} >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo {user}
printf '%s ALL=(ALL) NOPASSWD:ALL\n' {user} > /etc/sudoers.d/90-{user}
chmod 0440 /etc/sudoers.d/90-{user}
install -d -m 0700 -o {user} -g {user} /home/{user}/.ssh
cat > /home/{user}/.ssh/authorized_keys
chown {user}:{user} /home/{user}/.ssh/authorized_keys
chmod 0600 /home/{user}/.ssh/authorized_keys
passwd -l {user} >/dev/null
update-ca-certificates >/dev/null 2>&1 || true
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > /etc/pip.conf
systemctl restart ssh.service
"""


def _run(*args: str, check: bool = True, input_text: str | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command; raise with its output on failure when check."""
    proc = subprocess.run(args, capture_output=True, text=True, input=input_text, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    return proc


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def by_id_name(volume_id: str) -> str:
    """The NVMe by-id path a Nitro instance shows for an EBS volume id."""
    return f"{BY_ID}/{BY_ID_PREFIX}{volume_id.replace('-', '')}"


def ensure_image() -> str:
    """The base image plus openssh-server, built once per base image and script (a podman image)."""
    base_id = _run("podman", "image", "inspect", "-f", "{{.Id}}", BASE_IMAGE).stdout.strip()
    key = hashlib.sha256((base_id + _IMAGE_SCRIPT).encode()).hexdigest()[:12]
    image = f"{DERIVED_IMAGE}:{key}"
    if _run("podman", "image", "exists", image, check=False).returncode == 0:
        return image
    archives = CACHE / "apt-archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    builder = f"jupyterops-ssh-host-build-{key}"
    _run("podman", "rm", "-f", builder, check=False)
    try:
        # The .debs stay under .cache/ssh-host/apt-archives for the next build.
        _run("podman", "run", "--name", builder, "-v", f"{archives}:/var/cache/apt/archives:rw",
             "--entrypoint", "/bin/sh", BASE_IMAGE, "-c",
             _IMAGE_SCRIPT.replace("apt-get clean\n", ""), timeout=900)
        _run("podman", "commit", "-q", "--change", 'CMD ["/sbin/init"]',
             "--change", "STOPSIGNAL SIGRTMIN+3", "--change", "ENTRYPOINT []", builder, image)
    finally:
        _run("podman", "rm", "-f", builder, check=False)
    return image


class SshHost:
    """One SSH test host (stand-in for the EC2 instance) with its data disk and state under state_dir."""

    def __init__(self, state_dir: Path | str, name: str = "jupyterops-ssh-host",
                 public_key: Path | str | None = None, port: int | None = None,
                 disk_size: str = "2G", aliases: list[str] | tuple[str, ...] = (),
                 hostname: str = "jupyter") -> None:
        self.state_dir = Path(state_dir).resolve()
        self.state_file = self.state_dir / "ssh-host.json"
        saved = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        self.name = saved.get("container", name)
        self.port = int(port or saved.get("port") or free_port())
        self.public_key = Path(public_key or saved.get("public_key") or "")
        self.disk = Path(saved.get("disk") or self.state_dir / "data-disk.img")
        self.disk_size = disk_size
        self.aliases = list(aliases or saved.get("aliases", []))
        self.hostname = saved.get("hostname", hostname)
        self.loop = saved.get("loop", "")
        self.known_hosts = self.state_dir / "known_hosts"
        self.user = LOGIN_USER

    # ---- state ----
    def info(self) -> dict[str, Any]:
        """What a caller needs to reach the host (also saved as ssh-host.json)."""
        return {"container": self.name, "port": self.port, "user": self.user, "host": "127.0.0.1",
                "known_hosts": str(self.known_hosts), "loop": self.loop, "disk": str(self.disk),
                "device": DISK_DEVICE, "public_key": str(self.public_key), "aliases": self.aliases,
                "hostname": self.hostname}

    def _save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(self.info(), indent=2) + "\n")

    # ---- the disk (stand-in for the EBS data volume) ----
    def ensure_disk(self) -> str:
        """Attach the sparse disk file to a loop device (made once, reused while attached)."""
        self.disk.parent.mkdir(parents=True, exist_ok=True)
        if not self.disk.exists():
            _run("truncate", "-s", self.disk_size, str(self.disk))
        attached = _run("losetup", "-j", str(self.disk), "-O", "NAME", "-n", check=False).stdout.split()
        if not attached:
            attached = [_run("losetup", "-f", "--show", str(self.disk)).stdout.strip()]
        self.loop = attached[0]
        self._save()
        return self.loop

    def release_disk(self, delete: bool = True) -> None:
        """Detach the loop device; delete the disk file too when delete."""
        for dev in _run("losetup", "-j", str(self.disk), "-O", "NAME", "-n", check=False).stdout.split():
            _run("losetup", "-d", dev, check=False)
        self.loop = ""
        if delete:
            self.disk.unlink(missing_ok=True)

    # ---- the container ----
    def exists(self) -> bool:
        """Whether the container exists."""
        return _run("podman", "container", "exists", self.name, check=False).returncode == 0

    def running(self) -> bool:
        """Whether the container runs."""
        proc = _run("podman", "inspect", "-f", "{{.State.Running}}", self.name, check=False)
        return proc.stdout.strip() == "true"

    def exec(self, *args: str, check: bool = True, input_text: str | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command as root inside the container."""
        flags = ["-i"] if input_text is not None else []
        return _run("podman", "exec", *flags, self.name, *args, check=check, input_text=input_text,
                    timeout=timeout)

    def up(self) -> SshHost:
        """Make sure the disk, the container and sshd are up; write known_hosts; return self."""
        if not self.public_key.is_file():
            raise SystemExit(f"public key {self.public_key} not found (--public-key)")
        self.ensure_disk()
        if self.exists() and not self.running():
            _run("podman", "start", self.name)
        if not self.exists():
            image = ensure_image()
            _run("podman", "run", "-d", "--name", self.name, "--hostname", self.hostname,
                 "--systemd=always", "--cap-add", "SYS_BOOT", "--cap-add", "SYS_ADMIN",
                 # Without udev, mount UUID=... finds the disk by scanning /sys/dev/block (podman masks it).
                 "--security-opt", "unmask=/sys/dev/block",
                 "--device", f"{self.loop}:{DISK_DEVICE}", "--label", "jupyterops=ssh-host",
                 "-p", f"127.0.0.1:{self.port}:22", image, "/sbin/init")
            self._boot()
        self._wait_ssh()
        self._save()
        return self

    def _boot(self) -> None:
        """First boot of a new stand-in instance: wait for systemd, add the user and its key."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            state = self.exec("systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.5)
        # The container trusts this machine's extra CAs (as a host behind a TLS-intercepting proxy).
        for cert in sorted(Path("/usr/local/share/ca-certificates").glob("*.crt")):
            _run("podman", "cp", str(cert), f"{self.name}:/usr/local/share/ca-certificates/{cert.name}")
        self.exec("sh", "-c", _BOOT_SCRIPT.format(user=self.user),
                  input_text=self.public_key.read_text())

    def _wait_ssh(self, timeout: float = 60) -> None:
        """Wait until sshd answers; record its host keys for 127.0.0.1:port and the aliases."""
        deadline = time.monotonic() + timeout
        keys = ""
        while time.monotonic() < deadline:
            proc = _run("ssh-keyscan", "-T", "3", "-p", str(self.port), "127.0.0.1", check=False)
            keys = "\n".join(line for line in proc.stdout.splitlines() if line and not line.startswith("#"))
            if keys:
                break
            time.sleep(0.5)
        if not keys:
            raise RuntimeError(f"sshd of {self.name} did not answer on 127.0.0.1:{self.port}")
        lines = keys.splitlines()
        # connect.yml's blocks use HostKeyAlias <name>: the same keys under each alias.
        for alias in self.aliases:
            lines += [f"{alias} {line.split(' ', 1)[1]}" for line in keys.splitlines()]
        self.known_hosts.write_text("\n".join(lines) + "\n")
        self.known_hosts.chmod(0o600)

    def remove_container(self) -> None:
        """Remove the container (the disk and its loop device stay)."""
        if self.exists():
            _run("podman", "rm", "-f", "-t", "5", self.name, check=False)

    def recreate(self) -> SshHost:
        """A fresh stand-in instance: new container (new host keys), same disk."""
        self.remove_container()
        return self.up()

    def down(self, keep_disk: bool = False) -> None:
        """Remove the container, detach the loop device, delete the disk file (unless keep_disk)."""
        self.remove_container()
        if not keep_disk:
            self.release_disk(delete=True)
            self.state_file.unlink(missing_ok=True)
            self.known_hosts.unlink(missing_ok=True)
        else:
            self._save()

    def ssh_args(self, identity: Path | str) -> list[str]:
        """ssh command prefix that logs in as the login user with identity and the recorded host keys."""
        return ["ssh", "-p", str(self.port), "-i", str(identity), "-o", "IdentitiesOnly=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "BatchMode=yes",
                f"{self.user}@127.0.0.1"]

    def __enter__(self) -> SshHost:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()


def hook(container: str, action: str, volume_id: str, instance_id: str, device: str = "") -> int:
    """EC2 emulator attach hook: make (attach) or remove (detach) the volume's by-id name in container."""
    if device in ROOT_DEVICES:
        return 0
    if _run("podman", "container", "exists", container, check=False).returncode != 0:
        print(f"ssh_host hook: no container {container}; {action} of {volume_id} ignored", file=sys.stderr)
        return 0
    link = by_id_name(volume_id)
    script = f"mkdir -p {BY_ID} && ln -sfn {DISK_DEVICE} {link}" if action == "attach" else f"rm -f {link}"
    proc = _run("podman", "exec", container, "sh", "-c", script, check=False)
    print(f"ssh_host hook: {action} {volume_id} ({instance_id}, {device}) in {container}: "
          f"rc={proc.returncode}", file=sys.stderr)
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "recreate", "down", "info"):
        p = sub.add_parser(name)
        p.add_argument("--state-dir", required=True)
        if name in ("up", "recreate"):
            p.add_argument("--name", default="jupyterops-ssh-host")
            p.add_argument("--public-key")
            p.add_argument("--port", type=int, default=0)
            p.add_argument("--disk-size", default="2G")
            p.add_argument("--alias", action="append", default=[])
            p.add_argument("--hostname", default="jupyter")
        if name == "down":
            p.add_argument("--keep-disk", action="store_true")
    p = sub.add_parser("hook")
    p.add_argument("--container", required=True)
    p.add_argument("action", choices=["attach", "detach"])
    p.add_argument("volume_id")
    p.add_argument("instance_id")
    p.add_argument("device", nargs="?", default="")
    args = parser.parse_args(argv)

    if args.command == "hook":
        return hook(args.container, args.action, args.volume_id, args.instance_id, args.device)
    if not shutil.which("podman"):
        raise SystemExit("podman is required")
    if args.command in ("up", "recreate"):
        host = SshHost(args.state_dir, name=args.name, public_key=args.public_key, port=args.port or None,
                       disk_size=args.disk_size, aliases=args.alias, hostname=args.hostname)
        (host.recreate() if args.command == "recreate" else host.up())
        print(json.dumps(host.info()))
    elif args.command == "down":
        SshHost(args.state_dir).down(keep_disk=args.keep_disk)
    else:
        state = Path(args.state_dir) / "ssh-host.json"
        if not state.exists():
            return 1
        print(state.read_text().strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
