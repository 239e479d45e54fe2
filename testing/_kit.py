"""``ClerkTestKit``: configure an app for tests and make requests in any auth state.

Two kits share one interface:

- ``ClerkTestKit(issuer)`` verifies networklessly (``jwt_key``) and mints
  tokens with a ``TestIssuer``: fast, no server.
- ``LocalClerkTestKit(instance)`` points the app at a running ``LocalInstance``
  (remote JWKS, handshakes, refresh and its sign-in pages) and makes real
  users, organizations and sessions there.

Each state is one call returning ``AuthHeaders``, a ``dict`` of request headers
that every test client takes as ``headers=``::

    client.get("/dashboard", headers=clerk.signed_in())
    client.get("/dashboard", headers=clerk.pending(page=True))      # -> 307 to the task
    client.get("/admin", headers=clerk.org_member(role="admin"))
    client.get("/", headers=clerk.signed_out())

Cookies carry the session as a browser sends it (``__session``,
``__client_uat`` and, for a development instance, the dev browser
``__clerk_db_jwt``); ``bearer=True`` sends ``Authorization: Bearer`` instead.
``page=True`` makes it a browser navigation (``sec-fetch-dest: document``,
``Accept: text/html``), which is what turns ``protect()``'s answer for
signed-out and pending users from a 404 into a redirect.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from clerk_middleware.adapters.asgi import BaseClerkASGIMiddleware
from clerk_middleware.adapters.wsgi import ClerkWSGIMiddleware
from clerk_middleware.core import ClerkOptions
from clerk_middleware.core._options import _ENV_VARS

from ._issuer import OrgClaims, TestIssuer

if TYPE_CHECKING:
    from ._instance import LocalInstance, Organization, Session

__all__ = ["PAGE_HEADERS", "AuthHeaders", "ClerkTestKit", "LocalClerkTestKit"]

AppT = TypeVar("AppT")

#: What a browser navigation sends: ``protect()`` redirects these instead of a 404.
PAGE_HEADERS: Mapping[str, str] = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "sec-fetch-dest": "document",
}
DEFAULT_USER = "user_test"
DEFAULT_ORG = "org_test"
_DEV_BROWSER = "dvb_test_browser"
_MAX_DEPTH = 32


class AuthHeaders(dict[str, str]):
    """Request headers that put a request in one auth state, and whom that state names.

    A ``dict``: pass it as ``headers=`` to any test client (Flask, Starlette,
    httpx, werkzeug).

    Attributes:
        user_id: The signed-in (or pending) user, or None when signed out.
        session_id: The session, or None.
        org_id: The active organization, or None.
        token: The session token sent, or None.
        cookies: The cookies sent, by name (for clients that keep their own jar).
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
    ) -> None:
        super().__init__(headers)
        self.user_id = user_id
        self.session_id = session_id
        self.org_id = org_id
        self.token = token
        self.cookies: dict[str, str] = dict(cookies or {})


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


def _walk(app: object) -> Iterable[object]:
    """``app`` and everything it wraps (``.app``, ``.wsgi_app``), outermost first."""
    seen: set[int] = set()
    current: object | None = app
    for _ in range(_MAX_DEPTH):
        if current is None or id(current) in seen:
            return
        seen.add(id(current))
        yield current
        current = getattr(current, "wsgi_app", None) or getattr(current, "app", None)


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
        """Point the ``clerk_middleware`` already installed in ``app`` at this kit.

        For apps built at import time with other keys (or placeholders): works
        on Flask apps, Starlette/FastAPI apps and WSGI/ASGI apps wrapped by
        ``clerk_middleware``, also beneath other middleware that keeps the
        wrapped app in ``.app`` or ``.wsgi_app``.

        Args:
            app: The application.

        Returns:
            The same application.

        Raises:
            TypeError: No ``clerk_middleware`` was found in it.
        """
        options = self.options
        found = False
        for layer in _walk(app):
            extensions = getattr(layer, "extensions", None)
            extension = extensions.get("clerk_middleware") if isinstance(extensions, dict) else None
            if extension is not None and hasattr(extension, "options"):
                extension.options = options  # Flask's ClerkFlask
                found = True
            if isinstance(layer, ClerkWSGIMiddleware | BaseClerkASGIMiddleware):
                layer.options = options
                found = True
            for entry in getattr(layer, "user_middleware", None) or ():  # Starlette, FastAPI
                cls = getattr(entry, "cls", None)
                if isinstance(cls, type) and issubclass(cls, BaseClerkASGIMiddleware):
                    entry.kwargs["options"] = options
                    layer.middleware_stack = None  # type: ignore[attr-defined]  # rebuilt lazily
                    found = True
        if not found:
            raise TypeError(
                f"No clerk_middleware found in {app!r}: install it first (Flask: "
                "clerk_middleware(handler).init_app(app); Starlette/FastAPI: "
                "middleware=[clerk_middleware(handler)]; WSGI/ASGI: "
                "clerk_middleware(handler)(app))."
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
        sent: Mapping[str, str] = cookies
        if bearer and token is not None:
            headers["authorization"] = f"Bearer {token}"
            sent = {}
        elif cookies:
            headers["cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        return AuthHeaders(headers, token=token, cookies=sent, **who)

    def _browser(self) -> dict[str, str]:
        return {} if self.issuer.production else {"__clerk_db_jwt": _DEV_BROWSER}

    def signed_out(self, *, page: bool = False) -> AuthHeaders:
        """A browser with no session (``session-token-and-uat-missing``).

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
        bearer: bool = False,
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
            bearer: Send ``Authorization: Bearer`` instead of cookies.
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
        bearer: bool = False,
        **claims: Any,
    ) -> AuthHeaders:
        """A user whose session is pending (``sts: "pending"``: must choose an organization).

        Args:
            user_id: The user.
            page: Make it a browser navigation.
            bearer: Send ``Authorization: Bearer`` instead of cookies.
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
        bearer: bool = False,
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
            bearer: Send ``Authorization: Bearer`` instead of cookies.
            **claims: Further ``TestIssuer.session_claims`` arguments.

        Returns:
            The headers.
        """
        wanted = _Wanted(user_id, "active", org_id, org_slug, role, permissions, claims)
        return self._session(wanted, page=page, bearer=bearer)

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
            cookies, token, page=page, bearer=bearer,
            user_id=wanted.user_id, session_id=body.get("sid"), org_id=wanted.org_id,
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
            cookies, cookies["__session"], page=page, bearer=bearer,
            user_id=uid, session_id=session.id, org_id=org.id if org else None,
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
