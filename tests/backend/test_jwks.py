"""Remote JWKS over real HTTP: caching, rotation, floods, concurrency, outages, timeouts."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time

import httpx
import pytest

from clerk_middleware.core import (
    AuthStatus,
    ClerkOptions,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.core._backend import BackendApi, JwksPolicy, configure_backend
from clerk_middleware.testing import (
    CannedResponse,
    ConnectionReset,
    Delay,
    LocalInstance,
    MalformedBody,
    Session,
    SlowBody,
)

from ._support import FakeClock, bearer, run_in_threads

CARRIER = "(reason={reason}, token-carrier=header)"


def forged_kid_token(instance: LocalInstance, kid: str) -> str:
    """A token signed by the instance's key but naming a ``kid`` the JWKS does not list."""
    signer = instance.signer
    return signer.sign(signer.session_claims(), header={"kid": kid})


def check(state: RequestState, reason: str | None) -> None:
    if reason is None:
        assert state.status is AuthStatus.SIGNED_IN, (state.reason, state.message)
    else:
        assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, reason), state.message


# --- cache ------------------------------------------------------------------------------------


def test_cold_cache_fetches_once_then_serves_from_memory(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi, token: str
) -> None:
    for _ in range(20):
        check(authenticate_request(bearer(token), options), None)
    assert instance.count("jwks") == 1
    assert backend.key_set.fetches == 1
    request = instance.requests("jwks")[0]
    assert request.headers["authorization"] == f"Bearer {instance.secret_key}"
    assert request.headers["clerk-api-version"] == "2026-05-12"


async def test_cold_cache_async_shares_the_sync_cache(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi, token: str
) -> None:
    check(await authenticate_request_async(bearer(token), options), None)
    check(authenticate_request(bearer(token), options), None)
    check(await authenticate_request_async(bearer(token), options), None)
    assert instance.count("jwks") == 1


def test_ttl_expiry_refetches_after_five_minutes(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    token: str,
) -> None:
    check(authenticate_request(bearer(token), options), None)
    monotonic.advance(299)
    check(authenticate_request(bearer(token), options), None)
    assert instance.count("jwks") == 1
    monotonic.advance(1)
    check(authenticate_request(bearer(token), options), None)
    check(authenticate_request(bearer(token), options), None)
    assert instance.count("jwks") == 2


async def test_ttl_expiry_async(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    token: str,
) -> None:
    check(await authenticate_request_async(bearer(token), options), None)
    monotonic.advance(300)
    check(await authenticate_request_async(bearer(token), options), None)
    assert instance.count("jwks") == 2


def test_kid_rotation_keeping_the_old_key(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    session: Session,
) -> None:
    old = instance.session_token(session)
    check(authenticate_request(bearer(old), options), None)
    new_kid = instance.rotate_key(keep_old=True)
    new = instance.session_token(session)
    # The first fetch found its kid, so it started no cooldown: the new kid is fetched at once.
    check(authenticate_request(bearer(new), options), None)
    check(authenticate_request(bearer(old), options), None)
    assert instance.count("jwks") == 2
    assert set(backend.key_set.keys) == {instance.issuer.kid, new_kid}
    # That kid-miss fetch did start it: a second rotation waits for the cooldown.
    newer_kid = instance.rotate_key(keep_old=True)
    newer = instance.session_token(session)
    state = authenticate_request(bearer(newer), options)
    check(state, "jwk-kid-mismatch")
    assert f"kid='{newer_kid}'" in (state.message or "")
    assert instance.count("jwks") == 2
    monotonic.advance(10)
    check(authenticate_request(bearer(newer), options), None)
    assert instance.count("jwks") == 3


