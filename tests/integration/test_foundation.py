"""The collection builds, installs offline into an empty path, and a plain checkout resolves it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent


def _clean_env(tmp_path: Path) -> dict[str, str]:
    cfg = tmp_path / "empty.cfg"
    cfg.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_CONFIG"] = str(cfg)
    return env


def test_build_and_offline_install_into_empty_path(repo_root: Path, tmp_path: Path) -> None:
    galaxy = yaml.safe_load((repo_root / "galaxy.yml").read_text())
    out = tmp_path / "dist"
    build = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force",
                            "--output-path", str(out)], cwd=repo_root, text=True,
                           capture_output=True, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = out / f"jupyterops-cloud-{galaxy['version']}.tar.gz"
    assert tarball.is_file()
    listing = subprocess.run(["tar", "tzf", str(tarball)], text=True, capture_output=True,
                             check=True).stdout.split()
    # Dev and test files stay out of the artifact.
    assert not [n for n in listing if n.split("/")[0] in {"tests", "molecule", ".cache", ".venv",
                                                          "collections", ".ci", "scripts"}]
    dest = tmp_path / "installed"
    env = _clean_env(tmp_path) | {"ANSIBLE_COLLECTIONS_PATH": str(dest)}
    install = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline",
                              "-p", str(dest), str(tarball)], cwd=tmp_path, env=env, text=True,
                             capture_output=True, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    manifest = dest / "ansible_collections" / "jupyterops" / "cloud" / "MANIFEST.json"
    assert manifest.is_file()
    listed = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "list", "jupyterops.cloud",
                             "-p", str(dest)], cwd=tmp_path, env=env, text=True,
                            capture_output=True, check=False)
    assert "jupyterops.cloud" in listed.stdout and galaxy["version"] in listed.stdout


def test_plain_checkout_resolves_the_collection(repo_root: Path) -> None:
    env = dict(os.environ) | {"ANSIBLE_CONFIG": str(repo_root / "ansible.cfg")}
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "list", "jupyterops.cloud"],
                          cwd=repo_root, env=env, text=True, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert str(repo_root / "collections" / "ansible_collections") in proc.stdout


def test_galaxy_dependencies_are_ranges_on_the_ecosystem(repo_root: Path) -> None:
    deps = yaml.safe_load((repo_root / "galaxy.yml").read_text())["dependencies"]
    for name in ("amazon.aws", "community.crypto", "community.general", "ansible.posix"):
        assert ">=" in deps[name] and "<" in deps[name], name


def test_second_setup_changes_nothing(repo_root: Path) -> None:
    proc = subprocess.run(["bash", "scripts/setup.sh"], cwd=repo_root, text=True,
                          capture_output=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines() == ["[setup] ready"], proc.stdout
