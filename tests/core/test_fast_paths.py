"""The hot path's shortcuts give exactly the answers of the code they stand in for.

Each shortcut is compared with a reference: the general code path it skips,
or (where the code was replaced) a verbatim copy of the previous
implementation kept here. Inputs come from hypothesis, biased towards the
characters and shapes at each shortcut's edge.
"""

from __future__ import annotations

import base64
import contextlib
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clerk_middleware.core import AuthRequest
from clerk_middleware.core._authenticate import _SCHEME_PREFIX, _strip_schemes, js_parse_int
from clerk_middleware.core._jwt import (
    DecodedJwt,
    _b64url_decode,
    _json_decoder,
    _json_value,
    decode_jwt,
    is_jwt_format,
    is_machine_jwt,
)
from clerk_middleware.core._request import (
    decode_uri_component,
    parse_clerk_cookies,
    parse_cookie_header,
)
from clerk_middleware.core._url import _parse_general, fast_origin, parse_url

# --- references: the implementations before the shortcuts ---------------------------------

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_B64_VALUES = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
_JS_INT_PREFIX = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]+")


def reference_b64url_decode(segment: str) -> bytes:
    data = segment.rstrip("=")
    if not _B64URL.fullmatch(data):
        raise ValueError("invalid base64url character")
    remainder = len(data) % 4
    if remainder == 1:
        raise ValueError("invalid base64url length")
    if remainder and _B64_VALUES[data[-1]] & (0x0F if remainder == 2 else 0x03):
        raise ValueError("non-zero trailing bits")
    return base64.urlsafe_b64decode(data + "=" * (-remainder % 4))


