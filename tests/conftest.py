"""Shared pytest fixtures: repository paths, the local EC2 emulator and an ansible runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.harness.ec2_emulator import Ec2Emulator  # noqa: E402

# A failing inventory source must fail the run, never yield an empty inventory silently.
os.environ["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] = "true"
os.environ.setdefault("ANSIBLE_CONFIG", str(REPO_ROOT / "ansible.cfg"))
os.environ.setdefault("ANSIBLE_NOCOLOR", "1")
# Interpreter discovery on these machines can pick a pyenv shim (python3.13) that only works in some
# environments; targets without an inventory interpreter (localhost, the containers) use Debian's.
os.environ.setdefault("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
os.environ.setdefault("ANSIBLE_FORCE_COLOR", "0")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout (also the collection root)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def ec2_emulator_session() -> Iterator[Ec2Emulator]:
    """One emulator process-thread for the whole session."""
    with Ec2Emulator() as emulator:
        yield emulator


@pytest.fixture
def ec2_emulator(ec2_emulator_session: Ec2Emulator) -> Ec2Emulator:
    """A freshly reset, seeded emulator for one test."""
    ec2_emulator_session.reset()
    return ec2_emulator_session


@pytest.fixture
def aws_env(ec2_emulator: Ec2Emulator) -> dict[str, str]:
    """Process environment that points boto3 and amazon.aws at the emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ec2_emulator.env())
    return env


def run_ansible(args: list[str], env: dict[str, str] | None = None, cwd: Path = REPO_ROOT,
                timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run an ansible CLI from the project venv; return the completed process (text)."""
    bindir = Path(sys.executable).parent
    cmd = [str(bindir / args[0]), *args[1:]]
    return subprocess.run(cmd, cwd=cwd, env=env or dict(os.environ), text=True,
                          capture_output=True, timeout=timeout, check=False)


@pytest.fixture
def ansible_runner():
    """The run_ansible helper as a fixture."""
    return run_ansible
