"""A small WHATWG-style URL model: just what request authentication needs.

Clerk's SDK works on WHATWG ``URL`` objects, and the handshake Location it
builds embeds the request URL as the browser's URL parser would print it.
``urllib.parse`` neither normalises nor serialises the same way, so this module
implements the parts we need (special schemes only): origin, dot-segment
removal, percent-encoding of paths and queries, and ``URLSearchParams``
parsing and serialisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote_to_bytes

__all__ = [
    "Url",
    "fast_origin",
    "form_decode",
    "form_encode",
    "is_opaque_origin_url",
    "is_valid_host",
    "parse_url",
]

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST_FORBIDDEN = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_C0_STRIP = "".join(chr(c) for c in range(0x21))
# The shape of nearly every URL a request carries: a lower-case http(s) scheme
# and host, an optional port, then path and query characters that neither the
# percent-encoding below nor dot-segment removal would change (printable ASCII
# but for ``"#<>?`{}\\`` in the path and ``"#<>'\\`` in the query). Such text
# parses to exactly its own pieces, so ``parse_url`` skips the general parser
# for it (``tests/core/test_fast_paths.py`` checks the two agree).
_SIMPLE_ORIGIN = r"(https?)://([a-z0-9][a-z0-9.\-]*)(?::([0-9]{1,5}))?"
_SIMPLE_URL = re.compile(_SIMPLE_ORIGIN + r"(/[!$-;=@-\[\]-_a-z|~]*)?(?:\?([!$-&(-;=?-\[\]-~]*))?")
# Only the authority decides the origin (and whether the URL parses at all), so
# anything may follow it but what the parser would fold into it.
_SIMPLE_ORIGIN_PREFIX = re.compile(_SIMPLE_ORIGIN + r"(?=[/?#]|\Z)")


def _percent_encoder(extra: str) -> dict[int, str]:
    table = {c: f"%{c:02X}" for c in range(0x20)}
    table[0x7F] = "%7F"
    for ch in extra:
        table[ord(ch)] = f"%{ord(ch):02X}"
    return table


_PATH_TABLE = _percent_encoder(' "#<>?`{}')
_QUERY_TABLE = _percent_encoder(" \"#<>'")
_FRAGMENT_TABLE = _percent_encoder(' "<>`')
_FORM_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")


def _encode(text: str, table: dict[int, str]) -> str:
    if text.isascii():
        return text.translate(table)
    out: list[str] = []
    for ch in text:
        if ord(ch) < 0x80:
            out.append(ch.translate(table))
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


#: Each byte of a UTF-8 encoding as ``URLSearchParams`` writes it, keyed by the byte
#: read as a Latin-1 character: ``str.translate`` then encodes in C, where a loop
#: over the bytes cost ~80 us per handshake URL.
_FORM_TABLE: Final[dict[int, str]] = {
    b: chr(b) if b in _FORM_SAFE else ("+" if b == 0x20 else f"%{b:02X}") for b in range(256)
}


def _form_value(value: str) -> str:
    return value.encode("utf-8", "surrogatepass").decode("latin-1").translate(_FORM_TABLE)


def form_encode(pairs: list[tuple[str, str]]) -> str:
    """Serialise pairs as ``application/x-www-form-urlencoded``, like ``URLSearchParams``."""
    return "&".join(f"{_form_value(k)}={_form_value(v)}" for k, v in pairs)


def form_decode(query: str) -> list[tuple[str, str]]:
    """Parse a query string into pairs, like ``new URLSearchParams(query)``."""
    pairs: list[tuple[str, str]] = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_form_unquote(name), _form_unquote(value)))
    return pairs


def _form_unquote(text: str) -> str:
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    # Invalid escapes stay as they are; invalid UTF-8 becomes U+FFFD, as in browsers.
    return unquote_to_bytes(text).decode("utf-8", "replace")


def _remove_dot_segments(path: str) -> str:
    segments = path.split("/")[1:]
    out: list[str] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        lowered = segment.lower()
        if lowered in ("..", ".%2e", "%2e.", "%2e%2e"):
            if out:
                out.pop()
            if index == last:
                out.append("")
        elif lowered in (".", "%2e"):
            if index == last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


@dataclass(frozen=True, slots=True)
class Url:
    """A parsed absolute URL with a special scheme (http, https, ws, wss, ftp).

    Attributes:
        scheme: Lower-case scheme without ``:``.
        host: Lower-case host (IPv6 literals keep their brackets).
        port: The port, or ``""`` when absent or the scheme's default.
        path: Normalised, percent-encoded path starting with ``/``.
        query: The query without ``?``, or None when the URL has none.
        fragment: The fragment without ``#``, or None (request URLs never have one).
    """

    scheme: str
    host: str
    port: str
    path: str
    query: str | None
    fragment: str | None = None

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``."""
        return (
            f"{self.scheme}://{self.host}:{self.port}"
            if self.port
            else (f"{self.scheme}://{self.host}")
        )

    @property
    def host_port(self) -> str:
        """``host[:port]``, as JavaScript's ``url.host``."""
        return f"{self.host}:{self.port}" if self.port else self.host

    @property
    def hostname(self) -> str:
        """The host without the port."""
        return self.host

    @property
    def href(self) -> str:
        """The serialised URL."""
        return (
            self.origin
            + self.path
            + ("" if self.query is None else "?" + self.query)
            + ("" if self.fragment is None else "#" + self.fragment)
        )

    def __str__(self) -> str:
        return self.href

    def params(self) -> list[tuple[str, str]]:
        """The query as ``URLSearchParams`` pairs."""
        return form_decode(self.query or "")

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``, or None."""
        if self.query is None or name not in self.query:
            return None
        for key, value in self.params():
            if key == name:
                return value
        return None

    def with_params(self, pairs: list[tuple[str, str]]) -> Url:
        """Return the URL with its query replaced by ``pairs``, serialised as by URLSearchParams."""
        query = form_encode(pairs)
        return Url(self.scheme, self.host, self.port, self.path, query or None, self.fragment)

    def without_params(self, *names: str) -> Url:
        """Return the URL without the named query parameters (the query is re-serialised)."""
        return self.with_params([(k, v) for k, v in self.params() if k not in names])

    def appending(self, name: str, value: str) -> Url:
        """``searchParams.append(name, value)``."""
        return self.with_params([*self.params(), (name, value)])

    def setting(self, name: str, value: str) -> Url:
        """``searchParams.set(name, value)``: replace the first, drop the rest, or append."""
        pairs: list[tuple[str, str]] = []
        done = False
        for key, old in self.params():
            if key == name:
                if not done:
                    pairs.append((name, value))
                    done = True
            else:
                pairs.append((key, old))
        if not done:
            pairs.append((name, value))
        return self.with_params(pairs)


def _parse_authority(authority: str, scheme: str) -> tuple[str, str]:
    if "@" in authority:
        authority = authority.rsplit("@", 1)[1]
    if authority.startswith("["):
        end = authority.find("]")
        if end == -1:
            raise ValueError("invalid IPv6 host")
        host, rest = authority[: end + 1].lower(), authority[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError("invalid host")
        port = rest[1:]
    else:
        host, _, port = authority.partition(":")
        if "%" in host:
            host = unquote_to_bytes(host).decode("utf-8")
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
        host = host.lower()
        if not host or _HOST_FORBIDDEN.search(host):
            raise ValueError("invalid host")
    if port:
        if not port.isdigit() or int(port) > 65535:
            raise ValueError("invalid port")
        port = str(int(port))
        if _DEFAULT_PORTS.get(scheme) == port:
            port = ""
    return host, port


# RFC 9110 §7.2: Host = uri-host [ ":" port ], uri-host from RFC 3986 §3.2.2: an
# IP literal, or a reg-name of unreserved and sub-delims characters (IPv4 is a
# reg-name too). Percent-encoded reg-names are legal in RFC 3986 but never sent
# by clients and decoded differently by URL parsers, so they are refused.
_VALID_HOST = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]"
    r"|[A-Za-z0-9\-._~!$&'()*+,;=]+)(?::(?P<port>[0-9]{0,5}))?"
)


def is_valid_host(value: str) -> bool:
    """True if ``value`` is a well-formed ``Host`` header: ``host[:port]``, nothing else.

    A Host header becomes the authority of the request URL; anything but a host
    and a port (``x?``, ``x/p``, ``x#``, ``user@x``, spaces, a second value)
    would move text into the URL's path or query, so adapters answer such a
    request with 400 (RFC 9112 §3.2 requires it) and the core ignores such an
    ``X-Forwarded-Host``.

    Args:
        value: The header value.

    Returns:
        Whether it is a host, optionally followed by ``:`` and a port <= 65535.
    """
    if value in _VALID_HOSTS:
        return True
    match = _VALID_HOST.fullmatch(value) if value.isascii() else None
    if match is None:
        return False
    port = match["port"]
    if port and int(port) > 65535:
        return False
    if len(_VALID_HOSTS) < _MAX_VALID_HOSTS:
        _VALID_HOSTS.add(value)
    return True


#: Hosts already found valid: an app answers to a handful, on every request, and
#: a set lookup costs a tenth of the match. Bounded, as clients choose the header.
_VALID_HOSTS: set[str] = set()
_MAX_VALID_HOSTS = 256


def is_opaque_origin_url(text: str) -> bool:
    """True for an absolute URL of a non-web scheme (``about:blank``, ``data:...``).

    Such URLs parse in browsers but have the opaque origin ``"null"``.
    """
    match = _SCHEME.match(text.strip(_C0_STRIP))
    return match is not None and match.group(1).lower() not in _DEFAULT_PORTS


def _simple_port(scheme: str, port: str | None) -> str | None:
    """The serialised port of a simple URL, or None when it is out of range."""
    if port is None:
        return ""
    number = int(port)
    if number > 65535:
        return None
    text = str(number)
    return "" if _DEFAULT_PORTS[scheme] == text else text


def fast_origin(text: str) -> str | None:
    """``parse_url(text).origin`` for a URL of the simple shape, else None.

    A non-None answer also means that ``parse_url(text)`` succeeds. Callers fall
    back to ``parse_url`` on None (which may then raise).
    """
    match = _SIMPLE_ORIGIN_PREFIX.match(text)
    if match is None:
        return None
    scheme, host, port = match.groups()
    port = _simple_port(scheme, port)
    if port is None:
        return None
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def parse_url(text: str, base: Url | None = None) -> Url:
    """Parse ``text`` (absolute, or relative to ``base``) like ``new URL(text, base)``.

    Raises:
        ValueError: The text is not a URL with a special scheme and no base can resolve it.
    """
    match = _SIMPLE_URL.fullmatch(text)
    if match is not None:
        scheme, host, port, path, query = match.groups()
        # Dot segments ("/.", "/%2e") are the one thing left that would change the path.
        if path is None or ("/." not in path and "/%2" not in path):
            port = _simple_port(scheme, port)
            if port is not None:
                return Url(scheme, host, port, path or "/", query)
    return _parse_general(text, base)


def _parse_general(text: str, base: Url | None) -> Url:
    text = text.strip(_C0_STRIP).replace("\t", "").replace("\n", "").replace("\r", "")
    text, hash_mark, fragment = text.partition("#")
    url = _parse_without_fragment(text, base)
    if hash_mark:
        url = Url(
            url.scheme, url.host, url.port, url.path, url.query, _encode(fragment, _FRAGMENT_TABLE)
        )
    return url


def _parse_without_fragment(text: str, base: Url | None) -> Url:
    match = _SCHEME.match(text)
    if match and match.group(1).lower() in _DEFAULT_PORTS:
        scheme = match.group(1).lower()
        rest = text[match.end() :].replace("\\", "/")
        if base is not None and base.scheme == scheme and not rest.startswith("/"):
            return _parse_without_fragment(rest, base)
        rest = rest.lstrip("/")
        end = len(rest)
        for sep in "/?":
            index = rest.find(sep)
            if index != -1:
                end = min(end, index)
        host, port = _parse_authority(rest[:end], scheme)
        return _finish(scheme, host, port, rest[end:])
    if match or base is None:
        raise ValueError(f"not a supported absolute URL: {text[:100]!r}")
    rest = text.replace("\\", "/")
    if rest.startswith("//"):
        return _parse_without_fragment(f"{base.scheme}:{rest}", None)
    if rest.startswith("/"):
        return _finish(base.scheme, base.host, base.port, rest)
    if rest.startswith("?") or rest == "":
        query = rest[1:] if rest else base.query
        return Url(
            base.scheme,
            base.host,
            base.port,
            base.path,
            None if query is None else _encode(query, _QUERY_TABLE),
        )
    directory = base.path.rsplit("/", 1)[0]
    return _finish(base.scheme, base.host, base.port, f"{directory}/{rest}")


def _finish(scheme: str, host: str, port: str, rest: str) -> Url:
    path, sep, query = rest.partition("?")
    path = _remove_dot_segments("/" + path.lstrip("/") if not path.startswith("/") else path)
    if not path.startswith("/"):
        path = "/" + path
    return Url(
        scheme,
        host,
        port,
        _encode(path, _PATH_TABLE),
        _encode(query, _QUERY_TABLE) if sep else None,
    )
