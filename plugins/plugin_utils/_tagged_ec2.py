# Copyright: (c) 2026, jupyterops.cloud maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers of the jupyterops.cloud.tagged_ec2 inventory plugin (no Ansible, no boto3)."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

KNOWN_STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")
ADDRESS_KINDS = ("elastic_ip", "public_ip", "public_dns", "private_ip", "private_dns")
PRIVATE_KINDS = frozenset(("private_ip", "private_dns"))
NO_ADDRESS_STATES = frozenset(("stopping", "stopped", "shutting-down", "terminated"))
GROUP_OF_STATE = {"stopping": "stopped"}
TEMPLATE_FIELDS = frozenset((
    "name", "instance_id", "address", "public_ip", "private_ip", "elastic_ip", "region",
    "availability_zone", "instance_type", "user", "identity_file", "jupyter_port", "local_port",
))
# Fields of a cache record that the cheap refresh can observe; a change in any of them invalidates.
VOLATILE_FIELDS = ("state", "public_ip", "private_ip", "elastic_ip")
# 2: records carry first_launch_time (older entries are re-queried, not misread).
CACHE_FORMAT = 2
# Tags the jupyterops.cloud.ec2_host role sets at launch: the instance's name and the AMI's login user.
HOST_TAG = "jupyterops:host"
LOGIN_USER_TAG = "jupyterops:login-user"
DEFAULT_LOGIN_USER = "admin"
# Instances on their way out yield a contested name to a live namesake.
GONE_STATES = frozenset(("shutting-down", "terminated"))

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_FILTER_NAME = re.compile(r"^[A-Za-z0-9:._/*+=@-]+$")
_FORMATTER = string.Formatter()
# The ssh_user rule (module_utils/_tagged_ec2_options.py _USER): a login name safe in ssh commands.
_LOGIN_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,31}")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the option and the value."""


# ---------------------------------------------------------------------------------- configuration

def _filter_values(option: str, key: Any, value: Any) -> list[str]:
    """Return one filter's values as a list of strings or raise ConfigError naming the option."""
    what = "tag key" if option == "tags" else "filter name"
    free_form = option == "tags" or (isinstance(key, str) and key.startswith("tag:") and len(key) > 4)
    if not isinstance(key, str) or not key.strip() or not (free_form or _FILTER_NAME.match(key)):
        raise ConfigError(f"option '{option}': {key!r} is not a valid {what}")
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ConfigError(f"option '{option}': filter {key!r} has an empty list of values")
    out = []
    for item in values:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ConfigError(
                f"option '{option}': filter {key!r} value {item!r} must be a string or a list of strings")
        out.append(str(item))
    return out


