"""Pure input rules shared by every role and playbook: one place that says what a value may be.

A role lists its variables' rules in vars/main.yml (``_<role>_input_rules``); ``input_rules`` adds the
rules that follow from the role's argument spec (strict booleans for every bool option, one-line text for
every other option); ``input_errors`` applies them and returns one message per broken rule, each naming
the variable and what it accepts. Secret values (passwords, tokens, keys) are never echoed.
"""

from __future__ import annotations

import math
import posixpath
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

TRUE_WORDS = ("true", "yes", "on")
FALSE_WORDS = ("false", "no", "off")
# A system directory (and "/", the parent of them all) is never a data, notebook or prefix path.
SYSTEM_DIRS = (
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/var",
)
# Nothing of the project lives below these: kernel and device pseudo-filesystems.
PSEUDO_DIRS = ("/proc", "/sys", "/dev")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# conda MatchSpec as written in a package list: [channel::]name[ version][ build], no options.
_CONDA_SPEC = re.compile(
    r"^([A-Za-z0-9_.\-/]+::)?[A-Za-z0-9_][A-Za-z0-9_.\-]*"
    r"([\s=<>!~,.*|+A-Za-z0-9_\-]*)(\[[A-Za-z0-9_=.*,'\s\-]+\])?$"
)
_GIT_TRANSPORT = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*::")
# conda channel: a name (conda-forge, nvidia/label/cuda-12.4) or a channel URL; no options, no spaces.
_CONDA_CHANNEL = re.compile(
    r"^([A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_.\-]+)*|(https?|file|s3)://[^\s'\"#]+)$"
)
# What the playbooks pass for a variable that is not set (query('ansible.builtin.vars', ..., default=UNSET)).
UNSET = "__jupyterops_unset__"
_SECRET = re.compile(r"password|secret|token|private_key|_key_content|api_key", re.I)
RULES = (
    "bool",
    "text",
    "multiline",
    "path",
    "optional_path",
    "paths",
    "env_names",
    "git_repos",
    "pip_specs",
    "conda_specs",
    "conda_channels",
    "finite",
    "list",
    "string",
    "nonempty",
)


def _shown(name: str, value: Any) -> str:
    """The value for a message, or a placeholder for a secret."""
    return "(hidden)" if _SECRET.search(name) else repr(value)


def _strings(value: Any) -> list[str]:
    """Every string inside value: itself, list items, mapping keys and values (recursively)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, Sequence):
        return [s for item in value for s in _strings(item)]
    return []


def control_character(text: str, allow_newline: bool = False) -> str | None:
    """'U+000A at position 6' for the first control or line-separator character, else None."""
    for pos, char in enumerate(text):
        if allow_newline and char in "\n\t":
            continue
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return f"U+{ord(char):04X} at position {pos}"
    return None


def strict_bool_error(name: str, value: Any) -> str | None:
    """A message when value is not a boolean or one of true/false, yes/no, on/off."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return None
    return f"{name} must be a boolean: true or false (also yes/no, on/off) (got {_shown(name, value)})."


def path_error(name: str, value: Any) -> str | None:
    """A message when value is not an absolute, normalised path outside the system directories."""
    if not isinstance(value, str) or not value:
        return f"{name} must be an absolute path (got {_shown(name, value)})."
    if not value.startswith("/"):
        return f"{name} must be an absolute path starting with / (got {value!r})."
    normal = posixpath.normpath(value)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if normal != value:
        return (
            f"{name} must be a normalised path without '.', '..', '//' or a trailing '/' "
            f"(got {value!r}; normalised: {normal!r})."
        )
    if normal == "/" or normal in SYSTEM_DIRS:
        return (
            f"{name} must not be / or a system directory ({', '.join(SYSTEM_DIRS)}): it would be "
            f"mounted over, owned by the service user or filled with data (got {value!r})."
        )
    if any(normal.startswith(top + "/") for top in PSEUDO_DIRS):
        return (
            f"{name} must not be inside {', '.join(PSEUDO_DIRS)} (kernel and device files) (got {value!r})."
        )
    return None


