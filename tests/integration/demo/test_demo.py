"""End to end: `make demo`'s flow - site.yml against the EC2 emulator and a container standing in
for the instance - then what a user does with it: log in over HTTPS, run Python and R, open the
notebook UI in a real browser, re-run (changed=0), monthly update (and its rollback), tear down.

The tests of this module run in order on one demo (module-scoped fixture); the last one removes it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.module_utils._jupyter_probe import DEFAULT_CHECKS, smoke
from tests.harness.ec2_emulator import free_port
from tests.harness.playbook_output import changed_tasks, recap

# One demo, used in order by every test here: keep them on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("demo")

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


class Demo:
    """One demo instance with its own state dir, container name and loopback port."""

    def __init__(self, tmp: Path) -> None:
        self.state = tmp / "demo-state"
        self.container = "jupyterops-test-demo"
        self.port = free_port()
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
    result = recap(demo.first.stdout)
    assert result and all(r[3] == 0 and r[2] == 0 for r in result.values()), result
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
    result = recap(again.stdout)
    assert result and all(r[1] == 0 for r in result.values()), result


# A local apt repository in the container with two R packages from Debian's point of view
# (r-*): r-cran-jupyteropstest 1.0 installed, 2.0 offered (the rollback can go back to 1.0);
# r-cran-jupyteropsgone 1.0 installed, only 2.0 offered (the rollback cannot restore it).
FAKE_R_REPO = r"""
set -eu
repo=/srv/jupyterops-test-repo
mkdir -p "$repo" /tmp/fakedeb
build() {
  d=/tmp/fakedeb/$1-$2; mkdir -p "$d/DEBIAN"
  printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: t <t@x.invalid>\nDescription: test\n' \
    "$1" "$2" > "$d/DEBIAN/control"
  dpkg-deb --build --root-owner-group "$d" "/tmp/fakedeb/$1_$2_all.deb" >/dev/null
}
build r-cran-jupyteropstest 1.0; build r-cran-jupyteropstest 2.0
build r-cran-jupyteropsgone 1.0; build r-cran-jupyteropsgone 2.0
cp /tmp/fakedeb/r-cran-jupyteropstest_1.0_all.deb /tmp/fakedeb/r-cran-jupyteropstest_2.0_all.deb \
   /tmp/fakedeb/r-cran-jupyteropsgone_2.0_all.deb "$repo/"
: > "$repo/Packages"
for f in "$repo"/*.deb; do
  dpkg-deb -f "$f" Package Version Architecture Maintainer Description >> "$repo/Packages"
  printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$(basename "$f")" "$(stat -c %s "$f")" \
    "$(sha256sum "$f" | cut -d' ' -f1)" >> "$repo/Packages"
done
echo "deb [trusted=yes] file:$repo ./" > /etc/apt/sources.list.d/jupyterops-test.list
dpkg -i /tmp/fakedeb/r-cran-jupyteropstest_1.0_all.deb \
  /tmp/fakedeb/r-cran-jupyteropsgone_1.0_all.deb >/dev/null
apt-get update -qq
"""
FAKE_R_REPO_REMOVE = """
dpkg -P r-cran-jupyteropstest r-cran-jupyteropsgone >/dev/null
rm -rf /etc/apt/sources.list.d/jupyterops-test.list /srv/jupyterops-test-repo /tmp/fakedeb
apt-get update -qq
"""


def _instance_state(demo: Demo) -> str:
    """The demo instance's state in the EC2 emulator."""
    import boto3

    emulator = json.loads((demo.state / "emulator.json").read_text())
    ec2 = boto3.client("ec2", endpoint_url=emulator["url"],
                       region_name=emulator.get("region", "eu-west-1"),
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    reservations = ec2.describe_instances(Filters=[
        {"Name": "tag:Name", "Values": ["jupyter-demo"]},
        {"Name": "tag:Project", "Values": ["jupyterops-demo"]},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
    ])["Reservations"]
    states = [i["State"]["Name"] for r in reservations for i in r["Instances"]]
    assert len(states) == 1, states
    return states[0]


def _in_container(demo: Demo, script: str) -> str:
    proc = subprocess.run(["podman", "exec", "-i", demo.container, "bash"], input=script,
                          text=True, capture_output=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_monthly_update_twice_then_a_broken_pin_is_rolled_back(demo: Demo, tmp_path: Path) -> None:
    first = demo.run("play", "playbooks/update.yml")
    assert first.returncode == 0, (first.stdout + first.stderr)[-6000:]
    second = demo.run("play", "playbooks/update.yml")
    assert second.returncode == 0, (second.stdout + second.stderr)[-6000:]
    changed = changed_tasks(second.stdout)
    # Only the data volume snapshot changes on a second update.
    assert changed and all("snapshot" in task.lower() for task in changed), changed
    lock = demo.state / "locks" / "jupyter-demo" / "env-lock.txt"
    assert "jupyterlab==" in lock.read_text()

    # The broken update runs on a STOPPED instance whose OS upgrade also changes R packages.
    _in_container(demo, FAKE_R_REPO)
    stop = demo.run("play", "playbooks/stop.yml")
    assert stop.returncode == 0, (stop.stdout + stop.stderr)[-4000:]
    assert _instance_state(demo) == "stopped"

    broken = demo.run("play", "playbooks/update.yml", "-e",
                      json.dumps({"jupyterlab_pip_packages": ["ipykernel==5.5.6"]}))
    out = broken.stdout + broken.stderr
    assert broken.returncode != 0, out[-4000:]
    # The report: what failed, then what was (and was not) restored.
    failed = re.compile(r'^\s*update failed on jupyter-demo at "[^"]+": .*ResolutionImpossible', re.M)
    assert failed.search(out), out[-4000:]
    restored = re.search(r"^\s*restored: (.*)$", out, re.M)
    assert restored, out[-4000:]
    assert "Python environment (env-lock.txt)" in restored.group(1)
    assert "R packages (1 reinstalled at the locked version: r-cran-jupyteropstest=1.0)" in restored.group(1)
    assert "instance state (stopped again)" in restored.group(1)
    assert re.search(r"^\s*not restored: R packages whose locked version apt no longer offers: "
                     r"r-cran-jupyteropsgone=1\.0$", out, re.M), out[-4000:]
    assert re.search(r"^\s*smoke test after the rollback: passed$", out, re.M), out[-4000:]
    assert _instance_state(demo) == "stopped"
    versions = _in_container(demo, "dpkg-query -W r-cran-jupyteropstest r-cran-jupyteropsgone\n")
    assert versions.split() == ["r-cran-jupyteropsgone", "2.0", "r-cran-jupyteropstest", "1.0"], versions
    _in_container(demo, FAKE_R_REPO_REMOVE)

    # An instance that cannot be reached is stopped again too, and the run fails with its report.
    unreachable = demo.run("play", "playbooks/update.yml", "-e", json.dumps({"ec2_host_connection_vars": {
        "ansible_connection": "containers.podman.podman", "ansible_host": "jupyterops-test-no-such-host",
        "ansible_user": "root", "ansible_python_interpreter": "/usr/bin/python3"}}))
    out = unreachable.stdout + unreachable.stderr
    assert unreachable.returncode != 0, out[-4000:]
    assert re.search(r"^\s*update failed on jupyter-demo: the host became unreachable", out, re.M), \
        out[-4000:]
    assert re.search(r"^\s*restored: instance state \(stopped again\)$", out, re.M), out[-4000:]
    assert _instance_state(demo) == "stopped"

    start = demo.run("play", "playbooks/start.yml")
    assert start.returncode == 0, (start.stdout + start.stderr)[-4000:]
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
