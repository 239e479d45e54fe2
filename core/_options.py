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
from dataclasses import InitVar, dataclass, field, fields
from typing import Any, Final, cast
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from ._cache import DecisionMemo
from ._csp import ContentSecurityPolicy
from ._errors import ConfigurationError
from ._keys import PublishableKey, accounts_base_url, cookie_suffix, parse_publishable_key
from ._machine import TOKEN_TYPES, AcceptsToken
from ._proxy import FrontendApiProxy
from ._routes import match_params

__all__ = [
    "ClerkOptions",
    "OptionSource",
    "OrganizationSyncOptions",
    "check_option_names",
    "resolve_options",
]

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
    "machine_secret_key": "CLERK_MACHINE_SECRET_KEY",
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
_PEM_ARMOUR = re.compile(r"-----(BEGIN|END)[^-]*-----")
#: Clerk's secret key forms and the instance type each names (``sk_`` keys, and
#: the older ``test_``/``live_`` keys Clerk's SDK still reads the same way).
_SECRET_KEY_PREFIXES: Final = (
    ("sk_test_", "development"),
    ("sk_live_", "production"),
    ("test_", "development"),
    ("live_", "production"),
)
_SECRET_KEY_BODY = re.compile(r"[A-Za-z0-9_-]+")
_KEY_PREFIXES = {"development": ("sk_test_", "pk_test_"), "production": ("sk_live_", "pk_live_")}
_KEYS_PAGE = "https://dashboard.clerk.com/~/api-keys"
#: Options naming a page the browser is sent to.
_PAGE_URL_OPTIONS: Final = {
    "sign_in_url": "/sign-in",
    "sign_up_url": "/sign-up",
    "tasks_url": "/onboarding",
}
# Whitespace, controls and backslashes: browsers read "/\host" as "//host",
# and a parser that disagrees with the browser on a redirect target is a hole.
_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")
#: ``organization_sync_options`` mapping keys: Clerk's camelCase and our snake_case.
_ORG_SYNC_KEYS: Final = {
    "organizationPatterns": "organization_patterns",
    "personalAccountPatterns": "personal_account_patterns",
    "organization_patterns": "organization_patterns",
    "personal_account_patterns": "personal_account_patterns",
}


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

    def __post_init__(self) -> None:
        for name in ("organization_patterns", "personal_account_patterns"):
            object.__setattr__(self, name, _patterns(getattr(self, name), name))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> OrganizationSyncOptions:
        """Build from a mapping as Clerk's ``organizationSyncOptions`` object is written.

        Both Clerk's camelCase keys and the snake_case field names are accepted::

            {"organizationPatterns": ["/orgs/:slug", "/orgs/:slug/(.*)"],
             "personalAccountPatterns": ["/me", "/me/(.*)"]}

        Args:
            mapping: ``organizationPatterns`` / ``organization_patterns`` and
                ``personalAccountPatterns`` / ``personal_account_patterns``, each a
                list of path patterns (a missing or None key means none).

        Returns:
            The options.

        Raises:
            ConfigurationError: A key is unknown, given twice (in both spellings),
                or its value is not a list of strings.
        """
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            name = _ORG_SYNC_KEYS.get(key) if isinstance(key, str) else None
            if name is None:
                raise ConfigurationError(
                    f"organization_sync_options has an unknown key {key!r}; valid keys: "
                    f"{', '.join(_ORG_SYNC_KEYS)}."
                )
            if name in values:
                raise ConfigurationError(
                    f"organization_sync_options gives {name} twice (camelCase and snake_case)."
                )
            values[name] = () if value is None else value
        return cls(**values)


def _patterns(value: Any, name: str) -> tuple[str, ...]:
    """A tuple of path patterns; a bare string is refused (it would iterate as characters)."""
    # Patterns are tried in order: a list or tuple, not a set.
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigurationError(
            f"organization_sync_options.{name} must be a list of path patterns, "
            f'e.g. ["/orgs/:slug", "/orgs/:slug/(.*)"], got {type(value).__name__}.'
        )
    items = tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise ConfigurationError(f"organization_sync_options.{name}: patterns must be strings.")
    return items


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


