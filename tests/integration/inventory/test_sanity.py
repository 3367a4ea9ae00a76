"""`ansible-test sanity` for the tagged_ec2 plugin files, in a throw-away collection checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import ansible

PLUGIN_FILES = ["plugins/inventory/tagged_ec2.py", "plugins/plugin_utils/_tagged_ec2.py",
                "plugins/module_utils/_tagged_ec2_options.py"]

# The sanity tests that run offline here. ansible-doc, import, pep8, pylint, validate-modules and
# yamllint are left out: ansible-test builds a private virtualenv for each of them, bootstrapping pip
# from ci-files.testing.ansible.com (unreachable here) and installing pinned packages from PyPI. They
# pass when run by hand with a pip bootstrap stand-in (see docs/inventory.md, "Tests and benchmark");
# in this suite, ruff, test_ansible_doc_renders_the_plugin and every inventory run cover them.
OFFLINE_TESTS = [
    "action-plugin-docs", "compile", "empty-init", "ignores", "line-endings", "no-assert",
    "no-get-exception", "no-illegal-filenames", "no-smart-quotes", "replace-urlopen", "runtime-metadata",
    "shebang", "symlinks", "use-argspec-type-path", "use-compat-six",
]


def test_ansible_test_sanity_passes_for_the_plugin(repo_root: Path, tmp_path: Path):
    root = tmp_path / "ansible_collections" / "jupyterops" / "cloud"
    root.mkdir(parents=True)
    shutil.copytree(repo_root / "plugins", root / "plugins",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(repo_root / "meta", root / "meta")
    shutil.copy2(repo_root / "galaxy.yml", root / "galaxy.yml")
    # amazon.aws next to it, as in an installed tree (the plugin imports it and uses its doc fragments).
    amazon_aws = Path(ansible.__file__).resolve().parents[1] / "ansible_collections" / "amazon" / "aws"
    (tmp_path / "ansible_collections" / "amazon").mkdir()
    (tmp_path / "ansible_collections" / "amazon" / "aws").symlink_to(amazon_aws)
    ansible_test = Path(sys.executable).parent / "ansible-test"
    cmd = [str(ansible_test), "sanity", "--local", "--python", f"{sys.version_info[0]}.{sys.version_info[1]}",
           "--color", "no"]
    for name in OFFLINE_TESTS:
        cmd += ["--test", name]
    proc = subprocess.run([*cmd, *PLUGIN_FILES], cwd=root, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for name in OFFLINE_TESTS:
        assert f'Running sanity test "{name}"' in proc.stdout + proc.stderr
