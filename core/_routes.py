r"""``create_route_matcher``: Clerk's ``createRouteMatcher``, decision for decision.

Clerk (``@clerk/nextjs`` 7.9.17 ``createRouteMatcher``, ``@clerk/shared`` 4.41.0
``createPathMatcher``) compiles each string pattern with path-to-regexp 6 into
a JavaScript ``RegExp`` (flag ``i``) and tests the request's pathname after one
``decodeURI`` and collapsing runs of ``/``. This module reproduces that in three
steps, all done once when the matcher is created:

1. ``_path_to_js_regex`` turns a pattern into the JavaScript regex source that
   path-to-regexp 6.3 (the copy vendored in ``@clerk/shared``) would produce,
   with the same error for every pattern it rejects.
2. ``_JsRegexTranslator`` parses that source with the ECMAScript grammar for
   non-Unicode patterns (including the web-compatibility rules of Annex B, e.g.
   ``\8`` is ``8`` and a lone ``{`` is a literal) and writes an equivalent
   Python ``re`` pattern. The two dialects differ in ways that change answers,
   so nothing is passed through verbatim: ``$`` becomes ``\Z`` (Python's ``$``
   also matches before a final newline, and ``%0A`` decodes to one), ``.``,
   ``\d``, ``\s`` and ``\w`` become explicit sets, ``\b`` and ``\B`` explicit
   ASCII lookarounds, and ``i`` is applied by
   expanding every set with the ECMAScript ``Canonicalize`` rule rather than
   with ``re.IGNORECASE``, whose case folding is wider (it lets ``K``, the
   Kelvin sign, match ``k``; JavaScript does not).
3. Paths and patterns are matched as UTF-16 code units, as JavaScript strings
   are: a character outside the BMP is two code units, so ``(.)`` does not
   match it, exactly as in Clerk.

``match_params`` reuses steps 1-3 with capturing groups kept: it is
path-to-regexp's ``match`` as Clerk's organization sync calls it.

What is matched differs from Clerk on purpose when the matcher is given a
request rather than a string. In Next.js the matcher and the router read the
same pathname; Python servers percent-decode the path (``%2F`` included) before
the framework routes it, below the mount point. So a request is matched by its
*route path* (``route_path_of``), the text its router reads, and a route path
the two could read differently is refused (``MalformedPathError``, 400).

Deliberate differences from Clerk, all decided when the matcher is created:

* Two kinds of custom ``(...)`` groups that JavaScript accepts cannot be
  expressed in ``re`` and are refused with a message saying so:
  backreferences (``\1``, ``\k<name>``) and lookbehinds that are not of fixed
  width.
* Callables may be mixed with other patterns in a list (Clerk takes a
  function only on its own); they run after the path patterns, and only when
  the path is well-formed.
* Nested lists are refused; Clerk hands them to path-to-regexp, which joins
  them with different rules (no falsy entries dropped, regex flags lost).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from ._errors import ConfigurationError, MalformedPathError
from ._request import AuthRequest
from ._url import parse_url

__all__ = [
    "RouteMatcher",
    "RoutePattern",
    "RoutePatterns",
    "RouteTarget",
    "asgi_route_path",
    "create_route_matcher",
    "match_params",
    "route_path_of",
    "wsgi_route_path",
]


class _HasPath(Protocol):
    @property
    def path(self) -> str: ...


class _HasUrl(Protocol):
    @property
    def url(self) -> str: ...


#: What a matcher accepts: a request (an adapter's ``auth.request``, a framework
#: request, a WSGI environ or ASGI scope: the path its router routes on is
#: matched), a raw URL path as a str (matched as Clerk matches it), or an object
#: with a raw ``.path`` or a full ``.url`` string.
RouteTarget = str | Mapping[str, Any] | _HasPath | _HasUrl | Any

#: One route pattern: a path-to-regexp 6 string, a compiled regex (used as is,
#: with ``search``), or a predicate called with the matcher's argument.
RoutePattern = str | re.Pattern[str] | Callable[[Any], bool]

#: What ``create_route_matcher`` accepts: one pattern or a list/tuple of them.
#: Falsy entries (``None``, ``""``) are ignored, as Clerk ignores them.
RoutePatterns = RoutePattern | Sequence[RoutePattern | None] | None

_DOCS_HINT = (
    "Consult the documentation of path-to-regexp here: "
    "https://github.com/pillarjs/path-to-regexp/tree/6.x"
)

# --------------------------------------------------------------------------
# Path normalisation: JavaScript decodeURI, then collapse "//".
# --------------------------------------------------------------------------

# decodeURI keeps an escape as written when it decodes to one of these, so
# "%2F" never turns into a segment separator.
_URI_RESERVED = frozenset(";/?:@&=+$,#")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SLASH_RUNS = re.compile("//+")


def _split_astral(match: re.Match[str]) -> str:
    offset = ord(match.group()) - 0x10000
    return chr(0xD800 + (offset >> 10)) + chr(0xDC00 + (offset & 0x3FF))


def _to_code_units(text: str) -> str:
    """Spell characters outside the BMP as surrogate pairs, as JavaScript stores them."""
    if text.isascii():
        return text
    return _ASTRAL.sub(_split_astral, text)


def _from_code_units(text: str) -> str:
    """Join surrogate pairs back into characters; lone surrogates stay as they are."""
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _escaped_byte(units: str, index: int) -> int | None:
    """Return the byte of the ``%XX`` escape at ``index``, or None if there is none."""
    if index + 2 >= len(units) or units[index] != "%":
        return None
    if units[index + 1] not in _HEX_DIGITS or units[index + 2] not in _HEX_DIGITS:
        return None
    return int(units[index + 1 : index + 3], 16)


def _decode_uri(path: str, units: str) -> str:
    """Decode ``units`` like JavaScript's ``decodeURI`` (ECMA-262 ``Decode``).

    Args:
        path: The path as given, for the error message.
        units: The same path as UTF-16 code units.

    Returns:
        The decoded path, as UTF-16 code units.

    Raises:
        MalformedPathError: An escape is truncated, not hex, or the bytes are
            not well-formed UTF-8 (overlong forms, surrogates, > U+10FFFF).
    """
    if "%" not in units:
        return units
    out: list[str] = []
    start = 0
    while (k := units.find("%", start)) != -1:
        out.append(units[start:k])
        lead = _escaped_byte(units, k)
        if lead is None:
            raise MalformedPathError(path)
        if lead < 0x80:
            char = chr(lead)
            out.append(units[k : k + 3] if char in _URI_RESERVED else char)
            start = k + 3
            continue
        if lead & 0xE0 == 0xC0:
            size = 2
        elif lead & 0xF0 == 0xE0:
            size = 3
        elif lead & 0xF8 == 0xF0:
            size = 4
        else:  # a continuation byte or 0xF8-0xFF cannot start a sequence
            raise MalformedPathError(path)
        octets = [lead]
        end = k + 3
        for _ in range(size - 1):
            byte = _escaped_byte(units, end)
            if byte is None or byte & 0xC0 != 0x80:
                raise MalformedPathError(path)
            octets.append(byte)
            end += 3
        try:
            char = bytes(octets).decode("utf-8")  # strict: rejects what the spec rejects
        except UnicodeDecodeError:
            raise MalformedPathError(path) from None
        out.append(_to_code_units(char))
        start = end
    out.append(units[start:])
    return "".join(out)


def _normalise_path(path: str) -> str:
    """Normalise ``path`` as Clerk's ``normalizePath`` does; returns UTF-16 code units."""
    units = _decode_uri(path, _to_code_units(path))
    if "//" in units:
        units = _SLASH_RUNS.sub("/", units)
    return units


