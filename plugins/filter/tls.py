"""Pure helpers for the tls role: subjectAltName lists, name coverage of a certificate, certificate dates."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

_DNS = re.compile(r"^(?=.{1,253}$)(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
                  r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$")


def _classify(value: Any) -> str | None:
    """'IP:x' or 'DNS:x' for one entry, None when empty or not a valid name."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return f"IP:{ipaddress.ip_address(text)}"
    except ValueError:
        pass
    if _DNS.match(text):
        return f"DNS:{text.rstrip('.').lower()}"
    return None


def tls_subject_alt_names(values: Any) -> list[str]:
    """subjectAltName entries for the valid names and addresses, deduplicated in order."""
    if not isinstance(values, list | tuple):
        values = [values]
    out: list[str] = []
    for value in values:
        entry = _classify(value)
        if entry is not None and entry not in out:
            out.append(entry)
    return out


def tls_invalid_names(values: Any) -> list[Any]:
    """Entries that are neither an IP address nor a DNS name (empty entries are ignored)."""
    if not isinstance(values, list | tuple):
        return [values]
    return [v for v in values if v not in (None, "") and _classify(v) is None]


def tls_invalid_ips(values: Any) -> list[Any]:
    """Entries that are not IP addresses."""
    if not isinstance(values, list | tuple):
        return [values]
    bad = []
    for value in values:
        try:
            ipaddress.ip_address(str(value).strip())
        except ValueError:
            bad.append(value)
    return bad


def _ip(text: str) -> Any:
    """The address in text, or None."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _dns_covers(pattern: str, name: str) -> bool:
    """RFC 6125 6.4: an exact match, or a '*' leftmost label standing for exactly one label."""
    pattern = pattern.strip().rstrip(".").lower()
    name = name.strip().rstrip(".").lower()
    if pattern == name:
        return True
    if not pattern.startswith("*.") or "*" in pattern[2:] or not pattern[2:]:
        return False
    label, _, rest = name.partition(".")
    return bool(label) and label != "*" and rest == pattern[2:]


def tls_uncovered_names(cert_sans: Any, names: Any) -> list[str]:
    """Names (DNS names or IP addresses) that no subjectAltName of the certificate covers.

    cert_sans are community.crypto's entries ('DNS:a.example.org', 'IP:192.0.2.1'; others ignored);
    a DNS wildcard covers one leftmost label only, never an IP address; the common name is not used
    (RFC 6125 6.4.4, as browsers do). Empty and invalid names are skipped (other checks refuse them).
    """
    dns, ips = [], []
    for entry in cert_sans or []:
        kind, _, value = str(entry).partition(":")
        if kind.strip().upper() == "DNS" and value.strip():
            dns.append(value)
        elif kind.strip().upper() in ("IP", "IP ADDRESS"):
            address = _ip(value)
            if address is not None:
                ips.append(address)
    out: list[str] = []
    for entry in tls_subject_alt_names(list(names) if isinstance(names, list | tuple) else [names]):
        kind, _, value = entry.partition(":")
        covered = (_ip(value) in ips) if kind == "IP" else any(_dns_covers(p, value) for p in dns)
        if not covered and value not in out:
            out.append(value)
    return out


def tls_asn1_time(value: Any) -> str:
    """An ASN.1 time (20261202184906Z) as '2026-12-02 18:49:06 UTC'; any other value as text."""
    text = "" if value is None else str(value)
    try:
        moment = datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return text
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {
            "tls_subject_alt_names": tls_subject_alt_names,
            "tls_invalid_names": tls_invalid_names,
            "tls_invalid_ips": tls_invalid_ips,
            "tls_uncovered_names": tls_uncovered_names,
            "tls_asn1_time": tls_asn1_time,
        }
