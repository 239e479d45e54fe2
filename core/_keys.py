"""Publishable-key parsing and the values Clerk derives from it.

A publishable key is ``pk_test_<b64>`` or ``pk_live_<b64>`` where ``<b64>``
decodes to ``<frontend api>$``. From it come the instance type (``pk_live_`` is
production, anything else development), the Frontend API host, the cookie
suffix and the Account Portal URL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from ._errors import ConfigurationError

__all__ = ["PublishableKey", "accounts_base_url", "cookie_suffix", "parse_publishable_key"]

InstanceType = Literal["production", "development"]

_KEY_GUIDANCE = (
    "Copy the publishable key from https://dashboard.clerk.com/~/api-keys "
    "(it starts with pk_test_ or pk_live_)."
)
_ATOB_STRIP = re.compile(r"[\t\n\f\r ]")
_ATOB_ALPHABET = re.compile(r"[A-Za-z0-9+/]*")


@dataclass(frozen=True, slots=True)
class PublishableKey:
    """A parsed publishable key.

    Attributes:
        key: The key itself.
        instance_type: ``"production"`` for ``pk_live_`` keys, else ``"development"``.
        frontend_api: The Frontend API host encoded in the key, e.g. ``clerk.example.com``.
    """

    key: str
    instance_type: InstanceType
    frontend_api: str


def atob(data: str) -> str | None:
    """Decode base64 the way the browser's ``atob`` does, or return None.

    ``atob`` is forgiving about ASCII whitespace and missing padding but strict
    about the alphabet and the length, and returns one character per byte.
    """
    data = _ATOB_STRIP.sub("", data)
    if len(data) % 4 == 0 and data.endswith("="):
        data = data[:-2] if data.endswith("==") else data[:-1]
    if len(data) % 4 == 1 or not _ATOB_ALPHABET.fullmatch(data):
        return None
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4))
    except binascii.Error:
        return None
    return raw.decode("latin-1")


def _is_valid_decoded(decoded: str) -> bool:
    if not decoded.endswith("$"):
        return False
    body = decoded[:-1]
    return "$" not in body and "." in body


def parse_publishable_key(key: str | None, *, variable: str = "publishable_key") -> PublishableKey:
    """Parse and validate a publishable key.

    Args:
        key: The key, e.g. ``pk_test_Y2xlcmsuZXhhbXBsZS5jb20k``.
        variable: The option or environment variable name to quote in errors.

    Returns:
        The parsed key.

    Raises:
        ConfigurationError: The key is missing or malformed; the message says which.
    """
    if not key:
        raise ConfigurationError(f"Publishable key is missing: set {variable}. {_KEY_GUIDANCE}")
    if not key.startswith(("pk_live_", "pk_test_")) or len(key.split("_")) != 3:
        raise ConfigurationError(
            f"Publishable key not valid (expected format: pk_test_... or pk_live_...): "
            f"check {variable}. {_KEY_GUIDANCE}"
        )
    decoded = atob(key.split("_")[2])
    if decoded is None:
        raise ConfigurationError(
            f"Publishable key not valid: failed to decode key: check {variable}. {_KEY_GUIDANCE}"
        )
    if not _is_valid_decoded(decoded):
        raise ConfigurationError(
            f"Publishable key not valid: decoded key has invalid format "
            f"(expected '<frontend api host>$'): check {variable}. {_KEY_GUIDANCE}"
        )
    instance: InstanceType = "production" if key.startswith("pk_live_") else "development"
    return PublishableKey(key=key, instance_type=instance, frontend_api=decoded[:-1])


def cookie_suffix(publishable_key: str) -> str:
    """Return the 8-character cookie suffix Clerk derives from a publishable key.

    It is the URL-safe base64 of SHA-1(key), truncated; suffixed cookies are
    named ``<name>_<suffix>``.
    """
    digest = hashlib.sha1(publishable_key.encode(), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).decode()[:8]


def accounts_base_url(frontend_api: str) -> str:
    """Return the Account Portal origin for a Frontend API host.

    ``clerk.example.com`` -> ``https://accounts.example.com``;
    ``happy-hippo-1.clerk.accounts.dev`` -> ``https://happy-hippo-1.accounts.dev``.
    """
    if not frontend_api:
        return ""
    host = frontend_api.replace("clerk.accountsstage.", "accountsstage.", 1)
    host = re.sub(r"clerk\.accounts\.|clerk\.", "accounts.", host, count=1)
    return f"https://{host}"