# --------------------------------------------------------------------------
# Route paths: what the application's router reads.
# --------------------------------------------------------------------------

# A decoded route path the matcher and a router could read differently: control
# characters (the pattern regexes, like JavaScript's, stop "." at line breaks,
# while Python routers' "$" matches before a final "\n"), U+FFFD (what servers
# and werkzeug put for bytes that are not UTF-8, which Django re-escapes instead;
# Clerk answers 400 for them too), and dot segments (some servers, proxies and
# static-file handlers resolve them, routers do not). Browsers send none of these
# in a path, so refusing them costs nothing.
_UNREADABLE_ROUTE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\ufffd]|(?:^|/)\.\.?(?:/|\Z)")


def wsgi_route_path(path_info: str) -> str:
    """The path a WSGI app routes on: ``PATH_INFO`` decoded from bytes as UTF-8.

    PEP 3333 gives ``PATH_INFO`` as latin-1 text, one character per byte;
    werkzeug (Flask), like this function, decodes it as UTF-8 and replaces
    invalid sequences with U+FFFD. ``SCRIPT_NAME`` (the mount) is not part of it.

    Args:
        path_info: The environ's ``PATH_INFO``.

    Returns:
        The decoded path.
    """
    if path_info.isascii():
        return path_info
    try:
        return path_info.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a transport that gave decoded text already
        return path_info


def asgi_route_path(scope: Mapping[str, Any]) -> str:
    """The path an ASGI app routes on: ``path`` without the ``root_path`` it is mounted at.

    This is Starlette's rule (``get_route_path``): servers that include
    ``root_path`` in ``path`` (uvicorn, ``Mount``) and servers that do not
    (hypercorn) both give the path below the mount.

    Args:
        scope: The HTTP scope.

    Returns:
        The decoded path below the mount.
    """
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if not isinstance(path, str):
        return ""
    if not root or not isinstance(root, str) or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root) :] if path[len(root)] == "/" else path


def route_path_of(target: object) -> str | None:
    """The decoded path a framework routes ``target`` on, or None if it does not say.

    ``target`` may be an ``AuthRequest`` built by an adapter, a WSGI environ,
    an ASGI scope, or a framework request holding one (``.environ``: Flask,
    werkzeug, Django; ``.scope``: Starlette, FastAPI, Django's ASGI requests).

    Args:
        target: What a route matcher was called with.

    Returns:
        The route path, or None (a plain string, or an object with no environ or scope).
    """
    if isinstance(target, AuthRequest):
        return target.route_path
    for attribute in ("scope", "environ"):
        inner = getattr(target, attribute, None)
        if isinstance(inner, Mapping):
            target = inner
            break
    if not isinstance(target, Mapping):
        return None
    path_info = target.get("PATH_INFO")
    if isinstance(path_info, str):
        return wsgi_route_path(path_info)
    if target.get("type") in ("http", "websocket") and isinstance(target.get("path"), str):
        return asgi_route_path(target)
    return None


def _route_units(path: str) -> str:
    """The matcher's view of a decoded route path, as UTF-16 code units.

    The path is already decoded, so it is not decoded again. ``?`` and ``#``
    in it are escaped as they stand in a raw path (``%3F``, ``%23``: Clerk's
    ``decodeURI`` keeps those escapes), where the patterns read them as
    ordinary characters, not as delimiters. Runs of ``/`` are collapsed, as Clerk does.

    Raises:
        MalformedPathError: The path holds control characters, U+FFFD (bytes
            that were not UTF-8) or dot segments, or does not start with ``/``:
            the router and the matcher could read it differently.
    """
    if not path:
        return "/"  # the mount point itself: its router reads the root route
    if path[0] != "/" or _UNREADABLE_ROUTE.search(path):
        raise MalformedPathError(path)
    if "?" in path or "#" in path:
        path = path.replace("?", "%3F").replace("#", "%23")
    units = _to_code_units(path)
    if "//" in units:
        units = _SLASH_RUNS.sub("/", units)
    return units


def _target_units(target: object) -> str:
    """The path a matcher argument stands for, normalised, as UTF-16 code units.

    A request (``AuthRequest`` from an adapter, environ, scope, framework
    request) gives its route path; anything else its raw URL path, normalised
    as Clerk does.
    """
    if isinstance(target, str):
        return _normalise_path(_without_query(target))
    route = route_path_of(target)
    if route is not None:
        return _route_units(route)
    if isinstance(path_attr := getattr(target, "path", None), str):
        path = path_attr
    elif isinstance(url := getattr(target, "url", None), str):
        # Clerk matches new URL(url).pathname: dot segments resolved, "\\" read
        # as "/", and the characters a browser would escape percent-encoded.
        try:
            path = parse_url(url).path
        except ValueError:
            raise ValueError(
                f"A route matcher could not read a path from .url {url[:200]!r}: "
                "it is not an absolute http(s) URL."
            ) from None
    else:
        raise TypeError(
            "A route matcher needs a path: pass the request (an adapter's auth.request, "
            "a framework request, a WSGI environ or an ASGI scope), or a raw URL path as a "
            f"str, or an object with a str .path or .url attribute, not {type(target).__name__}."
        )
    return _normalise_path(_without_query(path))


