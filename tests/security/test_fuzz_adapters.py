"""Property-based fuzzing of every adapter with raw, hostile requests.

The WSGI environ or ASGI scope is built from raw bytes as a server would
build it (any byte but CR and LF, which cannot appear inside a header line),
so headers, cookies, hosts and paths can be anything a client can put on the
wire. For every request, through every adapter:

- no exception escapes the app and no answer is a 5xx;
- every response header is a legal field value (nothing from the request
  smuggles a CR, LF or other control character into the response);
- a route that reports the auth object reports a signed-in user only when the
  request carried the genuine active token.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clerk_middleware.testing import TestIssuer

from . import _apps
from . import _strategies as hs

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LEGAL_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
LEGAL_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")
NOT_ON_THE_WIRE = b"\r\n"
REPORTING = ("/", "/get-auth", "/current")


class Setup:
    """The instance, its genuine tokens and one app per adapter."""

    def __init__(self, issuer: TestIssuer, attacker: TestIssuer) -> None:
        self.tokens = hs.tokens_of(issuer)
        self.token_strategy = hs.token_values(issuer, attacker, self.tokens)
        self.suffix = issuer.options().cookie_suffix
        hs.offline_backend(issuer.options())
        settings_ = _apps.settings_of(issuer)
        self.callers = {name: _apps.make_caller(name, settings_) for name in _apps.ADAPTERS}


@pytest.fixture(scope="module")
def setup(issuer: TestIssuer, other_issuer: TestIssuer) -> Setup:
    return Setup(issuer, other_issuer)


def wire_bytes(max_size: int) -> st.SearchStrategy[bytes]:
    """Bytes that can stand in a header value or request target."""
    return st.binary(max_size=max_size).map(
        lambda b: bytes(c for c in b if c not in NOT_ON_THE_WIRE)
    )


def text_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass").translate(None, NOT_ON_THE_WIRE)


def request_parts(
    setup: Setup, adapter: str
) -> st.SearchStrategy[tuple[str, bytes, list[tuple[bytes, bytes]]]]:
    tokens = setup.tokens
    token = setup.token_strategy
    # Routes that report the auth object first: they carry the signed-in check.
    reporting = st.sampled_from([r for r in REPORTING if r in _apps.routes_of(adapter)])
    route = st.sampled_from(_apps.routes_of(adapter)).map(str.encode)
    odd_paths = st.sampled_from([b"/%ZZ", b"/%C0%AF", b"/..%2F..", b"//evil.example", b"*",
                                 b"http://evil.example/", b"/\x00", b"/%00"])
    path = hs.weighted(reporting.map(str.encode), route, route,
                       wire_bytes(40).map(lambda b: b"/" + b), odd_paths)
    query = hs.weighted(st.just(b""), hs.url_strings(tokens, token).map(
        lambda url: text_bytes(url.partition("?")[2])
    ))
    target = st.tuples(path, query).map(lambda p: p[0] + (b"?" + p[1] if p[1] else b""))
    cookie = hs.cookie_header(setup.suffix, tokens, token).map(text_bytes)
    session = hs.weighted(st.just(tokens.active), st.just(tokens.pending), token, token)
    clerk_cookie = session.map(
        lambda t: text_bytes(f"__clerk_db_jwt=dvb_1; __client_uat=1; __session={t}")
    )
    named = st.tuples(
        st.sampled_from([name.encode() for name in hs.HEADER_NAMES]),
        hs.weighted(wire_bytes(40), hs.header_text().map(text_bytes),
                    st.sampled_from([b"document", b"text/html", b"evil.example", b"https",
                                     b"app.test", b"[::1", b"a b", b"\xff\xfe"])),
    )
    header = hs.weighted(
        st.tuples(st.just(b"cookie"), hs.weighted(clerk_cookie, clerk_cookie, cookie)),
        st.tuples(st.just(b"authorization"), session.map(lambda t: text_bytes(f"Bearer {t}"))),
        named,
        named,
        st.tuples(st.from_regex(rb"\A[a-z0-9-]{1,12}\Z"), wire_bytes(30)),
    )
    host = st.sampled_from([[(b"host", b"app.test")], [(b"host", b"app.test")], []])
    headers = st.tuples(host, st.lists(header, max_size=6)).map(lambda p: p[0] + p[1])
    method = st.sampled_from(["GET", "GET", "POST", "HEAD", "OPTIONS"])
    return st.tuples(method, target, headers)


def carries_genuine_active_token(setup: Setup, headers: list[tuple[bytes, bytes]]) -> bool:
    needle = setup.tokens.active.encode()
    return any(needle in value for _, value in headers)


@pytest.mark.parametrize("adapter", _apps.ADAPTERS)
def test_no_hostile_request_breaks_an_adapter(setup: Setup, adapter: str) -> None:
    send = setup.callers[adapter]

    @FUZZ
    @given(request_parts(setup, adapter))
    def run(parts: tuple[str, bytes, list[tuple[bytes, bytes]]]) -> None:
        method, target, headers = parts
        reply = send(method, target, headers)
        assert reply.status < 500, (reply.status, reply.body[:300])
        for name, value in reply.headers:
            assert LEGAL_NAME.fullmatch(name), name
            assert LEGAL_VALUE.fullmatch(value), (name, value)
        path = target.partition(b"?")[0].decode("latin-1")
        if reply.status == 200 and path in REPORTING and method == "GET":
            body = json.loads(reply.body)
            if body["is_signed_in"]:
                assert carries_genuine_active_token(setup, headers)
                assert body["user_id"] == setup.tokens.user_id

    run()
