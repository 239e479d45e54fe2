"""Clerk's Frontend API proxy (``clerkMiddleware``'s ``frontendApiProxy``).

With ``frontend_api_proxy`` enabled, requests under its path (``/__clerk`` by
default) never reach the app or authentication: they are forwarded to Clerk's
Frontend API, as ``@clerk/backend``'s ``clerkFrontendApiProxy`` forwards them,
so that the browser talks to Clerk through the app's own domain. The request
goes to ``<Frontend API><path after the prefix>?<query>`` with its headers
less the hop-by-hop ones, plus ``Clerk-Proxy-Url`` (the public origin and the
path), ``Clerk-Secret-Key``, ``Host``, ``Accept-Encoding: identity`` and the
``X-Forwarded-*`` headers; redirects are not followed. The answer comes back
with its status, its headers less the hop-by-hop ones, ``Content-Encoding``
and ``Content-Length`` (every ``Set-Cookie`` kept), and a ``Location`` on the
Frontend API rewritten to go through the proxy again.

``plan_proxy`` (what to send) and ``proxy_response_headers`` (what to answer)
are pure; the conformance suite runs Clerk's own proxy on the same requests.
``forward``/``forward_async`` do the I/O with httpx: one timeout for the
whole exchange, bounded bodies, and a ``502`` in Clerk's error shape when the
Frontend API cannot be reached.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import ssl
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import anyio
import httpx

from ._errors import ConfigurationError
from ._url import parse_url

__all__ = [
    "DEFAULT_PROXY_PATH",
    "FrontendApiProxy",
    "ProxyAnswer",
    "ProxyCall",
    "fapi_url_for",
    "forward",
    "forward_async",
    "plan_proxy",
    "proxy_path_matches",
    "proxy_response_headers",
]

DEFAULT_PROXY_PATH: Final = "/__clerk"
_PROD_FAPI_URL: Final = "https://frontend-api.clerk.dev"
_LOCAL_FAPI_URL: Final = "https://frontend-api.lclclerk.com"
_STAGING_FAPI_URL: Final = "https://frontend-api.clerkstage.dev"
_LEGACY_DEV_SUFFIXES: Final = (".lcl.dev", ".lclstage.dev", ".lclclerk.com")
_LOCAL_SUFFIXES: Final = (".lcl.dev", "lclstage.dev", ".lclclerk.com", ".accounts.lclclerk.com")
_STAGING_SUFFIXES: Final = (".accountsstage.dev",)

_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
#: Stripped from the answer: the body is passed on decoded and re-framed.
_STRIPPED: Final = frozenset({"content-encoding", "content-length"})

Headers = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class FrontendApiProxy:
    """The ``frontend_api_proxy`` option: serve Clerk's Frontend API under the app's domain.

    Attributes:
        enabled: Whether requests under ``path`` are proxied.
        path: Where the Frontend API is served, e.g. ``"/__clerk"``. Also the
            ``proxy_url`` authentication uses when none is set.
        fapi_url: The Frontend API to forward to (default: Clerk's, as derived
            from the publishable key; a local test instance's ``url`` in tests).
        timeout: Seconds the whole exchange with the Frontend API may take.
        max_request_bytes: Largest request body forwarded (larger: 413).
        max_response_bytes: Largest answer passed on (a longer one is cut off).
    """

    enabled: bool = True
    path: str = DEFAULT_PROXY_PATH
    fapi_url: str | None = None
    timeout: float = 10.0
    max_request_bytes: int = 1024 * 1024
    max_response_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigurationError("frontend_api_proxy.enabled must be True or False.")
        path = self.path
        if (
            not isinstance(path, str)
            or not path.startswith("/")
            or path.startswith("//")
            or any(c in path for c in "?#\\ \t\r\n")
        ):
            raise ConfigurationError(
                "frontend_api_proxy.path must be a path such as '/__clerk' (no query, "
                f"fragment, spaces or backslashes), got {path!r}."
            )
        stripped = path.rstrip("/")
        if not stripped:
            raise ConfigurationError("frontend_api_proxy.path cannot be '/': the whole app.")
        object.__setattr__(self, "path", stripped)
        if self.fapi_url is not None:
            object.__setattr__(self, "fapi_url", _normalise_fapi_url(self.fapi_url))
        timeout = self.timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ConfigurationError("frontend_api_proxy.timeout must be a positive number.")
        for name in ("max_request_bytes", "max_response_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigurationError(f"frontend_api_proxy.{name} must be a positive int.")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> FrontendApiProxy:
        """Build from Clerk's ``frontendApiProxy`` object (``enabled``, ``path``) or our names.

        Raises:
            ConfigurationError: A key is unknown or a value is malformed.
        """
        names = {
            "enabled",
            "path",
            "fapi_url",
            "timeout",
            "max_request_bytes",
            "max_response_bytes",
            "fapiUrl",
        }
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if key not in names:
                raise ConfigurationError(
                    f"Unknown frontend_api_proxy key {key!r}; expected enabled, path, fapi_url, "
                    "timeout, max_request_bytes or max_response_bytes."
                )
            values["fapi_url" if key == "fapiUrl" else key] = value
        return cls(**values)


def _normalise_fapi_url(value: str) -> str:
    """Clerk's ``normalizeFapiUrl``: http(s), no credentials, query or fragment; no trailing /."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"frontend_api_proxy.fapi_url must be an http(s) URL, got {value!r}."
        )
    if parts.username or parts.password or parts.query or parts.fragment or "#" in value:
        raise ConfigurationError(
            "frontend_api_proxy.fapi_url must not include credentials, a query string, or a hash."
        )
    try:
        # Serialised as Clerk's url.toString(): lower-case host, no default port.
        return parse_url(value).href.rstrip("/")
    except ValueError:
        raise ConfigurationError(
            f"frontend_api_proxy.fapi_url must be an http(s) URL, got {value!r}."
        ) from None


