"""Authenticate one request exactly as Clerk's ``authenticateRequest`` does.

The decision is written once, as a generator (``_Flow.run``) that yields an
effect whenever it needs Clerk's Backend API (a signing key, a handshake
payload, a session refresh) and receives the answer. ``authenticate_request``
and ``authenticate_request_async`` are the two small drivers that carry out
those effects, the first blocking, the second with ``await``; with ``jwt_key``
set, no effect is ever yielded.

Rules of this module: no framework imports; time comes only from
``options.clock``; nothing raised for request input escapes a driver.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Generator, Hashable, Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ._auth import auth_identity
from ._backend import BackendBudgetExceeded, backend_for
from ._cache import (
    DECISION_MAX_KEY_LENGTH,
    DecisionMemo,
    VerifiedToken,
    copy_claims,
    verified_tokens,
)
from ._effects import (
    Effect,
    HandshakePayloadRequest,
    KeyRequest,
    MachineVerifyError,
    MachineVerifyRequest,
    RefreshError,
    RefreshRequest,
)
from ._errors import TokenVerificationError
from ._jwt import (
    CATEGORY_M2M,
    ENSURE_CLERK_JWT,
    OAUTH_TOKEN_TYPES,
    DecodedJwt,
    check_header,
    decode_jwt,
    has_non_session_category,
    is_jwt_format,
    is_machine_jwt,
    js_string,
    verify_claims,
    verify_signature,
)
from ._keys import accounts_base_url
from ._machine import (
    M2M_SUBJECT_PREFIX,
    M2M_TOKEN_PREFIX,
    MACHINE_TOKEN_TYPES,
    OAUTH_TOKEN_PREFIX,
    AcceptsToken,
    MachineTokenType,
    invalid_jwt_type_message,
    is_machine_token,
    is_token_type_accepted,
    m2m_data_from_jwt,
    machine_error_message,
    machine_token_type,
    oauth_audience_error,
    oauth_data_from_api,
    oauth_data_from_jwt,
    token_type_of,
)
from ._options import ClerkOptions
from ._request import (
    AuthRequest,
    CookieMemo,
    parse_clerk_cookies,
    remember_cookie_header,
    remembered_cookies,
)
from ._routes import match_params
from ._state import AuthStatus, RequestState, legal_header_value
from ._url import Url, fast_origin, is_opaque_origin_url, is_valid_host, parse_url

__all__ = [
    "authenticate_request",
    "authenticate_request_async",
    "authenticate_request_offline",
    "bearer_token",
    "run_flow_async",
    "run_flow_sync",
]

Flow = Generator[Effect, Any, RequestState]

logger = logging.getLogger("clerk_middleware")

API_VERSION = "2026-05-12"
SESSION = "__session"
CLIENT_UAT = "__client_uat"
REFRESH = "__refresh"
DEV_BROWSER = "__clerk_db_jwt"
HANDSHAKE = "__clerk_handshake"
HANDSHAKE_NONCE = "__clerk_handshake_nonce"
REDIRECT_COUNT = "__clerk_redirect_count"
TIME_REASONS = frozenset({"token-expired", "token-not-active-yet", "token-iat-in-the-future"})
DEV_PORTAL_LEGACY = (".lcl.dev", ".lclstage.dev", ".lclclerk.com")
DEV_PORTAL_CURRENT = (".accounts.dev", ".accountsstage.dev", ".accounts.lclclerk.com")
ONE_DAY_MS = 86_400_000
# JavaScript digits are ASCII only; Python's \d and int() also accept other scripts' digits.
_JS_NUMBER = re.compile(
    r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?))"
)
_JS_INT_PREFIX = re.compile(r"[0-9]+")
_RADIX_DIGITS = {16: re.compile(r"[0-9a-fA-F]+"), 8: re.compile(r"[0-7]+"), 2: re.compile(r"[01]+")}
_SCHEME_PREFIX = re.compile(r"https?://", re.IGNORECASE)


class _HandshakeFailed(Exception):
    """Consuming a handshake failed in a way that lets the request flow continue."""


# --- small JavaScript semantics the flow depends on -----------------------------------------


def js_number(text: str) -> float:
    """JavaScript ``Number(text)`` for a cookie value (NaN when not numeric)."""
    text = text.strip(" \t\n\r\f\v\u00a0\ufeff")
    if text == "":
        return 0.0
    lowered = text.lower()
    for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
        if lowered.startswith(prefix):
            digits = text[2:]
            if not _RADIX_DIGITS[base].fullmatch(digits):
                return math.nan
            return float(int(digits, base))
    if _JS_NUMBER.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    return math.nan


def _js_integer(digits: str, base: int) -> int | float:
    """The double JavaScript reads from ``digits``: Infinity past the double range.

    Python's ``int()`` would refuse more than 4300 decimal digits, and exact
    integers that large are not what JavaScript compares with anyway.
    """
    significant = digits.lstrip("0")
    if len(significant) > (309 if base == 10 else 256):
        return math.inf
    return int(digits, base)


def js_parse_int(text: str) -> int | float:
    """JavaScript ``parseInt(text) || 0`` (hex with ``0x``, leading digits, else 0)."""
    if text.isascii() and text.isdigit():  # the usual cookie value: all of it is the number
        return _js_integer(text, 10)
    text = text.lstrip(" \t\n\r\f\v\u00a0\ufeff")
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    if body[:2].lower() == "0x":
        digits = _RADIX_DIGITS[16].match(body[2:])
        return sign * _js_integer(digits.group(), 16) if digits else 0
    match = _JS_INT_PREFIX.match(body)
    return sign * _js_integer(match.group(), 10) if match else 0


def _js_to_number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if value is None:
        return 0.0
    if isinstance(value, str):
        return js_number(value)
    return math.nan


def _loop_counter(cookie: str | None) -> float:
    """The ``__clerk_redirect_count`` cookie as Clerk reads it (NaN counts as 0)."""
    counter = js_number(cookie or "")
    return 0.0 if math.isnan(counter) else counter


# What a remembered cookie decision rests on besides the Cookie header (see
# _shortcut): the URL up to the first "/" after "://" (scheme and authority), the
# Host, X-Forwarded-Host and X-Forwarded-Proto headers, and the Referer when the
# cross-origin check reads it (else None).
_Context = tuple[str, str | None, str | None, str | None, str | None]
#: Where the flow remembers a signed-in answer: the memo's key and its context.
MemoKey = tuple[Hashable, _Context | None]

# What a request's cookies say (see _Flow.__init__): uses suffixed cookies, the
# session token, the refresh token, client_uat, the dev browser cookie, the
# handshake cookie, the redirect counter, the handshake nonce cookie.
_CookieFacts = tuple[
    bool, str | None, str | None, int | float, str | None, str | None, float, str | None
]


def _format_js_number(value: float) -> str:
    """JavaScript's ``String(number)`` for the values a counter cookie can produce."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def _strip_schemes(text: str) -> str:
    """``text`` with every ``http://``/``https://`` (any case) removed."""
    for prefix in ("https://", "http://"):
        # The usual issuer: one lower-case prefix and nothing else to remove.
        if text.startswith(prefix) and "://" not in text[len(prefix) :]:
            return text[len(prefix) :]
    if "://" not in text:
        return text
    return _SCHEME_PREFIX.sub("", text)


