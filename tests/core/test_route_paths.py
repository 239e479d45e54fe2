"""Route matchers given a request match the path its router routes on.

A Python server percent-decodes the request path (``%2F`` included) and the
framework routes on what is left below the mount; a matcher that read the raw
target instead let ``/api%2Fadmin`` reach ``/api/admin`` unprotected. These
tests pin the route-path rules; tests/security/test_real_servers.py checks them
on real servers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clerk_middleware.core import AuthRequest, ClerkOptions, MalformedPathError
from clerk_middleware.core import create_route_matcher as matcher_for
from clerk_middleware.core._authenticate import _derive_url
from clerk_middleware.core._routes import asgi_route_path, route_path_of, wsgi_route_path
from clerk_middleware.core._url import is_valid_host
from clerk_middleware.testing import TestIssuer

PATTERNS = ["/admin(.*)", "/api/admin(.*)", "/dash/:path*", "/user/:id", "/files/:name"]
MATCH = matcher_for(PATTERNS)


def _request(route_path: str | None, url: str = "https://app.example.com/") -> AuthRequest:
    return AuthRequest("GET", url, {"host": "app.example.com"}, route_path=route_path)


@pytest.mark.parametrize(
    ("route_path", "raw_target"),
    [
        ("/api/admin", "/api%2Fadmin"),  # every server decodes %2F before routing
        ("/dash/x", "/dash%2Fx"),
        ("//admin", "/%2Fadmin"),
        ("/admin", "/%61dmin"),
        ("/admin/x", "/admin%2Fx"),
        ("/user/a?b", "/user/a%3Fb"),  # "?" decoded: an ordinary character to the router
        ("/user/a#b", "/user/a%23b"),
        ("/files/100%", "/files/100%25"),
        ("/ADMIN", "/ADMIN"),
    ],
)
def test_the_route_path_decides_not_the_raw_target(route_path: str, raw_target: str) -> None:
    request = _request(route_path, f"https://app.example.com{raw_target}")
    assert MATCH(request)


def test_a_route_path_the_router_does_not_route_to_a_pattern_is_not_matched() -> None:
    # The raw target looks protected; the router reads something else.
    assert not MATCH(_request("/public", "https://app.example.com/admin"))
    assert not MATCH(_request("/user/a/b"))
    assert not MATCH(_request("/dashboard"))


def test_strings_keep_clerks_semantics() -> None:
    assert not MATCH("/api%2Fadmin")  # decodeURI keeps %2F: Clerk's answer for a string
    assert MATCH("/%61dmin")
    with pytest.raises(MalformedPathError):
        MATCH("/admin%zz")


def test_a_request_without_a_route_path_is_matched_on_its_url() -> None:
    assert not MATCH(_request(None, "https://app.example.com/api%2Fadmin"))
    assert MATCH(_request(None, "https://app.example.com/api/admin"))


@pytest.mark.parametrize(
    "route_path",
    [
        "/admin/..", "/admin/.", "/public/../admin", "/./admin", "/..", "/.", "/a/../",
        "/admin\x00", "/admin\n", "/admin\r", "/admin\t", "/admin\x7f", "/admin/\u2028",
        "/\u2029admin", "/admin\ufffd", "/\ufffdadmin",
        "admin", "http://evil.example/admin", "*",
    ],
)
def test_route_paths_the_router_and_matcher_could_read_differently_are_refused(
    route_path: str,
) -> None:
    with pytest.raises(MalformedPathError):
        MATCH(_request(route_path))


@pytest.mark.parametrize(
    ("route_path", "expected"),
    [
        ("/.well-known/x", False), ("/admin/...", True), ("/admin/.x", True),
        ("/a..b", False), ("/admin/ x", True), ("", False), ("/", False),
    ],
)
def test_dots_that_are_not_segments_and_the_mount_root_are_read(
    route_path: str, expected: bool
) -> None:
    assert MATCH(_request(route_path)) is expected


def test_the_empty_route_path_is_the_root_of_the_mount() -> None:
    assert matcher_for("/")(_request(""))


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"type": "http", "path": "/v1/admin", "root_path": "/v1"}, "/admin"),  # uvicorn, Mount
        ({"type": "http", "path": "/admin", "root_path": "/v1"}, "/admin"),  # hypercorn
        ({"type": "http", "path": "/v1", "root_path": "/v1"}, ""),
        ({"type": "http", "path": "/v1x/admin", "root_path": "/v1"}, "/v1x/admin"),
        ({"type": "http", "path": "/api/admin", "raw_path": b"/api%2Fadmin"}, "/api/admin"),
    ],
)
def test_asgi_route_path_is_starlettes(scope: dict[str, Any], expected: str) -> None:
    assert asgi_route_path(scope) == expected
    assert route_path_of(scope) == expected


def test_wsgi_route_path_is_path_info_decoded_as_utf8() -> None:
    assert wsgi_route_path("/caf\xc3\xa9") == "/café"
    assert wsgi_route_path("/admin\xff") == "/admin\ufffd"
    assert wsgi_route_path("/caf\xe9") == "/caf\ufffd"  # one byte 0xE9: not UTF-8
    assert wsgi_route_path("/\u2713") == "/\u2713"  # not byte-per-character: already text
    environ = {"PATH_INFO": "/admin", "SCRIPT_NAME": "/app", "RAW_URI": "/app/other"}
    assert route_path_of(environ) == "/admin"


class _Request:
    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


def test_framework_requests_give_their_environ_or_scope() -> None:
    flask_like = _Request(environ={"PATH_INFO": "/api/admin"}, path="/ignored")
    starlette_like = _Request(scope={"type": "http", "path": "/v1/dash/x", "root_path": "/v1"})
    assert MATCH(flask_like)
    assert MATCH(starlette_like)
    assert route_path_of(_Request(path="/api/admin")) is None  # no environ or scope
    assert route_path_of("/api/admin") is None


def _as_raw(route_path: str) -> str:
    """A raw target that Clerk's normalisation turns into ``route_path``."""
    return quote(route_path, safe="/;:@&=+$,!~*'()[]-._")


