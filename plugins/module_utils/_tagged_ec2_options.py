# Copyright: (c) 2026, jupyterops.cloud maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Value rules for the options of the jupyterops.cloud.tagged_ec2 inventory plugin (pure, no AWS calls).

``option_errors`` takes the plugin's option values (after Ansible's own type conversion) and returns one
message per broken rule, each naming the option and what it accepts; the plugin raises them before it
loads a cache plugin, assumes a role or calls EC2. Credentials are never echoed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

PREFIX = "tagged_ec2"
SSH_PORT = 22
HOSTNAME_SOURCES = ("tag", "instance_id")
HOSTNAME_FALLBACKS = ("skip", "instance_id")
# Groups the plugin fills itself (by instance state) and Ansible's implicit groups.
STATE_GROUPS = ("pending", "running", "stopped", "shutting_down", "terminated", "unknown")
RESERVED_GROUPS = ("all", "ungrouped")
KEYED_GROUP_KEYS = ("key", "prefix", "separator", "parent_group", "default_value", "trailing_separator",
                    "leading_separator")
SECRET_OPTIONS = frozenset(("access_key", "secret_key", "session_token"))
TAG_KEY_RULE = "1-128 letters, digits, spaces and _ . : / = + - @"
TAG_VALUE_MAX = 256
USER_RULE = "a login name: 1-32 letters, digits, '.', '_' or '-', not starting with '-' or '.'"

_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d+")
_TAG_KEY = re.compile(r"[\w .:/=+\-@]{1,128}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,31}")
_URL = re.compile(r"https?://[^\s/?#]+\S*")
_ROLE_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_PLUGIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


@lru_cache(maxsize=1)
def known_ec2_regions() -> frozenset[str] | None:
    """EC2 regions of every partition in botocore's bundled (offline) endpoint data; None without botocore."""
    try:
        import botocore.session
    except ImportError:
        return None
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ec2", partition_name=partition)
    )


def control_character(text: str) -> str | None:
    """'U+000A at position 6' for the first control or line-separator character, else None."""
    for pos, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return f"U+{ord(char):04X} at position {pos}"
    return None


def _shown(option: str, value: Any) -> str:
    """The value for a message, or a placeholder for a credential."""
    return "(hidden)" if option in SECRET_OPTIONS else repr(value)


def message(option: str, rule: str, value: Any, detail: str = "") -> str:
    """One message: 'tagged_ec2: OPTION must be RULE (got VALUE[: DETAIL])'."""
    got = _shown(option, value) + (f": {detail}" if detail else "")
    return f"{PREFIX}: {option} must be {rule} (got {got})"


def _line_error(option: str, value: Any, rule: str = "one line of text") -> str | None:
    """A message unless value is a non-empty string without control characters."""
    if not isinstance(value, str) or not value.strip():
        return message(option, f"a non-empty string, {rule}", value)
    bad = control_character(value)
    if bad:
        return message(option, f"{rule} without control characters or line breaks", value, bad)
    return None


def _port_error(option: str, value: Any, allow_ssh: bool = True) -> str | None:
    """A message unless value is a TCP port number (and, with allow_ssh=False, not the SSH port)."""
    rule = "1-65535" if allow_ssh else f"1-65535 and not {SSH_PORT}"
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
    if not ok or (not allow_ssh and value == SSH_PORT):
        return message(option, rule, value)
    return None


def tag_key_error(option: str, key: Any) -> str | None:
    """A message unless key is an EC2 tag key (reading aws: tags is allowed)."""
    if not isinstance(key, str) or not key.strip() or not _TAG_KEY.fullmatch(key):
        return message(option, f"an EC2 tag key: {TAG_KEY_RULE}", key)
    return None


def _filter_value_errors(option: str, key: str, value: Any, limit: int | None) -> list[str]:
    """Messages for the values of one tag or filter entry (a scalar or a list of them)."""
    errors = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            continue  # the type rule is the shared helpers' (validate_filters)
        text = str(item)
        bad = control_character(text)
        if bad:
            errors.append(message(f"{option}.{key}", "one line without control characters", item, bad))
        elif limit is not None and len(text) > limit:
            errors.append(message(f"{option}.{key}", f"at most {limit} characters (a tag value)", item))
    return errors


