"""``AuthRequest``: the framework-neutral view of one HTTP request."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote_to_bytes

from ._errors import MalformedPathError
from ._url import Url, parse_url

__all__ = ["AuthRequest", "decode_uri_component", "parse_cookie_header"]

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


def _trim(text: str) -> str:
    return text.strip(" \t")


def parse_cookie_header(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` header exactly as Clerk's SDK does (``cookie@1`` ``parse``).

    Pairs are split on ``;``, names and values trimmed of spaces and tabs, the
    **first** occurrence of a name wins, quotes are kept, and values are
    percent-decoded only when they contain ``%`` and decode cleanly. A segment
    without ``=`` is skipped, so an odd unrelated cookie never hides another.
    """
    cookies: dict[str, str] = {}
    if len(header) < 2:
        return cookies
    for segment in header.split(";"):
        name, eq, value = segment.partition("=")
        if not eq:
            continue
        name = _trim(name)
        if name in cookies:
            continue
        value = _trim(value)
        if "%" in value:
            with contextlib.suppress(ValueError):
                value = decode_uri_component(value)
        cookies[name] = value
    return cookies


class AuthRequest:
    """The parts of an HTTP request that authentication looks at.

    Adapters build one per request; it never reads a body.

    Args:
        method: The HTTP method, e.g. ``"GET"``.
        url: The absolute request URL as the client sent it (path still
            percent-encoded), e.g. ``"https://app.example.com/dashboard?tab=1"``.
        headers: A mapping or ``(name, value)`` pairs; names are case-insensitive.
            Repeated headers are joined with ``", "`` (``Cookie`` with ``"; "``).

    The URL is parsed on first use (``parsed_url``), not here.
    """

    __slots__ = ("_cookies", "_url", "headers", "method", "url")

    def __init__(self, method: str, url: str, headers: HeadersInput = ()) -> None:
        self.method = method.upper()
        self.url = url
        items = headers.items() if isinstance(headers, Mapping) else headers
        merged: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            if key in merged:
                merged[key] = merged[key] + ("; " if key == "cookie" else ", ") + value
            else:
                merged[key] = value
        self.headers: dict[str, str] = merged
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
