"""The input corpus (issue 12): every bad input in cases.yml is rejected before anything changes.

One table (cases.yml), one driver. Per case: the run failed, a failure message names the variable, the
recap has changed=0 and no unreachable host, and nothing changed: the EC2 emulator holds no resource of
the case's project, a role case's work dir is empty and no user, group or service it names exists. For
entry points that reach AWS the failing task is a validation task (before any AWS call). All cases run
once, in a module-scoped fixture: the playbook and inventory cases four at a time, the role cases in one
ansible-playbook run with one inventory host (connection local) per case. Controls show that the same
harness lets valid input through.
"""

from __future__ import annotations

import datetime as dt
import grp
import json
import os
import pwd
import re
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from tests.conftest import REPO_ROOT, run_ansible
from tests.harness.input_corpus import (
    VALIDATION_PREFIXES,
    ec2_resources,
    host_results,
    names_variable,
    parse_report,
)

pytestmark = pytest.mark.xdist_group("inputs")

HERE = Path(__file__).resolve().parent
ALL_CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "cases.yml").read_text())["cases"]
# A developer's shortcut: JUPYTEROPS_INPUT_CASES=<regex> runs only the cases whose id or entry matches
# (make test runs them all).
_SELECT = re.compile(os.environ.get("JUPYTEROPS_INPUT_CASES", ""))
CASES = [c for c in ALL_CASES if _SELECT.search(c["id"]) or _SELECT.search(c["entry"])]
PLAYBOOKS = ["site", "provision", "configure", "update", "start", "stop", "resize", "snapshot", "image",
             "teardown", "connect"]
AMI_PATTERN, AMI_OWNER = "ubuntu/images/hvm-ssd/ubuntu-*-amd64-server-*", "099720109477"
TEST_USER = "jlbadinputuser"
SERVICE, HUB_SERVICE, HUB_GROUP = "jops-badinput", "jhub-badinput", "jhub-badinput-users"
HUB_USERS = ["jhbadalice", "jhbadbob", "jhbadcarol"]
CLEAR_TEXT = "hunter2-clear-text"
# Safety net: a download that should never happen goes to a closed port.
OFFLINE = {"PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "http_proxy": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9", "npm_config_registry": "http://127.0.0.1:9/",
           # ...but the EC2 emulator (on 127.0.0.1) is reached directly.
           "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"}
# The static inventory host of the configure/update cases: nothing listens there, so contacting it shows.
# It names its data disk (as provision.yml does for EC2 hosts) so the data_volume rules have a device.
UNREACHABLE = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh",
               "ansible_user": "nobody", "data_volume_device": "/dev/nvme1n1"}
SHA512_CRYPT = "$6$0123456789abcdef$" + "A" * 86


def _role_base(role: str, work: Path, case: Path) -> dict[str, Any]:
    """Valid variables for a role case that keep every path in work and use names unknown here."""
    base: dict[str, Any] = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
                            "ansible_become": False}
    if role in ("jupyterlab", "miniconda", "r_kernel"):
        base |= {"jupyterlab_user": TEST_USER, "jupyterlab_group": TEST_USER,
                 "jupyterlab_home": f"{work}/home", "jupyterlab_root_dir": f"{work}/notebooks",
                 "jupyterlab_config_dir": f"{work}/etc", "jupyterlab_env_prefix": f"{work}/env",
                 "jupyterlab_password_file": f"{work}/secrets/pw", "miniconda_prefix": f"{work}/conda",
                 "miniconda_download_dir": f"{work}/dl", "r_kernel_jupyter_prefix": f"{work}/env",
                 "r_kernel_config_dir": f"{work}/etc"}
    elif role == "jupyterhub":
        base |= {"jupyterhub_env_prefix": f"{work}/hub-env", "jupyterhub_user_env_prefix": f"{work}/user-env",
                 "jupyterhub_config_dir": f"{work}/etc", "jupyterhub_state_dir": f"{work}/state",
                 "jupyterhub_log_file": f"{work}/log/jupyterhub.log", "jupyterhub_home_base": f"{work}/home",
                 "jupyterhub_proxy_prefix": f"{work}/proxy", "jupyterhub_npm_registry": "http://127.0.0.1:9",
                 "jupyterhub_service_name": HUB_SERVICE, "jupyterhub_users_group": HUB_GROUP,
                 "jupyterhub_port": 8443, "jupyterhub_certfile": f"{case}/certs/cert.pem",
                 "jupyterhub_keyfile": f"{case}/certs/key.pem", "jupyterhub_allowed_users": HUB_USERS[:2],
                 "jupyterhub_admin_users": HUB_USERS[:1]}
    else:
        base |= {"tls_dir": f"{work}/tls", "data_volume_mount_point": f"{work}/data",
                 "data_volume_fstab": f"{work}/fstab", "jupyter_service_name": SERVICE,
                 "jupyter_service_env_prefix": f"{work}/venv", "jupyter_service_config_dir": f"{work}/etc"}
    return base