def _without_query(path: str) -> str:
    """``path`` without a query string or fragment."""
    for delimiter in "?#":
        cut = path.find(delimiter)
        if cut != -1:
            path = path[:cut]
    return path


# --------------------------------------------------------------------------
# Step 1: path-to-regexp 6.3 (defaults: strict=false, start=end=true,
# delimiter "/#?", prefixes "./"), producing JavaScript regex source.
# --------------------------------------------------------------------------

_NAME_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_PREFIXES = "./"
_DELIMITERS = "/#?"
_JS_SPECIAL = frozenset(".+*?=^!:${}()[]|/\\")


class _PathSyntaxError(Exception):
    """path-to-regexp rejected the pattern; the text is its message."""


class _JsRegexSyntaxError(Exception):
    """JavaScript's RegExp constructor would reject the generated source."""


class _UnsupportedRegexError(Exception):
    """The source is a valid JavaScript regex that Python's ``re`` cannot express."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # MODIFIER, ESCAPED_CHAR, OPEN, CLOSE, NAME, PATTERN, CHAR or END
    index: int
    value: str | None  # None only for a backslash at the very end


@dataclass(frozen=True, slots=True)
class _Param:
    name: str | int
    prefix: str
    suffix: str
    pattern: str
    modifier: str


def _js_escape(text: str) -> str:
    return "".join("\\" + ch if ch in _JS_SPECIAL else ch for ch in text)


def _lex(path: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(path)
    while i < n:
        ch = path[i]
        if ch in "*+?":
            tokens.append(_Token("MODIFIER", i, ch))
            i += 1
        elif ch == "\\":
            # A backslash at the very end escapes nothing; the parser then
            # consumes the empty token, so "/foo\" means "/foo".
            tokens.append(_Token("ESCAPED_CHAR", i, path[i + 1] if i + 1 < n else None))
            i += 2
        elif ch in "{}":
            tokens.append(_Token("OPEN" if ch == "{" else "CLOSE", i, ch))
            i += 1
        elif ch == ":":
            j = i + 1
            while j < n and path[j] in _NAME_CHARS:
                j += 1
            if j == i + 1:
                raise _PathSyntaxError(f"Missing parameter name at {i}")
            tokens.append(_Token("NAME", i, path[i + 1 : j]))
            i = j
        elif ch == "(":
            i = _lex_pattern(path, i, tokens)
        else:
            tokens.append(_Token("CHAR", i, ch))
            i += 1
    tokens.append(_Token("END", i, ""))
    return tokens


def _lex_pattern(path: str, start: int, tokens: list[_Token]) -> int:
    """Lex a custom ``(regex)`` group starting at ``start``; return the index after it."""
    j, n, depth = start + 1, len(path), 1
    if path[j : j + 1] == "?":
        raise _PathSyntaxError(f'Pattern cannot start with "?" at {j}')
    body: list[str] = []
    while j < n:
        ch = path[j]
        if ch == "\\":
            body.append(path[j : j + 2])
            j += 2
            continue
        if ch == ")":
            depth -= 1
            if depth == 0:
                j += 1
                break
        elif ch == "(":
            depth += 1
            if path[j + 1 : j + 2] != "?":
                raise _PathSyntaxError(f"Capturing groups are not allowed at {j}")
        body.append(ch)
        j += 1
    if depth:
        raise _PathSyntaxError(f"Unbalanced pattern at {start}")
    if not body:
        raise _PathSyntaxError(f"Missing pattern at {start}")
    tokens.append(_Token("PATTERN", start, "".join(body)))
    return j


class _PathParser:
    """Turns tokens into literal strings and parameters (path-to-regexp's ``parse``)."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._pos = 0
        self._next_key = 0
        self.result: list[str | _Param] = []

    def _take(self, kind: str) -> str | None:
        # Like path-to-regexp's tryConsume: a matching token is consumed even
        # when its value is empty, which is how a trailing backslash vanishes.
        if self._pos < len(self._tokens) and self._tokens[self._pos].kind == kind:
            self._pos += 1
            return self._tokens[self._pos - 1].value
        return None

    def _expect(self, kind: str) -> None:
        token = self._tokens[self._pos]
        if token.kind != kind:
            raise _PathSyntaxError(f"Unexpected {token.kind} at {token.index}, expected {kind}")
        self._pos += 1

    def _text(self) -> str:
        text = ""
        while value := self._take("CHAR") or self._take("ESCAPED_CHAR"):
            text += value
        return text

    def _key(self) -> int:
        self._next_key += 1
        return self._next_key - 1

    def _safe_pattern(self, prefix: str) -> str:
        """Return the default pattern of a named parameter.

        This is path-to-regexp 6.3's guard against catastrophic backtracking:
        the parameter may not contain the literal text in front of it.
        """
        prev = self.result[-1] if self.result else None
        prev_text = prefix or (prev if isinstance(prev, str) else "")
        if isinstance(prev, _Param) and not prev_text:
            raise _PathSyntaxError(
                f'Must have text between two parameters, missing text after "{prev.name}"'
            )
        delimiters = _js_escape(_DELIMITERS)
        if not prev_text or any(d in prev_text for d in _DELIMITERS):
            return f"[^{delimiters}]+?"
        return f"(?:(?!{_js_escape(prev_text)})[^{delimiters}])+?"

    def parse(self) -> list[str | _Param]:
        path = ""
        while self._pos < len(self._tokens):
            char = self._take("CHAR")
            name = self._take("NAME")
            pattern = self._take("PATTERN")
            if name or pattern:
                prefix = char or ""
                if prefix not in _PREFIXES:  # "" is "in" every string, as indexOf("") is 0
                    path += prefix
                    prefix = ""
                if path:
                    self.result.append(path)
                    path = ""
                self.result.append(
                    _Param(
                        name=name or self._key(),
                        prefix=prefix,
                        suffix="",
                        pattern=pattern or self._safe_pattern(prefix),
                        modifier=self._take("MODIFIER") or "",
                    )
                )
                continue
            value = char or self._take("ESCAPED_CHAR")
            if value:
                path += value
                continue
            if path:
                self.result.append(path)
                path = ""
            if self._take("OPEN") is not None:
                prefix = self._text()
                name = self._take("NAME") or ""
                pattern = self._take("PATTERN") or ""
                suffix = self._text()
                self._expect("CLOSE")
                group_name: str | int = name or (self._key() if pattern else "")
                self.result.append(
                    _Param(
                        name=group_name,
                        prefix=prefix,
                        suffix=suffix,
                        pattern=self._safe_pattern(prefix) if name and not pattern else pattern,
                        modifier=self._take("MODIFIER") or "",
                    )
                )
                continue
            self._expect("END")
        return self.result


def _path_to_js_regex(pattern: str, keys: list[_Param] | None = None) -> str:
    """Return the JavaScript regex source path-to-regexp 6 builds for ``pattern``.

    Args:
        pattern: The pattern, as UTF-16 code units.
        keys: If given, each parameter with a capturing group is appended, in
            group order (path-to-regexp's ``keys``).

    Raises:
        _PathSyntaxError: path-to-regexp rejects the pattern.
    """
    source = "^"
    for part in _PathParser(_lex(pattern)).parse():
        if isinstance(part, str):
            source += _js_escape(part)
            continue
        prefix, suffix = _js_escape(part.prefix), _js_escape(part.suffix)
        if part.pattern and keys is not None:
            keys.append(part)
        if not part.pattern:
            source += f"(?:{prefix}{suffix}){part.modifier}"
        elif prefix or suffix:
            if part.modifier in ("+", "*"):
                optional = "?" if part.modifier == "*" else ""
                body = part.pattern
                source += (
                    f"(?:{prefix}((?:{body})(?:{suffix}{prefix}(?:{body}))*){suffix}){optional}"
                )
            else:
                source += f"(?:{prefix}({part.pattern}){suffix}){part.modifier}"
        else:
            if part.modifier in ("+", "*"):
                raise _PathSyntaxError(f'Can not repeat "{part.name}" without a prefix and suffix')
            source += f"({part.pattern}){part.modifier}"
    # Not strict: one trailing delimiter is optional; end: anchored at the end.
    return source + f"[{_js_escape(_DELIMITERS)}]?$"


# --------------------------------------------------------------------------
# Step 2: JavaScript (non-Unicode, flag "i") regex source -> Python re source.
# Character sets are lists of inclusive (low, high) UTF-16 code unit ranges.
# --------------------------------------------------------------------------

_Ranges = tuple[tuple[int, int], ...]
_MAX_UNIT = 0xFFFF
# V8 treats a {n,m} bound at or above 2**31 - 1 as infinity.
_JS_INFINITY = 2**31 - 1
_BRACED_QUANTIFIER = re.compile(r"\{([0-9]+)(?:(,)([0-9]*))?\}")

_DIGITS: _Ranges = ((0x30, 0x39),)
_WORD: _Ranges = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
# ECMAScript WhiteSpace and LineTerminator; Python's \s differs (e.g. \x1c, no \ufeff).
_SPACE: _Ranges = (
    (0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
    (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
)  # fmt: skip
_LINE_TERMINATORS: _Ranges = ((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029))
_CONTROL_ESCAPES = {"f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B}


def _normalise_ranges(ranges: Sequence[tuple[int, int]]) -> _Ranges:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return tuple(merged)


def _complement(ranges: _Ranges) -> _Ranges:
    result: list[tuple[int, int]] = []
    next_low = 0
    for low, high in ranges:
        if low > next_low:
            result.append((next_low, low - 1))
        next_low = high + 1
    if next_low <= _MAX_UNIT:
        result.append((next_low, _MAX_UNIT))
    return tuple(result)


_CLASS_ESCAPES: dict[str, _Ranges] = {
    "d": _DIGITS,
    "D": _complement(_DIGITS),
    "s": _SPACE,
    "S": _complement(_SPACE),
    "w": _WORD,
    "W": _complement(_WORD),
}


def _canonicalize(unit: int) -> int:
    """ECMA-262 ``Canonicalize`` for a non-Unicode, case-insensitive regex."""
    upper = chr(unit).upper()
    if len(upper) != 1 or ord(upper) > _MAX_UNIT:
        return unit
    # Never map a non-ASCII character onto ASCII (so U+017F, long s, does not match "s").
    if unit >= 0x80 and ord(upper) < 0x80:
        return unit
    return ord(upper)


@functools.cache
def _case_classes() -> tuple[tuple[int, ...], ...]:
    """Every set of two or more code units that ``Canonicalize`` makes equal."""
    by_canon: dict[int, set[int]] = {}
    for unit in range(_MAX_UNIT + 1):
        canon = _canonicalize(unit)
        if canon != unit:
            by_canon.setdefault(canon, set()).add(unit)
    for canon, members in by_canon.items():
        if _canonicalize(canon) == canon:
            members.add(canon)
    return tuple(tuple(sorted(m)) for m in by_canon.values() if len(m) > 1)


@functools.cache
def _case_closure(ranges: _Ranges) -> _Ranges:
    """Return the code units that match ``ranges`` case-insensitively, as JavaScript decides."""
    lows = [low for low, _ in ranges]
    extra: list[tuple[int, int]] = []
    for members in _case_classes():
        for unit in members:
            at = bisect.bisect_right(lows, unit) - 1
            if at >= 0 and unit <= ranges[at][1]:
                extra.extend((m, m) for m in members)
                break
    return _normalise_ranges((*ranges, *extra)) if extra else ranges


def _py_unit(unit: int) -> str:
    char = chr(unit)
    if char.isascii() and (char.isalnum() or char == "_"):
        return char
    if 0x20 < unit < 0x7F:
        return "\\" + char
    return f"\\x{unit:02x}" if unit < 0x100 else f"\\u{unit:04x}"


def _py_ranges(ranges: _Ranges) -> str:
    return "".join(
        _py_unit(low) if low == high else f"{_py_unit(low)}-{_py_unit(high)}"
        for low, high in ranges
    )


def _py_set(ranges: _Ranges) -> str:
    """One Python atom matching exactly the code units in ``ranges``."""
    if not ranges:
        return "[^\\x00-\\uffff]"  # matches nothing: the empty JavaScript class []
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _py_unit(ranges[0][0])
    inverse = _complement(ranges)
    if not inverse:
        return "[\\x00-\\uffff]"
    if len(inverse) < len(ranges):
        return f"[^{_py_ranges(inverse)}]"
    return f"[{_py_ranges(ranges)}]"


_DOT = _py_set(_complement(_LINE_TERMINATORS))
# JavaScript's \b and \B use ASCII word characters. Python's would use Unicode
# ones, and its \B never matches in an empty string, so both are spelt out.
_W = _py_set(_WORD)
_WORD_BOUNDARY = f"(?:(?<={_W})(?!{_W})|(?<!{_W})(?={_W}))"
_NOT_WORD_BOUNDARY = f"(?:(?<={_W})(?={_W})|(?<!{_W})(?!{_W}))"


def _scan_groups(source: str) -> tuple[int, bool]:
    """Count capturing groups and see whether any is named, as RegExp's pre-pass does."""
    count, named, i, n = 0, False, 0, len(source)
    in_class = False
    while i < n:
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            if source[i + 1 : i + 2] != "?":
                count += 1
            elif source[i + 2 : i + 3] == "<" and source[i + 3 : i + 4] not in ("=", "!"):
                count += 1
                named = True
        i += 1
    return count, named


def _is_surrogate_pair(units: str) -> bool:
    return len(units) == 2 and "\ud800" <= units[0] <= "\udbff" and "\udc00" <= units[1] <= "\udfff"


def _group_names(source: str) -> set[str]:
    r"""Return the names of all groups in ``source`` (a ``\k<name>`` may point further right)."""
    names: set[str] = set()
    for found in re.finditer(r"\(\?<(?![=!])", source):
        probe = _JsRegexTranslator(source)
        probe._pos = found.end()
        try:
            names.add(probe._group_name())
        except _JsRegexSyntaxError:
            continue
    return names


class _JsRegexTranslator:
    r"""Translate one JavaScript regex (no ``u`` flag, flag ``i``) into Python ``re`` source.

    By default the output has no capturing groups (nothing reads them, and that
    lets several patterns share one compiled regex); with ``capture=True`` the
    capturing groups keep JavaScript's numbering.
    """

    def __init__(self, source: str, *, capture: bool = False) -> None:
        self._src = source
        self._capture = capture
        self._pos = 0
        self._group_count, self._named_groups = _scan_groups(source)
        self._group_names: set[str] = set()
        # JavaScript reports syntax errors for the whole source, so a feature we
        # cannot translate is only noted, and raised once the parse succeeded.
        self._unsupported: str | None = None

    def translate(self) -> str:
        result = self._disjunction()
        if self._pos < len(self._src):  # only an unmatched ")" stops the top level early
            raise _JsRegexSyntaxError("Unmatched ')'")
        if self._unsupported is not None:
            raise _UnsupportedRegexError(self._unsupported)
        return result

    def _refuse(self, feature: str) -> str:
        if self._unsupported is None:
            self._unsupported = feature
        return "(?:)"

    def _peek(self, offset: int = 0) -> str:
        return self._src[self._pos + offset : self._pos + offset + 1]

    def _disjunction(self) -> str:
        alternatives = [self._alternative()]
        while self._peek() == "|":
            self._pos += 1
            alternatives.append(self._alternative())
        return "|".join(alternatives)

    def _alternative(self) -> str:
        terms: list[str] = []
        while (ch := self._peek()) and ch not in "|)":
            terms.append(self._term())
        return "".join(terms)

    def _quantifier(self) -> tuple[int, int | None, bool] | None:
        """Consume a quantifier, returning (min, max, lazy), or None if there is none."""
        ch = self._peek()
        bounds: tuple[int, int | None]
        if ch == "*":
            bounds, self._pos = (0, None), self._pos + 1
        elif ch == "+":
            bounds, self._pos = (1, None), self._pos + 1
        elif ch == "?":
            bounds, self._pos = (0, 1), self._pos + 1
        elif ch == "{" and (m := _BRACED_QUANTIFIER.match(self._src, self._pos)):
            low = int(m.group(1))
            high = low if not m.group(2) else (int(m.group(3)) if m.group(3) else None)
            if high is not None and high < low:
                raise _JsRegexSyntaxError("numbers out of order in {} quantifier")
            if low >= _JS_INFINITY:
                self._refuse("a repetition count of 2**31 - 1 or more")
            bounds = (low, None if high is not None and high >= _JS_INFINITY else high)
            self._pos = m.end()
        else:
            return None
        lazy = self._peek() == "?"
        if lazy:
            self._pos += 1
        return bounds[0], bounds[1], lazy

    def _at_quantifier(self) -> bool:
        ch = self._peek()
        if ch == "{":
            return _BRACED_QUANTIFIER.match(self._src, self._pos) is not None
        return ch in ("*", "+", "?") and ch != ""

    def _forbid_quantifier(self, message: str = "Nothing to repeat") -> None:
        if self._at_quantifier():
            raise _JsRegexSyntaxError(message)

    @staticmethod
    def _py_quantifier(low: int, high: int | None, lazy: bool) -> str:
        if (low, high) == (0, None):
            text = "*"
        elif (low, high) == (1, None):
            text = "+"
        elif (low, high) == (0, 1):
            text = "?"
        elif high is None:
            text = f"{{{low},}}"
        elif low == high:
            text = f"{{{low}}}"
        else:
            text = f"{{{low},{high}}}"
        return text + ("?" if lazy else "")

    def _term(self) -> str:
        src, pos = self._src, self._pos
        ch = src[pos]
        assertion: str | None = None
        if ch == "^":
            assertion = "^"
        elif ch == "$":
            assertion = "\\Z"  # without the "m" flag, JavaScript's $ is the end of input only
        elif src.startswith(("\\b", "\\B"), pos):
            assertion = _WORD_BOUNDARY if src[pos + 1] == "b" else _NOT_WORD_BOUNDARY
        if assertion is not None:
            self._pos += 2 if ch == "\\" else 1
            self._forbid_quantifier()
            return assertion
        if src.startswith(("(?=", "(?!"), pos):
            self._pos += 3
            assertion = f"{src[pos : pos + 3]}{self._group_body()})"
            quantifier = self._quantifier()
            if quantifier is None:
                return assertion
            # Annex B lets a lookahead be quantified. An iteration that consumes
            # nothing ends the loop, so any count >= 1 means "once", 0 means "never needed".
            return assertion if quantifier[0] > 0 else f"(?:{assertion})?"
        if src.startswith(("(?<=", "(?<!"), pos):
            self._pos += 4
            assertion = f"{src[pos : pos + 4]}{self._group_body()})"
            self._forbid_quantifier("Invalid quantifier")  # Annex B quantifies lookaheads only
            return assertion
        atom = self._atom()
        quantifier = self._quantifier()
        return atom if quantifier is None else atom + self._py_quantifier(*quantifier)

    def _group_body(self) -> str:
        body = self._disjunction()
        if self._peek() != ")":
            raise _JsRegexSyntaxError("Unterminated group")
        self._pos += 1
        return body

    def _atom(self) -> str:
        ch = self._src[self._pos]
        if ch == ".":
            self._pos += 1
            return _DOT
        if ch == "[":
            return self._class()
        if ch == "(":
            return self._group()
        if ch == "\\":
            return self._atom_escape()
        if self._at_quantifier():
            raise _JsRegexSyntaxError("Nothing to repeat")
        # Annex B: "]", "{" and "}" that do not form a quantifier are literals.
        self._pos += 1
        return self._char(ord(ch))

    def _group(self) -> str:
        capturing = True
        if self._src.startswith("(?:", self._pos):
            self._pos += 3
            capturing = False
        elif self._src.startswith("(?<", self._pos):
            self._pos += 3
            name = self._group_name()
            if name in self._group_names:
                raise _JsRegexSyntaxError("Duplicate capture group name")
            self._group_names.add(name)
        elif self._peek(1) == "?":
            raise _JsRegexSyntaxError("Invalid group")
        else:
            self._pos += 1
        # Capturing groups stay capturing only when parameters are read back
        # (numbered as in JavaScript, names dropped); otherwise they become
        # non-capturing, since backreferences are refused and nothing reads them.
        body = self._group_body()
        return f"({body})" if self._capture and capturing else f"(?:{body})"

    def _group_name(self) -> str:
        """Read a RegExpIdentifierName and the closing ``>``."""
        name = ""
        while (ch := self._peek()) != ">" or not name:
            if not ch:
                raise _JsRegexSyntaxError("Invalid capture group name")
            if ch == "\\" and self._peek(1) == "u":
                self._pos += 2
                char = self._name_escape()
            elif ch and _is_surrogate_pair(self._src[self._pos : self._pos + 2]):
                char = _from_code_units(self._src[self._pos : self._pos + 2])
                self._pos += 2
            else:
                char = ch
                self._pos += 1
            if name:
                valid = char in ("$", "\u200c", "\u200d") or ("a" + char).isidentifier()
            else:
                valid = char in ("$", "_") or char.isidentifier()
            if not valid:
                raise _JsRegexSyntaxError("Invalid capture group name")
            name += char
        self._pos += 1
        return name

    def _name_escape(self) -> str:
        r"""Read ``XXXX`` (maybe a surrogate pair of them) or ``{...}`` after ``\u`` in a name."""
        if self._peek() == "{":
            end = self._src.find("}", self._pos)
            digits = self._src[self._pos + 1 : end] if end != -1 else ""
            if not digits or any(d not in _HEX_DIGITS for d in digits):
                raise _JsRegexSyntaxError("Invalid Unicode escape sequence")
            if int(digits, 16) > 0x10FFFF:
                raise _JsRegexSyntaxError("Invalid Unicode escape sequence")
            self._pos = end + 1
            return chr(int(digits, 16))
        unit = self._hex(4)
        if unit is None:
            raise _JsRegexSyntaxError("Invalid Unicode escape sequence")
        if 0xD800 <= unit <= 0xDBFF and self._src.startswith("\\u", self._pos):
            after_lead = self._pos
            self._pos += 2
            trail = self._hex(4)
            if trail is not None and 0xDC00 <= trail <= 0xDFFF:
                return _from_code_units(chr(unit) + chr(trail))
            self._pos = after_lead
        return chr(unit)

    def _hex(self, digits: int) -> int | None:
        text = self._src[self._pos : self._pos + digits]
        if len(text) != digits or any(d not in _HEX_DIGITS for d in text):
            return None
        self._pos += digits
        return int(text, 16)

    def _char(self, unit: int) -> str:
        return _py_set(_case_closure(((unit, unit),)))

    def _atom_escape(self) -> str:
        ch = self._peek(1)
        if not ch:
            raise _JsRegexSyntaxError("\\ at end of pattern")
        if ch in _CLASS_ESCAPES:
            self._pos += 2
            return _py_set(_case_closure(_CLASS_ESCAPES[ch]))
        if ch in "123456789":
            digits = self._src[self._pos + 1 :]
            number = digits[: len(digits) - len(digits.lstrip("0123456789"))]
            if int(number) <= self._group_count:
                self._pos += 1 + len(number)
                return self._refuse(f"the backreference \\{number}")
            # Annex B: with fewer groups it is a legacy octal escape, or "8"/"9".
        elif ch == "k" and self._named_groups:
            self._pos += 2
            if self._peek() != "<":
                raise _JsRegexSyntaxError("Invalid named reference")
            self._pos += 1
            name = self._group_name()
            if name not in _group_names(self._src):
                raise _JsRegexSyntaxError("Invalid named capture referenced")
            return self._refuse(f"the backreference \\k<{name}>")
        elif ch == "c":
            letter = self._peek(2)
            if letter.isascii() and letter.isalpha():
                self._pos += 3
                return self._char(ord(letter) % 32)
            # Annex B: a "\c" that is not a control escape is a literal backslash,
            # and the "c" is read next as itself.
            self._pos += 1
            return self._char(0x5C)
        self._pos += 1
        return self._char(self._character_escape())

    def _character_escape(self) -> int:
        """Read a CharacterEscape after the backslash and return its code unit."""
        ch = self._src[self._pos]
        if ch in _CONTROL_ESCAPES:
            self._pos += 1
            return _CONTROL_ESCAPES[ch]
        if ch in "0123456789":
            return self._legacy_octal()
        if ch in "xu":
            self._pos += 1
            unit = self._hex(2 if ch == "x" else 4)
            # Without the "u" flag an incomplete \x or \u is just the letter.
            return ord(ch) if unit is None else unit
        self._pos += 1
        return ord(ch)  # IdentityEscape: any other character stands for itself

    def _legacy_octal(self) -> int:
        r"""Read an Annex B legacy octal escape (``\0`` to ``\377``), or ``\8``/``\9`` as digits."""
        ch = self._src[self._pos]
        self._pos += 1
        if ch in "89":
            return ord(ch)
        value = int(ch)
        for _ in range(2):
            nxt = self._peek()
            if not nxt or nxt not in "01234567" or value >= 32:
                break
            value = value * 8 + int(nxt)
            self._pos += 1
        return value

    def _class(self) -> str:
        self._pos += 1
        negated = self._peek() == "^"
        if negated:
            self._pos += 1
        ranges: list[tuple[int, int]] = []
        while True:
            ch = self._peek()
            if not ch:
                raise _JsRegexSyntaxError("Unterminated character class")
            if ch == "]":
                self._pos += 1
                break
            first = self._class_atom()
            if self._peek() == "-" and self._peek(1) not in ("]", ""):
                self._pos += 1
                second = self._class_atom()
                if isinstance(first, int) and isinstance(second, int):
                    if first > second:
                        raise _JsRegexSyntaxError("Range out of order in character class")
                    ranges.append((first, second))
                    continue
                # Annex B: a range with a class escape at either end is just
                # the union of both ends and "-".
                ranges.append((0x2D, 0x2D))
                for end in (first, second):
                    ranges.extend([(end, end)] if isinstance(end, int) else end)
                continue
            ranges.extend([(first, first)] if isinstance(first, int) else first)
        # JavaScript matches [^A] when no member of A is case-equal to the input.
        members = _case_closure(_normalise_ranges(ranges))
        return _py_set(_complement(members) if negated else members)

    def _class_atom(self) -> int | _Ranges:
        ch = self._src[self._pos]
        if ch != "\\":
            self._pos += 1
            return ord(ch)
        nxt = self._peek(1)
        if not nxt:
            raise _JsRegexSyntaxError("\\ at end of pattern")
        if nxt in _CLASS_ESCAPES:
            self._pos += 2
            return _CLASS_ESCAPES[nxt]
        if nxt == "b":
            self._pos += 2
            return 0x08
        if nxt == "c":
            letter = self._peek(2)
            if letter and letter.isascii() and (letter.isalnum() or letter == "_"):
                self._pos += 3
                return ord(letter) % 32
            self._pos += 1  # a literal backslash; the "c" is read next
            return 0x5C
        if nxt == "k" and self._named_groups:
            raise _JsRegexSyntaxError("Invalid escape")
        self._pos += 1
        return self._character_escape()


def _js_regex_to_python(source: str, *, capture: bool = False) -> re.Pattern[str]:
    """Compile JavaScript regex ``source`` (flag ``i``) into an equivalent Python regex.

    Raises:
        _JsRegexSyntaxError: JavaScript would reject ``source``.
        _UnsupportedRegexError: Python's ``re`` cannot express it.
    """
    python_source = _JsRegexTranslator(source, capture=capture).translate()
    try:
        return re.compile(python_source)
    except (re.error, OverflowError, RecursionError) as exc:
        # e.g. "look-behind requires fixed-width pattern", which JavaScript allows.
        raise _UnsupportedRegexError(str(exc)) from None


def _compile_path_pattern(pattern: str) -> re.Pattern[str]:
    """Compile one path-to-regexp pattern into a Python regex over UTF-16 code units.

    Raises:
        ConfigurationError: The pattern is invalid, or cannot be reproduced in Python.
    """
    try:
        source = _path_to_js_regex(_to_code_units(pattern))
        return _js_regex_to_python(source)
    except _PathSyntaxError as exc:
        detail = str(exc)
    except _JsRegexSyntaxError as exc:
        detail = f"Invalid regular expression: /{_from_code_units(source)}/i: {exc}"
    except _UnsupportedRegexError as exc:
        raise ConfigurationError(
            f"Invalid path: {pattern}.\nThis pattern is valid for Clerk's JavaScript SDK, but "
            f"Python's re module cannot reproduce it: {exc}. Rewrite the custom (...) group "
            "without it, or pass a compiled re.Pattern or a callable instead."
        ) from None
    hint = _hint(pattern, detail)
    raise ConfigurationError(f"Invalid path: {pattern}.\n{_DOCS_HINT}\n{detail}{hint}")


def _hint(pattern: str, detail: str) -> str:
    """A fix for the invalid pattern people write most: a glob-style ``*``."""
    if "*" not in pattern or "MODIFIER" not in detail:
        return ""
    stem = pattern.split("*", 1)[0].rstrip("/")
    return (
        f"\nHint: a bare * is not a wildcard in path-to-regexp. For {stem or '/'} and "
        f"everything below it write {stem}(.*) (any suffix) or {stem}/:path* "
        "(zero or more whole segments)."
    )


@dataclass(frozen=True, slots=True)
class _ParamsRegex:
    regex: re.Pattern[str]
    keys: tuple[_Param, ...]


@functools.lru_cache(maxsize=64)
def _compile_params_regex(patterns: tuple[str, ...]) -> _ParamsRegex:
    """Compile ``patterns`` as path-to-regexp's ``match(array)`` does: one alternation.

    Raises:
        ConfigurationError: A pattern is invalid or cannot be reproduced in Python.
    """
    keys: list[_Param] = []
    source = ""
    try:
        source = "(?:{})".format(
            "|".join(_path_to_js_regex(_to_code_units(p), keys) for p in patterns)
        )
        return _ParamsRegex(_js_regex_to_python(source, capture=True), tuple(keys))
    except _PathSyntaxError as exc:
        detail = str(exc)
    except _JsRegexSyntaxError as exc:
        detail = f"Invalid regular expression: /{_from_code_units(source)}/i: {exc}"
    except _UnsupportedRegexError as exc:
        detail = f"Python's re module cannot reproduce this pattern: {exc}"
    joined = ",".join(patterns)
    raise ConfigurationError(
        f'Invalid pattern "{joined}": Error: Invalid path and options: {_DOCS_HINT}\n{detail}'
    )


def match_params(patterns: Sequence[str], path: str) -> dict[str, str] | None:
    """Match ``path`` against ``patterns`` and return the captured parameters.

    This is ``match`` from ``@clerk/shared/pathToRegexp`` as Clerk's
    organization sync (``OrganizationMatcher``) uses it: all patterns form one
    case-insensitive regex, the path is matched as given (no decoding), values
    are the matched text, and a repeated parameter (``:p*``, ``:p+``) is joined
    with ``","``, which is how JavaScript prints the array Clerk gets. Like
    Clerk, an empty ``patterns`` matches every path, with no parameters.

    Args:
        patterns: path-to-regexp 6 patterns, e.g. ``("/orgs/:slug(.*)",)``.
        path: The URL pathname, still percent-encoded.

    Returns:
        Parameter names (unnamed groups are ``"0"``, ``"1"``, ...) mapped to
        their values, or None if no pattern matches.

    Raises:
        ConfigurationError: A pattern is invalid (compiled patterns are cached).
    """
    compiled = _compile_params_regex(tuple(patterns))
    found = compiled.regex.match(_to_code_units(path))
    if found is None:
        return None
    params: dict[str, str] = {}
    for index, value in enumerate(found.groups()):
        if value is None:
            continue
        if index >= len(compiled.keys):
            # A named group in a custom pattern shifts the numbering; Clerk's
            # matcher then throws, and organization sync treats that as no match.
            return None
        key = compiled.keys[index]
        text = value
        if key.modifier in ("*", "+"):
            separator = key.prefix + key.suffix
            text = ",".join(value.split(separator) if separator else value)
        params[str(key.name)] = _from_code_units(text)
    return params


# --------------------------------------------------------------------------
# The matcher.
# --------------------------------------------------------------------------


class RouteMatcher:
    """A compiled set of route patterns; call it with a path or request.

    Build one with :func:`create_route_matcher`, once, at start-up. Calling it
    returns whether any pattern matches. String patterns and compiled regexes
    see the path after Clerk's normalisation (one ``decodeURI``, then runs of
    ``/`` collapsed); callables get the argument exactly as passed.

    Args:
        patterns: See :func:`create_route_matcher`.

    Raises:
        ConfigurationError: A pattern is invalid or of an unsupported type.
    """

    __slots__ = ("_combined", "_patterns", "_predicates", "_regexes")

    def __init__(self, patterns: RoutePatterns) -> None:
        entries: list[object] = list(patterns) if isinstance(patterns, list | tuple) else [patterns]
        kept: list[RoutePattern] = []
        sources: list[str] = []
        regexes: list[re.Pattern[str]] = []
        predicates: list[Callable[[Any], bool]] = []
        for entry in entries:
            if isinstance(entry, list | tuple):
                raise ConfigurationError(
                    f"Nested route pattern lists are not supported: {entry!r}. "
                    "Flatten them into one list."
                )
            if not entry:  # Clerk drops falsy entries: None, "", ...
                continue
            if isinstance(entry, str):
                sources.append(_compile_path_pattern(entry).pattern)
                kept.append(entry)
            elif isinstance(entry, re.Pattern):
                if not isinstance(entry.pattern, str):
                    raise ConfigurationError(
                        f"Route regexes must be str patterns, not bytes: {entry!r}."
                    )
                regexes.append(entry)
                kept.append(entry)
            elif callable(entry):
                predicate = cast("Callable[[Any], bool]", entry)
                predicates.append(predicate)
                kept.append(predicate)
            else:
                raise ConfigurationError(
                    "A route pattern must be a str, a compiled re.Pattern, a callable or a "
                    f"list of those, not {type(entry).__name__}: {entry!r}."
                )
        self._patterns: tuple[RoutePattern, ...] = tuple(kept)
        # Every translated pattern starts with "^" and has no capturing groups,
        # so one alternation is equivalent and matches in a single C-level call.
        self._combined: re.Pattern[str] | None = (
            re.compile("|".join(f"(?:{s})" for s in sources)) if sources else None
        )
        self._regexes: tuple[re.Pattern[str], ...] = tuple(regexes)
        self._predicates: tuple[Callable[[Any], bool], ...] = tuple(predicates)

    @property
    def patterns(self) -> tuple[RoutePattern, ...]:
        """The patterns in use, in order, with falsy entries removed."""
        return self._patterns

    def __call__(self, target: RouteTarget) -> bool:
        """Return whether any pattern matches ``target``.

        Args:
            target: The request: an adapter's ``auth.request``, a framework
                request, a WSGI environ or an ASGI scope; the path its router
                routes on is matched (decoded, below the mount). Or the raw,
                still percent-encoded URL path as a str (a query string or
                fragment is ignored), or an object with such a ``.path``, or
                with a full URL as ``.url``. Callables receive it unchanged.

        Returns:
            True if a pattern matches.

        Raises:
            MalformedPathError: Answer 400. A raw path has invalid
                percent-encoding, or a route path holds control characters,
                bytes that are not UTF-8 or dot segments, or does not start
                with ``/``. Checked before any callable runs, whenever string
                or regex patterns are present.
            TypeError: No path can be read from ``target``.
            ValueError: ``target.url`` is not an absolute http(s) URL.
        """
        if self._combined is not None or self._regexes:
            units = _target_units(target)
            if self._combined is not None and self._combined.match(units):
                return True
            if self._regexes:
                path = _from_code_units(units)
                if any(regex.search(path) for regex in self._regexes):
                    return True
        return any(predicate(target) for predicate in self._predicates)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self._patterns)!r})"


def create_route_matcher(patterns: RoutePatterns) -> RouteMatcher:
    r"""Build a matcher deciding whether a request's path is one of ``patterns``.

    This is Clerk's ``createRouteMatcher``. A string is a path-to-regexp 6
    pattern, matched case-insensitively against the whole path with an
    optional trailing ``/``: ``"/dashboard(.*)"`` (also matches
    ``"/dashboardxyz"``), ``"/dashboard/:path*"``, ``"/user/:id"`` (one
    segment), ``"/user/:id?"``, ``"/foo{-bar}?"``, ``"/api/:id(\\d+)"``.
    A compiled regex is used as is, with ``search`` (anchor it yourself).
    A callable is called with the matcher's argument and its result used.

    **Hand the matcher the request** (``auth.request`` in a handler, or the
    framework's request, environ or scope): it then matches the path the
    application's router routes on, as the server decoded it and relative to
    where the app is mounted (WSGI ``PATH_INFO``, ASGI ``path`` without
    ``root_path``), so a pattern protects exactly the views it names on every
    server. ``GET /api%2Fadmin`` is routed to ``/api/admin`` by every Python
    server, and is matched as ``/api/admin``. A route path the router and a
    matcher could read differently (control characters, bytes that are not
    UTF-8, dot segments) raises
    ``MalformedPathError``, which the adapters answer with 400.

    Given a str, the matcher reads it as a raw URL path and normalises it as
    Clerk does: one JavaScript ``decodeURI`` (``%61`` becomes ``a``, but
    ``%2F``, ``%3F``, ``%23`` and the other reserved escapes stay encoded), then
    runs of ``/`` become one ``/``. Pass the raw path: an already-decoded one
    would be decoded twice.

    Args:
        patterns: One pattern or a list/tuple of them; falsy entries are ignored.
            With no patterns left, the matcher matches nothing.

    Returns:
        A :class:`RouteMatcher`.

    Raises:
        ConfigurationError: A string pattern is invalid (the message starts with
            ``Invalid path: <pattern>.``, as Clerk's does), uses a regex feature
            Python's ``re`` cannot reproduce (backreferences, lookbehinds of
            varying width), or an entry is of an unsupported type.
    """
    return RouteMatcher(patterns)
