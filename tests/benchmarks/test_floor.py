"""The in-process contract floor decides as a floor must: its token's user, forgeries refused.

``bench.py`` compares ours with ``contract_decision``; the comparison means
something only if that floor verifies what it is given. No timing is asserted.
"""

from __future__ import annotations

import time

import pytest

from clerk_middleware.core import AuthRequest, AuthStatus, authenticate_request
from clerk_middleware.core._jwt import decode_jwt
from clerk_middleware.core._request import parse_clerk_cookies
from clerk_middleware.testing import TestIssuer
from tests.benchmarks.floor import FloorDecisions, contract_decision, cookie_rules

APP = "https://app.example.com"
URL = f"{APP}/dashboard"


def headers(token: str) -> list[tuple[str, str]]:
    return [("host", "app.example.com"), ("cookie", f"theme=dark; __session={token}; x=1")]


def test_contract_decision_answers_the_tokens_user_each_time() -> None:
    issuer = TestIssuer("clerk.example.com", production=True)
    decisions = FloorDecisions(issuer.jwt_key, APP)
    for user in ("user_2a", "user_2b", "user_2a"):  # new, new, then seen
        state = contract_decision(
            decisions, "GET", URL, headers(issuer.session_token(user, azp=APP, lifetime=60))
        )
        assert state is not None
        assert state.status is AuthStatus.SIGNED_IN
        assert state.claims is not None and state.claims["sub"] == user


def test_contract_decision_refuses_forged_foreign_and_expired_tokens() -> None:
    issuer = TestIssuer("clerk.example.com", production=True)
    forger = TestIssuer("clerk.example.com", production=True)
    decisions = FloorDecisions(issuer.jwt_key, APP)
    for token in (
        forger.session_token("user_2a", azp=APP, lifetime=60),  # another key
        issuer.session_token("user_2a", azp="https://evil.example", lifetime=60),
        issuer.session_token("user_2a", azp=APP, lifetime=-60),  # expired
    ):
        assert contract_decision(decisions, "GET", URL, headers(token)) is None
    assert contract_decision(decisions, "GET", URL, [("host", "app.example.com")]) is None


def _rules_and_ours(
    issuer: TestIssuer, cookie: str, referrer: str | None
) -> tuple[str | None, str | None]:
    """The token ``cookie_rules`` signs in with, and the token our flow signs in with."""
    options = issuer.options(authorized_parties=[APP])
    cookies = parse_clerk_cookies(cookie)
    decoded = {
        cookies[name]: decode_jwt(cookies[name])
        for name in ("__session", f"__session_{options.cookie_suffix}")
        if name in cookies
    }
    rules = cookie_rules(
        cookies,
        decoded,
        suffix=options.cookie_suffix,
        frontend_api=options.original_frontend_api,
        referrer=referrer,
        origin=APP,
    )
    headers = [("host", "app.example.com"), ("cookie", cookie), ("sec-fetch-dest", "document")]
    if referrer is not None:
        headers.append(("referer", referrer))
    state = authenticate_request(AuthRequest("GET", URL, headers), options)
    return rules, state.token if state.is_signed_in else None


@pytest.mark.parametrize(
    "case",
    [
        "both sets",
        "plain set only",
        "suffixed set only",
        "suffixed set newer",
        "cross-origin referrer",
        "referrer with the default port",
        "no client uat",
        "token older than client uat",
    ],
)
def test_cookie_rules_sign_in_where_clerks_rules_do(case: str) -> None:
    # The terse rules are a floor of Clerk's only if they decide these requests
    # as the flow does (they skip the rest, which a page load never reaches).
    issuer = TestIssuer("clerk.example.com", production=True)
    suffix = issuer.options(authorized_parties=[APP]).cookie_suffix
    now = int(time.time())
    token = issuer.session_token("user_2a", azp=APP, lifetime=60)
    other = issuer.session_token("user_2b", azp=APP, lifetime=60)
    uat = str(now - 100)
    plain = f"__client_uat={uat}; __session={token}"
    suffixed = f"__client_uat_{suffix}={uat}; __session_{suffix}={token}"
    referrer: str | None = f"{APP}/dashboard"
    cookie = {
        "both sets": f"theme=dark; {suffixed}; {plain}",
        "plain set only": f"{plain}; _ga=1",
        "suffixed set only": suffixed,
        "suffixed set newer": f"__client_uat={uat}; __session={other}; {suffixed}",
        "cross-origin referrer": f"{suffixed}; {plain}",
        "referrer with the default port": f"{suffixed}; {plain}",
        "no client uat": f"__session={token}",
        "token older than client uat": f"__client_uat={now + 100}; __session={token}",
    }[case]
    if case == "cross-origin referrer":
        referrer = "https://elsewhere.example/page"
    elif case == "referrer with the default port":
        referrer = "https://app.example.com:443/dashboard"  # the same origin
    rules, ours = _rules_and_ours(issuer, cookie, referrer)
    assert rules == ours
    signed_out = ("cross-origin referrer", "no client uat", "token older than client uat")
    expected_in = case not in signed_out
    assert (rules is not None) == expected_in


def test_cookie_rules_leave_a_handshake_cookie_to_the_handshake() -> None:
    # Clerk resolves a handshake first (and signs in by the cookies if that
    # fails); the floor only covers requests that carry none.
    issuer = TestIssuer("clerk.example.com", production=True)
    token = issuer.session_token("user_2a", azp=APP, lifetime=60)
    cookie = f"__client_uat={int(time.time()) - 100}; __session={token}; __clerk_handshake=x"
    assert _rules_and_ours(issuer, cookie, None)[0] is None
