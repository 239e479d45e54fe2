"""``ClerkOptions``: every setting of the SDK, validated once at start-up.

This is the only module of the core that reads the environment, and only in
``ClerkOptions.from_env``.
"""

from __future__ import annotations

import base64
import math
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from ._cache import DecisionMemo
from ._errors import ConfigurationError
from ._keys import PublishableKey, accounts_base_url, cookie_suffix, parse_publishable_key
from ._routes import match_params

__all__ = ["ClerkOptions", "OrganizationSyncOptions"]

DEFAULT_API_URL = "https://api.clerk.com"
DEFAULT_CLOCK_SKEW_IN_MS = 5000

# The environment variables ``from_env`` reads, by option name.
_ENV_VARS: dict[str, str] = {
    "secret_key": "CLERK_SECRET_KEY",
    "publishable_key": "CLERK_PUBLISHABLE_KEY",
    "jwt_key": "CLERK_JWT_KEY",
    "sign_in_url": "CLERK_SIGN_IN_URL",
    "sign_up_url": "CLERK_SIGN_UP_URL",
    "domain": "CLERK_DOMAIN",
    "is_satellite": "CLERK_IS_SATELLITE",
    "proxy_url": "CLERK_PROXY_URL",
    "api_url": "CLERK_API_URL",
    "tasks_url": "CLERK_TASKS_URL",
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
_PEM_ARMOUR = re.compile(r"-----(BEGIN|END)[^-]*-----")


@dataclass(frozen=True, slots=True)
class OrganizationSyncOptions:
    """Which URL paths activate an organization or the personal account.

    Patterns are path-to-regexp strings naming ``:id`` or ``:slug``, e.g.
    ``"/orgs/:slug"`` and ``"/orgs/:slug/(.*)"``; a request on such a path whose
    active organization differs gets a handshake that activates it.

    Attributes:
        organization_patterns: Paths that carry an organization id or slug.
        personal_account_patterns: Paths that require the personal account.
    """

    organization_patterns: tuple[str, ...] = ()
    personal_account_patterns: tuple[str, ...] = ()


def _load_jwt_key(value: str, variable: str) -> RSAPublicKey:
    """Load a PEM (or bare base64 DER) RSA public key, tolerating ``\\n`` escapes."""
    text = value.replace("\\n", "\n").strip()
    try:
        if "-----BEGIN" in text:
            body = "".join(_PEM_ARMOUR.sub("", text).split())
            key = load_pem_public_key(
                f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n".encode()
            )
        else:
            key = load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"{variable} is not a valid public key: expected the PEM 'JWKS Public Key' from the "
            "Clerk dashboard (-----BEGIN PUBLIC KEY----- ...)."
        ) from exc
    if not isinstance(key, RSAPublicKey):
        raise ConfigurationError(
            f"{variable} must be an RSA public key (Clerk signs session tokens with RS256)."
        )
    return key


