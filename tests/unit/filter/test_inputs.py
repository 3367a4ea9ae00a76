"""Unit tests for plugins/filter/inputs.py (the input rules every role and playbook applies)."""

from __future__ import annotations

import pytest

from plugins.filter.inputs import UNSET, FilterModule, input_errors, input_rules, rule_error


@pytest.mark.parametrize("value", [True, False, "true", "False", "yes", "NO", "on", "off", " yes "])
def test_strict_bool_accepts_the_six_words(value: object) -> None:
    assert rule_error("jupyterops_tls", "bool", value) is None


@pytest.mark.parametrize("value", ["ture", "enabled", "yes please", "y", "t", "1", "0", 1, 0, 1.0, [], {}])
def test_strict_bool_refuses_anything_else(value: object) -> None:
    message = rule_error("jupyterops_tls", "bool", value)
    assert message and message.startswith("jupyterops_tls must be a boolean")


@pytest.mark.parametrize(
    "value",
    [
        "always\nExecStartPre=+/bin/touch /tmp/x",
        "a\rb",
        "tab\there",
        "esc\x1b[0m",
        "line\u2028sep",
        "nul\x00",
        "del\x7f",
        ["ok", "bad\n"],
        {"KEY": "v\n"},
        {"K\nEY": "v"},
    ],
)
def test_text_refuses_control_characters_anywhere(value: object) -> None:
    message = rule_error("jupyter_service_restart_policy", "text", value)
    assert message and "control character" in message and "jupyter_service_restart_policy" in message


def test_text_never_echoes_the_value() -> None:
    message = rule_error("jupyterlab_password", "text", "hunter2\nsecret")
    assert message and "hunter2" not in message


@pytest.mark.parametrize("value", ["on-failure", "Jupyter ünïcode é", ["a", "b"], {"A": "b"}, 5, None])
def test_text_accepts_printable_values(value: object) -> None:
    assert rule_error("x", "text", value) is None


def test_multiline_allows_newlines_but_not_other_controls() -> None:
    assert rule_error("x", "multiline", "a\nb\tc") is None
    assert rule_error("x", "multiline", "a\x1bb")


@pytest.mark.parametrize(
    "value",
    [
        "/data",
        "/srv/notebooks",
        "/etc/jupyter",
        "/home/jupyter",
        "/var/lib/jupyter",
        "/opt/conda",
        "/run/jupyter",
    ],
)
def test_path_accepts_absolute_normal_paths(value: str) -> None:
    assert rule_error("jupyterlab_root_dir", "path", value) is None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("/", "system directory"),
        ("/etc", "system directory"),
        ("/var", "system directory"),
        ("/usr", "system directory"),
        ("/lib64", "system directory"),
        ("/boot", "system directory"),
        ("/data/../etc", "normalised"),
        ("/data/", "normalised"),
        ("/data/./x", "normalised"),
        ("//etc", "normalised"),
        ("data", "absolute"),
        ("", "absolute"),
        ("/proc/self", "inside"),
        ("/dev/shm/x", "inside"),
        (5, "absolute"),
    ],
)
def test_path_refuses_system_relative_and_unnormalised(value: object, fragment: str) -> None:
    message = rule_error("data_volume_mount_point", "path", value)
    assert message and message.startswith("data_volume_mount_point") and fragment in message


def test_optional_path_allows_empty() -> None:
    assert rule_error("jupyterlab_certfile", "optional_path", "") is None
    assert rule_error("jupyterlab_certfile", "optional_path", "/etc")


def test_env_names() -> None:
    assert rule_error("e", "env_names", {"PATH_X": "1", "_a9": "2"}) is None
    for bad in ({"A;B": "x"}, {"1A": "x"}, {"A-B": "x"}, {"": "x"}):
        message = rule_error("jupyter_service_environment", "env_names", bad)
        assert message and "jupyter_service_environment" in message
    assert rule_error("e", "env_names", ["A=1"])


@pytest.mark.parametrize(
    "value",
    [
        ["https://github.com/org/repo.git"],
        [{"repo": "git@github.com:o/r.git", "dest": "course", "version": "main"}],
        "ssh://git@example.org/r.git",
    ],
)
def test_git_repos_accepts_urls(value: object) -> None:
    assert rule_error("jupyterlab_git_repositories", "git_repos", value) is None


@pytest.mark.parametrize(
    "value",
    [
        ["--upload-pack=touch /tmp/x"],
        [{"repo": "ext::sh -c touch% /tmp/x"}],
        [{"repo": "fd::17"}],
        [{"repo": "EXT::sh"}],
        [{"repo": "https://x/r", "version": "--foo"}],
        [{"dest": "x"}],
    ],
)
def test_git_repos_refuses_options_and_command_transports(value: object) -> None:
    message = rule_error("jupyterlab_git_repositories", "git_repos", value)
    assert message and message.startswith("jupyterlab_git_repositories")


