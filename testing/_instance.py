"""``LocalInstance``: a small HTTP server on 127.0.0.1 that plays a Clerk instance.

It serves the parts of Clerk's APIs that the SDK talks to, signing with a
``TestIssuer`` key:

Backend API (each call must carry ``Authorization: Bearer <secret key>``,
otherwise 401 ``clerk_key_invalid``, as Clerk answers):

- ``GET  /v1/jwks`` -- the signing keys;
- ``GET  /v1/clients/handshake_payload?nonce=`` -- the cookie directives stored
  under a handshake nonce;
- ``POST /v1/sessions/{sid}/refresh`` -- a fresh session cookie for an expired
  session token and its refresh token.

Machine token verification (no ``/v1``, as Clerk serves them): 200 with the
token's resource, 404 for an unknown, revoked or expired token:

- ``POST /api_keys/verify`` ``{"secret": ...}`` -- API keys (``create_api_key``);
- ``POST /m2m_tokens/verify`` ``{"token": ...}`` -- M2M tokens
  (``create_m2m_token``); the Bearer may also be the instance's
  ``machine_secret_key``;
- ``POST /oauth_applications/access_tokens/verify`` ``{"access_token": ...}`` --
  OAuth access tokens (``create_oauth_token``).

Frontend API:

- ``GET /v1/client/handshake?redirect_url=...&format=nonce&...`` -- reads the
  instance's own ``__client`` cookie (or the development browser named by
  ``__clerk_db_jwt``), mints a session token (or clears the cookies of a
  signed-out client), and redirects back to ``redirect_url`` with
  ``__clerk_handshake_nonce`` (``format=nonce``) or ``__clerk_handshake``.

The SDK reaches it through ordinary options only: ``api_url`` and
``proxy_url`` set to ``instance.url`` (``instance.options()`` does this).
Cookies are scoped by host, not port, so an app on 127.0.0.1:B sees the
cookies the instance on 127.0.0.1:A sets, as an app and its Clerk instance do
on one site.

Pages (see ``_pages``): a sign-in page (``/sign-in``; ``instance.sign_in_url``)
where a browser picks or creates a user, the "choose an organization" task
page of pending sessions (``/sign-in/tasks``, where ``protect()`` sends them),
and ``/sign-out``. ``instance.options(pages=True)`` points an app at them.

An in-memory model of users, organizations, clients and sessions lets tests
(and pages added with ``add_route``) sign people in and out. Faults can be
injected per endpoint (``Delay``, ``CannedResponse``, ``MalformedBody``,
``ConnectionReset``, ``SlowBody``), keys rotated, and requests counted.

Error codes of the instance's own making (Clerk does not document these):
``resource_not_found`` (404: unknown session, nonce or machine token; a revoked
or expired machine token), ``form_param_missing`` (422: a machine verification
without its token field), ``session_not_active``
(400: the session has ended), ``refresh_token_invalid`` (401: the refresh
token is not the session's), ``expired_token_invalid`` (400: the expired
token is not this session's, or not signed by this instance).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import jwt

from clerk_middleware.core import ClerkOptions
from clerk_middleware.core._keys import cookie_suffix
from clerk_middleware.core._request import parse_cookie_header

from ._http import InstanceRequest, InstanceResponse, Route, clerk_error, with_param
from ._issuer import OrgClaims, TestIssuer
from ._pages import SIGN_IN_PATHS, SIGN_OUT_PATH, install_pages
from ._webhooks import WebhookSender

__all__ = [
    "ApiKey",
    "CannedResponse",
    "Client",
    "ConnectionReset",
    "Delay",
    "Endpoint",
    "Fault",
    "InstanceRequest",
    "InstanceResponse",
    "LocalInstance",
    "M2MToken",
    "MalformedBody",
    "Membership",
    "OAuthToken",
    "Organization",
    "Session",
    "SlowBody",
    "User",
]

logger = logging.getLogger("clerk_middleware.testing")

#: The built-in endpoints, as named by counters and fault injection.
Endpoint = Literal[
    "jwks",
    "handshake_payload",
    "refresh",
    "handshake",
    "api_key_verify",
    "m2m_token_verify",
    "oauth_token_verify",
    "user",
    "session_token",
]
SessionStatus = Literal["active", "pending", "ended"]

CLIENT_COOKIE = "__client"
CHOOSE_ORGANIZATION = "choose-organization"
NONCE_LIFETIME = 300.0
MAX_NONCES = 10_000
MAX_BODY = 1024 * 1024
TEN_YEARS = 315_360_000
# Clerk's own wording for a rejected secret key (an error message, not a secret).
KEY_REJECTED_MESSAGE = (
    "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct."
)
_REFRESH_PATH = re.compile(r"/v1/sessions/([^/]+)/refresh")
_USER_PATH = re.compile(r"/v1/users/([^/]+)")
_TOKEN_PATH = re.compile(r"/v1/sessions/([^/]+)/tokens(?:/([^/]+))?")
#: Template claims whose whole value is one of these are replaced by the user's value.
_SHORTCODES = (
    "user.id",
    "user.first_name",
    "user.last_name",
    "user.primary_email_address",
    "user.username",
    "user.public_metadata",
    "user.external_id",
)
#: The machine verification endpoints: path -> (endpoint name, body field).
_MACHINE_PATHS: Mapping[str, tuple[Endpoint, str]] = {
    "/api_keys/verify": ("api_key_verify", "secret"),
    "/m2m_tokens/verify": ("m2m_token_verify", "token"),
    "/oauth_applications/access_tokens/verify": ("oauth_token_verify", "access_token"),
}


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    """A user of the instance.

    Attributes:
        id: ``user_...``; the ``sub`` of their session tokens.
        email_address: Primary email address, if any.
        first_name: First name, if any.
        last_name: Last name, if any.
        username: Username, if any.
        public_metadata: Public metadata.
        private_metadata: Private metadata.
        external_id: The app's own id for the user, if any.
        created_at: When it was created, Unix milliseconds (0: unknown).
    """

    id: str
    email_address: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    public_metadata: Mapping[str, Any] = field(default_factory=dict)
    private_metadata: Mapping[str, Any] = field(default_factory=dict)
    external_id: str | None = None
    created_at: int = 0


@dataclass(frozen=True, slots=True)
class JwtTemplate:
    """A JWT template: what ``POST /v1/sessions/{sid}/tokens/{name}`` signs.

    Attributes:
        name: The template's name.
        claims: Its custom claims; a string value that is exactly a shortcode
            (``"{{user.id}}"``, ``"{{user.primary_email_address}}"``,
            ``"{{user.first_name}}"``, ``"{{user.last_name}}"``,
            ``"{{user.username}}"``, ``"{{user.public_metadata}}"``,
            ``"{{user.external_id}}"``) is replaced by the user's value.
        lifetime: Seconds its tokens live.
    """

    name: str
    claims: Mapping[str, Any] = field(default_factory=dict)
    lifetime: int = 60


@dataclass(frozen=True, slots=True)
class Organization:
    """An organization.

    Attributes:
        id: ``org_...``.
        slug: URL-friendly name (``o.slg`` in tokens).
        name: Display name.
    """

    id: str
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's membership of an organization.

    Attributes:
        user_id: The member.
        organization_id: The organization.
        role: Role without the ``org:`` prefix (``"admin"``, ``"member"``).
        permissions: Full permission keys, e.g. ``"org:billing:manage"``.
    """

    user_id: str
    organization_id: str
    role: str = "admin"
    permissions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Session:
    """A session of a user on a client.

    Attributes:
        id: ``sess_...``; the ``sid`` of its tokens.
        user_id: Whose session it is.
        client_id: The client (browser) it lives on.
        status: ``"active"``, ``"pending"`` (an after-auth task is open) or ``"ended"``.
        organization_id: The active organization, or None for the personal account.
        refresh_token: What the app's ``__refresh_<suffix>`` cookie holds.
        tasks: Open after-auth tasks, e.g. ``("choose-organization",)``.
    """

    id: str
    user_id: str
    client_id: str
    status: SessionStatus
    organization_id: str | None
    refresh_token: str
    tasks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Client:
    """A browser known to the instance.

    Attributes:
        id: ``client_...``.
        token: The value of the instance's ``__client`` cookie for this browser.
        session_ids: Every session ever created on it.
        last_active_session_id: The current session, or None when signed out.
        updated_at: Unix seconds of the last sign-in/out (the ``__client_uat`` value).
    """

    id: str
    token: str
    session_ids: tuple[str, ...] = ()
    last_active_session_id: str | None = None
    updated_at: int = 0


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key of the instance (``create_api_key``).

    Times are Unix milliseconds, as Clerk's Backend API gives them.

    Attributes:
        id: ``ak_...``: the key's id.
        secret: ``ak_...``: what a client sends as ``Authorization: Bearer``.
        subject: Whom it stands for: ``user_...`` or ``org_...``.
        name: Its name.
        scopes: Its scopes.
        claims: Custom claims, or None.
        created_at: When it was created.
        expiration: When it expires, or None (never).
        revoked: Whether it was revoked.
        revocation_reason: Why, if given.
        description: Its description, if any.
    """

    id: str
    secret: str = field(repr=False)
    subject: str
    name: str
    scopes: tuple[str, ...]
    claims: Mapping[str, Any] | None
    created_at: int
    expiration: int | None
    revoked: bool = False
    revocation_reason: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class M2MToken:
    """A machine-to-machine token of the instance (``create_m2m_token``).

    Attributes:
        id: ``mt_...``: the token's id (the ``jti`` of its JWT form).
        token: What a machine sends: an opaque ``mt_...`` or a JWT.
        machine_id: The machine it stands for (``mch_...``): its subject.
        scopes: The machines it may call.
        claims: Custom claims, or None.
        created_at: Unix milliseconds.
        expiration: Unix milliseconds, or None (never).
        jwt: Whether ``token`` is the JWT form (verified without the instance,
            so revoking it changes nothing for verifiers).
        revoked: Whether it was revoked.
        revocation_reason: Why, if given.
    """

    id: str
    token: str = field(repr=False)
    machine_id: str
    scopes: tuple[str, ...]
    claims: Mapping[str, Any] | None
    created_at: int
    expiration: int | None
    jwt: bool = False
    revoked: bool = False
    revocation_reason: str | None = None


@dataclass(frozen=True, slots=True)
class OAuthToken:
    """An OAuth access token the instance issued to an OAuth application (``create_oauth_token``).

    Attributes:
        id: ``oat_...``: the token's id (the ``jti`` of its JWT form).
        token: What the client sends: an opaque ``oat_...`` or a JWT.
        user_id: The user who authorized the application: its subject.
        client_id: The application's client id.
        scopes: The granted scopes.
        audience: The ``aud`` values, or None.
        created_at: Unix milliseconds.
        expiration: Unix milliseconds, or None (never).
        jwt: Whether ``token`` is the JWT form.
        revoked: Whether it was revoked.
        revocation_reason: Why, if given.
    """

    id: str
    token: str = field(repr=False)
    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    audience: tuple[str, ...] | None
    created_at: int
    expiration: int | None
    jwt: bool = False
    revoked: bool = False
    revocation_reason: str | None = None


def _expired(expiration: int | None, now_ms: int) -> bool:
    return expiration is not None and expiration <= now_ms


def _shortcode(value: Any) -> str | None:
    """The shortcode a template claim's value is exactly (``"{{user.id}}"``), if any."""
    if isinstance(value, str) and value.startswith("{{") and value.endswith("}}"):
        code = value[2:-2].strip()
        if code in _SHORTCODES:
            return code
    return None


