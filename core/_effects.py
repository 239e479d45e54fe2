"""The effects the authentication flow yields when it needs Clerk's Backend API.

Drivers answer each with a value (or by raising), so the decision procedure
never performs I/O itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Effect",
    "HandshakePayloadRequest",
    "KeyRequest",
    "MachineVerifyError",
    "MachineVerifyRequest",
    "RefreshError",
    "RefreshRequest",
]


@dataclass(frozen=True, slots=True)
class KeyRequest:
    """Need the public key for ``kid`` from the instance's JWKS.

    The driver answers with an ``RSAPublicKey`` or raises ``TokenVerificationError``.
    """

    kid: str | None


@dataclass(frozen=True, slots=True)
class HandshakePayloadRequest:
    """Need the cookie directives behind a handshake nonce (a list of Set-Cookie strings)."""

    nonce: str


@dataclass(frozen=True, slots=True)
class RefreshRequest:
    """Need a session refresh: ``POST /v1/sessions/{session_id}/refresh``.

    The driver answers with the new Set-Cookie strings or raises ``RefreshError``.
    """

    session_id: str
    expired_token: str
    refresh_token: str
    suffixed_cookies: bool
    request_origin: str
    request_headers: dict[str, list[str]]


class RefreshError(Exception):
    """A session refresh failed; ``reason`` becomes ``session-token-expired-refresh-<reason>``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MachineVerifyRequest:
    """Need the Backend API's verdict on an opaque machine token.

    ``POST /v1/api_keys/verify`` ``{"secret": token}``, ``POST /v1/m2m_tokens/verify``
    ``{"token": token}`` (Bearer: ``machine_secret_key`` when set) or
    ``POST /v1/oauth_applications/access_tokens/verify`` ``{"access_token": token}``.

    The driver answers with the verified resource (the response's JSON object,
    snake_case keys as the Backend API sends them) or raises ``MachineVerifyError``.
    """

    token_type: Literal["api_key", "m2m_token", "oauth_token"]
    token: str = field(repr=False)  # a credential: never in reprs


class MachineVerifyError(Exception):
    """A machine token verification call failed, in Clerk's terms.

    Attributes:
        code: ``token-invalid``, ``secret-key-invalid``, ``unexpected-error`` or
            ``token-verification-failed`` (``MachineTokenVerificationErrorCode``).
        message: Clerk's message, e.g. ``"API key not found"``; never the token.
        status: The Backend API's HTTP status, or None without a response.
        token_type: The token type the failure is reported for; the flow sets it.
    """

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.token_type: Literal["api_key", "m2m_token", "oauth_token"] | None = None


Effect = KeyRequest | HandshakePayloadRequest | RefreshRequest | MachineVerifyRequest