def _now_ms(options: ClerkOptions) -> int:
    """The options' clock in whole milliseconds, as the flow compares claims with it."""
    return math.floor(options.clock() * 1000)


def _skew_ms(skew: float) -> float:
    """Clerk's default skew (5 s) stands in for a non-finite one."""
    return skew if math.isfinite(skew) else 5000


def _may_carry_clerk_params(url: str) -> bool:
    """False when no ``__clerk...`` query parameter can be present in ``url``.

    Every parameter the flow reads starts with "__clerk"; without that text (or
    a tab or newline the URL parser would drop) none can be present.
    """
    return "__clerk" in url or "\t" in url or "\n" in url or "\r" in url


def bearer_token(request: AuthRequest) -> str | None:
    """The token of the request's ``Authorization`` header, as Clerk reads it (or None).

    Args:
        request: The request.

    Returns:
        The token after ``Bearer``, or the whole value when it has no space.
    """
    return _header_token(request.headers.get("authorization"))


def _header_token(value: str | None) -> str | None:
    """Clerk's Authorization parsing: ``value.split(" ", 2)``."""
    if not value:
        return None
    pieces = value.split(" ")
    scheme = pieces[0]
    token = pieces[1] if len(pieces) > 1 else ""
    if not token:
        return scheme
    return token if scheme == "Bearer" else None


# --- the request URL as Clerk sees it ---------------------------------------------------------


def _forwarded_base(request: AuthRequest, options: ClerkOptions, origin: str) -> str | None:
    """``proto://host`` from the Host and ``x-forwarded-*`` headers, if it replaces ``origin``.

    None when the request URL stands as it is (the one decision both
    ``_derive_url`` and ``_Flow._derive_origin`` rest on).
    """
    if not options.trust_forwarded_headers:
        return None
    header = request.headers.get
    forwarded_host = header("x-forwarded-host")
    forwarded_proto = header("x-forwarded-proto")
    host = forwarded_host.split(",")[0].strip() if forwarded_host is not None else header("host")
    proto = (
        forwarded_proto.split(",")[0]
        if forwarded_proto is not None
        else origin[: origin.index(":")]  # the URL's scheme
    )
    if not host or not proto:
        return None
    # Only web schemes and well-formed hosts are trusted from a header; anything
    # else keeps the real URL (a host such as "x/p" or "x?" would move text into
    # the path or query).
    if proto not in ("http", "https") or not is_valid_host(host):
        return None
    base = f"{proto}://{host}"
    return None if base == origin else base


def _derive_url(request: AuthRequest, options: ClerkOptions) -> Url:
    """The request URL with the forwarded origin applied (Clerk's ``clerkUrl``).

    Raises:
        MalformedPathError: The request URL cannot be parsed.
    """
    url = request.parsed_url
    forwarded = _forwarded_base(request, options, url.origin)
    if forwarded is None:
        return url
    # Clerk concatenates origin, path and query; resolving the path against the
    # origin instead would read a path such as "//evil.example/x" as a new host.
    try:
        return parse_url(f"{forwarded}{url.path}{'' if url.query is None else '?' + url.query}")
    except (ValueError, UnicodeError):
        return url


# --- the flow -------------------------------------------------------------------------------


