"""``ClerkTestKit``: configure an app for tests and make requests in any auth state.

Two kits share one interface:

- ``ClerkTestKit(issuer)`` verifies networklessly (``jwt_key``) and mints
  tokens with a ``TestIssuer``: fast, no server.
- ``LocalClerkTestKit(instance)`` points the app at a running ``LocalInstance``
  (remote JWKS, handshakes, refresh and its sign-in pages) and makes real
  users, organizations and sessions there.

Each state is one call returning ``AuthHeaders``, a ``dict`` of request headers
that every test client takes as ``headers=``, with its default settings::

    client.get("/dashboard", headers=clerk.signed_in())
    client.get("/dashboard", headers=clerk.pending(page=True))      # -> 307 to the task
    client.get("/admin", headers=clerk.org_member(role="admin"))
    client.get("/", headers=clerk.signed_out())

A session travels as ``Authorization: Bearer <token>``. Every test client
sends that header as given, while some replace a ``Cookie`` header with their
own cookie jar (werkzeug's, so Flask's ``test_client()``, always does), and
Clerk reads a token in the header before any cookie: the request is in the
state asked for whatever the client's jar holds. ``signed_out()`` sends what a
signed-out browser has, its cookies (``__client_uat=0`` and, for a development
instance, the dev browser ``__clerk_db_jwt``). ``bearer=False`` sends a session
as a browser's cookies too (``__session``, ``__client_uat``, the dev browser),
for what only cookie sessions do (handshakes, refresh, satellite and
organization sync); ``ClerkTestKit.set_cookies(client, state)`` puts a state's
cookies into a client's jar, for clients that keep one.

``page=True`` makes it a browser navigation (``sec-fetch-dest: document``,
``Accept: text/html``), which is what turns ``protect()``'s answer for
signed-out and pending users from a 404 into a redirect.

Machine tokens travel as ``Authorization: Bearer`` too (Clerk reads them only
there): ``m2m()`` and ``oauth()`` send the JWT forms, which the app verifies
like a session token; over a ``LocalInstance`` they are created on the
instance, ``opaque=True`` sends the opaque ``mt_``/``oat_`` forms (verified
by the instance's Backend API), and ``api_key()`` an API key::

    client.get("/api/jobs", headers=clerk.m2m("mch_worker", scopes=["mch_api"]))
    client.get("/api/me", headers=clerk_local.api_key("user_2abc", scopes=["read"]))

The app accepts them only where its ``accepts_token`` names their type.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from http.cookies import BaseCookie
from types import FunctionType, MethodType, ModuleType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from clerk_middleware.core import ClerkOptions
from clerk_middleware.core._options import _ENV_VARS

from ._issuer import OrgClaims, TestIssuer

if TYPE_CHECKING:
    from ._instance import LocalInstance, Organization, Session

__all__ = ["PAGE_HEADERS", "AuthHeaders", "ClerkTestKit", "LocalClerkTestKit"]

AppT = TypeVar("AppT")
ClientT = TypeVar("ClientT")

#: What a browser navigation sends: ``protect()`` redirects these instead of a 404.
PAGE_HEADERS: Mapping[str, str] = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "sec-fetch-dest": "document",
}
DEFAULT_USER = "user_test"
DEFAULT_ORG = "org_test"
DEFAULT_MACHINE = "mch_test"
DEFAULT_CLIENT = "client_test"
_NO_OPAQUE = (
    "opaque {kind} tokens are verified by a Backend API: use LocalClerkTestKit "
    "(the clerk_local fixture), or the JWT form (opaque=False)"
)
_DEV_BROWSER = "dvb_test_browser"
#: Clerk's cookies, which a browser in one state holds: each may carry the instance suffix.
_SUFFIXABLE = ("__session", "__client_uat", "__clerk_db_jwt", "__refresh")
_HANDSHAKE = ("__clerk_handshake", "__clerk_handshake_nonce", "__clerk_redirect_count")
#: How many objects ``configure`` looks at: apps and their middleware, not their data.
_MAX_NODES = 10_000
#: The attributes where applications and middleware keep what they wrap or mount.
_WRAPPED = (
    "app",
    "wsgi_app",
    "asgi_app",
    "application",
    "get_response",
    "middleware_stack",
    "user_middleware",
    "middleware",
    "routes",
    "extensions",
    "kwargs",
    "_middleware_chain",  # a Django handler's loaded middleware
)


class AuthHeaders(dict[str, str]):
    """Request headers that put a request in one auth state, and whom that state names.

    A ``dict``: pass it as ``headers=`` to any test client (Flask's, werkzeug's,
    Starlette's or FastAPI's ``TestClient``, httpx, Django's), with its
    default settings.

    Attributes:
        user_id: The signed-in (or pending) user, or None when signed out; for
            machine tokens, the user an OAuth token or a user's API key stands for.
        session_id: The session, or None.
        org_id: The active organization, or None; for an organization's API key,
            the organization.
        token: The session or machine token, or None.
        cookies: The Clerk cookies of a browser in this state, by name: what
            ``bearer=False`` sends and ``ClerkTestKit.set_cookies`` puts into a
            client's cookie jar.
        token_type: ``"session_token"``, ``"api_key"``, ``"m2m_token"`` or
            ``"oauth_token"``; None for a signed-out browser.
        machine_id: The machine an M2M token stands for, or None.
    """

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        org_id: str | None = None,
        token: str | None = None,
        cookies: Mapping[str, str] | None = None,
        token_type: str | None = None,
        machine_id: str | None = None,
    ) -> None:
        super().__init__(headers)
        self.user_id = user_id
        self.session_id = session_id
        self.org_id = org_id
        self.token = token
        self.cookies: dict[str, str] = dict(cookies or {})
        if token_type is None and token is not None:
            token_type = "session_token"  # noqa: S105 - a token type
        self.token_type = token_type
        self.machine_id = machine_id


@dataclass(frozen=True, slots=True)
class _Wanted:
    """The session a request should carry."""

    user_id: str
    status: str = "active"
    org_id: str | None = None
    org_slug: str | None = None
    role: str = "admin"
    permissions: Sequence[str] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.org_slug or (self.org_id or "").removeprefix("org_").replace("_", "-")


def _v2_org(
    org_id: str, slug: str, role: str, permissions: Sequence[str]
) -> tuple[OrgClaims, str | None]:
    """The v2 ``o`` claim and the ``fea`` claim for ``org:<feature>:<permission>`` keys."""
    features: list[str] = []
    names: list[str] = []
    grants: set[tuple[str, str]] = set()
    for key in permissions:
        parts = key.split(":")
        if len(parts) != 3 or parts[0] != "org":
            raise ValueError(f"permission {key!r} is not of the form 'org:<feature>:<permission>'")
        _, feature, name = parts
        if feature not in features:
            features.append(feature)
        if name not in names:
            names.append(name)
        grants.add((feature, name))
    fpm = tuple(
        sum(1 << names.index(name) for f, name in grants if f == feature) for feature in features
    )
    fea = ",".join(f"o:{feature}" for feature in features) or None
    return OrgClaims(org_id, slug, role.removeprefix("org:"), tuple(names), fpm), fea


def _children(node: object) -> Iterator[object]:
    """What ``node`` wraps, mounts or closes over (no framework is imported to know it).

    ``type()`` rather than ``isinstance`` and guarded attribute reads: a
    context-bound proxy (werkzeug's ``LocalProxy``) raises on both outside a
    request.
    """
    kind = type(node)
    if issubclass(kind, Mapping):
        yield from cast("Mapping[object, object]", node).values()
    elif issubclass(kind, list | tuple | set | frozenset):
        yield from cast("Iterable[object]", node)
    elif issubclass(kind, FunctionType):
        function = cast("FunctionType", node)
        for cell in function.__closure__ or ():
            with suppress(ValueError):  # an empty cell
                yield cell.cell_contents
        yield from _attributes(function, ("__wrapped__",))
    elif issubclass(kind, MethodType):
        yield cast("MethodType", node).__self__
    elif issubclass(kind, partial):
        part = cast("partial[object]", node)
        yield part.func
        yield from part.args
        yield from part.keywords.values()
    else:
        yield from _attributes(node, _WRAPPED)


def _attributes(node: object, names: Iterable[str]) -> Iterator[object]:
    for name in names:
        try:
            value = getattr(node, name)
        except Exception:  # noqa: S112 - a property that cannot answer wraps nothing
            continue
        yield value


def _opaque(node: object) -> bool:
    """Values that wrap no application."""
    return node is None or issubclass(
        type(node), str | bytes | int | float | complex | type | ModuleType | ClerkOptions
    )


def _install(node: object, options: ClerkOptions) -> bool:
    """Give ``node`` the kit's options where it holds ``ClerkOptions``; True if it did."""
    found = False
    if issubclass(type(node), MutableMapping):
        mapping = cast("MutableMapping[object, object]", node)
        for key, value in list(mapping.items()):
            if isinstance(value, ClerkOptions):  # e.g. a Starlette Middleware entry's kwargs
                mapping[key] = options
                found = True
        return found
    if issubclass(type(node), list):
        items = cast("list[object]", node)
        for index, value in enumerate(items):
            if isinstance(value, ClerkOptions):
                items[index] = options
                found = True
        return found
    try:
        held = getattr(node, "options", None)
    except Exception:
        return False
    if isinstance(held, ClerkOptions):  # the middleware itself, Flask's extension...
        try:
            node.options = options  # type: ignore[attr-defined]
        except (AttributeError, TypeError):
            return False
        return True
    return False


def _is_clerk_cookie(name: str, known: set[str]) -> bool:
    return name in known or name.startswith(tuple(f"{base}_" for base in _SUFFIXABLE))


class ClerkTestKit:
    """Configure apps for a ``TestIssuer`` and make requests in any auth state.

    Verification is networkless (the issuer's public key is the ``jwt_key``).

    Args:
        issuer: The instance whose tokens to mint.
        **overrides: Further ``ClerkOptions`` fields (``sign_in_url``, ``tasks_url``...).
    """

    __test__ = False  # not a test class

    def __init__(self, issuer: TestIssuer, **overrides: Any) -> None:
        self.issuer = issuer
        self.settings: dict[str, Any] = {
            "secret_key": issuer.secret_key,
            "publishable_key": issuer.publishable_key,
            "jwt_key": issuer.jwt_key,
            "clock": issuer.clock,
            **overrides,
        }
        ClerkOptions(**self.settings)  # a bad override fails here, not in the app

    # -- configuring apps

    @property
    def options(self) -> ClerkOptions:
        """``ClerkOptions`` for the app under test."""
        return ClerkOptions(**self.settings)

    @property
    def env(self) -> dict[str, str]:
        """The ``CLERK_*`` variables that configure an app built after they are set.

        The ``clerk`` fixture sets them, so ``clerk_middleware(handler)`` without
        options reads them. Options without a variable (``clock``,
        ``authorized_parties``...) reach only apps given ``settings`` or
        ``configure``: an app configured by the environment runs on the real
        clock, so use an issuer whose clock is the real one (the default).
        """
        env: dict[str, str] = {}
        for name, variable in _ENV_VARS.items():
            value = self.settings.get(name)
            if isinstance(value, bool):
                env[variable] = "true" if value else "false"
            elif value is not None:
                env[variable] = str(value)
        return env

    def configure(self, app: AppT) -> AppT:
        """Point every ``clerk_middleware`` already installed in ``app`` at this kit.

        For apps built at import time with other keys (or placeholders). It
        looks through what the app and its middleware wrap, mount or close over
        (``.app``, ``.wsgi_app``, ``.asgi_app``, ``.application``, routes and
        mounts, middleware lists, function wrappers), so it works on Flask and
        Starlette/FastAPI apps and on any WSGI or ASGI app wrapped by
        ``clerk_middleware``, also beneath other middleware, without knowing
        the framework.

        Args:
            app: The application.

        Returns:
            The same application.

        Raises:
            TypeError: No ``clerk_middleware`` was found in it.
        """
        options = self.options
        found = False
        seen: set[int] = set()
        queue: deque[object] = deque([app])
        while queue and len(seen) < _MAX_NODES:
            node = queue.popleft()
            if _opaque(node) or id(node) in seen:
                continue
            seen.add(id(node))
            found = _install(node, options) or found
            queue.extend(_children(node))
        if not found:
            raise TypeError(
                f"No clerk_middleware found in {app!r}: install it first (Flask: "
                "clerk_middleware(handler).init_app(app); Starlette/FastAPI: "
                "middleware=[clerk_middleware(handler)]; WSGI/ASGI: "
                "app = clerk_middleware(handler)(app)), or pass the app that holds it."
            )
        return app

    # -- requests

    def _headers(
        self,
        cookies: Mapping[str, str],
        token: str | None,
        *,
        page: bool,
        bearer: bool,
        **who: str | None,
    ) -> AuthHeaders:
        headers: dict[str, str] = dict(PAGE_HEADERS) if page else {}
        if bearer and token is not None:
            headers["authorization"] = f"Bearer {token}"
        elif cookies:
            headers["cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        return AuthHeaders(headers, token=token, cookies=cookies, **who)

    def set_cookies(
        self, client: ClientT, state: AuthHeaders, *, domain: str | None = None
    ) -> ClientT:
        """Put a state's cookies into a test client's cookie jar, as a browser in that state.

        For clients that send their own jar rather than a ``Cookie`` header
        given per request (werkzeug's, so Flask's ``test_client()``), and for
        what only a browser's cookies do: ``signed_out(page=True)`` on a
        development instance (a browser with a dev browser), handshakes and
        refresh. The Clerk cookies already in the jar (``__session``,
        ``__client_uat``, ``__clerk_db_jwt``, ``__refresh``, the handshake's, in
        any suffixed form) are replaced, so the jar holds exactly that state.
        Send the page headers yourself (``headers=PAGE_HEADERS``); a
        ``state`` with a token also works as ``headers=`` on its own.

        Works with werkzeug's ``Client`` (``FlaskClient``), with any client whose
        ``cookies`` is a mutable mapping (httpx and so Starlette's and
        FastAPI's ``TestClient``, requests, Django's ``SimpleCookie``), and
        with such a jar itself.

        Args:
            client: The test client (or its cookie jar).
            state: What ``signed_in()``, ``pending()``, ``org_member()`` or
                ``signed_out()`` returned.
            domain: The host the cookies are for. Default: werkzeug's default
                host, ``localhost``; any host for the other jars.

        Returns:
            The client.

        Raises:
            TypeError: The client keeps no cookie jar (werkzeug's
                ``use_cookies=False``: it sends the ``Cookie`` header it is
                given, so pass ``headers=`` a state made with ``bearer=False``).
        """
        set_cookie = getattr(client, "set_cookie", None)
        delete_cookie = getattr(client, "delete_cookie", None)
        if callable(set_cookie) and callable(delete_cookie):  # werkzeug
            host = domain or "localhost"
            try:
                for name in self._clerk_cookie_names(state.cookies):
                    delete_cookie(name, domain=host)
            except TypeError as exc:
                raise TypeError(
                    f"{client!r} keeps no cookies (use_cookies=False): it sends the Cookie "
                    "header it is given, so pass headers=clerk.signed_in(bearer=False) "
                    "(or another state with bearer=False) instead."
                ) from exc
            for name, value in state.cookies.items():
                set_cookie(name, value, domain=host)
            return client
        jar = client if isinstance(client, MutableMapping) else getattr(client, "cookies", None)
        if not isinstance(jar, MutableMapping):
            raise TypeError(
                f"{client!r} has no cookie jar this kit knows (werkzeug's set_cookie, or a "
                "mutable mapping as .cookies): send headers=clerk.signed_in(bearer=False) "
                "(or another state with bearer=False) instead."
            )
        cookie_jar = cast("MutableMapping[str, Any]", jar)
        clerk_names = set(self._clerk_cookie_names(()))
        for name in {key for key in cookie_jar if _is_clerk_cookie(str(key), clerk_names)}:
            del cookie_jar[name]
        for name, value in state.cookies.items():
            setter = getattr(cookie_jar, "set", None)
            if domain and callable(setter):  # httpx, requests
                setter(name, value, domain=domain)
                continue
            cookie_jar[name] = value
            if domain and isinstance(cookie_jar, BaseCookie):
                cookie_jar[name]["domain"] = domain
        return client

    def _clerk_cookie_names(self, extra: Iterable[str]) -> list[str]:
        """Clerk's cookie names for this instance: plain and suffixed, and ``extra``."""
        suffix = self.options.cookie_suffix
        names = [*_SUFFIXABLE, *(f"{name}_{suffix}" for name in _SUFFIXABLE), *_HANDSHAKE]
        return [*names, *(name for name in extra if name not in names)]

    def _browser(self) -> dict[str, str]:
        return {} if self.issuer.production else {"__clerk_db_jwt": _DEV_BROWSER}

    def signed_out(self, *, page: bool = False) -> AuthHeaders:
        """A browser with no session (``session-token-and-uat-missing``).

        Its cookies go in a ``Cookie`` header. A client that replaces that
        header with its own jar (werkzeug's, Flask's) sends none: a new
        browser, signed out as well, but on a development instance without a
        dev browser (``dev-browser-missing``), so a page request gets a
        handshake rather than the sign-in redirect. ``set_cookies`` puts this
        browser into such a client's jar.

        Args:
            page: Make it a browser navigation.

        Returns:
            The headers.
        """
        cookies = {**self._browser(), "__client_uat": "0"}
        return self._headers(cookies, None, page=page, bearer=False)

    def signed_in(
        self,
        user_id: str = DEFAULT_USER,
        *,
        org_id: str | None = None,
        org_slug: str | None = None,
        role: str = "admin",
        permissions: Sequence[str] = (),
        page: bool = False,
        bearer: bool = True,
        **claims: Any,
    ) -> AuthHeaders:
        """A signed-in user with an active session (in an organization when ``org_id`` is given).

        Args:
            user_id: The user.
            org_id: The active organization, or None for the personal account.
            org_slug: Its slug (default: derived from ``org_id``).
            role: The role in it (``"admin"`` or ``"org:admin"``).
            permissions: Permission keys in it, ``org:<feature>:<permission>``.
            page: Make it a browser navigation.
            bearer: Send the token as ``Authorization: Bearer`` (every test client
                sends it as given). False sends a browser's cookies instead.
            **claims: Further ``TestIssuer.session_claims`` arguments
                (``session_id``, ``fva``, ``plans``, ``extra``...).

        Returns:
            The headers.
        """
        wanted = _Wanted(user_id, "active", org_id, org_slug, role, permissions, claims)
        return self._session(wanted, page=page, bearer=bearer)

    def pending(
        self,
        user_id: str = DEFAULT_USER,
        *,
        page: bool = False,
        bearer: bool = True,
        **claims: Any,
    ) -> AuthHeaders:
        """A user whose session is pending (``sts: "pending"``: must choose an organization).

        Args:
            user_id: The user.
            page: Make it a browser navigation.
            bearer: Send the token as ``Authorization: Bearer`` (every test client
                sends it as given). False sends a browser's cookies instead.
            **claims: Further ``TestIssuer.session_claims`` arguments.

        Returns:
            The headers.
        """
        return self._session(_Wanted(user_id, "pending", claims=claims), page=page, bearer=bearer)

    def org_member(
        self,
        org_id: str = DEFAULT_ORG,
        *,
        role: str = "member",
        permissions: Sequence[str] = (),
        user_id: str = DEFAULT_USER,
        org_slug: str | None = None,
        page: bool = False,
        bearer: bool = True,
        **claims: Any,
    ) -> AuthHeaders:
        """A signed-in member of an organization, which is active.

        Args:
            org_id: The organization.
            role: The role (``"member"``, ``"admin"``, or ``"org:..."``).
            permissions: Permission keys, ``org:<feature>:<permission>``.
            user_id: The user.
            org_slug: The organization's slug (default: derived from ``org_id``).
            page: Make it a browser navigation.
            bearer: Send the token as ``Authorization: Bearer`` (every test client
                sends it as given). False sends a browser's cookies instead.
            **claims: Further ``TestIssuer.session_claims`` arguments.

        Returns:
            The headers.
        """
        wanted = _Wanted(user_id, "active", org_id, org_slug, role, permissions, claims)
        return self._session(wanted, page=page, bearer=bearer)

    # -- machine tokens

    @staticmethod
    def _machine(token: str, token_type: str, *, page: bool, **who: str | None) -> AuthHeaders:
        headers: dict[str, str] = dict(PAGE_HEADERS) if page else {}
        headers["authorization"] = f"Bearer {token}"
        return AuthHeaders(headers, token=token, cookies=None, token_type=token_type, **who)

    def m2m(
        self,
        machine_id: str = DEFAULT_MACHINE,
        *,
        scopes: Sequence[str] = (),
        claims: Mapping[str, Any] | None = None,
        expires_in: float = 3600,
        opaque: bool = False,
        page: bool = False,
        **extra: Any,
    ) -> AuthHeaders:
        """A machine calling with an M2M token (its JWT form, verified like a session token).

        Args:
            machine_id: The calling machine (``mch_...``).
            scopes: The machines it may call.
            claims: Custom claims.
            expires_in: Seconds until it expires.
            opaque: Send the opaque ``mt_...`` form (``LocalClerkTestKit`` only).
            page: Make it a browser navigation.
            **extra: Further ``TestIssuer.m2m_jwt`` arguments (``category``,
                ``jti``, claim overrides).

        Returns:
            The headers (``Authorization: Bearer <token>``).

        Raises:
            TypeError: ``opaque`` without a local instance.
        """
        if opaque:
            raise TypeError(_NO_OPAQUE.format(kind="M2M"))
        token = self.issuer.m2m_jwt(
            machine_id, scopes=scopes, claims=claims, expires_in=expires_in, **extra
        )
        return self._machine(token, "m2m_token", page=page, machine_id=machine_id)

    def oauth(
        self,
        user_id: str = DEFAULT_USER,
        *,
        client_id: str = DEFAULT_CLIENT,
        scopes: Sequence[str] = (),
        audience: str | Sequence[str] | None = None,
        expires_in: float = 3600,
        opaque: bool = False,
        page: bool = False,
        **extra: Any,
    ) -> AuthHeaders:
        """An OAuth application calling on a user's behalf (the token's JWT form).

        Args:
            user_id: The user who authorized the application.
            client_id: The application's client id.
            scopes: The granted scopes.
            audience: The token's ``aud``.
            expires_in: Seconds until it expires.
            opaque: Send the opaque ``oat_...`` form (``LocalClerkTestKit`` only).
            page: Make it a browser navigation.
            **extra: Further ``TestIssuer.oauth_jwt`` arguments (``typ``, ``jti``,
                claim overrides).

        Returns:
            The headers (``Authorization: Bearer <token>``).

        Raises:
            TypeError: ``opaque`` without a local instance.
        """
        if opaque:
            raise TypeError(_NO_OPAQUE.format(kind="OAuth"))
        token = self.issuer.oauth_jwt(
            user_id,
            client_id=client_id,
            scopes=scopes,
            audience=audience,
            expires_in=expires_in,
            **extra,
        )
        return self._machine(token, "oauth_token", page=page, user_id=user_id)

    def _session(self, wanted: _Wanted, *, page: bool, bearer: bool) -> AuthHeaders:
        values: dict[str, Any] = {"status": wanted.status, "azp": None}
        if wanted.org_id is not None:
            values["org"], values["features"] = _v2_org(
                wanted.org_id, wanted.slug, wanted.role, wanted.permissions
            )
        values.update(wanted.claims)
        body = self.issuer.session_claims(wanted.user_id, **values)
        token = self.issuer.sign(body)
        cookies = {**self._browser(), "__client_uat": str(body["iat"]), "__session": token}
        return self._headers(
            cookies,
            token,
            page=page,
            bearer=bearer,
            user_id=wanted.user_id,
            session_id=body.get("sid"),
            org_id=wanted.org_id,
        )


class LocalClerkTestKit(ClerkTestKit):
    """The kit over a running ``LocalInstance``: real users, organizations and sessions.

    The app reaches the instance as it would reach Clerk: remote JWKS,
    handshakes, refresh, and the instance's sign-in pages (``sign_in_url``).
    Each call signs a user in on a new browser.

    Args:
        instance: A running instance.
        **overrides: Further ``ClerkOptions`` fields.
    """

    def __init__(self, instance: LocalInstance, **overrides: Any) -> None:
        self.instance = instance
        settings = {
            "api_url": instance.url,
            "proxy_url": instance.url,
            "sign_in_url": instance.sign_in_url,
            "sign_up_url": instance.sign_up_url,
            "jwt_key": None,
            **overrides,
        }
        super().__init__(instance.issuer, **settings)

    @property
    def env(self) -> dict[str, str]:
        """The ``CLERK_*`` variables, the webhook signing secret included.

        ``CLERK_WEBHOOK_SIGNING_SECRET`` is what ``instance.send_webhook`` signs with.
        """
        return {
            **super().env,
            "CLERK_WEBHOOK_SIGNING_SECRET": self.instance.webhook_signing_secret,
        }

    def _user(self, user_id: str) -> str:
        try:
            return self.instance.user(user_id).id
        except KeyError:
            return self.instance.create_user(user_id=user_id).id

    def _organization(self, wanted: _Wanted) -> Organization:
        try:
            return self.instance.organization(wanted.org_id or "")
        except KeyError:
            return self.instance.create_organization(
                wanted.slug, slug=wanted.slug, organization_id=wanted.org_id
            )

    def _cookies_of(self, session: Session, dev_browser: str) -> dict[str, str]:
        cookies = {"__clerk_db_jwt": dev_browser} if self.instance.development else {}
        for directive in self.instance.session_cookies(session):
            name, _, rest = directive.partition("=")
            cookies[name] = rest.split(";", 1)[0]
        return cookies

    def _session(self, wanted: _Wanted, *, page: bool, bearer: bool) -> AuthHeaders:
        if wanted.claims:
            raise TypeError(
                f"unexpected argument(s) {', '.join(sorted(wanted.claims))}: sessions of a "
                "local instance carry the claims of its model"
            )
        instance = self.instance
        uid = self._user(wanted.user_id)
        org = None
        if wanted.org_id is not None:
            org = self._organization(wanted)
            role = wanted.role.removeprefix("org:")
            instance.add_membership(uid, org, role=role, permissions=wanted.permissions)
        dev_browser = f"dvb_{secrets.token_hex(12)}"
        client = instance.dev_browser_client(dev_browser)
        session = instance.sign_in(
            uid, pending=wanted.status == "pending", organization=org, client=client
        )
        cookies = self._cookies_of(session, dev_browser)
        return self._headers(
            cookies,
            cookies["__session"],
            page=page,
            bearer=bearer,
            user_id=uid,
            session_id=session.id,
            org_id=org.id if org else None,
        )

    def signed_out(self, *, page: bool = False) -> AuthHeaders:
        """A browser the instance knows, with no session.

        Args:
            page: Make it a browser navigation.

        Returns:
            The headers.
        """
        cookies = {"__client_uat": "0"}
        if self.instance.development:
            dev_browser = f"dvb_{secrets.token_hex(12)}"
            self.instance.dev_browser_client(dev_browser)
            cookies = {"__clerk_db_jwt": dev_browser, **cookies}
        return self._headers(cookies, None, page=page, bearer=False)

    # -- machine tokens, made on the instance

    @staticmethod
    def _no_extra(extra: Mapping[str, Any]) -> None:
        if extra:
            raise TypeError(
                f"unexpected argument(s) {', '.join(sorted(extra))}: machine tokens of a "
                "local instance carry the claims of its model"
            )

    def api_key(
        self,
        subject: str = DEFAULT_USER,
        *,
        name: str = "key",
        scopes: Sequence[str] = (),
        claims: Mapping[str, Any] | None = None,
        expires_in: float | None = None,
        page: bool = False,
    ) -> AuthHeaders:
        """A client calling with an API key, created on the instance.

        Args:
            subject: Whom the key stands for: a user (``user_...``) or an
                organization (``org_...``).
            name: The key's name.
            scopes: Its scopes.
            claims: Custom claims.
            expires_in: Seconds until it expires; None: never.
            page: Make it a browser navigation.

        Returns:
            The headers (``Authorization: Bearer <secret>``).
        """
        key = self.instance.create_api_key(
            subject, name=name, scopes=scopes, claims=claims, expires_in=expires_in
        )
        org = subject if subject.startswith("org_") else None
        user = subject if subject.startswith("user_") else None
        return self._machine(key.secret, "api_key", page=page, user_id=user, org_id=org)

    def m2m(
        self,
        machine_id: str = DEFAULT_MACHINE,
        *,
        scopes: Sequence[str] = (),
        claims: Mapping[str, Any] | None = None,
        expires_in: float = 3600,
        opaque: bool = False,
        page: bool = False,
        **extra: Any,
    ) -> AuthHeaders:
        """A machine calling with an M2M token, created on the instance.

        Args:
            machine_id: The calling machine (``mch_...``).
            scopes: The machines it may call.
            claims: Custom claims.
            expires_in: Seconds until it expires.
            opaque: Send the opaque ``mt_...`` form (verified by the instance's
                ``/m2m_tokens/verify``) instead of the JWT form (verified with the
                instance's JWKS).
            page: Make it a browser navigation.
            **extra: Not accepted (the instance's model sets the claims).

        Returns:
            The headers (``Authorization: Bearer <token>``).

        Raises:
            TypeError: Arguments beyond the model's.
        """
        self._no_extra(extra)
        token = self.instance.create_m2m_token(
            machine_id, scopes=scopes, claims=claims, expires_in=expires_in, jwt=not opaque
        )
        return self._machine(token.token, "m2m_token", page=page, machine_id=machine_id)

    def oauth(
        self,
        user_id: str = DEFAULT_USER,
        *,
        client_id: str = DEFAULT_CLIENT,
        scopes: Sequence[str] = (),
        audience: str | Sequence[str] | None = None,
        expires_in: float = 3600,
        opaque: bool = False,
        page: bool = False,
        **extra: Any,
    ) -> AuthHeaders:
        """An OAuth application calling on a user's behalf, its token issued by the instance.

        Args:
            user_id: The user who authorized the application.
            client_id: The application's client id.
            scopes: The granted scopes.
            audience: The token's ``aud``.
            expires_in: Seconds until it expires.
            opaque: Send the opaque ``oat_...`` form (verified by the instance's
                ``/oauth_applications/access_tokens/verify``) instead of the JWT form.
            page: Make it a browser navigation.
            **extra: Not accepted (the instance's model sets the claims).

        Returns:
            The headers (``Authorization: Bearer <token>``).

        Raises:
            TypeError: Arguments beyond the model's.
        """
        self._no_extra(extra)
        token = self.instance.create_oauth_token(
            user_id,
            client_id=client_id,
            scopes=scopes,
            audience=audience,
            expires_in=expires_in,
            jwt=not opaque,
        )
        return self._machine(token.token, "oauth_token", page=page, user_id=user_id)
