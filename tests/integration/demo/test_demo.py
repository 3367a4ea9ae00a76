"""End to end: `make demo`'s flow - site.yml against the EC2 emulator and a container standing in
for the instance - then what a user does with it: log in over HTTPS, run Python and R, open the
notebook UI in a real browser, re-run (changed=0), monthly update (and its rollback), tear down.

The tests of this module run in order on one demo (module-scoped fixture); the last one removes it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.module_utils._jupyter_probe import DEFAULT_CHECKS, smoke

# One demo, used in order by every test here: keep them on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("demo")

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Demo:
    """One demo instance with its own state dir, container name and loopback port."""

    def __init__(self, tmp: Path) -> None:
        self.state = tmp / "demo-state"
        self.container = "jupyterops-test-demo"
        self.port = _free_port()
        self.env = dict(os.environ) | {
            "DEMO_STATE": str(self.state), "DEMO_CONTAINER": self.container,
            "DEMO_PORT": str(self.port), "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
        }
        self.env.pop("ANSIBLE_CONFIG", None)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    def run(self, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "scripts/demo.sh", *args], cwd=REPO, env=self.env,
                              text=True, capture_output=True, timeout=timeout, check=False)

    def password(self) -> str:
        return (self.state / "jupyter-password").read_text().strip()

    def certificate(self, dest: Path) -> Path:
        subprocess.run(["podman", "cp", f"{self.container}:/etc/jupyter/tls/cert.pem", str(dest)],
                       check=True)
        return dest


def _recap(output: str) -> dict[str, tuple[int, int, int, int]]:
    """Per host ok/changed/unreachable/failed of the last play recap in output."""
    result: dict[str, tuple[int, int, int, int]] = {}
    for host, ok, changed, unreachable, failed in RECAP.findall(output):
        result[host] = (int(ok), int(changed), int(unreachable), int(failed))
    return result


def _changed_tasks(output: str) -> list[str]:
    """Names of the tasks that reported changed (default stdout callback)."""
    task, changed = "", []
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line[6:line.rfind("]")]
        elif line.startswith("changed:"):
            changed.append(task)
    return changed


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    demo = Demo(tmp_path_factory.mktemp("demo"))
    subprocess.run(["podman", "rm", "-f", demo.container], capture_output=True, check=False)
    first = demo.run("up")
    demo.first = first
    yield demo
    demo.run("down", timeout=300)


def test_first_build_answers_with_a_summary(demo: Demo) -> None:
    out = demo.first.stdout + demo.first.stderr
    assert demo.first.returncode == 0, out[-6000:]
    recap = _recap(demo.first.stdout)
    assert recap and all(r[3] == 0 and r[2] == 0 for r in recap.values()), recap
    assert f"JupyterLab on jupyter-demo: {demo.url}" in out
    assert "Password: kept on the controller in" in out
    assert re.search(r"Instance: i-[0-9a-f]+ \(t3\.medium, running\)", out), out[-3000:]
    assert re.search(r"Data volume: vol-[0-9a-f]+", out)
    assert "playbooks/stop.yml" in out
    assert (demo.state / "jupyter-password").stat().st_mode & 0o077 == 0


def test_https_login_and_both_kernels_run_code(demo: Demo, tmp_path: Path) -> None:
    cert = demo.certificate(tmp_path / "cert.pem")
    result = smoke(demo.url, demo.password(), DEFAULT_CHECKS, cafile=str(cert))
    assert {"python3", "ir"} <= set(result["kernelspecs"])
    outputs = {r["kernel"]: r["output"] for r in result["results"]}
    assert outputs["python3"] == "2"
    assert "[1] 2" in outputs["ir"]


def test_wrong_password_is_refused(demo: Demo, tmp_path: Path) -> None:
    cert = demo.certificate(tmp_path / "cert.pem")
    with pytest.raises(Exception, match="login refused"):
        smoke(demo.url, demo.password() + "-wrong", [], cafile=str(cert))


def test_no_plaintext_password_on_the_host(demo: Demo) -> None:
    password = demo.password()
    grep = subprocess.run(["podman", "exec", demo.container, "grep", "-rlF", password, "/etc",
                           "/var/lib/jupyter", "/opt/jupyterlab", "/data", "/root", "/tmp"],
                          capture_output=True, text=True, check=False)
    assert grep.stdout.strip() == "", f"password found in {grep.stdout}"


def test_server_runs_as_the_service_user(demo: Demo) -> None:
    ps = subprocess.run(["podman", "exec", demo.container, "ps", "-eo", "user:20,args"],
                        capture_output=True, text=True, check=True).stdout
    servers = [line for line in ps.splitlines() if "jupyter-lab" in line or "jupyter lab" in line]
    assert servers, ps
    assert all(line.split()[0] == "jupyter" for line in servers), servers


def test_browser_logs_in_and_runs_python_and_r(demo: Demo) -> None:
    env = demo.env | {"JUPYTER_PASSWORD": demo.password(),
                      "SHOT_DIR": str(REPO / ".cache" / "browser")}
    proc = subprocess.run(["node", "tests/browser/notebook.mjs", demo.url, "-",
                           "python3=print(6*7)=42", "ir=print(6*7)=[1] 42"],
                          cwd=REPO, env=env, text=True, capture_output=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kernel python3: print(6*7) -> 42" in proc.stdout
    assert "kernel ir: print(6*7) -> [1] 42" in proc.stdout


def test_second_build_changes_nothing(demo: Demo) -> None:
    again = demo.run("up")
    assert again.returncode == 0, (again.stdout + again.stderr)[-6000:]
    recap = _recap(again.stdout)
    assert recap and all(r[1] == 0 for r in recap.values()), recap


def test_monthly_update_twice_then_a_broken_pin_is_rolled_back(demo: Demo, tmp_path: Path) -> None:
    first = demo.run("play", "playbooks/update.yml")
    assert first.returncode == 0, (first.stdout + first.stderr)[-6000:]
    second = demo.run("play", "playbooks/update.yml")
    assert second.returncode == 0, (second.stdout + second.stderr)[-6000:]
    changed = _changed_tasks(second.stdout)
    # Only the data volume snapshot changes on a second update.
    assert changed and all("snapshot" in task.lower() for task in changed), changed
    lock = demo.state / "locks" / "jupyter-demo" / "env-lock.txt"
    assert "jupyterlab==" in lock.read_text()

    broken = demo.run("play", "playbooks/update.yml", "-e",
                      json.dumps({"jupyterlab_pip_packages": ["ipykernel==5.5.6"]}))
    out = broken.stdout + broken.stderr
    assert broken.returncode != 0, out[-4000:]
    assert "rolled back" in out, out[-4000:]
    cert = demo.certificate(tmp_path / "cert.pem")
    result = smoke(demo.url, demo.password(), DEFAULT_CHECKS, cafile=str(cert))
    outputs = {r["kernel"]: r["output"] for r in result["results"]}
    assert outputs == {"python3": "2", "ir": "[1] 2"}


def test_demo_down_leaves_nothing(demo: Demo) -> None:
    down = demo.run("down", timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr
    exists = subprocess.run(["podman", "container", "exists", demo.container], check=False)
    assert exists.returncode == 1
    assert not demo.state.exists()