class _Flow:
    """The per-request context and decision procedure (Clerk's AuthenticateContext + request.ts)."""

    def __init__(
        self,
        request: AuthRequest,
        options: ClerkOptions,
        memo_key: MemoKey | None = None,
        accepts_token: AcceptsToken | None = None,
    ) -> None:
        self.request = request
        self.options = options
        self.accepts_token = options.accepts_token if accepts_token is None else accepts_token
        # Where a signed-in decision of this request is remembered (see _shortcut).
        self.memo_key = memo_key
        self.method = request.method
        self.now_ms = _now_ms(options)
        # The full URL is parsed only when a handshake, a redirect or org sync
        # needs it (``clerk_url``); the origin and the query's Clerk parameters
        # are all a signed-in request looks at.
        self._clerk_url: Url | None = None
        self.clerk_origin = self._derive_origin()
        self._url_may_have_params = _may_carry_clerk_params(request.url)
        self.development = options.parsed_key.instance_type == "development"
        header = request.headers.get
        self.token_in_header = _header_token(header("authorization"))
        self.referrer = header("referer") or None
        self.sec_fetch_dest = header("sec-fetch-dest") or None
        self.accept = header("accept") or None
        self._decoded: dict[str, DecodedJwt | None] = {}
        # The cache entry of the token verify() last accepted (None: not cached).
        self.verified_entry: VerifiedToken | None = None
        self._suffixed: bool | None = None
        self._suffix = "_" + options.cookie_suffix
        self._cookie_header = header("cookie", "")
        # What the cookies say is a pure function of the header and, for a
        # production instance, of these two options (a development instance's
        # choice of cookie set also depends on the time), so a remembered header
        # remembers it too.
        self._facts_key = (
            None if self.development else (options.cookie_suffix, options.original_frontend_api)
        )
        self._cookie_memo: CookieMemo | None = None
        self.cookies: Mapping[str, str] = {}
        self._facts: _CookieFacts | None = None
        self.session_token_in_cookie: str | None = None
        self.refresh_token_in_cookie: str | None = None
        self.client_uat: int | float = 0
        self.loop_counter: float = 0
        self.dev_browser_token: str | None = None
        self.handshake_token: str | None = None
        self.handshake_nonce: str | None = None
        # A token in the Authorization header decides alone, and the cookies are
        # read only if it fails (``_header_flow``): Clerk branches on the header
        # before anything reads a cookie.
        if not self.token_in_header:
            self._read_cookies()

    def _read_cookies(self) -> None:
        """Parse the ``Cookie`` header (or reuse a remembered parse) and set the cookie facts."""
        if self._facts is not None:
            return
        memo = self._cookie_memo = remembered_cookies(self._cookie_header)
        facts: _CookieFacts | None = None
        if memo is not None:
            self.cookies = memo.cookies
            if self._facts_key is not None:
                facts = memo.derived.get(self._facts_key)
        else:
            # Only Clerk's cookies: every name the flow reads starts with "__".
            self.cookies = parse_clerk_cookies(self._cookie_header)
        if facts is None:
            session = self._pick_cookie(SESSION)
            facts = (
                self.uses_suffixed_cookies(),
                session,
                self._suffixed_cookie(REFRESH),
                js_parse_int(self._pick_cookie(CLIENT_UAT) or ""),
                self._pick_cookie(DEV_BROWSER),
                self._cookie(HANDSHAKE),
                _loop_counter(self._cookie(REDIRECT_COUNT)),
                self._cookie(HANDSHAKE_NONCE),
            )
        self._facts = facts
        (
            self._suffixed,
            self.session_token_in_cookie,
            self.refresh_token_in_cookie,
            self.client_uat,
            dev_browser_cookie,
            handshake_cookie,
            self.loop_counter,
            nonce_cookie,
        ) = facts
        self.dev_browser_token = self._param(DEV_BROWSER) or dev_browser_cookie
        self.handshake_token = self._param(HANDSHAKE) or handshake_cookie
        self.handshake_nonce = self._param(HANDSHAKE_NONCE) or nonce_cookie

    # -- request facts

    @property
    def clerk_url(self) -> Url:
        """The request URL as Clerk sees it (``x-forwarded-*`` applied), parsed on first use."""
        if self._clerk_url is None:
            self._clerk_url = _derive_url(self.request, self.options)
        return self._clerk_url

    @functools.cached_property
    def frontend_api(self) -> str:
        """The Frontend API the browser talks to (the proxy URL when one is set)."""
        return self.options.frontend_api(self.clerk_origin)

    def _derive_origin(self) -> str:
        """``self.clerk_url.origin``, without parsing the whole URL in the common case.

        Raises:
            MalformedPathError: The request URL cannot be parsed.
        """
        request = self.request
        origin = fast_origin(request.url)
        if origin is None:
            origin = request.parsed_url.origin  # raises for a URL that does not parse
        if _forwarded_base(request, self.options, origin) is None:
            return origin  # _derive_url keeps the request URL as it is
        return self.clerk_url.origin

    def _param(self, name: str) -> str | None:
        """``self.clerk_url.param(name)`` for a ``__clerk...`` parameter."""
        return self.clerk_url.param(name) if self._url_may_have_params else None

    def _has_dev_browser_param(self) -> bool:
        # params() percent-decodes names, so an escaped "%5F%5Fclerk..." counts too.
        if not self._url_may_have_params and "%" not in self.request.url:
            return False
        return any(k == DEV_BROWSER for k, _ in self.clerk_url.params())

    def _cookie(self, name: str) -> str | None:
        return self.cookies.get(name) or None

    def _suffixed_cookie(self, name: str) -> str | None:
        return self.cookies.get(name + self._suffix) or None

    def _pick_cookie(self, name: str) -> str | None:
        if self.uses_suffixed_cookies():
            return self._suffixed_cookie(name)
        return self._cookie(name)

    def _remember_cookies(self) -> None:
        """Remember this request's cookies and facts: its session token just verified."""
        memo: CookieMemo | None = self._cookie_memo or remember_cookie_header(
            self._cookie_header, self.cookies
        )
        key = self._facts_key
        if memo is not None and key is not None and key not in memo.derived:
            memo.derive(key, self._facts)

    def _decode_quietly(self, token: str) -> DecodedJwt | None:
        if token not in self._decoded:
            try:
                self._decoded[token] = _decode(token)
            except TokenVerificationError:
                self._decoded[token] = None
        return self._decoded[token]

    def uses_suffixed_cookies(self) -> bool:
        """Clerk's ``usesSuffixedCookies``: which of two cookie sets belongs to this instance."""
        if self._suffixed is None:
            self._suffixed = self._compute_suffixed()
        return self._suffixed

    def _compute_suffixed(self) -> bool:
        suffixed_uat = self._suffixed_cookie(CLIENT_UAT)
        uat = self._cookie(CLIENT_UAT)
        suffixed_session = self._suffixed_cookie(SESSION) or ""
        session = self._cookie(SESSION) or ""
        if session:
            decoded = self._decode_quietly(session)
            iss = decoded.payload.get("iss") if decoded else None
            if not iss:
                return False
            if not isinstance(iss, str) or (
                _strip_schemes(iss) != self.options.original_frontend_api
            ):
                return True
        if not suffixed_uat and not suffixed_session:
            return False
        session_jwt = self._decode_quietly(session) if session else None
        suffixed_jwt = self._decode_quietly(suffixed_session) if suffixed_session else None
        session_iat = (session_jwt.payload.get("iat") if session_jwt else None) or 0
        suffixed_iat = (suffixed_jwt.payload.get("iat") if suffixed_jwt else None) or 0
        if (
            suffixed_uat != "0"
            and uat != "0"
            and _js_to_number(session_iat) > _js_to_number(suffixed_iat)
        ):
            return False
        if suffixed_uat == "0" and uat != "0":
            return False
        if self.development:
            expired = suffixed_jwt is not None and (
                _js_to_number(suffixed_jwt.payload.get("exp", math.nan))
                <= math.floor(self.now_ms / 1000)
            )
            if suffixed_uat != "0" and uat == "0" and expired:
                return False
        return not (not suffixed_uat and suffixed_session)

    @property
    def session_token(self) -> str | None:
        return self.session_token_in_cookie or self.token_in_header

    def eligible_for_handshake(self) -> bool:
        if self.method != "GET":
            return False
        if self.sec_fetch_dest in ("document", "iframe"):
            return True
        return not self.sec_fetch_dest and bool(self.accept and self.accept.startswith("text/html"))

    # -- verification

    def _resolve_key(self, jwt: DecodedJwt) -> Generator[Effect, Any, RSAPublicKey]:
        if self.options.public_key is not None:
            return self.options.public_key
        key: RSAPublicKey = yield KeyRequest(_kid_of(jwt))
        return key

    def verify(
        self, jwt: DecodedJwt, *, clock_skew_in_ms: float | None = None
    ) -> Generator[Effect, Any, dict[str, Any]]:
        """Clerk's ``verifyToken``: category, key, typ, alg, signature, then claims."""
        if jwt.header.get("cat") == CATEGORY_M2M:
            raise TokenVerificationError(
                "token-invalid", "Invalid session token category.", ENSURE_CLERK_JWT
            )
        options = self.options
        key = options.public_key
        if key is None:
            key = yield from self._resolve_key(jwt)
        skew = options.clock_skew_in_ms if clock_skew_in_ms is None else clock_skew_in_ms
        skew = _skew_ms(skew)
        authorized_parties = tuple(options.authorized_parties)
        # A token that verified under this very key needs only its claims
        # re-checked (typ, alg and the signature cannot have changed).
        entry = self.verified_entry = verified_tokens.lookup(jwt.raw, key)
        if entry is None:
            check_header(jwt)
            if not verify_signature(jwt, key):
                raise TokenVerificationError("token-invalid-signature", "JWT signature is invalid.")
        elif (
            not options.audiences
            and not options.issuers
            and not callable(options.issuer)
            and entry.still_valid(self.now_ms, skew, authorized_parties)
        ):
            return entry.claims()
        verify_claims(
            jwt.payload,
            now_ms=self.now_ms,
            clock_skew_in_ms=skew,
            audiences=options.audiences,
            authorized_parties=authorized_parties,
            issuers=options.issuers,
            issuer_check=options.issuer if callable(options.issuer) else None,
        )
        if entry is None:
            entry = self.verified_entry = verified_tokens.add(jwt, key)
        # A private copy: the app may change its claims, a cached payload must not change.
        return entry.claims() if entry is not None else copy_claims(jwt.payload)

    # -- handshake

    def _handshake_location(self, reason: str) -> str:
        redirect = self.clerk_url.without_params(DEV_BROWSER, "__dev_session")
        fapi = self.frontend_api
        base = (fapi if fapi.startswith("http") else f"https://{fapi}").rstrip("/") + "/"
        target = parse_url("v1/client/handshake", parse_url(base))
        params = [
            ("redirect_url", redirect.href),
            ("__clerk_api_version", API_VERSION),
            ("suffixed_cookies", "true" if self.uses_suffixed_cookies() else "false"),
            ("__clerk_hs_reason", reason),
            ("format", "nonce"),
        ]
        if self.session_token:
            params.append((SESSION, self.session_token))
        if self.development and self.dev_browser_token:
            params.append((DEV_BROWSER, self.dev_browser_token))
        org_target = self._organization_target()
        if org_target is not None:
            params.append(("organization_id", org_target[1]))
        return target.with_params(params).href

    def maybe_handshake(
        self, reason: str, message: str, location: str | None = None
    ) -> RequestState:
        """Clerk's ``handleMaybeHandshakeStatus``."""
        if not self.eligible_for_handshake():
            return RequestState.signed_out(reason, message)
        headers = [
            ("location", location or self._handshake_location(reason)),
            ("cache-control", "no-store"),
        ]
        if self.loop_counter == 3:
            if reason == "satellite-needs-syncing":
                logger.warning(
                    "Clerk: Satellite-domain authentication resulted in an infinite redirect "
                    "loop. Check that this request is using a configured primary or satellite "
                    "domain for the production instance."
                )
            else:
                logger.warning(
                    "Clerk: Refreshing the session token resulted in an infinite redirect loop. "
                    "This usually means that your Clerk instance keys do not match - make sure "
                    "to copy the correct publishable and secret keys from the Clerk dashboard."
                )
            return RequestState.signed_out(reason, message)
        count = _format_js_number(self.loop_counter + 1)
        loop_cookie = f"{REDIRECT_COUNT}={count}; SameSite=Lax; HttpOnly; Max-Age=2"
        headers.append(("set-cookie", loop_cookie))
        return RequestState.handshake(reason, message, tuple(headers))

    def _verify_handshake_token(self, token: str) -> Generator[Effect, Any, dict[str, Any]]:
        jwt = decode_jwt(token)
        key = yield from self._resolve_key(jwt)
        check_header(jwt)
        if has_non_session_category(jwt):
            raise TokenVerificationError(
                "token-invalid", "Invalid handshake token category.", ENSURE_CLERK_JWT
            )
        if not verify_signature(jwt, key):
            raise TokenVerificationError(
                "token-invalid-signature", "Handshake signature is invalid."
            )
        return jwt.payload

    def resolve_handshake(self) -> Flow:
        """Clerk's ``resolveHandshake``: apply the handshake's cookies and verify its session."""
        headers: list[tuple[str, str]] = [
            ("access-control-allow-origin", "null"),
            ("access-control-allow-credentials", "true"),
        ]
        directives: list[Any] = []
        if self.handshake_nonce:
            try:
                directives = list((yield HandshakePayloadRequest(self.handshake_nonce)))
            except BackendBudgetExceeded as exc:
                # No call was made; the request goes on as if it had failed. The
                # message names the budget, never the nonce.
                logger.warning("Clerk: error getting handshake payload: %s.", exc)
            except Exception as exc:  # the API is down or answered garbage: no directives
                logger.error("Clerk: error getting handshake payload: %s", type(exc).__name__)
        elif self.handshake_token:
            payload = yield from self._verify_handshake_token(self.handshake_token)
            if isinstance(payload.get("handshake"), list):
                directives = payload["handshake"]
        session_token: str | None = ""
        for directive in directives:
            # Only legal header values reach a response (latin-1, no controls).
            if not isinstance(directive, str) or not legal_header_value(directive):
                raise _HandshakeFailed("malformed cookie directive")
            # Fetch Headers trims values; the name check below sees the raw string.
            headers.append(("set-cookie", directive.strip(" \t")))
            pieces = directive.split(";")[0].split("=")
            if pieces[0].startswith(SESSION):
                session_token = pieces[1] if len(pieces) > 1 else None
        if self.development:
            clean = self.clerk_url.without_params(
                HANDSHAKE, "__clerk_help", DEV_BROWSER, HANDSHAKE_NONCE
            )
            headers.append(("location", clean.href))
            headers.append(("cache-control", "no-store"))
        if session_token == "":
            return RequestState.signed_out("session-token-missing", "", tuple(headers))
        try:
            jwt = decode_jwt(session_token or "")
            claims = yield from self.verify(jwt)
        except TokenVerificationError as error:
            if self.development and error.reason in TIME_REASONS:
                logger.error(
                    "Clerk: Clock skew detected. This usually means that your system clock is "
                    "inaccurate. Clerk will attempt to account for the clock skew in "
                    "development. %s",
                    error.full_message("cookie"),
                )
                try:
                    claims = yield from self.verify(jwt, clock_skew_in_ms=ONE_DAY_MS)
                except TokenVerificationError as retry_error:
                    raise _HandshakeFailed(retry_error.message) from retry_error
            else:
                raise _HandshakeFailed(error.message) from error
        return RequestState.signed_in(claims, session_token or "", tuple(headers))

    # -- cross-origin and organization checks

    def _is_cross_origin_referrer(self) -> bool:
        if not self.referrer:
            return False
        try:
            origin = fast_origin(self.referrer) or parse_url(self.referrer).origin
            return origin != self.clerk_origin
        except (ValueError, UnicodeError):
            # A URL of another scheme (about:blank, data:, android-app://...) has
            # the opaque origin "null": cross-origin, as in browsers and Clerk.
            return is_opaque_origin_url(self.referrer)

    def _is_known_clerk_referrer(self) -> bool:
        if not self.referrer:
            return False
        if is_opaque_origin_url(self.referrer):
            return False
        try:
            referrer = parse_url(self.referrer)
            host = referrer.hostname
            fapi = self.frontend_api
            fapi_host = parse_url(fapi).hostname if fapi.startswith("http") else fapi
            if host == fapi_host:
                return True
            if self.development:
                if host.startswith("accounts.") and host.endswith(DEV_PORTAL_LEGACY):
                    return True
                if any(
                    host.endswith(s) and not host.endswith(".clerk" + s) for s in DEV_PORTAL_CURRENT
                ):
                    return True
            accounts = accounts_base_url(fapi)
            return bool(accounts) and parse_url(accounts).origin == referrer.origin
        except (ValueError, UnicodeError):
            return False

    def _organization_target(self) -> tuple[str, str] | None:
        """Clerk's ``OrganizationMatcher.findTarget`` on the current path.

        Returns ``("id", value)`` or ``("slug", value)`` for an organization
        pattern, ``("personal", "")`` for a personal-account pattern, or None.
        """
        sync = self.options.organization_sync_options
        if sync is None:
            return None
        path = self.clerk_url.path
        if sync.organization_patterns:
            params = match_params(sync.organization_patterns, path)
            if params is not None:
                if params.get("id"):
                    return ("id", params["id"])
                if params.get("slug"):
                    return ("slug", params["slug"])
        if sync.personal_account_patterns and (
            match_params(sync.personal_account_patterns, path) is not None
        ):
            return ("personal", "")
        return None

    def _organization_sync(self, org_id: Any, org_slug: Any) -> RequestState | None:
        """Clerk's ``handleMaybeOrganizationSyncHandshake``."""
        target = self._organization_target()
        if target is None:
            return None
        kind, value = target
        if kind == "id":
            must_activate = value != org_id
        elif kind == "slug":
            must_activate = value != org_slug
        else:
            must_activate = bool(org_id)
        if not must_activate:
            return None
        if self.loop_counter >= 3:
            logger.warning(
                "Clerk: Organization activation handshake loop detected. This is likely due to "
                "an invalid organization ID or slug. Skipping organization activation."
            )
            return None
        state = self.maybe_handshake("active-organization-mismatch", "")
        return state if state.status is AuthStatus.HANDSHAKE else None

    # -- errors

    def handle_error(self, error: Exception, carrier: str) -> Flow:
        """Clerk's ``handleSessionTokenError``: refresh, handshake, or signed out."""
        if not isinstance(error, TokenVerificationError):
            return RequestState.signed_out("unexpected-error")
        refresh_error: str | None
        if (
            error.reason == "token-expired"
            and self.refresh_token_in_cookie
            and self.method == "GET"
        ):
            outcome = yield from self._attempt_refresh()
            if isinstance(outcome, RequestState):
                return outcome
            refresh_error = outcome
        elif self.method != "GET":
            refresh_error = "non-eligible-non-get"
        elif not self.refresh_token_in_cookie:
            refresh_error = "non-eligible-no-refresh-cookie"
        else:
            refresh_error = None
        message = error.full_message(carrier)
        if error.reason in TIME_REASONS:
            if error.reason == "token-expired":
                reason = f"session-token-expired-refresh-{refresh_error}"
            elif error.reason == "token-not-active-yet":
                reason = "session-token-nbf"
            else:
                reason = "session-token-iat-in-the-future"
            return self.maybe_handshake(reason, message)
        return RequestState.signed_out(error.reason, message)

    def _attempt_refresh(self) -> Generator[Effect, Any, RequestState | str]:
        expired = self.session_token
        if not expired:
            return "missing-session-token"
        refresh = self.refresh_token_in_cookie
        if not refresh:
            return "missing-refresh-token"
        decoded = self._decode_quietly(expired)
        if decoded is None:
            return "expired-session-token-decode-failed"
        sid = decoded.payload.get("sid")
        if not sid:
            return "expired-session-token-missing-sid-claim"
        request_headers = {name: [value] for name, value in self.request.headers.items()}
        try:
            cookies = yield RefreshRequest(
                session_id=str(sid),
                expired_token=expired,
                refresh_token=refresh,
                suffixed_cookies=self.uses_suffixed_cookies(),
                request_origin=self.clerk_origin,
                request_headers=request_headers,
            )
        except RefreshError as exc:
            return exc.reason
        except Exception:
            return "unexpected-bapi-error"
        if not cookies:
            return "unexpected-sdk-error"
        headers: list[tuple[str, str]] = []
        session_token: str | None = ""
        for directive in cookies:
            # Only legal header values reach a response (latin-1, no controls).
            if not isinstance(directive, str) or not legal_header_value(directive):
                return "unexpected-sdk-error"
            # Fetch Headers trims values; the name check below sees the raw string.
            headers.append(("set-cookie", directive.strip(" \t")))
            pieces = directive.split(";")[0].split("=")
            if pieces[0].startswith(SESSION):
                session_token = pieces[1] if len(pieces) > 1 else None
        try:
            jwt = decode_jwt(session_token or "")
            claims = yield from self.verify(jwt)
        except TokenVerificationError:
            return "invalid-session-token"
        return RequestState.signed_in(claims, session_token or "", tuple(headers))

    def _remember_decision(self, token: str) -> None:
        """Remember a plain signed-in decision (no response headers) under ``memo_key``.

        Callers are the two places a session token alone decided signed in. A
        request that carried a handshake (cookie or parameter) is not remembered:
        its handshake is resolved first, every time.
        """
        memo = self.options.decision_memo
        entry = self.verified_entry
        if (
            memo is None
            or self.memo_key is None
            or entry is None
            or self.handshake_nonce
            or self.handshake_token
        ):
            return
        key, context = self.memo_key
        memo.put(key, entry, token, context)

    # -- the two flows

    def run(self) -> Flow:
        """Decide; the entry point of both drivers (Clerk's ``acceptsToken`` dispatch)."""
        accepts = self.accepts_token
        token = self.token_in_header
        if isinstance(accepts, tuple) and not is_token_type_accepted(token_type_of(token), accepts):
            return RequestState.invalid_token()
        if token:
            if accepts == "session_token":
                return (yield from self._header_flow(token))
            if accepts == "any" or isinstance(accepts, tuple):
                if is_machine_token(token):
                    return (yield from self._machine_flow(token))
                return (yield from self._header_flow(token))
            if not is_machine_token(token):
                return RequestState.signed_out("token-type-mismatch", "", token_type=accepts)
            return (yield from self._machine_flow(token))
        if accepts in MACHINE_TOKEN_TYPES:
            return RequestState.signed_out("No token in header", token_type=accepts)
        return (yield from self._cookie_flow())

    # -- machine tokens

    def _machine_flow(self, token: str) -> Flow:
        """A machine token in the header: the type check, then ``verifyMachineAuthToken``."""
        accepts = self.accepts_token
        parsed = machine_token_type(token)
        if not is_token_type_accepted(parsed, accepts):
            shown = accepts if isinstance(accepts, str) else parsed
            return RequestState.signed_out("token-type-mismatch", token_type=shown)  # type: ignore[arg-type]
        try:
            token_type, data = yield from self._verify_machine(token, parsed)
        except MachineVerifyError as error:
            reported = error.token_type or parsed
            if isinstance(error, _ForeignMachineError):
                return RequestState.signed_out("unexpected-error", token_type=reported)
            message = machine_error_message(error.message, error.code, error.status)
            return RequestState.signed_out(error.code, message, token_type=reported)
        return RequestState.machine_signed_in(token_type, data, token)

    def _verify_machine(
        self, token: str, parsed: MachineTokenType
    ) -> Generator[Effect, Any, tuple[MachineTokenType, dict[str, Any]]]:
        """Clerk's ``verifyMachineAuthToken``: JWT forms here, opaque ones by the Backend API.

        Raises:
            MachineVerifyError: With ``token_type`` set to the type Clerk reports.
        """
        if is_jwt_format(token):
            try:
                jwt = decode_jwt(token)
            except TokenVerificationError as error:
                raise _machine_error("m2m_token", "token-invalid", error.message) from None
            sub = jwt.payload.get("sub")
            if isinstance(sub, str) and sub.startswith(M2M_SUBJECT_PREFIX):
                if "cat" in jwt.header and jwt.header["cat"] != CATEGORY_M2M:
                    raise _machine_error("m2m_token", "token-invalid", "Invalid M2M JWT category.")
                payload = yield from self._verify_machine_jwt(jwt, "m2m_token", ("JWT",))
                return "m2m_token", m2m_data_from_jwt(payload)
            if jwt.header.get("typ") in OAUTH_TOKEN_TYPES:
                payload = yield from self._verify_machine_jwt(jwt, "oauth_token", OAUTH_TOKEN_TYPES)
                problem = oauth_audience_error(payload.get("aud", ...), self.options.audiences)
                if problem is not None:
                    raise _machine_error("oauth_token", "token-verification-failed", problem)
                return "oauth_token", oauth_data_from_jwt(payload)
            message = invalid_jwt_type_message(jwt.header.get("typ", ...))
            raise _machine_error("oauth_token", "token-verification-failed", message)
        if token.startswith(M2M_TOKEN_PREFIX):
            token_type: MachineTokenType = "m2m_token"  # noqa: S105 - a token type
        elif token.startswith(OAUTH_TOKEN_PREFIX):
            token_type = "oauth_token"  # noqa: S105 - a token type
        else:
            token_type = parsed
        try:
            data = yield MachineVerifyRequest(token_type, token)
        except MachineVerifyError as error:
            error.token_type = token_type
            raise
        except Exception:
            # Clerk: anything but its own verification error is an unexpected error.
            raise _machine_error(token_type, "unexpected-error", "", bare=True) from None
        if not _is_verified_resource(data):
            # Clerk's SDK signs in on any 200 answer, even one that names no token
            # (a proxy's error page, ``{}``); we sign nobody in on what we cannot read.
            logger.warning(
                "Clerk: the Backend API's answer to a machine token verification (%s) "
                "describes no token; the request is signed out",
                token_type,
            )
            raise _machine_error(token_type, "unexpected-error", "Unexpected error")
        if token_type == "oauth_token":  # noqa: S105 - a token type
            problem = oauth_audience_error(data.get("aud", ...), self.options.audiences)
            if problem is not None:
                raise _machine_error("oauth_token", "token-verification-failed", problem)
            return token_type, oauth_data_from_api(data)
        return token_type, dict(data)

    def _verify_machine_jwt(
        self, jwt: DecodedJwt, token_type: MachineTokenType, types: tuple[str, ...]
    ) -> Generator[Effect, Any, dict[str, Any]]:
        """Clerk's ``resolveKeyAndVerifyJwt``: key, typ, alg, signature, sub/aud/exp/nbf/iat.

        No ``azp`` or issuer checks (Clerk passes neither); ``aud`` is checked for
        M2M tokens only (OAuth tokens are checked against ``audience`` afterwards).
        """
        options = self.options
        key = options.public_key
        try:
            if key is None:
                if not options.secret_key:
                    raise TokenVerificationError(
                        "jwk-failed-to-resolve", "Failed to resolve JWK during verification."
                    )
                try:
                    key = yield KeyRequest(_kid_of(jwt))
                except TokenVerificationError:
                    raise
                except Exception:
                    raise _machine_error(token_type, "unexpected-error", "", bare=True) from None
            check_header(jwt, types)
            if not verify_signature(jwt, key):
                raise TokenVerificationError("token-invalid-signature", "JWT signature is invalid.")
            verify_claims(
                jwt.payload,
                now_ms=self.now_ms,
                clock_skew_in_ms=_skew_ms(options.clock_skew_in_ms),
                audiences=options.audiences if token_type == "m2m_token" else (),  # noqa: S105
                authorized_parties=(),
                issuers=(),
                issuer_check=None,
            )
        except TokenVerificationError as error:
            raise _machine_error(token_type, "token-verification-failed", error.message) from None
        return copy_claims(jwt.payload)

    def _header_flow(self, token: str) -> Flow:
        try:
            jwt = _decode(token)
        except TokenVerificationError as error:
            self._read_cookies()  # refresh and handshake decisions read them
            return (yield from self.handle_error(error, "header"))
        if is_machine_jwt(jwt) or has_non_session_category(jwt):
            return RequestState.signed_out("token-type-mismatch", "")
        try:
            claims = yield from self.verify(jwt)
        except TokenVerificationError as error:
            self._read_cookies()
            return (yield from self.handle_error(error, "header"))
        self._remember_decision(token)
        return RequestState.signed_in(claims, token)

    def _cookie_flow(self) -> Flow:
        has_active_client = self.client_uat != 0
        session_cookie = self.session_token_in_cookie
        if self.handshake_nonce or self.handshake_token:
            try:
                return (yield from self.resolve_handshake())
            except TokenVerificationError as error:
                if self.development and error.reason == "token-invalid-signature":
                    logger.error(
                        "Clerk: Handshake token verification failed due to an invalid "
                        "signature. If you have switched Clerk keys locally, clear your "
                        "cookies and try again."
                    )
                else:
                    logger.error("Clerk: unable to resolve handshake: %s", error.reason)
            except _HandshakeFailed:
                logger.error("Clerk: unable to resolve handshake.")

        options = self.options
        synced = self._param("__clerk_synced")
        if (
            options.is_satellite
            and self.sec_fetch_dest == "document"
            and self.method == "GET"
            and synced != "true"
        ):
            has_cookies = bool(session_cookie) or has_active_client
            needs_sync = synced == "false"
            if options.satellite_auto_sync is not True and not has_cookies and not needs_sync:
                return RequestState.signed_out("session-token-and-uat-missing")
            if not has_cookies or needs_sync:
                if not self.development:
                    return self.maybe_handshake("satellite-needs-syncing", "")
                sign_in = parse_url(options.sign_in_url or "")
                location = sign_in.appending("__clerk_redirect_url", self.clerk_url.href).href
                return self.maybe_handshake("satellite-needs-syncing", "", location)

        redirect_back = self._param("__clerk_redirect_url")
        if self.development and not options.is_satellite and redirect_back:
            try:
                target = parse_url(redirect_back)
            except (ValueError, UnicodeError):
                target = None
            if target is not None:
                if self.dev_browser_token:
                    target = target.appending(DEV_BROWSER, self.dev_browser_token)
                target = target.setting("__clerk_synced", "true")
                return self.maybe_handshake("primary-responds-to-syncing", "", target.href)

        if self.development and self._has_dev_browser_param():
            return self.maybe_handshake("dev-browser-sync", "")
        if self.development and not self.dev_browser_token:
            return self.maybe_handshake("dev-browser-missing", "")
        if not has_active_client and not session_cookie:
            return RequestState.signed_out("session-token-and-uat-missing")
        if not has_active_client:
            return self.maybe_handshake("session-token-but-no-client-uat", "")
        if not session_cookie:
            return self.maybe_handshake("client-uat-but-no-session-token", "")

        try:
            # The cookie-selection rules may already have decoded this token.
            jwt = self._decoded.get(session_cookie) or _decode(session_cookie)
        except TokenVerificationError as error:
            return (yield from self.handle_error(error, "cookie"))
        if is_machine_jwt(jwt) or has_non_session_category(jwt):
            return RequestState.signed_out("token-type-mismatch", "")
        if _js_to_number(jwt.payload.get("iat", math.nan)) < self.client_uat:
            return self.maybe_handshake("session-token-iat-before-client-uat", "")
        try:
            claims = yield from self.verify(jwt)
        except TokenVerificationError as error:
            return (yield from self.handle_error(error, "cookie"))
        if not claims.get("azp"):
            _warn_missing_azp()
        self._remember_cookies()
        state = RequestState.signed_in(claims, session_cookie)
        if (
            not options.is_satellite
            and self.method == "GET"
            and self.sec_fetch_dest == "document"
            and self._is_cross_origin_referrer()
            and not self._is_known_clerk_referrer()
            and self.loop_counter == 0
        ):
            return self.maybe_handshake(
                "primary-domain-cross-origin-sync",
                "Cross-origin request from satellite domain requires handshake",
            )
        # Clerk builds the auth object here, and the request fails if it cannot be
        # built; only v2 organization claims can make it fail.
        if options.organization_sync_options is None and not (
            claims.get("v") == 2 and "o" in claims
        ):
            self._remember_decision(session_cookie)
            return state
        entry = self.verified_entry
        identity = entry.identity if entry is not None else None
        if identity is None:
            try:
                identity = auth_identity(claims)
            except (ValueError, TypeError):
                return RequestState.signed_out("unexpected-error")
            if entry is not None:  # a pure function of the token's claims
                entry.identity = identity
        user_id, org_id, org_slug = identity
        if user_id and options.organization_sync_options is not None:
            handshake = self._organization_sync(org_id, org_slug)
            if handshake is not None:
                return handshake
        self._remember_decision(session_cookie)
        return state