def test_kid_rotation_dropping_the_old_key(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    session: Session,
) -> None:
    old = instance.session_token(session)
    check(authenticate_request(bearer(old), options), None)
    instance.rotate_key(keep_old=False)
    new = instance.session_token(session)
    check(authenticate_request(bearer(new), options), None)
    # As in Clerk, a key that left the JWKS stays trusted for at most one TTL.
    check(authenticate_request(bearer(old), options), None)
    assert instance.count("jwks") == 2
    monotonic.advance(300)
    check(authenticate_request(bearer(new), options), None)  # TTL refetch forgets it
    # Its kid is unknown now, and the last kid-miss fetch was 300 s ago: one more
    # fetch (a TTL refresh starts no cooldown), then the answer is final.
    check(authenticate_request(bearer(old), options), "jwk-kid-mismatch")
    check(authenticate_request(bearer(old), options), "jwk-kid-mismatch")
    assert instance.count("jwks") == 4


def test_kid_miss_flood_is_bounded_to_one_fetch_per_cooldown(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    token: str,
) -> None:
    check(authenticate_request(bearer(token), options), None)
    for _ in range(240):  # one forged kid every 0.25 s for 60 s
        monotonic.advance(0.25)
        state = authenticate_request(
            bearer(forged_kid_token(instance, secrets.token_hex(8))), options
        )
        check(state, "jwk-kid-mismatch")
    # 1 cold fetch + one per 10 s cooldown window (at 10, 20, ..., 60 s).
    assert instance.count("jwks") == 7
    check(authenticate_request(bearer(token), options), None)


def test_concurrent_kid_miss_flood_causes_one_fetch(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    token: str,
) -> None:
    check(authenticate_request(bearer(token), options), None)
    monotonic.advance(60)
    instance.inject("jwks", Delay(0.1))
    barrier = threading.Barrier(40)
    states: list[RequestState] = []

    def forge() -> None:
        request = bearer(forged_kid_token(instance, secrets.token_hex(8)))
        barrier.wait()
        states.append(authenticate_request(request, options))

    run_in_threads([forge] * 40)
    assert {s.reason for s in states} == {"jwk-kid-mismatch"}
    assert instance.count("jwks") == 2


# --- single flight ----------------------------------------------------------------------------


async def test_200_concurrent_async_requests_on_a_cold_cache_fetch_once(
    instance: LocalInstance, options: ClerkOptions, token: str
) -> None:
    instance.inject("jwks", Delay(0.2))  # keep the fetch in flight while all 200 arrive
    states = await asyncio.gather(
        *(authenticate_request_async(bearer(token), options) for _ in range(200))
    )
    assert {s.status for s in states} == {AuthStatus.SIGNED_IN}
    assert instance.count("jwks") == 1


def test_50_threads_on_a_cold_cache_fetch_once(
    instance: LocalInstance, options: ClerkOptions, token: str
) -> None:
    instance.inject("jwks", Delay(0.2))
    barrier = threading.Barrier(50)
    states: list[RequestState] = []

    def work() -> None:
        barrier.wait()
        states.append(authenticate_request(bearer(token), options))

    run_in_threads([work] * 50)
    assert len(states) == 50
    assert {s.status for s in states} == {AuthStatus.SIGNED_IN}
    assert instance.count("jwks") == 1


def test_threads_and_tasks_on_other_loops_share_one_fetch(
    instance: LocalInstance, options: ClerkOptions, token: str
) -> None:
    instance.inject("jwks", Delay(0.2))
    barrier = threading.Barrier(20)
    states: list[RequestState] = []

    def sync_worker() -> None:
        barrier.wait()
        states.append(authenticate_request(bearer(token), options))

    def loop_worker() -> None:
        async def main() -> list[RequestState]:
            barrier.wait()
            return list(
                await asyncio.gather(
                    *(authenticate_request_async(bearer(token), options) for _ in range(25))
                )
            )

        states.extend(asyncio.run(main()))

    run_in_threads([sync_worker] * 16 + [loop_worker] * 4)
    assert len(states) == 16 + 4 * 25
    assert {s.status for s in states} == {AuthStatus.SIGNED_IN}
    assert instance.count("jwks") == 1


