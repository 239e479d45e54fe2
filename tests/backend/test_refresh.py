"""Session refresh end to end: an expired cookie token plus ``__refresh_<suffix>`` on a GET."""

from __future__ import annotations

import asyncio
import time

import pytest

from clerk_middleware.core import (
    AuthStatus,
    ClerkOptions,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.core._backend import configure_backend
from clerk_middleware.testing import (
    CannedResponse,
    ConnectionReset,
    Delay,
    Fault,
    LocalInstance,
    MalformedBody,
    Session,
    TestIssuer,
)

from ._support import API, APP, T0, Browser, FakeClock, page, set_cookies

EXPIRED = "session-token-expired-refresh-"


@pytest.fixture
def browser(instance: LocalInstance, session: Session, wall: FakeClock) -> Browser:
    """A browser whose session token has expired a minute ago (refresh cookie present)."""
    browser = Browser({"__clerk_db_jwt": "dvb_test"})
    browser.apply(instance.session_cookies(session, azp=APP))
    wall.advance(120)
    return browser


def run(browser: Browser, options: ClerkOptions, *, method: str = "GET") -> RequestState:
    request = page(f"{APP}/api/items", browser.cookies, method=method, headers=API)
    return authenticate_request(request, options)


def test_refresh_end_to_end(
    instance: LocalInstance,
    options: ClerkOptions,
    session: Session,
    browser: Browser,
    wall: FakeClock,
) -> None:
    state = authenticate_request(browser.request(f"{APP}/dashboard"), options)
    assert state.status is AuthStatus.SIGNED_IN, (state.reason, state.message)
    assert state.claims is not None
    assert (state.claims["sid"], state.claims["iat"]) == (session.id, int(wall.now))
    assert state.claims["azp"] == APP
    cookies = set_cookies(state)
    assert [c.split("=", 1)[0] for c in cookies] == ["__session", "__client_uat"]
    assert state.token == cookies[0].split(";")[0].split("=", 1)[1]

    sent = instance.requests("refresh")[0]
    assert sent.path == f"/v1/sessions/{session.id}/refresh"
    assert "suffixed_cookies" not in sent.query  # Clerk omits false
    body = sent.json()
    assert body["format"] == "cookie"
    assert body["refresh_token"] == session.refresh_token
    assert body["request_origin"] == APP
    assert body["request_headers"]["sec-fetch-dest"] == ["document"]
    assert body["expired_token"] == browser.cookies["__session"]

    # With the new cookies the next request needs nothing more.
    browser.apply(cookies)
    state = authenticate_request(browser.request(f"{APP}/dashboard"), options)
    assert state.status is AuthStatus.SIGNED_IN
    assert state.headers == ()
    assert instance.counts() == {"refresh": 1, "jwks": 1}


async def test_refresh_end_to_end_async(
    instance: LocalInstance, options: ClerkOptions, browser: Browser
) -> None:
    request = browser.request(f"{APP}/dashboard")
    state = await authenticate_request_async(request, options)
    assert state.status is AuthStatus.SIGNED_IN
    assert state == authenticate_request(request, options)
    assert instance.count("refresh") == 2


def test_refresh_with_suffixed_cookies(wall: FakeClock) -> None:
    # An un-suffixed __session from another instance makes the SDK use suffixed cookies.
    other = TestIssuer("other.clerk.accounts.dev", clock=wall)
    with LocalInstance(TestIssuer(clock=wall)) as instance:
        session = instance.sign_in(instance.create_user())
        browser = Browser({"__clerk_db_jwt_" + instance.cookie_suffix: "dvb_x"})
        browser.apply(instance.session_cookies(session, suffixed=True))
        browser.cookies["__session"] = other.session_token()
        wall.advance(120)
        state = authenticate_request(browser.request(f"{APP}/"), instance.options())
        assert state.status is AuthStatus.SIGNED_IN, state.reason
        assert instance.requests("refresh")[0].query["suffixed_cookies"] == "true"
        names = [c.split("=", 1)[0] for c in set_cookies(state)]
        suffix = instance.cookie_suffix
        assert names == [
            "__session",
            f"__session_{suffix}",
            "__client_uat",
            f"__client_uat_{suffix}",
        ]


def test_not_attempted_for_a_post(
    instance: LocalInstance, options: ClerkOptions, browser: Browser
) -> None:
    state = run(browser, options, method="POST")
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, EXPIRED + "non-eligible-non-get")
    assert instance.count("refresh") == 0


def test_not_attempted_without_a_refresh_cookie(
    instance: LocalInstance, options: ClerkOptions, browser: Browser
) -> None:
    del browser.cookies[f"__refresh_{instance.cookie_suffix}"]
    state = run(browser, options)
    assert state.reason == EXPIRED + "non-eligible-no-refresh-cookie"
    assert instance.count("refresh") == 0


