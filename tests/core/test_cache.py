"""The verified-token cache and the cookie memo: a hit never answers what a miss would not.

Every test here compares the cached answer with the answer of a cold process
(caches emptied), or pins the rule the cache must keep: only verified tokens
are stored, an entry counts only for the key object that verified it, the
clock and the options are consulted on every hit, and the bound holds.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from clerk_middleware.core import (
    AuthRequest,
    AuthStatus,
    ClerkOptions,
    RequestState,
    _request,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.core._backend import configure_backend, reset_backends
from clerk_middleware.core._cache import (
    GenerationalCache,
    VerifiedTokenCache,
    verified_tokens,
)
from clerk_middleware.core._jwt import DecodedJwt, decode_jwt
from clerk_middleware.testing import OrgClaims, TestIssuer

from ..conftest import NOW
from ._support import Clock, Jwks, clear_caches

URL = "https://app.example.com/dashboard"
APP = "https://app.example.com"
API = {"sec-fetch-dest": "empty", "accept": "application/json"}
PAGE = {"sec-fetch-dest": "document", "accept": "text/html"}


@pytest.fixture(autouse=True)
def _cold_caches() -> Iterator[None]:
    clear_caches()
    yield
    clear_caches()


def bearer(token: str) -> dict[str, str]:
    return {**API, "authorization": f"Bearer {token}"}


def cookie(token: str, *, uat: int = int(NOW) - 100, suffix: str | None = None) -> dict[str, str]:
    parts = ["_ga=GA1.1.1", f"__client_uat={uat}", f"__session={token}", "theme=dark"]
    if suffix is not None:
        parts += [f"__client_uat_{suffix}={uat}", f"__session_{suffix}={token}"]
    return {**PAGE, "cookie": "; ".join(parts)}


def run(options: ClerkOptions, headers: Mapping[str, str], url: str = URL) -> RequestState:
    state = authenticate_request(AuthRequest("GET", url, dict(headers)), options)
    # The async driver shares the flow and the caches: it must agree, hit or miss.
    again = AuthRequest("GET", url, dict(headers))
    assert asyncio.run(authenticate_request_async(again, options)) == state
    return state


def cold(options: ClerkOptions, headers: Mapping[str, str], url: str = URL) -> RequestState:
    """The answer of a process that never saw this token or header."""
    saved_tokens = (verified_tokens._entries._young, verified_tokens._entries._old)
    saved_cookies = (_request._cookie_memo._young, _request._cookie_memo._old)
    clear_caches()
    try:
        return authenticate_request(AuthRequest("GET", url, dict(headers)), options)
    finally:
        verified_tokens._entries._young, verified_tokens._entries._old = saved_tokens
        _request._cookie_memo._young, _request._cookie_memo._old = saved_cookies


def org_token(issuer: TestIssuer, **kwargs: Any) -> str:
    org = OrgClaims(
        id="org_1",
        slug="acme",
        role="admin",
        permissions=("read", "manage"),
        feature_permission_map=(3,),
    )
    return issuer.session_token(org=org, features="o:dashboard", azp=APP, **kwargs)


# --- a hit answers as a miss ------------------------------------------------------------------


@pytest.mark.parametrize("carrier", ["cookie", "bearer"])
def test_a_hit_returns_the_same_state_as_a_miss(prod_issuer: TestIssuer, carrier: str) -> None:
    options = prod_issuer.options(authorized_parties=[APP])
    token = org_token(prod_issuer)
    headers = cookie(token) if carrier == "cookie" else bearer(token)
    first = run(options, headers)
    assert first.status is AuthStatus.SIGNED_IN
    assert token in verified_tokens
    second = run(options, headers)
    assert second == first == cold(options, headers)
    assert second.to_auth() == first.to_auth()


def test_claims_handed_out_are_copies_the_app_cannot_poison(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    token = org_token(prod_issuer, fva=[5, -1])
    expected = cold(options, bearer(token))
    previous = None
    for _ in range(3):  # a miss, then hits
        state = run(options, bearer(token))
        assert state == expected
        assert state.claims is not None and state.claims is not previous
        # An app that scribbles on its claims changes nothing for the next request.
        claims: Any = state.claims
        claims["sub"] = "user_evil"
        claims["exp"] = 10**12
        claims["o"]["rol"] = "owner"
        claims["o"]["id"] = "org_evil"
        claims["fva"][0] = 0
        claims["o"] = {"id": "org_evil", "rol": "owner"}
        previous = state.claims


def test_only_tokens_that_passed_every_check_are_stored(
    prod_issuer: TestIssuer, other_issuer: TestIssuer
) -> None:
    options = prod_issuer.options(authorized_parties=[APP])
    good = org_token(prod_issuer)
    forged = other_issuer.session_token(azp=APP, extra={"iss": prod_issuer.issuer})
    expired = prod_issuer.expired_token(azp=APP)
    wrong_party = prod_issuer.session_token(azp="https://evil.example")
    for token in (forged, expired, wrong_party, good[:-4] + "AAAA"):
        assert not run(options, bearer(token)).is_signed_in
        assert token not in verified_tokens
    assert run(options, bearer(good)).is_signed_in
    assert len(verified_tokens) == 1


def test_a_token_longer_than_the_limit_is_verified_every_time(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    token = prod_issuer.session_token(extra={"pad": "x" * verified_tokens.max_token_length})
    assert run(options, bearer(token)).is_signed_in
    assert token not in verified_tokens


# --- the clock on every hit ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("move_to", "reason"),
    [
        # 60 s lifetime and 5 s of skew: one second past both is expired.
        (NOW + 66, "session-token-expired-refresh-non-eligible-no-refresh-cookie"),
        # nbf is NOW - 10: a clock set back beyond it and the skew.
        (NOW - 16, "session-token-nbf"),
        # iat is NOW: a clock set back beyond the skew.
        (NOW - 6, "session-token-iat-in-the-future"),
    ],
)
@pytest.mark.parametrize("carrier", ["cookie", "bearer"])
def test_time_claims_are_checked_on_every_hit(carrier: str, move_to: float, reason: str) -> None:
    clock = Clock()
    issuer = TestIssuer("clerk.example.com", production=True, clock=clock)
    options = issuer.options()
    token = issuer.session_token()
    carried = cookie(token) if carrier == "cookie" else bearer(token)
    headers = {**carried, **API}
    assert run(options, headers).is_signed_in
    assert token in verified_tokens
    clock.now = move_to
    state = run(options, headers)
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, reason)
    assert state == cold(options, headers)
    clock.now = NOW  # and back: the entry is still good
    assert run(options, headers).is_signed_in


def test_the_skew_of_the_call_applies_on_a_hit() -> None:
    clock = Clock()
    issuer = TestIssuer("clerk.example.com", production=True, clock=clock)
    options = issuer.options()
    token = issuer.session_token()
    assert run(options, bearer(token)).is_signed_in
    clock.now = NOW + 63  # expired 3 s ago: inside 5 s of skew
    assert run(options, bearer(token)).is_signed_in
    strict = options.__class__(**{**_init_fields(options), "clock_skew_in_ms": 1000})
    state = run(strict, bearer(token))
    assert state.reason == "session-token-expired-refresh-non-eligible-no-refresh-cookie"
    assert state == cold(strict, bearer(token))


def _init_fields(options: ClerkOptions) -> dict[str, Any]:
    return {
        name: getattr(options, name)
        for name in options.__dataclass_fields__
        if options.__dataclass_fields__[name].init
    }


# --- the key that verified it ----------------------------------------------------------------


def test_a_token_verified_under_one_jwt_key_is_not_accepted_under_another(
    prod_issuer: TestIssuer,
) -> None:
    token = prod_issuer.session_token()
    assert run(prod_issuer.options(), bearer(token)).is_signed_in
    # Same instance, rotated key: the very same token must fail the signature check.
    rotated = TestIssuer("clerk.example.com", production=True, clock=prod_issuer.clock)
    options = prod_issuer.options(jwt_key=rotated.jwt_key)
    state = run(options, bearer(token))
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, "token-invalid-signature")
    assert state == cold(options, bearer(token))
    # And back under the original key it is still good (re-verified, not trusted blindly).
    assert run(prod_issuer.options(), bearer(token)).is_signed_in


def test_an_entry_counts_only_for_the_key_object_that_verified_it(
    prod_issuer: TestIssuer,
) -> None:
    token = prod_issuer.session_token()
    options = prod_issuer.options()
    assert run(options, bearer(token)).is_signed_in
    assert options.public_key is not None
    assert verified_tokens.lookup(token, options.public_key) is not None
    again = prod_issuer.options()  # equal PEM, another key object
    assert again.public_key is not None
    assert verified_tokens.lookup(token, again.public_key) is None


@pytest.fixture
def backend() -> Iterator[None]:
    reset_backends()
    yield
    reset_backends()


@pytest.mark.usefixtures("backend")
def test_a_new_key_set_is_never_answered_from_entries_of_the_old_one(
    prod_issuer: TestIssuer,
) -> None:
    options = prod_issuer.options(networkless=False)
    jwks = Jwks(prod_issuer)
    configure_backend(options, transport=httpx.MockTransport(jwks.handler))
    token = prod_issuer.session_token()
    assert authenticate_request(AuthRequest("GET", URL, bearer(token)), options).is_signed_in
    assert token in verified_tokens
    # The instance rotates its key under the same kid; a fresh key set is loaded.
    rotated = TestIssuer(
        "clerk.example.com", production=True, clock=prod_issuer.clock, kid=prod_issuer.kid
    )
    jwks.serve(rotated)
    configure_backend(options, transport=httpx.MockTransport(jwks.handler))
    state = authenticate_request(AuthRequest("GET", URL, bearer(token)), options)
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, "token-invalid-signature")
    assert authenticate_request(
        AuthRequest("GET", URL, bearer(rotated.session_token())), options
    ).is_signed_in


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"authorized_parties": ["https://other.example"]}, "token-invalid-authorized-parties"),
        ({"audience": ["https://api.other"]}, "token-verification-failed"),
        ({"issuer": "https://elsewhere.example"}, "token-invalid-issuer"),
        ({"issuer": lambda iss: iss.endswith(".elsewhere")}, "token-invalid-issuer"),
    ],
)
def test_azp_aud_and_iss_are_checked_against_the_options_of_each_call(
    prod_issuer: TestIssuer, overrides: dict[str, Any], reason: str
) -> None:
    # With JWKS keys, options that differ only in these checks share key objects,
    # so one app's entry is found by the other: the claims must be checked again.
    lenient = prod_issuer.options(networkless=False, authorized_parties=[APP])
    strict = prod_issuer.options(networkless=False, **overrides)
    configure_backend(lenient, transport=httpx.MockTransport(Jwks(prod_issuer).handler))
    token = prod_issuer.session_token(azp=APP, extra={"aud": "https://api.example"})
    assert authenticate_request(AuthRequest("GET", URL, bearer(token)), lenient).is_signed_in
    state = authenticate_request(AuthRequest("GET", URL, bearer(token)), strict)
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, reason)
    assert authenticate_request(AuthRequest("GET", URL, bearer(token)), lenient).is_signed_in


# --- the cookie memo --------------------------------------------------------------------------


def test_only_headers_that_carried_a_verified_session_are_remembered(
    prod_issuer: TestIssuer, other_issuer: TestIssuer
) -> None:
    options = prod_issuer.options()
    junk = {**PAGE, "cookie": "a=1; b=2; __client_uat=5"}
    forged = cookie(other_issuer.session_token(extra={"iss": prod_issuer.issuer}))
    for headers in (junk, forged):
        run(options, headers)
        assert _request.remembered_cookies(headers["cookie"]) is None
    good = cookie(prod_issuer.session_token())
    run(options, good)
    assert _request.remembered_cookies(good["cookie"]) is not None


def test_a_remembered_header_answers_for_another_instance_as_a_cold_one_does() -> None:
    first = TestIssuer("clerk.first.example", production=True, clock=lambda: NOW)
    second = TestIssuer("clerk.second.example", production=True, clock=lambda: NOW)
    token = first.session_token()
    # Both instances' cookie sets in one header, as on a shared parent domain.
    suffix_a = first.options().cookie_suffix
    suffix_b = second.options().cookie_suffix
    other = second.session_token()
    header = {
        **PAGE,
        "cookie": f"__client_uat={int(NOW) - 9}; __session={token}; "
        f"__client_uat_{suffix_a}={int(NOW) - 9}; __session_{suffix_a}={token}; "
        f"__client_uat_{suffix_b}={int(NOW) - 9}; __session_{suffix_b}={other}",
    }
    for options in (first.options(), second.options(), first.options()):
        assert run(options, header) == cold(options, header)
        assert run(options, header).is_signed_in


def test_a_development_instance_never_reuses_cookie_facts_across_time() -> None:
    clock = Clock()
    issuer = TestIssuer(clock=clock)
    options = issuer.options()
    suffix = options.cookie_suffix
    suffixed = issuer.session_token(lifetime=30)
    plain = issuer.session_token("user_other", lifetime=3600)
    header = {
        **PAGE,
        "cookie": f"__clerk_db_jwt=dvb_1; __client_uat=0; __session={plain}; "
        f"__clerk_db_jwt_{suffix}=dvb_1; __client_uat_{suffix}={int(NOW) - 9}; "
        f"__session_{suffix}={suffixed}",
    }
    # Now the suffixed set is chosen (and signs in); once its token expired, the
    # other set is, which has no client_uat.
    for now, status in ((NOW, "signed-in"), (NOW + 40, "handshake"), (NOW, "signed-in")):
        clock.now = now
        state = run(options, header)
        assert state == cold(options, header)
        assert state.status == status


# --- the bound and concurrency ----------------------------------------------------------------


def test_the_generational_cache_holds_at_most_its_bound_and_keeps_what_is_used() -> None:
    cache: GenerationalCache[str, int] = GenerationalCache(8)
    for n in range(1000):
        cache.put(f"k{n}", n)
        if n == 10:
            cache.put("hot", -1)
        if n > 10:
            assert cache.get("hot") == -1
        assert len(cache) <= 8
    assert cache.get("k0") is None
    with pytest.raises(ValueError, match="at least 2"):
        GenerationalCache(1)


def named(jwt: DecodedJwt, raw: str) -> DecodedJwt:
    """The same decoded token stored under another text (the cache keys on ``raw``)."""
    return DecodedJwt(jwt.header, jwt.payload, jwt.signature, jwt.signing_input, raw)


def test_the_token_cache_respects_its_bound(prod_issuer: TestIssuer) -> None:
    key = prod_issuer.options().public_key
    assert key is not None
    cache = VerifiedTokenCache(max_entries=16)
    jwt = decode_jwt(prod_issuer.session_token())
    for n in range(500):
        cache.add(named(jwt, f"{jwt.raw}#{n}"), key)
        assert len(cache) <= 16
    assert len(cache) >= 8
    assert f"{jwt.raw}#499" in cache
    assert f"{jwt.raw}#0" not in cache


def test_concurrent_threads_get_the_answers_of_a_cold_process(
    prod_issuer: TestIssuer, other_issuer: TestIssuer
) -> None:
    options = prod_issuer.options(authorized_parties=[APP])
    tokens = [org_token(prod_issuer, session_id=f"sess_{n}") for n in range(6)]
    bad = [
        prod_issuer.expired_token(azp=APP),
        other_issuer.session_token(azp=APP),
        prod_issuer.session_token(azp="https://evil.example"),
        "not.a.token",
    ]
    cases = [cookie(t) for t in tokens + bad] + [bearer(t) for t in tokens + bad]
    expected = [cold(options, headers) for headers in cases]
    # A tiny cache so that eviction races with lookups all the time.
    small = VerifiedTokenCache(max_entries=4)
    saved = verified_tokens._entries
    verified_tokens._entries = small._entries
    errors: list[str] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - picks test cases, guards nothing
        for _ in range(150):
            index = rng.randrange(len(cases))
            state = authenticate_request(AuthRequest("GET", URL, cases[index]), options)
            if state != expected[index]:
                errors.append(f"case {index}: {state.reason} != {expected[index].reason}")

    try:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        verified_tokens._entries = saved
    assert errors == []
    assert len(small) <= 4 + 8  # the bound, plus at most one racing insert per thread


async def test_concurrent_tasks_get_the_answers_of_a_cold_process(
    prod_issuer: TestIssuer, other_issuer: TestIssuer
) -> None:
    options = prod_issuer.options()
    good = [prod_issuer.session_token(session_id=f"sess_{n}") for n in range(4)]
    bad = [other_issuer.session_token(), prod_issuer.expired_token()]
    cases = [bearer(t) for t in good + bad] * 10
    random.Random(1).shuffle(cases)  # noqa: S311 - test case order
    expected = [cold(options, headers) for headers in cases]

    async def one(headers: Mapping[str, str]) -> RequestState:
        await asyncio.sleep(0)
        return await authenticate_request_async(AuthRequest("GET", URL, dict(headers)), options)

    assert await asyncio.gather(*(one(h) for h in cases)) == expected


def test_thread_safety_of_the_cache_itself(prod_issuer: TestIssuer) -> None:
    key = prod_issuer.options().public_key
    assert key is not None
    base = decode_jwt(prod_issuer.session_token())
    cache = VerifiedTokenCache(max_entries=32)
    mismatches: list[str] = []

    def worker(offset: int) -> None:
        for n in range(2000):
            name = f"token-{(n * 7 + offset) % 100}"
            entry = cache.lookup(name, key)
            if entry is not None and entry.jwt.raw != name:
                mismatches.append(name)
            if entry is None:
                cache.add(named(base, name), key)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mismatches == []
    assert len(cache) <= 32 + 6
