"""The effects the authentication flow yields when it needs Clerk's Backend API.

Drivers answer each with a value (or by raising), so the decision procedure
never performs I/O itself.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Effect", "HandshakePayloadRequest", "KeyRequest", "RefreshError", "RefreshRequest"]


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


Effect = KeyRequest | HandshakePayloadRequest | RefreshRequest