def validate_filters(option: str, filters: Any) -> dict[str, list[str]]:
    """Return a filter mapping (name -> values) or raise ConfigError naming the option."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise ConfigError(
            f"option '{option}': expected a mapping of filter name to value(s), got {filters!r}")
    return {key: _filter_values(option, key, value) for key, value in filters.items()}


def build_filters(tags: Mapping[str, list[str]], filters: Mapping[str, list[str]],
                  states: Iterable[str] | None) -> list[dict[str, Any]]:
    """Return the boto3 DescribeInstances filter list (sorted, so equal configs give equal lists)."""
    if "instance-state-name" in filters:
        raise ConfigError(
            "option 'filters': use 'instance_states' instead of the 'instance-state-name' filter")
    merged = {f"tag:{key}": values for key, values in tags.items()}
    merged.update(filters)
    if states is not None:
        merged["instance-state-name"] = list(states)
    return [{"Name": name, "Values": merged[name]} for name in sorted(merged)]


def validate_states(states: Any) -> list[str]:
    """Return the instance states to list or raise ConfigError naming `instance_states`."""
    if not isinstance(states, list) or not states:
        raise ConfigError(f"option 'instance_states': expected a non-empty list of states, got {states!r}")
    for state in states:
        if state not in KNOWN_STATES:
            raise ConfigError(
                f"option 'instance_states': {state!r} is not one of {', '.join(KNOWN_STATES)}")
    return list(dict.fromkeys(states))


def validate_address_preference(preference: Any) -> list[str]:
    """Return the ansible_host preference list or raise ConfigError naming `address_preference`."""
    if not isinstance(preference, list) or not preference:
        raise ConfigError(
            f"option 'address_preference': expected a non-empty list of {', '.join(ADDRESS_KINDS)}, "
            f"got {preference!r}")
    for kind in preference:
        if kind not in ADDRESS_KINDS:
            raise ConfigError(
                f"option 'address_preference': {kind!r} is not one of {', '.join(ADDRESS_KINDS)}")
    return list(dict.fromkeys(preference))


def validate_template(option: str, template: Any) -> str:
    """Check a str.format template uses only the documented named fields; return it."""
    if not isinstance(template, str):
        raise ConfigError(f"option '{option}': expected a string, got {template!r}")
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ConfigError(f"option '{option}': {template!r} is not a valid template: {exc}") from exc
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            raise ConfigError(
                f"option '{option}': unknown field {{{field}}} in {template!r}; "
                f"allowed: {', '.join(sorted(TEMPLATE_FIELDS))}")
        if conversion or (spec and "{" in spec):
            raise ConfigError(
                f"option '{option}': conversions and nested fields are not allowed in {template!r}")
    return template


def template_fields(template: str) -> frozenset[str]:
    """Return the named fields a validated template references."""
    return frozenset(field for _l, field, _s, _c in _FORMATTER.parse(template) if field)


def render_template(template: str, fields: Mapping[str, Any],
                    needed: Iterable[str] | None = None) -> str | None:
    """Render a validated template; None when a referenced field has no value (e.g. no address)."""
    for field in template_fields(template) if needed is None else needed:
        if fields.get(field) in (None, ""):
            return None
    return template.format_map(fields)


def cache_fingerprint(**query: Any) -> str:
    """Return a stable digest of everything that decides which instances a query returns."""
    blob = json.dumps(query, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------- instances

def _tags(raw: Mapping[str, Any]) -> dict[str, str]:
    """Return the boto3 tag list of an instance as a dict."""
    return {tag["Key"]: tag["Value"] for tag in raw.get("Tags") or ()}


def _iso_utc(value: Any) -> str | None:
    """Return a timestamp as an ISO 8601 UTC string (strings are kept as they are)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC).isoformat()
    return value or None


def first_launch_time(raw: Mapping[str, Any]) -> str | None:
    """Return when an instance was first launched: its primary ENI's AttachTime, else LaunchTime.

    LaunchTime is the time of the last start (it moves on every stop/start); the primary network
    interface stays attached from launch to termination, so its AttachTime is the first launch.
    """
    for eni in raw.get("NetworkInterfaces") or ():
        attachment = eni.get("Attachment") or {}
        if attachment.get("DeviceIndex") == 0 and attachment.get("AttachTime"):
            return _iso_utc(attachment["AttachTime"])
    return _iso_utc(raw.get("LaunchTime"))


def normalize_instance(raw: Mapping[str, Any], region: str, elastic_ips: Mapping[str, str]) -> dict[str, Any]:
    """Reduce a DescribeInstances item to the small, JSON-safe record the plugin and its cache use."""
    root = raw.get("RootDeviceName")
    volumes = [
        bdm["Ebs"]["VolumeId"] for bdm in raw.get("BlockDeviceMappings") or ()
        if bdm.get("DeviceName") != root and "Ebs" in bdm and bdm["Ebs"].get("VolumeId")
    ]
    launch = raw.get("LaunchTime")
    instance_id = raw["InstanceId"]
    return {
        "instance_id": instance_id,
        "instance_type": raw.get("InstanceType"),
        "state": raw.get("State", {}).get("Name"),
        "public_ip": raw.get("PublicIpAddress") or None,
        "private_ip": raw.get("PrivateIpAddress") or None,
        "elastic_ip": elastic_ips.get(instance_id),
        "public_dns": raw.get("PublicDnsName") or None,
        "private_dns": raw.get("PrivateDnsName") or None,
        "launch_time": launch.isoformat() if hasattr(launch, "isoformat") else launch,
        "first_launch_time": first_launch_time(raw),
        "availability_zone": raw.get("Placement", {}).get("AvailabilityZone"),
        "region": region,
        "tags": _tags(raw),
        "data_volume_ids": volumes,
    }


