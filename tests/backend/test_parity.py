"""Sync and async give identical answers for every Backend API scenario."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from clerk_middleware.core import (
    AuthRequest,
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
    LocalInstance,
    MalformedBody,
    Session,
)

from ._support import API, APP, Browser, FakeClock, bearer, page

Scenario = Callable[[LocalInstance, Session, FakeClock], AuthRequest]


def valid_header_token(instance: LocalInstance, session: Session, wall: FakeClock) -> AuthRequest:
    return bearer(instance.session_token(session))


def unknown_kid(instance: LocalInstance, session: Session, wall: FakeClock) -> AuthRequest:
    signer = instance.signer
    return bearer(signer.sign(signer.session_claims(), header={"kid": "nope"}))


def jwks_down(instance: LocalInstance, session: Session, wall: FakeClock) -> AuthRequest:
    instance.inject("jwks", CannedResponse(500))
    return bearer(instance.session_token(session))


def jwks_garbage(instance: LocalInstance, session: Session, wall: FakeClock) -> AuthRequest:
    instance.inject("jwks", MalformedBody())
    return bearer(instance.session_token(session))


def jwks_reset(instance: LocalInstance, session: Session, wall: FakeClock) -> AuthRequest:
    instance.inject("jwks", ConnectionReset())
    return bearer(instance.session_token(session))


def jwks_slow(instance: LocalInstance, session: Session, wall: FakeClock) -> AuthRequest:
    instance.inject("jwks", Delay(30))
    return bearer(instance.session_token(session))


#: The Backend API timeout per scenario: short only where running into it is the
#: point; elsewhere long enough that a loaded machine never makes one driver time
#: out and the other not.
TIMEOUTS: dict[Scenario, float] = {jwks_slow: 0.2}


def handshake_nonce(instance: LocalInstance, session: Session, wall: FakeClock) -> AuthRequest:
    browser = Browser()
    browser.apply([instance.client_cookie(session.client_id)])
    first = authenticate_request(browser.request(f"{APP}/"), instance.options())
    return browser.request(browser.follow(first.location or ""))


def refresh(instance: LocalInstance, session: Session, wall: FakeClock) -> AuthRequest:
    browser = Browser({"__clerk_db_jwt": "dvb_1"})
    browser.apply(instance.session_cookies(session, azp=APP))
    wall.advance(120)
    return page(f"{APP}/items", browser.cookies, headers=API)


def refresh_down(instance: LocalInstance, session: Session, wall: FakeClock) -> AuthRequest:
    instance.inject("refresh", CannedResponse(500, code="unexpected_error"))
    return refresh(instance, session, wall)


@pytest.mark.parametrize(
    "scenario",
    [
        valid_header_token,
        unknown_kid,
        jwks_down,
        jwks_garbage,
        jwks_reset,
        jwks_slow,
        handshake_nonce,
        refresh,
        refresh_down,
    ],
)
def test_sync_and_async_answer_identically(
    *,
    instance: LocalInstance,
    options: ClerkOptions,
    session: Session,
    wall: FakeClock,
    monotonic: FakeClock,
    scenario: Scenario,
) -> None:
    request = scenario(instance, session, wall)
    answers: list[RequestState] = []
    for driver in ("sync", "async"):
        # Each driver starts from a cold cache, so both take the same path.
        configure_backend(options, monotonic=monotonic, timeout=TIMEOUTS.get(scenario, 10.0))
        if driver == "sync":
            answers.append(authenticate_request(request, options))
        else:
            answers.append(asyncio.run(authenticate_request_async(request, options)))
    sync_state, async_state = answers
    assert sync_state == async_state
    assert (sync_state.status, sync_state.reason, sync_state.message, sync_state.headers) == (
        async_state.status,
        async_state.reason,
        async_state.message,
        async_state.headers,
    )
