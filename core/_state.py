"""``RequestState``: the outcome of authenticating one request."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ._auth import Auth, auth_from_claims, signed_out_auth

__all__ = ["AuthStatus", "RequestState", "legal_header_value"]

_HEADER_UNSAFE = frozenset(chr(c) for c in (*range(0x20), 0x7F)) - {"\t"}


class AuthStatus(enum.StrEnum):
    """The three outcomes of ``authenticate_request``."""

    SIGNED_IN = "signed-in"
    SIGNED_OUT = "signed-out"
    HANDSHAKE = "handshake"

    def __str__(self) -> str:
        return self.value


def legal_header_value(value: str) -> bool:
    # The Fetch Headers class silently refuses such values; so do we, and a
    # request-derived CR/LF can never reach a response header.
    return _HEADER_UNSAFE.isdisjoint(value) and (not value or max(value) < "\u0100")


@dataclass(frozen=True, slots=True)
class RequestState:
    """What ``authenticate_request`` decided, and what to add to the response.

    Attributes:
        status: Signed in, signed out, or a handshake redirect is needed.
        reason: Clerk's reason string (``x-clerk-auth-reason``); None when signed in.
        message: A human-readable explanation; None when signed in. Never contains a token.
        token: The verified session token, or None.
        headers: ``(name, value)`` pairs to add to the response, in order:
            ``location``/``cache-control`` for handshakes, ``set-cookie`` lines,
            and the ``x-clerk-auth-*`` debug headers on signed-out and handshake states.
        claims: The verified session claims (signed in only).
    """

    status: AuthStatus
    reason: str | None = None
    message: str | None = None
    token: str | None = field(default=None, repr=False)  # a credential: never in reprs
    headers: tuple[tuple[str, str], ...] = ()
    claims: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def is_signed_in(self) -> bool:
        """True when a session token verified (pending sessions included)."""
        return self.status is AuthStatus.SIGNED_IN

    @property
    def location(self) -> str | None:
        """The ``location`` header, when the state is a redirect."""
        for name, value in self.headers:
            if name == "location":
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        """All values of header ``name`` (lower case)."""
        return [value for key, value in self.headers if key == name]

    def to_auth(self, *, treat_pending_as_signed_out: bool = True) -> Auth | None:
        """Return the auth object for handlers, or None for a handshake state.

        Args:
            treat_pending_as_signed_out: When True (the default) a pending session
                (``sts: "pending"``) is signed out: ``user_id`` is None and
                ``session_status`` is ``"pending"``. When False it is signed in.

        Raises:
            ValueError: The token's ``fea`` claim is malformed (as Clerk's SDK throws).
        """
        if self.status is AuthStatus.HANDSHAKE:
            return None
        if self.status is AuthStatus.SIGNED_OUT or self.claims is None:
            return signed_out_auth()
        return auth_from_claims(
            self.claims, self.token, treat_pending_as_signed_out=treat_pending_as_signed_out
        )

    @classmethod
    def signed_in(
        cls, claims: Mapping[str, Any], token: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> RequestState:
        """A signed-in state; it carries no debug headers."""
        # cls(AuthStatus.SIGNED_IN, None, None, token, headers, claims), built by
        # setting the slots directly: the frozen __init__ costs twice as much.
        state: RequestState = object.__new__(cls)
        _set_status(state, AuthStatus.SIGNED_IN)
        _set_reason(state, None)
        _set_message(state, None)
        _set_token(state, token)
        _set_headers(state, headers)
        _set_claims(state, claims)
        return state

    @classmethod
    def signed_out(
        cls, reason: str, message: str = "", headers: tuple[tuple[str, str], ...] = ()
    ) -> RequestState:
        """A signed-out state with debug headers."""
        return cls._with_debug_headers(AuthStatus.SIGNED_OUT, reason, message, headers)

    @classmethod
    def handshake(
        cls, reason: str, message: str, headers: tuple[tuple[str, str], ...]
    ) -> RequestState:
        """A handshake state: redirect to ``location`` with these headers."""
        return cls._with_debug_headers(AuthStatus.HANDSHAKE, reason, message, headers)

    @classmethod
    def _with_debug_headers(
        cls, status: AuthStatus, reason: str, message: str, headers: tuple[tuple[str, str], ...]
    ) -> RequestState:
        debug: list[tuple[str, str]] = []
        if message and legal_header_value(message):
            debug.append(("x-clerk-auth-message", message))
        if reason and legal_header_value(reason):
            debug.append(("x-clerk-auth-reason", reason))
        debug.append(("x-clerk-auth-status", status.value))
        kept = tuple((k, v) for k, v in headers if not k.startswith("x-clerk-auth-"))
        return cls(status, reason, message, None, kept + tuple(debug), None)


_STATE_FIELDS = ("status", "reason", "message", "token", "headers", "claims")
if tuple(f.name for f in fields(RequestState)) != _STATE_FIELDS:  # pragma: no cover
    raise TypeError("_STATE_FIELDS must list RequestState's fields in order")
_set_status, _set_reason, _set_message, _set_token, _set_headers, _set_claims = (
    getattr(RequestState, name).__set__ for name in _STATE_FIELDS
)