def test_a_failed_refresh_on_a_page_becomes_a_handshake(
    instance: LocalInstance, options: ClerkOptions, session: Session, browser: Browser
) -> None:
    instance.end_session(session)
    state = authenticate_request(browser.request(f"{APP}/dashboard"), options)
    assert (state.status, state.reason) == (AuthStatus.HANDSHAKE, EXPIRED + "session_not_active")
    assert (state.location or "").startswith(f"{instance.url}/v1/client/handshake?")


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        # Clerk's client reports a thrown fetch (network, bad JSON) as code unexpected_error.
        (ConnectionReset(), "fetch-error"),
        (MalformedBody(), "fetch-error"),
        (CannedResponse(500, code="unexpected_error"), "fetch-error"),
        (CannedResponse(500), "internal_clerk_error"),
        (CannedResponse(429, code="too_many_requests"), "too_many_requests"),
        (CannedResponse(502, b"<html>Bad gateway</html>", "text/html"), "unexpected-bapi-error"),
        (CannedResponse(500, b'{"errors": []}'), "unexpected-bapi-error"),
        (CannedResponse(400, b'{"errors": [{"message": "no code"}]}'), "unexpected-sdk-error"),
        (CannedResponse(400, b'{"errors": [{"code": "a\\r\\nb"}]}'), "unexpected-bapi-error"),
        (CannedResponse(200, b'{"object": "cookies", "cookies": []}'), "unexpected-sdk-error"),
        (CannedResponse(204, b""), "unexpected-bapi-error"),
        (CannedResponse(200, b"null"), "fetch-error"),
        (CannedResponse(200, b"5"), "fetch-error"),
        (CannedResponse(200, b'"text"'), "unexpected-sdk-error"),
        (CannedResponse(200, b"cookies", "text/plain"), "unexpected-sdk-error"),
        (
            CannedResponse(200, b'{"cookies": ["__session=not-a-jwt; Path=/"]}'),
            "invalid-session-token",
        ),
        (CannedResponse(200, b'{"cookies": [7]}'), "unexpected-sdk-error"),
    ],
)
def test_refresh_failures_use_clerks_reasons(
    instance: LocalInstance, options: ClerkOptions, browser: Browser, fault: Fault, reason: str
) -> None:
    instance.inject("refresh", fault)
    state = run(browser, options)
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, EXPIRED + reason)
    assert (state.message or "").startswith("JWT is expired.")
    assert instance.count("refresh") == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("end-session", "session_not_active"),
        ("wrong-refresh-token", "refresh_token_invalid"),
        ("unknown-session", "resource_not_found"),
    ],
)
def test_refresh_rejected_by_the_instance(
    *,
    instance: LocalInstance,
    options: ClerkOptions,
    session: Session,
    browser: Browser,
    change: str,
    reason: str,
) -> None:
    if change == "end-session":
        instance.end_session(session)
    elif change == "wrong-refresh-token":
        browser.cookies[f"__refresh_{instance.cookie_suffix}"] = "stolen"
    else:
        # A well-signed token of a session the instance never had.
        browser.cookies["__session"] = instance.signer.session_token(
            session.user_id, session_id="sess_unknown", issued_at=T0, lifetime=60
        )
    state = run(browser, options)
    assert state.reason == EXPIRED + reason


def test_refreshed_token_signed_by_a_stranger_is_invalid(
    instance: LocalInstance,
    options: ClerkOptions,
    session: Session,
    browser: Browser,
    wall: FakeClock,
) -> None:
    stranger = TestIssuer(clock=wall)
    forged = stranger.session_token(session.user_id, session_id=session.id)
    instance.inject(
        "refresh",
        CannedResponse(
            200, b'{"object":"cookies","cookies":["__session=' + forged.encode() + b'; Path=/"]}'
        ),
    )
    state = run(browser, options)
    assert state.reason == EXPIRED + "invalid-session-token"


def test_refresh_timeout_is_honoured(
    instance: LocalInstance, options: ClerkOptions, browser: Browser
) -> None:
    configure_backend(options, timeout=0.3)
    instance.inject("refresh", Delay(30))
    started = time.monotonic()
    state = run(browser, options)
    elapsed = time.monotonic() - started
    assert state.reason == EXPIRED + "fetch-error"
    # At the timeout, not after the 30 s delay (loosely: a loaded machine schedules slowly).
    assert elapsed < 10
    started = time.monotonic()
    state = asyncio.run(
        authenticate_request_async(page(f"{APP}/api/items", browser.cookies, headers=API), options)
    )
    assert state.reason == EXPIRED + "fetch-error"
    assert time.monotonic() - started < 10