def _mapping_errors(option: str, value: Any, tag_keys: bool) -> list[str]:
    """Key and value rules of the tags / filters options."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [message(option, "a mapping of name to value(s)", value)]
    errors = []
    for key, item in value.items():
        tag_key = key if tag_keys else key[4:] if isinstance(key, str) and key.startswith("tag:") else None
        if tag_key is not None and tag_key_error(option, tag_key):
            errors.append(message(option, f"a mapping whose keys are EC2 tag keys: {TAG_KEY_RULE}", tag_key))
            continue
        if isinstance(key, str):
            errors += _filter_value_errors(option, key, item, None if tag_key is None else TAG_VALUE_MAX)
    return errors


def region_errors(region: Any, regions: Any, known: frozenset[str] | None = None) -> list[str]:
    """Messages unless the regions to query (regions, else region) are EC2 region names botocore knows."""
    known = known_ec2_regions() if known is None else known
    chosen, option = (regions, "regions") if regions else ([region] if region else [], "region")
    if not isinstance(chosen, list):
        return [message("regions", "a list of region names such as [eu-west-1]", regions)]
    if not chosen:
        return [f"{PREFIX}: option 'regions' (or 'region' / AWS_REGION) is required: at least one region "
                "such as eu-west-1 (the plugin never scans all regions)"]
    errors = []
    listing = ", ".join(sorted(known)) if known else "such as eu-west-1"
    for value in chosen:
        if not isinstance(value, str) or not _REGION.fullmatch(value):
            errors.append(message(option, "a region name like eu-west-1", value))
        elif known and value not in known:
            rule = f"an EC2 region botocore knows ({listing}); check the spelling or update botocore"
            errors.append(message(option, rule, value))
    return errors


def regions_to_query(region: str | None, regions: list[str] | None) -> list[str]:
    """The regions a checked configuration queries: regions if given, else [region]; sorted, unique."""
    return sorted(dict.fromkeys(regions or ([region] if region else [])))


def _group_name_error(option: str, value: Any, reserved: Sequence[str] = ()) -> str | None:
    """A message unless value is an Ansible group name (letters, digits, _; not a reserved name)."""
    if not isinstance(value, str) or not _NAME.fullmatch(value) or value in reserved:
        rule = "an Ansible group name: letters, digits and _, not starting with a digit"
        if reserved:
            rule += f", not {', '.join(reserved)}"
        return message(option, rule, value)
    return None


def _expression_map_errors(option: str, value: Any, key_rule: str) -> list[str]:
    """compose (variable -> expression) and groups (group -> condition): names and Jinja strings."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [message(option, f"a mapping of {key_rule} to a Jinja expression", value)]
    errors = []
    for key, expression in value.items():
        if not isinstance(key, str) or not _NAME.fullmatch(key):
            errors.append(message(option, f"a mapping whose keys are {key_rule}s (letters, digits, _)", key))
        elif not isinstance(expression, str) or not expression.strip():
            errors.append(message(
                f"{option}.{key}", "a Jinja expression string (quote a literal inside it: \"'2222'\")",
                expression))
    return errors


def _keyed_group_errors(value: Any) -> list[str]:
    """keyed_groups: a list of mappings with a 'key' expression and only the documented keys."""
    option = "keyed_groups"
    if value is None:
        return []
    if not isinstance(value, list):
        return [message(option, "a list of mappings with a 'key'", value)]
    errors = []
    for index, entry in enumerate(value):
        where = f"{option}[{index}]"
        if not isinstance(entry, Mapping):
            errors.append(message(where, "a mapping with a 'key'", entry))
            continue
        unknown = sorted(str(k) for k in entry if k not in KEYED_GROUP_KEYS)
        if unknown:
            errors.append(message(where, f"a mapping of {', '.join(KEYED_GROUP_KEYS)}", unknown))
        if not isinstance(entry.get("key"), str) or not entry["key"].strip():
            errors.append(message(f"{where}.key", "a Jinja expression string", entry.get("key")))
        for name in ("prefix", "separator", "default_value"):
            text = entry.get(name)
            if text is not None and (not isinstance(text, str) or control_character(text)):
                errors.append(message(f"{where}.{name}", "one line of text", text))
        if entry.get("parent_group") is not None:
            errors.append(_group_name_error(f"{where}.parent_group", entry["parent_group"]))
        for name in ("trailing_separator", "leading_separator"):
            if name in entry and not isinstance(entry[name], bool):
                errors.append(message(f"{where}.{name}", "true or false", entry[name]))
        if entry.get("default_value") is not None and entry.get("trailing_separator") is False:
            errors.append(message(f"{where}.default_value", "unset when trailing_separator is false",
                                   entry["default_value"]))
    return [e for e in errors if e]


