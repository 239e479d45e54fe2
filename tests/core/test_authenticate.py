"""authenticate_request: the header and cookie flows, handshakes and their headers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from clerk_middleware.core import (
    AuthRequest,
    AuthStatus,
    ClerkOptions,
    OrganizationSyncOptions,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.testing import OrgClaims, TestIssuer

from ..conftest import NOW

URL = "https://app.example.com/dashboard?tab=1"
PAGE = {"sec-fetch-dest": "document", "accept": "text/html"}
API = {"sec-fetch-dest": "empty", "accept": "application/json"}
DEV = "__clerk_db_jwt=dvb_1"
UAT = f"__client_uat={int(NOW) - 100}"


def run(
    options: ClerkOptions,
    headers: Mapping[str, str],
    *,
    method: str = "GET",
    url: str = URL,
) -> RequestState:
    request = AuthRequest(method, url, headers)
    state = authenticate_request(request, options)
    # Every case also checks that the async twin agrees.
    assert asyncio.run(authenticate_request_async(request, options)) == state
    return state


def cookie(*parts: str) -> dict[str, str]:
    return {"cookie": "; ".join(parts)}


def test_valid_cookie_session_is_signed_in(issuer: TestIssuer) -> None:
    token = issuer.session_token()
    state = run(issuer.options(), {**PAGE, **cookie(DEV, UAT, f"__session={token}")})
    assert state.status is AuthStatus.SIGNED_IN
    assert state.token == token and state.reason is None and state.message is None
    assert state.headers == ()


def test_header_token_disables_the_cookie_flow(
    issuer: TestIssuer, other_issuer: TestIssuer
) -> None:
    good = issuer.session_token()
    foreign = other_issuer.session_token()
    # A valid cookie does not rescue an invalid header token.
    state = run(
        issuer.options(),
        {"authorization": f"Bearer {foreign}", **cookie(DEV, UAT, f"__session={good}")},
    )
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, "token-invalid-signature")
    assert (
        state.message == "JWT signature is invalid. (reason=token-invalid-signature, "
        "token-carrier=header)"
    )
    # And a valid header token needs no dev browser or client_uat.
    assert run(issuer.options(), {"authorization": f"Bearer {good}"}).is_signed_in


@pytest.mark.parametrize(
    ("cookies", "headers", "status", "reason"),
    [
        ((DEV,), PAGE, "signed-out", "session-token-and-uat-missing"),
        ((), PAGE, "handshake", "dev-browser-missing"),
        ((), API, "signed-out", "dev-browser-missing"),
        ((DEV, "__session=x.y.z"), PAGE, "handshake", "session-token-but-no-client-uat"),
        (
            (DEV, "__client_uat=0", "__session=x.y.z"),
            PAGE,
            "handshake",
            "session-token-but-no-client-uat",
        ),
        ((DEV, UAT), PAGE, "handshake", "client-uat-but-no-session-token"),
        ((DEV, UAT, "__session="), API, "signed-out", "client-uat-but-no-session-token"),
        ((DEV, UAT, "__session=garbage"), PAGE, "signed-out", "token-invalid"),
    ],
)
def test_cookie_flow_states(
    issuer: TestIssuer,
    cookies: tuple[str, ...],
    headers: dict[str, str],
    status: str,
    reason: str,
) -> None:
    state = run(issuer.options(), {**headers, **cookie(*cookies)})
    assert (state.status.value, state.reason) == (status, reason)
    assert ("x-clerk-auth-status", status) in state.headers
    assert ("x-clerk-auth-reason", reason) in state.headers


def test_handshake_location_and_headers(issuer: TestIssuer) -> None:
    token = issuer.expired_token()
    old_uat = f"__client_uat={int(NOW) - 1000}"
    state = run(
        issuer.options(),
        {**PAGE, **cookie(DEV, old_uat, f"__session={token}")},
        url="https://app.example.com/dashboard?tab=1&__clerk_db_jwt=q",
    )
    assert state.status is AuthStatus.HANDSHAKE
    # The query's dev browser token makes it a dev-browser sync first.
    assert state.reason == "dev-browser-sync"
    state = run(issuer.options(), {**PAGE, **cookie(DEV, old_uat, f"__session={token}")})
    assert state.reason == "session-token-expired-refresh-non-eligible-no-refresh-cookie"
    location = state.location
    assert location is not None
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"https://{issuer.frontend_api}/v1/client/handshake"
    )
    query = parse_qs(parts.query)
    assert query == {
        "redirect_url": [URL],
        "__clerk_api_version": ["2026-05-12"],
        "suffixed_cookies": ["false"],
        "__clerk_hs_reason": [state.reason],
        "format": ["nonce"],
        "__session": [token],
        "__clerk_db_jwt": ["dvb_1"],
    }
    assert list(parse_qs(parts.query)) == [
        "redirect_url",
        "__clerk_api_version",
        "suffixed_cookies",
        "__clerk_hs_reason",
        "format",
        "__session",
        "__clerk_db_jwt",
    ]
    assert ("cache-control", "no-store") in state.headers
    assert (
        "set-cookie",
        "__clerk_redirect_count=1; SameSite=Lax; HttpOnly; Max-Age=2",
    ) in state.headers
    message = dict(state.headers)["x-clerk-auth-message"]
    assert message.startswith("JWT is expired. Expiry date: ")
    assert token not in message


@pytest.mark.parametrize(
    ("counter", "status", "next_count"),
    [
        ("0", "handshake", "1"),
        ("2", "handshake", "3"),
        ("3", "signed-out", None),
        ("4", "handshake", "5"),
        ("junk", "handshake", "1"),
    ],
)
def test_redirect_loop_guard(
    issuer: TestIssuer, counter: str, status: str, next_count: str | None
) -> None:
    state = run(issuer.options(), {**PAGE, **cookie(UAT, f"__clerk_redirect_count={counter}")})
    assert state.status.value == status
    cookies = state.header_values("set-cookie")
    if next_count is None:
        assert cookies == [] and state.location is None
    else:
        assert cookies == [
            f"__clerk_redirect_count={next_count}; SameSite=Lax; HttpOnly; Max-Age=2"
        ]


@pytest.mark.parametrize(
    ("method", "headers", "eligible"),
    [
        ("GET", {"sec-fetch-dest": "document"}, True),
        ("GET", {"sec-fetch-dest": "iframe"}, True),
        ("GET", {"accept": "text/html,application/xhtml+xml"}, True),
        ("GET", {"accept": "application/json, text/html"}, False),
        ("GET", {"sec-fetch-dest": "empty", "accept": "text/html"}, False),
        ("HEAD", {"sec-fetch-dest": "document"}, False),
        ("POST", {"sec-fetch-dest": "document"}, False),
    ],
)
def test_handshake_eligibility(
    prod_issuer: TestIssuer, method: str, headers: dict[str, str], eligible: bool
) -> None:
    state = run(prod_issuer.options(), {**headers, **cookie(UAT)}, method=method)
    assert state.reason == "client-uat-but-no-session-token"
    assert (state.status is AuthStatus.HANDSHAKE) is eligible


def test_expired_reasons_name_the_refresh_outcome(prod_issuer: TestIssuer) -> None:
    token = prod_issuer.expired_token()
    old = f"__client_uat={int(NOW) - 1000}"
    post = run(prod_issuer.options(), {**PAGE, **cookie(old, f"__session={token}")}, method="POST")
    assert post.reason == "session-token-expired-refresh-non-eligible-non-get"
    assert post.status is AuthStatus.SIGNED_OUT
    header = run(prod_issuer.options(), {**API, "authorization": f"Bearer {token}"})
    assert header.reason == "session-token-expired-refresh-non-eligible-no-refresh-cookie"


def test_iat_before_client_uat_is_checked_before_the_signature(prod_issuer: TestIssuer) -> None:
    forged = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4IiwiaWF0IjoxfQ.c2ln"  # iat 1, bad signature
    state = run(prod_issuer.options(), {**PAGE, **cookie(UAT, f"__session={forged}")})
    assert state.reason == "session-token-iat-before-client-uat"


def test_nbf_and_iat_in_future_handshake(prod_issuer: TestIssuer) -> None:
    nbf = prod_issuer.session_token(not_before=NOW + 60)
    iat = prod_issuer.session_token(issued_at=NOW + 60, not_before=NOW)
    old = f"__client_uat={int(NOW) - 1000}"
    assert run(prod_issuer.options(), {**PAGE, **cookie(old, f"__session={nbf}")}).reason == (
        "session-token-nbf"
    )
    assert run(prod_issuer.options(), {**PAGE, **cookie(old, f"__session={iat}")}).reason == (
        "session-token-iat-in-the-future"
    )


def test_suffixed_cookies_win_when_they_belong_to_the_instance(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    suffix = options.cookie_suffix
    good = prod_issuer.session_token()
    other = TestIssuer("clerk.other.com", production=True, clock=lambda: NOW)
    foreign = other.session_token()
    state = run(
        options,
        cookie(
            f"__session={foreign}",
            "__client_uat=1",
            f"__session_{suffix}={good}",
            f"__client_uat_{suffix}={int(NOW) - 100}",
        ),
    )
    assert state.is_signed_in and state.token == good


def test_unsuffixed_cookie_without_iss_is_used(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    suffix = options.cookie_suffix
    good = prod_issuer.session_token()
    state = run(
        options,
        cookie(
            f"__session={good}",
            UAT,
            f"__session_{options.cookie_suffix}=junk",
            f"__client_uat_{suffix}={int(NOW) - 100}",
        ),
    )
    # The un-suffixed token names this instance and is newer than the (junk) suffixed one.
    assert state.is_signed_in and state.token == good


def test_cross_origin_referrer_on_primary_handshakes(prod_issuer: TestIssuer) -> None:
    token = prod_issuer.session_token()
    base = {**cookie(UAT, f"__session={token}"), "sec-fetch-dest": "document"}
    cross = run(prod_issuer.options(), {**base, "referer": "https://elsewhere.com/page"})
    assert cross.status is AuthStatus.HANDSHAKE
    assert cross.reason == "primary-domain-cross-origin-sync"
    assert cross.message == "Cross-origin request from satellite domain requires handshake"
    for referer in (
        "https://app.example.com/x",
        "https://accounts.example.com/sign-in",
        "https://clerk.example.com/",
        "not a url",
    ):
        assert run(prod_issuer.options(), {**base, "referer": referer}).is_signed_in
    looped = run(
        prod_issuer.options(),
        {
            **base,
            "referer": "https://elsewhere.com/",
            "cookie": base["cookie"] + "; __clerk_redirect_count=1",
        },
    )
    assert looped.is_signed_in


def test_organization_sync_handshake(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options(
        organization_sync_options=OrganizationSyncOptions(
            organization_patterns=("/orgs/:slug", "/orgs/:slug/(.*)"),
            personal_account_patterns=("/me", "/me/(.*)"),
        )
    )
    token = prod_issuer.session_token(org=OrgClaims(id="org_1", slug="acme"))
    headers = {**PAGE, **cookie(UAT, f"__session={token}")}
    same = run(options, headers, url="https://app.example.com/orgs/acme/settings")
    assert same.is_signed_in
    other = run(options, headers, url="https://app.example.com/orgs/globex")
    assert other.reason == "active-organization-mismatch"
    assert other.location is not None and "organization_id=globex" in other.location
    personal = run(options, headers, url="https://app.example.com/me")
    assert personal.reason == "active-organization-mismatch"
    assert personal.location is not None and personal.location.endswith("&organization_id=")
    api = run(
        options,
        {**API, **cookie(UAT, f"__session={token}")},
        url="https://app.example.com/orgs/globex",
    )
    assert api.is_signed_in  # not eligible for a handshake: stays signed in


def test_pending_token_is_signed_in_at_request_level(issuer: TestIssuer) -> None:
    state = run(issuer.options(), {"authorization": f"Bearer {issuer.pending_token()}"})
    assert state.status is AuthStatus.SIGNED_IN and state.headers == ()
    auth = state.to_auth()
    assert auth is not None and auth.user_id is None and auth.session_status == "pending"


def test_malformed_fea_in_cookie_flow_is_unexpected_error(prod_issuer: TestIssuer) -> None:
    token = prod_issuer.session_token(org=OrgClaims(id="org_1"), features="nocolon")
    state = run(prod_issuer.options(), cookie(UAT, f"__session={token}"))
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, "unexpected-error")
    header = run(prod_issuer.options(), {"authorization": f"Bearer {token}"})
    assert header.is_signed_in
    with pytest.raises(ValueError):
        header.to_auth()


def test_handshake_token_is_consumed(issuer: TestIssuer, prod_issuer: TestIssuer) -> None:
    fresh = prod_issuer.session_token()
    handshake = prod_issuer.handshake_token(
        [f"__session={fresh}; Path=/; Secure", f"__client_uat={int(NOW)}; Path=/"]
    )
    state = run(prod_issuer.options(), cookie(f"__clerk_handshake={handshake}"))
    assert state.is_signed_in and state.token == fresh
    assert state.header_values("set-cookie") == [
        f"__session={fresh}; Path=/; Secure",
        f"__client_uat={int(NOW)}; Path=/",
    ]
    assert ("access-control-allow-origin", "null") in state.headers
    empty = prod_issuer.handshake_token(["__client_uat=0; Path=/"])
    out = run(prod_issuer.options(), {}, url=f"{URL}&__clerk_handshake={empty}")
    assert (out.status, out.reason) == (AuthStatus.SIGNED_OUT, "session-token-missing")
    # Development: also a Location to the cleaned URL.
    dev_token = issuer.handshake_token([f"__session={issuer.session_token()}; Path=/"])
    dev = run(issuer.options(), {}, url=f"{URL}&__clerk_handshake={dev_token}&__clerk_help=1")
    assert dev.is_signed_in and dev.location == URL


def test_forged_handshake_is_ignored(prod_issuer: TestIssuer, other_issuer: TestIssuer) -> None:
    forged = other_issuer.handshake_token([f"__session={other_issuer.session_token()}"])
    state = run(prod_issuer.options(), cookie(f"__clerk_handshake={forged}"))
    assert not state.is_signed_in
    assert state.reason == "session-token-and-uat-missing"


def test_forwarded_headers_rebuild_the_url(prod_issuer: TestIssuer) -> None:
    state = run(
        prod_issuer.options(),
        {
            **PAGE,
            **cookie(UAT),
            "x-forwarded-host": "public.example.com, internal",
            "x-forwarded-proto": "https",
        },
        url="http://10.0.0.5:8000/dashboard?tab=1",
    )
    assert state.location is not None
    redirect = parse_qs(urlsplit(state.location).query)["redirect_url"]
    assert redirect == ["https://public.example.com/dashboard?tab=1"]


def test_satellite_sync(prod_issuer: TestIssuer, issuer: TestIssuer) -> None:
    prod = prod_issuer.options(is_satellite=True, domain="sat.example.com")
    doc = {"sec-fetch-dest": "document"}
    assert run(prod, doc).reason == "session-token-and-uat-missing"
    synced = run(prod, doc, url=f"{URL}&__clerk_synced=false")
    assert synced.reason == "satellite-needs-syncing"
    assert synced.location is not None
    assert synced.location.startswith("https://clerk.sat.example.com/v1/client/handshake?")
    auto = run(
        prod_issuer.options(is_satellite=True, domain="sat.example.com", satellite_auto_sync=True),
        doc,
    )
    assert auto.reason == "satellite-needs-syncing"
    dev = issuer.options(
        is_satellite=True,
        domain="sat.example.com",
        sign_in_url="https://primary.example.com/sign-in",
    )
    redirect = run(dev, doc, url=f"{URL}&__clerk_synced=false")
    assert redirect.location == (
        "https://primary.example.com/sign-in?__clerk_redirect_url="
        "https%3A%2F%2Fapp.example.com%2Fdashboard%3Ftab%3D1%26__clerk_synced%3Dfalse"
    )


def test_primary_responds_to_dev_sync(issuer: TestIssuer) -> None:
    back = "https://sat.example.com/page?__clerk_synced=false"
    state = run(
        issuer.options(),
        {**PAGE, **cookie(DEV)},
        url=f"https://app.example.com/?__clerk_redirect_url={back}",
    )
    assert state.reason == "primary-responds-to-syncing"
    assert state.location == (
        "https://sat.example.com/page?__clerk_synced=true&__clerk_db_jwt=dvb_1"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"cookie": "\x00\xff; __session=\ud800"},
        {"cookie": "__session=" + "a." * 5000 + "b", "__client_uat": "1"},
        {"authorization": "Bearer " + "x" * 100_000},
        {"authorization": "Bearer a.b.c", "x-forwarded-host": "bad host:99999"},
        {"x-forwarded-proto": "javascript", "x-forwarded-host": "evil.com", **PAGE, "cookie": UAT},
        {"cookie": f"{UAT}; __session=eyJ.eyJ.x", "referer": "http://[::1"},
    ],
)
def test_hostile_input_never_raises(prod_issuer: TestIssuer, headers: dict[str, Any]) -> None:
    state = run(prod_issuer.options(), headers)
    assert state.status is not AuthStatus.SIGNED_IN
    if state.location:
        assert state.location.startswith("https://clerk.example.com/v1/client/handshake?")


def test_debug_logs_decisions_without_secrets(
    issuer: TestIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    token = issuer.session_token()
    caplog.set_level("DEBUG", logger="clerk_middleware")
    quiet = issuer.options()
    run(quiet, {"authorization": f"Bearer {token}"})
    assert not [r for r in caplog.records if "->" in r.getMessage()]
    loud = issuer.options(debug=True)
    run(loud, {"authorization": f"Bearer {token}"}, url=f"{URL}&__clerk_db_jwt=secret_dvb")
    run(loud, {**PAGE, **cookie(DEV)})
    lines = [r.getMessage() for r in caplog.records if "->" in r.getMessage()]
    assert "Clerk: GET https://app.example.com/dashboard -> signed-in" in lines
    assert (
        "Clerk: GET https://app.example.com/dashboard -> signed-out "
        "(session-token-and-uat-missing)" in lines
    )
    assert not any(token in line or "secret_dvb" in line for line in caplog.messages)
