"""Clerk's Content-Security-Policy headers (``clerkMiddleware``'s ``contentSecurityPolicy``).

With the option set, every response the middleware lets through (the app's,
and the redirects and 404s of ``protect()``) carries a
``Content-Security-Policy`` header that allows what Clerk's frontend needs:
its Frontend API, Cloudflare's and Stripe's frames, ``img.clerk.com``. In
strict mode ``script-src`` drops the ``https:``/``http:`` wildcards for
``'strict-dynamic'`` and a fresh nonce per request, which the app puts on its
``<script>`` tags (``csp_nonce()`` in templates) and which is sent as
``x-nonce`` too. Extra directives merge as Clerk merges them: values added to
a default directive, a new directive set as given, ``none`` replacing
everything. The text is Clerk's, byte for byte (the conformance suite runs
Clerk's own ``createContentSecurityPolicyHeaders``).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ._errors import ConfigurationError

__all__ = [
    "ContentSecurityPolicy",
    "content_security_policy_headers",
    "generate_nonce",
]

_PROTECT_ORIGIN: Final = "https://*.protect.clerk.com"

#: Clerk's default directives, in Clerk's order (``unsafe-eval`` is added outside production).
_DEFAULTS: Final[dict[str, tuple[str, ...]]] = {
    "connect-src": (
        "self",
        "https://clerk-telemetry.com",
        "https://*.clerk-telemetry.com",
        "https://api.stripe.com",
        "https://maps.googleapis.com",
        "https://img.clerk.com",
        f"{_PROTECT_ORIGIN}:*",
    ),
    "default-src": ("self",),
    "form-action": ("self",),
    "frame-src": (
        "self",
        "https://challenges.cloudflare.com",
        "https://*.js.stripe.com",
        "https://js.stripe.com",
        "https://hooks.stripe.com",
        _PROTECT_ORIGIN,
    ),
    "img-src": ("self", "https://img.clerk.com"),
    "script-src": (
        "self",
        "unsafe-inline",
        "https:",
        "http:",
        "https://*.js.stripe.com",
        "https://js.stripe.com",
        "https://maps.googleapis.com",
        _PROTECT_ORIGIN,
    ),
    "style-src": ("self", "unsafe-inline"),
    "worker-src": ("self", "blob:"),
}
#: Keywords CSP wants in single quotes (Clerk adds them when missing).
_KEYWORDS: Final = frozenset(
    {"none", "self", "strict-dynamic", "unsafe-eval", "unsafe-hashes", "unsafe-inline"}
)
# Directive names and values end up in a header: no separators, controls or quotes.
_DIRECTIVE_NAME = re.compile(r"[a-z][a-z0-9-]*")
_FORBIDDEN_IN_VALUE = re.compile(r"[\x00-\x20\x7f;,]")

#: Clerk's camelCase keys of ``contentSecurityPolicy`` -> ours.
_KEYS: Final = {
    "strict": "strict",
    "reportOnly": "report_only",
    "report_only": "report_only",
    "reportTo": "report_to",
    "report_to": "report_to",
    "directives": "directives",
    "unsafeEval": "unsafe_eval",
    "unsafe_eval": "unsafe_eval",
}


def _strip_quotes(value: str) -> str:
    # JavaScript's value.replace(/^'|'$/g, ""): one quote off each end.
    if value.startswith("'"):
        value = value[1:]
    if value.endswith("'"):
        value = value[:-1]
    return value


def _format(value: str) -> str:
    """Clerk's ``formatValue``: quote a bare keyword, leave anything else as given."""
    unquoted = _strip_quotes(value)
    return f"'{unquoted}'" if _strip_quotes(unquoted) in _KEYWORDS else value


@dataclass(frozen=True, slots=True)
class ContentSecurityPolicy:
    """The ``content_security_policy`` option: Clerk's CSP headers on every response.

    Attributes:
        strict: ``'strict-dynamic'`` and a per-request nonce in ``script-src``,
            instead of the ``https:``/``http:`` wildcards.
        report_only: Send ``Content-Security-Policy-Report-Only`` instead (the
            browser reports violations but blocks nothing).
        report_to: A URL violation reports go to (``report-to csp-endpoint``
            and a ``Reporting-Endpoints`` header).
        directives: Extra directives, e.g. ``{"img-src": ["https://cdn.example.com"]}``;
            values join a default directive, a new directive is used as given,
            and ``"none"`` replaces a directive's values.
        unsafe_eval: Add ``'unsafe-eval'`` to ``script-src`` (Clerk adds it
            outside production builds); None: for development instances
            (``pk_test_...``) only.
    """

    strict: bool = False
    report_only: bool = False
    report_to: str | None = None
    directives: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unsafe_eval: bool | None = None

    def __post_init__(self) -> None:
        for name in ("strict", "report_only"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"content_security_policy.{name} must be True or False.")
        if self.unsafe_eval is not None and not isinstance(self.unsafe_eval, bool):
            raise ConfigurationError("content_security_policy.unsafe_eval must be a bool or None.")
        if self.report_to is not None and (
            not isinstance(self.report_to, str)
            or not self.report_to
            or _FORBIDDEN_IN_VALUE.search(self.report_to)
            or '"' in self.report_to
        ):
            raise ConfigurationError(
                "content_security_policy.report_to must be a URL without spaces, quotes, "
                "commas or semicolons."
            )
        object.__setattr__(self, "directives", _directives(self.directives))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> ContentSecurityPolicy:
        """Build from a mapping as Clerk's ``contentSecurityPolicy`` is written.

        Args:
            mapping: ``strict``, ``reportOnly``/``report_only``, ``reportTo``/
                ``report_to``, ``directives`` and ``unsafe_eval``.

        Returns:
            The policy.

        Raises:
            ConfigurationError: A key is unknown or a value is malformed.
        """
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            name = _KEYS.get(key) if isinstance(key, str) else None
            if name is None:
                raise ConfigurationError(
                    f"Unknown content_security_policy key {key!r}; expected strict, "
                    "report_only, report_to, directives or unsafe_eval."
                )
            if name in values:
                raise ConfigurationError(f"content_security_policy.{name} is given twice.")
            values[name] = value
        return cls(**values)


