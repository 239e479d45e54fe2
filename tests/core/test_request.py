"""AuthRequest: headers, cookies as Clerk parses them, URLs as browsers serialise them."""

from __future__ import annotations

import pytest

from clerk_middleware.core import AuthRequest
from clerk_middleware.core._authenticate import _header_token, js_number, js_parse_int
from clerk_middleware.core._request import parse_cookie_header
from clerk_middleware.core._url import form_decode, form_encode, parse_url


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ("a=1; a=2", {"a": "1"}),  # first occurrence wins
        ('a="quoted"', {"a": '"quoted"'}),  # quotes are kept
        ("a=%41%20b", {"a": "A b"}),  # decoded when it contains %
        ("a=%E0%A4%A", {"a": "%E0%A4%A"}),  # undecodable: kept raw
        ("  a  =  1  ;b=2", {"a": "1", "b": "2"}),
        ("junk; __session=tok", {"__session": "tok"}),
        (
            'prefs={"theme":"dark", "x":1}; __session=tok',
            {"prefs": '{"theme":"dark", "x":1}', "__session": "tok"},
        ),
        ("my cookie=has space; __session=tok", {"my cookie": "has space", "__session": "tok"}),
        ("a", {}),
        ("", {}),
        ("=v", {"": "v"}),
        ("a=b=c", {"a": "b=c"}),
    ],
)
def test_cookie_parsing(header: str, expected: dict[str, str]) -> None:
    assert parse_cookie_header(header) == expected


def test_headers_are_case_insensitive_and_repeated_cookies_join() -> None:
    request = AuthRequest(
        "get",
        "https://app.example.com/x",
        [("Cookie", "a=1"), ("COOKIE", "b=2"), ("X-Thing", "1"), ("x-thing", "2")],
    )
    assert request.method == "GET"
    assert request.cookies == {"a": "1", "b": "2"}
    assert request.header("x-thing") == "1, 2"
    assert request.header("missing") is None


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("Bearer abc", "abc"),
        ("abc", "abc"),
        ("bearer abc", None),
        ("Basic abc", None),
        ("Bearer", "Bearer"),
        ("Bearer  abc", "Bearer"),
        ("Bearer abc def", "abc"),
        ("", None),
        (None, None),
    ],
)
def test_authorization_header_parsing(value: str | None, token: str | None) -> None:
    assert _header_token(value) == token


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0x10", 16), ("123abc", 123), ("1.9", 1), ("-5", -5), ("junk", 0), ("", 0), (" 42", 42)],
)
def test_client_uat_uses_parse_int(text: str, expected: int) -> None:
    assert js_parse_int(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("3", 3.0), ("", 0.0), (" 2 ", 2.0), ("0x3", 3.0), ("1e0", 1.0)]
)
def test_redirect_counter_uses_number(text: str, expected: float) -> None:
    assert js_number(text) == expected


def test_js_number_nan() -> None:
    assert js_number("abc") != js_number("abc")


@pytest.mark.parametrize(
    ("text", "href", "origin"),
    [
        (
            "https://App.Example.com:443/a/../b?x=1",
            "https://app.example.com/b?x=1",
            "https://app.example.com",
        ),
        ("http://localhost:3000/p q", "http://localhost:3000/p%20q", "http://localhost:3000"),
        ("https://a.com", "https://a.com/", "https://a.com"),
        ("https://a.com/x?q=a b#f g", "https://a.com/x?q=a%20b#f%20g", "https://a.com"),
        ("https://a.com/%2e%2E/x", "https://a.com/x", "https://a.com"),
        ("https://a.com/\u00e9", "https://a.com/%C3%A9", "https://a.com"),
    ],
)
def test_url_serialisation_matches_whatwg(text: str, href: str, origin: str) -> None:
    url = parse_url(text)
    assert url.href == href
    assert url.origin == origin


def test_relative_urls_resolve_against_a_base() -> None:
    base = parse_url("https://a.com/dir/page?x=1")
    assert parse_url("/sign-in", base).href == "https://a.com/sign-in"
    assert parse_url("other", base).href == "https://a.com/dir/other"
    assert parse_url("//b.com/p", base).href == "https://b.com/p"
    assert parse_url("?y=2", base).href == "https://a.com/dir/page?y=2"
    with pytest.raises(ValueError):
        parse_url("/no-base")
    with pytest.raises(ValueError):
        parse_url("javascript:alert(1)")
    with pytest.raises(ValueError):
        parse_url("https://bad host/")


def test_search_params_round_trip_like_urlsearchparams() -> None:
    url = parse_url("https://a.com/p?a=1&b=x%20y&c&d=%zz&e=caf%C3%A9")
    assert url.params() == [("a", "1"), ("b", "x y"), ("c", ""), ("d", "%zz"), ("e", "café")]
    assert url.without_params("a").href == "https://a.com/p?b=x+y&c=&d=%25zz&e=caf%C3%A9"
    assert url.setting("a", "2").appending("z", "~*").href.endswith("&z=%7E*")
    assert parse_url("https://a.com/p?a=1").without_params("a").href == "https://a.com/p"
    assert form_encode([("k", "a b&c/")]) == "k=a+b%26c%2F"
    assert form_decode("k=a+b%26c%2F") == [("k", "a b&c/")]


def test_opaque_origin_urls() -> None:
    from clerk_middleware.core._url import is_opaque_origin_url

    assert is_opaque_origin_url("about:blank")
    assert is_opaque_origin_url("android-app://com.example/")
    assert not is_opaque_origin_url("https://a.com/")
    assert not is_opaque_origin_url("not a url")


@pytest.mark.parametrize("text", ["\u0663", "\u0661\u0662", "0x\u0661"])
def test_javascript_numbers_are_ascii_only(text: str) -> None:
    # Python's int() accepts Arabic-Indic digits; JavaScript's parseInt does not.
    assert js_parse_int(text) == 0
    assert js_number(text) != js_number(text)  # NaN