class _ForeignMachineError(MachineVerifyError):
    """A machine verification failed with an error that is not Clerk's own.

    Clerk answers those with the reason ``unexpected-error`` and no message.
    """


def _is_verified_resource(data: object) -> bool:
    """Whether a verify endpoint's answer describes a token: a string ``id`` and ``subject``."""
    if not isinstance(data, Mapping):
        return False
    token_id, subject = data.get("id"), data.get("subject")
    return (
        bool(token_id) and isinstance(token_id, str) and bool(subject) and isinstance(subject, str)
    )


def _machine_error(
    token_type: MachineTokenType, code: str, message: str, *, bare: bool = False
) -> MachineVerifyError:
    """A machine verification failure of ``token_type`` (``bare``: a foreign error)."""
    error = (_ForeignMachineError if bare else MachineVerifyError)(code, message)
    error.token_type = token_type
    return error


def _kid_of(jwt: DecodedJwt) -> str | None:
    """The ``kid`` to look the key up by: Clerk reads it as a property name, ``String(kid)``."""
    kid = jwt.header.get("kid")
    if isinstance(kid, str):
        return kid
    return None if kid is None and "kid" not in jwt.header else js_string(kid)


def _decode(token: str) -> DecodedJwt:
    """``decode_jwt(token)``, reusing the decode of a token verified before."""
    entry = verified_tokens.get(token)
    return entry.jwt if entry is not None else decode_jwt(token)


