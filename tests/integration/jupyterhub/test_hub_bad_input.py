"""Bad input to the jupyterhub role is rejected in its preflight, before any change to the machine.

Every case is one inventory host (connection local, this machine) that runs the whole role, not in check
mode, with one bad setting on top of valid ones; all cases run in a single ansible-playbook run. For each
case the run must fail, a failure message must name the variable, no task may report a change, only the
argument validation and the preflight may have run, and nothing the role would create exists afterwards:
every path points into the case's empty directory, and the service, group and user names do not exist
here. As a safety net for a regression, pip, npm and apt are pointed at a closed port on 127.0.0.1.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_ansible

pytestmark = pytest.mark.xdist_group("jupyterhub_bad_input")

PLAYBOOK = Path(__file__).with_name("bad_input.yml")
SERVICE = "jhub-badinput"
GROUP = "jhub-badinput-users"
ALICE, BOB, CAROL = "jhbadalice", "jhbadbob", "jhbadcarol"
SHA512_CRYPT = "$6$0123456789abcdef$" + "A" * 86
CLEAR_TEXT = "hunter2-clear-text"
OFFLINE = {"PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "http_proxy": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9", "npm_config_registry": "http://127.0.0.1:9/"}

CASES: list[tuple[str, dict[str, Any], str]] = [
    # (id, variables on top of the valid base, the variable a failure message must name)
    ("unknown-authenticator", {"jupyterhub_authenticator": "ldap"}, "jupyterhub_authenticator"),
    ("unknown-env-manager", {"jupyterhub_env_manager": "pipenv"}, "jupyterhub_env_manager"),
    ("unknown-service-manager", {"jupyterhub_service_manager": "upstart"}, "jupyterhub_service_manager"),
    ("admin-not-allowed", {"jupyterhub_admin_users": [ALICE, CAROL]}, "jupyterhub_admin_users"),
    ("user-upper-case", {"jupyterhub_allowed_users": [ALICE, "Carol"]}, "jupyterhub_allowed_users"),
    ("user-leading-digit", {"jupyterhub_allowed_users": [ALICE, "1carol"]}, "jupyterhub_allowed_users"),
    ("user-too-long", {"jupyterhub_allowed_users": [ALICE, "c" * 32]}, "jupyterhub_allowed_users"),
    ("admin-invalid-name", {"jupyterhub_allowed_users": [ALICE, "Dave"], "jupyterhub_admin_users": ["Dave"]},
     "jupyterhub_admin_users"),
    ("user-listed-twice", {"jupyterhub_allowed_users": [ALICE, BOB, ALICE]}, "jupyterhub_allowed_users"),
    ("users-not-a-list", {"jupyterhub_allowed_users": ALICE, "jupyterhub_admin_users": []},
     "jupyterhub_allowed_users"),
    ("user-is-system-account", {"jupyterhub_allowed_users": [ALICE, "daemon"]}, "jupyterhub_allowed_users"),
    ("user-is-root", {"jupyterhub_allowed_users": [ALICE, "root"], "jupyterhub_admin_users": ["root"]},
     "jupyterhub_allowed_users"),
    ("users-group-is-sudo", {"jupyterhub_users_group": "sudo"}, "jupyterhub_users_group"),
    ("memory-limit-negative", {"jupyterhub_user_memory_limit": "-1G"}, "jupyterhub_user_memory_limit"),
    ("memory-limit-unknown-unit", {"jupyterhub_user_memory_limit": "2GB"}, "jupyterhub_user_memory_limit"),
    ("cpu-limit-zero", {"jupyterhub_user_cpu_limit": 0}, "jupyterhub_user_cpu_limit"),
    ("cpu-limit-negative", {"jupyterhub_user_cpu_limit": -1.5}, "jupyterhub_user_cpu_limit"),
    ("cull-timeout-zero", {"jupyterhub_cull_timeout": 0}, "jupyterhub_cull_timeout"),
    ("cull-timeout-negative", {"jupyterhub_cull_timeout": -60}, "jupyterhub_cull_timeout"),
    ("activity-interval-not-below-timeout",
     {"jupyterhub_cull_timeout": 600, "jupyterhub_activity_interval": 600}, "jupyterhub_activity_interval"),
    ("idle-minutes-zero", {"jupyterhub_idle_stop": True, "jupyterhub_idle_minutes": 0},
     "jupyterhub_idle_minutes"),
    ("public-listen-without-certificate", {"jupyterhub_certfile": "", "jupyterhub_keyfile": ""},
     "jupyterhub_certfile"),
    ("hub-port-equals-public-port", {"jupyterhub_port": 8081, "jupyterhub_hub_port": 8081},
     "jupyterhub_hub_port"),
    ("env-prefix-relative", {"jupyterhub_env_prefix": "opt/jupyterhub"}, "jupyterhub_env_prefix"),
    ("state-dir-top-level", {"jupyterhub_state_dir": "/var"}, "jupyterhub_state_dir"),
    ("npm-checksum-malformed", {"jupyterhub_npm_checksum": "sha512:not-hex"}, "jupyterhub_npm_checksum"),
    ("short-native-passwords", {"jupyterhub_native_minimum_password_length": 6},
     "jupyterhub_native_minimum_password_length"),
    ("pam-hash-for-unknown-user", {"jupyterhub_authenticator": "pam",
                                   "jupyterhub_pam_password_hashes": {"jhbadzed": SHA512_CRYPT}},
     "jupyterhub_pam_password_hashes"),
    ("pam-clear-text-password", {"jupyterhub_authenticator": "pam",
                                 "jupyterhub_pam_password_hashes": {ALICE: CLEAR_TEXT}},
     "jupyterhub_pam_password_hashes"),
]
# Rejected by the argument specs before the preflight runs: run once more on tasks/preflight.yml alone (no
# argument validation) to show that the preflight rejects them by itself.
SPEC_CASES = ["unknown-authenticator", "unknown-env-manager", "unknown-service-manager"]
# Control: valid settings (limits, PAM hashes, fractional idle minutes) pass the preflight alone.
GOOD = {"jupyterhub_authenticator": "pam", "jupyterhub_pam_password_hashes": {BOB: SHA512_CRYPT},
        "jupyterhub_user_memory_limit": "2G", "jupyterhub_user_cpu_limit": 1.5,
        "jupyterhub_idle_minutes": 0.5, "jupyterhub_cull_timeout": 600, "jupyterhub_activity_interval": 599}


def _valid(work: Path) -> dict[str, Any]:
    """Valid settings that keep every path the role would write under work and use names unknown here."""
    return {
        "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_become": False,
        "jupyterhub_env_prefix": str(work / "hub-env"), "jupyterhub_user_env_prefix": str(work / "user-env"),
        "jupyterhub_config_dir": str(work / "etc"), "jupyterhub_state_dir": str(work / "state"),
        "jupyterhub_log_file": str(work / "log" / "jupyterhub.log"),
        "jupyterhub_home_base": str(work / "home"), "jupyterhub_proxy_prefix": str(work / "proxy"),
        # Safety net: a download that should never happen goes to a closed port.
        "jupyterhub_npm_registry": "http://127.0.0.1:9",
        "jupyterhub_service_name": SERVICE, "jupyterhub_users_group": GROUP, "jupyterhub_port": 8443,
        "jupyterhub_certfile": str(work.parent / "certs" / "cert.pem"),
        "jupyterhub_keyfile": str(work.parent / "certs" / "key.pem"),
        "jupyterhub_allowed_users": [ALICE, BOB], "jupyterhub_admin_users": [ALICE],
    }


def _play(ansible_runner, tmp: Path, hosts: dict[str, dict[str, Any]],
          extra_args: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """Run the playbook once over hosts (name -> variables); per host: stats, messages, tasks, work dir."""
    inventory: dict[str, Any] = {"all": {"hosts": {}}}
    for name, variables in hosts.items():
        work = tmp / name / "host"
        work.mkdir(parents=True)
        inventory["all"]["hosts"][name] = {**_valid(work), **variables}
    (tmp / "inventory.yml").write_text(json.dumps(inventory))
    env = {**os.environ, **OFFLINE, "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}
    proc = ansible_runner(["ansible-playbook", "-i", str(tmp / "inventory.yml"), "--forks", "8", *extra_args,
                           str(PLAYBOOK)], env=env, timeout=600)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON report (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    results: dict[str, dict[str, Any]] = {}
    for name in hosts:
        messages: list[str] = []
        tasks: list[str] = []
        for play in report["plays"]:
            for task in play["tasks"]:
                if name not in task["hosts"]:
                    continue
                tasks.append(task["task"]["name"].removeprefix("jupyterops.cloud.jupyterhub : "))
                result = task["hosts"][name]
                for item in [result, *result.get("results", [])]:
                    if item.get("failed"):
                        messages.append(str(item.get("msg", "")))
                        messages.extend(str(err) for err in item.get("argument_errors", []))
        results[name] = {"stats": report["stats"].get(name, {}), "messages": messages, "tasks": tasks,
                         "work": tmp / name, "rc": proc.returncode, "output": proc.stdout + proc.stderr}
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """All bad cases on the whole role, the argument-spec cases and the control on the preflight alone."""
    hosts = {case_id: variables for case_id, variables, _ in CASES}
    hosts |= {f"preflight-{case_id}": {**variables, "hub_entry": "preflight"}
              for case_id, variables, _ in CASES if case_id in SPEC_CASES}
    hosts["preflight-good"] = {**GOOD, "hub_entry": "preflight"}
    return _play(run_ansible, tmp_path_factory.mktemp("hub-bad-input"), hosts)


def _assert_untouched(work: Path) -> None:
    """Nothing the role would create exists: no files, service, group or accounts."""
    assert list((work / "host").iterdir()) == []
    assert not (work / "certs").exists()
    assert not Path(f"/etc/systemd/system/{SERVICE}.service").exists()
    assert not Path(f"/etc/init.d/{SERVICE}").exists()
    with pytest.raises(KeyError):
        grp.getgrnam(GROUP)
    for name in (ALICE, BOB, CAROL):
        with pytest.raises(KeyError):
            pwd.getpwnam(name)


@pytest.mark.parametrize(("case_id", "named"), [(c[0], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_stops_the_role_in_preflight(runs: dict[str, dict[str, Any]], case_id: str,
                                               named: str) -> None:
    run = runs[case_id]
    assert run["rc"] != 0
    assert any(named in message for message in run["messages"]), (run["messages"], run["tasks"])
    assert run["stats"]["changed"] == 0 and run["stats"]["failures"] == 1, run["stats"]
    after_preflight = [t for t in run["tasks"]
                       if not t.startswith(("Run the role", "Validating arguments", "Preflight |"))]
    assert after_preflight == [], "tasks after the preflight ran"
    assert CLEAR_TEXT not in run["output"], "a clear-text password from the input reached the output"
    _assert_untouched(run["work"])


@pytest.mark.parametrize("case_id", SPEC_CASES)
def test_preflight_alone_rejects_what_the_argument_specs_reject(runs: dict[str, dict[str, Any]],
                                                                case_id: str) -> None:
    run = runs[f"preflight-{case_id}"]
    named = dict((c[0], c[2]) for c in CASES)[case_id]
    assert any(named in message and "(got '" in message for message in run["messages"]), run["messages"]
    assert not any(t.startswith("Validating arguments") for t in run["tasks"]), run["tasks"]
    assert run["stats"]["changed"] == 0 and run["stats"]["failures"] == 1, run["stats"]
    _assert_untouched(run["work"])


def test_valid_input_passes_the_preflight(runs: dict[str, dict[str, Any]]) -> None:
    """Control: the valid base plus limits and PAM hashes passes the preflight alone, changing nothing."""
    run = runs["preflight-good"]
    assert run["messages"] == [], run["messages"]
    assert run["stats"]["failures"] == 0 and run["stats"]["changed"] == 0, run["stats"]
    assert any(t.startswith("Preflight |") for t in run["tasks"]), run["tasks"]
    _assert_untouched(run["work"])


def test_valid_input_passes_the_argument_specs(ansible_runner, tmp_path: Path) -> None:
    """Control: the whole role's always-tagged part (argument specs, preflight) accepts valid input.

    Check mode and a tag that nothing else carries keep everything after the preflight from running.
    """
    loopback = {"jupyterhub_listen_ip": "::1", "jupyterhub_certfile": "", "jupyterhub_keyfile": ""}
    runs = _play(ansible_runner, tmp_path, {"loopback": loopback},
                 extra_args=("--check", "--tags", "jupyterhub_preflight_control"))
    run = runs["loopback"]
    assert run["rc"] == 0 and run["messages"] == [], run["output"][-3000:]
    assert run["stats"]["changed"] == 0, run["stats"]
    assert any(t.startswith("Validating arguments") for t in run["tasks"]), run["tasks"]
    assert any(t.startswith("Preflight |") for t in run["tasks"]), run["tasks"]
    _assert_untouched(run["work"])