def _substitute(value: Any, tokens: dict[str, str]) -> Any:
    """Replace the @WORK@ / @CERTS@ / @PROJECT@ placeholders in every string of value."""
    if isinstance(value, str):
        for token, text in tokens.items():
            value = value.replace(token, text)
        return value
    if isinstance(value, list):
        return [_substitute(v, tokens) for v in value]
    if isinstance(value, dict):
        return {_substitute(k, tokens): _substitute(v, tokens) for k, v in value.items()}
    return value


def _certificates(directory: Path) -> None:
    """Test certificates: good, expired, not yet valid, for other names; and an unrelated key."""
    now = dt.datetime.now(dt.UTC)
    day = dt.timedelta(days=1)
    for name, names, start, end in [("good", ["provided.example"], now - day, now + 2 * day),
                                    ("expired", ["jupyter.example"], now - 30 * day, now - day),
                                    ("future", ["jupyter.example"], now + 10 * day, now + 40 * day),
                                    ("wrong-names", ["other.example"], now - day, now + 30 * day)]:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
                .sign(key, hashes.SHA256()))
        (directory / f"{name}-cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (directory / f"{name}-key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    other = ec.generate_private_key(ec.SECP256R1())
    (directory / "other-key.pem").write_bytes(other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


class Corpus:
    """Runs the cases and the controls; keeps one outcome per id."""

    def __init__(self, tmp: Path, emulator: Any) -> None:
        self.tmp, self.emulator = tmp, emulator
        self.certs = tmp / "certs"
        self.certs.mkdir()
        _certificates(self.certs)
        key = Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        (tmp / "id_ed25519.pub").write_bytes(key + b" test@jupyterops\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env |= emulator.env() | OFFLINE | {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
                                                "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp")}
        self.results: dict[str, dict[str, Any]] = {}

    def ec2(self) -> Any:
        """boto3 EC2 client on the emulator."""
        return boto3.client("ec2", endpoint_url=self.emulator.url, region_name=self.emulator.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def case_dir(self, case_id: str) -> tuple[Path, Path]:
        """The case's directory and its (empty) work dir."""
        work = self.tmp / "cases" / case_id / "host"
        work.mkdir(parents=True)
        return work.parent, work

    def tokens(self, case_id: str, work: Path) -> dict[str, str]:
        """The placeholders of one case."""
        return {"@WORK@": str(work), "@CERTS@": str(self.certs), "@PROJECT@": self.project(case_id)}

    @staticmethod
    def project(case_id: str) -> str:
        """A project name of its own per case, so a created resource shows which case made it."""
        return "jin-" + uuid.uuid5(uuid.NAMESPACE_URL, case_id).hex[:12]

    def playbook_base(self, case_id: str, root: Path) -> dict[str, Any]:
        """Valid provisioning variables for the emulator (the ec2 tests' Lab base)."""
        return {"ec2_host_project": self.project(case_id), "ec2_host_names": ["alice"],
                "ec2_host_owner": "teacher", "ec2_host_tags": {"Course": "stats101"},
                "ec2_host_admin_cidrs": ["198.51.100.0/24", "2001:db8::/32"],
                "ec2_host_ami_name_pattern": AMI_PATTERN, "ec2_host_ami_owner": AMI_OWNER,
                "ec2_host_public_key_file": str(self.tmp / "id_ed25519.pub"),
                "ec2_host_private_key_file": f"{root}/created.pem", "ec2_host_wait_for_ssh": False,
                "ec2_host_inventory_file": f"{root}/inventory.yml", "ec2_host_data_volume_size": 10,
                "jupyterops_connect_ssh_config": f"{root}/ssh.config"}

    def run_playbook(self, case: dict[str, Any], check: bool = False, playbook: str | None = None,
                     extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one playbook case; return its outcome."""
        root, work = self.case_dir(case["id"])
        tokens = self.tokens(case["id"], work)
        variables = {**self.playbook_base(case["id"], root), **(extra or {}),
                     **_substitute(case.get("vars") or {}, tokens)}
        (root / "vars.json").write_text(json.dumps(variables))
        entry = case["entry"]
        path = playbook or ("site.yml" if entry == "site" else f"playbooks/{entry}.yml")
        argv = ["ansible-playbook", path, "-e", f"@{root / 'vars.json'}"]
        static = entry in ("configure", "update") or "inventory_host_vars" in case
        if static:
            host = {**UNREACHABLE, **_substitute(case.get("inventory_host_vars") or {}, tokens)}
            inventory = {"all": {"children": {"inputs_hosts": {"hosts": {"badhost": host}}}}}
            (root / "inventory.json").write_text(json.dumps(inventory))
            argv += ["-i", str(root / "inventory.json"), "-e", "jupyterops_hosts=inputs_hosts"]
        if check:
            argv.append("--check")
        proc = run_ansible(argv, env=self.env, cwd=REPO_ROOT, timeout=600)
        report = parse_report(proc.stdout) or {}
        hosts = sorted(report.get("stats", {}))
        per_host = {h: host_results(report, h) for h in hosts}
        return {"rc": proc.returncode, "report": bool(report), "per_host": per_host, "work": work,
                "output": proc.stdout[-4000:] + proc.stderr[-4000:], "stderr": proc.stderr,
                "project": self.project(case["id"])}

    def run_inventory(self, case: dict[str, Any]) -> dict[str, Any]:
        """Run ansible-inventory on one tagged_ec2 config; return its outcome."""
        root, work = self.case_dir(case["id"])
        config = {"plugin": "jupyterops.cloud.tagged_ec2", "regions": [self.emulator.region],
                  "tags": {"Project": self.project(case["id"])},
                  **_substitute(case.get("vars") or {}, self.tokens(case["id"], work))}
        path = root / "test.tagged_ec2.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        argv = ["ansible-inventory", "-i", str(path), "--list", "--output", str(root / "out.json")]
        proc = run_ansible(argv, env=self.env, cwd=REPO_ROOT, timeout=300)
        return {"rc": proc.returncode, "messages": [proc.stderr, proc.stdout], "work": work,
                "output": proc.stderr[-3000:], "project": self.project(case["id"])}

    def run_roles(self, cases: list[dict[str, Any]], extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
        """All role cases in one ansible-playbook run, one inventory host per case."""
        hosts: dict[str, Any] = {}
        works: dict[str, Path] = {}
        for case in cases:
            root, work = self.case_dir(case["id"])
            role = case["entry"].removeprefix("role:")
            values = _substitute(case.get("vars") or {}, self.tokens(case["id"], work))
            hosts[case["id"]] = {**_role_base(role, work, root), **values, "role_under_test": role,
                                 "role_check_mode": case.get("check_mode", True),
                                 "role_tasks_from": case.get("tasks_from", "main")}
            works[case["id"]] = work
        inventory = self.tmp / f"roles-{uuid.uuid4().hex[:8]}.json"
        inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
        proc = run_ansible(["ansible-playbook", "-i", str(inventory), "--forks", "16", *extra_args,
                            str(HERE / "apply_role.yml")], env=self.env, cwd=REPO_ROOT, timeout=900)
        report = parse_report(proc.stdout) or {}
        return {case_id: {"rc": proc.returncode, **host_results(report, case_id), "work": works[case_id],
                          "output": proc.stdout + proc.stderr} for case_id in hosts}


ROLE_CONTROLS = [
    {"id": "control-jupyterlab", "entry": "role:jupyterlab",
     "vars": {"jupyterlab_access_mode": "public", "jupyterlab_password": "pw",
              "jupyterlab_certfile": "/nonexistent/cert.pem", "jupyterlab_keyfile": "/nonexistent/key.pem",
              "jupyterlab_port": 65535, "jupyterlab_pip_packages": ["numpy==2.3.5"]}},
    {"id": "control-miniconda", "entry": "role:miniconda",
     "vars": {"miniconda_installer_url": "http://127.0.0.1:9/x.sh", "miniconda_installer_sha256": "a" * 64}},
    {"id": "control-r-kernel", "entry": "role:r_kernel",
     "vars": {"r_kernel_source": "system", "r_kernel_extra_system_packages": ["r-cran-data.table"]}},
    {"id": "control-hub-loopback", "entry": "role:jupyterhub",
     "vars": {"jupyterhub_listen_ip": "::1", "jupyterhub_certfile": "", "jupyterhub_keyfile": ""}},
]
# The valid hub settings pass its preflight alone, for real (it only reads), in the cases' batch.
HUB_PREFLIGHT_CONTROL = {
    "id": "control-hub-preflight", "entry": "role:jupyterhub", "check_mode": False,
    "tasks_from": "preflight.yml",
    "vars": {"jupyterhub_authenticator": "pam",
             "jupyterhub_pam_password_hashes": {HUB_USERS[1]: SHA512_CRYPT},
             "jupyterhub_user_memory_limit": "2G", "jupyterhub_user_cpu_limit": 1.5,
             "jupyterhub_idle_minutes": 0.5, "jupyterhub_cull_timeout": 600,
             "jupyterhub_activity_interval": 599}}
# Valid settings pass the roles' validate.yml (what playbooks/validate.yml runs on the controller).
VALIDATE_CONTROLS = [
    {"id": "control-jupyter-service", "entry": "role:jupyter_service", "tasks_from": "validate.yml",
     "vars": {"jupyter_service_manager": "systemd", "jupyter_service_port": 8888,
              "jupyter_service_environment": {"OMP_NUM_THREADS": "2", "_LANG": "C.UTF-8"},
              "jupyter_service_restart_policy": "on-failure", "jupyter_service_idle_stop": True,
              "jupyter_service_idle_minutes": 45.5, "jupyter_service_idle_nightly_stop": "23:00"}},
    {"id": "control-tls-provided", "entry": "role:tls", "tasks_from": "validate.yml",
     "vars": {"tls_mode": "provided", "tls_common_name": "provided.example", "tls_include_host_names": False,
              "tls_include_loopback": False, "tls_provided_cert_file": "@CERTS@/good-cert.pem",
              "tls_provided_key_file": "@CERTS@/good-key.pem"}},
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, ec2_emulator_session: Any) -> Iterator[Corpus]:
    """Every case and control, run once."""
    ec2_emulator_session.reset()
    corpus = Corpus(tmp_path_factory.mktemp("inputs"), ec2_emulator_session)
    corpus.before = ec2_resources(corpus.ec2())
    roles = [c for c in CASES if c["entry"].startswith("role:")]
    others = [c for c in CASES if not c["entry"].startswith("role:")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        role_batch = pool.submit(corpus.run_roles, [*roles, HUB_PREFLIGHT_CONTROL, *VALIDATE_CONTROLS])
        controls = pool.submit(corpus.run_roles, ROLE_CONTROLS,
                               ("--check", "--tags", "inputs_preflight_control"))
        dry_run = pool.submit(corpus.run_playbook, {"id": "control-dry-run", "entry": "provision"}, True,
                              None, {"ec2_host_names": ["ann", "bob"], "ec2_host_eip": True})
        validate = pool.submit(corpus.run_playbook, {"id": "control-validate", "entry": "configure"}, False,
                               "playbooks/validate.yml", {"__jupyterops_validate_hosts": True,
                                                          "__jupyterops_validate_ec2": "provision"})
        inventory = pool.submit(corpus.run_inventory, {"id": "control-inventory", "entry": "inventory"})
        futures = {c["id"]: pool.submit(corpus.run_inventory if c["entry"] == "inventory"
                                        else corpus.run_playbook, c) for c in others}
        corpus.results |= {k: f.result() for k, f in futures.items()}
        corpus.results |= role_batch.result() | controls.result()
        corpus.results |= {"control-dry-run": dry_run.result(), "control-validate": validate.result(),
                           "control-inventory": inventory.result()}
    corpus.after = ec2_resources(corpus.ec2())
    yield corpus
    shutil.rmtree(corpus.tmp / "cases", ignore_errors=True)


def _role_untouched(work: Path) -> list[str]:
    """What a role case left behind: files in its work dir, users, groups, services."""
    left = [f"file {p}" for p in work.rglob("*")]
    for kind, lookup, names in (("user", pwd.getpwnam, [TEST_USER, *HUB_USERS]),
                                ("group", grp.getgrnam, [TEST_USER, HUB_GROUP])):
        for name in names:
            try:
                lookup(name)
                left.append(f"{kind} {name}")
            except KeyError:
                pass
    for service in (SERVICE, HUB_SERVICE):
        for path in (Path(f"/etc/systemd/system/{service}.service"), Path(f"/etc/init.d/{service}")):
            if path.exists():
                left.append(f"service file {path}")
    if (work.parent / "certs").exists():
        left.append("certs dir")
    return left


def _check(corpus: Corpus, case: dict[str, Any]) -> None:
    """Assert one case: rejected, naming the variable, before any change."""
    run, name, entry = corpus.results[case["id"]], case["names"], case["entry"]
    if entry == "inventory":
        assert run["rc"] != 0, f"accepted: {run['output']}"
        assert names_variable(name, run["messages"]), f"wrong variable named (want {name}): {run['output']}"
        return
    if entry.startswith("role:"):
        assert run["rc"] != 0 and run["failed"], f"accepted: tasks {run['tasks']}"
        assert names_variable(name, run["messages"]), f"wrong variable named (want {name}): {run['messages']}"
        for text in case.get("expect", []):
            assert any(text in m for m in run["messages"]), f"no {text!r} in {run['messages']}"
        assert run["stats"].get("changed", 0) == 0, f"changed something: {run['stats']}"
        assert run["stats"].get("failures", 0) == 1, run["stats"]
        left = _role_untouched(run["work"])
        assert left == [], f"changed something: {left}"
        if entry == "role:jupyterhub":
            late = [t for t in run["tasks"] if not t.startswith(("Run the role", *VALIDATION_PREFIXES))]
            assert late == [], f"tasks after the preflight ran: {late}"
            assert CLEAR_TEXT not in run["output"], "a clear-text password from the input reached the output"
        return
    per_host = run["per_host"]
    messages = [m for r in per_host.values() for m in r["messages"]] + [run["stderr"]]
    failed = [t for r in per_host.values() for t in r["failed"]]
    changed = {h: r["stats"].get("changed", 0) for h, r in per_host.items() if r["stats"].get("changed", 0)}
    unreachable = [h for h, r in per_host.items() if r["stats"].get("unreachable", 0)]
    created = {k: v for k, v in ec2_resources(corpus.ec2(), run["project"]).items() if v}
    assert run["rc"] != 0, f"accepted (changed {changed}, created {created})"
    assert names_variable(name, messages), \
        f"wrong variable named (want {name}): failed {failed}: {messages[:3]}"
    for text in case.get("expect", []):
        assert any(text in m for m in messages), f"no {text!r} in {messages[:3]}"
    assert not changed and not created and not unreachable, \
        f"changed something: changed {changed}, created {created}, contacted {unreachable}"
    assert list(run["work"].iterdir()) == [], "changed something: files in the work dir"
    late = [t for t in failed if not t.startswith(VALIDATION_PREFIXES)]
    assert failed and not late, f"failed late (after a validation task): {failed}"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_is_rejected_before_any_change(corpus: Corpus, case: dict[str, Any]) -> None:
    _check(corpus, case)


def test_the_table_is_well_formed() -> None:
    """Ids unique and kebab-case, entries known, names given."""
    ids = [c["id"] for c in ALL_CASES]
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and " " not in i and "_" not in i for i in ids)
    known = {*PLAYBOOKS, "inventory"}
    assert all(c["entry"] in known or c["entry"].startswith("role:") for c in ALL_CASES)
    assert all(isinstance(c["names"], str) and c["names"] for c in ALL_CASES)
    assert len(ALL_CASES) >= 150


@pytest.mark.parametrize("control", [c["id"] for c in ROLE_CONTROLS])
def test_good_input_passes_the_same_preflight(corpus: Corpus, control: str) -> None:
    """Control: valid values get through the roles' always-tagged checks (check mode), changing nothing."""
    run = corpus.results[control]
    assert run["messages"] == [] and not run["failed"], run["messages"]
    assert run["stats"].get("changed", 0) == 0 and run["stats"].get("ok", 0) > 2, run["stats"]
    assert any(t.startswith(("Validating arguments", "Validate |")) for t in run["tasks"]), run["tasks"]
    assert _role_untouched(run["work"]) == []


def test_good_input_passes_the_hub_preflight(corpus: Corpus) -> None:
    """Control: valid hub settings pass its preflight alone, for real, changing nothing."""
    run = corpus.results["control-hub-preflight"]
    assert run["messages"] == [], run["messages"]
    assert run["stats"].get("failures", 0) == 0 and run["stats"].get("changed", 0) == 0, run["stats"]
    assert any(t.startswith("Preflight |") for t in run["tasks"]), run["tasks"]
    assert _role_untouched(run["work"]) == []


@pytest.mark.parametrize("control", [c["id"] for c in VALIDATE_CONTROLS])
def test_good_input_passes_the_roles_validate_tasks(corpus: Corpus, control: str) -> None:
    """Control: valid service and provided-certificate settings pass the roles' validate.yml unchanged."""
    run = corpus.results[control]
    assert run["messages"] == [] and not run["failed"], run["messages"]
    assert run["stats"].get("failures", 0) == 0 and run["stats"].get("changed", 0) == 0, run["stats"]
    assert any(t.startswith("Validate |") for t in run["tasks"]), run["tasks"]
    assert _role_untouched(run["work"]) == []


def test_good_input_passes_the_validate_play(corpus: Corpus) -> None:
    """Control: the base values pass playbooks/validate.yml (EC2, host roles), not contacting the host."""
    run = corpus.results["control-validate"]
    assert run["rc"] == 0, run["output"]
    assert all(r["stats"].get("changed", 0) == 0 and r["stats"].get("unreachable", 0) == 0
               for r in run["per_host"].values()), run["per_host"]


def test_good_inventory_config_passes(corpus: Corpus) -> None:
    """Control: the base tagged_ec2 config lists (no) hosts without error."""
    run = corpus.results["control-inventory"]
    assert run["rc"] == 0, run["output"]


def test_dry_run_reports_changes_and_nothing_was_created(corpus: Corpus) -> None:
    """Control: check mode on an empty account reports what it would create; no run created anything."""
    run = corpus.results["control-dry-run"]
    assert run["rc"] == 0, run["output"]
    assert sum(r["stats"].get("changed", 0) for r in run["per_host"].values()) > 0, run["per_host"]
    assert corpus.after == corpus.before
