"""Every role: argument specs mirror defaults, the README lists every variable, per-OS vars files
define only the fallback's names; the example vars files use only variables that exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "defaults" / "main.yml").is_file())
# Variables the playbooks (not a role) read.
PLAYBOOK_VARS = {"jupyterops_access", "jupyterops_mode", "jupyterops_hosts", "jupyterops_data_volume",
                 "jupyterops_r_kernel", "jupyterops_tls",
                 "jupyterops_public_url", "jupyterops_public_address", "update_ec2", "update_lock_dir",
                 "update_smoke_checks"}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def _all_role_variables() -> set[str]:
    names: set[str] = set()
    for role in ROLES:
        names |= set(_load(ROOT / "roles" / role / "defaults" / "main.yml"))
    return names


def test_every_role_is_covered() -> None:
    assert {"data_volume", "ec2_host", "jupyter_service", "jupyterlab", "miniconda", "r_kernel",
            "tls"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_mirror_defaults(role: str) -> None:
    defaults = _load(ROOT / "roles" / role / "defaults" / "main.yml")
    spec = _load(ROOT / "roles" / role / "meta" / "argument_specs.yml")
    options = spec["argument_specs"]["main"]["options"]
    assert list(options) == list(defaults)
    for name, option in options.items():
        assert option.get("default") == defaults[name], name
        assert option.get("description"), name
        assert option.get("type"), name
        assert name.startswith(f"{role}_"), name


@pytest.mark.parametrize("role", ROLES)
def test_readme_documents_every_variable(role: str) -> None:
    readme = (ROOT / "roles" / role / "README.md").read_text()
    defaults = _load(ROOT / "roles" / role / "defaults" / "main.yml")
    assert [name for name in defaults if f"`{name}`" not in readme] == []
    assert f"jupyterops.cloud.{role}" in readme, "example playbook uses the FQCN"


@pytest.mark.parametrize("role", ROLES)
def test_distribution_vars_define_only_the_fallback_names(role: str) -> None:
    vars_dir = ROOT / "roles" / role / "vars"
    if not (vars_dir / "main.yml").is_file():
        return
    fallback = set(_load(vars_dir / "main.yml"))
    for path in sorted(vars_dir.glob("*.yml")):
        assert set(_load(path)) <= fallback, path.name


@pytest.mark.parametrize("vars_file", ["example.vars.yml", "demo.vars.yml"])
def test_vars_files_use_only_known_variables(vars_file: str) -> None:
    unknown = set(_load(ROOT / "inventory" / vars_file)) - _all_role_variables() - PLAYBOOK_VARS
    assert unknown == set()
