"""The tests every adapter must pass, run once per adapter."""

from __future__ import annotations

import pytest

from clerk_middleware.testing import TestIssuer

from . import matrix
from .clients import ClientFor, factories, send

ADAPTERS = list(factories())


@pytest.fixture(scope="module")
def all_clients(issuer: TestIssuer) -> dict[tuple[str, str | None], matrix.Client]:
    made: dict[tuple[str, str | None], matrix.Client] = {}
    for name, make_client in factories().items():
        for tasks_url in (None, matrix.TASKS_URL):
            made[name, tasks_url] = make_client(matrix.settings(issuer, tasks_url=tasks_url))
    return made


@pytest.fixture(params=ADAPTERS)
def client_for(
    request: pytest.FixtureRequest, all_clients: dict[tuple[str, str | None], matrix.Client]
) -> ClientFor:
    name: str = request.param
    return lambda tasks_url: all_clients[name, tasks_url]


@pytest.mark.parametrize("case", matrix.ALL_CASES, ids=matrix.ids(matrix.ALL_CASES))
def test_matrix(client_for: ClientFor, issuer: TestIssuer, case: matrix.Case) -> None:
    matrix.run_case(client_for, issuer, case)


def test_handler_short_circuit_gets_state_headers(
    client_for: ClientFor, issuer: TestIssuer
) -> None:
    outcome = send(client_for, issuer, "/teapot")
    assert (outcome.status, outcome.body) == (418, b"teapot")
    assert outcome.values("x-clerk-auth-status") == ["signed-out"]
    assert outcome.values("x-clerk-auth-reason") == [matrix.MISSING]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/matcher/%E0%A4", 400),
        ("/view-matcher/%E0%A4", 400),
        ("/matcher/secret", 307),
        ("/matcher/public", 200),
    ],
)
def test_route_matcher(client_for: ClientFor, issuer: TestIssuer, path: str, status: int) -> None:
    outcome = send(client_for, issuer, path)
    assert outcome.status == status
    assert outcome.values("x-clerk-auth-status") == ["signed-out"]
