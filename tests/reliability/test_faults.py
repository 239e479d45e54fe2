"""Backend API faults during steady traffic through a real server.

The local instance plays Clerk's Backend API and misbehaves on demand: slow,
down (500), garbage bodies, connection resets, a rejected secret key. While
client threads keep sending requests through uvicorn (Starlette, the async
path) or waitress (Flask, the sync path):

- no request is answered with a 5xx and none hangs or fails on the client;
- while no key is known, answers are signed-out with a reason that says why;
- with keys known, an outage does not sign anyone out (stale keys serve);
- when the fault goes away, service recovers by itself;
- the JWKS is fetched a bounded number of times, never once per request.

The key cache policy is shrunk (a TTL of 0.4 s, retries after 0.2 s) so that
refetches, and so the faults, happen within a second.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from clerk_middleware.core import ClerkOptions
from clerk_middleware.core._backend import JwksPolicy, configure_backend
from clerk_middleware.testing import TestIssuer
from clerk_middleware.testing._instance import (
    CannedResponse,
    ConnectionReset,
    Delay,
    Fault,
    LocalInstance,
    MalformedBody,
    SlowBody,
)

from ..security import _apps
from ._servers import uvicorn_server, waitress_server
from ._traffic import Plan, Shot, Traffic

POLICY = JwksPolicy(ttl=0.4, kid_miss_cooldown=0.2, retry_after_failure=0.2, max_stale=3600)
TIMEOUT = 0.5
API = {"sec-fetch-dest": "empty", "accept": "application/json"}
NO_KEY = {"jwk-remote-failed-to-load", "jwk-kid-mismatch"}
FAULTS: dict[str, Fault] = {
    "slow": Delay(1.5),
    "slow-body": SlowBody(0.05),
    "down": CannedResponse(500),
    "unavailable-html": CannedResponse(503, b"<html>maintenance</html>", "text/html"),
    "truncated-json": MalformedBody(),
    "garbage-json": CannedResponse(200, b'{"keys": "none of them"}'),
    "empty-key-set": CannedResponse(200, b'{"keys": []}'),
    "connection-reset": ConnectionReset(),
}


@dataclass
class Served:
    """A running app behind a real server, its Clerk instance, and request plans."""

    clerk: LocalInstance
    url: str
    options: ClerkOptions

    def plan(self, kind: str, token: str) -> Plan:
        return Plan(kind, "/", {**API, "authorization": f"Bearer {token}"})

    def plans(self) -> list[Plan]:
        signer = self.clerk.signer
        forger = TestIssuer(signer.frontend_api, kid=signer.kid)
        return [
            self.plan("valid", signer.session_token(lifetime=600)),
            self.plan("pending", signer.pending_token(lifetime=600)),
            self.plan("forged", forger.session_token(lifetime=600)),
            self.plan("expired", signer.expired_token()),
        ]


def app_settings(clerk: LocalInstance) -> dict[str, Any]:
    return {"secret_key": clerk.secret_key, "publishable_key": clerk.publishable_key,
            "api_url": clerk.url}


@pytest.fixture(params=["uvicorn-starlette", "waitress-flask"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with LocalInstance() as clerk:
        settings = app_settings(clerk)
        options = ClerkOptions(**settings)
        # One BackendApi per instance, shared with the app's own options.
        configure_backend(options, timeout=TIMEOUT, policy=POLICY)
        if request.param == "uvicorn-starlette":
            server = uvicorn_server(_apps.make_starlette(settings))
        else:
            server = waitress_server(_apps.make_flask(settings))
        with server as url:
            yield Served(clerk, url, options)


def assert_healthy(shots: list[Shot]) -> None:
    assert shots, "no traffic"
    failures = [s for s in shots if s.status == 0 or s.status >= 500]
    assert not failures, failures[:3]
    assert all(s.status == 200 for s in shots), {s.status for s in shots}


def assert_never_wrongly_signed_in(shots: list[Shot]) -> None:
    for shot in shots:
        if shot.kind != "valid":
            assert not shot.signed_in, shot


def test_cold_start_while_the_jwks_is_down_then_recovery(served: Served) -> None:
    clerk = served.clerk
    clerk.inject("jwks", ConnectionReset())
    broken = time.monotonic()
    with Traffic(served.url, served.plans()) as traffic:
        start = traffic.mark()
        down = traffic.phase(start, seconds=0.8)
        # Counted while still down, over the time it was down: a slow machine
        # stretches the window (and the retries in it), never the schedule.
        attempts = clerk.count("jwks")
        healed = traffic.mark()
        clerk.clear_faults()
        recovered = traffic.wait_for(lambda s: s.kind == "valid" and s.signed_in, after=healed)
        after = traffic.phase(recovered + 0.1, seconds=0.5)
    assert_healthy(down)
    # No key is known: signed out, and the reason says why.
    for shot in down:
        assert not shot.signed_in
        if shot.kind in ("valid", "forged"):
            assert shot.reason == "jwk-remote-failed-to-load", shot
    # Failed fetches are retried on a schedule, not once per request.
    down_for = healed - broken
    assert attempts <= down_for / POLICY.retry_after_failure + 3, (attempts, down_for)
    assert attempts < len(down) / 2, (attempts, len(down))
    assert recovered - healed < 5.0  # retries every 0.2 s: generous for a busy machine
    assert_healthy(after)
    assert all(s.signed_in for s in after if s.kind == "valid")
    assert_never_wrongly_signed_in(down + after)


def test_every_fault_with_keys_known_keeps_serving(served: Served) -> None:
    clerk = served.clerk
    with Traffic(served.url, served.plans()) as traffic:
        traffic.wait_for(lambda s: s.kind == "valid" and s.signed_in, after=traffic.mark())
        for name, fault in FAULTS.items():
            clerk.reset_counts()
            clerk.inject("jwks", fault)
            start = traffic.mark()
            during = traffic.phase(start, seconds=0.6)  # the 0.4 s TTL runs out: refetches hit it
            clerk.clear_faults()
            time.sleep(0.2)
            assert_healthy(during)
            stale = [s for s in during if s.kind == "valid"]
            assert stale and all(s.signed_in for s in stale), (name, stale[:2])
            assert_never_wrongly_signed_in(during)
            assert clerk.count("jwks") >= 1, name  # the fault was really met
            assert clerk.count("jwks") < len(during) / 2, name
            # The slowest answer is bounded by the client timeout, not the fault.
            assert max(s.elapsed for s in during) < 5.0, name


def test_a_rejected_secret_key_signs_out_at_once_and_recovers(served: Served) -> None:
    # secret-key-invalid is an answer, not an outage: stale keys stop serving.
    clerk = served.clerk
    with Traffic(served.url, served.plans()) as traffic:
        traffic.wait_for(lambda s: s.kind == "valid" and s.signed_in, after=traffic.mark())
        clerk.inject("jwks", CannedResponse(401, code="clerk_key_invalid"))
        rejected = traffic.wait_for(lambda s: s.reason == "secret-key-invalid",
                                    after=traffic.mark())
        during = traffic.phase(rejected + 0.25, seconds=0.4)
        clerk.clear_faults()
        healed = traffic.mark()
        traffic.wait_for(lambda s: s.kind == "valid" and s.signed_in, after=healed)
    assert_healthy(during)
    assert all(s.reason == "secret-key-invalid" for s in during if s.kind == "valid"), during[:3]
    assert_never_wrongly_signed_in(during)


def test_key_rotation_while_the_api_is_down(served: Served) -> None:
    clerk = served.clerk
    plans = served.plans()
    with Traffic(served.url, plans) as traffic:
        traffic.wait_for(lambda s: s.kind == "valid" and s.signed_in, after=traffic.mark())
        clerk.inject("jwks", CannedResponse(500))
        clerk.rotate_key(keep_old=True)
        traffic.plans = [*plans, served.plan("new-key", clerk.signer.session_token(lifetime=600))]
        start = traffic.mark()
        during = traffic.phase(start, seconds=0.7, kind="new-key")
        clerk.clear_faults()
        healed = traffic.mark()
        recovered = traffic.wait_for(lambda s: s.kind == "new-key" and s.signed_in, after=healed)
        after = traffic.phase(recovered + 0.1, seconds=0.3)
    assert_healthy(during + after)
    new_key = [s for s in during if s.kind == "new-key"]
    assert new_key and not any(s.signed_in for s in new_key)
    assert {s.reason for s in new_key} <= NO_KEY, {s.reason for s in new_key}
    assert all(s.signed_in for s in during if s.kind == "valid")
    assert all(s.signed_in for s in after if s.kind in ("valid", "new-key"))
    assert recovered - healed < 5.0  # retries every 0.2 s: generous for a busy machine


# --- the other Backend API calls: handshake payload and session refresh ---------------------


def page_requests(served: Served) -> list[tuple[str, dict[str, str]]]:
    """A handshake-nonce visit and an expired session with a refresh cookie, as browsers send."""
    clerk = served.clerk
    user = clerk.create_user()
    session = clerk.sign_in(user)
    now = int(time.time())
    expired = clerk.session_token(session, issued_at=now - 120, lifetime=60)
    page = {"sec-fetch-dest": "document", "accept": "text/html"}
    refresh = f"__refresh_{clerk.cookie_suffix}={session.refresh_token}"
    return [
        ("/?__clerk_handshake_nonce=nonce_unknown", {**page, "cookie": "__clerk_db_jwt=dvb_1"}),
        ("/", {**page, "cookie": f"__clerk_db_jwt=dvb_1; __client_uat=1; __session={expired}; "
                                 f"{refresh}"}),
    ]


def garbage_directives(clerk: LocalInstance, key: str) -> list[CannedResponse]:
    """Well-formed answers whose cookie directives are not legal header values."""
    token = clerk.signer.session_token(lifetime=600)
    bodies = []
    for bad in ("x=\u2603; Path=/", "y=\x01; Path=/", "z=\x7f", "w=\x00"):
        bodies.append(json.dumps({key: [f"__session={token}; Path=/", bad]}).encode())
    return [CannedResponse(200, body) for body in bodies]


LEGAL = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100)) + b"\t"


@pytest.mark.parametrize("endpoint", ["handshake_payload", "refresh"])
def test_handshake_and_refresh_faults_never_answer_5xx(served: Served, endpoint: str) -> None:
    clerk = served.clerk
    requests = page_requests(served)
    key = "directives" if endpoint == "handshake_payload" else "cookies"
    faults: list[Fault] = [*FAULTS.values(), *garbage_directives(clerk, key)]
    problems: list[tuple[object, ...]] = []
    with httpx.Client(base_url=served.url, timeout=15, follow_redirects=False) as client:
        for fault in faults:
            clerk.inject(endpoint, fault)
            for path, headers in requests:
                response = client.get(path, headers=headers)
                if response.status_code >= 500:
                    problems.append((fault, response.status_code))
                for name, value in response.headers.raw:
                    if value.translate(None, LEGAL):
                        problems.append((fault, name, value))
            clerk.clear_faults()
    assert problems == []
