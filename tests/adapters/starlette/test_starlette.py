"""The Starlette adapter (built on the ASGI one): TestClient, and uvicorn for a smoke test."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from clerk_middleware.adapters.starlette import ClerkStarletteMiddleware, auth, clerk_middleware
from clerk_middleware.core import ConfigurationError
from clerk_middleware.testing import TestIssuer

from .. import matrix
from ..clients import client_for_fixture, send
from .app import make_app, make_client, outcome

client_for = client_for_fixture(make_client)


@pytest.mark.parametrize(("scenario", "user", "scopes"), [
    ("signed-in", [True, "user_2abc"], ["authenticated"]),
    ("pending", [False, ""], []),
    ("signed-out", [False, ""], []),
])
def test_request_user_and_auth(client_for: Callable[[str | None], matrix.Client],
                               issuer: TestIssuer, scenario: str, user: list[object],
                               scopes: list[str]) -> None:
    body = send(client_for, issuer, "/get-auth", scenario).comparable()[4]
    assert (body["user"], body["scopes"]) == (user, scopes)
    if scenario == "pending":
        assert (body["default"], body["aware"]) == (matrix.PENDING_FIELDS,
                                                    matrix.PENDING_AWARE_FIELDS)


@pytest.mark.parametrize(("scenario", "status"), [
    ("signed-in", 200), ("pending", 403), ("signed-out", 403),
])
def test_starlette_requires(client_for: Callable[[str | None], matrix.Client],
                            issuer: TestIssuer, scenario: str, status: int) -> None:
    outcome = send(client_for, issuer, "/requires", scenario)
    assert outcome.status == status
    if status == 200:
        assert outcome.body == b"user_2abc"


@pytest.mark.parametrize(("scenario", "rendered"), [
    ("signed-in", "in||in-aware|admin|protect-aware"),
    ("pending", "|out|in-aware||protect-aware"),
    ("signed-out", "|out|||"),
])
def test_jinja2_helpers(client_for: Callable[[str | None], matrix.Client], issuer: TestIssuer,
                        scenario: str, rendered: str) -> None:
    assert send(client_for, issuer, "/template", scenario).body.decode() == rendered


def test_app_errors_propagate(issuer: TestIssuer) -> None:
    client = TestClient(make_app(matrix.settings(issuer)), base_url=matrix.BASE)
    with pytest.raises(ValueError, match="an application bug"):
        client.get("/boom")


def test_auth_outside_a_request_raises(client_for: Callable[[str | None], matrix.Client],
                                       issuer: TestIssuer) -> None:
    send(client_for, issuer, "/view/fields", scenario="signed-in")
    with pytest.raises(RuntimeError, match="outside a request handled by clerk_middleware"):
        auth()


def test_clerk_middleware_is_a_middleware_entry(issuer: TestIssuer) -> None:
    entry = clerk_middleware(**matrix.settings(issuer))
    assert isinstance(entry, Middleware)
    cls, _, kwargs = entry
    assert cls is ClerkStarletteMiddleware
    assert kwargs["handler"] is None
    Starlette(middleware=[entry]).build_middleware_stack()


def test_bad_configuration_fails_before_the_first_request() -> None:
    with pytest.raises(ConfigurationError, match="CLERK_SECRET_KEY"):
        clerk_middleware()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def real_server(issuer: TestIssuer) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(make_app(matrix.settings(issuer)), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


@pytest.mark.parametrize("case", matrix.SMOKE_CASES, ids=matrix.ids(matrix.SMOKE_CASES))
def test_real_server_smoke(real_server: str, issuer: TestIssuer, case: matrix.Case) -> None:
    headers = {**matrix.request_headers(issuer, case.scenario, case.kind), "host": "app.test"}
    with httpx.Client(base_url=real_server) as client:
        matrix.check(case, outcome(client.get(case.path, headers=headers)))


def test_real_server_keeps_the_raw_path(real_server: str, issuer: TestIssuer) -> None:
    headers = {**matrix.request_headers(issuer, "signed-out", "page"), "host": "app.test"}
    with httpx.Client(base_url=real_server) as client:
        assert client.get("/matcher/%E0%A4", headers=headers).status_code == 400