def _user_json(user: User, last_sign_in_at: int | None) -> dict[str, Any]:
    """A user as Clerk's Backend API describes one (the fields apps read most)."""
    email_id = f"idn_{hashlib.sha256(user.id.encode()).hexdigest()[:24]}"
    addresses = []
    if user.email_address is not None:
        addresses.append(
            {
                "id": email_id,
                "object": "email_address",
                "email_address": user.email_address,
                "reserved": False,
                "verification": {
                    "object": "verification_otp",
                    "status": "verified",
                    "strategy": "email_code",
                    "attempts": 1,
                    "expire_at": None,
                },
                "linked_to": [],
                "created_at": user.created_at,
                "updated_at": user.created_at,
            }
        )
    return {
        "object": "user",
        "id": user.id,
        "external_id": user.external_id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "image_url": f"https://img.clerk.com/{user.id}",
        "has_image": False,
        "primary_email_address_id": email_id if addresses else None,
        "primary_phone_number_id": None,
        "email_addresses": addresses,
        "phone_numbers": [],
        "external_accounts": [],
        "public_metadata": dict(user.public_metadata),
        "private_metadata": dict(user.private_metadata),
        "unsafe_metadata": {},
        "primary_web3_wallet_id": None,
        "web3_wallets": [],
        "passkeys": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "password_enabled": False,
        "two_factor_enabled": False,
        "totp_enabled": False,
        "backup_code_enabled": False,
        "mfa_enabled_at": None,
        "mfa_disabled_at": None,
        "banned": False,
        "locked": False,
        "lockout_expires_in_seconds": None,
        "verification_attempts_remaining": None,
        "delete_self_enabled": True,
        "create_organization_enabled": True,
        "created_at": user.created_at,
        "updated_at": user.created_at,
        "last_sign_in_at": last_sign_in_at,
        "last_active_at": last_sign_in_at,
        "legal_accepted_at": None,
    }


def _api_key_json(key: ApiKey, now_ms: int) -> dict[str, Any]:
    """An API key as ``POST /api_keys/verify`` answers (Clerk's ``APIKeyJSON``, no secret)."""
    return {
        "object": "api_key",
        "id": key.id,
        "type": "api_key",
        "name": key.name,
        "subject": key.subject,
        "scopes": list(key.scopes),
        "claims": dict(key.claims) if key.claims is not None else None,
        "revoked": key.revoked,
        "revocation_reason": key.revocation_reason,
        "expired": _expired(key.expiration, now_ms),
        "expiration": key.expiration,
        "created_by": None,
        "description": key.description,
        "last_used_at": now_ms,
        "created_at": key.created_at,
        "updated_at": key.created_at,
    }


def _m2m_json(token: M2MToken, now_ms: int) -> dict[str, Any]:
    """An M2M token as ``POST /m2m_tokens/verify`` answers (``M2MTokenJSON``, no token)."""
    return {
        "object": "machine_to_machine_token",
        "id": token.id,
        "subject": token.machine_id,
        "scopes": list(token.scopes),
        "claims": dict(token.claims) if token.claims is not None else None,
        "revoked": token.revoked,
        "revocation_reason": token.revocation_reason,
        "expired": _expired(token.expiration, now_ms),
        "expiration": token.expiration,
        "created_at": token.created_at,
        "updated_at": token.created_at,
    }


def _oauth_json(token: OAuthToken, now_ms: int) -> dict[str, Any]:
    """An OAuth access token as Clerk's verify endpoint answers (``IdPOAuthAccessTokenJSON``)."""
    body: dict[str, Any] = {
        "object": "clerk_idp_oauth_access_token",
        "id": token.id,
        "client_id": token.client_id,
        "type": "oauth:access_token",
        "subject": token.user_id,
        "scopes": list(token.scopes),
        "revoked": token.revoked,
        "revocation_reason": token.revocation_reason,
        "expired": _expired(token.expiration, now_ms),
        "expiration": token.expiration,
        "created_at": token.created_at,
        "updated_at": token.created_at,
    }
    if token.audience is not None:
        body["aud"] = list(token.audience)
    return body


# --- faults ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delay:
    """Wait ``seconds`` before answering normally (a slow API).

    Attributes:
        seconds: How long to wait; cut short when the instance closes.
    """

    seconds: float


@dataclass(frozen=True, slots=True)
class CannedResponse:
    """Answer with this response instead (an error status, an odd body...).

    Attributes:
        status: HTTP status.
        body: The body; None gives a Clerk-style error list with ``code``.
        content_type: The ``Content-Type``.
        code: The error code of the default body.
    """

    status: int = 500
    body: bytes | None = None
    content_type: str = "application/json"
    code: str = "internal_clerk_error"


@dataclass(frozen=True, slots=True)
class MalformedBody:
    """Answer 200 with a JSON content type and a truncated JSON body."""


@dataclass(frozen=True, slots=True)
class ConnectionReset:
    """Read the request, then reset the TCP connection without answering."""


@dataclass(frozen=True, slots=True)
class SlowBody:
    """Send the status and headers at once, then the body one byte per ``interval``.

    Attributes:
        interval: Seconds between bytes.
    """

    interval: float


Fault = Delay | CannedResponse | MalformedBody | ConnectionReset | SlowBody