def _git_entry_error(name: str, entry: Any) -> str | None:
    """A message for one repository entry (a URL string or a mapping with repo/dest/version)."""
    repo = entry.get("repo") if isinstance(entry, Mapping) else entry
    if not isinstance(repo, str) or not repo.strip():
        return f"{name}: every entry needs a repository URL (got {entry!r})."
    text = repo.strip()
    if text.startswith("-"):
        return f"{name}: repository {repo!r} starts with '-' and would be read by git as an option."
    if _GIT_TRANSPORT.match(text):
        return (
            f"{name}: repository {repo!r} uses a '<transport>::' remote helper (such as ext:: or fd::), "
            "which runs commands; use an https://, ssh:// or git@host:path URL."
        )
    if isinstance(entry, Mapping):
        for key in ("dest", "version"):
            field = entry.get(key)
            if isinstance(field, str) and field.startswith("-"):
                return f"{name}: {key} {field!r} of {repo!r} starts with '-' and would be read as an option."
    return None


def _pip_entry_error(entry: Any) -> str | None:
    """Why one pip entry is not a PEP 508 requirement, or None."""
    if not isinstance(entry, str) or not entry.strip():
        return f"{entry!r} is not a requirement string"
    if entry.lstrip().startswith("-"):
        return f"{entry!r} starts with '-' (pip would read it as an option)"
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(entry)
    except InvalidRequirement:
        return f"{entry!r} is not a PEP 508 requirement (name, extras, version, markers)"
    return None


def _conda_entry_error(entry: Any) -> str | None:
    """Why one conda entry is not a package spec, or None."""
    if not isinstance(entry, str) or not entry.strip():
        return f"{entry!r} is not a package spec string"
    if any(token.startswith("-") for token in entry.split()):
        return f"{entry!r} has a word starting with '-' (conda would read it as an option)"
    if not _CONDA_SPEC.match(entry.strip()):
        return f"{entry!r} is not a conda package spec ([channel::]name[ version][ build])"
    return None


def _conda_channel_error(entry: Any) -> str | None:
    """Why one conda channel entry is not a channel name or URL, or None."""
    if not isinstance(entry, str) or not entry.strip():
        return f"{entry!r} is not a channel string"
    if entry.lstrip().startswith("-"):
        return f"{entry!r} starts with '-' (conda would read it as an option)"
    if not _CONDA_CHANNEL.match(entry):
        return f"{entry!r} is not a channel name or URL"
    return None


