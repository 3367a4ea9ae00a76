"""Jupyter password hashes made on the controller, in jupyter_server's own format."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from ansible.errors import AnsibleFilterError

try:
    import argon2
    import argon2.exceptions

    HAS_ARGON2 = True
except ImportError:  # pragma: no cover - reported when a filter is used
    HAS_ARGON2 = False

# Parameters of jupyter_server.auth.security.passwd (argon2id).
_ARGON2_PARAMS = {"memory_cost": 10240, "time_cost": 10, "parallelism": 8}


def _require_argon2() -> None:
    """Fail clearly when argon2-cffi is missing on the controller."""
    if not HAS_ARGON2:
        raise AnsibleFilterError("jupyter_passwd filters need argon2-cffi on the controller")


def _require_password(password: Any) -> str:
    """Return the password as text or raise for empty/non-string input."""
    if not isinstance(password, str) or not password:
        raise AnsibleFilterError("jupyter_passwd: the password must be a non-empty string")
    return password


def jupyter_passwd_hash(password: Any) -> str:
    """Hash a password as jupyter_server.auth.passwd() does (argon2id)."""
    _require_argon2()
    hasher = argon2.PasswordHasher(**_ARGON2_PARAMS)
    return "argon2:" + hasher.hash(_require_password(password))


def jupyter_passwd_verify(hashed: Any, password: Any) -> bool:
    """True when password matches a Jupyter hash (argon2:... or legacy algo:salt:digest)."""
    if not isinstance(hashed, str) or not hashed or not isinstance(password, str) or not password:
        return False
    if hashed.startswith("argon2:"):
        _require_argon2()
        try:
            return bool(argon2.PasswordHasher().verify(hashed[len("argon2:"):], password))
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
    parts = hashed.split(":", 2)
    if len(parts) != 3 or parts[0] not in hashlib.algorithms_guaranteed:
        return False
    algorithm, salt, digest = parts
    check = hashlib.new(algorithm)
    check.update(password.encode("utf-8") + salt.encode("ascii", "replace"))
    return hmac.compare_digest(check.hexdigest(), digest)


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        """Map filter names to functions."""
        return {
            "jupyter_passwd_hash": jupyter_passwd_hash,
            "jupyter_passwd_verify": jupyter_passwd_verify,
        }
