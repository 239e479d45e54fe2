"""Requests and responses of the local instance's tiny HTTP server.

``InstanceRequest`` is what an endpoint (built-in, a page, or a route added
with ``LocalInstance.add_route``) receives; ``InstanceResponse`` is what it
answers. Kept apart from ``_instance`` so that the pages (``_pages``) can build
on them without importing the instance itself.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["InstanceRequest", "InstanceResponse", "Route", "clerk_error", "with_param"]


@dataclass(frozen=True, slots=True)
class InstanceRequest:
    """A request as the instance's endpoints (and added routes) see it.

    Attributes:
        method: Upper-case HTTP method.
        path: The URL path (percent-encoded, as sent).
        query: Query parameters (first value of each name).
        headers: Headers by lower-case name.
        cookies: The ``Cookie`` header, parsed.
        body: The request body.
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON.

        Returns:
            The parsed value.

        Raises:
            ValueError: The body is not JSON.
        """
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """The body parsed as an HTML form (``application/x-www-form-urlencoded``).

        Returns:
            The first value of each field; an undecodable body gives no fields.
        """
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return {}
        fields: dict[str, str] = {}
        for name, value in parse_qsl(text, keep_blank_values=True):
            fields.setdefault(name, value)
        return fields


@dataclass(frozen=True, slots=True)
class InstanceResponse:
    """What an endpoint answers.

    Attributes:
        status: HTTP status.
        body: The body.
        content_type: The ``Content-Type``.
        headers: More headers as ``(name, value)`` pairs (repeat a name to repeat it).
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()
    ) -> InstanceResponse:
        """A JSON response, with exactly ``application/json`` as Clerk's API sends it.

        Args:
            data: The value to serialise.
            status: HTTP status.
            headers: More headers.

        Returns:
            The response.
        """
        body = json.dumps(data, separators=(",", ":")).encode()
        return cls(status, body, "application/json", headers)

    @classmethod
    def html(
        cls, text: str, status: int = 200, headers: tuple[tuple[str, str], ...] = ()
    ) -> InstanceResponse:
        """An HTML page.

        Args:
            text: The page.
            status: HTTP status.
            headers: More headers (e.g. ``set-cookie``).

        Returns:
            The response.
        """
        return cls(status, text.encode(), "text/html; charset=utf-8", headers)

    @classmethod
    def redirect(
        cls, location: str, status: int = 307, headers: tuple[tuple[str, str], ...] = ()
    ) -> InstanceResponse:
        """A redirect that is never cached.

        Args:
            location: The target URL.
            status: 307 (default), 302 or 303.
            headers: More headers (e.g. ``set-cookie``).

        Returns:
            The response.
        """
        extra = (("location", location), ("cache-control", "no-store"), *headers)
        return cls(status, b"", "text/plain; charset=utf-8", extra)


def clerk_error(status: int, code: str, message: str) -> InstanceResponse:
    """A Clerk-style error response: ``{"errors": [{"message", "long_message", "code"}]}``.

    Args:
        status: HTTP status.
        code: The machine-readable code.
        message: The human-readable message.

    Returns:
        The response.
    """
    errors = [{"message": message, "long_message": message, "code": code}]
    return InstanceResponse.json({"errors": errors, "clerk_trace_id": secrets.token_hex(8)}, status)


Route = Callable[[InstanceRequest], InstanceResponse]



def with_param(url: str, name: str, value: str) -> str:
    """``url`` with query parameter ``name`` set to ``value`` (replacing any earlier one).

    Args:
        url: An absolute or relative URL.
        name: The parameter.
        value: Its value.

    Returns:
        The URL.
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))
