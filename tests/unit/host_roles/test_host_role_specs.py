"""Host roles part 1: argument specs mirror defaults, READMEs list every variable."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = ["miniconda", "jupyterlab", "r_kernel"]


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_mirror_defaults(role: str) -> None:
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults/main.yml").read_text())
    spec = yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    assert list(options) == list(defaults)
    for name, option in options.items():
        assert option["default"] == defaults[name], name
        assert option["description"], name
        assert name.startswith(f"{role}_"), name


@pytest.mark.parametrize("role", ROLES)
def test_readme_documents_every_variable(role: str) -> None:
    readme = (ROOT / "roles" / role / "README.md").read_text()
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults/main.yml").read_text())
    assert [name for name in defaults if f"`{name}`" not in readme] == []


@pytest.mark.parametrize("role", ROLES)
def test_every_distribution_vars_file_defines_the_fallback_names(role: str) -> None:
    """vars/Debian.yml and vars/Ubuntu.yml define the same internal names as vars/main.yml."""
    fallback = yaml.safe_load((ROOT / "roles" / role / "vars/main.yml").read_text())
    for path in sorted((ROOT / "roles" / role / "vars").glob("*.yml")):
        if path.name == "main.yml":
            continue
        assert set(yaml.safe_load(path.read_text())) <= set(fallback), path.name
