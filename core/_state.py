"""``RequestState``: the outcome of authenticating one request."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, overload

from ._auth import Auth, auth_from_claims, signed_out_auth
from ._machine import (
    MACHINE_TOKEN_TYPES,
    AcceptsToken,
    InvalidTokenAuth,
    MachineAuth,
    MachineTokenType,
    TokenType,
    authenticated_machine_auth,
    is_token_type_accepted,
    unauthenticated_machine_auth,
)

__all__ = ["AnyAuth", "AuthStatus", "RequestState", "accepted_auth", "legal_header_value"]

#: What ``RequestState.to_auth`` returns for a request that was decided.
AnyAuth = Auth | MachineAuth | InvalidTokenAuth

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
        token_type: The type of token the state is about: ``"session_token"``,
            a machine type, or None for Clerk's invalid-token state (a token of a
            type outside an ``accepts_token`` list).
        machine: The verified machine token's data (signed in with a machine
            token only): ``id``, ``subject``, ``scopes`` and the type's own fields.
    """

    status: AuthStatus
    reason: str | None = None
    message: str | None = None
    token: str | None = field(default=None, repr=False)  # a credential: never in reprs
    headers: tuple[tuple[str, str], ...] = ()
    claims: Mapping[str, Any] | None = field(default=None, repr=False)
    token_type: TokenType | None = "session_token"  # noqa: S105 - a token type, not a secret
    machine: Mapping[str, Any] | None = field(default=None, repr=False)

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

    @overload
    def to_auth(
        self,
        *,
        treat_pending_as_signed_out: bool = True,
        accepts_token: Literal["session_token"] = "session_token",  # noqa: S107 - a token type
    ) -> Auth | None: ...

    @overload
    def to_auth(
        self,
        *,
        treat_pending_as_signed_out: bool = True,
        accepts_token: MachineTokenType,
    ) -> MachineAuth | None: ...

    @overload
    def to_auth(
        self,
        *,
        treat_pending_as_signed_out: bool = True,
        accepts_token: AcceptsToken,
    ) -> AnyAuth | None: ...

    def to_auth(
        self,
        *,
        treat_pending_as_signed_out: bool = True,
        accepts_token: AcceptsToken = "session_token",  # noqa: S107 - a token type
    ) -> AnyAuth | None:
        """Return the auth object for handlers, or None for a handshake state.

        Clerk's ``getAuthObjectForAcceptedToken(toAuth())``: the state's own auth
        object when its token type is accepted; otherwise a signed-out session
        object (``accepts_token="session_token"``), an unauthenticated machine
        object of the asked type, or, for a list, the invalid-token object.

        Args:
            treat_pending_as_signed_out: When True (the default) a pending session
                (``sts: "pending"``) is signed out: ``user_id`` is None and
                ``session_status`` is ``"pending"``. When False it is signed in.
            accepts_token: The token types the caller accepts: one type (the
                default ``"session_token"``), a tuple of types, or ``"any"``.

        Raises:
            ValueError: The token's ``fea`` claim is malformed (as Clerk's SDK throws).
        """
        if (
            self.claims is not None
            and self.status is AuthStatus.SIGNED_IN
            and self.token_type == "session_token"  # noqa: S105 - a token type
            and accepts_token == "session_token"  # noqa: S105
        ):
            # The common case, on every signed-in request: _own_auth's first branch.
            return auth_from_claims(
                self.claims, self.token, treat_pending_as_signed_out=treat_pending_as_signed_out
            )
        if self.status is AuthStatus.HANDSHAKE:
            return None
        own = self._own_auth(treat_pending_as_signed_out)
        if accepts_token == "session_token" and self.token_type == "session_token":  # noqa: S105
            return own  # the common case, on every request: nothing to filter
        return accepted_auth(own, accepts_token)

    def _own_auth(self, treat_pending_as_signed_out: bool) -> AnyAuth:
        """Clerk's ``requestState.toAuth()``: the object of the state's own token type."""
        token_type = self.token_type
        if token_type is None:
            return InvalidTokenAuth()
        if token_type == "session_token":  # noqa: S105 - a token type
            if self.status is AuthStatus.SIGNED_OUT or self.claims is None:
                return signed_out_auth()
            return auth_from_claims(
                self.claims, self.token, treat_pending_as_signed_out=treat_pending_as_signed_out
            )
        if self.status is AuthStatus.SIGNED_IN and self.machine is not None and self.token:
            return authenticated_machine_auth(token_type, self.token, self.machine)
        return unauthenticated_machine_auth(token_type)

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
        _set_token_type(state, "session_token")
        _set_machine(state, None)
        return state

    @classmethod
    def machine_signed_in(
        cls, token_type: MachineTokenType, data: Mapping[str, Any], token: str
    ) -> RequestState:
        """A state signed in by a verified machine token (Clerk's ``signedIn`` for machines).

        Args:
            token_type: The machine token's type.
            data: The verified token's data (``id``, ``subject``, ``scopes``, ...).
            token: The raw token.
        """
        return cls(AuthStatus.SIGNED_IN, None, None, token, (), None, token_type, data)

    @classmethod
    def invalid_token(cls) -> RequestState:
        """Clerk's ``signedOutInvalidToken``: a token of a type outside an accepted list."""
        state = cls._with_debug_headers(AuthStatus.SIGNED_OUT, "token-type-mismatch", "", ())
        _set_token_type(state, None)
        return state

    @classmethod
    def signed_out(
        cls,
        reason: str,
        message: str = "",
        headers: tuple[tuple[str, str], ...] = (),
        token_type: TokenType = "session_token",  # noqa: S107 - a token type
    ) -> RequestState:
        """A signed-out state with debug headers, about a token of ``token_type``."""
        state = cls._with_debug_headers(AuthStatus.SIGNED_OUT, reason, message, headers)
        if token_type != "session_token":  # noqa: S105 - a token type
            _set_token_type(state, token_type)
        return state

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


def accepted_auth(auth: AnyAuth, accepts_token: AcceptsToken) -> AnyAuth:
    """Clerk's ``getAuthObjectForAcceptedToken``: ``auth`` filtered by the accepted types.

    Args:
        auth: A request's own auth object.
        accepts_token: ``"any"``, one token type, or a tuple of types.

    Returns:
        ``auth`` when its type is accepted; otherwise the invalid-token object
        (a tuple), an unauthenticated machine object of the asked type, or a
        signed-out session object.
    """
    if accepts_token == "any":  # noqa: S105 - a token type
        return auth
    if isinstance(accepts_token, tuple):
        accepted = is_token_type_accepted(auth.token_type, accepts_token)
        return auth if accepted else InvalidTokenAuth()
    if is_token_type_accepted(auth.token_type, accepts_token):
        return auth
    if accepts_token in MACHINE_TOKEN_TYPES:
        return unauthenticated_machine_auth(accepts_token)
    return signed_out_auth()


_STATE_FIELDS = (
    "status",
    "reason",
    "message",
    "token",
    "headers",
    "claims",
    "token_type",
    "machine",
)
if tuple(f.name for f in fields(RequestState)) != _STATE_FIELDS:  # pragma: no cover
    raise TypeError("_STATE_FIELDS must list RequestState's fields in order")
(
    _set_status,
    _set_reason,
    _set_message,
    _set_token,
    _set_headers,
    _set_claims,
    _set_token_type,
    _set_machine,
) = (getattr(RequestState, name).__set__ for name in _STATE_FIELDS)
