"""The module-scoped demo of tests/integration/ssh_default: `ACCESS=tunnel scripts/demo.sh` and helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.ec2_emulator import free_port
from tests.harness.playbook_output import changed_tasks, recap  # noqa: F401 - used by the tests
from tests.harness.ssh_host import SshHost, by_id_name

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
TIMINGS = REPO / ".cache" / "ssh_default" / "timings.json"


class SshDemo:
    """`ACCESS=tunnel scripts/demo.sh` with its own state dir, container names and local tunnel port."""

    host_name = "jupyter"

    def __init__(self, tmp: Path) -> None:
        self.state = tmp / "demo-tunnel-state"
        self.container = "jupyterops-test-ssh-default"
        self.local_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
            "ACCESS": "tunnel", "DEMO_STATE": str(self.state), "DEMO_SSH_CONTAINER": self.container,
            "DEMO_LOCAL_PORT": str(self.local_port), "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
        }
        self.env.pop("ANSIBLE_CONFIG", None)
        self.timings: dict[str, float] = {}
        self.facts: dict[str, Any] = {}

    # ---- running things ----
    def run(self, *args: str, timeout: int = 1800, label: str = "") -> subprocess.CompletedProcess[str]:
        """scripts/demo.sh with the demo's environment (timed under label)."""
        start = time.monotonic()
        proc = subprocess.run(["bash", "scripts/demo.sh", *args], cwd=REPO, env=self.env, text=True,
                              capture_output=True, timeout=timeout, check=False)
        if label:
            self.timings[label] = round(time.monotonic() - start, 1)
        return proc

    def play(self, playbook: str, *args: str, label: str = "",
             timeout: int = 1800) -> subprocess.CompletedProcess[str]:
        """A playbook against the demo (scripts/demo.sh play)."""
        return self.run("play", playbook, *args, label=label, timeout=timeout)

    def ansible_env(self) -> dict[str, str]:
        """Environment for a direct ansible-playbook run over SSH to the stand-in (no AWS)."""
        return self.env | {
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_SSH_COMMON_ARGS": f"-o UserKnownHostsFile={self.known_hosts}",
        }

    def exec(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A command as root inside the stand-in (the test's view of the machine, not the user's)."""
        return subprocess.run(["podman", "exec", self.container, *args], text=True, capture_output=True,
                              check=check, timeout=120)

    # ---- what the demo made ----
    @property
    def ssh_host(self) -> SshHost:
        return SshHost(self.state)

    @property
    def known_hosts(self) -> Path:
        return self.state / "known_hosts"

    @property
    def key(self) -> Path:
        return self.state / "ssh-key"

    @property
    def ssh_config(self) -> Path:
        return self.state / "ssh_config"

    @property
    def url(self) -> str:
        return f"http://localhost:{self.local_port}/"

    def password(self) -> str:
        return (self.state / "jupyter-password").read_text().strip()

    def emulator_url(self) -> str:
        return json.loads((self.state / "emulator.json").read_text())["url"]

    def ec2(self) -> Any:
        """A boto3 EC2 client on the demo's emulator."""
        import boto3

        return boto3.client("ec2", endpoint_url=self.emulator_url(), region_name="eu-west-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def instances(self) -> list[dict[str, Any]]:
        """The demo's instances (not terminated) in the emulator."""
        reservations = self.ec2().describe_instances(Filters=[
            {"Name": "tag:Project", "Values": ["jupyterops"]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ])["Reservations"]
        return [i for r in reservations for i in r["Instances"]]

    def data_volume_id(self) -> str:
        """The data volume (tag jupyterops:role=data) in the emulator."""
        volumes = self.ec2().describe_volumes(Filters=[
            {"Name": "tag:Project", "Values": ["jupyterops"]},
            {"Name": "tag:jupyterops:role", "Values": ["data"]}])["Volumes"]
        assert len(volumes) == 1, volumes
        return str(volumes[0]["VolumeId"])

    def by_id_link(self) -> str:
        return by_id_name(self.data_volume_id())

    def tunnel_alive(self) -> bool:
        sock = self.state / "tunnel.sock"
        return sock.exists() and subprocess.run(
            ["ssh", "-S", str(sock), "-O", "check", self.host_name], capture_output=True,
            check=False).returncode == 0


@pytest.fixture(scope="module")
def ssh_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshDemo]:
    """One tunnel-mode demo over SSH for the module; the first build runs here, `down` at the end."""
    demo = SshDemo(tmp_path_factory.mktemp("ssh-default"))
    subprocess.run(["podman", "rm", "-f", demo.container], capture_output=True, check=False)
    started = time.monotonic()
    demo.first = demo.run("up", label="first build (up)")
    yield demo
    demo.run("down", timeout=300, label="down")
    demo.timings["module wall time"] = round(time.monotonic() - started, 1)
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps(demo.timings, indent=2) + "\n")
    print(f"\nssh_default timings (s): {json.dumps(demo.timings)}", file=sys.__stderr__)
