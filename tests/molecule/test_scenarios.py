"""Run every Molecule scenario (molecule/<name>/molecule.yml) as one pytest test each.

Each scenario's sequence (shared base: .config/molecule/config.yml) is destroy, syntax, create,
prepare, converge, idempotence, check (on the converged host), verify, destroy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))
TIMEOUT = int(os.environ.get("MOLECULE_SCENARIO_TIMEOUT", "1800"))


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str, tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] = "true"
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env["PY_COLORS"] = "0"
    log = REPO / ".cache" / "molecule" / f"{scenario}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "molecule"), "test", "-s", scenario],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        lines = log.read_text(errors="replace").splitlines()
        pytest.fail(f"molecule test -s {scenario} exited {proc.returncode}; last lines of {log}:\n"
                    + "\n".join(lines[-80:]))
