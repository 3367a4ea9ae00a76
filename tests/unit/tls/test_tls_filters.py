"""Unit tests of the tls role's subjectAltName helpers (plugins/filter/tls.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "plugins" / "filter" / "tls.py"
_SPEC = importlib.util.spec_from_file_location("jupyterops_tls_filters", _PATH)
tls = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = tls
_SPEC.loader.exec_module(tls)


def test_names_and_ips_are_classified_and_deduplicated():
    values = ["jupyter.example.org", "54.214.1.2", None, "", "Jupyter.Example.org.", "::1",
              "localhost", "127.0.0.1", "54.214.1.2"]
    assert tls.tls_subject_alt_names(values) == [
        "DNS:jupyter.example.org", "IP:54.214.1.2", "IP:::1", "DNS:localhost", "IP:127.0.0.1"]


def test_ec2_public_dns_name_is_a_dns_entry():
    assert tls.tls_subject_alt_names(["ec2-54-214-1-2.eu-west-1.compute.amazonaws.com"]) == [
        "DNS:ec2-54-214-1-2.eu-west-1.compute.amazonaws.com"]


@pytest.mark.parametrize("bad", ["has space", "under/slash", "a" * 64 + ".example", "-lead.example"])
def test_invalid_names_are_reported_and_left_out(bad):
    assert tls.tls_invalid_names(["ok.example", bad]) == [bad]
    assert tls.tls_subject_alt_names(["ok.example", bad]) == ["DNS:ok.example"]


def test_invalid_ips():
    assert tls.tls_invalid_ips(["10.0.0.1", "fe80::1", "10.0.0.300", "host"]) == ["10.0.0.300", "host"]
    assert tls.tls_invalid_ips("10.0.0.1") == ["10.0.0.1"]


def test_filter_module_exports():
    assert set(tls.FilterModule().filters()) == {
        "tls_subject_alt_names", "tls_invalid_names", "tls_invalid_ips", "tls_uncovered_names",
        "tls_asn1_time"}