def _directives(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    items: Iterable[Any]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, tuple | list):
        items = value
    else:
        raise ConfigurationError(
            "content_security_policy.directives must map directive names to values."
        )
    found: dict[str, tuple[str, ...]] = {}
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise ConfigurationError(
                "content_security_policy.directives must map directive names to values."
            )
        name, values = item
        if not isinstance(name, str) or not _DIRECTIVE_NAME.fullmatch(name):
            raise ConfigurationError(
                f"content_security_policy: {name!r} is not a directive name "
                "(lower-case letters, digits and '-')."
            )
        listed = (values,) if isinstance(values, str) else values
        if not isinstance(listed, Sequence) or not all(isinstance(v, str) for v in listed):
            raise ConfigurationError(
                f"content_security_policy: the values of {name!r} must be strings."
            )
        for entry in listed:
            if not entry or _FORBIDDEN_IN_VALUE.search(entry):
                raise ConfigurationError(
                    f"content_security_policy: {entry!r} ({name}) is empty or holds a "
                    "space, comma, semicolon or control character."
                )
        found[name] = tuple(listed)
    return tuple(found.items())


def generate_nonce() -> str:
    """A fresh CSP nonce: 16 random bytes, base64 (as Clerk's ``generateNonce``)."""
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


def _directive_set(values: Iterable[str]) -> dict[str, None]:
    # An insertion-ordered set, as JavaScript's Set.
    return dict.fromkeys(values)


def _policy_text(
    policy: ContentSecurityPolicy, host: str, nonce: str | None, unsafe_eval: bool
) -> str:
    """Clerk's ``buildContentSecurityPolicyDirectives``."""
    directives: dict[str, dict[str, None]] = {}
    for name, defaults in _DEFAULTS.items():
        if name == "script-src" and unsafe_eval:
            defaults = (defaults[0], "unsafe-eval", *defaults[1:])  # noqa: PLW2901
        directives[name] = _directive_set(defaults)
    directives["connect-src"][host] = None
    if policy.strict:
        script = directives["script-src"]
        script.pop("http:", None)
        script.pop("https:", None)
        script["'strict-dynamic'"] = None
        if nonce:
            script[f"'nonce-{nonce}'"] = None
    custom: dict[str, dict[str, None]] = {}
    for name, values in policy.directives:
        if "'none'" in values or "none" in values:
            replaced = {"'none'": None}
            if name in _DEFAULTS:
                directives[name] = replaced
            else:
                custom[name] = replaced
        elif name in _DEFAULTS:
            directives[name] = _directive_set(
                [_format(v) for v in directives[name]] + [_format(v) for v in values]
            )
        else:
            custom[name] = _directive_set(_format(v) for v in values)
    directives.update(custom)
    # Clerk sorts with localeCompare; directive names are lower-case ASCII letters,
    # digits and '-', where it orders as plain code points do.
    return "; ".join(
        f"{name} {' '.join(_format(v) for v in values)}"
        for name, values in sorted(directives.items())
    )


def content_security_policy_headers(
    policy: ContentSecurityPolicy,
    frontend_api: str,
    *,
    nonce: str | None = None,
    development: bool = False,
) -> tuple[tuple[str, str], ...]:
    """Clerk's ``createContentSecurityPolicyHeaders``: the headers of one response.

    Args:
        policy: The option.
        frontend_api: The instance's Frontend API host (from the publishable key).
        nonce: The request's nonce (strict mode; a fresh one when None).
        development: A development instance: ``'unsafe-eval'`` unless
            ``policy.unsafe_eval`` says otherwise.

    Returns:
        ``content-security-policy`` (or ``-report-only``), ``reporting-endpoints``
        with ``report_to``, and ``x-nonce`` in strict mode.
    """
    if policy.strict and nonce is None:
        nonce = generate_nonce()
    if not policy.strict:
        nonce = None
    unsafe_eval = development if policy.unsafe_eval is None else policy.unsafe_eval
    text = _policy_text(policy, frontend_api.replace("$", "", 1), nonce, unsafe_eval)
    headers: list[tuple[str, str]] = []
    if policy.report_to:
        text += "; report-to csp-endpoint"
        headers.append(("reporting-endpoints", f'csp-endpoint="{policy.report_to}"'))
    name = "content-security-policy"
    headers.append((f"{name}-report-only" if policy.report_only else name, text))
    if nonce:
        headers.append(("x-nonce", nonce))
    return tuple(headers)