@functools.cache
def _warn_missing_azp() -> None:
    # Cached: Clerk warns once per process.
    logger.warning(
        "Clerk: Session token from cookie is missing the azp claim. In a future version of "
        "Clerk, this token will be considered invalid."
    )


def start_flow(
    request: AuthRequest,
    options: ClerkOptions,
    memo_key: MemoKey | None = None,
    accepts_token: AcceptsToken | None = None,
) -> Flow | RequestState:
    """Create the flow for a request, or the final state if the request cannot be read.

    Args:
        request: The request.
        options: Validated configuration.
        memo_key: Where to remember a signed-in decision (``_shortcut``), if anywhere.
        accepts_token: The accepted token types; None: ``options.accepts_token``.
    """
    try:
        return _Flow(request, options, memo_key, accepts_token).run()
    except (ValueError, UnicodeError):
        return RequestState.signed_out("unexpected-error", "The request URL could not be parsed.")


# --- repeated requests ------------------------------------------------------------------------


#: Clerk's answer to a request without any Clerk cookie or token; immutable, so shared.
_NO_SESSION: Final = RequestState.signed_out("session-token-and-uat-missing")


def _shortcut(
    request: AuthRequest, options: ClerkOptions, memo: DecisionMemo
) -> RequestState | MemoKey | None:
    """Decide a request without the flow where its answer cannot depend on more than we read.

    For an instance with a ``decision_memo`` (production, not a satellite, no
    organization sync, no callable issuer), a request whose URL parses and may
    not carry a ``__clerk`` parameter (handshake, sync) is either:

    - anonymous: no Bearer token and no cookie whose name contains
      ``__session``, ``__client_uat`` or ``__clerk`` (cookie names are not
      decoded). The flow then finds no handshake, no session and a zero
      ``__client_uat``: Clerk's ``session-token-and-uat-missing``, returned here;
    - or answered from ``memo`` / keyed for it by what the flow reads on its way
      to a plain signed-in answer: with a Bearer token, that token; otherwise
      the ``Cookie`` header (every cookie fact: which set, the session token,
      ``__client_uat``, handshake and loop cookies), with the inputs of the
      origin Clerk sees (``_Context``: the URL's scheme and authority, ``Host``,
      ``x-forwarded-*``) and for a GET document request the ``Referer`` (the
      cross-origin check). The clock and the key are checked on every hit
      (``_current``).

    Returns:
        The final state; or the memo key under which the flow remembers a
        signed-in answer; or None (decide in full, remember nothing).
    """
    url = request.url
    if _may_carry_clerk_params(url):
        return None
    header = request.headers.get
    token = _header_token(header("authorization"))
    if token:
        if fast_origin(url) is None:
            return None
        key = (token,)  # the header flow reads nothing else (the URL parses)
        found = memo.get(key)
        state = None if found is None else _current(found, options)
        return (key, None) if state is None else state
    cookie = header("cookie", "")
    if SESSION not in cookie and CLIENT_UAT not in cookie and "__clerk" not in cookie:
        return _NO_SESSION if fast_origin(url) is not None else None
    if len(cookie) > DECISION_MAX_KEY_LENGTH:
        return None
    referrer = None
    if request.method == "GET" and header("sec-fetch-dest") == "document":
        referrer = header("referer") or None
    found = memo.get(cookie)
    if found is not None and _same_context(found[2], url, header, referrer):
        state = _current(found, options)
        if state is not None:
            return state
    if fast_origin(url) is None:
        return None
    slash = url.find("/", url.index("://") + 3)
    context: _Context = (
        url if slash < 0 else url[:slash],
        header("host"),
        header("x-forwarded-host"),
        header("x-forwarded-proto"),
        referrer,
    )
    return (cookie, context)


