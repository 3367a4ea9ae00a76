"""Unit tests of the provided-certificate helpers (plugins/filter/tls.py): name coverage and dates."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "plugins" / "filter" / "tls.py"
_SPEC = importlib.util.spec_from_file_location("jupyterops_tls_cert_checks", _PATH)
tls = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = tls
_SPEC.loader.exec_module(tls)


@pytest.mark.parametrize(("sans", "name"), [
    (["DNS:jupyter.example.org"], "jupyter.example.org"),
    (["DNS:Jupyter.Example.ORG"], "jupyter.example.org."),
    (["DNS:*.example.org"], "a.example.org"),
    (["DNS:*.example.org"], "Lab.Example.org"),
    (["IP:192.0.2.10"], "192.0.2.10"),
    (["IP:2001:db8::1"], "2001:0db8:0:0::1"),
    (["DNS:other.example.org", "email:ops@example.org", "URI:https://x", "DNS:jupyter.example.org"],
     "jupyter.example.org"),
])
def test_covered_names(sans: list[str], name: str) -> None:
    assert tls.tls_uncovered_names(sans, [name]) == []


@pytest.mark.parametrize(("sans", "name"), [
    (["DNS:*.example.org"], "a.b.example.org"),  # one label only (RFC 6125 6.4.3)
    (["DNS:*.example.org"], "example.org"),  # the wildcard needs a label
    (["DNS:a*.example.org"], "ab.example.org"),  # partial-label wildcards are not honoured
    (["DNS:*.*.example.org"], "a.b.example.org"),
    (["DNS:jupyter.example.org"], "jupyter.example.com"),
    (["DNS:192.0.2.10"], "192.0.2.10"),  # an IP needs an IP entry
    (["DNS:*.0.2.10"], "192.0.2.10"),
    (["IP:192.0.2.10"], "192.0.2.11"),
    ([], "jupyter.example.org"),
    (None, "jupyter.example.org"),
])
def test_uncovered_names(sans: list[str] | None, name: str) -> None:
    assert tls.tls_uncovered_names(sans, [name]) == [name.rstrip(".").lower()]


def test_uncovered_names_keep_order_skip_empty_and_deduplicate() -> None:
    sans = ["DNS:jupyter.example.org", "IP:192.0.2.10"]
    names = ["jupyter.example.org", "", None, "lab.example.org", "192.0.2.11", "Lab.example.org",
             "192.0.2.10"]
    assert tls.tls_uncovered_names(sans, names) == ["lab.example.org", "192.0.2.11"]


def test_a_configured_wildcard_needs_the_same_wildcard() -> None:
    assert tls.tls_uncovered_names(["DNS:*.example.org"], ["*.example.org"]) == []
    assert tls.tls_uncovered_names(["DNS:a.example.org"], ["*.example.org"]) == ["*.example.org"]


def test_a_lone_name_is_one_name() -> None:
    assert tls.tls_uncovered_names(["DNS:a.example.org"], "b.example.org") == ["b.example.org"]


@pytest.mark.parametrize(("value", "shown"), [
    ("20261202184906Z", "2026-12-02 18:49:06 UTC"),
    ("not a time", "not a time"),
    (None, ""),
])
def test_asn1_time(value: str | None, shown: str) -> None:
    assert tls.tls_asn1_time(value) == shown


def test_filters_are_exported() -> None:
    filters = tls.FilterModule().filters()
    assert filters["tls_uncovered_names"] is tls.tls_uncovered_names
    assert filters["tls_asn1_time"] is tls.tls_asn1_time
