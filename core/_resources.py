"""Backend API resources an app asks for: the current user, and session tokens from templates.

These are calls the app makes on purpose (``current_user()``,
``auth().get_token(template=...)``), not calls requests cause, so they go
through ``BackendApi.call``: the same timeout and response size limit as every
call, no budget. Failures raise ``BackendApiError`` (never with a key or token
in its message); the request's own authentication is not affected.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from ._backend import API_VERSION, BackendApiError, backend_for
from ._options import ClerkOptions

if TYPE_CHECKING:
    from clerk_backend_api import Clerk

__all__ = [
    "EmailAddress",
    "User",
    "clerk_client",
    "fetch_user",
    "fetch_user_async",
    "session_token",
    "session_token_async",
    "session_token_path",
    "user_from_json",
]

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """One of a user's email addresses.

    Attributes:
        id: ``idn_...``.
        email_address: The address.
        verified: Whether its verification status is ``"verified"``.
    """

    id: str
    email_address: str
    verified: bool = False


@dataclass(frozen=True, slots=True)
class User:
    """A Clerk user, as the Backend API's ``GET /v1/users/{id}`` describes them.

    The fields an app reads most; everything else is in ``data``, the answer as
    the API sent it (snake_case keys, Clerk's
    [User object](https://clerk.com/docs/reference/backend-api/tag/users)).
    A field of an unexpected type reads as None (or empty).

    Attributes:
        id: ``user_...``.
        first_name: First name.
        last_name: Last name.
        username: Username.
        image_url: Profile image URL.
        primary_email_address_id: Id of the primary email address.
        email_addresses: All email addresses.
        external_id: The app's own id for the user.
        public_metadata: Public metadata (readable by the frontend).
        private_metadata: Private metadata (backend only).
        unsafe_metadata: Unsafe metadata (writable by the frontend).
        created_at: Creation time, Unix milliseconds.
        updated_at: Last update, Unix milliseconds.
        last_sign_in_at: Last sign-in, Unix milliseconds.
        banned: Whether the user is banned.
        data: The whole answer.
    """

    id: str
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    image_url: str | None = None
    primary_email_address_id: str | None = None
    email_addresses: tuple[EmailAddress, ...] = ()
    external_id: str | None = None
    public_metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    private_metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False)
    unsafe_metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False)
    created_at: int | None = None
    updated_at: int | None = None
    last_sign_in_at: int | None = None
    banned: bool = False
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False, compare=False)

    @property
    def primary_email_address(self) -> str | None:
        """The primary email address, or None."""
        for address in self.email_addresses:
            if address.id == self.primary_email_address_id:
                return address.email_address
        return None

    @property
    def full_name(self) -> str | None:
        """First and last name joined by a space (None when both are missing)."""
        parts = [part for part in (self.first_name, self.last_name) if part]
        return " ".join(parts) or None


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


def _number(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    return MappingProxyType(dict(value)) if isinstance(value, dict) else _EMPTY


def _email_addresses(value: Any) -> tuple[EmailAddress, ...]:
    if not isinstance(value, list):
        return ()
    found: list[EmailAddress] = []
    for item in value:
        if not isinstance(item, dict):
            continue
        address_id, address = item.get("id"), item.get("email_address")
        if not isinstance(address_id, str) or not isinstance(address, str):
            continue
        verification = item.get("verification")
        status = verification.get("status") if isinstance(verification, dict) else None
        found.append(EmailAddress(address_id, address, status == "verified"))
    return tuple(found)


def user_from_json(data: Any) -> User:
    """A ``User`` from the Backend API's JSON.

    Args:
        data: The decoded answer.

    Returns:
        The user.

    Raises:
        BackendApiError: The answer is not a user (no string ``id``).
    """
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise BackendApiError("Clerk Backend API: the answer is not a user.")
    return User(
        id=data["id"],
        first_name=_text(data, "first_name"),
        last_name=_text(data, "last_name"),
        username=_text(data, "username"),
        image_url=_text(data, "image_url"),
        primary_email_address_id=_text(data, "primary_email_address_id"),
        email_addresses=_email_addresses(data.get("email_addresses")),
        external_id=_text(data, "external_id"),
        public_metadata=_mapping(data, "public_metadata"),
        private_metadata=_mapping(data, "private_metadata"),
        unsafe_metadata=_mapping(data, "unsafe_metadata"),
        created_at=_number(data, "created_at"),
        updated_at=_number(data, "updated_at"),
        last_sign_in_at=_number(data, "last_sign_in_at"),
        banned=data.get("banned") is True,
        data=MappingProxyType(data),
    )


def _user_path(user_id: str) -> str:
    if not isinstance(user_id, str) or not user_id:
        raise ValueError("user_id must be a non-empty string")
    return f"users/{quote(user_id, safe='')}"


def fetch_user(options: ClerkOptions, user_id: str) -> User:
    """``GET /v1/users/{user_id}`` (blocking).

    Args:
        options: The instance's options (secret key, ``api_url``).
        user_id: The user's id.

    Returns:
        The user.

    Raises:
        BackendApiError: The call failed (``status`` 404 for an unknown user).
        ConfigurationError: No secret key is configured.
        RuntimeError: Called on a running event loop (use ``fetch_user_async``).
        ValueError: ``user_id`` is empty.
    """
    path = _user_path(user_id)
    _refuse_on_event_loop("current_user()", "await current_user_async()")
    return user_from_json(backend_for(options).call("GET", path))


async def fetch_user_async(options: ClerkOptions, user_id: str) -> User:
    """The ``async`` twin of ``fetch_user``.

    Raises:
        BackendApiError: As ``fetch_user``.
        ConfigurationError: As ``fetch_user``.
        ValueError: As ``fetch_user``.
    """
    return user_from_json(await backend_for(options).call_async("GET", _user_path(user_id)))


def session_token_path(
    session_id: str, template: str | None, expires_in_seconds: int | None
) -> tuple[str, dict[str, Any] | None]:
    """Clerk's ``sessions.getToken``: the path and body of a session token request.

    ``POST /v1/sessions/{sid}/tokens/{template}``, or ``/tokens`` without a
    template; ``{"expires_in_seconds": n}`` when a lifetime is given.

    Raises:
        ValueError: An empty session id, a template that is not a string, or a
            lifetime that is not a positive whole number of seconds.
    """
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("session_id must be a non-empty string")
    if template is not None and not isinstance(template, str):
        raise ValueError("template must be the name of a JWT template")
    if expires_in_seconds is not None and (
        isinstance(expires_in_seconds, bool)
        or not isinstance(expires_in_seconds, int)
        or expires_in_seconds <= 0
    ):
        raise ValueError("expires_in_seconds must be a positive whole number of seconds")
    path = f"sessions/{quote(session_id, safe='')}/tokens"
    if template:
        path += f"/{quote(template, safe='')}"
    body = None if expires_in_seconds is None else {"expires_in_seconds": expires_in_seconds}
    return path, body


def _jwt_of(data: Any) -> str:
    jwt = data.get("jwt") if isinstance(data, dict) else None
    if not isinstance(jwt, str) or not jwt:
        raise BackendApiError("Clerk Backend API: the answer holds no token.")
    return jwt


def session_token(
    options: ClerkOptions,
    session_id: str,
    *,
    template: str | None = None,
    expires_in_seconds: int | None = None,
) -> str:
    """A new session token from the Backend API (blocking): a JWT template's, or a longer one.

    Args:
        options: The instance's options.
        session_id: The session (``sess_...``).
        template: A JWT template's name (Clerk Dashboard, "JWT templates").
        expires_in_seconds: The token's lifetime.

    Returns:
        The token.

    Raises:
        BackendApiError: The call failed (e.g. 404 for an unknown template).
        ConfigurationError: No secret key is configured.
        RuntimeError: Called on a running event loop (use ``session_token_async``).
        ValueError: As ``session_token_path``.
    """
    path, body = session_token_path(session_id, template, expires_in_seconds)
    _refuse_on_event_loop("get_token(...)", "await auth.get_token_async(...)")
    return _jwt_of(backend_for(options).call("POST", path, body))


async def session_token_async(
    options: ClerkOptions,
    session_id: str,
    *,
    template: str | None = None,
    expires_in_seconds: int | None = None,
) -> str:
    """The ``async`` twin of ``session_token``.

    Raises:
        BackendApiError: As ``session_token``.
        ConfigurationError: As ``session_token``.
        ValueError: As ``session_token_path``.
    """
    path, body = session_token_path(session_id, template, expires_in_seconds)
    return _jwt_of(await backend_for(options).call_async("POST", path, body))


def _refuse_on_event_loop(what: str, instead: str) -> None:
    # A blocking network call would stall every request the loop serves.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"{what} calls the Backend API and would block the event loop: {instead}")


@functools.lru_cache(maxsize=8)
def _client_for(api_url: str, secret_key: str) -> Clerk:
    from clerk_backend_api import Clerk  # noqa: PLC0415 - an optional extra, imported when used

    return Clerk(bearer_auth=secret_key, server_url=f"{api_url.rstrip('/')}/{API_VERSION}")


def clerk_client(options: ClerkOptions) -> Clerk:
    """Clerk's own Python Backend SDK (``clerk-backend-api``), configured for this instance.

    Every Backend API resource (users, organizations, invitations, sessions...)
    with Clerk's typed models; the secret key and ``api_url`` come from
    ``options``. One client per instance is kept and shared (it holds a
    connection pool).

    Args:
        options: The instance's options.

    Returns:
        A ``clerk_backend_api.Clerk``.

    Raises:
        ImportError: ``clerk-backend-api`` is not installed
            (``pip install "clerk-middleware[backend-api]"``).
    """
    try:
        # ClerkOptions always has a secret key (it refuses to be built without one).
        return _client_for(options.api_url, options.secret_key or "")
    except ImportError as exc:
        raise ImportError(
            "clerk_client() uses Clerk's Python Backend SDK: "
            'pip install "clerk-middleware[backend-api]"'
        ) from exc