def _as_tuple(value: str | Sequence[str] | None, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    items = tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise ConfigurationError(f"{name} must be a string or a list of strings.")
    return tuple(item for item in items if item)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClerkOptions:
    """Configuration of request authentication; validated when built.

    Every field is the snake_case of Clerk's option of the same meaning.

    Attributes:
        secret_key: ``sk_test_...``/``sk_live_...``; authenticates Backend API calls. Required.
        publishable_key: ``pk_test_...``/``pk_live_...``; names the instance. Required.
        jwt_key: PEM public key for networkless verification (the dashboard's
            "JWKS Public Key"). Without it keys come from the Backend API's JWKS.
        authorized_parties: Allowed ``azp`` values (origins), compared exactly.
        audience: Accepted ``aud`` values; checked only if the token has ``aud``.
        issuer: Accepted ``iss`` values; ``iss`` is not checked when empty.
        clock_skew_in_ms: Leeway for ``exp``/``nbf``/``iat`` (default 5000).
        sign_in_url: The sign-in page; defaults to the Account Portal's.
        sign_up_url: The sign-up page; defaults to ``<sign_in_url>/create`` or the Portal's.
        domain: The satellite's domain (production satellites).
        is_satellite: This app is a satellite of another primary domain.
        proxy_url: URL of a Frontend API proxy (absolute, or a path such as ``/__clerk``).
        satellite_auto_sync: Sync a satellite with the primary even without cookies.
        organization_sync_options: Paths that activate an organization.
        api_url: Backend API origin (default ``https://api.clerk.com``).
        debug: Log auth decisions (reasons only, never tokens).
        tasks_url: The app's own page for pending users (instead of ``<sign-in>/tasks``).
        trust_forwarded_headers: Rebuild the request URL from ``X-Forwarded-Host`` /
            ``X-Forwarded-Proto`` as Clerk does (default). Set False when the app is not
            behind a proxy that sets them: a client could otherwise choose the host that
            handshake and sign-in redirects return to.
        clock: Returns the current Unix time in seconds; the one place time enters.
    """

    secret_key: str | None = field(default=None, repr=False)
    publishable_key: str | None = None
    jwt_key: str | None = None
    authorized_parties: Sequence[str] = ()
    audience: str | Sequence[str] | None = None
    issuer: str | Sequence[str] | Callable[[str], bool] | None = None
    clock_skew_in_ms: int | float = DEFAULT_CLOCK_SKEW_IN_MS
    sign_in_url: str | None = None
    sign_up_url: str | None = None
    domain: str | None = None
    is_satellite: bool = False
    proxy_url: str | None = None
    satellite_auto_sync: bool = False
    organization_sync_options: OrganizationSyncOptions | None = None
    api_url: str = DEFAULT_API_URL
    debug: bool = False
    tasks_url: str | None = None
    trust_forwarded_headers: bool = True
    clock: Callable[[], float] = time.time

    # Derived once here so that no request pays for them.
    parsed_key: PublishableKey = field(init=False, repr=False, compare=False)
    cookie_suffix: str = field(init=False, repr=False, compare=False)
    public_key: RSAPublicKey | None = field(init=False, repr=False, compare=False)
    audiences: tuple[str, ...] = field(init=False, repr=False, compare=False)
    issuers: tuple[str, ...] = field(init=False, repr=False, compare=False)
    #: Repeated signed-in requests answered without the flow (see ``DecisionMemo``);
    #: None where a decision depends on more than the memo's key can hold.
    decision_memo: DecisionMemo | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.secret_key or not isinstance(self.secret_key, str):
            raise ConfigurationError(
                "Missing Clerk secret key: set CLERK_SECRET_KEY or pass secret_key= "
                "(sk_test_... or sk_live_..., from https://dashboard.clerk.com/~/api-keys)."
            )
        parsed = parse_publishable_key(self.publishable_key, variable="CLERK_PUBLISHABLE_KEY")
        setattr_ = object.__setattr__
        setattr_(self, "parsed_key", parsed)
        setattr_(self, "cookie_suffix", cookie_suffix(parsed.key))
        setattr_(
            self,
            "public_key",
            _load_jwt_key(self.jwt_key, "CLERK_JWT_KEY") if self.jwt_key else None,
        )
        setattr_(
            self, "authorized_parties", _as_tuple(self.authorized_parties, "authorized_parties")
        )
        setattr_(self, "audiences", _as_tuple(self.audience, "audience"))
        if callable(self.issuer):
            setattr_(self, "issuers", ())
        else:
            setattr_(self, "issuers", _as_tuple(self.issuer, "issuer"))
        # Development instances pick cookies by the clock and sync the dev browser,
        # satellites sync by URL, organization sync reads the path, and a callable
        # issuer may answer differently each time: those are decided in full.
        setattr_(
            self,
            "decision_memo",
            DecisionMemo()
            if parsed.instance_type == "production"
            and not self.is_satellite
            and self.organization_sync_options is None
            and not callable(self.issuer)
            else None,
        )
        skew = self.clock_skew_in_ms
        if isinstance(skew, bool) or not isinstance(skew, int | float) or math.isnan(skew):
            raise ConfigurationError(
                f"clock_skew_in_ms must be a number of milliseconds, got {skew!r}."
            )
        for name in ("sign_in_url", "sign_up_url", "tasks_url"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, str) or any(c in value for c in "\r\n")
            ):
                raise ConfigurationError(f"{name} must be a URL or a path, got {value!r}.")
        api = urlsplit(self.api_url)
        if api.scheme not in ("http", "https") or not api.netloc:
            raise ConfigurationError(
                f"api_url (CLERK_API_URL) must be an absolute http(s) URL, got {self.api_url!r}."
            )
        if self.proxy_url and not (
            self.proxy_url.startswith("/") or urlsplit(self.proxy_url).scheme in ("http", "https")
        ):
            raise ConfigurationError(
                "proxy_url (CLERK_PROXY_URL) must be an absolute http(s) URL or a path "
                f"starting with '/', got {self.proxy_url!r}."
            )
        sync = self.organization_sync_options
        if sync is not None:
            if not isinstance(sync, OrganizationSyncOptions):
                raise ConfigurationError(
                    "organization_sync_options must be an OrganizationSyncOptions instance."
                )
            for patterns in (sync.organization_patterns, sync.personal_account_patterns):
                if not all(isinstance(p, str) for p in patterns):
                    raise ConfigurationError("Organization sync patterns must be strings.")
                if patterns:
                    match_params(patterns, "/")  # compiles, so a bad pattern fails here
        if self.is_satellite:
            if not self.sign_in_url and self.secret_key.startswith(("sk_test_", "test_")):
                raise ConfigurationError(
                    "Missing sign_in_url (CLERK_SIGN_IN_URL): a satellite app on a development "
                    "instance must name the primary's sign-in page."
                )
            if self.sign_in_url and urlsplit(self.sign_in_url).scheme not in ("http", "https"):
                raise ConfigurationError(
                    "sign_in_url (CLERK_SIGN_IN_URL) of a satellite app must be an absolute URL "
                    f"on the primary domain, got {self.sign_in_url!r}."
                )
            if not (self.proxy_url or self.domain):
                raise ConfigurationError(
                    "Missing domain and proxy_url: a satellite app must set domain "
                    "(CLERK_DOMAIN) or proxy_url (CLERK_PROXY_URL)."
                )

    @property
    def instance_type(self) -> str:
        """``"production"`` or ``"development"``, from the publishable key."""
        return self.parsed_key.instance_type

    @property
    def original_frontend_api(self) -> str:
        """The instance's Frontend API host, ignoring any proxy.

        Production satellites use ``clerk.<domain>``.
        """
        if self.parsed_key.instance_type == "production" and self.domain and self.is_satellite:
            return f"clerk.{self.domain}"
        return self.parsed_key.frontend_api

    def frontend_api(self, request_origin: str) -> str:
        """The Frontend API the browser talks to: the proxy URL when one is set.

        Args:
            request_origin: Origin of the current request, to resolve a relative proxy URL.
        """
        if self.proxy_url:
            if self.proxy_url.startswith("/"):
                return f"{request_origin}{self.proxy_url}"
            return self.proxy_url
        return self.original_frontend_api

    @property
    def accounts_base_url(self) -> str:
        """The Account Portal origin for redirects, e.g. ``https://accounts.example.com``."""
        return accounts_base_url(self.parsed_key.frontend_api)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ClerkOptions:
        """Build options from ``CLERK_*`` environment variables; keyword arguments win.

        Reads ``CLERK_SECRET_KEY``, ``CLERK_PUBLISHABLE_KEY``, ``CLERK_JWT_KEY``,
        ``CLERK_SIGN_IN_URL``, ``CLERK_SIGN_UP_URL``, ``CLERK_DOMAIN``,
        ``CLERK_IS_SATELLITE``, ``CLERK_PROXY_URL``, ``CLERK_API_URL`` and
        ``CLERK_TASKS_URL``.

        Args:
            environ: The environment to read (default ``os.environ``).
            **overrides: Option values; an explicit value always beats the environment.

        Returns:
            Validated options.

        Raises:
            ConfigurationError: An option is unknown, missing or malformed.
        """
        env = os.environ if environ is None else environ
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigurationError(
                f"Unknown option(s) {', '.join(unknown)}; "
                f"expected some of: {', '.join(sorted(known))}."
            )
        values: dict[str, Any] = {}
        for name, variable in _ENV_VARS.items():
            raw = env.get(variable)
            if raw is None or name in overrides:
                continue
            if name == "is_satellite":
                lowered = raw.strip().lower()
                if lowered not in _TRUE | _FALSE:
                    raise ConfigurationError(f"{variable} must be true or false, got {raw!r}.")
                values[name] = lowered in _TRUE
            elif raw:
                values[name] = raw
        values.update(overrides)
        return cls(**values)
