"""A bounded load run through real servers: zero 5xx, every answer right, memory flat.

uvicorn serves the Starlette app (the async path), waitress the Flask app
(the sync path, a pool of threads), both on 127.0.0.1 with keys from a JWKS
served by the local instance. Concurrent client threads send a few thousand
requests, mixing valid, pending, forged and expired tokens, page and API
requests, cookies and headers; every answer is checked against what that
request must get. Requests per second and latency percentiles are printed,
never asserted: they depend on the machine. The server runs in a process of
its own (one worker), the clients in this one.
"""

from __future__ import annotations

import queue
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from clerk_middleware.testing import TestIssuer
from clerk_middleware.testing._instance import LocalInstance

from ._servers import rss_bytes, server_process

CLIENTS = 16
ROUNDS = 3
PER_ROUND = 1000
SIGN_IN = "https://accounts.app.example/sign-in"
API = {"sec-fetch-dest": "empty", "accept": "application/json"}
PAGE = {"sec-fetch-dest": "document", "accept": "text/html"}
#: Loose: allocator noise and a few hundred bytes per request over 2000 requests stay
#: under it; keeping every request (headers, context, state: several KiB) alive does not.
MAX_RSS_GROWTH = 12 * 1024 * 1024


@dataclass(frozen=True)
class Kind:
    """One kind of request and the check its answer must pass."""

    path: str
    headers: dict[str, str]
    check: Callable[[httpx.Response], bool]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def kinds(clerk: LocalInstance) -> dict[str, Kind]:
    signer = clerk.signer
    valid = signer.session_token("user_load", lifetime=600)
    pending = signer.pending_token("user_load", lifetime=600)
    expired = signer.expired_token("user_load")
    forged = TestIssuer(signer.frontend_api, kid=signer.kid).session_token("user_load")
    dev = "__clerk_db_jwt=dvb_load; __client_uat=1"

    def body_is(**expected: Any) -> Callable[[httpx.Response], bool]:
        def check(response: httpx.Response) -> bool:
            body = _json(response)
            return response.status_code == 200 and isinstance(body, dict) and all(
                body.get(k) == v for k, v in expected.items())
        return check

    def redirect_to(host: str) -> Callable[[httpx.Response], bool]:
        def check(response: httpx.Response) -> bool:
            location = response.headers.get("location", "")
            return response.status_code == 307 and urlsplit(location).hostname == host
        return check

    def reason_is(reason: str, **expected: Any) -> Callable[[httpx.Response], bool]:
        inner = body_is(**expected)
        return lambda r: inner(r) and r.headers.get("x-clerk-auth-reason") == reason

    fapi = urlsplit(clerk.url).hostname or ""
    return {
        "valid-header": Kind("/", {**API, "authorization": f"Bearer {valid}"},
                             body_is(user_id="user_load", is_signed_in=True)),
        "valid-cookie": Kind("/protect", {**PAGE, "cookie": f"{dev}; __session={valid}"},
                             body_is(user_id="user_load", is_signed_in=True)),
        "pending-header": Kind("/", {**API, "authorization": f"Bearer {pending}"},
                               body_is(user_id=None, session_status="pending")),
        "pending-role": Kind("/handler-role", {**API, "authorization": f"Bearer {pending}"},
                             lambda r: r.status_code == 404),
        "forged-header": Kind("/", {**API, "authorization": f"Bearer {forged}"},
                              reason_is("token-invalid-signature", is_signed_in=False)),
        "expired-header": Kind(
            "/", {**API, "authorization": f"Bearer {expired}"},
            reason_is("session-token-expired-refresh-non-eligible-no-refresh-cookie",
                      is_signed_in=False)),
        "expired-page": Kind("/protect", {**PAGE, "cookie": f"{dev}; __session={expired}"},
                             redirect_to(fapi)),
        "signed-out-page": Kind("/protect", {**PAGE, "cookie": "__clerk_db_jwt=dvb_load"},
                                redirect_to("accounts.app.example")),
        "garbage-header": Kind("/", {**API, "authorization": "Bearer not.a.token"},
                               reason_is("token-invalid", is_signed_in=False)),
    }


@dataclass
class Result:
    kind: str
    status: int
    ok: bool
    latency: float


def run_round(base_url: str, plan: dict[str, Kind], count: int) -> tuple[list[Result], float]:
    """Send ``count`` requests from ``CLIENTS`` client threads; return results and duration."""
    names = sorted(plan)
    work: queue.SimpleQueue[str] = queue.SimpleQueue()
    for index in range(count):
        work.put(names[index % len(names)])
    results: list[Result] = []
    lock = threading.Lock()

    def client_thread() -> None:
        mine: list[Result] = []
        with httpx.Client(base_url=base_url, timeout=30, follow_redirects=False) as client:
            while True:
                try:
                    name = work.get_nowait()
                except queue.Empty:
                    break
                kind = plan[name]
                start = time.perf_counter()
                try:
                    response = client.get(kind.path, headers=kind.headers)
                except httpx.HTTPError:
                    mine.append(Result(name, 0, False, time.perf_counter() - start))
                    continue
                latency = time.perf_counter() - start
                mine.append(Result(name, response.status_code, kind.check(response), latency))
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client_thread, name=f"load-client-{i}")
               for i in range(CLIENTS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - start


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass(frozen=True)
class Served:
    name: str
    url: str
    pid: int
    clerk: LocalInstance


@pytest.fixture(params=["uvicorn-starlette", "waitress-flask"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    # The server runs in a process of its own: the clients here do not compete
    # with it for the GIL, and its memory is its own.
    with LocalInstance() as clerk:
        settings = {"secret_key": clerk.secret_key, "publishable_key": clerk.publishable_key,
                    "api_url": clerk.url, "proxy_url": clerk.url, "sign_in_url": SIGN_IN}
        with server_process(request.param, settings) as (url, pid):
            yield Served(request.param, url, pid, clerk)


def test_load_run(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    name, url, clerk = served.name, served.url, served.clerk
    plan = kinds(clerk)
    # The first round starts cold: every client needs the key at once.
    rounds: list[tuple[list[Result], float]] = []
    rss: list[int] = []
    for _ in range(ROUNDS):
        rounds.append(run_round(url, plan, PER_ROUND))
        rss.append(rss_bytes(served.pid))
    results = [r for batch, _ in rounds for r in batch]

    statuses = Counter(r.status for r in results)
    wrong = Counter(r.kind for r in results if not r.ok)
    assert len(results) == ROUNDS * PER_ROUND
    assert not [s for s in statuses if s == 0 or s >= 500], statuses
    assert not wrong, wrong
    # Concurrent cold requests caused one JWKS fetch, and the cache held after that.
    assert clerk.count("jwks") == 1
    growth = rss[-1] - rss[0]
    assert growth < MAX_RSS_GROWTH, f"RSS grew {growth / 2**20:.1f} MiB after the first round"

    steady = [r.latency for batch, _ in rounds[1:] for r in batch]
    duration = sum(seconds for _, seconds in rounds[1:])
    with capsys.disabled():
        print(
            f"\n[load] {name}: {len(results)} requests, {CLIENTS} concurrent clients; "
            f"steady state {len(steady) / duration:.0f} req/s, "
            f"p50 {statistics.median(steady) * 1000:.1f} ms, "
            f"p99 {percentile(steady, 0.99) * 1000:.1f} ms, "
            f"max {max(steady) * 1000:.1f} ms; cold round {rounds[0][1]:.2f} s; "
            f"RSS {rss[0] / 2**20:.1f} -> {rss[-1] / 2**20:.1f} MiB; statuses {dict(statuses)}"
        )
