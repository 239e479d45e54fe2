"""Odd but harmless input never changes who is signed in.

The issue's complaint about other SDKs: "one odd unrelated cookie makes them
drop the session". A valid session must survive any cookie it does not own,
and numbers in cookies must be read as JavaScript reads them (``parseInt``,
``Number``), whatever their size.
"""

from __future__ import annotations

import pytest

from clerk_middleware.core import AuthRequest, AuthStatus, RequestState, authenticate_request
from clerk_middleware.testing import TestIssuer

URL = "https://app.example.com/dashboard"
PAGE = {"sec-fetch-dest": "document", "accept": "text/html"}
API = {"sec-fetch-dest": "empty", "accept": "application/json"}
HUGE_DIGITS = "1" * 5000  # beyond Python's 4300-digit int() limit; JavaScript reads 1.1e4999

ODD_COOKIES = {
    "no_equals_sign": "justaflag",
    "empty_name": "=value",
    "quoted_value": 'theme="dark; mode"',
    "bad_percent_escape": "x=%E0%A4%A",
    "percent_encoded_utf8": "x=%F0%9F%98%80",
    "unicode_name": "crème=brûlée",
    "control_characters": "x=\x01\x7f",
    "json_value": 'prefs={"a":[1,2]}',
    "long_value": "blob=" + "z" * 4000,
    "many_equals": "x===y==",
    "trailing_semicolons": ";;;",
    "tab_separated": "\tx=1\t",
    "name_like_clerk_but_not": "__sessionx=abc; __session_=def; __client_uatx=9",
    "foreign_suffixed_clerk_cookies": "__session_zzzzzzzz=abc; __client_uat_zzzzzzzz=0",
    "redirect_counter_junk": "__clerk_redirect_count=NaN",
    "huge_redirect_counter": f"__clerk_redirect_count={HUGE_DIGITS}",
}


def resolve(options_issuer: TestIssuer, headers: dict[str, str]) -> RequestState:
    return authenticate_request(AuthRequest("GET", URL, headers), options_issuer.options())


@pytest.mark.parametrize("odd", sorted(ODD_COOKIES))
def test_an_odd_unrelated_cookie_never_drops_a_cookie_session(issuer: TestIssuer, odd: str) -> None:
    token = issuer.session_token()
    for cookie in (f"{ODD_COOKIES[odd]}; __clerk_db_jwt=dvb_1; __client_uat=1; __session={token}",
                   f"__clerk_db_jwt=dvb_1; __client_uat=1; __session={token}; {ODD_COOKIES[odd]}"):
        state = resolve(issuer, {**PAGE, "cookie": cookie})
        assert state.status is AuthStatus.SIGNED_IN, (state.reason, state.message)


@pytest.mark.parametrize("odd", sorted(ODD_COOKIES))
def test_an_odd_unrelated_cookie_never_drops_a_header_session(issuer: TestIssuer, odd: str) -> None:
    token = issuer.session_token()
    state = resolve(issuer, {**API, "authorization": f"Bearer {token}",
                             "cookie": ODD_COOKIES[odd]})
    assert state.status is AuthStatus.SIGNED_IN, (state.reason, state.message)


def test_a_huge_client_uat_never_drops_a_header_session(issuer: TestIssuer) -> None:
    # A header token disables the cookie flow: cookies are not even looked at.
    token = issuer.session_token()
    for name in ("__client_uat", f"__client_uat_{issuer.options().cookie_suffix}"):
        state = resolve(issuer, {**API, "authorization": f"Bearer {token}",
                                 "cookie": f"{name}={HUGE_DIGITS}"})
        assert state.status is AuthStatus.SIGNED_IN, (state.reason, state.message)


def test_a_huge_client_uat_is_read_like_parse_int(issuer: TestIssuer) -> None:
    # parseInt("111...1") is a huge number, so every token was issued before it:
    # Clerk answers session-token-iat-before-client-uat (a handshake on pages).
    token = issuer.session_token()
    cookie = f"__clerk_db_jwt=dvb_1; __client_uat={HUGE_DIGITS}; __session={token}"
    page = resolve(issuer, {**PAGE, "cookie": cookie})
    assert (page.status, page.reason) == (
        AuthStatus.HANDSHAKE, "session-token-iat-before-client-uat")
    api = resolve(issuer, {**API, "cookie": cookie})
    assert (api.status, api.reason) == (
        AuthStatus.SIGNED_OUT, "session-token-iat-before-client-uat")


def test_duplicate_session_cookies_take_the_first_as_clerk_does(issuer: TestIssuer) -> None:
    # cookie@1 keeps the first occurrence; a second __session appended by an
    # attacker-controlled subdomain cookie cannot replace the real one.
    token = issuer.session_token()
    forged = TestIssuer().session_token("user_attacker")
    first = resolve(issuer, {**PAGE, "cookie": f"__clerk_db_jwt=dvb_1; __client_uat=1; "
                                              f"__session={token}; __session={forged}"})
    assert first.status is AuthStatus.SIGNED_IN and first.token == token
    second = resolve(issuer, {**PAGE, "cookie": f"__clerk_db_jwt=dvb_1; __client_uat=1; "
                                               f"__session={forged}; __session={token}"})
    assert second.status is not AuthStatus.SIGNED_IN
