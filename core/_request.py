"""``AuthRequest``: the framework-neutral view of one HTTP request."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Hashable, Iterable, Mapping
from operator import methodcaller
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from ._cache import GenerationalCache
from ._errors import MalformedPathError
from ._url import Url, parse_url

__all__ = [
    "COOKIE_MEMO_ENTRIES",
    "COOKIE_MEMO_MAX_LENGTH",
    "AuthRequest",
    "CookieMemo",
    "decode_uri_component",
    "header_fields",
    "parse_clerk_cookies",
    "parse_cookie_header",
    "remember_cookie_header",
    "remembered_cookies",
    "request_with_headers",
]

HeadersInput = Mapping[str, str] | Iterable[tuple[str, str]]

_VALID_ESCAPES = re.compile(r"%(?![0-9A-Fa-f]{2})")


def decode_uri_component(text: str) -> str:
    """Percent-decode like JavaScript's ``decodeURIComponent``.

    Raises:
        ValueError: An escape is malformed or the bytes are not valid UTF-8.
    """
    if _VALID_ESCAPES.search(text):
        raise ValueError("malformed percent-encoding")
    return unquote_to_bytes(text).decode("utf-8")


_partition_eq = methodcaller("partition", "=")

#: ``Cookie`` headers whose parse is remembered (only headers that carried a
#: verified session, see ``remember_cookie_header``): a browser repeats the same
#: header until its session token is refreshed. About 4 KB each for a typical
#: 2 KB header, so about 2 MB per worker process at the bound.
COOKIE_MEMO_ENTRIES: Final = 512
#: Longer headers are parsed every time (and never remembered).
COOKIE_MEMO_MAX_LENGTH: Final = 8192
#: Derived values one remembered header keeps, at most (one per Clerk instance).
_MAX_DERIVED = 8


class CookieMemo:
    """A remembered ``Cookie`` header: its cookies, and what callers derived from them.

    Both are shared between requests: never modify them. ``derived`` maps a
    caller's key (which must capture everything besides the cookies that the
    value depends on) to the value.
    """

    __slots__ = ("cookies", "derived")

    def __init__(self, cookies: Mapping[str, str]) -> None:
        self.cookies: Mapping[str, str] = cookies
        self.derived: dict[Hashable, Any] = {}

    def derive(self, key: Hashable, value: Any) -> None:
        """Remember ``value`` under ``key`` (a few keys at most; extra ones are not kept)."""
        if len(self.derived) < _MAX_DERIVED:
            self.derived[key] = value


_cookie_memo: GenerationalCache[str, CookieMemo] = GenerationalCache(COOKIE_MEMO_ENTRIES)


def parse_cookie_header(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` header exactly as Clerk's SDK does (``cookie@1`` ``parse``).

    Pairs are split on ``;``, names and values trimmed of spaces and tabs, the
    **first** occurrence of a name wins, quotes are kept, and values are
    percent-decoded only when they contain ``%`` and decode cleanly. A segment
    without ``=`` is skipped, so an odd unrelated cookie never hides another.
    """
    if len(header) < 2:
        return {}
    return _parse_pairs(header.split(";"), "")


def _parse_pairs(pairs: Iterable[str], prefix: str) -> dict[str, str]:
    """The cookies of ``name=value`` pairs whose trimmed name starts with ``prefix``."""
    cookies: dict[str, str] = {}
    for raw_name, eq, raw_value in map(_partition_eq, pairs):
        if eq:
            name = raw_name.strip(" \t")
            if name not in cookies and name.startswith(prefix):
                value = raw_value.strip(" \t")
                if "%" in value:
                    with contextlib.suppress(ValueError):
                        value = decode_uri_component(value)
                cookies[name] = value
    return cookies


#: What every cookie name Clerk reads starts with (``__session``, ``__client_uat``,
#: ``__refresh``, ``__clerk_...``, each also with its ``_<suffix>``).
CLERK_COOKIE_PREFIX: Final = "__"


def parse_clerk_cookies(header: str) -> dict[str, str]:
    """``parse_cookie_header`` restricted to names that start with ``"__"``: Clerk's cookies.

    The same value for every such name as the full parse gives (pairs are
    independent, and a name only shadows a later pair of the same name), while
    the other pairs (analytics, CSRF, the app's own) are not split, trimmed or
    decoded: a browser's header is mostly those.
    """
    if CLERK_COOKIE_PREFIX not in header:
        return {}
    # The text test first, in C: a pair whose text has no "__" cannot carry such a name.
    pairs = [pair for pair in header.split(";") if CLERK_COOKIE_PREFIX in pair]
    return _parse_pairs(pairs, CLERK_COOKIE_PREFIX)


