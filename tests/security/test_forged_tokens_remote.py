"""Key attacks against a JWKS served over HTTP (the local instance plays Clerk's Backend API).

With ``jwt_key`` the ``kid`` is ignored; with a remote JWKS it picks the key,
so here the ``kid`` is the attacker's lever: an unknown one must not verify,
must not make us trust the header's own key material (``jku``, ``x5u``,
``jwk``), and a flood of them must not turn into a flood of JWKS fetches.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator

import pytest

from clerk_middleware.core import (
    AuthRequest,
    AuthStatus,
    ClerkOptions,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.core._backend import JwksPolicy, configure_backend
from clerk_middleware.testing import TestIssuer
from clerk_middleware.testing._instance import LocalInstance

from ..conftest import NOW
from ._forge import unsigned

URL = "https://app.example.com/api/data"
API = {"sec-fetch-dest": "empty", "accept": "application/json"}


@pytest.fixture(scope="module")
def clerk() -> Iterator[LocalInstance]:
    with LocalInstance(TestIssuer(clock=lambda: NOW)) as instance:
        yield instance


@pytest.fixture(scope="module")
def attacker_site() -> Iterator[LocalInstance]:
    """A server the attacker controls; it must never be contacted."""
    with LocalInstance(TestIssuer(clock=lambda: NOW)) as instance:
        yield instance


@pytest.fixture
def options(clerk: LocalInstance) -> ClerkOptions:
    """Remote-JWKS options with a cold key cache of their own."""
    built = clerk.options()
    configure_backend(built, timeout=2.0)
    clerk.reset_counts()
    return built


def resolve(options: ClerkOptions, token: str) -> RequestState:
    request = AuthRequest("GET", URL, {**API, "authorization": f"Bearer {token}"})
    state = authenticate_request(request, options)
    assert asyncio.run(authenticate_request_async(request, options)) == state
    return state


def test_genuine_token_verifies_against_the_remote_jwks(
    clerk: LocalInstance, options: ClerkOptions
) -> None:
    assert resolve(options, clerk.signer.session_token()).status is AuthStatus.SIGNED_IN
    assert clerk.count("jwks") == 1


def test_kid_pointing_at_another_key_is_refused(
    clerk: LocalInstance, options: ClerkOptions, other_issuer: TestIssuer
) -> None:
    claims = clerk.signer.session_claims()
    unknown = other_issuer.sign(claims, header={"kid": "ins_attacker_key"})
    assert resolve(options, unknown).reason == "jwk-kid-mismatch"
    # The attacker names the instance's real kid but signs with their own key.
    impostor = other_issuer.sign(claims, header={"kid": clerk.signer.kid})
    assert resolve(options, impostor).reason == "token-invalid-signature"


@pytest.mark.parametrize("field", ["jku", "x5u", "jwk"])
def test_key_material_in_the_header_is_ignored_and_never_fetched(
    clerk: LocalInstance,
    attacker_site: LocalInstance,
    options: ClerkOptions,
    field: str,
) -> None:
    attacker = attacker_site.signer
    pointer: object = {
        "jku": f"{attacker_site.url}/v1/jwks",
        "x5u": f"{attacker_site.url}/cert.pem",
        "jwk": attacker.jwk(),
    }[field]
    claims = clerk.signer.session_claims()
    for kid in (clerk.signer.kid, attacker.kid + "_x", None):
        header: dict[str, object] = {field: pointer, "kid": kid}
        token = attacker.sign(claims, header=header)
        state = resolve(options, token)
        assert state.status is AuthStatus.SIGNED_OUT
        assert state.reason in ("token-invalid-signature", "jwk-kid-mismatch")
    assert attacker_site.counts() == {}


def test_alg_none_is_refused_with_or_without_a_known_kid(
    clerk: LocalInstance, options: ClerkOptions
) -> None:
    claims = clerk.signer.session_claims()
    with_kid = unsigned({"typ": "JWT", "kid": clerk.signer.kid}, claims)
    assert resolve(options, with_kid).reason == "token-invalid-algorithm"
    # Clerk resolves the key before it looks at alg: no kid, no key.
    without_kid = unsigned({"typ": "JWT"}, claims)
    assert resolve(options, without_kid).reason == "jwk-kid-mismatch"


def test_valid_token_of_another_instance_is_refused(
    options: ClerkOptions, other_issuer: TestIssuer
) -> None:
    # Same kid name (every TestIssuer starts at ins_test_key_1), another key.
    assert resolve(options, other_issuer.session_token()).reason == "token-invalid-signature"
    elsewhere = TestIssuer("clerk.elsewhere.example", kid="ins_elsewhere", clock=lambda: NOW)
    assert resolve(options, elsewhere.session_token()).reason == "jwk-kid-mismatch"


def test_a_flood_of_unknown_kids_costs_one_jwks_fetch(
    clerk: LocalInstance, options: ClerkOptions, other_issuer: TestIssuer
) -> None:
    # Each forged kid is a cache miss; fetching the JWKS per miss would let anyone
    # make us hammer Clerk's API (and get rate-limited). Clerk's own SDK does
    # refetch per miss; our policy allows one attempt per cooldown window.
    configure_backend(options, timeout=2.0, policy=JwksPolicy(kid_miss_cooldown=60.0))
    claims = clerk.signer.session_claims()
    tokens = [
        other_issuer.sign(claims, header={"kid": f"kid_{secrets.token_hex(6)}"})
        for _ in range(60)
    ]
    reasons: list[str | None] = []
    lock = threading.Lock()

    def sync_worker(batch: list[str]) -> None:
        for token in batch:
            state = resolve_sync(options, token)
            with lock:
                reasons.append(state.reason)

    async def async_burst(batch: list[str]) -> list[RequestState]:
        return await asyncio.gather(*(resolve_async(options, t) for t in batch))

    threads = [threading.Thread(target=sync_worker, args=(tokens[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    states = asyncio.run(async_burst(tokens))
    for thread in threads:
        thread.join()
    reasons += [state.reason for state in states]
    assert set(reasons) == {"jwk-kid-mismatch"}
    assert clerk.count("jwks") == 1
    # The cache is not poisoned: the real token still verifies, without a new fetch.
    assert resolve(options, clerk.signer.session_token()).status is AuthStatus.SIGNED_IN
    assert clerk.count("jwks") == 1


def resolve_sync(options: ClerkOptions, token: str) -> RequestState:
    request = AuthRequest("GET", URL, {**API, "authorization": f"Bearer {token}"})
    return authenticate_request(request, options)


async def resolve_async(options: ClerkOptions, token: str) -> RequestState:
    request = AuthRequest("GET", URL, {**API, "authorization": f"Bearer {token}"})
    return await authenticate_request_async(request, options)
