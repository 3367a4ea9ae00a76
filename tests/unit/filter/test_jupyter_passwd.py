"""Unit tests for plugins/filter/jupyter_passwd.py (controller-side Jupyter password hashing)."""

from __future__ import annotations

import hashlib

import pytest
from ansible.errors import AnsibleFilterError

from plugins.filter.jupyter_passwd import FilterModule, jupyter_passwd_hash, jupyter_passwd_verify


def test_hash_has_jupyter_server_format() -> None:
    hashed = jupyter_passwd_hash("s3cret pass")
    assert hashed.startswith("argon2:$argon2id$v=19$m=10240,t=10,p=8$")
    assert "s3cret" not in hashed


def test_hash_is_salted() -> None:
    assert jupyter_passwd_hash("same") != jupyter_passwd_hash("same")


@pytest.mark.parametrize(("candidate", "expected"), [("s3cret pass", True), ("wrong", False), ("", False)])
def test_verify_argon2(candidate: str, expected: bool) -> None:
    assert jupyter_passwd_verify(jupyter_passwd_hash("s3cret pass"), candidate) is expected


def test_verify_legacy_sha1() -> None:
    salt = "0123456789ab"
    digest = hashlib.sha1(b"legacy" + salt.encode()).hexdigest()  # noqa: S324 - the legacy format itself
    assert jupyter_passwd_verify(f"sha1:{salt}:{digest}", "legacy")
    assert not jupyter_passwd_verify(f"sha1:{salt}:{digest}", "other")


@pytest.mark.parametrize("hashed", ["", None, "argon2:garbage", "plain", "nope:a:b", 42])
def test_verify_rejects_malformed_hashes(hashed: object) -> None:
    assert jupyter_passwd_verify(hashed, "pw") is False


@pytest.mark.parametrize("password", ["", None, 123])
def test_hash_rejects_empty_or_non_string(password: object) -> None:
    with pytest.raises(AnsibleFilterError, match="non-empty string"):
        jupyter_passwd_hash(password)


def test_filter_module_exports_both() -> None:
    assert set(FilterModule().filters()) == {"jupyter_passwd_hash", "jupyter_passwd_verify"}
