"""Pure helpers for the ec2_host role: input validation, security group rules, instance summaries."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any

_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$", re.UNICODE)


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Parse one CIDR (prefix required) or return None."""
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def invalid_cidrs(values: Any) -> list[Any]:
    """Entries that are not a CIDR with an explicit prefix length."""
    if not isinstance(values, list):
        return [values]
    return [value for value in values if _network(value) is None]


def wide_cidrs(values: Any, max_percent: Any = 1) -> list[str]:
    """Per address family, the entries whose union covers more than max_percent of that family's space.

    Overlaps count once (the networks are collapsed first), so 0.0.0.0/1 + 128.0.0.0/1 is the whole IPv4
    internet like 0.0.0.0/0. A union that is the whole space is always reported, whatever max_percent.
    Returns one description per family over the limit, e.g. 'IPv4 100% (0.0.0.0/1, 128.0.0.0/1)'.
    """
    if not isinstance(values, list):
        return []
    limit = float(max_percent)
    found = []
    for version, label in ((4, "IPv4"), (6, "IPv6")):
        entries = [(v, net) for v in values if (net := _network(v)) is not None and net.version == version]
        if not entries:
            continue
        union = list(ipaddress.collapse_addresses(net for _, net in entries))
        total = 2 ** (32 if version == 4 else 128)
        covered = sum(net.num_addresses for net in union)
        percent = 100 * covered / total
        if percent > limit or covered == total:
            shown = f"{percent:.4g}%"
            found.append(f"{label} {shown} ({', '.join(v for v, _ in entries)})")
    return found


@lru_cache(maxsize=1)
def _botocore_regions() -> frozenset[str] | None:
    """EC2 regions of every partition in botocore's bundled (offline) endpoint data; None without botocore."""
    try:
        import boto3
    except ImportError:
        return None
    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ec2", partition_name=partition)
    )


def ec2_regions(_value: Any = None) -> list[str]:
    """The EC2 regions this controller's botocore knows, sorted (the filter's input is ignored)."""
    return sorted(_botocore_regions() or [])


def region_known(region: Any, known: Any = None) -> bool:
    """True when region is one of known (default: botocore's EC2 regions; without botocore, every string)."""
    if not isinstance(region, str):
        return False
    regions = _botocore_regions() if known is None else frozenset(known)
    return regions is None or region in regions


def _split(values: list[str]) -> tuple[list[str], list[str]]:
    """Normalised IPv4 and IPv6 CIDRs, sorted and deduplicated."""
    nets = [n for n in (_network(v) for v in values) if n is not None]
    v4 = sorted({str(n) for n in nets if n.version == 4})
    v6 = sorted({str(n) for n in nets if n.version == 6})
    return v4, v6


def _rule(port: int, v4: list[str], v6: list[str], description: str) -> list[dict[str, Any]]:
    """Zero, one or two TCP rules for one port."""
    rules: list[dict[str, Any]] = []
    if v4:
        rules.append({"proto": "tcp", "ports": [port], "cidr_ip": v4, "rule_desc": description})
    if v6:
        rules.append({"proto": "tcp", "ports": [port], "cidr_ipv6": v6, "rule_desc": description})
    return rules


def sg_rules(
    admin_cidrs: list[str],
    jupyter_cidrs: list[str],
    jupyter_port: int,
    jupyter_public: bool,
    ssh_port: int = 22,
    acme_http01: bool = False,
) -> list[dict[str, Any]]:
    """Ingress rules: SSH from admin CIDRs; Jupyter port only in public mode; port 80 only for ACME HTTP-01.

    The HTTP-01 rule is the one rule open to the whole internet: the CA validates from addresses it does
    not publish and changes, on port 80 only (https://letsencrypt.org/docs/challenge-types/).
    """
    rules = _rule(int(ssh_port), *_split(admin_cidrs or []), "SSH from admin CIDRs")
    if jupyter_public:
        rules += _rule(int(jupyter_port), *_split(jupyter_cidrs or []), "JupyterLab (public mode)")
    if acme_http01:
        rules += _rule(80, ["0.0.0.0/0"], ["::/0"], "ACME HTTP-01 challenge (tls_mode acme)")
    return rules


def invalid_tag_keys(tags: Any) -> list[Any]:
    """Tag keys AWS rejects, plus keys whose value is too long or not a string."""
    if not isinstance(tags, dict):
        return [tags]
    bad = []
    for key, value in tags.items():
        if (
            not isinstance(key, str)
            or not _TAG_KEY.match(key)
            or key.lower().startswith("aws:")
            or not isinstance(value, (str, int, float))
            or len(str(value)) > 256
        ):
            bad.append(key)
    return bad


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    """Tags of a described resource as a dict (snake-cased info output or boto3 list form)."""
    tags = resource.get("tags") or resource.get("Tags") or {}
    if isinstance(tags, list):
        return {t.get("Key", t.get("key")): t.get("Value", t.get("value")) for t in tags}
    return dict(tags)


def instance_summary(
    instances: list[dict[str, Any]],
    volumes: list[dict[str, Any]] | None = None,
    addresses: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One flat record per instance (sorted by Name) with its data volume and Elastic IP."""
    data_by_host = {}
    for volume in volumes or []:
        tags = _tags(volume)
        if tags.get("jupyterops:role") == "data" and "jupyterops:host" in tags:
            data_by_host.setdefault(tags["jupyterops:host"], volume.get("id") or volume.get("volume_id"))
    eip_by_instance = {
        a.get("instance_id"): a.get("public_ip") for a in addresses or [] if a.get("instance_id")
    }
    records = []
    for inst in instances or []:
        name = _tags(inst).get("Name", "")
        root = inst.get("root_device_name")
        root_ids = [
            m.get("ebs", {}).get("volume_id")
            for m in inst.get("block_device_mappings") or []
            if m.get("device_name") == root
        ]
        public_ip = inst.get("public_ip_address") or ""
        private_ip = inst.get("private_ip_address") or ""
        records.append(
            {
                "name": name,
                "instance_id": inst.get("instance_id"),
                "state": (inst.get("state") or {}).get("name", ""),
                "instance_type": inst.get("instance_type"),
                "availability_zone": (inst.get("placement") or {}).get("availability_zone", ""),
                "public_ip": public_ip,
                "private_ip": private_ip,
                "public_dns": inst.get("public_dns_name") or "",
                "address": public_ip or private_ip,
                "eip": eip_by_instance.get(inst.get("instance_id"), ""),
                "root_volume_id": root_ids[0] if root_ids else "",
                "data_volume_id": data_by_host.get(name, ""),
            }
        )
    return sorted(records, key=lambda r: r["name"])


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {
            "invalid_cidrs": invalid_cidrs,
            "wide_cidrs": wide_cidrs,
            "sg_rules": sg_rules,
            "invalid_tag_keys": invalid_tag_keys,
            "instance_summary": instance_summary,
            "region_known": region_known,
            "ec2_regions": ec2_regions,
        }
