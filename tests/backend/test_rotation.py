"""Key rotation and the kid-miss cooldown: only kid-miss fetches start it.

A first fetch or a scheduled TTL refresh that finds its ``kid`` leaves the
cooldown alone, so a token signed with a key rotated just after it verifies at
once (one fetch); a fetch that says a ``kid`` is not listed starts it, so a
flood of forged ``kid``s costs at most one fetch per window.
"""

from __future__ import annotations

import asyncio
import secrets
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from clerk_middleware.core import (
    AuthStatus,
    ClerkOptions,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.core._backend import BackendApi, JwksFailure, JwksPolicy, KeySet
from clerk_middleware.testing import LocalInstance, Session

from ._support import FakeClock, bearer, run_in_threads

POLICY = JwksPolicy()  # ttl 300, kid_miss_cooldown 10, retry_after_failure 5
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
DOWN = JwksFailure("jwk-remote-failed-to-load", "Error loading Clerk JWKS from x with code=500")


# --- the policy alone -------------------------------------------------------------------------


def first_fetch(at: float = 0.0) -> KeySet:
    """The cache after a cold fetch made for the token of ``k1``, which it found."""
    return POLICY.after_fetch(KeySet(), {"k1": KEY}, at, cause="cold", kid="k1")


def test_fetch_causes() -> None:
    assert POLICY.fetch_cause(KeySet(), "k1", 0.0) == "cold"
    cache = first_fetch()
    assert POLICY.fetch_cause(cache, "k1", 1.0) is None
    assert POLICY.fetch_cause(cache, "k2", 1.0) == "kid-miss"
    assert POLICY.fetch_cause(cache, None, 1.0) == "kid-miss"
    assert POLICY.fetch_cause(cache, "k1", 300.0) == "expired"
    assert POLICY.fetch_cause(cache, "k2", 300.0) == "expired"  # due anyway


def test_a_first_fetch_that_finds_its_kid_starts_no_cooldown() -> None:
    cache = first_fetch()
    assert cache.kid_miss_at == -float("inf")
    assert POLICY.should_fetch(cache, "rotated", 0.001)


def test_a_ttl_refresh_that_finds_its_kid_starts_no_cooldown() -> None:
    cache = POLICY.after_fetch(first_fetch(), {"k1": KEY}, 300.0, cause="expired", kid="k1")
    assert cache.fetched_at == cache.attempted_at == 300.0
    assert POLICY.fetch_cause(cache, "rotated", 300.5) == "kid-miss"


def test_a_kid_miss_fetch_starts_the_cooldown_even_when_it_finds_the_key() -> None:
    cache = POLICY.after_fetch(
        first_fetch(), {"k1": KEY, "k2": KEY}, 50.0, cause="kid-miss", kid="k2"
    )
    assert cache.kid_miss_at == 50.0
    assert POLICY.answer(cache, "k2", 50.0) is KEY
    assert not POLICY.should_fetch(cache, "forged", 59.9)
    assert POLICY.should_fetch(cache, "forged", 60.0)


def test_a_fetch_due_anyway_that_leaves_its_kid_unknown_starts_the_cooldown() -> None:
    # A forged kid on a cold cache: the fetch has just said it is not listed.
    cold = POLICY.after_fetch(KeySet(), {"k1": KEY}, 0.0, cause="cold", kid="forged")
    assert cold.kid_miss_at == 0.0
    assert not POLICY.should_fetch(cold, "forged-2", 9.9)
    expired = POLICY.after_fetch(first_fetch(), {"k1": KEY}, 300.0, cause="expired", kid=None)
    assert expired.kid_miss_at == 300.0
    assert not POLICY.should_fetch(expired, "forged", 305.0)


def test_a_ttl_refresh_neither_resets_nor_extends_an_earlier_cooldown() -> None:
    policy = JwksPolicy(ttl=10.0, kid_miss_cooldown=15.0)
    cache = policy.after_fetch(KeySet(), {"k1": KEY}, 0.0, cause="cold", kid="k1")
    cache = policy.after_fetch(cache, {"k1": KEY}, 2.0, cause="kid-miss", kid="forged")
    cache = policy.after_fetch(cache, {"k1": KEY}, 12.0, cause="expired", kid="k1")
    assert cache.kid_miss_at == 2.0
    assert not policy.should_fetch(cache, "rotated", 16.9)
    assert policy.fetch_cause(cache, "rotated", 17.0) == "kid-miss"  # 15 s after the miss


def test_a_fetch_no_token_asked_for_starts_no_cooldown() -> None:
    cache = POLICY.after_fetch(KeySet(), {"k1": KEY}, 0.0)
    assert POLICY.should_fetch(cache, "k2", 0.0)


def test_failures_keep_the_retry_rule_and_a_failed_kid_miss_starts_the_cooldown() -> None:
    cache = POLICY.after_fetch(first_fetch(), DOWN, 100.0, cause="kid-miss", kid="k2")
    assert cache.kid_miss_at == 100.0
    assert not POLICY.should_fetch(cache, "k2", 104.9)  # retry_after_failure
    assert not POLICY.should_fetch(cache, "k2", 105.0)  # then the cooldown
    assert POLICY.should_fetch(cache, "k2", 110.0)
    # A failed TTL refresh for a cached kid is retried after 5 s, with no cooldown started.
    stale = POLICY.after_fetch(first_fetch(), DOWN, 300.0, cause="expired", kid="k1")
    assert stale.kid_miss_at == -float("inf")
    assert not POLICY.should_fetch(stale, "k1", 304.9)
    assert POLICY.fetch_cause(stale, "k1", 305.0) == "expired"
    assert POLICY.answer(stale, "k1", 305.0) is KEY  # stale while the API fails


# --- through the local instance ------------------------------------------------------------------


def forged(instance: LocalInstance) -> str:
    signer = instance.signer
    return signer.sign(signer.session_claims(), header={"kid": f"kid_{secrets.token_hex(6)}"})


def resolve(options: ClerkOptions, token: str, mode: str) -> RequestState:
    if mode == "sync":
        return authenticate_request(bearer(token), options)
    return asyncio.run(authenticate_request_async(bearer(token), options))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_key_rotated_right_after_a_ttl_refresh_verifies_at_once(
    *,
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    session: Session,
    mode: str,
) -> None:
    old = instance.session_token(session)
    assert resolve(options, old, mode).is_signed_in
    monotonic.advance(300)  # the TTL: the next request refreshes the key set
    assert resolve(options, old, mode).is_signed_in
    assert instance.count("jwks") == 2
    monotonic.advance(1)
    new_kid = instance.rotate_key(keep_old=True)
    new = instance.session_token(session)
    state = resolve(options, new, mode)
    assert state.status is AuthStatus.SIGNED_IN, (state.reason, state.message)
    assert instance.count("jwks") == 3  # exactly one extra fetch
    assert new_kid in backend.key_set.keys
    # That fetch was a kid-miss one: forged kids within its cooldown cost nothing more.
    for _ in range(50):
        monotonic.advance(0.1)
        assert resolve(options, forged(instance), mode).reason == "jwk-kid-mismatch"
    assert instance.count("jwks") == 3
    assert resolve(options, new, mode).is_signed_in
    assert resolve(options, old, mode).is_signed_in


def test_a_flood_of_forged_kids_after_a_ttl_refresh_costs_one_fetch(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    token: str,
) -> None:
    assert authenticate_request(bearer(token), options).is_signed_in
    monotonic.advance(300)
    assert authenticate_request(bearer(token), options).is_signed_in
    assert instance.count("jwks") == 2
    reasons: list[str | None] = []
    lock = threading.Lock()
    tokens = [forged(instance) for _ in range(120)]
    barrier = threading.Barrier(8)

    def flood(batch: list[str]) -> None:
        barrier.wait()
        for one in batch:
            state = authenticate_request(bearer(one), options)
            with lock:
                reasons.append(state.reason)

    run_in_threads([lambda i=i: flood(tokens[i::8]) for i in range(8)])  # type: ignore[misc]
    assert set(reasons) == {"jwk-kid-mismatch"} and len(reasons) == 120
    assert instance.count("jwks") == 3  # one kid-miss fetch, then the cooldown
    monotonic.advance(9.9)
    assert authenticate_request(bearer(forged(instance)), options).reason == "jwk-kid-mismatch"
    assert instance.count("jwks") == 3
    monotonic.advance(0.1)
    assert authenticate_request(bearer(forged(instance)), options).reason == "jwk-kid-mismatch"
    assert instance.count("jwks") == 4  # the next window allows one more


def test_concurrent_requests_with_a_rotated_key_share_the_one_fetch(
    instance: LocalInstance,
    options: ClerkOptions,
    backend: BackendApi,
    monotonic: FakeClock,
    session: Session,
) -> None:
    assert authenticate_request(bearer(instance.session_token(session)), options).is_signed_in
    monotonic.advance(300)
    assert authenticate_request(bearer(instance.session_token(session)), options).is_signed_in
    instance.rotate_key(keep_old=False)
    new = instance.session_token(session)
    barrier = threading.Barrier(30)
    states: list[RequestState] = []

    def work() -> None:
        barrier.wait()
        states.append(authenticate_request(bearer(new), options))

    run_in_threads([work] * 30)
    assert {s.status for s in states} == {AuthStatus.SIGNED_IN}
    assert instance.count("jwks") == 3


async def test_a_cold_flood_of_forged_kids_costs_the_first_fetch_only(
    instance: LocalInstance, options: ClerkOptions, backend: BackendApi
) -> None:
    # The cold fetch is made for a forged kid and leaves it unknown: that starts the cooldown.
    states = await asyncio.gather(
        *(authenticate_request_async(bearer(forged(instance)), options) for _ in range(100))
    )
    assert {s.reason for s in states} == {"jwk-kid-mismatch"}
    assert instance.count("jwks") == 1