_SEGMENT = st.text(
    alphabet=st.sampled_from(list("adminAPIuserfilesx-_.~%?#;:@&=+$,!*'() é✓")), max_size=8
).filter(lambda s: s not in (".", ".."))


_WORD = st.sampled_from(["admin", "api", "user", "files", "dash", "ADMIN", "a?b", "x#", "50%"])


@given(st.lists(st.one_of(_WORD, _SEGMENT), min_size=1, max_size=4))
def test_a_route_path_is_matched_as_clerk_matches_its_raw_form(segments: list[str]) -> None:
    route_path = "/" + "/".join(segments)
    assert MATCH(_request(route_path)) is MATCH(_as_raw(route_path))


@pytest.mark.parametrize(
    ("host", "valid"),
    [
        ("app.example.com", True), ("app.example.com:8443", True), ("127.0.0.1:3000", True),
        ("[::1]", True), ("[::1]:8000", True), ("localhost.", True), ("x:", True),
        ("x?", False), ("x#", False), ("x/p", False), ("x/admin", False), ("x@y", False),
        ("x:notaport", False), ("[::1", False), ("", False), ("x\\y", False),
        ("a, b", False), ("x:70000", False), ("x y", False), ("caf\xe9.com", False),
        ("x%2F", False), ("[::1]x", False),
    ],
)
def test_hosts(host: str, valid: bool) -> None:
    assert is_valid_host(host) is valid


@pytest.fixture(scope="module")
def options() -> ClerkOptions:
    return TestIssuer().options()


@pytest.mark.parametrize("forwarded_host", ["evil?", "a/b", "a#b", "x@evil.example", "a b"])
def test_a_malformed_forwarded_host_is_ignored(options: ClerkOptions, forwarded_host: str) -> None:
    request = AuthRequest(
        "GET", "https://app.example.com/admin?x=1",
        {"host": "app.example.com", "x-forwarded-host": forwarded_host},
    )
    url = _derive_url(request, options)
    assert (url.origin, url.path, url.query) == ("https://app.example.com", "/admin", "x=1")


def test_a_forwarded_origin_never_turns_the_path_into_a_host(options: ClerkOptions) -> None:
    request = AuthRequest(
        "GET", "http://app.example.com//evil.example/admin",
        {"host": "app.example.com", "x-forwarded-proto": "https"},
    )
    url = _derive_url(request, options)
    assert (url.origin, url.path) == ("https://app.example.com", "//evil.example/admin")


def test_remembered_hosts_are_bounded_and_only_valid_ones() -> None:
    from clerk_middleware.core import _url

    for i in range(_url._MAX_VALID_HOSTS + 50):
        assert is_valid_host(f"host-{i}.example")
        assert not is_valid_host(f"host-{i}.example/x")
    assert len(_url._VALID_HOSTS) <= _url._MAX_VALID_HOSTS
    assert all(is_valid_host(host) for host in _url._VALID_HOSTS)
    assert not any("/" in host for host in _url._VALID_HOSTS)


def test_a_glob_star_pattern_gets_a_hint() -> None:
    from clerk_middleware.core import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"Invalid path: /dashboard/\*\.") as info:
        matcher_for("/dashboard/*")
    assert "write /dashboard(.*) (any suffix) or /dashboard/:path*" in str(info.value)
    with pytest.raises(ConfigurationError) as other:
        matcher_for("/user/:")  # invalid for another reason: no hint
    assert "Hint" not in str(other.value)