def sanitize_hostname(value: str) -> str:
    """Make a tag value usable as an inventory and ssh_config host name (runs of odd chars -> '-')."""
    return _UNSAFE_NAME_CHARS.sub("-", value.strip()).strip("-.")


def _usable_name(value: Any) -> str | None:
    """Return a sanitized tag value usable as a host name, or None (empty, or an IP address)."""
    name = sanitize_hostname(value) if isinstance(value, str) else ""
    return name if name and not _IPV4.match(name) else None


def base_name(record: Mapping[str, Any], source: str, tag: str, fallback: str) -> str | None:
    """Return the name an instance claims, or None to leave it out.

    With source "tag" the name given at launch (the jupyterops:host tag) comes first, then `tag`.
    """
    if source == "instance_id":
        return record["instance_id"]
    tags = record["tags"]
    name = _usable_name(tags.get(HOST_TAG)) or _usable_name(tags.get(tag))
    if name:
        return name
    return record["instance_id"] if fallback == "instance_id" else None


def _moment(value: Any) -> datetime.datetime | None:
    """Parse an ISO 8601 timestamp (naive = UTC); None when missing or malformed."""
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


_NEVER = datetime.datetime.max.replace(tzinfo=datetime.UTC)


def seniority(record: Mapping[str, Any]) -> tuple[bool, datetime.datetime, str]:
    """Sort key of namesakes: live before shutting-down/terminated, then first launched, then instance id."""
    launched = _moment(record.get("first_launch_time") or record.get("launch_time"))
    return record.get("state") in GONE_STATES, launched or _NEVER, record["instance_id"]


def suffixed_name(name: str, instance_id: str, taken: set[str]) -> str | None:
    """Return '<name>-<instance id>', else the bare instance id, whichever is free (lower-case `taken`)."""
    for candidate in (f"{name}-{instance_id}", instance_id):
        if candidate.lower() not in taken:
            return candidate
    return None


def assign_names(records: Iterable[Mapping[str, Any]], source: str = "tag", tag: str = "Name",
                 fallback: str = "skip", reserved: Iterable[str] = ()) -> tuple[dict[str, str], list[str]]:
    """Map instance id -> unique host name, a pure function of the records; return it and the warnings.

    Namesakes (same name ignoring case): the senior one (seniority) keeps the bare name, the others get
    '-<instance id>'. A name equal to a reserved (group) name, ignoring case, is suffixed for every
    instance that claims it. A suffixed name that another instance claims bare falls back to the id.
    """
    claims: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for record in records:
        name = base_name(record, source, tag, fallback)
        if name is not None:
            claims.setdefault(name.lower(), []).append((name, record))
    blocked = {name.lower() for name in reserved}
    names: dict[str, str] = {}
    warnings: list[str] = []
    taken = {key for key in claims if key not in blocked} | blocked
    for key in sorted(claims):
        members = claims[key]
        if len(members) == 1 and key not in blocked:
            name, record = members[0]
            names[record["instance_id"]] = name
            continue
        members.sort(key=lambda member: seniority(member[1]))
        shown = members[0][0]
        if key in blocked:
            rest = members
            ids = ", ".join(record["instance_id"] for _n, record in members)
            warnings.append(f"tagged_ec2: the host name {shown!r} ({ids}) is also a group name; "
                            f"listed as '{shown}-<instance id>'")
        else:
            keeper, rest = members[0], members[1:]
            names[keeper[1]["instance_id"]] = keeper[0]
            others = ", ".join(record["instance_id"] for _n, record in rest)
            warnings.append(f"tagged_ec2: {len(members)} instances claim the host name {shown!r}: "
                            f"{keeper[1]['instance_id']} (launched first) keeps it, {others} "
                            f"get '-<instance id>' appended")
        for name, record in rest:
            instance_id = record["instance_id"]
            unique = suffixed_name(name, instance_id, taken)
            if unique is None:
                warnings.append(f"tagged_ec2: skipping {instance_id}: {name}-{instance_id} and "
                                f"{instance_id} are both taken")
                continue
            names[instance_id] = unique
            taken.add(unique.lower())
    return names, warnings