def test_pip_specs() -> None:
    good = [
        "numpy",
        "pandas[excel]==2.3.3",
        "scipy>=1.14,<2",
        "foo @ https://example.org/foo.whl",
        "bar; python_version >= '3.11'",
    ]
    assert rule_error("jupyterlab_pip_packages", "pip_specs", good) is None
    for bad in (["--index-url=http://evil"], ["-e ."], ["numpy pandas"], ["==1.0"], [""], [5]):
        message = rule_error("jupyterlab_pip_packages", "pip_specs", bad)
        assert message and message.startswith("jupyterlab_pip_packages entries must be PEP 508")


def test_conda_specs() -> None:
    good = [
        "numpy",
        "r-base>=4.4",
        "conda-forge::r-irkernel",
        "python=3.12",
        "jupyterlab=4.4.*",
        "pkg 1.0 py_0",
    ]
    assert rule_error("jupyterlab_conda_packages", "conda_specs", good) is None
    for bad in (["--channel=evil"], ["-c evil"], ["numpy; rm -rf"], [""]):
        assert rule_error("jupyterlab_conda_packages", "conda_specs", bad)


@pytest.mark.parametrize("value", ["Infinity", "nan", float("inf"), "-inf", "abc", True, [1]])
def test_finite_refuses_non_finite_and_non_numbers(value: object) -> None:
    assert rule_error("jupyter_service_idle_minutes", "finite", value)


@pytest.mark.parametrize("value", [5, 0.5, "30", "1.5"])
def test_finite_accepts_numbers(value: object) -> None:
    assert rule_error("jupyter_service_idle_minutes", "finite", value) is None


def test_list_string_nonempty() -> None:
    assert "must be a list" in rule_error("ec2_host_admin_cidrs", "list", "203.0.113.7/32")
    assert rule_error("ec2_host_admin_cidrs", "list", ["203.0.113.7/32"]) is None
    assert "must be a string" in rule_error("jupyterlab_password", "string", 12345)
    assert "12345" not in rule_error("jupyterlab_password", "string", 12345)
    assert rule_error("tls_common_name", "nonempty", "  ")
    assert rule_error("tls_common_name", "nonempty", "jupyter.example.org") is None


def test_messages_name_yaml_types_not_python_classes() -> None:
    """Ansible hands the filter tagged subclasses (_AnsibleTaggedStr...): messages name the YAML type."""

    class _TaggedStr(str):
        pass

    class _TaggedInt(int):
        pass

    assert "got the string" in rule_error("ec2_host_admin_cidrs", "list", _TaggedStr("203.0.113.7/32"))
    assert "got a integer" not in rule_error("jupyterlab_password", "string", _TaggedInt(1))
    assert "(got an integer)" in rule_error("jupyterlab_password", "string", _TaggedInt(1))
    assert "(got a list)" in rule_error("jupyterlab_env", "env_names", ["A"])


def test_unknown_rule_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown input rule"):
        rule_error("x", "nope", 1)


def test_input_rules_from_an_argument_spec() -> None:
    spec = {
        "a_switch": {"type": "bool"},
        "a_name": {"type": "str"},
        "a_list": {"type": "list"},
        "a_config": {"type": "str"},
    }
    rules = input_rules(spec, {"a_list": ["pip_specs"], "a_config": ["multiline"], "extra": ["path"]})
    assert rules == {
        "a_switch": ["bool"],
        "a_name": ["text"],
        "a_list": ["text", "pip_specs"],
        "a_config": ["multiline"],
        "extra": ["text", "path"],
    }


def test_input_errors_one_message_per_variable_and_unset_skipped() -> None:
    rules = {"a": ["bool"], "b": ["text", "path"], "c": ["path"]}
    errors = input_errors(rules, ["ture", "/etc", UNSET])
    assert len(errors) == 2
    assert errors[0].startswith("a must be a boolean") and errors[1].startswith("b must not be")
    with pytest.raises(ValueError):
        input_errors(rules, ["x"])


def test_filter_module_exports() -> None:
    assert set(FilterModule().filters()) == {"input_rules", "input_errors"}


def test_conda_channels() -> None:
    good = [
        "conda-forge",
        "bioconda",
        "nvidia/label/cuda-12.4",
        "https://conda.anaconda.org/conda-forge",
        "file:///srv/conda-channel",
    ]
    assert rule_error("miniconda_channels", "conda_channels", good) is None
    for bad in (["--override-channels"], ["-c evil"], ["conda forge"], ["a: b"], [""], [5], ["ftp://x"]):
        message = rule_error("miniconda_channels", "conda_channels", bad)
        assert message and message.startswith("miniconda_channels entries must be conda channels"), bad