def _same_context(
    context: _Context | None, url: str, header: Callable[[str], str | None], referrer: str | None
) -> bool:
    """True when a request's ``url`` and headers (``header``) match a remembered context.

    That is, they give the origin and referrer a remembered cookie decision saw.

    The origin Clerk sees is a function of the URL's scheme and authority (all
    within ``context[0]``, which ends where the first ``/`` after ``://``
    begins) and, when the forwarded headers are trusted, of ``Host`` and
    ``x-forwarded-*`` (``_forwarded_base``; the path it is joined with cannot
    move the origin): equal inputs, equal origin, with nothing parsed.
    """
    if context is None:
        return False
    prefix, host, forwarded_host, forwarded_proto, seen_referrer = context
    end = len(prefix)
    if not url.startswith(prefix) or (len(url) != end and url[end] != "/"):
        return False
    return (
        referrer == seen_referrer
        and header("host") == host
        and header("x-forwarded-host") == forwarded_host
        and header("x-forwarded-proto") == forwarded_proto
    )


def _current(
    found: tuple[VerifiedToken, str, Any, int], options: ClerkOptions
) -> RequestState | None:
    """The remembered signed-in answer, if the full flow would decide the same now."""
    entry, token, _, _ = found
    key_now = options.public_key
    if key_now is None:
        key_now = backend_for(options).cached_key(_kid_of(entry.jwt))
    # _now_ms and _skew_ms written out: this runs on every repeated request.
    skew = options.clock_skew_in_ms
    if key_now is not entry.key or not entry.still_valid(
        math.floor(options.clock() * 1000),
        skew if math.isfinite(skew) else 5000,
        options.authorized_parties,
    ):
        return None
    return RequestState.signed_in(copy_claims(entry.jwt.payload, entry.copy_plan), token)


