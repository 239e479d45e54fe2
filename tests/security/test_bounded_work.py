"""Bounded work for huge input: nothing grows faster than the input does.

No absolute wall-clock limits (machines differ); instead each case times the
same request at size S and 4S and compares: linear work grows about 4x,
quadratic about 16x. The bound (10x) is loose enough for a noisy CI machine
and tight enough to catch a quadratic loop. Each timing is this process's CPU
time (other processes on a busy machine preempt it: that stretches wall-clock
time, not CPU time), the best of a few runs; and a ratio over the bound is
measured again (up to ``ROUNDS`` times) before it counts: an outlier passes on
a later round, quadratic work fails every one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from clerk_middleware.core import AuthRequest, AuthStatus, authenticate_request
from clerk_middleware.testing import TestIssuer

from . import _apps

MB = 1024 * 1024
GROWTH = 4
MAX_RATIO = 10.0
ROUNDS = 3
PAGE = {"sec-fetch-dest": "document", "accept": "text/html"}
Headers = list[tuple[str, str]]


def best_time(run: Callable[[], object], repeat: int = 3) -> float:
    """The least CPU time (this process, all its threads) of ``repeat`` calls of ``run``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def growth_ratio(make: Callable[[int], Callable[[], object]], size: int) -> float:
    """Time(4 * size) / time(size), with a floor so tiny timings cannot blow up the ratio.

    The least ratio of up to ``ROUNDS`` measurements, stopping at the first one
    under ``MAX_RATIO``.
    """
    small = make(size)
    large = make(size * GROWTH)
    small()  # warm caches (regexes, key objects) before timing
    ratio = float("inf")
    for _ in range(ROUNDS):
        ratio = min(ratio, best_time(large) / max(best_time(small), 1e-4))
        if ratio < MAX_RATIO:
            break
    return ratio


def authenticate(issuer: TestIssuer, url: str, headers: Headers) -> Callable[[], object]:
    options = issuer.options()

    def run() -> object:
        state = authenticate_request(AuthRequest("GET", url, headers), options)
        assert state.status is not AuthStatus.SIGNED_IN or state.token is not None
        return state

    return run


CASES: dict[str, Callable[[TestIssuer, int], tuple[str, Headers]]] = {
    "one_huge_session_cookie": lambda issuer, n: (
        "http://app.test/",
        [("cookie", f"__clerk_db_jwt=dvb_1; __client_uat=1; __session={'a' * n}")],
    ),
    "many_small_cookies": lambda issuer, n: (
        "http://app.test/",
        [("cookie", "; ".join(f"c{i}=v" for i in range(n // 8))
          + f"; __clerk_db_jwt=dvb_1; __client_uat=1; __session={issuer.session_token()}")],
    ),
    "huge_bearer_token": lambda issuer, n: (
        "http://app.test/", [("authorization", "Bearer " + "a." * (n // 2))]
    ),
    "huge_query_with_clerk_params": lambda issuer, n: (
        "http://app.test/?" + "a=b&" * (n // 16) + "__clerk_db_jwt=dvb_1",
        [*PAGE.items(), ("cookie", "__client_uat=1")],
    ),
    "huge_path_of_dot_segments": lambda issuer, n: (
        "http://app.test/" + "a/../" * (n // 5),
        [*PAGE.items(), ("cookie", "__clerk_db_jwt=dvb_1; __client_uat=1")],
    ),
    "huge_percent_encoded_path": lambda issuer, n: (
        "http://app.test/" + "%ZZ%41" * (n // 6),
        [*PAGE.items(), ("cookie", "__clerk_db_jwt=dvb_1; __client_uat=1")],
    ),
    "huge_forwarded_host": lambda issuer, n: (
        "http://app.test/", [*PAGE.items(), ("x-forwarded-host", "a" * n + ".example"),
                             ("cookie", "__clerk_db_jwt=dvb_1; __client_uat=1")]
    ),
    "huge_referer": lambda issuer, n: (
        "http://app.test/",
        [*PAGE.items(), ("referer", "https://evil.example/" + "x" * n),
         ("cookie", f"__clerk_db_jwt=dvb_1; __client_uat=1; __session={issuer.session_token()}")],
    ),
    "huge_clerk_redirect_url": lambda issuer, n: (
        "http://app.test/?__clerk_redirect_url=https://app.test/" + "x" * n,
        [*PAGE.items(), ("cookie", "__clerk_db_jwt=dvb_1")],
    ),
    "many_commas_in_forwarded_host": lambda issuer, n: (
        "http://app.test/", [("x-forwarded-host", "," * n), *PAGE.items()]
    ),
    # HTTP/2 sends each cookie as its own header field (RFC 9113 8.2.3), and ASGI
    # servers pass repeated headers on as a list: thousands of fields are one request
    # (2048 fields of 128 bytes here, against 8192).
    "many_repeated_cookie_fields": lambda issuer, n: (
        "http://app.test/", [("cookie", f"c{i}=" + "v" * 120) for i in range(n // 128)]
    ),
    "many_repeated_other_fields": lambda issuer, n: (
        "http://app.test/", [("x-padding", "v" * 120) for _ in range(n // 128)]
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_work_grows_linearly_with_input(issuer: TestIssuer, case: str) -> None:
    def make(size: int) -> Callable[[], object]:
        url, headers = CASES[case](issuer, size)
        return authenticate(issuer, url, headers)

    ratio = growth_ratio(make, MB // 4)
    assert ratio < MAX_RATIO, f"{case}: 4x the input took {ratio:.1f}x the time"


def test_a_one_megabyte_cookie_through_every_adapter(issuer: TestIssuer) -> None:
    # A server would normally refuse such a header; an adapter must cope anyway.
    cookie = b"__clerk_db_jwt=dvb_1; __client_uat=1; __session=" + b"a" * MB
    settings = _apps.settings_of(issuer)
    for adapter in _apps.ADAPTERS:
        send = _apps.make_caller(adapter, settings)

        def request(size: int, send: _apps.Caller = send) -> Callable[[], object]:
            headers = [(b"host", b"app.test"), (b"cookie", cookie[: size])]
            return lambda: send("GET", b"/", headers)

        reply = request(len(cookie))()
        assert isinstance(reply, _apps.Reply) and reply.status == 200
        assert reply.json()["user_id"] is None
        ratio = growth_ratio(request, len(cookie) // GROWTH)
        assert ratio < MAX_RATIO, f"{adapter}: {ratio:.1f}x"


def test_many_repeated_header_fields_through_asgi_adapters(issuer: TestIssuer) -> None:
    # The ASGI scope keeps repeated fields apart; the adapter must merge them in linear time.
    settings = _apps.settings_of(issuer)
    for adapter in ("asgi", "starlette"):
        send = _apps.make_caller(adapter, settings)

        def request(count: int, send: _apps.Caller = send) -> Callable[[], object]:
            crumb = b"c=" + b"v" * 120
            headers = [(b"host", b"app.test"), *((b"cookie", crumb) for _ in range(count))]
            return lambda: send("GET", b"/", headers)

        ratio = growth_ratio(request, 2_000)
        assert ratio < MAX_RATIO, f"{adapter}: {ratio:.1f}x"
