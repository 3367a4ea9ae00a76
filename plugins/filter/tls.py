"""Pure helpers for the tls role: subjectAltName lists from host names and addresses."""

from __future__ import annotations

import ipaddress
import re
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


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {
            "tls_subject_alt_names": tls_subject_alt_names,
            "tls_invalid_names": tls_invalid_names,
            "tls_invalid_ips": tls_invalid_ips,
        }