def _session_path(accepts_token: AcceptsToken) -> bool:
    """True when every request takes the session path it takes with ``"session_token"``.

    With ``"any"`` or a list naming ``session_token``, a request whose header
    token is not a machine token, or that has no header token, is decided by
    the very steps the default decides it by; only a machine token branches
    off, and machine decisions are never remembered. So the anonymous rule and
    the decision memo (whose keys name no token type) stay exact for these.
    A single machine type, or a list without ``session_token``, decides every
    request differently: no shortcut.
    """
    if accepts_token in ("session_token", "any"):
        return True
    return isinstance(accepts_token, tuple) and "session_token" in accepts_token


def _begin(
    request: AuthRequest, options: ClerkOptions, accepts_token: AcceptsToken | None = None
) -> Flow | RequestState:
    """The decision, where it is known without the flow; else the flow that will make it.

    Both drivers start here: the anonymous rule and the decision memo first
    (``_shortcut``), then ``start_flow`` with the key under which a signed-in
    answer will be remembered.
    """
    accepts = options.accepts_token if accepts_token is None else accepts_token
    memo = options.decision_memo if accepts == "session_token" or _session_path(accepts) else None
    key: MemoKey | None = None
    if memo is not None:
        try:
            found = _shortcut(request, options, memo)
            if isinstance(found, RequestState):
                return found
            key = found
        except Exception:  # only a shortcut: the full flow decides (and reports)
            key = None
    return start_flow(request, options, key, accepts)


