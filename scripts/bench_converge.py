"""Benchmark: first converge of site.yml (the demo) against the same installs done by hand.

Measures, on this machine:
- raw: the install commands a person would type for the same packages (apt R + IRkernel, a venv
  with the pinned JupyterLab and base packages, a self-signed certificate), run alone in a fresh
  container of the same image;
- first: `scripts/demo.sh up` from nothing (emulator provisioning + configuring the container);
- noop: `scripts/demo.sh up` again on the converged demo (must report changed=0).
Prints a table and writes .cache/bench/converge.json. Goals: first/raw <= 1.3, noop/first <= 0.15.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
IMAGE = "localhost/jupyterops-debian12-systemd:latest"


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, text=True, capture_output=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def raw_install() -> float:
    """Time the hand-typed installs in a fresh container (CA trust set up first, untimed)."""
    defaults = yaml.safe_load((REPO / "roles/jupyterlab/defaults/main.yml").read_text())
    packages = [f"jupyterlab=={defaults['jupyterlab_version']}", *defaults["jupyterlab_base_packages"]]
    name = "jupyterops-bench-raw"
    subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    subprocess.run(["podman", "run", "-d", "--name", name, "--systemd=always", "--cap-add", "SYS_BOOT",
                    IMAGE, "/sbin/init"], check=True, capture_output=True)
    try:
        for ca in Path("/usr/local/share/ca-certificates").glob("*.crt"):
            subprocess.run(["podman", "cp", str(ca), f"{name}:/usr/local/share/ca-certificates/"],
                           check=True)
        subprocess.run(["podman", "exec", name, "update-ca-certificates"], check=True,
                       capture_output=True)
        script = " && ".join([
            "export DEBIAN_FRONTEND=noninteractive",
            "apt-get update -qq",
            "apt-get install -y -qq --no-install-recommends python3-venv r-base-core r-cran-irkernel "
            "openssl >/dev/null",
            "useradd --system --create-home --home-dir /var/lib/jupyter jupyter",
            "python3 -m venv /opt/jupyterlab/venv",
            "PIP_CERT=/etc/ssl/certs/ca-certificates.crt /opt/jupyterlab/venv/bin/pip install -q "
            "--no-cache-dir " + " ".join(f"'{p}'" for p in packages),
            "mkdir -p /etc/jupyter/tls && openssl req -x509 -newkey ec -pkeyopt "
            "ec_paramgen_curve:P-256 -nodes -keyout /etc/jupyter/tls/key.pem -out "
            "/etc/jupyter/tls/cert.pem -days 365 -subj /CN=localhost 2>/dev/null",
        ])
        elapsed, _ = _timed(["podman", "exec", name, "bash", "-c", script])
        return elapsed
    finally:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)


def demo_runs() -> tuple[float, float, int]:
    """Time the first demo build and the no-op re-run; return both and the re-run's changed count."""
    state = Path(tempfile.mkdtemp(prefix="jupyterops-bench-"))
    env = dict(os.environ) | {"DEMO_STATE": str(state / "demo"), "DEMO_CONTAINER": "jupyterops-bench-demo",
                              "DEMO_PORT": "18443", "ANSIBLE_NOCOLOR": "1"}
    try:
        first, _ = _timed(["bash", "scripts/demo.sh", "up"], env)
        noop, out = _timed(["bash", "scripts/demo.sh", "up"], env)
        changed = sum(int(n) for n in re.findall(r"changed=(\d+)", out))
        return first, noop, changed
    finally:
        subprocess.run(["bash", "scripts/demo.sh", "down"], cwd=REPO, env=env, capture_output=True,
                       check=False)


def main() -> int:
    """Run the benchmark, print the table, write the JSON."""
    raw = raw_install()
    first, noop, changed = demo_runs()
    figures = {
        "raw_install_s": round(raw, 1), "first_converge_s": round(first, 1),
        "noop_rerun_s": round(noop, 1), "noop_changed": changed,
        "overhead_ratio": round(first / raw, 2), "noop_ratio": round(noop / first, 3),
        "goals": {"overhead_ratio_max": 1.3, "noop_ratio_max": 0.15},
    }
    print(f"{'measure':<28}{'seconds':>10}")
    for key in ("raw_install_s", "first_converge_s", "noop_rerun_s"):
        print(f"{key:<28}{figures[key]:>10}")
    print(f"{'first / raw':<28}{figures['overhead_ratio']:>10}  (goal <= 1.3)")
    print(f"{'noop / first':<28}{figures['noop_ratio']:>10}  (goal <= 0.15, changed={changed})")
    out = REPO / ".cache" / "bench" / "converge.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