def option_errors(options: Mapping[str, Any], known_regions: frozenset[str] | None = None) -> list[str]:
    """Every broken rule of a tagged_ec2 configuration (option name -> value), one message each."""
    opt = options.get
    errors: list[str | None] = list(region_errors(opt("region"), opt("regions"), known_regions))
    errors += _mapping_errors("tags", opt("tags"), tag_keys=True)
    errors += _mapping_errors("filters", opt("filters"), tag_keys=False)
    for option, choices in (("hostname_source", HOSTNAME_SOURCES), ("hostname_fallback", HOSTNAME_FALLBACKS)):
        if opt(option) not in choices:
            errors.append(message(option, f"one of {', '.join(choices)}", opt(option)))
    errors.append(tag_key_error("hostname_tag", opt("hostname_tag")))
    errors.append(_group_name_error("group", opt("group"), (*RESERVED_GROUPS, *STATE_GROUPS)))
    user = opt("ssh_user")
    if user is not None and (not isinstance(user, str) or not _USER.fullmatch(user)):
        errors.append(message("ssh_user", USER_RULE, user))
    identity = opt("ssh_identity_file")
    if identity is not None:
        error = _line_error("ssh_identity_file", identity, "a path to a private key file on one line")
        if not error and identity != identity.strip():
            error = message("ssh_identity_file", "a path without leading or trailing spaces", identity)
        errors.append(error)
    if opt("jupyter_port") is not None:
        errors.append(_port_error("jupyter_port", opt("jupyter_port"), allow_ssh=False))
    errors.append(_port_error("tunnel_local_port", opt("tunnel_local_port")))
    url = opt("jupyter_url_template")
    if url is not None:
        error = _line_error("jupyter_url_template", url)
        if not error and not url.startswith(("http://", "https://")):
            error = message("jupyter_url_template", "an http:// or https:// URL template", url)
        errors.append(error)
    errors.append(_line_error("ssh_tunnel_command_template", opt("ssh_tunnel_command_template")))
    errors += _expression_map_errors("compose", opt("compose"), "variable name")
    errors += _expression_map_errors("groups", opt("groups"), "group name")
    errors += _keyed_group_errors(opt("keyed_groups"))
    timeout = opt("cache_timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0):
        errors.append(message("cache_timeout", "a number of seconds, 0 or more", timeout))
    plugin = opt("cache_plugin")
    if plugin is not None and (not isinstance(plugin, str) or not _PLUGIN_NAME.fullmatch(plugin)):
        errors.append(message("cache_plugin", "a cache plugin name such as ansible.builtin.jsonfile", plugin))
    for option in ("cache_connection", "profile", *sorted(SECRET_OPTIONS)):
        if opt(option) is not None:
            errors.append(_line_error(option, opt(option)))
    prefix = opt("cache_prefix")
    if prefix is not None and (not isinstance(prefix, str) or control_character(prefix)):
        errors.append(message("cache_prefix", "one line of text", prefix))
    endpoint = opt("endpoint_url")
    if endpoint is not None and (not isinstance(endpoint, str) or control_character(endpoint)
                                 or not _URL.fullmatch(endpoint)):
        errors.append(message("endpoint_url", "an http:// or https:// URL", endpoint))
    arn = opt("assume_role_arn")
    if arn is not None and (not isinstance(arn, str) or not _ROLE_ARN.fullmatch(arn)):
        errors.append(message("assume_role_arn", "an IAM role ARN: arn:aws:iam::<account>:role/<name>", arn))
    return [e for e in errors if e]