def fapi_url_for(frontend_api: str) -> str:
    """Clerk's ``fapiUrlFromPublishableKey``: the Frontend API the proxy forwards to."""
    if frontend_api.startswith("clerk.") and frontend_api.endswith(_LEGACY_DEV_SUFFIXES):
        return _PROD_FAPI_URL
    if frontend_api.endswith(_LOCAL_SUFFIXES):
        return _LOCAL_FAPI_URL
    if frontend_api.endswith(_STAGING_SUFFIXES):
        return _STAGING_FAPI_URL
    return _PROD_FAPI_URL


def proxy_path_matches(path: str, proxy: FrontendApiProxy) -> bool:
    """Clerk's ``matchProxyPath``: the (raw) request path is the proxy path or under it."""
    return proxy.enabled and (path == proxy.path or path.startswith(proxy.path + "/"))


@dataclass(frozen=True, slots=True)
class ProxyCall:
    """The request to send to the Frontend API.

    Attributes:
        method: The request's method.
        url: The Frontend API URL.
        headers: The headers to send (the secret key among them: never log them).
        proxy_url: The public URL of the proxy (``Clerk-Proxy-Url``), for ``Location``.
        fapi_base: The Frontend API base URL.
    """

    method: str
    url: str
    headers: Headers = field(repr=False)
    proxy_url: str
    fapi_base: str


@dataclass(frozen=True, slots=True)
class ProxyAnswer:
    """An answer of the proxy itself: status, headers and a body (or the Frontend API's stream).

    Attributes:
        status: The HTTP status.
        headers: The headers.
        body: The whole body, when it is not streamed.
        chunks: The body's chunks, streamed from the Frontend API (close ``closer``).
        reason: The reason phrase the Frontend API gave, if any.
    """

    status: int
    headers: Headers
    body: bytes = b""
    chunks: Iterator[bytes] | AsyncIterator[bytes] | None = field(default=None, repr=False)
    closer: Any = field(default=None, repr=False)
    reason: str = ""


def error_answer(code: str, message: str, status: int) -> ProxyAnswer:
    """Clerk's ``createErrorResponse``: ``{"errors": [{code, message}]}``, not cached."""
    body = json.dumps({"errors": [{"code": code, "message": message}]}, separators=(",", ":"))
    return ProxyAnswer(
        status,
        [("content-type", "application/json"), ("cache-control", "no-store")],
        body.encode(),
    )


