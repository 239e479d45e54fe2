"""Clerk webhooks: check that a delivery came from Clerk, then read its event.

Clerk sends webhooks through Svix, which follows the Standard Webhooks
specification. Each delivery is a ``POST`` whose JSON body is one event and
whose headers sign it:

- ``svix-id``: the message id, the same on every retry of one event;
- ``svix-timestamp``: when it was sent, in whole Unix seconds;
- ``svix-signature``: space-separated ``v1,<base64>`` entries, each the
  HMAC-SHA256 of ``{id}.{timestamp}.{raw body}`` under one of the endpoint's
  signing secrets (more than one while a secret is being rotated).

The Standard Webhooks names ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` are accepted as well. The signing secret is the
endpoint's "Signing Secret" in the Clerk Dashboard: ``whsec_`` followed by the
base64 of the HMAC key.

``verify_webhook(headers, body)`` works in this order, and the first check that
fails raises ``WebhookVerificationError`` with a ``reason`` and a message that
names what was wrong:

1. the signing secret (``signing_secret``, else ``CLERK_WEBHOOK_SIGNING_SECRET``)
   is present and well formed, or ``ConfigurationError`` is raised: a
   deployment fault, not a bad request;
2. the three headers are present, consistent and bounded;
3. the body is at most ``MAX_BODY_BYTES`` and is UTF-8;
4. the timestamp is within ``tolerance`` seconds of ``clock()``, both ways, so
   an old delivery cannot be replayed later;
5. one ``v1`` signature matches, checked by the ``standardwebhooks`` library
   over the raw body bytes (never over re-serialised JSON);
6. the body is a JSON object with a string ``type`` and an object ``data``.

Only then does it return a ``WebhookEvent``. Nothing that arrives with a
request raises anything else; messages never quote the secret or a signature.

Where this is stricter than Svix's own ``Webhook.verify`` (on purpose: each is
a form Svix never sends, and each would otherwise escape as an unexpected
exception or be read differently by different code):

- the timestamp must be ASCII digits (Svix also reads ``1.7e9`` or ``+17…``,
  and signs its integer part, so such a header is malleable);
- a signature entry that is not ``<version>,<base64 of 32 bytes>`` is ignored
  (Svix raises ``ValueError`` on an entry without a comma or with bad base64);
- a header given twice with different values is refused, as is a header longer
  than ``MAX_HEADER_LENGTH``;
- the secret must carry the ``whsec_`` prefix and be valid base64.

This module reads the environment for one value, the signing secret, and only
when ``signing_secret`` is not passed: a webhook endpoint is configured apart
from ``ClerkOptions``, and Clerk's SDKs read the same variable.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal

from standardwebhooks import Webhook
from standardwebhooks import WebhookVerificationError as _LibraryVerificationError

from ._errors import ClerkError, ConfigurationError

__all__ = [
    "DEFAULT_TOLERANCE",
    "MAX_BODY_BYTES",
    "MAX_HEADER_LENGTH",
    "SECRET_PREFIX",
    "SIGNING_SECRET_ENV",
    "WebhookErrorReason",
    "WebhookEvent",
    "WebhookVerificationError",
    "sign_webhook",
    "verify_webhook",
]

SIGNING_SECRET_ENV: Final = "CLERK_WEBHOOK_SIGNING_SECRET"  # noqa: S105 - a variable's name
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret

# Svix and the Standard Webhooks specification both allow five minutes of skew.
DEFAULT_TOLERANCE: Final = 300.0

# Clerk's events are a few KiB; a user with many organizations or much metadata
# stays far below this. A bound keeps an unauthenticated sender from making us
# hash and decode an unbounded body.
MAX_BODY_BYTES: Final = 1024 * 1024

# Common server limits on one header field: gunicorn 8190, nginx 8 KiB buffers.
# A signature header that long already holds about 170 entries.
MAX_HEADER_LENGTH: Final = 8192

# Longer is more than 31 million years from the epoch: not a timestamp.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

_SIGNATURE_BYTES: Final = 32  # HMAC-SHA256

WebhookErrorReason = Literal[
    "missing-headers",
    "invalid-headers",
    "invalid-timestamp",
    "timestamp-too-old",
    "timestamp-too-new",
    "invalid-signature-header",
    "no-matching-signature",
    "body-too-large",
    "invalid-body",
    "invalid-payload",
]

# The three signed fields, each with its Svix name first.
_FIELD_NAMES: Final[dict[str, tuple[str, str]]] = {
    "id": ("svix-id", "webhook-id"),
    "timestamp": ("svix-timestamp", "webhook-timestamp"),
    "signature": ("svix-signature", "webhook-signature"),
}
_FIELD_OF_HEADER: Final[dict[str, str]] = {
    name: field for field, names in _FIELD_NAMES.items() for name in names
}


class WebhookVerificationError(ClerkError):
    """A webhook delivery failed verification: answer it with ``status_code`` and ignore it.

    Attributes:
        reason: What failed, one of ``WebhookErrorReason``: ``"missing-headers"``,
            ``"invalid-headers"``, ``"invalid-timestamp"``, ``"timestamp-too-old"``,
            ``"timestamp-too-new"``, ``"invalid-signature-header"``,
            ``"no-matching-signature"``, ``"body-too-large"``, ``"invalid-body"`` or
            ``"invalid-payload"``.
        message: What was wrong, naming the header or field; never the secret or a
            signature.
    """

    def __init__(self, reason: WebhookErrorReason, message: str) -> None:
        super().__init__(message)
        self.reason: WebhookErrorReason = reason
        self.message = message

    @property
    def status_code(self) -> int:
        """The HTTP status to answer with: 413 for an oversized body, else 400."""
        return 413 if self.reason == "body-too-large" else 400


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One verified Clerk webhook event.

    Clerk's event types are ``<resource>.<action>``. Common ones:

    - users: ``user.created``, ``user.updated``, ``user.deleted``;
    - sessions: ``session.created``, ``session.ended``, ``session.removed``,
      ``session.revoked``;
    - organizations: ``organization.created``, ``organization.updated``,
      ``organization.deleted``;
    - memberships: ``organizationMembership.created``,
      ``organizationMembership.updated``, ``organizationMembership.deleted``;
    - invitations: ``organizationInvitation.created``,
      ``organizationInvitation.accepted``, ``organizationInvitation.revoked``;
    - others: ``email.created``, ``sms.created``, ``role.created``,
      ``permission.created``, ``waitlistEntry.created``.

    Attributes:
        type: The event type, e.g. ``"user.created"``.
        data: The resource the event is about (for ``user.*``, the user object), read-only.
        object: Always ``"event"`` for Clerk's events.
        timestamp: Clerk's ``timestamp`` field: when the event happened, in Unix
            milliseconds; None if the payload has none.
        instance_id: The Clerk instance (``ins_...``) it came from, if the payload says.
        id: The message id from the ``svix-id`` header. Retries of one event share
            it, so it is the key for ignoring a delivery already handled.
        raw: The whole JSON payload, read-only.
    """

    type: str
    data: Mapping[str, Any]
    object: str
    timestamp: int | None
    instance_id: str | None
    id: str
    raw: Mapping[str, Any]