async def test_a_cancelled_leader_hands_the_fetch_to_a_waiting_task(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi, token: str
) -> None:
    instance.inject("jwks", Delay(0.3), times=1)
    leader = asyncio.create_task(backend.get_key_async(instance.issuer.kid))
    await asyncio.sleep(0.05)
    follower = asyncio.create_task(backend.get_key_async(instance.issuer.kid))
    await asyncio.sleep(0.05)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    key = await follower
    assert key.public_numbers() == backend.key_set.keys[instance.issuer.kid].public_numbers()
    assert backend.key_set.fetches == 1  # the cancelled attempt recorded nothing
    assert instance.count("jwks") <= 2


# --- outages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (CannedResponse(500), "Error loading Clerk JWKS from {url} with code=500"),
        (
            CannedResponse(503, b"<html>down</html>", "text/html"),
            "Error loading Clerk JWKS from {url} with code=503",
        ),
        (MalformedBody(), "Error loading Clerk JWKS from {url}: the response is not JSON."),
        (
            CannedResponse(200, b'{"keys": []}'),
            "The JWKS endpoint did not contain any signing keys. Contact support@clerk.com.",
        ),
        (
            CannedResponse(200, b'{"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB"}]}'),
            "The JWKS endpoint did not contain any signing keys. Contact support@clerk.com.",
        ),
        (ConnectionReset(), "Error loading Clerk JWKS from {url}: the connection failed"),
    ],
)
def test_outage_without_cached_keys_is_signed_out_with_clerks_reason(
    *,
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    token: str,
    fault: CannedResponse | MalformedBody | ConnectionReset,
    message: str,
) -> None:
    instance.inject("jwks", fault)
    for _ in range(10):
        state = authenticate_request(bearer(token), options)
        check(state, "jwk-remote-failed-to-load")
        expected = message.format(url=backend.jwks_url)
        assert (state.message or "").startswith(expected)
        assert (state.message or "").endswith(
            "Contact support@clerk.com " + CARRIER.format(reason="jwk-remote-failed-to-load")
        )
    assert instance.count("jwks") == 1  # failures are not retried for 5 s


def test_unreachable_api_is_signed_out_not_an_exception(token: str) -> None:
    with LocalInstance() as gone:
        options = gone.options()
        url = gone.url
    # The instance is closed: nothing listens on its port any more.
    state = authenticate_request(bearer(token), options)
    check(state, "jwk-remote-failed-to-load")
    assert state.message == (
        f"Error loading Clerk JWKS from {url}/v1/jwks: could not connect. Contact "
        "support@clerk.com " + CARRIER.format(reason="jwk-remote-failed-to-load")
    )


def test_outage_with_cached_keys_serves_them_stale_within_the_bound(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    token: str,
) -> None:
    check(authenticate_request(bearer(token), options), None)
    instance.inject("jwks", CannedResponse(500))
    monotonic.advance(300)  # the key set is no longer fresh
    for _ in range(10):
        check(authenticate_request(bearer(token), options), None)
    assert instance.count("jwks") == 2  # one attempt, then 5 s without retrying
    monotonic.advance(5)
    check(authenticate_request(bearer(token), options), None)
    assert instance.count("jwks") == 3
    # An unknown kid during the outage gets the outage's reason, as Clerk's refetch would.
    monotonic.advance(5)
    check(
        authenticate_request(bearer(forged_kid_token(instance, "k2")), options),
        "jwk-remote-failed-to-load",
    )
    # Stale keys serve for at most max_stale (1 h) past the TTL.
    monotonic.advance(3600 - 10 - 1)
    check(authenticate_request(bearer(token), options), None)
    monotonic.advance(1)
    check(authenticate_request(bearer(token), options), "jwk-remote-failed-to-load")