def remembered_cookies(header: str) -> CookieMemo | None:
    """The memo of exactly this header, if it was remembered (``remember_cookie_header``)."""
    return _cookie_memo.get(header)


def remember_cookie_header(header: str, cookies: Mapping[str, str]) -> CookieMemo | None:
    """Remember the parse of a header that carried a verified session token.

    Only such headers are kept, so junk headers never displace a real browser's.

    Returns:
        The new memo, or None for a header too long to keep.
    """
    if len(header) > COOKIE_MEMO_MAX_LENGTH:
        return None
    memo = CookieMemo(cookies)  # the caller's own parse: it is never modified after this
    _cookie_memo.put(header, memo)
    return memo


def _merge_headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Lower-case the names and join repeated fields (``Cookie`` with ``"; "``).

    Joined once per name, so thousands of repeated fields cost linear time.
    """
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        key = name.lower()
        if key in values:
            values[key].append(value)
        else:
            values[key] = [value]
    return {
        key: parts[0] if len(parts) == 1 else ("; " if key == "cookie" else ", ").join(parts)
        for key, parts in values.items()
    }


def _all_lower(names: Mapping[str, str]) -> bool:
    try:
        joined = "".join(names)
    except TypeError:  # not all strings: the general path fails as it always did
        return False
    return joined.lower() == joined


def header_fields(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Header fields by lower-case name; repeated fields joined (``Cookie`` with ``"; "``)."""
    fields = dict(pairs)
    # Adapters pass lower-case names without repeats; then dict() was the whole job.
    if len(fields) != len(pairs) or not _all_lower(fields):
        fields = _merge_headers(pairs)
    return fields


class AuthRequest:
    """The parts of an HTTP request that authentication looks at.

    Adapters build one per request; it never reads a body.

    Args:
        method: The HTTP method, e.g. ``"GET"``.
        url: The absolute request URL as the client sent it (path still
            percent-encoded), e.g. ``"https://app.example.com/dashboard?tab=1"``.
        headers: A mapping or ``(name, value)`` pairs; names are case-insensitive.
            Repeated headers are joined with ``", "`` (``Cookie`` with ``"; "``).
        route_path: The path the application's router routes this request on:
            percent-decoded as the server decoded it, relative to where the app
            is mounted (WSGI ``PATH_INFO``; ASGI ``path`` without ``root_path``).
            Adapters set it; route matchers given this request match it instead
            of the URL's path (see ``create_route_matcher``). None when unknown.

    The URL is parsed on first use (``parsed_url``), not here.
    """

    __slots__ = ("_cookies", "_url", "headers", "method", "route_path", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: HeadersInput = (),
        *,
        route_path: str | None = None,
    ) -> None:
        self.method = method.upper()
        self.url = url
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
        self.headers: dict[str, str] = header_fields(pairs)
        self.route_path = route_path
        self._url: Url | None = None
        self._cookies: dict[str, str] | None = None

    def header(self, name: str) -> str | None:
        """Return a header value (``name`` in lower case), or None if absent or empty."""
        return self.headers.get(name) or None

    @property
    def cookies(self) -> dict[str, str]:
        """The request's cookies, parsed once."""
        if self._cookies is None:
            self._cookies = parse_cookie_header(self.headers.get("cookie", ""))
        return self._cookies

    @property
    def parsed_url(self) -> Url:
        """The request URL, parsed.

        Raises:
            MalformedPathError: The URL (e.g. a garbage ``Host`` header) cannot be
                parsed; adapters answer 400.
        """
        if self._url is None:
            try:
                self._url = parse_url(self.url)
            except (ValueError, UnicodeError) as exc:
                raise MalformedPathError(self.url) from exc
        return self._url

    @property
    def path(self) -> str:
        """The raw (percent-encoded) path of the request URL."""
        return self.parsed_url.path

    def __repr__(self) -> str:
        return f"AuthRequest({self.method!r}, {self.url!r})"


def request_with_headers(
    method: str, url: str, fields: dict[str, str], route_path: str | None = None
) -> AuthRequest:
    """An ``AuthRequest`` over the ``header_fields`` an adapter built for this request.

    The dict is taken over, not copied or checked again: the caller must not
    change it afterwards.

    Args:
        method: The HTTP method.
        url: The absolute request URL (path still percent-encoded).
        fields: What ``header_fields`` returned.
        route_path: The decoded path the app routes on (see ``AuthRequest``).
    """
    request = AuthRequest.__new__(AuthRequest)
    request.method = method.upper()
    request.url = url
    request.headers = fields
    request.route_path = route_path
    request._url = None
    request._cookies = None
    return request