def choose_address(record: Mapping[str, Any], preference: Iterable[str], use_private_ip: bool) -> str | None:
    """Return the first available address in preference order; private ones only if allowed."""
    if record.get("state") in NO_ADDRESS_STATES:
        return None
    for kind in preference:
        if kind in PRIVATE_KINDS and not use_private_ip:
            continue
        value = record.get(kind)
        if value:
            return value
    return None


def state_group(state: str | None) -> str:
    """Return the group of an instance state (stopping instances count as stopped)."""
    return GROUP_OF_STATE.get(state or "", state or "unknown").replace("-", "_")


def template_values(record: Mapping[str, Any], name: str, address: str | None,
                    settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the named fields offered to jupyter_url / ssh_tunnel_command templates."""
    return {
        "name": name,
        "instance_id": record["instance_id"],
        "address": address,
        "public_ip": record.get("public_ip"),
        "private_ip": record.get("private_ip"),
        "elastic_ip": record.get("elastic_ip"),
        "region": record.get("region"),
        "availability_zone": record.get("availability_zone"),
        "instance_type": record.get("instance_type"),
        "user": settings.get("user"),
        "identity_file": settings.get("identity_file"),
        "jupyter_port": settings.get("jupyter_port"),
        "local_port": settings.get("local_port"),
    }


# How the ec2_host role tags an instance's Jupyter access (one setting: jupyterops_access).
ACCESS_TAG = "jupyterops:access"
PORT_TAG = "jupyterops:port"
ACCESS_DEFAULTS = {
    "tunnel": {"port": 8889, "url": "http://localhost:{local_port}/"},
    "public": {"port": 9999, "url": "https://{address}:{jupyter_port}/"},
}


def login_user(record: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """Login user of one host: the ssh_user option, else its jupyterops:login-user tag, else admin."""
    if settings.get("user"):
        return settings["user"]
    tagged = (record.get("tags") or {}).get(LOGIN_USER_TAG)
    if isinstance(tagged, str) and _LOGIN_USER.fullmatch(tagged):
        return tagged
    return DEFAULT_LOGIN_USER


def host_access(record: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """Access mode, Jupyter port, URL template and login user of a host: options win, then its tags."""
    tags = record.get("tags") or {}
    access = tags.get(ACCESS_TAG)
    if access not in ACCESS_DEFAULTS:
        access = "tunnel"
    port = settings.get("jupyter_port")
    if port is None:
        tagged = str(tags.get(PORT_TAG, ""))
        valid = tagged.isdigit() and 1 <= int(tagged) <= 65535
        port = int(tagged) if valid else ACCESS_DEFAULTS[access]["port"]
    url = settings.get("jupyter_url_template") or ACCESS_DEFAULTS[access]["url"]
    return {"access": access, "port": port, "url_template": url, "user": login_user(record, settings)}


def connection_vars(record: Mapping[str, Any], name: str, address: str | None, settings: Mapping[str, Any],
                    templates: Mapping[str, str | None],
                    access: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Render jupyter_url / ssh_tunnel_command (variable -> template); none for a host without address.

    A template of None is the host's own default from its access tags (host_access, or `access` if given).
    """
    if not address:
        return {}
    if access is None:
        access = host_access(record, settings)
    settings = {**settings, "jupyter_port": access["port"], "user": access["user"]}
    templates = {var: (access["url_template"] if template is None else template)
                 for var, template in templates.items()}
    values = template_values(record, name, address, settings)
    rendered = {var: render_template(template, values) for var, template in templates.items()}
    return {var: text for var, text in rendered.items() if text is not None}


def host_vars(record: Mapping[str, Any], address: str | None) -> dict[str, Any]:
    """Return the host variables the plugin sets (before templates and compose)."""
    hostvars = {
        "instance_id": record["instance_id"],
        "instance_type": record["instance_type"],
        "instance_state": record["state"],
        "public_ip": record.get("public_ip"),
        "private_ip": record.get("private_ip"),
        "elastic_ip": record.get("elastic_ip"),
        "launch_time": record.get("launch_time"),
        "availability_zone": record.get("availability_zone"),
        "region": record.get("region"),
        "instance_tags": record.get("tags", {}),
        "data_volume_ids": record.get("data_volume_ids", []),
    }
    if address:
        hostvars["ansible_host"] = address
    return hostvars


def shared_vars(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the variables every host shares (set once on the plugin's group)."""
    shared: dict[str, Any] = {"jupyter_local_port": settings["local_port"]}
    if settings.get("user"):
        shared["ansible_user"] = settings["user"]
    if settings.get("jupyter_port") is not None:
        shared["jupyter_port"] = settings["jupyter_port"]
    if settings.get("identity_file"):
        shared["ansible_ssh_private_key_file"] = settings["identity_file"]
    return shared


# ---------------------------------------------------------------------------------- cache

def primary_addresses(network_interfaces: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str | None]]:
    """Map instance id -> addresses of its primary ENI, from one DescribeNetworkInterfaces answer."""
    out: dict[str, dict[str, str | None]] = {}
    for eni in network_interfaces:
        attachment = eni.get("Attachment") or {}
        instance_id = attachment.get("InstanceId")
        if not instance_id or attachment.get("DeviceIndex", 0) != 0:
            continue
        association = eni.get("Association") or {}
        public_ip = association.get("PublicIp") or None
        out[instance_id] = {
            "public_ip": public_ip,
            "private_ip": eni.get("PrivateIpAddress") or None,
            "elastic_ip": public_ip if association.get("AllocationId") else None,
        }
    return out


def cache_decision(cached: Mapping[str, Any], fingerprint: str, states: Mapping[str, str],
                   addresses: Mapping[str, Mapping[str, str | None]]) -> tuple[bool, str]:
    """Decide whether a cache entry may be served given fresh states and addresses; return (ok, reason)."""
    if not isinstance(cached, Mapping) or cached.get("format") != CACHE_FORMAT:
        return False, "cache entry has an unknown format"
    if cached.get("fingerprint") != fingerprint:
        return False, "configuration changed since the cache was written"
    known = set(cached.get("other_ids") or ())
    for record in cached.get("instances", ()):
        instance_id = record["instance_id"]
        known.add(instance_id)
        fresh_state = states.get(instance_id)
        if fresh_state != record["state"]:
            return False, f"{instance_id} is now {fresh_state or 'gone'} (cached: {record['state']})"
        fresh = addresses.get(instance_id, {})
        for field in VOLATILE_FIELDS[1:]:
            if fresh.get(field) != record.get(field):
                return False, f"{instance_id} {field} changed"
    unknown = sorted(set(states) - known)
    if unknown:
        return False, f"{len(unknown)} instance(s) appeared since the cache was written (e.g. {unknown[0]})"
    return True, "states and addresses unchanged"