def test_recovery_after_an_outage(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    token: str,
) -> None:
    instance.inject("jwks", Delay(10))
    # Long enough for the healthy fetches after the outage on a loaded machine.
    configure_backend(options, monotonic=monotonic, timeout=2.0)
    check(authenticate_request(bearer(token), options), "jwk-remote-failed-to-load")
    instance.clear_faults()
    monotonic.advance(4.9)
    check(authenticate_request(bearer(token), options), "jwk-remote-failed-to-load")
    monotonic.advance(0.1)
    check(authenticate_request(bearer(token), options), None)
    monotonic.advance(299)
    check(authenticate_request(bearer(token), options), None)
    assert instance.count("jwks") == 2


def test_a_wrong_secret_key_is_secret_key_invalid(instance: LocalInstance, token: str) -> None:
    options = instance.options(secret_key="sk_test_not_the_right_one")
    state = authenticate_request(bearer(token), options)
    check(state, "secret-key-invalid")
    assert state.message == (
        "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is "
        "correct. Contact support@clerk.com " + CARRIER.format(reason="secret-key-invalid")
    )


def test_secret_key_invalid_ends_stale_serving(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    token: str,
) -> None:
    check(authenticate_request(bearer(token), options), None)
    instance.inject("jwks", CannedResponse(401, code="clerk_key_invalid"))
    monotonic.advance(300)
    check(authenticate_request(bearer(token), options), "secret-key-invalid")
    instance.clear_faults()
    monotonic.advance(5)
    check(authenticate_request(bearer(token), options), None)


def test_jwks_body_is_bounded(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi, token: str
) -> None:
    huge = b'{"keys": [' + b" " * (1024 * 1024) + b"]}"
    instance.inject("jwks", CannedResponse(200, huge))
    state = authenticate_request(bearer(token), options)
    check(state, "jwk-remote-failed-to-load")
    assert "the response is larger than 65536 bytes" in (state.message or "")


def test_streamed_body_without_length_is_bounded_too(instance: LocalInstance, token: str) -> None:
    sent: list[int] = []

    def endless() -> httpx.SyncByteStream:
        class Stream(httpx.SyncByteStream):
            def __iter__(self):  # type: ignore[no-untyped-def]
                for _ in range(10_000):
                    sent.append(1)
                    yield b"x" * 1024

        return Stream()

    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=endless()))
    options = instance.options()
    configure_backend(options, transport=transport)
    state = authenticate_request(bearer(token), options)
    check(state, "jwk-remote-failed-to-load")
    assert len(sent) <= 65  # stopped just past 64 KiB, not after 10 MB