@dataclass(slots=True)
class _Armed:
    fault: Fault
    remaining: int | None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "org"


def _v2_permissions(
    permissions: Sequence[str],
) -> tuple[str | None, tuple[str, ...], tuple[int, ...]]:
    """Encode ``org:<feature>:<permission>`` keys as v2 ``fea``, ``per`` and ``fpm`` claims."""
    features: list[str] = []
    names: list[str] = []
    grants: list[tuple[str, str]] = []
    for key in permissions:
        parts = key.split(":")
        if len(parts) != 3 or parts[0] != "org":
            continue
        _, feature, name = parts
        if feature not in features:
            features.append(feature)
        if name not in names:
            names.append(name)
        grants.append((feature, name))
    fpm = tuple(
        sum(1 << names.index(name) for f, name in set(grants) if f == feature)
        for feature in features
    )
    fea = ",".join(f"o:{feature}" for feature in features) or None
    return fea, tuple(names), fpm


# --- the instance ---------------------------------------------------------------------------


class LocalInstance:
    """A local stand-in for a Clerk instance, served on 127.0.0.1.

    Use it as a context manager (or call ``start()`` and ``close()``)::

        with LocalInstance() as clerk:
            user = clerk.create_user()
            session = clerk.sign_in(user)
            options = clerk.options()        # api_url and proxy_url point here

    Every method is thread-safe.

    Args:
        issuer: The instance's identity (publishable and secret key) and first
            signing key; a new ``TestIssuer`` by default. Its clock dates
            tokens and ``__client_uat``.
        port: TCP port; 0 picks a free one.
        token_lifetime: Seconds a minted session token is valid (Clerk: 60).
        personal_accounts: Whether users may work in their personal account (Clerk's
            default). False: a user who signs in on the sign-in page without a last
            active organization gets a ``pending`` session whose task is to choose one.
    """

    def __init__(
        self,
        issuer: TestIssuer | None = None,
        *,
        port: int = 0,
        token_lifetime: int = 60,
        personal_accounts: bool = True,
    ) -> None:
        self.issuer = issuer or TestIssuer()
        self.token_lifetime = token_lifetime
        self.personal_accounts = personal_accounts
        self._requested_port = port
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._signers: list[TestIssuer] = [self.issuer]
        self._users: dict[str, User] = {}
        self._templates: dict[str, JwtTemplate] = {}
        #: Signs and delivers webhook events (``send_webhook``) on the instance's clock.
        self.webhooks = WebhookSender(clock=lambda: self.issuer.clock())  # noqa: PLW0108 - late bound
        self._last_sign_in: dict[str, int] = {}
        self._organizations: dict[str, Organization] = {}
        self._memberships: dict[tuple[str, str], Membership] = {}
        self._clients: dict[str, Client] = {}
        self._sessions: dict[str, Session] = {}
        self._dev_browsers: dict[str, str | None] = {}
        self._nonces: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._faults: dict[str, _Armed] = {}
        self._counts: Counter[str] = Counter()
        self._log: deque[tuple[str, InstanceRequest]] = deque(maxlen=1000)
        self._routes: dict[tuple[str, str], tuple[str, Route]] = {}
        self._last_organizations: dict[str, str] = {}
        # Machine tokens by id; what clients send is looked up through ``_by_secret``.
        self._api_keys: dict[str, ApiKey] = {}
        self._m2m_tokens: dict[str, M2MToken] = {}
        self._oauth_tokens: dict[str, OAuthToken] = {}
        self._by_secret: dict[str, str] = {}
        self._machine_secret_key = f"ak_{secrets.token_hex(16)}"
        self._suffix = cookie_suffix(self.issuer.publishable_key)
        install_pages(self)

    # -- lifecycle

    def start(self) -> LocalInstance:
        """Start serving in a background thread.

        Returns:
            This instance.

        Raises:
            RuntimeError: It is already running.
            OSError: The port is taken.
        """
        if self._server is not None:
            raise RuntimeError("the local instance is already running")
        self._closing.clear()
        server = _Server(("127.0.0.1", self._requested_port), self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"clerk-local-instance-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; delayed and slow answers in progress are cut short."""
        self._closing.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalInstance:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The TCP port it listens on.

        Raises:
            RuntimeError: It is not running.
        """
        if self._server is None:
            raise RuntimeError("the local instance is not running; use start() or `with`")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: its Backend and Frontend API origin."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def publishable_key(self) -> str:
        """The instance's publishable key (the issuer's)."""
        return self.issuer.publishable_key

    @property
    def secret_key(self) -> str:
        """The secret key the Backend API endpoints accept."""
        return self.issuer.secret_key

    @property
    def machine_secret_key(self) -> str:
        """A machine's secret key (``ak_...``) that ``/m2m_tokens/verify`` also accepts.

        For ``ClerkOptions(machine_secret_key=...)`` / ``CLERK_MACHINE_SECRET_KEY``.
        """
        return self._machine_secret_key

    @property
    def development(self) -> bool:
        """True for a ``pk_test_`` instance (development browsers in use)."""
        return not self.issuer.production

    @property
    def cookie_suffix(self) -> str:
        """The suffix of the app's suffixed cookies (``__refresh_<suffix>``)."""
        return self._suffix

    @property
    def sign_in_url(self) -> str:
        """The instance's sign-in page, ``<url>/sign-in`` (for ``sign_in_url``)."""
        return f"{self.url}{SIGN_IN_PATHS[0]}"

    @property
    def sign_up_url(self) -> str:
        """The instance's sign-up page, ``<url>/sign-up`` (for ``sign_up_url``)."""
        return f"{self.url}{SIGN_IN_PATHS[1]}"

    @property
    def sign_out_url(self) -> str:
        """``<url>/sign-out``; add ``?redirect_url=`` to come back to the app."""
        return f"{self.url}{SIGN_OUT_PATH}"

    def options(self, *, pages: bool = False, **overrides: Any) -> ClerkOptions:
        """``ClerkOptions`` that reach this instance: ``api_url`` and ``proxy_url`` are its URL.

        Args:
            pages: Also send sign-ins and sign-ups to this instance's pages
                (``sign_in_url`` and ``sign_up_url``), for apps used in a browser.
            **overrides: Any other ``ClerkOptions`` field.

        Returns:
            The options (remote JWKS, no ``jwt_key``).
        """
        values: dict[str, Any] = {"api_url": self.url, "proxy_url": self.url}
        if pages:
            values.update(sign_in_url=self.sign_in_url, sign_up_url=self.sign_up_url)
        values.update(overrides)
        return self.issuer.options(networkless=False, **values)

    def env(self, *, pages: bool = False) -> dict[str, str]:
        """The environment variables an app needs to use this instance.

        Args:
            pages: Also name this instance's sign-in and sign-up pages.

        Returns:
            ``CLERK_PUBLISHABLE_KEY``, ``CLERK_SECRET_KEY``, ``CLERK_API_URL``,
            ``CLERK_PROXY_URL`` (which sends handshakes here) and
            ``CLERK_WEBHOOK_SIGNING_SECRET`` (what ``send_webhook`` signs with);
            with ``pages``, also ``CLERK_SIGN_IN_URL`` and ``CLERK_SIGN_UP_URL``.
        """
        env = {
            "CLERK_PUBLISHABLE_KEY": self.publishable_key,
            "CLERK_SECRET_KEY": self.secret_key,
            "CLERK_API_URL": self.url,
            "CLERK_PROXY_URL": self.url,
            "CLERK_WEBHOOK_SIGNING_SECRET": self.webhook_signing_secret,
        }
        if pages:
            env.update(CLERK_SIGN_IN_URL=self.sign_in_url, CLERK_SIGN_UP_URL=self.sign_up_url)
        return env

    # -- webhooks

    @property
    def webhook_signing_secret(self) -> str:
        """The signing secret (``whsec_...``) of the events ``send_webhook`` delivers."""
        return self.webhooks.signing_secret

    def send_webhook(
        self,
        url: str,
        type: str,
        data: Mapping[str, Any] | User,
        *,
        msg_id: str | None = None,
        timestamp: float | None = None,
    ) -> httpx.Response:
        """Deliver a signed Clerk webhook event to an app's endpoint, as Clerk (Svix) does.

        Args:
            url: The endpoint, on 127.0.0.1 or localhost.
            type: The event type, e.g. ``"user.created"``.
            data: The event's resource; a ``User`` is sent as the Backend API
                describes it (``GET /v1/users/{id}``).
            msg_id: The ``svix-id`` (the same on a retry); by default a fresh one.
            timestamp: ``svix-timestamp``; by default the instance's clock.

        Returns:
            The app's answer.

        Raises:
            ValueError: ``url`` is not on this machine.
            httpx.HTTPError: The app could not be reached.
        """
        if isinstance(data, User):
            with self._lock:
                last_sign_in = self._last_sign_in.get(data.id)
            data = _user_json(data, last_sign_in)
        return self.webhooks.deliver(url, type, data, msg_id=msg_id, timestamp=timestamp)

    # -- keys

    @property
    def signer(self) -> TestIssuer:
        """The ``TestIssuer`` holding the current signing key."""
        with self._lock:
            return self._signers[-1]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document ``/v1/jwks`` serves (current key first).

        Returns:
            ``{"keys": [...]}``.
        """
        with self._lock:
            return {"keys": [signer.jwk() for signer in reversed(self._signers)]}

    def rotate_key(self, *, keep_old: bool = True) -> str:
        """Sign with a new key from now on.

        Args:
            keep_old: Keep listing the previous keys in the JWKS (as Clerk does
                during a rotation); False lists only the new key.

        Returns:
            The new key's ``kid``.
        """
        with self._lock:
            kid = f"ins_test_key_{len(self._signers) + 1}_{secrets.token_hex(4)}"
            signer = TestIssuer(
                self.issuer.frontend_api,
                production=self.issuer.production,
                kid=kid,
                clock=self.issuer.clock,
            )
            self._signers = [*self._signers, signer] if keep_old else [signer]
            return kid

    def _public_key(self, kid: object) -> Any:
        with self._lock:
            for signer in self._signers:
                if signer.kid == kid:
                    return signer.jwt_key
        return None

    # -- faults, counters, log

    def inject(self, endpoint: Endpoint | str, fault: Fault, *, times: int | None = None) -> None:
        """Make ``endpoint`` misbehave (replacing any fault already set on it).

        Args:
            endpoint: ``"jwks"``, ``"handshake_payload"``, ``"refresh"``,
                ``"handshake"``, ``"api_key_verify"``, ``"m2m_token_verify"``,
                ``"oauth_token_verify"``, or the name of an added route.
            fault: What to do instead of answering normally.
            times: For this many requests, then behave again; None: until cleared.
        """
        with self._lock:
            self._faults[endpoint] = _Armed(fault, times)

    def clear_faults(self, endpoint: Endpoint | str | None = None) -> None:
        """Remove the fault of ``endpoint``, or every fault.

        Args:
            endpoint: The endpoint; None for all.
        """
        with self._lock:
            if endpoint is None:
                self._faults.clear()
            else:
                self._faults.pop(endpoint, None)

    @contextlib.contextmanager
    def fault(
        self, endpoint: Endpoint | str, fault: Fault, *, times: int | None = None
    ) -> Iterator[None]:
        """Inject a fault for the duration of a ``with`` block.

        Args:
            endpoint: As for ``inject``.
            fault: As for ``inject``.
            times: As for ``inject``.

        Yields:
            Nothing; the fault is cleared on exit.
        """
        self.inject(endpoint, fault, times=times)
        try:
            yield
        finally:
            self.clear_faults(endpoint)

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            armed = self._faults.get(endpoint)
            if armed is None:
                return None
            if armed.remaining is not None:
                armed.remaining -= 1
                if armed.remaining <= 0:
                    del self._faults[endpoint]
            return armed.fault

    def count(self, endpoint: Endpoint | str) -> int:
        """How many requests ``endpoint`` received (faulty ones included).

        Args:
            endpoint: An endpoint or added route name (``"other"``: unknown paths).

        Returns:
            The count since start or the last ``reset_counts()``.
        """
        with self._lock:
            return self._counts[endpoint]

    def counts(self) -> dict[str, int]:
        """Requests received per endpoint.

        Returns:
            A copy of the counters.
        """
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        """Set every counter to zero and forget the request log."""
        with self._lock:
            self._counts.clear()
            self._log.clear()

    def requests(self, endpoint: Endpoint | str | None = None) -> list[InstanceRequest]:
        """The last requests received (at most 1000), oldest first.

        Args:
            endpoint: Only those of this endpoint; None for all.

        Returns:
            The requests.
        """
        with self._lock:
            return [r for name, r in self._log if endpoint is None or name == endpoint]

    # -- routes

    def add_route(self, method: str, path: str, handler: Route, *, name: str | None = None) -> None:
        """Serve ``handler`` at ``method path`` (for sign-in or task pages).

        Args:
            method: HTTP method, e.g. ``"GET"``.
            path: Exact path, e.g. ``"/sign-in"``.
            handler: Called with the request; returns the response.
            name: Its name for counters and faults (default: the path).

        Raises:
            ValueError: The path is one of the built-in endpoints.
        """
        if path.startswith("/v1/") or path in _MACHINE_PATHS:
            raise ValueError(f"{path!r} is reserved for the instance's API endpoints")
        with self._lock:
            self._routes[(method.upper(), path)] = (name or path, handler)

    def _route(self, request: InstanceRequest) -> tuple[str, Route | None]:
        method, path = request.method, request.path
        if path == "/v1/jwks" and method == "GET":
            return "jwks", self._serve_jwks
        if path == "/v1/clients/handshake_payload" and method == "GET":
            return "handshake_payload", self._serve_handshake_payload
        if method == "POST" and _REFRESH_PATH.fullmatch(path):
            return "refresh", self._serve_refresh
        if path == "/v1/client/handshake" and method == "GET":
            return "handshake", self._serve_handshake
        if method == "POST" and path in _MACHINE_PATHS:
            return _MACHINE_PATHS[path][0], self._serve_machine_verify
        if method == "GET" and _USER_PATH.fullmatch(path):
            return "user", self._serve_user
        if method == "POST" and _TOKEN_PATH.fullmatch(path):
            return "session_token", self._serve_session_token
        with self._lock:
            name, route = self._routes.get((method, path), ("other", None))
        return name, route

    # -- the model

    def create_user(
        self,
        *,
        user_id: str | None = None,
        email_address: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        public_metadata: Mapping[str, Any] | None = None,
        private_metadata: Mapping[str, Any] | None = None,
        external_id: str | None = None,
    ) -> User:
        """Add a user; the Backend API serves them at ``GET /v1/users/{id}``.

        Args:
            user_id: Its id; a random ``user_...`` by default.
            email_address: Primary email address.
            first_name: First name.
            last_name: Last name.
            username: Username.
            public_metadata: Public metadata.
            private_metadata: Private metadata.
            external_id: The app's own id for the user.

        Returns:
            The user.
        """
        user = User(
            user_id or f"user_{secrets.token_hex(12)}",
            email_address,
            first_name,
            last_name,
            username,
            dict(public_metadata or {}),
            dict(private_metadata or {}),
            external_id,
            self._now_ms(),
        )
        with self._lock:
            self._users[user.id] = user
        return user

    def users(self) -> list[User]:
        """Every user, in creation order.

        Returns:
            The users.
        """
        with self._lock:
            return list(self._users.values())

    def user(self, user_id: str) -> User:
        """A user by id.

        Args:
            user_id: The id.

        Returns:
            The user.

        Raises:
            KeyError: No such user.
        """
        with self._lock:
            return self._users[user_id]

    def create_organization(
        self, name: str, *, slug: str | None = None, organization_id: str | None = None
    ) -> Organization:
        """Add an organization.

        Args:
            name: Display name.
            slug: URL-friendly name; derived from ``name`` by default.
            organization_id: Its id; a random ``org_...`` by default.

        Returns:
            The organization.
        """
        org = Organization(
            organization_id or f"org_{secrets.token_hex(12)}", slug or _slugify(name), name
        )
        with self._lock:
            self._organizations[org.id] = org
        return org

    def organization(self, id_or_slug: str) -> Organization:
        """An organization by id or slug.

        Args:
            id_or_slug: ``org_...`` or a slug.

        Returns:
            The organization.

        Raises:
            KeyError: No such organization.
        """
        with self._lock:
            if id_or_slug in self._organizations:
                return self._organizations[id_or_slug]
            for org in self._organizations.values():
                if org.slug == id_or_slug:
                    return org
        raise KeyError(f"no organization {id_or_slug!r}")

    def add_membership(
        self,
        user: User | str,
        organization: Organization | str,
        *,
        role: str = "admin",
        permissions: Sequence[str] = (),
    ) -> Membership:
        """Make ``user`` a member of ``organization`` (replacing an earlier membership).

        Args:
            user: The user or its id.
            organization: The organization, its id or slug.
            role: Role without the ``org:`` prefix.
            permissions: Full permission keys (``org:<feature>:<permission>``).

        Returns:
            The membership.

        Raises:
            KeyError: No such user or organization.
        """
        with self._lock:
            user_id = self.user(user if isinstance(user, str) else user.id).id
            org_id = self.organization(
                organization if isinstance(organization, str) else organization.id
            ).id
            membership = Membership(user_id, org_id, role, tuple(permissions))
            self._memberships[(user_id, org_id)] = membership
            return membership

    def memberships(self, user: User | str) -> list[Membership]:
        """The organizations a user belongs to.

        Args:
            user: The user or its id.

        Returns:
            The memberships.
        """
        user_id = user if isinstance(user, str) else user.id
        with self._lock:
            return [m for (uid, _), m in self._memberships.items() if uid == user_id]

    def last_active_organization(self, user: User | str) -> Organization | None:
        """The organization a user last made active, if they are still a member.

        The sign-in page signs the user straight into it (no task to complete).

        Args:
            user: The user or its id.

        Returns:
            The organization, or None.
        """
        user_id = user if isinstance(user, str) else user.id
        with self._lock:
            org_id = self._last_organizations.get(user_id)
            if org_id is None or (user_id, org_id) not in self._memberships:
                return None
            return self._organizations[org_id]

    def set_last_active_organization(
        self, user: User | str, organization: Organization | str | None
    ) -> None:
        """Remember (or forget) the organization a user last made active.

        Args:
            user: The user or its id.
            organization: The organization (id, slug or object), or None to forget.

        Raises:
            KeyError: No such user or organization.
        """
        with self._lock:
            user_id = self.user(user if isinstance(user, str) else user.id).id
            if organization is None:
                self._last_organizations.pop(user_id, None)
                return
            org = self.organization(
                organization if isinstance(organization, str) else organization.id
            )
            self._last_organizations[user_id] = org.id

    def _now(self) -> int:
        return int(self.issuer.clock())

    def sign_in(
        self,
        user: User | str,
        *,
        pending: bool = False,
        organization: Organization | str | None = None,
        client: Client | str | None = None,
    ) -> Session:
        """Sign a user in on a client (a new browser by default).

        Args:
            user: The user or its id.
            pending: Leave the "choose an organization" task open: the session
                is ``pending`` until ``set_active_organization`` completes it.
            organization: Make this organization active (adding an ``admin``
                membership if the user has none).
            client: The browser (``Client`` or its id or token); a new one by default.

        Returns:
            The new session, now the client's active session.

        Raises:
            KeyError: No such user, organization or client.
            ValueError: Both ``pending`` and ``organization`` are given.
        """
        if pending and organization is not None:
            raise ValueError("a pending session has no active organization yet")
        with self._lock:
            user_id = self.user(user if isinstance(user, str) else user.id).id
            org_id: str | None = None
            if organization is not None:
                org_id = self.organization(
                    organization if isinstance(organization, str) else organization.id
                ).id
                if (user_id, org_id) not in self._memberships:
                    self.add_membership(user_id, org_id)
                self._last_organizations[user_id] = org_id
            if client is None:
                found = Client(f"client_{secrets.token_hex(12)}", secrets.token_urlsafe(24))
            else:
                found = self.client(client if isinstance(client, str) else client.id)
            session = Session(
                id=f"sess_{secrets.token_hex(12)}",
                user_id=user_id,
                client_id=found.id,
                status="pending" if pending else "active",
                organization_id=org_id,
                refresh_token=secrets.token_urlsafe(32),
                tasks=(CHOOSE_ORGANIZATION,) if pending else (),
            )
            self._sessions[session.id] = session
            self._last_sign_in[user_id] = self._now_ms()
            self._clients[found.id] = replace(
                found,
                session_ids=(*found.session_ids, session.id),
                last_active_session_id=session.id,
                updated_at=self._now(),
            )
            return session

    def sign_out(self, client: Client | str) -> Client:
        """End every session of a client.

        Args:
            client: The client, its id or its token.

        Returns:
            The client, now signed out.

        Raises:
            KeyError: No such client.
        """
        with self._lock:
            found = self.client(client if isinstance(client, str) else client.id)
            for sid in found.session_ids:
                self._sessions[sid] = replace(self._sessions[sid], status="ended", tasks=())
            updated = replace(found, last_active_session_id=None, updated_at=self._now())
            self._clients[found.id] = updated
            return updated

    def end_session(self, session: Session | str) -> Session:
        """End (revoke) one session.

        Args:
            session: The session or its id.

        Returns:
            The ended session.

        Raises:
            KeyError: No such session.
        """
        with self._lock:
            ended = replace(self.session(session), status="ended", tasks=())
            self._sessions[ended.id] = ended
            found = self._clients[ended.client_id]
            if found.last_active_session_id == ended.id:
                self._clients[found.id] = replace(
                    found, last_active_session_id=None, updated_at=self._now()
                )
            return ended

    def set_active_organization(
        self, session: Session | str, organization: Organization | str | None
    ) -> Session:
        """Switch a session's active organization; this completes a pending session's task.

        Args:
            session: The session or its id.
            organization: The organization (id, slug or object), or None for the
                personal account.

        Returns:
            The updated session (``active`` once an organization is chosen).

        Raises:
            KeyError: No such session or organization.
            ValueError: The session has ended, or its user is not a member.
        """
        with self._lock:
            current = self.session(session)
            if current.status == "ended":
                raise ValueError(f"session {current.id} has ended")
            org_id: str | None = None
            if organization is not None:
                org_id = self.organization(
                    organization if isinstance(organization, str) else organization.id
                ).id
                if (current.user_id, org_id) not in self._memberships:
                    raise ValueError(f"user {current.user_id} is not a member of {org_id}")
            updated = replace(current, organization_id=org_id)
            if org_id is not None:
                self._last_organizations[current.user_id] = org_id
            if org_id is not None and current.status == "pending":
                updated = replace(updated, status="active", tasks=())
            self._sessions[updated.id] = updated
            return updated

    def session(self, session: Session | str) -> Session:
        """A session (as it is now) by id.

        Args:
            session: The session or its id.

        Returns:
            The session.

        Raises:
            KeyError: No such session.
        """
        with self._lock:
            return self._sessions[session if isinstance(session, str) else session.id]

    def client(self, id_or_token: str) -> Client:
        """A client by id or by its ``__client`` cookie value.

        Args:
            id_or_token: ``client_...`` or the cookie value.

        Returns:
            The client.

        Raises:
            KeyError: No such client.
        """
        with self._lock:
            if id_or_token in self._clients:
                return self._clients[id_or_token]
            for found in self._clients.values():
                if hmac.compare_digest(found.token, id_or_token):
                    return found
        raise KeyError("no such client")

    def client_from_cookies(self, cookies: Mapping[str, str]) -> Client | None:
        """The client named by a request's ``__client`` cookie, if any.

        Args:
            cookies: The request's cookies (``InstanceRequest.cookies``).

        Returns:
            The client, or None.
        """
        token = cookies.get(CLIENT_COOKIE)
        if not token:
            return None
        with contextlib.suppress(KeyError):
            return self.client(token)
        return None

    def dev_browser_client(self, dev_browser: str) -> Client:
        """The client a development browser (``__clerk_db_jwt``) stands for.

        A sign-in page of a development instance uses it to sign in the browser
        that the app's handshakes name; an unknown or unbound dev browser gets
        a new client.

        Args:
            dev_browser: The ``__clerk_db_jwt`` value.

        Returns:
            The client, now bound to ``dev_browser``.
        """
        with self._lock:
            client_id = self._dev_browsers.get(dev_browser)
            found = self._clients.get(client_id) if client_id else None
            if found is None:
                found = Client(f"client_{secrets.token_hex(12)}", secrets.token_urlsafe(24))
                self._clients[found.id] = found
                self._dev_browsers[dev_browser] = found.id
            return found

    def active_session(self, client: Client | str) -> Session | None:
        """The client's current session (active or pending), if signed in.

        Args:
            client: The client, its id or token.

        Returns:
            The session, or None.
        """
        with self._lock:
            found = self.client(client if isinstance(client, str) else client.id)
            sid = found.last_active_session_id
            session = self._sessions.get(sid) if sid else None
            return session if session is not None and session.status != "ended" else None

    # -- tokens and cookies

    def session_token(
        self, session: Session | str, *, azp: str | None = None, **claims: Any
    ) -> str:
        """Mint a session token for a session as it is now, with the current key.

        Args:
            session: The session or its id.
            azp: The ``azp`` claim (the app's origin); omitted when None.
            **claims: Further arguments of ``TestIssuer.session_claims``
                (``issued_at``, ``lifetime``, ``extra``, ``fva``...).

        Returns:
            The signed JWT.

        Raises:
            KeyError: No such session.
            ValueError: The session has ended.
        """
        with self._lock:
            current = self.session(session)
            if current.status == "ended":
                raise ValueError(f"session {current.id} has ended")
            org: OrgClaims | None = None
            features: str | None = None
            if current.organization_id is not None:
                found = self._organizations[current.organization_id]
                membership = self._memberships.get((current.user_id, found.id))
                role = membership.role if membership else "member"
                fea, names, fpm = _v2_permissions(membership.permissions if membership else ())
                org = OrgClaims(found.id, found.slug, role, names, fpm)
                features = fea
            signer = self._signers[-1]
        values: dict[str, Any] = {
            "session_id": current.id,
            "status": current.status,
            "org": org,
            "features": features,
            "azp": azp,
            "lifetime": self.token_lifetime,
        }
        values.update(claims)
        return signer.session_token(current.user_id, **values)

    def session_cookies(
        self,
        session: Session | str | None,
        *,
        suffixed: bool = False,
        secure: bool = False,
        azp: str | None = None,
    ) -> list[str]:
        """The app-side Set-Cookie directives for a session (or for signing out).

        Args:
            session: The session (a fresh token is minted), or None to clear
                the session cookies of a signed-out browser.
            suffixed: Also set the ``_<suffix>`` variants.
            secure: Add ``Secure`` (for https apps).
            azp: The token's ``azp`` (the app's origin).

        Returns:
            ``__session``, ``__client_uat`` and ``__refresh_<suffix>`` directives.

        Raises:
            KeyError: No such session.
            ValueError: The session has ended.
        """
        attributes = "; Path=/; SameSite=Lax" + ("; Secure" if secure else "")
        if session is None:
            values = [
                ("__session", "", "; Max-Age=0"),
                ("__client_uat", "0", f"; Max-Age={TEN_YEARS}"),
            ]
            refresh = ("", "; HttpOnly; Max-Age=0")
        else:
            current = self.session(session)
            token = self.session_token(current, azp=azp)
            uat = str(self._clients[current.client_id].updated_at)
            values = [("__session", token, ""), ("__client_uat", uat, f"; Max-Age={TEN_YEARS}")]
            refresh = (current.refresh_token, f"; HttpOnly; Max-Age={TEN_YEARS}")
        directives: list[str] = []
        for name, value, extra in values:
            directives.append(f"{name}={value}{attributes}{extra}")
            if suffixed:
                directives.append(f"{name}_{self._suffix}={value}{attributes}{extra}")
        directives.append(f"__refresh_{self._suffix}={refresh[0]}{attributes}{refresh[1]}")
        return directives

    def client_cookie(self, client: Client | str | None) -> str:
        """The Set-Cookie directive that names a browser on the instance's origin.

        Args:
            client: The client (id, token or object), or None to clear the cookie.

        Returns:
            A ``__client=...`` directive.

        Raises:
            KeyError: No such client.
        """
        if client is None:
            return f"{CLIENT_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        found = self.client(client if isinstance(client, str) else client.id)
        return f"{CLIENT_COOKIE}={found.token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={TEN_YEARS}"

    # -- machine tokens

    def _now_ms(self) -> int:
        return int(self.issuer.clock() * 1000)

    def _expiration(
        self, now_ms: int, expires_in: float | None, expiration: int | None
    ) -> int | None:
        if expiration is not None:
            return expiration
        return None if expires_in is None else now_ms + int(expires_in * 1000)

    def create_api_key(
        self,
        subject: str = "user_test",
        *,
        name: str = "key",
        scopes: Sequence[str] = (),
        claims: Mapping[str, Any] | None = None,
        expires_in: float | None = None,
        expiration: int | None = None,
        description: str | None = None,
    ) -> ApiKey:
        """Create an API key; its ``secret`` verifies at ``POST /api_keys/verify``.

        Args:
            subject: Whom it stands for: a user (``user_...``) or an organization (``org_...``).
            name: Its name.
            scopes: Its scopes.
            claims: Custom claims.
            expires_in: Seconds until it expires (by the issuer's clock); None: never.
            expiration: When it expires, in Unix milliseconds, instead of ``expires_in``
                (in the past: an expired key).
            description: Its description.

        Returns:
            The key.
        """
        now = self._now_ms()
        key = ApiKey(
            id=f"ak_{secrets.token_hex(12)}",
            secret=f"ak_{secrets.token_urlsafe(32)}",
            subject=subject,
            name=name,
            scopes=tuple(scopes),
            claims=dict(claims) if claims is not None else None,
            created_at=now,
            expiration=self._expiration(now, expires_in, expiration),
            description=description,
        )
        with self._lock:
            self._api_keys[key.id] = key
            self._by_secret[key.secret] = key.id
        return key

    def revoke_api_key(self, id_or_secret: str, *, reason: str | None = None) -> ApiKey:
        """Revoke an API key: the next verification answers 404.

        Args:
            id_or_secret: The key's id or secret.
            reason: The revocation reason.

        Returns:
            The revoked key.

        Raises:
            KeyError: No such key.
        """
        with self._lock:
            key_id = self._machine_id_of(id_or_secret, self._api_keys)
            key = replace(self._api_keys[key_id], revoked=True, revocation_reason=reason)
            self._api_keys[key_id] = key
            return key

    def create_m2m_token(
        self,
        machine_id: str = "mch_test",
        *,
        scopes: Sequence[str] = (),
        claims: Mapping[str, Any] | None = None,
        expires_in: float | None = 3600,
        expiration: int | None = None,
        jwt: bool = False,
    ) -> M2MToken:
        """Create an M2M token for a machine.

        Args:
            machine_id: The machine (``mch_...``): the token's subject.
            scopes: The machines it may call (``mch_...``).
            claims: Custom claims.
            expires_in: Seconds until it expires (by the issuer's clock); None:
                never (opaque tokens only).
            expiration: When it expires, in Unix milliseconds, instead of ``expires_in``.
            jwt: Mint the JWT form, signed with the instance's current key (header
                ``cat`` ``cl_B7d4PD333AAA``), which verifiers check without the
                instance; otherwise an opaque ``mt_...`` that verifies at
                ``POST /m2m_tokens/verify``.

        Returns:
            The token.

        Raises:
            ValueError: ``jwt`` without an expiry.
        """
        now = self._now_ms()
        expires = self._expiration(now, expires_in, expiration)
        token_id = f"mt_{secrets.token_hex(16)}"
        if jwt:
            if expires is None:
                raise ValueError("an M2M JWT needs an expiry (its exp claim)")
            # A JWT dates in whole seconds; the record says what its claims say.
            now, expires = now // 1000 * 1000, expires // 1000 * 1000
            text = self.signer.m2m_jwt(
                machine_id,
                scopes=scopes,
                claims=claims,
                jti=token_id,
                issued_at=now // 1000,
                exp=expires // 1000,
            )
        else:
            text = f"mt_{secrets.token_urlsafe(32)}"
        token = M2MToken(
            id=token_id,
            token=text,
            machine_id=machine_id,
            scopes=tuple(scopes),
            claims=dict(claims) if claims is not None else None,
            created_at=now,
            expiration=expires,
            jwt=jwt,
        )
        with self._lock:
            self._m2m_tokens[token.id] = token
            self._by_secret[token.token] = token.id
        return token

    def revoke_m2m_token(self, id_or_token: str, *, reason: str | None = None) -> M2MToken:
        """Revoke an M2M token: the next verification of its opaque form answers 404.

        Args:
            id_or_token: The token's id or the token itself.
            reason: The revocation reason.

        Returns:
            The revoked token.

        Raises:
            KeyError: No such token.
        """
        with self._lock:
            token_id = self._machine_id_of(id_or_token, self._m2m_tokens)
            token = replace(self._m2m_tokens[token_id], revoked=True, revocation_reason=reason)
            self._m2m_tokens[token_id] = token
            return token

    def create_oauth_token(
        self,
        user_id: str = "user_test",
        *,
        client_id: str = "client_test",
        scopes: Sequence[str] = (),
        audience: str | Sequence[str] | None = None,
        expires_in: float | None = 3600,
        expiration: int | None = None,
        jwt: bool = False,
    ) -> OAuthToken:
        """Issue an OAuth access token to an OAuth application on a user's behalf.

        Args:
            user_id: The user who authorized the application: the token's subject.
            client_id: The application's client id.
            scopes: The granted scopes.
            audience: ``aud``: one audience or several.
            expires_in: Seconds until it expires (by the issuer's clock); None:
                never (opaque tokens only).
            expiration: When it expires, in Unix milliseconds, instead of ``expires_in``.
            jwt: Mint the JWT form (header ``typ`` ``at+jwt``), signed with the
                instance's current key; otherwise an opaque ``oat_...`` that
                verifies at ``POST /oauth_applications/access_tokens/verify``.

        Returns:
            The token.

        Raises:
            ValueError: ``jwt`` without an expiry.
        """
        now = self._now_ms()
        expires = self._expiration(now, expires_in, expiration)
        token_id = f"oat_{secrets.token_hex(16)}"
        audiences = None
        if audience is not None:
            audiences = (audience,) if isinstance(audience, str) else tuple(audience)
        if jwt:
            if expires is None:
                raise ValueError("an OAuth JWT needs an expiry (its exp claim)")
            # A JWT dates in whole seconds; the record says what its claims say.
            now, expires = now // 1000 * 1000, expires // 1000 * 1000
            text = self.signer.oauth_jwt(
                user_id,
                client_id=client_id,
                scopes=scopes,
                audience=audience,
                jti=token_id,
                issued_at=now // 1000,
                exp=expires // 1000,
            )
        else:
            text = f"oat_{secrets.token_urlsafe(32)}"
        token = OAuthToken(
            id=token_id,
            token=text,
            user_id=user_id,
            client_id=client_id,
            scopes=tuple(scopes),
            audience=audiences,
            created_at=now,
            expiration=expires,
            jwt=jwt,
        )
        with self._lock:
            self._oauth_tokens[token.id] = token
            self._by_secret[token.token] = token.id
        return token

    def revoke_oauth_token(self, id_or_token: str, *, reason: str | None = None) -> OAuthToken:
        """Revoke an OAuth access token: the next verification of its opaque form answers 404.

        Args:
            id_or_token: The token's id or the token itself.
            reason: The revocation reason.

        Returns:
            The revoked token.

        Raises:
            KeyError: No such token.
        """
        with self._lock:
            token_id = self._machine_id_of(id_or_token, self._oauth_tokens)
            token = replace(self._oauth_tokens[token_id], revoked=True, revocation_reason=reason)
            self._oauth_tokens[token_id] = token
            return token

    def _machine_id_of(self, id_or_secret: str, store: Mapping[str, object]) -> str:
        if id_or_secret in store:
            return id_or_secret
        found = self._by_secret.get(id_or_secret)
        if found is None or found not in store:
            # Never the value itself: it may be a credential.
            raise KeyError("no such token")
        return found

    # -- the endpoints

    def _authorized(self, request: InstanceRequest) -> bool:
        expected = f"Bearer {self.secret_key}".encode()
        return hmac.compare_digest(request.headers.get("authorization", "").encode(), expected)

    def _serve_jwks(self, request: InstanceRequest) -> InstanceResponse:
        if not self._authorized(request):
            return clerk_error(401, "clerk_key_invalid", KEY_REJECTED_MESSAGE)
        return InstanceResponse.json(self.jwks())

    def _serve_handshake_payload(self, request: InstanceRequest) -> InstanceResponse:
        if not self._authorized(request):
            return clerk_error(401, "clerk_key_invalid", KEY_REJECTED_MESSAGE)
        nonce = request.query.get("nonce", "")
        with self._lock:
            entry = self._nonces.get(nonce)
        if entry is None or entry[0] < time.monotonic():
            return clerk_error(404, "resource_not_found", "No handshake payload for this nonce.")
        return InstanceResponse.json({"directives": list(entry[1])})

    def _serve_refresh(self, request: InstanceRequest) -> InstanceResponse:
        if not self._authorized(request):
            return clerk_error(401, "clerk_key_invalid", KEY_REJECTED_MESSAGE)
        match = _REFRESH_PATH.fullmatch(request.path)
        sid = unquote(match.group(1)) if match else ""
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return clerk_error(400, "form_param_missing", "A JSON body is required.")
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return clerk_error(404, "resource_not_found", f"No session {sid!r}.")
            if session.status == "ended":
                return clerk_error(400, "session_not_active", "The session has ended.")
            if not hmac.compare_digest(
                str(body.get("refresh_token", "")).encode(), session.refresh_token.encode()
            ):
                return clerk_error(401, "refresh_token_invalid", "The refresh token is invalid.")
            if not self._is_expired_token_of(str(body.get("expired_token", "")), session):
                return clerk_error(
                    400, "expired_token_invalid", "The expired token is not this session's."
                )
            origin = body.get("request_origin")
            suffixed = request.query.get("suffixed_cookies") == "true"
            directives = self.session_cookies(
                session,
                suffixed=suffixed,
                secure=isinstance(origin, str) and origin.startswith("https:"),
                azp=origin if isinstance(origin, str) and origin else None,
            )
        # A refresh renews the session token; the refresh token itself stays.
        cookies = [d for d in directives if not d.startswith("__refresh_")]
        return InstanceResponse.json({"object": "cookies", "cookies": cookies})

    def _is_expired_token_of(self, token: str, session: Session) -> bool:
        try:
            header = jwt.get_unverified_header(token)
            key = self._public_key(header.get("kid"))
            if key is None:
                return False
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256", "RS384", "RS512"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return False
        return bool(claims.get("sid") == session.id and claims.get("sub") == session.user_id)

    def create_jwt_template(
        self, name: str, claims: Mapping[str, Any] | None = None, *, lifetime: int = 60
    ) -> JwtTemplate:
        """Add (or replace) a JWT template, for ``get_token(template=name)``.

        Args:
            name: The template's name.
            claims: Its custom claims (see ``JwtTemplate`` for shortcodes).
            lifetime: Seconds its tokens live.

        Returns:
            The template.
        """
        template = JwtTemplate(name, dict(claims or {}), lifetime)
        with self._lock:
            self._templates[name] = template
        return template

    def _serve_user(self, request: InstanceRequest) -> InstanceResponse:
        if not self._authorized(request):
            return clerk_error(401, "clerk_key_invalid", KEY_REJECTED_MESSAGE)
        match = _USER_PATH.fullmatch(request.path)
        user_id = unquote(match.group(1)) if match else ""
        with self._lock:
            user = self._users.get(user_id)
            last_sign_in = self._last_sign_in.get(user_id)
        if user is None:
            return clerk_error(404, "resource_not_found", f"No user {user_id!r}.")
        return InstanceResponse.json(_user_json(user, last_sign_in))

    def _serve_session_token(self, request: InstanceRequest) -> InstanceResponse:
        if not self._authorized(request):
            return clerk_error(401, "clerk_key_invalid", KEY_REJECTED_MESSAGE)
        match = _TOKEN_PATH.fullmatch(request.path)
        sid = unquote(match.group(1)) if match else ""
        name = unquote(match.group(2)) if match and match.group(2) else None
        body: Any = {}
        if request.body:
            try:
                body = request.json()
            except ValueError:
                body = None
        lifetime = body.get("expires_in_seconds") if isinstance(body, dict) else None
        if not isinstance(body, dict) or (
            lifetime is not None and (not isinstance(lifetime, int) or lifetime <= 0)
        ):
            return clerk_error(422, "form_param_format_invalid", "expires_in_seconds is invalid.")
        with self._lock:
            session = self._sessions.get(sid)
            template = self._templates.get(name) if name is not None else None
            user = self._users.get(session.user_id) if session is not None else None
        if session is None:
            return clerk_error(404, "resource_not_found", f"No session {sid!r}.")
        if session.status == "ended":
            return clerk_error(400, "session_not_active", "The session has ended.")
        if name is not None and template is None:
            return clerk_error(404, "resource_not_found", f"No JWT template {name!r}.")
        if template is None:
            jwt_text = self.session_token(
                session, lifetime=lifetime if lifetime is not None else self.token_lifetime
            )
        else:
            jwt_text = self._template_token(template, session, user, lifetime)
        return InstanceResponse.json({"object": "token", "jwt": jwt_text})

    def _template_token(
        self, template: JwtTemplate, session: Session, user: User | None, lifetime: int | None
    ) -> str:
        now = int(self._now_ms() // 1000)
        values: dict[str, Any] = {
            "user.id": session.user_id,
            "user.first_name": user.first_name if user else None,
            "user.last_name": user.last_name if user else None,
            "user.primary_email_address": user.email_address if user else None,
            "user.username": user.username if user else None,
            "user.public_metadata": dict(user.public_metadata) if user else {},
            "user.external_id": user.external_id if user else None,
        }
        claims: dict[str, Any] = {}
        for key, value in template.claims.items():
            code = _shortcode(value)
            claims[key] = values[code] if code is not None else value
        claims.update(
            {
                "iss": self.issuer.issuer,
                "sub": session.user_id,
                "azp": self.url,
                "iat": now,
                "nbf": now - 5,
                "exp": now + (lifetime if lifetime is not None else template.lifetime),
                "jti": secrets.token_hex(10),
            }
        )
        with self._lock:
            signer = self._signers[-1]
        return signer.sign(claims)

    def _serve_machine_verify(self, request: InstanceRequest) -> InstanceResponse:
        name, field_name = _MACHINE_PATHS[request.path]
        sent = request.headers.get("authorization", "").encode()
        accepted = [f"Bearer {self.secret_key}"]
        if name == "m2m_token_verify":
            accepted.append(f"Bearer {self._machine_secret_key}")
        # Every candidate is compared, so timing does not tell which one matched.
        matches = [hmac.compare_digest(sent, key.encode()) for key in accepted]
        if not any(matches):
            return clerk_error(401, "clerk_key_invalid", KEY_REJECTED_MESSAGE)
        try:
            body = request.json()
        except ValueError:
            body = None
        value = body.get(field_name) if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            return clerk_error(422, "form_param_missing", f"{field_name} is required.")
        now = self._now_ms()
        with self._lock:
            token_id = self._by_secret.get(value, "")
            resource: dict[str, Any] | None = None
            if name == "api_key_verify" and token_id in self._api_keys:
                key = self._api_keys[token_id]
                if not key.revoked and not _expired(key.expiration, now):
                    resource = _api_key_json(key, now)
            elif name == "m2m_token_verify" and token_id in self._m2m_tokens:
                m2m = self._m2m_tokens[token_id]
                if not m2m.revoked and not _expired(m2m.expiration, now):
                    resource = _m2m_json(m2m, now)
            elif name == "oauth_token_verify" and token_id in self._oauth_tokens:
                oauth = self._oauth_tokens[token_id]
                if not oauth.revoked and not _expired(oauth.expiration, now):
                    resource = _oauth_json(oauth, now)
        if resource is None:
            return clerk_error(404, "resource_not_found", "Not found.")
        return InstanceResponse.json(resource)

    def _serve_handshake(self, request: InstanceRequest) -> InstanceResponse:
        redirect_url = request.query.get("redirect_url", "")
        parts = urlsplit(redirect_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return clerk_error(400, "form_param_missing", "redirect_url must be an absolute URL.")
        suffixed = request.query.get("suffixed_cookies") == "true"
        secure = parts.scheme == "https"
        directives: list[str] = []
        with self._lock:
            dev_browser = request.query.get("__clerk_db_jwt")
            client = self.client_from_cookies(request.cookies)
            if client is None and dev_browser and self._dev_browsers.get(dev_browser):
                client = self._clients.get(self._dev_browsers[dev_browser] or "")
            if self.development:
                if not dev_browser or dev_browser not in self._dev_browsers:
                    dev_browser = f"dvb_{secrets.token_hex(16)}"
                    attrs = "; Path=/; SameSite=Lax" + ("; Secure" if secure else "")
                    directives.append(f"__clerk_db_jwt={dev_browser}{attrs}")
                    if suffixed:
                        directives.append(f"__clerk_db_jwt_{self._suffix}={dev_browser}{attrs}")
                self._dev_browsers[dev_browser] = client.id if client else None
            session = self.active_session(client) if client is not None else None
            if (
                session is not None
                and session.status == "active"
                and ("organization_id" in request.query)
            ):
                session = self._sync_organization(session, request.query["organization_id"])
            directives += self.session_cookies(
                session, suffixed=suffixed, secure=secure, azp=_origin(redirect_url)
            )
            if request.query.get("format") == "nonce":
                nonce = secrets.token_urlsafe(24)
                self._store_nonce(nonce, directives)
                location = with_param(redirect_url, "__clerk_handshake_nonce", nonce)
            else:
                token = self.signer.handshake_token(directives)
                location = with_param(redirect_url, "__clerk_handshake", token)
        return InstanceResponse.redirect(location)

    def _sync_organization(self, session: Session, wanted: str) -> Session:
        if not wanted:
            return self.set_active_organization(session, None)
        try:
            org = self.organization(wanted)
        except KeyError:
            return session
        if (session.user_id, org.id) not in self._memberships:
            return session
        return self.set_active_organization(session, org)

    def _store_nonce(self, nonce: str, directives: Sequence[str]) -> None:
        now = time.monotonic()
        if len(self._nonces) >= MAX_NONCES:
            for old in [n for n, (expires, _) in self._nonces.items() if expires < now]:
                del self._nonces[old]
            while len(self._nonces) >= MAX_NONCES:
                del self._nonces[next(iter(self._nonces))]
        self._nonces[nonce] = (now + NONCE_LIFETIME, tuple(directives))

    # -- HTTP plumbing

    def _handle(self, handler: _Handler) -> None:
        request = handler.read_request()
        if request is None:
            return
        name, route = self._route(request)
        with self._lock:
            self._counts[name] += 1
            self._log.append((name, request))
        fault = self._take_fault(name)
        if isinstance(fault, ConnectionReset):
            handler.reset()
            return
        if isinstance(fault, Delay) and self._closing.wait(fault.seconds):
            handler.close_connection = True
            return
        if isinstance(fault, CannedResponse):
            body = fault.body
            if body is None:
                body = clerk_error(fault.status, fault.code, "Injected fault.").body
            handler.respond(InstanceResponse(fault.status, body, fault.content_type))
            return
        if isinstance(fault, MalformedBody):
            handler.respond(InstanceResponse(200, b'{"keys": [{"kty": "RSA", ', "application/json"))
            return
        if route is None:
            response = clerk_error(404, "resource_not_found", "Not found.")
        else:
            try:
                response = route(request)
            except Exception:
                logger.exception("local instance: %s %s failed", request.method, request.path)
                response = clerk_error(500, "internal_clerk_error", "The handler failed.")
        if isinstance(fault, SlowBody):
            handler.respond(response, drip=fault.interval, closing=self._closing)
        else:
            handler.respond(response)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], instance: LocalInstance) -> None:
        self.instance = instance
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("local instance: connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "clerk-local-instance"

    def do_GET(self) -> None:
        cast(_Server, self.server).instance._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("local instance: " + format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path only: query strings carry nonces and handshake tokens.
        path = urlsplit(self.path).path
        logger.debug("local instance: %s %s -> %s", self.command, path, code)

    def read_request(self) -> InstanceRequest | None:
        length_text = self.headers.get("content-length", "0") or "0"
        length = int(length_text) if length_text.isdigit() else -1
        if length < 0 or length > MAX_BODY:
            self.respond(clerk_error(413, "request_too_large", "Request body too large."))
            return None
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        query: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(name, value)
        return InstanceRequest(
            method=self.command.upper(),
            path=parts.path,
            query=query,
            headers=headers,
            cookies=parse_cookie_header(headers.get("cookie", "")),
            body=body,
        )

    def respond(
        self,
        response: InstanceResponse,
        *,
        drip: float | None = None,
        closing: threading.Event | None = None,
    ) -> None:
        self.close_connection = True
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Connection", "close")
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command == "HEAD":
                return
            if drip is None:
                self.wfile.write(response.body)
                return
            self.wfile.flush()
            for index in range(len(response.body)):
                if closing is not None and closing.wait(drip):
                    return
                self.wfile.write(response.body[index : index + 1])
        except OSError:
            pass  # the client gave up (a timeout on its side): nothing to answer

    def reset(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
