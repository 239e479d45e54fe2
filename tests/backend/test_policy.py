"""``JwksPolicy`` alone: pure decisions over ``KeySet`` values, no I/O."""

from __future__ import annotations

import math

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from clerk_middleware.core import TokenVerificationError
from clerk_middleware.core._backend import MAX_KEYS, JwksFailure, JwksPolicy, KeySet

POLICY = JwksPolicy()
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
DOWN = JwksFailure("jwk-remote-failed-to-load", "Error loading Clerk JWKS from x with code=500")
INVALID = JwksFailure("secret-key-invalid", "The provided Clerk Secret Key is invalid.")


def fetched(at: float, *kids: str) -> KeySet:
    """The cache after a fetch no token asked for (no cooldown started)."""
    return POLICY.after_fetch(KeySet(), dict.fromkeys(kids or ("k1",), KEY), at)


def missed(at: float) -> KeySet:
    """The cache after a first fetch at 0 and a kid-miss fetch for ``k2`` at ``at``."""
    cache = fetched(0.0)
    return POLICY.after_fetch(cache, {"k1": KEY}, at, cause="kid-miss", kid="k2")


def test_a_cold_cache_fetches() -> None:
    assert POLICY.should_fetch(KeySet(), "k1", 0.0)
    with pytest.raises(TokenVerificationError) as error:
        POLICY.answer(KeySet(), "k1", 0.0)
    assert error.value.reason == "jwk-remote-failed-to-load"
    assert error.value.message == "Failed to load JWKS from Clerk Backend or Frontend API."


@pytest.mark.parametrize(
    ("now", "kid", "fetch"),
    [
        (100.0, "k1", False),  # fresh
        (399.9, "k1", False),
        (400.0, "k1", True),  # ttl reached
        (105.0, "k2", False),  # unknown kid, inside the cooldown
        (105.0, "k3", False),  # any unknown kid: the cooldown is not per kid
        (105.0, None, False),  # no kid at all counts as unknown
        (110.0, "k2", True),  # unknown kid, cooldown over
        (110.0, None, True),
    ],
)
def test_freshness_and_kid_miss_cooldown(now: float, kid: str | None, fetch: bool) -> None:
    assert POLICY.should_fetch(missed(100.0), kid, now) is fetch


def test_a_failure_is_not_retried_for_a_while_and_keeps_the_keys() -> None:
    cache = POLICY.after_fetch(fetched(0.0), DOWN, 300.0)
    assert cache.keys and cache.fetches == 2
    assert not POLICY.should_fetch(cache, "k1", 304.9)
    assert POLICY.should_fetch(cache, "k1", 305.0)
    assert POLICY.answer(cache, "k1", 304.0) is KEY  # stale within bounds
    with pytest.raises(TokenVerificationError) as error:
        POLICY.answer(cache, "k2", 304.0)  # an unknown kid gets the outage's reason
    assert error.value.reason == "jwk-remote-failed-to-load"


def test_stale_keys_expire_after_max_stale() -> None:
    cache = POLICY.after_fetch(fetched(0.0), DOWN, 300.0)
    assert POLICY.usable(cache, 3899.0)
    assert not POLICY.usable(cache, 3900.0)
    with pytest.raises(TokenVerificationError) as error:
        POLICY.answer(cache, "k1", 3900.0)
    assert error.value.message.endswith("code=500")


def test_secret_key_invalid_stops_stale_serving() -> None:
    cache = POLICY.after_fetch(fetched(0.0), INVALID, 300.0)
    assert not POLICY.can_answer(cache, "k1", 301.0)
    with pytest.raises(TokenVerificationError) as error:
        POLICY.answer(cache, "k1", 301.0)
    assert error.value.reason == "secret-key-invalid"


def test_each_answer_is_a_fresh_exception() -> None:
    cache = POLICY.after_fetch(KeySet(), DOWN, 0.0)
    errors = []
    for _ in range(2):
        with pytest.raises(TokenVerificationError) as error:
            POLICY.answer(cache, "k1", 1.0)
        errors.append(error.value)
    assert errors[0] is not errors[1]


def test_kid_mismatch_message_is_clerks() -> None:
    with pytest.raises(TokenVerificationError) as error:
        POLICY.answer(fetched(0.0), None, 1.0)
    assert error.value.reason == "jwk-kid-mismatch"
    assert "kid='undefined'" in error.value.message  # as JavaScript prints a missing kid
    assert error.value.action == (
        "Go to your Dashboard and validate your secret and public keys are correct. "
        "Contact support@clerk.com if the issue persists."
    )


def test_removed_keys_are_trusted_for_one_ttl_after_they_were_last_listed() -> None:
    cache = fetched(0.0, "old")
    cache = POLICY.after_fetch(cache, {"new": KEY}, 250.0)
    assert set(cache.keys) == {"old", "new"}
    cache = POLICY.after_fetch(cache, {"new": KEY}, 300.0)
    assert set(cache.keys) == {"new"}


def test_the_key_set_is_bounded() -> None:
    cache = KeySet()
    for index in range(3 * MAX_KEYS):
        cache = POLICY.after_fetch(cache, {f"k{index}": KEY}, float(index))
    assert len(cache.keys) == MAX_KEYS
    assert f"k{3 * MAX_KEYS - 1}" in cache.keys  # the newest survive


def test_a_zero_cooldown_policy_refetches_on_every_miss() -> None:
    eager = JwksPolicy(kid_miss_cooldown=0)
    assert eager.should_fetch(fetched(0.0), "k2", 0.0)
    assert KeySet().fetched_at == -math.inf