def _secret_key_type(key: object, name: str) -> str:
    """The instance type a secret key names; refuse anything not in Clerk's forms.

    Messages never quote the key: it is a secret, and a wrong one may be another's.
    """
    if key is None or key == "":
        raise ConfigurationError(
            "Missing Clerk secret key: set CLERK_SECRET_KEY or pass secret_key= "
            f"(sk_test_... or sk_live_..., from {_KEYS_PAGE})."
        )
    expected = f"expected sk_test_... or sk_live_... (the Secret key of {_KEYS_PAGE})"
    if not isinstance(key, str):
        raise ConfigurationError(f"{name} must be a string: {expected}.")
    if key.startswith("pk_"):
        raise ConfigurationError(
            f"{name} is a publishable key (pk_...), not a secret key: {expected}."
        )
    if key.strip() != key or key.strip("\"'") != key:
        raise ConfigurationError(
            f"{name} has surrounding whitespace or quotes (a trailing newline, or quotes "
            f"copied into an .env file): {expected}."
        )
    for prefix, instance_type in _SECRET_KEY_PREFIXES:
        if key.startswith(prefix) and _SECRET_KEY_BODY.fullmatch(key, len(prefix)):
            return instance_type
    raise ConfigurationError(f"{name} is not a Clerk secret key: {expected}.")


