"""Decisions answered without the flow: the anonymous shortcut and the decision memo.

Every answer here is compared with the full flow run on the same request and
options (``full``: no shortcut, nothing remembered), or pins a rule the memo
must keep: only plain signed-in answers are remembered, every input the flow
read is in the key, and the clock, the key and the token cache are consulted on
every hit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clerk_middleware.core import (
    AuthRequest,
    AuthStatus,
    ClerkOptions,
    OrganizationSyncOptions,
    RequestState,
    authenticate_request,
    authenticate_request_async,
)
from clerk_middleware.core._authenticate import run_flow_sync, start_flow
from clerk_middleware.core._backend import backend_for, configure_backend, reset_backends
from clerk_middleware.core._cache import DECISION_ENTRIES, DecisionMemo, verified_tokens
from clerk_middleware.testing import OrgClaims, TestIssuer

from ..conftest import NOW
from ._support import Clock, Jwks, clear_caches

APP = "https://app.example.com"
URL = f"{APP}/dashboard?tab=1"
PAGE = {"sec-fetch-dest": "document", "accept": "text/html", "host": "app.example.com"}
API = {"sec-fetch-dest": "empty", "accept": "application/json", "host": "app.example.com"}


@pytest.fixture(autouse=True)
def _cold() -> Iterator[None]:
    clear_caches()
    reset_backends()
    yield
    clear_caches()
    reset_backends()


def full(options: ClerkOptions, headers: Mapping[str, str], url: str = URL) -> RequestState:
    """The flow itself: no shortcut taken, nothing remembered."""
    flow = start_flow(AuthRequest("GET", url, dict(headers)), options)
    if isinstance(flow, RequestState):
        return flow
    return run_flow_sync(flow, backend_for(options).perform)


def ours(options: ClerkOptions, headers: Mapping[str, str], url: str = URL) -> RequestState:
    """``authenticate_request``, checked against its async twin on a second request."""
    state = authenticate_request(AuthRequest("GET", url, dict(headers)), options)
    again = asyncio.run(authenticate_request_async(AuthRequest("GET", url, dict(headers)), options))
    assert again == state
    return state


def cookies(token: str, uat: int = int(NOW) - 100, extra: str = "_ga=GA1.1.1") -> str:
    return f"{extra}; __client_uat={uat}; __session={token}; theme=dark"


def org_token(issuer: TestIssuer, **kwargs: object) -> str:
    org = OrgClaims(id="org_1", slug="acme", role="admin", permissions=("read",))
    return issuer.session_token(org=org, azp=APP, **kwargs)  # type: ignore[arg-type]


def memo_of(options: ClerkOptions) -> DecisionMemo:
    assert options.decision_memo is not None
    return options.decision_memo


# --- which instances have a memo ----------------------------------------------------------------


def test_only_instances_whose_decisions_fit_the_key_have_a_memo(
    prod_issuer: TestIssuer, issuer: TestIssuer
) -> None:
    assert prod_issuer.options().decision_memo is not None
    assert prod_issuer.options(audience="api", issuer="https://x").decision_memo is not None
    assert issuer.options().decision_memo is None  # development: the clock picks cookies
    satellite = prod_issuer.options(is_satellite=True, domain="sat.example.com")
    assert satellite.decision_memo is None
    sync = OrganizationSyncOptions(organization_patterns=("/orgs/:slug",))
    assert prod_issuer.options(organization_sync_options=sync).decision_memo is None
    assert prod_issuer.options(issuer=lambda iss: True).decision_memo is None
    # Every options object has its own: a decision never crosses configurations.
    assert prod_issuer.options().decision_memo is not prod_issuer.options().decision_memo


# --- the anonymous shortcut -------------------------------------------------------------------


_NAME = st.sampled_from(
    [
        "_ga",
        "theme",
        "__session",
        "__session_abc",
        "__Session",
        "_session",
        "__client_uat",
        "__client_uat_abc",
        "__client",
        "__clerk_handshake",
        "__clerk_handshake_nonce",
        "__clerk_db_jwt",
        "__clerk_redirect_count",
        "__refresh_abc",
        "session",
        " __session",
        "__session ",
    ]
)
_VALUE = st.sampled_from(["", "0", "1", "1789999900", "x", "%5F", "a.b.c", '"q"'])
_COOKIE = st.lists(st.tuples(_NAME, _VALUE), max_size=5).map(
    lambda pairs: "; ".join(f"{n}={v}" for n, v in pairs)
)


@settings(max_examples=300, deadline=None)
@given(
    cookie=_COOKIE,
    authorization=st.sampled_from([None, "", "Basic abc", "Bearer", "Bearer x.y.z", "Token"]),
    dest=st.sampled_from([None, "document", "empty"]),
    url=st.sampled_from(
        [
            URL,
            f"{APP}/?__clerk_synced=true",
            f"{APP}/?__clerk_handshake_nonce=abc",
            "https://[bad/",
            f"{APP}/a\tb",
        ]
    ),
)
def test_every_request_gets_the_answer_of_the_flow(
    prod_issuer: TestIssuer, cookie: str, authorization: str | None, dest: str | None, url: str
) -> None:
    options = prod_issuer.options(authorized_parties=[APP])
    # A nonce cookie makes the flow ask the Backend API: it answers 503 here.
    down = httpx.MockTransport(lambda request: httpx.Response(503))
    configure_backend(options, transport=down, async_transport=down)
    headers = {"host": "app.example.com", "cookie": cookie}
    if authorization is not None:
        headers["authorization"] = authorization
    if dest is not None:
        headers["sec-fetch-dest"] = dest
    expected = full(options, headers, url)
    assert ours(options, headers, url) == expected
    assert ours(options, headers, url) == expected  # and again, with whatever was remembered


def test_a_request_without_clerk_cookies_is_answered_without_the_flow(
    prod_issuer: TestIssuer,
) -> None:
    options = prod_issuer.options()
    headers = {**PAGE, "cookie": "_ga=1; theme=dark"}
    state = ours(options, headers)
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, "session-token-and-uat-missing")
    assert state == full(options, headers)
    assert len(memo_of(options)) == 0  # answered by rule, nothing remembered
    # The flow builds a new state each time; the rule hands out one shared, immutable one.
    other = {**API, "cookie": "theme=light"}
    assert ours(options, other) is state
    assert full(options, other) is not state


# --- the decision memo: what it remembers ---------------------------------------------------------


@pytest.mark.parametrize("carrier", ["cookie", "bearer"])
def test_a_repeated_signed_in_request_is_remembered_and_answered_alike(
    prod_issuer: TestIssuer, carrier: str
) -> None:
    options = prod_issuer.options(authorized_parties=[APP])
    token = org_token(prod_issuer)
    headers = (
        {**PAGE, "cookie": cookies(token), "referer": f"{APP}/"}
        if carrier == "cookie"
        else {**API, "authorization": f"Bearer {token}"}
    )
    first = ours(options, headers)
    assert first.is_signed_in
    assert len(memo_of(options)) == 1
    second = ours(options, headers)
    assert second == first == full(options, headers)
    assert second.to_auth() == first.to_auth()
    assert second.to_auth(treat_pending_as_signed_out=False) == first.to_auth(
        treat_pending_as_signed_out=False
    )


def test_a_remembered_pending_session_is_still_pending(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    headers = {**PAGE, "cookie": cookies(prod_issuer.pending_token())}
    for _ in range(3):
        auth = ours(options, headers).to_auth()
        assert auth is not None
        assert (auth.user_id, auth.session_status) == (None, "pending")


def test_each_hit_gets_its_own_claims(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    headers = {**API, "cookie": cookies(org_token(prod_issuer))}
    for _ in range(3):  # a miss, then hits: every answer is the app's own to change
        state = ours(options, headers)
        assert state.claims is not None
        assert (state.claims["sub"], state.claims["o"]["rol"]) == ("user_2abc", "admin")
        state.claims["sub"] = "user_evil"  # type: ignore[index]
        state.claims["o"]["rol"] = "owner"


def test_signed_out_and_handshake_answers_are_never_remembered(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    for headers in (
        {**PAGE, "cookie": cookies(prod_issuer.expired_token())},  # handshake
        {**API, "cookie": cookies(prod_issuer.expired_token())},  # signed out
        {**PAGE, "cookie": cookies("not.a.jwt")},
        {**PAGE, "cookie": f"__client_uat={int(NOW) - 100}"},
        {**PAGE, "cookie": cookies(prod_issuer.session_token(), uat=int(NOW) + 100)},
        {**API, "authorization": "Bearer forged.token.here"},
    ):
        assert not ours(options, headers).is_signed_in
    assert len(memo_of(options)) == 0


def test_a_request_carrying_a_handshake_is_resolved_every_time(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    token = prod_issuer.session_token()
    # A handshake cookie that does not resolve, beside a good session: signed in,
    # but the handshake is attempted on every request, so nothing is remembered.
    headers = {**API, "cookie": cookies(token, extra="__clerk_handshake=broken")}
    assert ours(options, headers) == full(options, headers)
    assert len(memo_of(options)) == 0


# --- the key holds everything the answer rests on -----------------------------------------------


def test_a_cross_origin_document_request_is_not_answered_from_a_same_origin_one(
    prod_issuer: TestIssuer,
) -> None:
    options = prod_issuer.options()
    session = cookies(prod_issuer.session_token())
    same = {**PAGE, "cookie": session, "referer": f"{APP}/home"}
    assert ours(options, same).is_signed_in
    cross = {**PAGE, "cookie": session, "referer": "https://satellite.example.org/"}
    state = ours(options, cross)
    assert state.status is AuthStatus.HANDSHAKE
    assert state.reason == "primary-domain-cross-origin-sync"
    assert state == full(options, cross)
    # The Referer of a non-document request is not read: one remembered answer serves all.
    api = {**API, "cookie": session}
    assert ours(options, {**api, "referer": "https://a.example/"}).is_signed_in
    assert ours(options, {**api, "referer": "https://b.example/"}).is_signed_in


@pytest.mark.parametrize(
    "variant",
    [
        {"host": "evil.example.com"},
        {"x-forwarded-host": "evil.example.com"},
        {"x-forwarded-proto": "http"},
    ],
)
def test_the_origin_clerk_sees_is_part_of_the_key(
    prod_issuer: TestIssuer, variant: dict[str, str]
) -> None:
    options = prod_issuer.options()
    session = cookies(prod_issuer.session_token())
    referrer = {"referer": f"{APP}/home"}
    assert ours(options, {**PAGE, **referrer, "cookie": session}).is_signed_in
    headers = {**PAGE, **referrer, "cookie": session, **variant}
    state = ours(options, headers)
    # Seen from another origin, the same Referer is cross-origin: a handshake.
    assert state.status is AuthStatus.HANDSHAKE
    assert state == full(options, headers)


_URLS = [
    URL,
    f"{APP}/other/page",
    f"{APP}",
    f"{APP}?q=1",
    f"{APP}:443/x",
    f"{APP}:8443/x",
    f"{APP}.evil.example/x",
    f"{APP}evil.example/x",
    "http://app.example.com/x",
    "https://satellite.example.org/x",
    f"{APP}/%2e%2e/x",
]
_HEADER_VARIANTS = [
    {},
    {"host": "evil.example.com"},
    {"host": "app.example.com:8443"},
    {"x-forwarded-host": "app.example.com"},
    {"x-forwarded-host": "evil.example.com"},
    {"x-forwarded-proto": "http"},
    {"x-forwarded-proto": "https", "x-forwarded-host": "proxy.example.com"},
    {"referer": f"{APP}/home"},
    {"referer": "https://satellite.example.org/"},
    {"sec-fetch-dest": "empty", "referer": "https://satellite.example.org/"},
]


@settings(max_examples=300, deadline=None)
@given(
    variant=st.sampled_from(_HEADER_VARIANTS),
    urls=st.lists(st.sampled_from(_URLS), min_size=2, max_size=4),
    changed=st.lists(st.one_of(st.none(), st.sampled_from(_HEADER_VARIANTS)), max_size=4),
    trust=st.booleans(),
)
def test_a_remembered_cookie_answer_is_only_given_where_the_flow_gives_it(
    prod_issuer: TestIssuer,
    variant: dict[str, str],
    urls: list[str],
    changed: list[dict[str, str] | None],
    trust: bool,
) -> None:
    options = prod_issuer.options(trust_forwarded_headers=trust)
    session = cookies(prod_issuer.session_token())
    # The same Cookie header from one URL and set of headers, then from other
    # URLs with the same headers or others: whatever was remembered, every
    # answer is the flow's.
    variants = [variant, *(variant if other is None else other for other in changed)]
    for n, url in enumerate(urls):
        headers = {**PAGE, "cookie": session, **(variants[n] if n < len(variants) else variant)}
        assert ours(options, headers, url) == full(options, headers, url)


@pytest.mark.parametrize(
    "url",
    [f"{APP}.evil.example/x", f"{APP}evil.example/x", f"{APP}:8443/x", "http://app.example.com/x"],
)
@pytest.mark.parametrize("trust", [True, False])
def test_a_remembered_answer_is_not_given_to_a_url_that_only_begins_alike(
    prod_issuer: TestIssuer, url: str, trust: bool
) -> None:
    options = prod_issuer.options(trust_forwarded_headers=trust)
    headers = {**PAGE, "cookie": cookies(prod_issuer.session_token()), "referer": f"{APP}/home"}
    assert ours(options, headers, URL).is_signed_in
    # Another origin (without the Host header's say): the same Referer is cross-origin.
    headers = headers if not trust else {**headers, "host": url.split("/")[2]}
    state = ours(options, headers, url)
    assert state.status is AuthStatus.HANDSHAKE
    assert state == full(options, headers, url)


def test_a_decision_behind_a_proxy_is_remembered_with_the_origin_it_saw(
    prod_issuer: TestIssuer,
) -> None:
    options = prod_issuer.options()
    session = cookies(prod_issuer.session_token())
    # The app sees http://internal:8000; Clerk sees the proxy's https origin.
    proxied = {
        **PAGE,
        "cookie": session,
        "host": "internal:8000",
        "x-forwarded-host": "app.example.com",
        "x-forwarded-proto": "https",
        "referer": f"{APP}/home",
    }
    internal = "http://internal:8000/dashboard"
    assert ours(options, proxied, internal).is_signed_in
    assert len(memo_of(options)) == 1
    assert ours(options, proxied, "http://internal:8000/other").is_signed_in  # a hit
    assert len(memo_of(options)) == 1
    # Another forwarded host makes the same Referer cross-origin: the flow's handshake.
    moved = {**proxied, "x-forwarded-host": "other.example.com"}
    state = ours(options, moved, internal)
    assert state.status is AuthStatus.HANDSHAKE
    assert state == full(options, moved, internal)


def test_the_clock_is_read_on_every_hit() -> None:
    clock = Clock()
    issuer = TestIssuer("clerk.example.com", production=True, clock=clock)
    options = issuer.options()
    headers = {**API, "cookie": cookies(issuer.session_token())}
    assert ours(options, headers).is_signed_in
    clock.now = NOW + 66  # 60 s lifetime + 5 s skew: expired
    state = ours(options, headers)
    assert state.reason == "session-token-expired-refresh-non-eligible-no-refresh-cookie"
    assert state == full(options, headers)
    clock.now = NOW
    assert ours(options, headers).is_signed_in


def test_forgetting_verified_tokens_forgets_the_decisions_made_from_them(
    prod_issuer: TestIssuer,
) -> None:
    options = prod_issuer.options()
    headers = {**API, "cookie": cookies(prod_issuer.session_token())}
    assert ours(options, headers).is_signed_in
    key = headers["cookie"]  # a cookie decision is remembered under the header's text
    memo = memo_of(options)
    assert len(memo) == 1
    assert memo.get(key) is not None
    verified_tokens.clear()
    assert memo.get(key) is None
    found = [memo.get(k) for k in memo._entries]
    assert found == [None]
    # The next request is decided in full (verified again) and remembered anew.
    assert ours(options, headers).is_signed_in
    assert key in [k for k in memo._entries if memo.get(k) is not None]


def test_a_rotated_jwks_key_is_never_answered_from_a_remembered_decision() -> None:
    clock = Clock()
    issuer = TestIssuer("clerk.example.com", production=True, clock=clock)
    options = issuer.options(networkless=False)
    jwks = Jwks(issuer)
    transport = httpx.MockTransport(jwks.handler)
    configure_backend(options, transport=transport, async_transport=transport, monotonic=clock)
    headers = {**API, "cookie": cookies(issuer.session_token(lifetime=3600))}
    assert ours(options, headers).is_signed_in
    assert ours(options, headers).is_signed_in
    assert jwks.fetches == 1
    # The instance rotates its key under the same kid. Once the key set is stale
    # (5 minutes) the next request must refetch and fail, not answer from memory.
    jwks.serve(TestIssuer("clerk.example.com", production=True, clock=clock, kid=issuer.kid))
    clock.now = NOW + 301
    state = authenticate_request(AuthRequest("GET", URL, headers), options)
    assert (state.status, state.reason) == (AuthStatus.SIGNED_OUT, "token-invalid-signature")
    assert jwks.fetches == 2


def test_the_memo_holds_at_most_its_bound(prod_issuer: TestIssuer) -> None:
    options = prod_issuer.options()
    token = prod_issuer.session_token()
    for n in range(DECISION_ENTRIES + 50):
        assert ours(options, {**API, "cookie": cookies(token, extra=f"n={n}")}).is_signed_in
    assert len(memo_of(options)) <= DECISION_ENTRIES


def test_a_header_longer_than_the_limit_is_decided_in_full_every_time(
    prod_issuer: TestIssuer,
) -> None:
    options = prod_issuer.options()
    headers = {**API, "cookie": cookies(prod_issuer.session_token(), extra="pad=" + "x" * 9000)}
    assert ours(options, headers).is_signed_in
    assert len(memo_of(options)) == 0


def test_a_jwks_key_counts_for_a_hit_only_while_it_is_answered_without_a_fetch() -> None:
    clock = Clock()
    issuer = TestIssuer("clerk.example.com", production=True, clock=clock)
    options = issuer.options(networkless=False)
    jwks = Jwks(issuer)
    transport = httpx.MockTransport(jwks.handler)
    backend = configure_backend(
        options, transport=transport, async_transport=transport, monotonic=clock
    )
    assert backend.cached_key(issuer.kid) is None  # nothing loaded: only get_key can say
    key = backend.get_key(issuer.kid)
    assert backend.cached_key(issuer.kid) is key
    assert backend.cached_key("ins_other") is None  # an unknown kid: no key to answer with
    clock.now = NOW + 301  # past the 5-minute TTL: the policy wants a fetch first
    assert backend.cached_key(issuer.kid) is None
    assert jwks.fetches == 1  # and cached_key itself never fetched