class _PreCheckedTimestampWebhook(Webhook):
    """``standardwebhooks.Webhook`` with its timestamp check left to ``verify_webhook``.

    standardwebhooks 1.1 compares the timestamp with ``datetime.now()`` in the
    private ``Webhook.__verify_timestamp`` and takes no clock, so an injected
    clock could not be honoured. This subclass overrides that one method (under
    its mangled name) to only parse the header, which ``verify_webhook`` has by
    then checked against its own clock and tolerance. The signature check (the
    HMAC and the constant-time comparison) stays the library's. Should a future
    release rename the method, the library's own real-clock check would apply
    again and the pinned-clock tests would fail, not pass silently.
    """

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:  # noqa: N802
        return datetime.fromtimestamp(int(timestamp_header), tz=UTC)


def verify_webhook(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | str,
    *,
    signing_secret: str | None = None,
    clock: Callable[[], float] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> WebhookEvent:
    """Verify one Clerk webhook delivery and return its event.

    Pass the body exactly as it arrived: the signature covers its bytes, so a
    body parsed and serialised again will not verify.

    Args:
        headers: The request's headers, as a mapping or ``(name, value)`` pairs;
            names in any case. Only the ``svix-*`` / ``webhook-*`` ones are read.
        body: The raw request body. ``str`` is accepted and taken as UTF-8.
        signing_secret: The endpoint's signing secret (``whsec_...``); by default
            the environment variable ``CLERK_WEBHOOK_SIGNING_SECRET``.
        clock: Returns the current Unix time in seconds (default ``time.time``).
        tolerance: How far, in seconds, the timestamp may be from ``clock()``,
            in the past or the future (default 300).

    Returns:
        The verified event.

    Raises:
        WebhookVerificationError: The delivery is not a valid Clerk webhook; its
            ``reason`` and message say why.
        ConfigurationError: No signing secret is set, or it is not ``whsec_``
            followed by base64, or ``tolerance`` is negative or not finite.
    """
    key = _signing_key(signing_secret)
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ConfigurationError(
            f"tolerance must be a finite number of seconds, at least 0; got {tolerance!r}."
        )
    fields = _signed_headers(headers)
    text = _body_text(body)
    now = time.time() if clock is None else clock()
    _check_timestamp(fields["timestamp"], now, tolerance)
    signatures = _v1_signatures(fields["signature"])

    webhook = _PreCheckedTimestampWebhook(key)
    try:
        webhook.verify(
            text,
            {
                "webhook-id": fields["id"][1],
                "webhook-timestamp": fields["timestamp"][1],
                "webhook-signature": " ".join(signatures),
            },
            json_parse=False,
        )
    except _LibraryVerificationError:
        raise WebhookVerificationError(
            "no-matching-signature",
            f"No signature in {fields['signature'][0]} matches this delivery: its body, "
            f"{fields['id'][0]} or {fields['timestamp'][0]} was changed on the way (was the "
            "body parsed and serialised again instead of passed raw?), or the signing "
            "secret is not this endpoint's.",
        ) from None
    return _event(text, fields["id"][1])


def sign_webhook(
    payload: Mapping[str, Any] | bytes,
    *,
    signing_secret: str,
    msg_id: str | None = None,
    timestamp: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Sign a webhook body as Clerk (Svix) does: for tests and local stand-ins.

    Args:
        payload: The event as a mapping (serialised as compact JSON), or the exact
            body bytes, which must be UTF-8.
        signing_secret: The secret to sign with (``whsec_...``).
        msg_id: The ``svix-id``; by default a fresh ``msg_...`` id.
        timestamp: The send time in Unix seconds, truncated to whole seconds; by
            default now.

    Returns:
        The body and the ``svix-id``, ``svix-timestamp`` and ``svix-signature`` headers.

    Raises:
        ConfigurationError: ``signing_secret`` is not ``whsec_`` followed by base64.
        ValueError: ``payload`` is bytes that are not UTF-8.
        TypeError: ``payload`` holds values JSON cannot represent.
    """
    key = _signing_key(signing_secret)
    body = payload if isinstance(payload, bytes) else _compact_json(payload)
    msg_id = f"msg_{secrets.token_hex(12)}" if msg_id is None else msg_id
    sent = math.floor(time.time() if timestamp is None else timestamp)
    signature = Webhook(key).sign(
        msg_id, datetime.fromtimestamp(sent, tz=UTC), body.decode("utf-8")
    )
    headers = {"svix-id": msg_id, "svix-timestamp": str(sent), "svix-signature": signature}
    return body, headers


def _compact_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(payload), separators=(",", ":")).encode()


def _signing_key(signing_secret: str | None) -> bytes:
    """The HMAC key of a ``whsec_`` secret, from the argument or the environment.

    Raises:
        ConfigurationError: The secret is missing or malformed; the message names
            where it came from, never its value.
    """
    source = "signing_secret"
    if signing_secret is None:
        source = SIGNING_SECRET_ENV
        signing_secret = os.environ.get(SIGNING_SECRET_ENV, "")
    if not isinstance(signing_secret, str):
        raise ConfigurationError(
            f"The webhook signing secret ({source}) must be a string 'whsec_...'."
        )
    # A secret pasted into a .env file or a secrets store often gains a newline.
    secret = signing_secret.strip()
    if not secret:
        raise ConfigurationError(
            f"No webhook signing secret: set {SIGNING_SECRET_ENV} or pass signing_secret=. "
            "It is the endpoint's Signing Secret in the Clerk Dashboard (Configure > "
            "Webhooks), and starts with 'whsec_'."
        )
    if not secret.startswith(SECRET_PREFIX):
        hint = (
            " It looks like a Clerk secret key (CLERK_SECRET_KEY), which is another key."
            if secret.startswith("sk_")
            else ""
        )
        raise ConfigurationError(
            f"The webhook signing secret ({source}) does not start with 'whsec_'.{hint} "
            "Copy the endpoint's Signing Secret from the Clerk Dashboard (Configure > "
            "Webhooks) unchanged."
        )
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Unpadded base64 is accepted, as Svix's libraries accept it.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise ConfigurationError(
            f"The webhook signing secret ({source}) is not 'whsec_' followed by base64. "
            "Copy the endpoint's Signing Secret from the Clerk Dashboard (Configure > "
            "Webhooks) unchanged."
        )
    return key


def _signed_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> dict[str, tuple[str, str]]:
    """The id, timestamp and signature headers, each as ``(name as sent, value)``.

    Raises:
        WebhookVerificationError: One is missing, empty, repeated with another
            value, too long or not printable ASCII.
    """
    found: dict[str, tuple[str, str]] = {}
    try:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        for name, raw_value in pairs:
            if not isinstance(name, str):
                continue
            lowered = name.lower()
            field = _FIELD_OF_HEADER.get(lowered)
            if field is None:
                continue
            if not isinstance(raw_value, str):
                raise WebhookVerificationError(
                    "invalid-headers", f"The {lowered} header's value is not a string."
                )
            # HTTP field values carry no surrounding whitespace (RFC 9110, 5.5).
            value = raw_value.strip(" \t")
            if not value:
                continue
            earlier = found.get(field)
            if earlier is not None and earlier[1] != value:
                raise WebhookVerificationError(
                    "invalid-headers",
                    f"The request has two different {earlier[0]} / {lowered} values; a "
                    "webhook delivery carries one.",
                )
            found[field] = (lowered, value)
    except (TypeError, ValueError):
        raise WebhookVerificationError(
            "invalid-headers",
            "The headers are not a mapping or an iterable of (name, value) pairs of strings.",
        ) from None

    missing = [names for field, names in _FIELD_NAMES.items() if field not in found]
    if missing:
        raise WebhookVerificationError(
            "missing-headers",
            "Missing webhook headers: "
            + ", ".join(svix for svix, _ in missing)
            + " (or their Standard Webhooks names "
            + ", ".join(standard for _, standard in missing)
            + "). A Clerk webhook delivery carries svix-id, svix-timestamp and "
            "svix-signature; pass the request's headers unchanged.",
        )
    for name, value in found.values():
        if len(value) > MAX_HEADER_LENGTH:
            raise WebhookVerificationError(
                "invalid-headers",
                f"The {name} header is longer than {MAX_HEADER_LENGTH} characters.",
            )
        # Svix sends ASCII; anything else cannot be signed the same way twice.
        if not (value.isascii() and value.isprintable()):
            raise WebhookVerificationError(
                "invalid-headers", f"The {name} header is not printable ASCII."
            )
    return found


def body_too_large() -> WebhookVerificationError:
    """The error for a body beyond ``MAX_BODY_BYTES`` (adapters raise it before reading on)."""
    return WebhookVerificationError(
        "body-too-large", f"The webhook body is larger than {MAX_BODY_BYTES} bytes."
    )


def _body_text(body: bytes | str) -> str:
    """The body as text, bounded and UTF-8.

    Raises:
        WebhookVerificationError: It is larger than ``MAX_BODY_BYTES``, not UTF-8,
            or neither bytes nor text.
    """
    too_large = WebhookVerificationError(
        "body-too-large", f"The webhook body is larger than {MAX_BODY_BYTES} bytes."
    )
    not_utf8 = WebhookVerificationError(
        "invalid-body", "The webhook body is not UTF-8 text, so it is not Clerk's JSON."
    )
    if isinstance(body, str):
        # Every character is at least one byte: a long text is refused before encoding it.
        if len(body) > MAX_BODY_BYTES:
            raise too_large
        try:
            size = len(body.encode("utf-8"))
        except UnicodeEncodeError:  # lone surrogates
            raise not_utf8 from None
        if size > MAX_BODY_BYTES:
            raise too_large
        return body
    if isinstance(body, bytearray | memoryview):
        body = bytes(body)
    if not isinstance(body, bytes):
        raise WebhookVerificationError(
            "invalid-body", "The webhook body must be the request's raw bytes (or str)."
        )
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise not_utf8 from None


def _check_timestamp(header: tuple[str, str], now: float, tolerance: float) -> None:
    """Refuse a timestamp that is not whole seconds or is outside ``now ± tolerance``.

    Raises:
        WebhookVerificationError: ``invalid-timestamp``, ``timestamp-too-old`` or
            ``timestamp-too-new``.
    """
    name, value = header
    if not _TIMESTAMP.fullmatch(value):
        raise WebhookVerificationError(
            "invalid-timestamp", f"The {name} header is not a Unix time in whole seconds."
        )
    age = now - int(value)
    # Written so that a NaN from the clock fails too.
    if abs(age) <= tolerance:
        return
    if age > 0:
        raise WebhookVerificationError(
            "timestamp-too-old",
            f"The {name} header is {age:.0f} seconds old, beyond the {tolerance:g}-second "
            "tolerance: a replayed or long-delayed delivery, or this server's clock is wrong.",
        )
    raise WebhookVerificationError(
        "timestamp-too-new",
        f"The {name} header is {-age:.0f} seconds in the future, beyond the "
        f"{tolerance:g}-second tolerance: this server's clock is probably wrong.",
    )


def _v1_signatures(header: tuple[str, str]) -> list[str]:
    """The well-formed ``v1,<base64>`` entries of the signature header.

    Other versions and malformed entries are dropped: none of them can match,
    and the library raises ``ValueError`` on some.

    Raises:
        WebhookVerificationError: ``invalid-signature-header`` if none is left.
    """
    name, value = header
    kept = []
    for entry in value.split(" "):
        version, comma, encoded = entry.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(decoded) == _SIGNATURE_BYTES:
            kept.append(entry)
    if not kept:
        raise WebhookVerificationError(
            "invalid-signature-header",
            f"The {name} header holds no v1 signature: it should be space-separated "
            "'v1,<base64 HMAC-SHA256>' entries.",
        )
    return kept


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _event(text: str, msg_id: str) -> WebhookEvent:
    """Read a verified body as a Clerk event.

    Raises:
        WebhookVerificationError: ``invalid-body`` if it is not JSON,
            ``invalid-payload`` if it is not shaped as an event.
    """
    try:
        payload = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise WebhookVerificationError(
            "invalid-body", f"The webhook body is not JSON ({exc})."
        ) from None
    if not isinstance(payload, dict):
        raise WebhookVerificationError(
            "invalid-payload",
            f"The webhook payload is a JSON {type(payload).__name__}, not an object with "
            "'type' and 'data'.",
        )
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise WebhookVerificationError(
            "invalid-payload", "The webhook payload has no string 'type' (e.g. 'user.created')."
        )
    data = payload.get("data")
    if not isinstance(data, dict):
        raise WebhookVerificationError(
            "invalid-payload", "The webhook payload has no object 'data'."
        )
    obj = payload.get("object", "event")
    if not isinstance(obj, str):
        raise WebhookVerificationError(
            "invalid-payload", "The webhook payload's 'object' is not a string."
        )
    timestamp = payload.get("timestamp")
    if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, int)):
        raise WebhookVerificationError(
            "invalid-payload", "The webhook payload's 'timestamp' is not an integer (ms)."
        )
    instance_id = payload.get("instance_id")
    if instance_id is not None and not isinstance(instance_id, str):
        raise WebhookVerificationError(
            "invalid-payload", "The webhook payload's 'instance_id' is not a string."
        )
    return WebhookEvent(
        type=kind,
        data=MappingProxyType(data),
        object=obj,
        timestamp=timestamp,
        instance_id=instance_id,
        id=msg_id,
        raw=MappingProxyType(payload),
    )