def test_a_transport_that_raises_anything_never_reaches_the_app(
    instance: LocalInstance, token: str
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a bug in a custom transport")

    options = instance.options()
    configure_backend(options, transport=httpx.MockTransport(broken))
    state = authenticate_request(bearer(token), options)
    check(state, "jwk-remote-failed-to-load")
    assert "the request failed (RuntimeError)" in (state.message or "")


# --- timeouts -----------------------------------------------------------------------------------


TIMEOUT = 0.3
#: Far below the faults' 30-45 s and far above the timeout: a call that waited for
#: the fault fails, while a loaded machine's slow scheduling never does.
GENEROUS = 10.0


def test_slow_server_timeout_is_honoured_sync(
    instance: LocalInstance, options: ClerkOptions, token: str
) -> None:
    configure_backend(options, timeout=TIMEOUT)
    instance.inject("jwks", Delay(30))
    started = time.monotonic()
    state = authenticate_request(bearer(token), options)
    elapsed = time.monotonic() - started
    check(state, "jwk-remote-failed-to-load")
    assert "no complete answer within the 0.3 s timeout" in (state.message or "")
    assert elapsed < GENEROUS


async def test_slow_server_timeout_is_honoured_async(
    instance: LocalInstance, options: ClerkOptions, token: str
) -> None:
    configure_backend(options, timeout=TIMEOUT)
    instance.inject("jwks", Delay(30))
    started = time.monotonic()
    state = await authenticate_request_async(bearer(token), options)
    elapsed = time.monotonic() - started
    check(state, "jwk-remote-failed-to-load")
    assert elapsed < GENEROUS


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_body_that_trickles_in_is_cut_off_at_the_deadline(
    instance: LocalInstance, options: ClerkOptions, token: str, mode: str
) -> None:
    configure_backend(options, timeout=TIMEOUT)
    instance.inject("jwks", SlowBody(0.05))  # ~900 bytes would take 45 s
    started = time.monotonic()
    if mode == "sync":
        state = authenticate_request(bearer(token), options)
    else:
        state = asyncio.run(authenticate_request_async(bearer(token), options))
    elapsed = time.monotonic() - started
    check(state, "jwk-remote-failed-to-load")
    assert elapsed < GENEROUS


def test_waiting_threads_are_bounded_by_their_own_timeout(
    instance: LocalInstance, options: ClerkOptions, token: str
) -> None:
    configure_backend(options, timeout=TIMEOUT)
    instance.inject("jwks", Delay(30))
    barrier = threading.Barrier(20)
    states: list[RequestState] = []

    def work() -> None:
        barrier.wait()
        states.append(authenticate_request(bearer(token), options))

    started = time.monotonic()
    run_in_threads([work] * 20)
    elapsed = time.monotonic() - started
    assert {s.reason for s in states} == {"jwk-remote-failed-to-load"}
    assert instance.count("jwks") == 1
    assert elapsed < GENEROUS


# --- the policy alone ---------------------------------------------------------------------------


def test_policy_values_are_validated() -> None:
    from clerk_middleware.core import ConfigurationError

    with pytest.raises(ConfigurationError, match="ttl must be positive"):
        JwksPolicy(ttl=0)
    with pytest.raises(ConfigurationError, match="max_stale"):
        JwksPolicy(max_stale=-1)
    with pytest.raises(ConfigurationError, match="timeout"):
        BackendApi("https://api.clerk.com", "sk_test_x", timeout=0)


# --- other async libraries ------------------------------------------------------------------------


def test_the_async_path_runs_under_trio(
    instance: LocalInstance, options: ClerkOptions, token: str
) -> None:
    trio = pytest.importorskip("trio")
    instance.inject("jwks", Delay(0.2))
    states: list[RequestState] = []

    async def one() -> None:
        states.append(await authenticate_request_async(bearer(token), options))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(one)

    trio.run(main)
    assert {s.status for s in states} == {AuthStatus.SIGNED_IN}
    assert len(states) == 20
    assert instance.count("jwks") == 1


def test_the_timeout_holds_under_trio(
    instance: LocalInstance, options: ClerkOptions, token: str
) -> None:
    trio = pytest.importorskip("trio")
    configure_backend(options, timeout=TIMEOUT)
    instance.inject("jwks", Delay(30))
    started = time.monotonic()
    state = trio.run(authenticate_request_async, bearer(token), options)
    check(state, "jwk-remote-failed-to-load")
    assert time.monotonic() - started < GENEROUS


@pytest.mark.parametrize(
    ("header", "shown"),
    # (TestIssuer.sign drops a header field given as None: that is the "no kid" case.)
    [({"kid": 5}, "5"), ({"kid": [1, 2]}, "1,2"), ({"kid": None}, "undefined")],
)
def test_kid_mismatch_message_prints_the_kid_as_javascript_does(
    instance: LocalInstance,
    options: ClerkOptions,
    token: str,
    header: dict[str, object],
    shown: str,
) -> None:
    check(authenticate_request(bearer(token), options), None)  # keys are cached
    signer = instance.signer
    odd = signer.sign(signer.session_claims(), header=header)
    state = authenticate_request(bearer(odd), options)
    check(state, "jwk-kid-mismatch")
    assert f"kid='{shown}'" in (state.message or "")