def run_flow_sync(flow: Flow, perform: Any) -> RequestState:
    """Drive a flow, performing each effect with the blocking callable ``perform``."""
    try:
        effect = next(flow)
        while True:
            try:
                result = perform(effect)
            except Exception as exc:
                effect = flow.throw(exc)
            else:
                effect = flow.send(result)
    except StopIteration as stop:
        state: RequestState = stop.value
        return state


async def run_flow_async(flow: Flow, perform: Any) -> RequestState:
    """Drive a flow, awaiting the coroutine function ``perform`` for each effect."""
    try:
        effect = next(flow)
        while True:
            try:
                result = await perform(effect)
            except Exception as exc:
                effect = flow.throw(exc)
            else:
                effect = flow.send(result)
    except StopIteration as stop:
        state: RequestState = stop.value
        return state


def _fail_closed(exc: BaseException) -> RequestState:
    # A bug of ours must never turn into "signed in" or an exception in the
    # app: log the type only (messages could quote input) and sign out.
    logger.error("Clerk: internal error while authenticating a request: %s", type(exc).__name__)
    return RequestState.signed_out("unexpected-error")


def _debug(request: AuthRequest, options: ClerkOptions, state: RequestState) -> RequestState:
    """With ``options.debug``, log the decision: method, path, status and reason.

    Only the path is logged (a query may carry tokens), never a token or message.
    """
    if options.debug:
        path = request.url.split("?", 1)[0].split("#", 1)[0]
        logger.info(
            "Clerk: %s %s -> %s%s",
            request.method,
            path[:200],
            state.status.value,
            f" ({state.reason})" if state.reason else "",
        )
    return state


def authenticate_request(
    request: AuthRequest, options: ClerkOptions, *, accepts_token: AcceptsToken | None = None
) -> RequestState:
    """Decide whether a request is signed in, signed out, or needs a handshake.

    The same answer as Clerk's ``authenticateRequest`` (``@clerk/backend``) for the
    same request. Pending sessions are signed in at this level; ``to_auth()``
    treats them as signed out by default.

    Args:
        request: The request, as built by an adapter.
        options: Validated configuration.
        accepts_token: The token types to accept (Clerk's ``acceptsToken``):
            ``"session_token"``, ``"api_key"``, ``"m2m_token"``, ``"oauth_token"``,
            ``"any"`` or a tuple of types; None (the default) takes
            ``options.accepts_token``. Machine tokens come only from the
            ``Authorization`` header; an opaque one (``ak_``, ``mt_``, ``oat_``)
            is verified by the Backend API, a JWT-form one like a session token.

    Returns:
        The request state. Nothing raised for any request input: malformed
        tokens, cookies or headers resolve to a signed-out state with a reason.
    """
    flow = _begin(request, options, accepts_token)
    if isinstance(flow, RequestState):
        return _debug(request, options, flow) if options.debug else flow

    def perform(effect: Effect) -> Any:
        # Looked up on the first effect only: with jwt_key most requests have none.
        return backend_for(options).perform(effect)

    try:
        state = run_flow_sync(flow, perform)
    except Exception as exc:
        state = _fail_closed(exc)
    return _debug(request, options, state)


class _NeedsBackend(BaseException):
    # A BaseException: the flow's own handlers (``except Exception``) must not
    # turn "not decidable offline" into a decision.
    pass


def authenticate_request_offline(
    request: AuthRequest, options: ClerkOptions, *, accepts_token: AcceptsToken | None = None
) -> RequestState | None:
    """The decision of ``authenticate_request`` if it needs no Backend API call, else None.

    Signing keys come from the instance's key cache (or ``jwt_key``); any other
    effect (an opaque machine token, a refresh, a handshake payload, a key not
    cached) means the decision cannot be made without I/O: None. Adapters use
    it where blocking is not allowed (a sync call on an event loop).

    Args:
        request: The request.
        options: Validated configuration.
        accepts_token: As for ``authenticate_request``.

    Returns:
        The request state, or None.
    """
    flow = _begin(request, options, accepts_token)
    if isinstance(flow, RequestState):
        return _debug(request, options, flow) if options.debug else flow

    def perform(effect: Effect) -> Any:
        if isinstance(effect, KeyRequest):
            key = backend_for(options).cached_key(effect.kid)
            if key is not None:
                return key
        raise _NeedsBackend

    try:
        state = run_flow_sync(flow, perform)
    except _NeedsBackend:
        flow.close()
        return None
    except Exception as exc:
        state = _fail_closed(exc)
    return _debug(request, options, state)


async def authenticate_request_async(
    request: AuthRequest, options: ClerkOptions, *, accepts_token: AcceptsToken | None = None
) -> RequestState:
    """The ``async`` twin of ``authenticate_request``: same decision, non-blocking I/O.

    Args:
        request: The request, as built by an adapter.
        options: Validated configuration.
        accepts_token: As for ``authenticate_request``.

    Returns:
        The request state; identical to what ``authenticate_request`` returns.
    """
    flow = _begin(request, options, accepts_token)
    if isinstance(flow, RequestState):
        return _debug(request, options, flow) if options.debug else flow

    async def perform(effect: Effect) -> Any:
        return await backend_for(options).perform_async(effect)

    try:
        state = await run_flow_async(flow, perform)
    except Exception as exc:
        state = _fail_closed(exc)
    return _debug(request, options, state)