def _entries(value: Any) -> list[Any]:
    """List entries of value (a lone string counts as one entry)."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def rule_error(name: str, rule: str, value: Any) -> str | None:
    """Apply one rule to one value (None skips every rule but the type ones); return a message or None."""
    if value is None:
        return None
    if rule == "bool":
        return strict_bool_error(name, value)
    if rule in ("text", "multiline"):
        for text in _strings(value):
            where = control_character(text, allow_newline=rule == "multiline")
            if where:
                return (
                    f"{name} contains a control character ({where}); values written into unit files, "
                    "init scripts, environment files and configs must be one line of printable text."
                )
        return None
    if rule == "path":
        return path_error(name, value)
    if rule == "optional_path":
        return None if value == "" else path_error(name, value)
    if rule == "paths":
        for entry in _entries(value):
            error = path_error(f"{name} entry", entry)
            if error:
                return error
        return None
    if rule == "env_names":
        if not isinstance(value, Mapping):
            return f"{name} must be a mapping of environment variable names to values (got {_a_kind(value)})."
        bad = [str(k) for k in value if not isinstance(k, str) or not _ENV_NAME.match(k)]
        if bad:
            return f"{name} has invalid environment variable names {bad}: names match [A-Za-z_][A-Za-z0-9_]*."
        return None
    if rule == "git_repos":
        for entry in _entries(value):
            error = _git_entry_error(name, entry)
            if error:
                return error
        return None
    if rule in ("pip_specs", "conda_specs"):
        check = _pip_entry_error if rule == "pip_specs" else _conda_entry_error
        bad = [error for error in map(check, _entries(value)) if error]
        if bad:
            kind = (
                "PEP 508 requirements such as 'numpy>=2' or 'pandas[excel]==2.3.3'"
                if rule == "pip_specs"
                else "conda specs such as 'numpy' or 'conda-forge::r-base>=4.4'"
            )
            return f"{name} entries must be {kind}: {'; '.join(bad)}."
        return None
    if rule == "conda_channels":
        bad = [error for error in map(_conda_channel_error, _entries(value)) if error]
        if bad:
            return (
                f"{name} entries must be conda channels, a name such as 'conda-forge' or a URL such as "
                f"'https://conda.anaconda.org/conda-forge': {'; '.join(bad)}."
            )
        return None
    if rule == "finite":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return f"{name} must be a number (got {_shown(name, value)})."
        try:
            number = float(value)
        except ValueError:
            return f"{name} must be a number (got {_shown(name, value)})."
        if not math.isfinite(number):
            return f"{name} must be a finite number (got {_shown(name, value)})."
        return None
    if rule == "list":
        if isinstance(value, str) or not isinstance(value, Sequence):
            kind = _kind(value)
            return f"{name} must be a list (got the {kind} {_shown(name, value)}); write it as [...]."
        return None
    if rule == "string":
        if not isinstance(value, str):
            return (
                f"{name} must be a string (got {_a_kind(value)}); quote it in YAML, "
                "e.g. '0042' rather than 0042 (which YAML reads as a number)."
            )
        return None
    if rule == "nonempty":
        if not isinstance(value, str) or not value.strip():
            return f"{name} must not be empty (got {_shown(name, value)})."
        return None
    raise ValueError(f"unknown input rule {rule!r} for {name}")


def _kind(value: Any) -> str:
    """The YAML name of a value's type (Ansible's tagged types such as _AnsibleTaggedStr read as string)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, Sequence):
        return "list"
    return "null" if value is None else type(value).__name__


def _a_kind(value: Any) -> str:
    """The YAML type name of value with its article: 'a string', 'an integer'."""
    kind = _kind(value)
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def input_rules(spec: Any, explicit: Any = None) -> dict[str, list[str]]:
    """Rules per variable: bool for bool options, text for the others (unless multiline), then explicit."""
    rules: dict[str, list[str]] = {}
    for name, option in (spec or {}).items():
        kind = (option or {}).get("type", "str")
        rules[name] = ["bool"] if kind == "bool" else ["text"]
    for name, extra in (explicit or {}).items():
        current = rules.setdefault(name, ["text"])
        if "multiline" in extra and "text" in current:
            current.remove("text")
        current.extend(rule for rule in extra if rule not in current)
    return rules


def input_errors(rules: Any, values: Any) -> list[str]:
    """Messages for every broken rule; values are in the order of the rules' names (None: not set)."""
    if not isinstance(rules, Mapping):
        raise ValueError("input_errors expects a mapping of variable names to rule lists")
    values = list(values) if isinstance(values, Sequence) and not isinstance(values, str) else [values]
    if len(values) != len(rules):
        raise ValueError(f"input_errors got {len(values)} values for {len(rules)} rules")
    errors: list[str] = []
    for (name, names_rules), value in zip(rules.items(), values, strict=True):
        if isinstance(value, str) and value == UNSET:
            continue
        for rule in names_rules:
            error = rule_error(name, rule, value)
            if error:
                errors.append(error)
                break
    return errors


class FilterModule:
    """Input rules."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {"input_rules": input_rules, "input_errors": input_errors}
