"""Bad input to the host roles (miniconda, jupyterlab, r_kernel) is rejected before any change.

Each case applies a role to localhost (connection local, check mode) with one bad variable and asserts
that the run fails, that the failure message names the variable, and that no task reported a change
before the failure. Every path the roles would touch points into the test's tmp dir, the user name is
one that does not exist, and each positive control runs only the roles' preflight (tagged always).
"""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
PLAYBOOK = HERE / "apply_role.yml"
TEST_USER = "jlbadinputuser"
CERT = {"jupyterlab_certfile": "/nonexistent/cert.pem", "jupyterlab_keyfile": "/nonexistent/key.pem"}

CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("unknown-env-manager", "jupyterlab", {"jupyterlab_env_manager": "pipenv"}, "jupyterlab_env_manager"),
    ("unknown-access-mode", "jupyterlab", {"jupyterlab_access_mode": "open"}, "jupyterlab_access_mode"),
    ("public-without-tls", "jupyterlab",
     {"jupyterlab_access_mode": "public", "jupyterlab_password": "a-password"}, "jupyterlab_certfile"),
    ("public-without-password", "jupyterlab",
     {"jupyterlab_access_mode": "public", "jupyterlab_password_generate": False, **CERT},
     "jupyterlab_password"),
    ("empty-password", "jupyterlab", {"jupyterlab_password": ""}, "jupyterlab_password"),
    ("port-zero", "jupyterlab", {"jupyterlab_port": 0}, "jupyterlab_port"),
    ("port-too-big", "jupyterlab", {"jupyterlab_port": 65536}, "jupyterlab_port"),
    ("port-not-a-number", "jupyterlab", {"jupyterlab_port": "http"}, "jupyterlab_port"),
    ("pip-packages-string", "jupyterlab", {"jupyterlab_pip_packages": "numpy pandas"},
     "jupyterlab_pip_packages"),
    ("conda-packages-mapping", "jupyterlab", {"jupyterlab_conda_packages": {"numpy": "2.3"}},
     "jupyterlab_conda_packages"),
    ("user-with-space", "jupyterlab", {"jupyterlab_user": "bad user"}, "jupyterlab_user"),
    ("user-leading-digit", "jupyterlab", {"jupyterlab_user": "1jupyter"}, "jupyterlab_user"),
    ("user-upper-case", "jupyterlab", {"jupyterlab_user": "Jupyter"}, "jupyterlab_user"),
    ("group-too-long", "jupyterlab", {"jupyterlab_group": "g" * 40}, "jupyterlab_group"),
    ("repository-absolute-dest", "jupyterlab",
     {"jupyterlab_git_repositories": [{"repo": "https://example.invalid/nb.git", "dest": "/etc"}]},
     "jupyterlab_git_repositories"),
    ("missing-environment-file", "jupyterlab",
     {"jupyterlab_env_manager": "conda", "jupyterlab_conda_environment_file": "/nonexistent/environment.yml"},
     "jupyterlab_conda_environment_file"),
    ("installer-url-without-checksum", "miniconda",
     {"miniconda_installer_url": "http://127.0.0.1:9/Miniforge3.sh"}, "miniconda_installer_sha256"),
    ("installer-checksum-malformed", "miniconda",
     {"miniconda_installer_url": "http://127.0.0.1:9/Miniforge3.sh", "miniconda_installer_sha256": "abc123"},
     "miniconda_installer_sha256"),
    ("default-checksum-malformed", "miniconda", {"miniconda_miniforge_sha256": "z" * 64},
     "miniconda_miniforge_sha256"),
    ("unknown-distribution", "miniconda", {"miniconda_distribution": "anaconda"}, "miniconda_distribution"),
    ("unknown-r-source", "r_kernel", {"r_kernel_source": "cran"}, "r_kernel_source"),
    ("r-extra-not-debian-name", "r_kernel", {"r_kernel_extra_system_packages": ["tidyverse"]},
     "r_kernel_extra_system_packages"),
]


def _safe_vars(tmp_path: Path) -> dict[str, Any]:
    """Variables that keep every path in tmp_path and use a user that does not exist."""
    return {
        "jupyterlab_user": TEST_USER,
        "jupyterlab_group": TEST_USER,
        "jupyterlab_home": str(tmp_path / "home"),
        "jupyterlab_root_dir": str(tmp_path / "notebooks"),
        "jupyterlab_config_dir": str(tmp_path / "etc"),
        "jupyterlab_env_prefix": str(tmp_path / "env"),
        "jupyterlab_password_file": str(tmp_path / "secrets" / "pw"),
        "miniconda_prefix": str(tmp_path / "conda"),
        "miniconda_download_dir": str(tmp_path / "dl"),
        "r_kernel_jupyter_prefix": str(tmp_path / "env"),
        "r_kernel_config_dir": str(tmp_path / "etc"),
    }


def _apply(ansible_runner, tmp_path: Path, role: str, variables: dict[str, Any],
           extra_args: tuple[str, ...] = ()) -> tuple[int, dict[str, int], list[str]]:
    """Run the role against localhost in check mode; return (rc, stats, failure messages)."""
    extra = {**_safe_vars(tmp_path), **variables, "role_under_test": role}
    env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}
    proc = ansible_runner(["ansible-playbook", "-i", "localhost,", "-c", "local", "--check",
                           "-e", json.dumps(extra), *extra_args, str(PLAYBOOK)], env=env, timeout=180)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON report (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    messages: list[str] = []
    for play in report["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get("localhost", {})
            for item in [result, *result.get("results", [])]:
                if item.get("failed"):
                    messages.append(str(item.get("msg", "")))
                    messages.extend(str(err) for err in item.get("argument_errors", []))
    return proc.returncode, report["stats"]["localhost"], messages


def _assert_untouched(tmp_path: Path) -> None:
    """Nothing the role would create exists afterwards."""
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(KeyError):
        pwd.getpwnam(TEST_USER)


@pytest.mark.parametrize(("role", "variables", "names"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_rejected_before_any_change(ansible_runner, tmp_path: Path, role: str,
                                                 variables: dict[str, Any], names: str) -> None:
    work = tmp_path / "w"
    work.mkdir()
    rc, stats, messages = _apply(ansible_runner, work, role, variables)
    assert rc != 0, messages
    assert stats["failures"] == 1, stats
    assert stats["changed"] == 0, stats
    assert any(names in message for message in messages), messages
    _assert_untouched(work)


@pytest.mark.parametrize(("role", "variables"), [
    ("jupyterlab", {"jupyterlab_access_mode": "public", "jupyterlab_password": "pw", **CERT,
                    "jupyterlab_port": 65535, "jupyterlab_pip_packages": ["numpy==2.3.5"]}),
    ("miniconda", {"miniconda_installer_url": "http://127.0.0.1:9/x.sh",
                   "miniconda_installer_sha256": "a" * 64}),
    ("r_kernel", {"r_kernel_source": "system", "r_kernel_extra_system_packages": ["r-cran-data.table"]}),
], ids=["jupyterlab", "miniconda", "r_kernel"])
def test_good_input_passes_the_same_preflight(ansible_runner, tmp_path: Path, role: str,
                                              variables: dict[str, Any]) -> None:
    """Control: the same invocation with valid values gets through the preflight (only it runs)."""
    work = tmp_path / "w"
    work.mkdir()
    rc, stats, messages = _apply(ansible_runner, work, role, variables, ("--tags", "preflight_only_control"))
    assert rc == 0, messages
    assert stats["failures"] == 0, stats
    assert stats["changed"] == 0, stats
    assert stats["ok"] > 3, stats
    _assert_untouched(work)
