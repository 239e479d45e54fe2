"""Backend API calls that requests cause: shared by equal requests, capped by a budget.

A ``__clerk_handshake_nonce`` makes the SDK call ``GET /v1/clients/handshake_payload``,
an expired session token with a ``__refresh_<suffix>`` cookie on a GET makes it call
``POST /v1/sessions/<sid>/refresh``. Anyone can send those, so equal concurrent
requests share one call, and a token bucket (``BackendBudget``: 10 calls per second,
bursts of 20, per ``BackendApi``) caps the calls; beyond it a request resolves as if
the call had failed. The local instance's counters say how many calls arrived.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from clerk_middleware.core import (
    AuthRequest,
    AuthStatus,
    ClerkOptions,
    ConfigurationError,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.core._backend import (
    BUDGET_EXCEEDED,
    BackendApi,
    BackendApiError,
    BackendBudget,
    BackendBudgetExceeded,
    TokenBucket,
    configure_backend,
)
from clerk_middleware.core._effects import RefreshError, RefreshRequest
from clerk_middleware.testing import Delay, LocalInstance, Session

from ._support import API, APP, PAGE, Browser, FakeClock, page, run_in_threads, set_cookies

BURST = BackendBudget().burst
RATE = BackendBudget().rate
REFRESH_REFUSED = f"session-token-expired-refresh-{BUDGET_EXCEEDED}"
DEV_BROWSER = {"__clerk_db_jwt": "dvb_test"}


def random_nonce() -> str:
    return secrets.token_urlsafe(24)


def nonce_request(nonce: str) -> AuthRequest:
    """A browser coming back from a handshake with ``nonce`` (development instance)."""
    return page(f"{APP}/dashboard?__clerk_handshake_nonce={nonce}", DEV_BROWSER)


def expired_request(
    instance: LocalInstance,
    session: Session | None = None,
    *,
    refresh_token: str | None = None,
    headers: dict[str, str] = API,
) -> AuthRequest:
    """A GET with an expired, well-signed session token and a refresh cookie.

    Without ``session``: a session the instance never had (each call another one).
    """
    if session is None:
        sid = f"sess_{secrets.token_hex(8)}"
        expired = instance.signer.expired_token(session_id=sid)
    else:
        now = int(instance.issuer.clock())
        expired = instance.session_token(session, issued_at=now - 120, lifetime=60)
    refresh = refresh_token or (session.refresh_token if session else "rt_unknown")
    cookies = {
        **DEV_BROWSER,
        "__session": expired,
        "__client_uat": "1",
        f"__refresh_{instance.cookie_suffix}": refresh,
    }
    return page(f"{APP}/dashboard", cookies, headers=headers)


def nonce_back_from_handshake(instance: LocalInstance, options: ClerkOptions) -> AuthRequest:
    """Sign in on the instance, go through a real handshake, return with a real nonce."""
    session = instance.sign_in(instance.create_user())
    browser = Browser()
    browser.apply([instance.client_cookie(session.client_id)])
    state = authenticate_request(browser.request(f"{APP}/"), options)
    assert state.status is AuthStatus.HANDSHAKE
    back = browser.follow(state.location or "")
    assert "__clerk_handshake_nonce=" in back
    return browser.request(back)


async def gather(requests: list[AuthRequest], options: ClerkOptions) -> list[RequestState]:
    return list(await asyncio.gather(*(authenticate_request_async(r, options) for r in requests)))


# --- the token bucket alone ---------------------------------------------------------------------


def test_the_bucket_starts_full_and_refills_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(BackendBudget(rate=2.0, burst=3), clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.advance(0.49)
    assert not bucket.take()
    clock.advance(0.01)  # 0.5 s at 2/s: one call
    assert bucket.take()
    assert not bucket.take()
    clock.advance(1.0)
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_the_bucket_never_holds_more_than_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(BackendBudget(rate=10.0, burst=5), clock)
    clock.advance(3600)
    assert sum(bucket.take() for _ in range(100)) == 5


def test_a_clock_that_steps_back_adds_nothing() -> None:
    clock = FakeClock(100.0)
    bucket = TokenBucket(BackendBudget(rate=1.0, burst=1), clock)
    assert bucket.take()
    clock.advance(-50)
    assert not bucket.take()
    clock.advance(50)  # back where it was: still no time has passed
    assert not bucket.take()
    clock.advance(1)
    assert bucket.take()


def test_a_disabled_budget_allows_everything() -> None:
    bucket = TokenBucket(BackendBudget(enabled=False), FakeClock())
    assert all(bucket.take() for _ in range(10_000))


def test_the_bucket_is_thread_safe() -> None:
    bucket = TokenBucket(BackendBudget(rate=1.0, burst=25), FakeClock())
    taken: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def take_many() -> None:
        barrier.wait()
        for _ in range(50):
            result = bucket.take()
            with lock:
                taken.append(result)

    run_in_threads([take_many] * 20)
    assert len(taken) == 1000
    assert taken.count(True) == 25


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"rate": 0}, "rate must be a positive number"),
        ({"rate": -1.0}, "rate must be a positive number"),
        ({"rate": float("inf")}, "rate must be a positive number"),
        ({"rate": float("nan")}, "rate must be a positive number"),
        ({"rate": True}, "rate must be a positive number"),
        ({"burst": 0}, "burst must be an integer >= 1"),
        ({"burst": 2.5}, "burst must be an integer >= 1"),
    ],
)
def test_budget_values_are_validated(arguments: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BackendBudget(**arguments)  # type: ignore[arg-type]


def test_the_default_budget_is_documented() -> None:
    assert (RATE, BURST) == (10.0, 20)
    assert BackendBudget().describe() == "10 calls per second, bursts of 20"
    assert BackendApi("https://api.clerk.com", "sk_test_x").budget == BackendBudget()


# --- equal nonces share one call ----------------------------------------------------------------


async def test_200_async_requests_with_one_real_nonce_make_one_call_and_all_sign_in(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi
) -> None:
    request = nonce_back_from_handshake(instance, options)
    instance.inject("handshake_payload", Delay(0.2))  # in flight while all 200 arrive
    states = await gather([request] * 200, options)
    assert instance.count("handshake_payload") == 1
    assert {s.status for s in states} == {AuthStatus.SIGNED_IN}
    cookies = {tuple(set_cookies(s)) for s in states}
    assert len(cookies) == 1 and any(c.startswith("__session=") for c in cookies.pop())


async def test_200_async_requests_with_one_random_nonce_make_one_call(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi
) -> None:
    instance.inject("handshake_payload", Delay(0.2))
    states = await gather([nonce_request(random_nonce())] * 200, options)
    assert instance.count("handshake_payload") == 1
    assert {(s.status, s.reason) for s in states} == {
        (AuthStatus.SIGNED_OUT, "session-token-missing")
    }


def test_50_threads_with_one_nonce_make_one_call(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi
) -> None:
    request = nonce_back_from_handshake(instance, options)
    instance.inject("handshake_payload", Delay(0.2))
    barrier = threading.Barrier(50)
    states: list[RequestState] = []

    def work() -> None:
        barrier.wait()
        states.append(authenticate_request(request, options))

    run_in_threads([work] * 50)
    assert instance.count("handshake_payload") == 1
    assert len(states) == 50
    assert {s.status for s in states} == {AuthStatus.SIGNED_IN}


def test_threads_and_event_loops_share_one_nonce_call(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi
) -> None:
    request = nonce_request(random_nonce())
    instance.inject("handshake_payload", Delay(0.2))
    barrier = threading.Barrier(8)
    states: list[RequestState] = []

    def sync_worker() -> None:
        barrier.wait()
        states.append(authenticate_request(request, options))

    def loop_worker() -> None:
        async def main() -> list[RequestState]:
            barrier.wait()
            return await gather([request] * 20, options)

        states.extend(asyncio.run(main()))

    run_in_threads([sync_worker] * 4 + [loop_worker] * 4)
    assert len(states) == 4 + 4 * 20
    assert {s.reason for s in states} == {"session-token-missing"}
    assert instance.count("handshake_payload") == 1


def test_the_same_nonce_later_is_a_new_call(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi
) -> None:
    # Only calls in flight are shared; an answer is never replayed to a later request.
    request = nonce_back_from_handshake(instance, options)
    for _ in range(3):
        assert authenticate_request(request, options).is_signed_in
    assert instance.count("handshake_payload") == 3


# --- distinct nonces are capped by the budget -----------------------------------------------------


async def test_a_burst_of_distinct_nonces_makes_at_most_the_burst_of_calls(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi, monotonic: FakeClock
) -> None:
    states = await gather([nonce_request(random_nonce()) for _ in range(1000)], options)
    assert instance.count("handshake_payload") == BURST  # the fake clock stood still
    assert len(states) == 1000
    assert {(s.status, s.reason) for s in states} == {
        (AuthStatus.SIGNED_OUT, "session-token-missing")
    }
    # One second refills RATE calls, no more.
    monotonic.advance(1.0)
    await gather([nonce_request(random_nonce()) for _ in range(100)], options)
    assert instance.count("handshake_payload") == BURST + RATE
    # A long quiet spell refills the bucket up to the burst, not beyond.
    monotonic.advance(3600)
    for _ in range(100):
        authenticate_request(nonce_request(random_nonce()), options)
    assert instance.count("handshake_payload") == 2 * BURST + RATE


async def test_a_burst_on_the_real_clock_is_bounded_by_burst_plus_rate_times_elapsed(
    instance: LocalInstance, options: ClerkOptions
) -> None:
    started = time.monotonic()
    configure_backend(options)  # the real monotonic clock
    states = await gather([nonce_request(random_nonce()) for _ in range(1000)], options)
    elapsed = time.monotonic() - started
    calls = instance.count("handshake_payload")
    assert BURST <= calls <= BURST + RATE * elapsed, (calls, elapsed)
    assert {s.reason for s in states} == {"session-token-missing"}


def test_a_refused_nonce_is_logged_without_the_nonce(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    nonces = [random_nonce() for _ in range(BURST + 1)]
    with caplog.at_level(logging.DEBUG):
        states = [authenticate_request(nonce_request(n), options) for n in nonces]
    assert instance.count("handshake_payload") == BURST
    assert states[-1] == states[0]  # refused resolves as a failed call does
    refused = [r for r in caplog.records if "budget" in r.getMessage()]
    assert [r.getMessage() for r in refused] == [
        "Clerk: error getting handshake payload: Backend API budget exceeded (10 calls per "
        "second, bursts of 20): the handshake payload was not requested."
    ]
    assert refused[0].levelno == logging.WARNING
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert not any(nonce in text for nonce in nonces)


def test_a_disabled_budget_calls_for_every_distinct_nonce(
    instance: LocalInstance, options: ClerkOptions
) -> None:
    configure_backend(options, budget=BackendBudget(enabled=False))
    for _ in range(5 * BURST):
        authenticate_request(nonce_request(random_nonce()), options)
    assert instance.count("handshake_payload") == 5 * BURST


async def test_a_larger_budget_allows_larger_bursts(
    instance: LocalInstance, options: ClerkOptions, monotonic: FakeClock
) -> None:
    configure_backend(options, budget=BackendBudget(rate=1.0, burst=150), monotonic=monotonic)
    await gather([nonce_request(random_nonce()) for _ in range(200)], options)
    assert instance.count("handshake_payload") == 150


# --- refreshes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_flood_of_distinct_expired_tokens_is_capped(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    mode: str,
) -> None:
    requests = [expired_request(instance) for _ in range(200)]
    if mode == "sync":
        states = [authenticate_request(r, options) for r in requests]
    else:
        states = asyncio.run(gather(requests, options))
    assert instance.count("refresh") == BURST
    assert instance.count("jwks") == 1  # the key fetch is not counted
    reasons = [s.reason for s in states]
    assert reasons.count("session-token-expired-refresh-resource_not_found") == BURST
    assert reasons.count(REFRESH_REFUSED) == 200 - BURST
    refused = [s for s in states if s.reason == REFRESH_REFUSED]
    assert {s.status for s in refused} == {AuthStatus.SIGNED_OUT}  # an API request
    assert {s.message for s in refused} == {s.message for s in states}  # "JWT is expired..."
    monotonic.advance(1.0)
    for _ in range(50):
        authenticate_request(expired_request(instance), options)
    assert instance.count("refresh") == BURST + RATE


def test_a_refused_refresh_on_a_page_becomes_a_handshake_as_other_failures_do(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi
) -> None:
    for _ in range(BURST):
        authenticate_request(expired_request(instance), options)
    state = authenticate_request(expired_request(instance, headers=PAGE), options)
    assert (state.status, state.reason) == (AuthStatus.HANDSHAKE, REFRESH_REFUSED)
    assert f"__clerk_hs_reason={REFRESH_REFUSED}" in (state.location or "")
    assert instance.count("refresh") == BURST


def test_a_real_session_is_refreshed_again_once_the_bucket_refills(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    session: Session,
) -> None:
    for _ in range(BURST):
        authenticate_request(expired_request(instance), options)
    mine = expired_request(instance, session)
    assert authenticate_request(mine, options).reason == REFRESH_REFUSED
    assert asyncio.run(authenticate_request_async(mine, options)).reason == REFRESH_REFUSED
    monotonic.advance(1 / RATE)
    state = authenticate_request(mine, options)
    assert state.status is AuthStatus.SIGNED_IN, state.reason
    assert instance.count("refresh") == BURST + 1


def test_equal_refresh_requests_share_one_call(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi, session: Session
) -> None:
    request = expired_request(instance, session)
    instance.inject("refresh", Delay(0.2))
    barrier = threading.Barrier(20)
    states: list[RequestState] = []

    def sync_worker() -> None:
        barrier.wait()
        states.append(authenticate_request(request, options))

    def loop_worker() -> None:
        async def main() -> list[RequestState]:
            barrier.wait()
            return await gather([request] * 25, options)

        states.extend(asyncio.run(main()))

    run_in_threads([sync_worker] * 16 + [loop_worker] * 4)
    assert len(states) == 16 + 4 * 25
    assert {s.status for s in states} == {AuthStatus.SIGNED_IN}
    assert len({tuple(set_cookies(s)) for s in states}) == 1  # all got the one answer
    assert instance.count("refresh") == 1


def test_refreshes_of_other_tokens_are_not_shared(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi, session: Session
) -> None:
    # Same session, another refresh token: another question for Clerk.
    requests = [
        expired_request(instance, session),
        expired_request(instance, session, refresh_token="stolen"),
    ]
    instance.inject("refresh", Delay(0.2))
    states: list[RequestState] = []
    run_in_threads([lambda r=r: states.append(authenticate_request(r, options)) for r in requests])  # type: ignore[misc]
    assert instance.count("refresh") == 2
    assert sorted(s.reason or "signed-in" for s in states) == [
        "session-token-expired-refresh-refresh_token_invalid",
        "signed-in",
    ]


async def test_nonces_and_refreshes_spend_one_budget(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi
) -> None:
    requests = [nonce_request(random_nonce()) for _ in range(BURST)]
    requests += [expired_request(instance) for _ in range(BURST)]
    states = await gather(requests, options)
    assert instance.count("handshake_payload") + instance.count("refresh") == BURST
    assert sum(s.reason == REFRESH_REFUSED for s in states) >= 1


def test_sync_and_async_answer_alike_beyond_the_budget(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi
) -> None:
    for _ in range(BURST):
        authenticate_request(nonce_request(random_nonce()), options)
    for request in (nonce_request(random_nonce()), expired_request(instance, headers=PAGE)):
        sync_state = authenticate_request(request, options)
        assert asyncio.run(authenticate_request_async(request, options)) == sync_state
    assert instance.count("handshake_payload") == BURST
    assert instance.count("refresh") == 0


# --- the shared call itself (BackendApi, httpx.MockTransport) -------------------------------------


def held_transport(
    release: threading.Event, calls: list[str], response: Callable[[], httpx.Response]
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        release.wait(5)
        return response()

    return httpx.MockTransport(handler)


def all_in(entered: list[int], calls: list[str]) -> None:
    """Wait until ten callers have started and one call is held, then a little more.

    The last step (a caller reaching the shared call's wait) takes microseconds;
    the time allowed is for a busy machine, where a thread may start late.
    """
    deadline = time.monotonic() + 10
    while (len(entered) < 10 or not calls) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)


def refresh_request(session_id: str = "sess_1") -> RefreshRequest:
    return RefreshRequest(
        session_id=session_id,
        expired_token="expired",
        refresh_token="refresh",
        suffixed_cookies=False,
        request_origin=APP,
        request_headers={},
    )


def test_each_caller_gets_its_own_copy_of_a_shared_answer() -> None:
    release = threading.Event()
    calls: list[str] = []
    body = {"directives": ["__session=x; Path=/"]}
    transport = held_transport(release, calls, lambda: httpx.Response(200, json=body))
    backend = BackendApi("https://api.example.com", "sk_test_x", transport=transport)
    answers: list[list[object]] = []

    entered: list[int] = []

    def work() -> None:
        entered.append(1)
        answers.append(backend.handshake_payload("n1"))

    threads = [threading.Thread(target=work) for _ in range(10)]
    for thread in threads:
        thread.start()
    all_in(entered, calls)  # all ten are in: one leads, nine wait
    release.set()
    for thread in threads:
        thread.join()
    assert calls == ["/v1/clients/handshake_payload"]
    assert answers == [body["directives"]] * 10
    assert len({id(answer) for answer in answers}) == 10


def test_each_caller_raises_its_own_copy_of_a_shared_failure() -> None:
    release = threading.Event()
    calls: list[str] = []
    error = {"errors": [{"code": "session_not_active"}]}
    transport = held_transport(release, calls, lambda: httpx.Response(400, json=error))
    backend = BackendApi("https://api.example.com", "sk_test_x", transport=transport)
    raised: list[RefreshError] = []

    entered: list[int] = []

    def work() -> None:
        entered.append(1)
        try:
            backend.refresh_session(refresh_request())
        except RefreshError as exc:
            raised.append(exc)

    threads = [threading.Thread(target=work) for _ in range(10)]
    for thread in threads:
        thread.start()
    all_in(entered, calls)
    release.set()
    for thread in threads:
        thread.join()
    assert calls == ["/v1/sessions/sess_1/refresh"]
    assert [exc.reason for exc in raised] == ["session_not_active"] * 10
    assert len({id(exc) for exc in raised}) == 10


def test_beyond_the_budget_no_call_is_made_and_the_failure_is_typed() -> None:
    calls: list[str] = []

    def not_found(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(404)

    transport = httpx.MockTransport(not_found)
    backend = BackendApi(
        "https://api.example.com",
        "sk_test_x",
        transport=transport,
        budget=BackendBudget(rate=1.0, burst=1),
        monotonic=FakeClock(),
    )
    with pytest.raises(BackendApiError):
        backend.handshake_payload("n1")  # 404: the call was made
    with pytest.raises(BackendBudgetExceeded, match="budget exceeded"):
        backend.handshake_payload("n2")
    with pytest.raises(RefreshError) as error:
        backend.refresh_session(refresh_request())
    assert error.value.reason == BUDGET_EXCEEDED
    with pytest.raises(RefreshError) as error:
        backend.refresh_session(refresh_request(""))  # refused before any call or budget
    assert error.value.reason == "unexpected-bapi-error"
    assert calls == ["/v1/clients/handshake_payload"]


async def test_a_cancelled_leader_hands_the_call_to_a_waiting_task(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi
) -> None:
    instance.inject("handshake_payload", Delay(0.3), times=1)
    nonce = random_nonce()
    leader = asyncio.create_task(backend.handshake_payload_async(nonce))
    await asyncio.sleep(0.05)
    follower = asyncio.create_task(backend.handshake_payload_async(nonce))
    await asyncio.sleep(0.05)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    with pytest.raises(BackendApiError) as error:
        await follower  # it made the call itself: the instance knows no such nonce
    assert error.value.status == 404
    assert instance.count("handshake_payload") == 2


def test_a_waiter_gives_up_at_its_own_timeout(
    instance: LocalInstance, options: ClerkOptions, session: Session
) -> None:
    configure_backend(options, timeout=0.3)
    instance.inject("refresh", Delay(30))
    request = expired_request(instance, session)
    states: list[RequestState] = []
    started = time.monotonic()
    run_in_threads([lambda: states.append(authenticate_request(request, options))] * 10)
    # At the timeout, not after the 30 s delay (loosely: a loaded machine schedules slowly).
    assert time.monotonic() - started < 10
    assert {s.reason for s in states} == {"session-token-expired-refresh-fetch-error"}
    assert instance.count("refresh") == 1