def reference_parse_cookie_header(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    if len(header) < 2:
        return cookies
    for segment in header.split(";"):
        name, eq, value = segment.partition("=")
        if not eq:
            continue
        name = name.strip(" \t")
        if name in cookies:
            continue
        value = value.strip(" \t")
        if "%" in value:
            with contextlib.suppress(ValueError):
                value = decode_uri_component(value)
        cookies[name] = value
    return cookies


def reference_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in merged:
            merged[key] = merged[key] + ("; " if key == "cookie" else ", ") + value
        else:
            merged[key] = value
    return merged


def reference_js_parse_int(text: str) -> int:
    text = text.lstrip(" \t\n\r\f\v\u00a0\ufeff")
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    if body[:2].lower() == "0x":
        digits = _HEX.match(body[2:])
        return sign * int(digits.group(), 16) if digits else 0
    match = _JS_INT_PREFIX.match(body)
    return sign * int(match.group()) if match else 0


def reference_is_machine_jwt(jwt: DecodedJwt) -> bool:
    if not is_jwt_format(jwt.raw):
        return False
    sub = jwt.payload.get("sub")
    return jwt.header.get("typ") in ("at+jwt", "application/at+jwt") or (
        isinstance(sub, str) and sub.startswith("mch_")
    )


def outcome(function: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("value", function(*args))
    except (ValueError, UnicodeError):  # the errors callers catch
        return ("error", None)


# --- strategies -----------------------------------------------------------------------------

URL_PIECES = [
    "http://",
    "https://",
    "HTTPS://",
    "ws://",
    "http:/",
    "http:",
    " ",
    "\t",
    "\n",
    "app.example.com",
    "App.Example.com",
    "127.0.0.1",
    "[::1]",
    "xn--bcher-kva.example",
    "a-b",
    ":80",
    ":443",
    ":8080",
    ":0",
    ":65535",
    ":65536",
    ":",
    ":0443",
    "@",
    "user:pw@",
    "/",
    "//",
    "/.",
    "/..",
    "/%2e",
    "/%2E%2e",
    "/a",
    "/b c",
    "?",
    "?a=1&b=2",
    "#",
    "#frag",
    "\\",
    "%",
    "%41",
    "é",
    "\x00",
    "\x7f",
    "'",
    '"',
    "<",
    ">",
    "`",
    "{",
    "}",
    "|",
    "^",
    "~",
    "+",
    "__clerk_handshake=x",
    ".well-known",
]
urls = st.lists(st.sampled_from(URL_PIECES), max_size=10).map("".join)
b64_text = st.text(alphabet="ABCxyz09-_+/= \t.é\x00", max_size=12)
cookie_headers = st.lists(
    st.sampled_from(
        [
            "a=1",
            " a = 2 ",
            "__session=tok",
            "__session_abc=t2",
            "=v",
            "novalue",
            "x=%41%20b",
            "bad=%E0%A4%A",
            "\tb=\t3\t",
            'q="quoted"',
            "e=a=b",
            "",
            " ",
            "__client_uat=0",
        ]
    ),
    max_size=8,
).map(";".join)
# Pairs at the edge of the Clerk-only parse: "__" in a value, inside or after a
# name, behind spaces or tabs, percent-encoded, repeated with another value.
clerk_cookie_headers = st.lists(
    st.sampled_from(
        [
            "__session=tok",
            " __session = other",
            "\t__session_abc=t2",
            "__client_uat=0",
            "__client_uat_abc=17",
            "x__session=no",
            "a=__session=no",
            "_ _session=no",
            "%5F%5Fsession=encoded-name",
            "__clerk_db_jwt=%41%42",
            "__clerk_handshake=bad%E0%A4%A",
            "__refresh_abc=r",
            "__=empty-name",
            "__novalue",
            "_ga=GA1.1",
            "theme=dark",
            "",
        ]
    ),
    max_size=10,
).map(";".join)
header_names = st.sampled_from(["host", "Host", "cookie", "Cookie", "accept", "x-a", "X-A", "-"])
header_lists = st.lists(st.tuples(header_names, st.sampled_from(["1", "a=b", ""])), max_size=6)


# --- the tests -------------------------------------------------------------------------------


EDGE_URLS = [
    "https://a.example/%2e/x",
    "https://a.example/a/%2E%2e/b",
    "https://a.example/a/.%2e",
    "https://a.example/./x",
    "https://a.example/.well-known/x",
    "https://a.example:65535/",
    "https://a.example:65536/",
    "https://a.example:99999/x",
    "https://a.example:0443/",
    "http://a.example:80?x",
    "https://a.example?q=a\\b",
    "https://a.example/p\\q",
    "https://a.example/#x",
    "https://a.example/x?y#z",
    "https://A.example/",
    "https://a.example/ x",
    "https://user@a.example/",
]


@pytest.mark.parametrize("text", EDGE_URLS)
def test_parse_url_shortcut_at_its_edges(text: str) -> None:
    assert outcome(parse_url, text) == outcome(_parse_general, text, None)
    origin = fast_origin(text)
    if origin is not None:
        assert origin == _parse_general(text, None).origin


@settings(max_examples=1500)
@given(urls)
def test_parse_url_shortcut_equals_the_general_parser(text: str) -> None:
    assert outcome(parse_url, text) == outcome(_parse_general, text, None)


@settings(max_examples=1500)
@given(urls)
def test_fast_origin_is_the_parsed_origin_or_declines(text: str) -> None:
    origin = fast_origin(text)
    if origin is not None:
        assert origin == _parse_general(text, None).origin


@settings(max_examples=1500)
@given(b64_text)
def test_base64url_decoding_is_unchanged(segment: str) -> None:
    assert outcome(_b64url_decode, segment) == outcome(reference_b64url_decode, segment)


@given(
    st.sampled_from(
        [
            '{"a":1}',
            ' {"a":1}',
            '{"a":1} ',
            '{"a":1}x',
            "",
            " ",
            "NaN",
            '{"a":NaN}',
            "1 2",
            '\n[1,{"b":null}]\t',
            "Infinity",
            "nul",
            '"s"',
        ]
    )
)
def test_json_shortcut_equals_decode(text: str) -> None:
    def run(function: Any) -> tuple[str, Any]:
        try:
            return ("value", function(text))
        except ValueError as exc:
            return ("error", str(exc))

    assert run(_json_value) == run(_json_decoder.decode)


@settings(max_examples=600)
@given(cookie_headers)
def test_cookie_parsing_is_unchanged(header: str) -> None:
    parsed = parse_cookie_header(header)
    expected = reference_parse_cookie_header(header)
    assert parsed == expected
    assert list(parsed) == list(expected)  # the same order too


@settings(max_examples=1500)
@given(st.one_of(clerk_cookie_headers, cookie_headers))
def test_clerk_cookie_parse_is_the_full_parse_of_clerk_names(header: str) -> None:
    clerk = parse_clerk_cookies(header)
    full = reference_parse_cookie_header(header)
    assert clerk == {name: value for name, value in full.items() if name.startswith("__")}


def test_every_cookie_the_flow_reads_is_in_the_clerk_only_parse() -> None:
    from clerk_middleware.core import _authenticate as flow

    names = [flow.SESSION, flow.CLIENT_UAT, flow.REFRESH, flow.DEV_BROWSER, flow.HANDSHAKE]
    names += [flow.HANDSHAKE_NONCE, flow.REDIRECT_COUNT]
    assert all(name.startswith("__") for name in names)


@settings(max_examples=600)
@given(header_lists)
def test_header_merging_is_unchanged(headers: list[tuple[str, str]]) -> None:
    request = AuthRequest("GET", "https://a.example/", headers)
    assert request.headers == reference_headers(headers)
    assert list(request.headers) == list(reference_headers(headers))
    assert AuthRequest("GET", "https://a.example/", dict(headers)).headers == reference_headers(
        list(dict(headers).items())
    )


@given(st.text(alphabet="0123456789 -+xX\u0663\u00a0a.", max_size=8))
def test_js_parse_int_is_unchanged(text: str) -> None:
    assert js_parse_int(text) == reference_js_parse_int(text)


@given(
    st.lists(
        st.sampled_from(["https://", "http://", "HTTPS://", "clerk.example.com", "://", "x", "/"]),
        max_size=5,
    ).map("".join)
)
def test_scheme_stripping_is_unchanged(text: str) -> None:
    assert _strip_schemes(text) == _SCHEME_PREFIX.sub("", text)


def _segment(value: Any) -> str:
    import json

    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@given(
    st.sampled_from([None, "JWT", "at+jwt", "application/at+jwt", ["at+jwt"]]),
    st.sampled_from([None, "user_1", "mch_1", 5]),
    st.sampled_from(["sig", "", "s=g", "s+g"]),
)
def test_machine_token_detection_is_unchanged(typ: Any, sub: Any, signature: str) -> None:
    header = {"alg": "RS256"} if typ is None else {"alg": "RS256", "typ": typ}
    payload = {} if sub is None else {"sub": sub}
    token = f"{_segment(header)}.{_segment(payload)}.{signature}"
    try:
        jwt = decode_jwt(token)
    except Exception:
        return
    assert is_machine_jwt(jwt) == reference_is_machine_jwt(jwt)


def test_remembered_headers_are_per_token_header_copies() -> None:
    # The header-segment memo hands every decode its own dict.
    token = f"{_segment({'alg': 'RS256'})}.{_segment({'sub': 'a'})}.sig"
    first, second = decode_jwt(token), decode_jwt(token)
    assert first.header == second.header and first.header is not second.header
    first.header["alg"] = "none"
    assert decode_jwt(token).header == {"alg": "RS256"}