def _is_page_url(value: object) -> bool:
    """An absolute http(s) URL, or a path starting with exactly one ``/``."""
    if not isinstance(value, str) or _URL_FORBIDDEN.search(value):
        return False
    if value.startswith("/"):
        return not value.startswith("//")  # "//host" is another site
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _as_tuple(value: str | Sequence[str] | None, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    items = tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise ConfigurationError(f"{name} must be a string or a list of strings.")
    return tuple(item for item in items if item)


def _accepts_token(value: object) -> AcceptsToken:
    """``accepts_token`` as the flow reads it: ``"any"``, one type, or a tuple of types."""
    expected = (
        'accepts_token must be "session_token", "api_key", "m2m_token", "oauth_token", '
        '"any", or a list of those types'
    )
    if isinstance(value, str):
        if value == "any" or value in TOKEN_TYPES:
            return cast(AcceptsToken, value)
        raise ConfigurationError(f"{expected}, got {value!r}.")
    if isinstance(value, Sequence | frozenset | set):
        items = tuple(value)
        if all(isinstance(item, str) and item in TOKEN_TYPES for item in items):
            return cast(AcceptsToken, items)
    raise ConfigurationError(f"{expected}, got {value!r}.")


#: The check of ``accepts_token`` (and of ``token=`` where a dependency takes one up front).
accepts_token_option = _accepts_token


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
        content_security_policy: Clerk's Content-Security-Policy headers on every
            response (``True``, a ``ContentSecurityPolicy``, or Clerk's mapping).
        frontend_api_proxy: Serve Clerk's Frontend API under the app's domain
            (``True``, a ``FrontendApiProxy``, or Clerk's mapping); ``proxy_url``
            defaults to its path.
        api_url: Backend API origin (default ``https://api.clerk.com``).
        debug: Log auth decisions (reasons only, never tokens).
        tasks_url: The app's own page for pending users (instead of ``<sign-in>/tasks``).
        trust_forwarded_headers: Rebuild the request URL from ``X-Forwarded-Host`` /
            ``X-Forwarded-Proto`` as Clerk does (default). Set False when the app is not
            behind a proxy that sets them: a client could otherwise choose the host that
            handshake and sign-in redirects return to.
        accepts_token: Which tokens ``authenticate_request`` accepts, as Clerk's
            ``acceptsToken``: ``"session_token"`` (the default), ``"api_key"``,
            ``"m2m_token"``, ``"oauth_token"``, ``"any"``, or a list of types (kept
            as a tuple). Machine tokens are read only from ``Authorization: Bearer``.
        machine_secret_key: A machine's secret key (``ak_...``); when set, it is the
            Bearer of M2M token verification calls instead of ``secret_key``.
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
    accepts_token: AcceptsToken = "session_token"  # noqa: S105 - a token type, not a secret
    machine_secret_key: str | None = field(default=None, repr=False)
    content_security_policy: ContentSecurityPolicy | None = None
    frontend_api_proxy: FrontendApiProxy | None = None
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

    #: Where each option came from, for error messages: the ``CLERK_*`` variable
    #: (or another source's name) of options not passed as arguments. Set by
    #: ``from_env``; options absent here are named as arguments.
    _sources: InitVar[Mapping[str, str] | None] = None

    def __post_init__(self, _sources: Mapping[str, str] | None) -> None:
        sources = _sources or {}

        def name(option: str) -> str:
            """How the message names ``option``: as its source did, or as an argument."""
            if option in sources:
                return sources[option]
            variable = _ENV_VARS.get(option)
            return f"{option} ({variable})" if variable else option

        key_instance = _secret_key_type(self.secret_key, name("secret_key"))
        parsed = parse_publishable_key(self.publishable_key, variable=name("publishable_key"))
        if key_instance != parsed.instance_type:
            raise ConfigurationError(
                f"{name('secret_key')} is a {key_instance} secret key "
                f"({_KEY_PREFIXES[key_instance][0]}...) but {name('publishable_key')} is "
                f"a {parsed.instance_type} publishable key "
                f"({_KEY_PREFIXES[parsed.instance_type][1]}...): use the two keys of "
                f"one instance, both sk_test_/pk_test_ or both sk_live_/pk_live_ ({_KEYS_PAGE})."
            )
        setattr_ = object.__setattr__
        proxy: Any = self.frontend_api_proxy
        if proxy is True:
            proxy = FrontendApiProxy()
        elif proxy is False:
            proxy = None
        elif proxy is not None and not isinstance(proxy, FrontendApiProxy):
            if not isinstance(proxy, Mapping):
                raise ConfigurationError(
                    "frontend_api_proxy must be a FrontendApiProxy, True, or a mapping such "
                    f"as {{'enabled': True, 'path': '/__clerk'}}, got {type(proxy).__name__}."
                )
            proxy = FrontendApiProxy.from_mapping(proxy)
        if proxy is not None and not proxy.enabled:
            proxy = None
        setattr_(self, "frontend_api_proxy", proxy)
        if proxy is not None and not self.proxy_url:
            # As clerkMiddleware: handshakes go through the proxy, on the request's origin.
            setattr_(self, "proxy_url", proxy.path)
        setattr_(self, "parsed_key", parsed)
        setattr_(self, "cookie_suffix", cookie_suffix(parsed.key))
        setattr_(
            self,
            "public_key",
            _load_jwt_key(self.jwt_key, name("jwt_key")) if self.jwt_key else None,
        )
        setattr_(
            self, "authorized_parties", _as_tuple(self.authorized_parties, "authorized_parties")
        )
        setattr_(self, "audiences", _as_tuple(self.audience, "audience"))
        if callable(self.issuer):
            setattr_(self, "issuers", ())
        else:
            setattr_(self, "issuers", _as_tuple(self.issuer, "issuer"))
        sync = self.organization_sync_options
        if sync is not None and not isinstance(sync, OrganizationSyncOptions):
            if not isinstance(sync, Mapping):
                raise ConfigurationError(
                    "organization_sync_options must be an OrganizationSyncOptions or a "
                    "mapping such as {'organizationPatterns': [...], "
                    f"'personalAccountPatterns': [...]}}, got {type(sync).__name__}."
                )
            sync = OrganizationSyncOptions.from_mapping(sync)
            setattr_(self, "organization_sync_options", sync)
        csp: Any = self.content_security_policy
        if csp is True:
            setattr_(self, "content_security_policy", ContentSecurityPolicy())
        elif csp is False:
            setattr_(self, "content_security_policy", None)
        elif csp is not None and not isinstance(csp, ContentSecurityPolicy):
            if not isinstance(csp, Mapping):
                raise ConfigurationError(
                    "content_security_policy must be a ContentSecurityPolicy, True, or a "
                    "mapping such as {'strict': True, 'directives': {...}}, got "
                    f"{type(csp).__name__}."
                )
            setattr_(self, "content_security_policy", ContentSecurityPolicy.from_mapping(csp))
        # Development instances pick cookies by the clock and sync the dev browser,
        # satellites sync by URL, organization sync reads the path, and a callable
        # issuer may answer differently each time: those are decided in full.
        setattr_(
            self,
            "decision_memo",
            DecisionMemo()
            if parsed.instance_type == "production"
            and not self.is_satellite
            and sync is None
            and not callable(self.issuer)
            else None,
        )
        setattr_(self, "accepts_token", _accepts_token(self.accepts_token))
        machine_key = self.machine_secret_key
        if machine_key is not None and (
            not isinstance(machine_key, str) or not _SECRET_KEY_BODY.fullmatch(machine_key)
        ):
            raise ConfigurationError(
                f"{name('machine_secret_key')} must be a machine secret key as the dashboard "
                "shows it; got a value of another form (not shown: it is a secret)."
            )
        skew = self.clock_skew_in_ms
        if isinstance(skew, bool) or not isinstance(skew, int | float) or math.isnan(skew):
            raise ConfigurationError(
                f"clock_skew_in_ms must be a number of milliseconds, got {skew!r}."
            )
        for option, example in _PAGE_URL_OPTIONS.items():
            value = getattr(self, option)
            if value is not None and value != "" and not _is_page_url(value):
                raise ConfigurationError(
                    f"{name(option)} must be an absolute http(s) URL (https://app.example.com"
                    f"{example}) or a path starting with a single '/' ({example}), got {value!r}."
                )
        api = urlsplit(self.api_url)
        if api.scheme not in ("http", "https") or not api.netloc:
            raise ConfigurationError(
                f"{name('api_url')} must be an absolute http(s) URL, got {self.api_url!r}."
            )
        if self.proxy_url and not (
            self.proxy_url.startswith("/") or urlsplit(self.proxy_url).scheme in ("http", "https")
        ):
            raise ConfigurationError(
                f"{name('proxy_url')} must be an absolute http(s) URL or a path "
                f"starting with '/', got {self.proxy_url!r}."
            )
        if sync is not None:
            for patterns in (sync.organization_patterns, sync.personal_account_patterns):
                if patterns:
                    match_params(patterns, "/")  # compiles, so a bad pattern fails here
        if self.is_satellite:
            if not self.sign_in_url and key_instance == "development":
                raise ConfigurationError(
                    f"Missing {name('sign_in_url')}: a satellite app on a development "
                    "instance must name the primary's sign-in page."
                )
            if self.sign_in_url and urlsplit(self.sign_in_url).scheme not in ("http", "https"):
                raise ConfigurationError(
                    f"{name('sign_in_url')} of a satellite app must be an absolute URL "
                    f"on the primary domain, got {self.sign_in_url!r}."
                )
            if not (self.proxy_url or self.domain):
                raise ConfigurationError(
                    f"Missing domain and proxy_url: a satellite app must set {name('domain')} "
                    f"or {name('proxy_url')}."
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
        ``CLERK_TASKS_URL``. An error about a value read from a variable names
        the variable.

        Args:
            environ: The environment to read (default ``os.environ``).
            **overrides: Option values; an explicit value always beats the environment.

        Returns:
            Validated options.

        Raises:
            ConfigurationError: An option is unknown, missing or malformed.
        """
        env = os.environ if environ is None else environ
        return resolve_options(overrides, [OptionSource(env)])


@dataclass(frozen=True, slots=True)
class OptionSource:
    """Settings keyed by the ``CLERK_*`` variable names, and how messages name them.

    Attributes:
        values: The settings, e.g. ``os.environ`` or a Flask ``app.config``.
        label: Format of a setting's name in messages; ``{}`` is the variable,
            e.g. ``'app.config["{}"]'``.
    """

    values: Mapping[str, Any]
    label: str = "{}"


def check_option_names(settings: Mapping[str, Any]) -> None:
    """Refuse settings that are not ``ClerkOptions`` fields.

    Raises:
        ConfigurationError: Some are unknown; the message lists the valid ones.
    """
    known = {f.name for f in fields(ClerkOptions) if f.init}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigurationError(
            f"Unknown option(s) {', '.join(unknown)}; expected some of: {', '.join(sorted(known))}."
        )


def resolve_options(overrides: Mapping[str, Any], sources: Sequence[OptionSource]) -> ClerkOptions:
    """Options from explicit values, then each source in turn, then the defaults.

    A source's value counts when it is set and not empty. ``is_satellite`` takes
    a bool or ``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``);
    every other setting a string.

    Args:
        overrides: Option values given as arguments; they always win.
        sources: Settings by variable name, highest precedence first.

    Returns:
        Validated options; errors name a value by where it came from.

    Raises:
        ConfigurationError: An option is unknown, missing or malformed.
    """
    check_option_names(overrides)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for option, variable in _ENV_VARS.items():
        if option in overrides:
            continue
        for source in sources:
            raw = source.values.get(variable)
            if raw is None or raw == "":
                continue
            where = source.label.format(variable)
            values[option] = _setting(option, raw, where)
            origins[option] = where
            break
    values.update(overrides)
    return ClerkOptions(**values, _sources=origins)


def _setting(option: str, raw: object, where: str) -> object:
    """A source's raw value as the option takes it."""
    if option == "is_satellite":
        if isinstance(raw, bool):
            return raw
        lowered = raw.strip().lower() if isinstance(raw, str) else None
        if lowered is None or lowered not in _TRUE | _FALSE:
            raise ConfigurationError(f"{where} must be true or false, got {raw!r}.")
        return lowered in _TRUE
    if not isinstance(raw, str):
        raise ConfigurationError(f"{where} must be a string, got {type(raw).__name__}.")
    return raw