def _first(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    # Clerk reads the Fetch API's Headers.get: repeated fields joined by ", ".
    values = [value for key, value in headers if key.lower() == name]
    return ", ".join(values) if values else None


def _dynamic_hop_by_hop(headers: Sequence[tuple[str, str]]) -> frozenset[str]:
    connection = _first(headers, "connection")
    if not connection:
        return frozenset()
    return frozenset(part.strip().lower() for part in connection.split(",") if part.strip())


def _client_ip(headers: Sequence[tuple[str, str]]) -> str | None:
    for name in ("cf-connecting-ip", "x-real-ip"):
        value = _first(headers, name)
        if value:
            return value
    forwarded = _first(headers, "x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return None


def plan_proxy(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    proxy: FrontendApiProxy,
    *,
    secret_key: str,
    frontend_api: str,
) -> ProxyCall | ProxyAnswer:
    """Clerk's ``clerkFrontendApiProxy`` up to the fetch: where to send the request, and how.

    Args:
        method: The request's method.
        url: The request's absolute URL, path as the client sent it.
        headers: The request's headers, in order.
        proxy: The option.
        secret_key: The instance's secret key (sent as ``Clerk-Secret-Key``).
        frontend_api: The publishable key's Frontend API host.

    Returns:
        The call to make, or an error answer (Clerk's ``proxy_path_mismatch`` or
        ``proxy_request_failed``).
    """
    try:
        request_url = parse_url(url)  # as Clerk's new URL(request.url): dot segments resolved
    except ValueError:
        return error_answer("proxy_request_failed", "The request URL is not a URL", 400)
    path = request_url.path
    if not (path == proxy.path or path.startswith(proxy.path + "/")):
        return error_answer(
            "proxy_path_mismatch",
            f'Request path "{path}" does not match proxy path "{proxy.path}"',
            400,
        )
    fapi_base = proxy.fapi_url or fapi_url_for(frontend_api)
    fapi_host = parse_url(fapi_base).host_port
    try:
        resolved = parse_url(f"{fapi_base}{path[len(proxy.path) :] or '/'}")
    except ValueError:
        resolved = None
    if resolved is None or resolved.host_port != fapi_host:
        return error_answer(
            "proxy_request_failed", "Resolved target does not match the expected host", 400
        )
    query = request_url.query
    target = resolved.origin + resolved.path + (f"?{query}" if query else "")
    dynamic = _dynamic_hop_by_hop(headers)
    sent: dict[str, tuple[str, str]] = {}
    for name, raw in headers:
        lower = name.lower()
        if lower in _HOP_BY_HOP or lower in dynamic:
            continue
        # Fetch's Headers strips a value's surrounding whitespace and refuses line breaks
        # and NULs (Clerk's request could not exist); a field h11 would refuse is dropped.
        value = raw.strip(" \t\r\n")
        if any(c in value for c in "\r\n\x00"):
            continue
        # Clerk copies a Fetch Headers object: one field per name, repeats joined by ", ".
        previous = sent.get(lower)
        sent[lower] = (lower, value if previous is None else f"{previous[1]}, {value}")
    forwarded_proto = (_first(headers, "x-forwarded-proto") or "").split(",")[0].strip()
    forwarded_host = (_first(headers, "x-forwarded-host") or "").split(",")[0].strip()
    origin = (
        f"{forwarded_proto}://{forwarded_host}"
        if forwarded_proto and forwarded_host
        else request_url.origin
    )
    proxy_url = f"{origin}{proxy.path}"
    sent["clerk-proxy-url"] = ("clerk-proxy-url", proxy_url)
    sent["clerk-secret-key"] = ("clerk-secret-key", secret_key)
    sent["host"] = ("host", fapi_host)
    sent["accept-encoding"] = ("accept-encoding", "identity")
    sent.setdefault("x-forwarded-host", ("x-forwarded-host", request_url.host_port))
    sent.setdefault("x-forwarded-proto", ("x-forwarded-proto", request_url.scheme))
    ip = _client_ip(headers)
    if ip:
        sent["x-forwarded-for"] = ("x-forwarded-for", ip)
    return ProxyCall(method, target, list(sent.values()), proxy_url, fapi_base)


def proxy_response_headers(upstream: Sequence[tuple[str, str]], call: ProxyCall) -> Headers:
    """The headers the proxy answers with, from the Frontend API's (Clerk's rules).

    Hop-by-hop headers (and those ``Connection`` names), ``Content-Encoding``
    and ``Content-Length`` are dropped; every ``Set-Cookie`` is kept; a
    ``Location`` on the Frontend API's host goes through the proxy again.
    """
    dynamic = _dynamic_hop_by_hop(upstream)
    kept: dict[str, list[tuple[str, str]]] = {}
    for name, value in upstream:
        lower = name.lower()
        if lower in _HOP_BY_HOP or lower in _STRIPPED or lower in dynamic:
            continue
        if lower == "set-cookie":
            kept.setdefault(lower, []).append((lower, value))
        elif lower in kept:
            # Headers.set after a first value: the combined value stays in place.
            kept[lower] = [(lower, f"{kept[lower][0][1]}, {value}")]
        else:
            kept[lower] = [(lower, value)]
    location = _first(upstream, "location")
    if location:
        rewritten = _rewrite_location(location, call)
        if rewritten is not None:
            kept["location"] = [("location", rewritten)]
    return [pair for pairs in kept.values() for pair in pairs]


def _rewrite_location(location: str, call: ProxyCall) -> str | None:
    """Clerk's rewrite: ``new URL(location, fapiBase)`` on the Frontend API's host -> the proxy."""
    base = parse_url(call.fapi_base)
    try:
        resolved = parse_url(location, base)
    except ValueError:
        return None  # Clerk's new URL() throws, and the Location goes on as it is
    if resolved.host_port != base.host_port:
        return None
    query = f"?{resolved.query}" if resolved.query else ""
    fragment = f"#{resolved.fragment}" if resolved.fragment else ""
    return f"{call.proxy_url}{resolved.path}{query}{fragment}"


def _failed(exc: BaseException, proxy: FrontendApiProxy) -> ProxyAnswer:
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        detail = f"no answer within the {proxy.timeout:g} s timeout"
    elif isinstance(exc, httpx.ConnectError):
        detail = "could not connect"
    else:
        detail = f"the request failed ({type(exc).__name__})"
    return error_answer(
        "proxy_request_failed", f"Failed to proxy request to Clerk FAPI: {detail}", 502
    )


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the CA certificates takes ~20 ms: once per process, not per request.
    return httpx.create_ssl_context()


@functools.cache
def _client() -> httpx.Client:
    """The pooled client of the sync path (httpx's Client is thread-safe)."""
    client = httpx.Client(verify=_tls(), follow_redirects=False)
    atexit.register(client.close)  # its idle keep-alive connections, at exit
    return client


def _request(
    session: httpx.Client | httpx.AsyncClient, call: ProxyCall, body: bytes, proxy: FrontendApiProxy
) -> httpx.Request:
    return session.build_request(
        call.method,
        call.url,
        headers=call.headers,
        content=body or None,
        timeout=httpx.Timeout(proxy.timeout),
    )


def _streamed(response: httpx.Response, call: ProxyCall, chunks: Any, closer: Any) -> ProxyAnswer:
    return ProxyAnswer(
        response.status_code,
        proxy_response_headers(list(response.headers.multi_items()), call),
        chunks=chunks,
        closer=closer,
        reason=response.reason_phrase,
    )


def forward(call: ProxyCall, body: bytes, proxy: FrontendApiProxy) -> ProxyAnswer:
    """Send ``call`` and return the answer, its body streamed (blocking I/O).

    The caller iterates ``answer.chunks`` and then calls ``answer.closer()``.
    A failed exchange is a 502 in Clerk's error shape; nothing raises.
    """
    deadline = time.monotonic() + proxy.timeout
    try:
        session = _client()
        response = session.send(_request(session, call, body, proxy), stream=True)
    except Exception as exc:  # any failure of the exchange is an answer, never a crash
        return _failed(exc, proxy)

    def chunks() -> Iterator[bytes]:
        sent = 0
        try:
            for chunk in response.iter_bytes():
                sent += len(chunk)
                if sent > proxy.max_response_bytes or time.monotonic() > deadline:
                    return  # cut off: the client sees a short body
                yield chunk
        except httpx.HTTPError:
            return

    return _streamed(response, call, chunks(), response.close)


async def forward_async(call: ProxyCall, body: bytes, proxy: FrontendApiProxy) -> ProxyAnswer:
    """The ``async`` twin of ``forward``; ``answer.chunks`` is an async iterator.

    The caller iterates ``answer.chunks`` and then awaits ``answer.closer()``. A
    client per call (a pooled one cannot be shared across event loops), with the
    process's TLS context.
    """
    session = httpx.AsyncClient(verify=_tls(), follow_redirects=False)
    deadline = time.monotonic() + proxy.timeout
    try:
        with anyio.fail_after(proxy.timeout):
            response = await session.send(_request(session, call, body, proxy), stream=True)
    except Exception as exc:  # any failure of the exchange is an answer, never a crash
        await session.aclose()
        return _failed(exc, proxy)

    async def close() -> None:
        with contextlib.suppress(Exception):
            await response.aclose()
        await session.aclose()

    async def chunks() -> AsyncIterator[bytes]:
        sent = 0
        try:
            async for chunk in response.aiter_bytes():
                sent += len(chunk)
                if sent > proxy.max_response_bytes or time.monotonic() > deadline:
                    return
                yield chunk
        except httpx.HTTPError:
            return

    return _streamed(response, call, chunks(), close)
