"""Local EC2 emulator: moto's server on 127.0.0.1 with the moto 5.2.5 gaps patched in-process.

Used three ways:
- as a pytest fixture (see tests/conftest.py: ``ec2_emulator``),
- from the command line for ``make demo`` and ad-hoc playbook runs::

      python tests/harness/ec2_emulator.py start --state-dir .cache/emulator
      python tests/harness/ec2_emulator.py stop --state-dir .cache/emulator

- from Python: ``with Ec2Emulator() as emu: emu.url``.

The patches (see ../shared/ENVIRONMENT.md):
1. DescribeVolumes omits ``MultiAttachEnabled`` when the volume was created without it;
   amazon.aws ``ec2_vol`` then fails with KeyError on its second run. We default it to False.
2. CreateImage with a ``TagSpecifications`` entry for ``snapshot`` raises NotImplementedError;
   we apply those tags to the AMI's snapshot instead, as AWS does.
3. DescribeVolumes omits ``SnapshotId`` for a volume not made from a snapshot (AWS returns "");
   amazon.aws ``ec2_vol_info`` then fails with KeyError 'snapshot_id'. We default it to "".

Request log (not a moto gap either: moto accepts parameters it does not model, e.g. CreateImage's
BlockDeviceMapping): every API call the server receives is recorded with its action and query
parameters; ``Ec2Emulator.requests("CreateImage")`` returns them, so tests assert what AWS would
receive against AWS's documented rules. ``reset()`` clears it.

Attach hook (not a moto gap: a way to make the attachment visible on a stand-in instance): with
``--attach-hook CMD`` (or the env var JUPYTEROPS_EC2_ATTACH_HOOK, or ``Ec2Emulator(attach_hook=...)``)
``CMD attach VOLUME_ID INSTANCE_ID DEVICE`` runs after every successful AttachVolume (also the
instance's root volume at launch) and ``CMD detach VOLUME_ID INSTANCE_ID DEVICE`` after every
DetachVolume (also at termination). tests/harness/ssh_host.py's ``hook`` command makes the NVMe
by-id symlink of the volume in the SSH test host with it.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

DEFAULT_REGION = "eu-west-1"
DEFAULT_SEED = 42
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

_PATCHED = False
ATTACH_HOOK_ENV = "JUPYTEROPS_EC2_ATTACH_HOOK"
# Command (argv list) run on attach/detach; see set_attach_hook.
_ATTACH_HOOK: list[str] = shlex.split(os.environ.get(ATTACH_HOOK_ENV, ""))


def set_attach_hook(command: str | list[str] | None) -> None:
    """Run command + [attach|detach, volume id, instance id, device] after each (de)attachment."""
    global _ATTACH_HOOK
    _ATTACH_HOOK = shlex.split(command) if isinstance(command, str) else list(command or [])


def _run_attach_hook(action: str, volume_id: str, instance_id: str, device: str) -> None:
    """Run the attach hook once (bounded); its failure is logged, never raised into the API call."""
    if not _ATTACH_HOOK:
        return
    try:
        proc = subprocess.run([*_ATTACH_HOOK, action, volume_id, instance_id, device or ""],
                              capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"attach hook {action} {volume_id}: {exc}", file=sys.stderr, flush=True)
        return
    if proc.returncode != 0:
        print(f"attach hook {action} {volume_id} failed ({proc.returncode}): {proc.stderr.strip()}",
              file=sys.stderr, flush=True)


# The API calls received (service, action, flattened query parameters), oldest first; the newest 20000
# only, so a long-running demo emulator stays small.
REQUEST_LOG: collections.deque[dict[str, Any]] = collections.deque(maxlen=20000)


def patch_moto() -> None:
    """Apply the in-process fixes for the moto 5.2.5 gaps that break amazon.aws."""
    global _PATCHED
    if _PATCHED:
        return
    from moto.ec2.models import amis, elastic_block_store

    volume_init = elastic_block_store.Volume.__init__

    def _volume_init(self: Any, *args: Any, **kwargs: Any) -> None:
        volume_init(self, *args, **kwargs)
        if self.multi_attach_enabled is None:
            self.multi_attach_enabled = False
        if self.snapshot_id is None:
            self.snapshot_id = ""

    elastic_block_store.Volume.__init__ = _volume_init  # type: ignore[method-assign]

    create_image = amis.AmiBackend.create_image

    def _create_image(
        self: Any,
        instance_id: str,
        name: str,
        description: str,
        tag_specifications: list[dict[str, Any]],
    ) -> Any:
        snapshot_tags: list[dict[str, str]] = []
        kept = []
        for spec in tag_specifications or []:
            if spec.get("ResourceType") == "snapshot":
                snapshot_tags += spec.get("Tags", [])
            else:
                kept.append(spec)
        ami = create_image(self, instance_id, name, description, kept)
        snapshot = getattr(ami, "ebs_snapshot", None)
        if snapshot is not None:
            for tag in snapshot_tags:
                snapshot.add_tag(tag["Key"], tag["Value"])
        return ami

    amis.AmiBackend.create_image = _create_image  # type: ignore[method-assign]

    ebs = elastic_block_store.EBSBackend
    attach_volume, detach_volume = ebs.attach_volume, ebs.detach_volume

    def _attach_volume(self: Any, volume_id: str, instance_id: str, device_path: str,
                       *args: Any, **kwargs: Any) -> Any:
        attachment = attach_volume(self, volume_id, instance_id, device_path, *args, **kwargs)
        if attachment is not None:
            _run_attach_hook("attach", volume_id, instance_id, device_path)
        return attachment

    def _detach_volume(self: Any, volume_id: str, instance_id: str, device_path: str) -> Any:
        attachment = detach_volume(self, volume_id, instance_id, device_path)
        _run_attach_hook("detach", volume_id, instance_id, attachment.device)
        return attachment

    ebs.attach_volume = _attach_volume  # type: ignore[method-assign]
    ebs.detach_volume = _detach_volume  # type: ignore[method-assign]

    from moto.core.responses import BaseResponse

    call_action = BaseResponse.call_action

    def _call_action(self: Any) -> Any:
        params = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v)
                  for k, v in (self.querystring or {}).items() if k not in ("Action", "Version")}
        REQUEST_LOG.append({"service": self.service_name, "action": self._get_action(), "params": params})
        return call_action(self)

    BaseResponse.call_action = _call_action  # type: ignore[method-assign]
    _PATCHED = True


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on host right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _post(url: str) -> None:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


class Ec2Emulator:
    """moto server in a thread of this process, bound to loopback, seeded for determinism."""

    def __init__(self, port: int | None = None, seed: int | None = DEFAULT_SEED,
                 region: str = DEFAULT_REGION, attach_hook: str | list[str] | None = None) -> None:
        if attach_hook is not None:
            set_attach_hook(attach_hook)
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.seed = seed
        self.region = region
        self._server: Any = None

    @property
    def url(self) -> str:
        """Endpoint URL for botocore and amazon.aws (endpoint_url / AWS_URL)."""
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 and amazon.aws at this emulator."""
        return {
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_URL": self.url,
            "AWS_ENDPOINT_URL": self.url,
        }

    def start(self) -> Ec2Emulator:
        """Start the server and wait until it answers."""
        patch_moto()
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self.reset()
        return self

    def requests(self, action: str | None = None) -> list[dict[str, Any]]:
        """The calls received since the last reset (only those of action, when given), oldest first."""
        return [dict(r) for r in REQUEST_LOG if action is None or r["action"] == action]

    def reset(self) -> None:
        """Drop every emulated resource and re-apply the seed; forget the recorded requests."""
        _post(f"{self.url}/moto-api/reset")
        REQUEST_LOG.clear()
        if self.seed is not None:
            _post(f"{self.url}/moto-api/seed?a={self.seed}")

    def stop(self) -> None:
        """Stop the server thread."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Ec2Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _state_file(state_dir: Path) -> Path:
    return state_dir / "emulator.json"


def _wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"EC2 emulator did not answer at {url} within {timeout:.0f}s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the emulator in the foreground until SIGTERM/SIGINT."""
    emulator = Ec2Emulator(port=args.port, seed=args.seed, region=args.region,
                           attach_hook=args.attach_hook or None).start()
    if args.state_dir:
        state_dir = Path(args.state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        _state_file(state_dir).write_text(json.dumps(
            {"pid": os.getpid(), "url": emulator.url, "region": emulator.region}))
    print(emulator.url, flush=True)
    stop = {"now": False}

    def _handler(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    while not stop["now"]:
        time.sleep(0.2)
    emulator.stop()
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    """Start a background emulator once; print its URL (reuses a running one)."""
    state_dir = Path(args.state_dir)
    state = _state_file(state_dir)
    if state.exists():
        info = json.loads(state.read_text())
        if _alive(info["pid"]):
            print(info["url"])
            return 0
        state.unlink()
    state_dir.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    log = open(state_dir / "emulator.log", "ab")  # noqa: SIM115 - handed to the child
    hook = ["--attach-hook", args.attach_hook] if args.attach_hook else []
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "serve", "--port", str(port),
         "--seed", str(args.seed), "--region", args.region, "--state-dir", str(state_dir), *hook],
        stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    _wait_for(url)
    if proc.poll() is not None:
        raise SystemExit(f"EC2 emulator exited early; see {state_dir / 'emulator.log'}")
    print(url)
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    """Stop a background emulator started with ``start``."""
    state = _state_file(Path(args.state_dir))
    if not state.exists():
        return 0
    pid = json.loads(state.read_text())["pid"]
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    state.unlink(missing_ok=True)
    return 0


def cmd_url(args: argparse.Namespace) -> int:
    """Print the URL of the running background emulator (exit 1 if none)."""
    state = _state_file(Path(args.state_dir))
    if not state.exists():
        return 1
    print(json.loads(state.read_text())["url"])
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("serve", cmd_serve), ("start", cmd_start), ("stop", cmd_stop),
                       ("url", cmd_url)):
        p = sub.add_parser(name)
        p.set_defaults(func=func)
        p.add_argument("--state-dir", default=".cache/emulator" if name != "serve" else None)
        if name in ("serve", "start"):
            p.add_argument("--port", type=int, default=0)
            p.add_argument("--seed", type=int, default=DEFAULT_SEED)
            p.add_argument("--region", default=DEFAULT_REGION)
            p.add_argument("--attach-hook", default=os.environ.get(ATTACH_HOOK_ENV, ""),
                           help=f"command run on every (de)attachment (default: ${ATTACH_HOOK_ENV})")
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
