"""Handshakes end to end: app -> local instance's Frontend API -> back with a nonce -> payload."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from clerk_middleware.core import (
    AuthStatus,
    ClerkOptions,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.testing import CannedResponse, ConnectionReset, LocalInstance, Session

from ._support import APP, Browser, cookie_header, page, set_cookies


def handshake_location(instance: LocalInstance, state_location: str | None) -> dict[str, str]:
    assert state_location is not None
    parts = urlsplit(state_location)
    assert f"{parts.scheme}://{parts.netloc}" == instance.url
    assert parts.path == "/v1/client/handshake"
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_handshake_via_nonce_end_to_end(
    instance: LocalInstance, options: ClerkOptions, session: Session
) -> None:
    browser = Browser()
    browser.apply([instance.client_cookie(session.client_id)])  # signed in on the instance

    # 1. A first visit: a development instance needs a dev browser -> handshake.
    state = authenticate_request(browser.request(f"{APP}/dashboard?tab=1"), options)
    assert (state.status, state.reason) == (AuthStatus.HANDSHAKE, "dev-browser-missing")
    query = handshake_location(instance, state.location)
    assert query["format"] == "nonce"
    assert query["redirect_url"] == f"{APP}/dashboard?tab=1"

    # 2. The browser follows it; the instance redirects back with a nonce.
    back = browser.follow(state.location or "")
    assert back.startswith(f"{APP}/dashboard?tab=1&__clerk_handshake_nonce=")

    # 3. The app exchanges the nonce for cookie directives: signed in, cookies set.
    state = authenticate_request(browser.request(back), options)
    assert state.status is AuthStatus.SIGNED_IN
    assert state.claims is not None
    assert state.claims["sub"] == session.user_id
    assert state.claims["sid"] == session.id
    assert state.claims["azp"] == APP
    cookies = set_cookies(state)
    names = [c.split("=", 1)[0] for c in cookies]
    assert names == [
        "__clerk_db_jwt",
        "__session",
        "__client_uat",
        f"__refresh_{instance.cookie_suffix}",
    ]
    assert state.location == f"{APP}/dashboard?tab=1"  # development: back to the clean URL
    assert instance.count("handshake_payload") == 1
    payload_request = instance.requests("handshake_payload")[0]
    assert payload_request.headers["authorization"] == f"Bearer {instance.secret_key}"

    # 4. With the cookies, the next request is simply signed in.
    browser.apply(cookies)
    state = authenticate_request(browser.request(state.location or ""), options)
    assert state.status is AuthStatus.SIGNED_IN
    assert state.headers == ()
    assert instance.counts() == {"handshake": 1, "handshake_payload": 1, "jwks": 1}


def test_handshake_of_a_signed_out_browser_clears_the_session(
    instance: LocalInstance, options: ClerkOptions
) -> None:
    browser = Browser()
    state = authenticate_request(browser.request(f"{APP}/"), options)
    back = browser.follow(state.location or "")
    state = authenticate_request(browser.request(back), options)
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, "session-token-missing")
    assert "__session=; Path=/; SameSite=Lax; Max-Age=0" in set_cookies(state)
    browser.apply(set_cookies(state))
    assert browser.cookies["__client_uat"] == "0"
    assert browser.cookies["__clerk_db_jwt"].startswith("dvb_")
    # Signed out with a dev browser: no more handshakes.
    state = authenticate_request(browser.request(f"{APP}/"), options)
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, "session-token-and-uat-missing")


def test_handshake_token_format(
    instance: LocalInstance, options: ClerkOptions, session: Session
) -> None:
    url = (
        f"{instance.url}/v1/client/handshake?"
        + httpx.QueryParams({"redirect_url": f"{APP}/x", "suffixed_cookies": "true"}).__str__()
    )
    response = httpx.get(
        url, headers={"cookie": f"__client={instance.client(session.client_id).token}"}
    )
    assert response.status_code == 307
    location = response.headers["location"]
    assert "__clerk_handshake=" in location
    state = authenticate_request(page(location), options)
    assert state.status is AuthStatus.SIGNED_IN
    names = [c.split("=", 1)[0] for c in set_cookies(state)]
    suffix = instance.cookie_suffix
    assert f"__session_{suffix}" in names and f"__client_uat_{suffix}" in names
    assert instance.count("handshake_payload") == 0


def test_handshake_of_a_pending_session(instance: LocalInstance, options: ClerkOptions) -> None:
    session = instance.sign_in(instance.create_user(), pending=True)
    browser = Browser()
    browser.apply([instance.client_cookie(session.client_id)])
    state = authenticate_request(browser.request(f"{APP}/"), options)
    state = authenticate_request(browser.request(browser.follow(state.location or "")), options)
    assert state.status is AuthStatus.SIGNED_IN  # pending is signed in at this level
    auth = state.to_auth()
    assert auth is not None
    assert (auth.user_id, auth.session_status) == (None, "pending")
    aware = state.to_auth(treat_pending_as_signed_out=False)
    assert aware is not None
    assert aware.user_id == session.user_id


def test_dev_browser_identifies_the_client_without_the_client_cookie(
    instance: LocalInstance, options: ClerkOptions
) -> None:
    browser = Browser()
    state = authenticate_request(browser.request(f"{APP}/"), options)
    state = authenticate_request(browser.request(browser.follow(state.location or "")), options)
    browser.apply(set_cookies(state))
    dev_browser = browser.cookies["__clerk_db_jwt"]
    # A sign-in page of a development instance signs in the dev browser's client;
    # the app then sees a client_uat without a session -> handshake with the dev browser.
    session = instance.sign_in(
        instance.create_user(), client=instance.dev_browser_client(dev_browser)
    )
    browser.apply([f"__client_uat={instance.client(session.client_id).updated_at}; Path=/"])
    state = authenticate_request(browser.request(f"{APP}/"), options)
    assert state.reason == "client-uat-but-no-session-token"
    assert f"__clerk_db_jwt={dev_browser}" in (state.location or "")
    assert "__client" not in browser.cookies
    state = authenticate_request(browser.request(browser.follow(state.location or "")), options)
    assert state.status is AuthStatus.SIGNED_IN
    assert state.claims is not None and state.claims["sid"] == session.id


def test_organization_sync_parameter_activates_the_organization(
    instance: LocalInstance, session: Session
) -> None:
    org = instance.create_organization("Acme Inc")
    instance.add_membership(session.user_id, org, role="admin", permissions=["org:billing:manage"])
    url = f"{instance.url}/v1/client/handshake?" + str(
        httpx.QueryParams({"redirect_url": f"{APP}/orgs/acme-inc", "organization_id": "acme-inc"})
    )
    cookie = {"cookie": f"__client={instance.client(session.client_id).token}"}
    location = httpx.get(url, headers=cookie).headers["location"]
    state = authenticate_request(page(location), instance.options())
    assert state.status is AuthStatus.SIGNED_IN
    auth = state.to_auth()
    assert auth is not None
    assert (auth.org_id, auth.org_slug, auth.org_role) == (org.id, "acme-inc", "org:admin")
    assert auth.has(permission="org:billing:manage")
    assert instance.session(session).organization_id == org.id


def test_payload_failures_mean_no_directives(
    instance: LocalInstance, options: ClerkOptions, session: Session
) -> None:
    browser = Browser()
    browser.apply([instance.client_cookie(session.client_id)])
    state = authenticate_request(browser.request(f"{APP}/"), options)
    back = browser.follow(state.location or "")
    for fault in (CannedResponse(500), ConnectionReset(), CannedResponse(200, b"[1, 2")):
        with instance.fault("handshake_payload", fault):
            state = authenticate_request(browser.request(back), options)
        # As Clerk: the error is logged, no cookie is set, the session token is missing.
        assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, "session-token-missing")
        assert set_cookies(state) == []
    unknown = back.split("__clerk_handshake_nonce=")[0] + "__clerk_handshake_nonce=unknown"
    state = authenticate_request(browser.request(unknown), options)
    assert state.reason == "session-token-missing"


async def test_handshake_payload_async_matches_sync(
    instance: LocalInstance, options: ClerkOptions, session: Session
) -> None:
    browser = Browser()
    browser.apply([instance.client_cookie(session.client_id)])
    state = authenticate_request(browser.request(f"{APP}/"), options)
    request = browser.request(browser.follow(state.location or ""))
    sync_state = authenticate_request(request, options)
    async_state = await authenticate_request_async(request, options)
    assert sync_state == async_state
    assert sync_state.status is AuthStatus.SIGNED_IN


def test_handshake_rejects_a_relative_redirect_url(instance: LocalInstance) -> None:
    response = httpx.get(f"{instance.url}/v1/client/handshake?redirect_url=/dashboard")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "form_param_missing"


def test_cookie_header_helper_round_trips() -> None:
    assert cookie_header({"a": "1", "b": "2"}) == "a=1; b=2"


def test_the_nonce_never_reaches_the_logs(
    instance: LocalInstance,
    options: ClerkOptions,
    session: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    browser = Browser()
    browser.apply([instance.client_cookie(session.client_id)])
    state = authenticate_request(browser.request(f"{APP}/"), options)
    back = browser.follow(state.location or "")
    nonce = back.split("__clerk_handshake_nonce=")[1]
    with caplog.at_level(logging.DEBUG):
        assert authenticate_request(browser.request(back), options).is_signed_in
        with instance.fault("handshake_payload", CannedResponse(500)):
            asyncio.run(authenticate_request_async(browser.request(back), options))
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "handshake_payload?nonce=%5Bredacted%5D" in text  # httpx's request log, redacted
    assert nonce not in text
