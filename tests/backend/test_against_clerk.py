"""Same request, same answer, over the network: Clerk's own SDK against the local instance.

Each case runs once through ``@clerk/backend``'s ``authenticateRequest`` (under
node, ``clerk_networked.cjs``) and once through ``clerk_middleware.core``, both
talking over HTTP to the same ``LocalInstance`` with the same fault injected:
remote JWKS, handshake nonces and session refresh, including Clerk's refresh
failure reasons. Status, reason, message, token and headers must be identical,
except for the cases listed with a documented difference (core/_backend.py).

Marked ``conformance``: needs node >= 20 and ``npm ci`` in ``tests/conformance``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from clerk_middleware.core import AuthRequest, authenticate_request
from clerk_middleware.core._backend import reset_backends
from clerk_middleware.testing import (
    CannedResponse,
    ConnectionReset,
    Fault,
    LocalInstance,
    MalformedBody,
    Session,
    TestIssuer,
)

from ._support import API, APP, PAGE, FakeClock, cookie_header

pytestmark = pytest.mark.conformance

SCRIPT = Path(__file__).with_name("clerk_networked.cjs")
CLERK_PACKAGE = Path(__file__).parents[1] / "conformance" / "node_modules" / "@clerk" / "backend"
SETUP_HINT = "cd tests/conformance && npm ci"


@dataclass
class World:
    """One instance, its signed-in sessions, and requests that exercise it."""

    instance: LocalInstance
    clock: FakeClock
    session: Session
    expired_cookies: dict[str, str]
    ended_cookies: dict[str, str]


@dataclass(frozen=True)
class Case:
    name: str
    request: Callable[[World], AuthRequest]
    fault: tuple[str, Fault] | None = None
    secret_key: str | None = None
    #: Our documented answer (status, reason) where we differ from Clerk on purpose.
    ours: tuple[str, str] | None = None
    #: Clerk's (status, reason) in that case, checked so the record stays true.
    clerk: tuple[str, str] | None = None


def header_token(world: World) -> AuthRequest:
    token = world.instance.session_token(world.session)
    return AuthRequest("GET", f"{APP}/api", {"authorization": f"Bearer {token}", **API})


def unknown_kid(world: World) -> AuthRequest:
    signer = world.instance.signer
    token = signer.sign(signer.session_claims(), header={"kid": "ins_unknown"})
    return AuthRequest("GET", f"{APP}/api", {"authorization": f"Bearer {token}", **API})


def nonce_return(world: World, **query: str) -> AuthRequest:
    client = world.instance.client(world.session.client_id)
    params = httpx.QueryParams({"redirect_url": f"{APP}/dashboard?tab=1", **query})
    response = httpx.get(
        f"{world.instance.url}/v1/client/handshake?{params}",
        headers={"cookie": f"__client={client.token}"},
    )
    return AuthRequest("GET", response.headers["location"], PAGE)


def expired_cookie(world: World, method: str = "GET") -> AuthRequest:
    headers = {**API, "cookie": cookie_header(world.expired_cookies)}
    return AuthRequest(method, f"{APP}/api/items", headers)


def ended_session(world: World) -> AuthRequest:
    return AuthRequest(
        "GET", f"{APP}/api/items", {**API, "cookie": cookie_header(world.ended_cookies)}
    )


CASES = [
    Case("remote JWKS", header_token),
    Case("unknown kid", unknown_kid),
    Case("JWKS 500", header_token, ("jwks", CannedResponse(500))),
    Case("JWKS without keys", header_token, ("jwks", CannedResponse(200, b'{"keys":[]}'))),
    Case("wrong secret key", header_token, secret_key="sk_test_not_this_one"),
    Case(
        "JWKS not JSON",
        header_token,
        ("jwks", MalformedBody()),
        ours=("signed-out", "jwk-remote-failed-to-load"),
        clerk=("signed-out", "unexpected-error"),
    ),
    Case("handshake nonce", lambda w: nonce_return(w, format="nonce")),
    Case(
        "handshake payload 500",
        lambda w: nonce_return(w, format="nonce"),
        ("handshake_payload", CannedResponse(500)),
    ),
    Case(
        "handshake payload reset",
        lambda w: nonce_return(w, format="nonce"),
        ("handshake_payload", ConnectionReset()),
    ),
    Case("handshake token", lambda w: nonce_return(w, suffixed_cookies="true")),
    Case("refresh", expired_cookie),
    Case("refresh on POST", lambda w: expired_cookie(w, "POST")),
    Case("refresh of an ended session", ended_session),
    Case("refresh reset", expired_cookie, ("refresh", ConnectionReset())),
    Case("refresh malformed", expired_cookie, ("refresh", MalformedBody())),
    Case(
        "refresh unexpected_error",
        expired_cookie,
        ("refresh", CannedResponse(500, code="unexpected_error")),
    ),
    Case("refresh 500 with a code", expired_cookie, ("refresh", CannedResponse(500))),
    Case(
        "refresh 502 html",
        expired_cookie,
        ("refresh", CannedResponse(502, b"<html>bad gateway</html>", "text/html")),
    ),
    Case("refresh errors []", expired_cookie, ("refresh", CannedResponse(500, b'{"errors":[]}'))),
    Case(
        "refresh error without code",
        expired_cookie,
        ("refresh", CannedResponse(400, b'{"errors":[{"message":"x"}]}')),
    ),
    Case("refresh 204", expired_cookie, ("refresh", CannedResponse(204, b""))),
    Case("refresh null", expired_cookie, ("refresh", CannedResponse(200, b"null"))),
    Case(
        "refresh without cookies",
        expired_cookie,
        ("refresh", CannedResponse(200, b'{"object":"cookies","cookies":[]}')),
    ),
    Case(
        "refresh with a bad token",
        expired_cookie,
        ("refresh", CannedResponse(200, b'{"cookies":["__session=abc; Path=/"]}')),
    ),
]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    if shutil.which("node") is None or not (CLERK_PACKAGE / "package.json").is_file():
        pytest.fail(f"needs node and Clerk's SDK installed for the oracle: {SETUP_HINT}")
    clock = FakeClock(float(int(time.time())))
    with LocalInstance(TestIssuer(clock=clock)) as instance:
        session = instance.sign_in(instance.create_user())
        clock.advance(-120)  # sessions whose tokens expired a minute ago
        expired, ended = (instance.sign_in(instance.create_user()) for _ in range(2))
        jars = []
        for old in (expired, ended):
            jar = {"__clerk_db_jwt": "dvb_conformance"}
            for directive in instance.session_cookies(old, azp=APP):
                name, _, rest = directive.partition("=")
                jar[name] = rest.split(";")[0]
            jars.append(jar)
        clock.advance(120)
        instance.end_session(ended)
        yield World(instance, clock, session, *jars)


def clerk_answer(world: World, request: AuthRequest, secret_key: str) -> dict[str, Any]:
    instance = world.instance
    case = {
        "now_ms": int(world.clock() * 1000),
        "secretKey": secret_key,
        "publishableKey": instance.publishable_key,
        "apiUrl": instance.url,
        "proxyUrl": instance.url,
        "request": {
            "method": request.method,
            "url": request.url,
            "headers": list(request.headers.items()),
        },
    }
    completed = subprocess.run(  # noqa: S603 - a fixed argv, no shell
        [shutil.which("node") or "node", str(SCRIPT)],
        input=json.dumps(case),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    answer: dict[str, Any] = json.loads(completed.stdout)
    assert "error" not in answer, answer["error"]
    return answer


def our_answer(world: World, request: AuthRequest, secret_key: str) -> dict[str, Any]:
    reset_backends()  # cold, as each node process is
    options = world.instance.options(secret_key=secret_key)
    state = authenticate_request(request, options)
    return {
        "status": state.status.value,
        "reason": state.reason,
        "message": state.message,
        "token": state.token,
        "headers": [list(h) for h in state.headers],
    }


def comparable(answer: dict[str, Any]) -> tuple[Any, ...]:
    headers = sorted(tuple(h) for h in answer["headers"])
    return (answer["status"], answer["reason"], answer["message"], answer["token"], headers)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_answer_as_clerk_over_the_network(world: World, case: Case) -> None:
    instance = world.instance
    secret_key = case.secret_key or instance.secret_key
    request = case.request(world)
    answers = []
    for ask in (clerk_answer, our_answer):
        if case.fault is not None:
            instance.inject(*case.fault)
        try:
            answers.append(ask(world, request, secret_key))
        finally:
            instance.clear_faults()
    clerk, ours = answers
    if case.ours is None:
        assert comparable(ours) == comparable(clerk)
    else:
        assert (clerk["status"], clerk["reason"]) == case.clerk
        assert (ours["status"], ours["reason"]) == case.ours
