"""Property-based fuzzing of ``authenticate_request`` (sync and async).

For any request, whatever its headers, cookies, URL or token bytes:

- nothing raises, and both drivers give the same answer;
- only the instance's genuine tokens ever produce a signed-in state, and only
  the genuine active token produces a signed-in auth object;
- every header the state asks us to send is a legal header value (no CR, LF
  or other control character from the request can reach the response);
- no debug header carries a token.

Example counts are moderate (the suite must stay fast) and derandomized, so a
failure reproduces in CI exactly as it did locally.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from clerk_middleware.core import (
    AuthRequest,
    AuthStatus,
    ClerkOptions,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.testing import TestIssuer

from ..conftest import NOW
from . import _strategies as hs

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# RFC 9110 field-value: visible ASCII, obs-text, space and tab; never CR, LF, NUL.
LEGAL_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
LEGAL_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")


class World:
    """One instance (development or production) and its genuine values."""

    def __init__(self, issuer: TestIssuer, attacker: TestIssuer) -> None:
        self.issuer = issuer
        self.options = issuer.options()
        self.tokens = hs.tokens_of(issuer)
        self.token_strategy = hs.token_values(issuer, attacker, self.tokens)
        hs.offline_backend(self.options)


@pytest.fixture(scope="module")
def worlds(issuer: TestIssuer, other_issuer: TestIssuer) -> dict[str, World]:
    production = TestIssuer("clerk.example.com", production=True, clock=lambda: NOW)
    return {"development": World(issuer, other_issuer),
            "production": World(production, other_issuer)}


def check(world: World, request: AuthRequest) -> RequestState:
    """Resolve with both drivers and check every invariant; return the state."""
    state = authenticate_request(request, world.options)
    assert asyncio.run(authenticate_request_async(request, world.options)) == state
    check_state(world, state)
    event(f"{state.status.value}: {state.reason}")
    return state


def check_state(world: World, state: RequestState, options: ClerkOptions | None = None) -> None:
    tokens = world.tokens
    assert isinstance(state, RequestState)
    assert state.status in (AuthStatus.SIGNED_IN, AuthStatus.SIGNED_OUT, AuthStatus.HANDSHAKE)
    if state.status is AuthStatus.SIGNED_IN:
        assert state.token in tokens.genuine, state.token
        assert state.claims is not None and state.claims["sub"] == tokens.user_id
        auth = state.to_auth()
        assert auth is not None
        if state.token != tokens.active:
            assert auth.user_id is None and not auth.is_signed_in
    else:
        assert state.token is None and state.claims is None
        auth = state.to_auth()
        assert auth is None or (auth.user_id is None and not auth.is_signed_in)
    for name, value in state.headers:
        assert LEGAL_NAME.fullmatch(name), name
        assert LEGAL_VALUE.fullmatch(value), (name, value)
        if name.startswith("x-clerk-auth-"):
            for token in (tokens.active, tokens.pending, tokens.expired, tokens.handshake):
                assert token not in value, name


def request_strategy(world: World) -> st.SearchStrategy[AuthRequest]:
    """Requests built around a realistic core (so verification runs), then perturbed."""
    tokens = world.tokens
    suffix = world.options.cookie_suffix
    token = world.token_strategy
    clerk_cookies = st.tuples(
        st.sampled_from(["__session", f"__session_{suffix}"]), token,
        st.sampled_from(["__client_uat=1", f"__client_uat_{suffix}=1", "__client_uat=0", ""]),
        st.sampled_from(["__clerk_db_jwt=dvb_1", f"__clerk_db_jwt_{suffix}=dvb_1", ""]),
    ).map(lambda p: f"{p[2]}; {p[3]}; {p[0]}={p[1]}")
    cookie = hs.weighted(clerk_cookies, clerk_cookies, hs.cookie_header(suffix, tokens, token))
    kind = st.sampled_from([
        {"sec-fetch-dest": "document", "accept": "text/html"},
        {"sec-fetch-dest": "empty", "accept": "application/json"},
        {"accept": "text/html,application/xhtml+xml"},
        {},
    ])
    authorization = hs.weighted(
        st.none(), st.none(), token.map(lambda t: f"Bearer {t}"),
        token.map(lambda t: f"Bearer {t}"),
        st.sampled_from(["Bearer", "Bearer  x", "bearer " + tokens.active, "Basic Zm9vOmJhcg=="]),
        hs.header_text(),
    )
    header_value = st.one_of(
        hs.header_text(),
        st.sampled_from(["document", "iframe", "text/html", "https", "http", "evil.example",
                         "evil.example, app.test", "app.test:99999", "javascript",
                         "https://evil.example/", "about:blank", "null"]),
    )
    extra = st.lists(
        st.one_of(st.tuples(st.sampled_from(hs.HEADER_NAMES), header_value),
                  st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=20))),
        max_size=4,
    )

    @st.composite
    def build(draw: st.DrawFn) -> AuthRequest:
        headers: list[tuple[str, str]] = list(draw(kind).items())
        value = draw(authorization)
        if value is not None:
            headers.append(("authorization", value))
        if draw(st.booleans()) or value is None:
            headers.append(("cookie", draw(cookie)))
        headers += draw(extra)
        method = draw(st.sampled_from(["GET", "GET", "GET", "POST", "HEAD", "get", "PROPFIND"]))
        url = draw(hs.url_strings(tokens, token))
        return AuthRequest(method, url, headers)

    return build()


@pytest.mark.parametrize("instance", ["development", "production"])
def test_any_request_resolves_without_raising_and_only_genuine_tokens_sign_in(
    worlds: dict[str, World], instance: str
) -> None:
    world = worlds[instance]

    @FUZZ
    @given(request_strategy(world))
    def run(request: AuthRequest) -> None:
        check(world, request)

    run()


def test_mutated_token_bytes_never_sign_in(worlds: dict[str, World]) -> None:
    world = worlds["development"]
    tokens = world.tokens

    @FUZZ
    @given(hs.mutated(tokens.active), st.booleans())
    def run(token: str, in_cookie: bool) -> None:
        headers: Mapping[str, str]
        if in_cookie:
            headers = {"cookie": f"__clerk_db_jwt=dvb_1; __client_uat=1; __session={token}"}
        else:
            headers = {"authorization": f"Bearer {token}"}
        state = check(world, AuthRequest("GET", "http://app.test/api", headers))
        if state.status is AuthStatus.SIGNED_IN:
            # Only an edit that leaves the token itself intact may pass.
            assert token == tokens.active

    run()


def test_arbitrary_token_text_never_signs_in(worlds: dict[str, World]) -> None:
    world = worlds["development"]

    @FUZZ
    @given(st.one_of(hs.jwt_like(), st.text(max_size=200), st.binary(max_size=120).map(
        lambda b: b.decode("latin-1"))))
    def run(token: str) -> None:
        for headers in ({"authorization": f"Bearer {token}"},
                        {"cookie": f"__clerk_db_jwt=dvb_1; __client_uat=1; __session={token}"}):
            state = check(world, AuthRequest("GET", "http://app.test/api", headers))
            assert state.status is not AuthStatus.SIGNED_IN

    run()


def test_a_valid_header_token_survives_any_unrelated_cookie(worlds: dict[str, World]) -> None:
    # "One odd unrelated cookie makes them drop the session": a header token
    # disables the cookie flow entirely, so no cookie may change its outcome.
    world = worlds["development"]
    suffix = world.options.cookie_suffix

    @FUZZ
    @given(hs.cookie_header(suffix, world.tokens, world.token_strategy))
    def run(cookie: str) -> None:
        headers = {"authorization": f"Bearer {world.tokens.active}", "cookie": cookie}
        state = check(world, AuthRequest("GET", "http://app.test/api", headers))
        assert state.status is AuthStatus.SIGNED_IN, (state.reason, state.message)

    run()
