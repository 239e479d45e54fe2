"""The FastAPI adapter (built on the Starlette one), through FastAPI's TestClient."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clerk_middleware.adapters.fastapi import auth
from clerk_middleware.testing import OrgClaims, TestIssuer

from .. import matrix
from .app import make_client


@pytest.fixture(scope="module")
def client_for(issuer: TestIssuer) -> Callable[[str | None], matrix.Client]:
    clients: dict[str | None, matrix.Client] = {}

    def get(tasks_url: str | None) -> matrix.Client:
        if tasks_url not in clients:
            clients[tasks_url] = make_client(matrix.settings(issuer, tasks_url=tasks_url))
        return clients[tasks_url]

    return get


def send(client_for: Callable[[str | None], matrix.Client], issuer: TestIssuer, path: str,
         scenario: str = "signed-out", kind: str = "page") -> matrix.Outcome:
    return client_for(None)(path, matrix.request_headers(issuer, scenario, kind))


@pytest.mark.parametrize("case", matrix.ALL_CASES, ids=matrix.ids(matrix.ALL_CASES))
def test_matrix(
    client_for: Callable[[str | None], matrix.Client], issuer: TestIssuer, case: matrix.Case
) -> None:
    matrix.run_case(client_for, issuer, case)


def test_handler_short_circuit_gets_state_headers(
    client_for: Callable[[str | None], matrix.Client], issuer: TestIssuer
) -> None:
    outcome = send(client_for, issuer, "/teapot")
    assert (outcome.status, outcome.body) == (418, b"teapot")
    assert outcome.values("x-clerk-auth-status") == ["signed-out"]


@pytest.mark.parametrize(("path", "status"), [
    ("/matcher/%E0%A4", 400), ("/view-matcher/%E0%A4", 400),
    ("/matcher/secret", 307), ("/matcher/public", 200),
])
def test_route_matcher(client_for: Callable[[str | None], matrix.Client], issuer: TestIssuer,
                       path: str, status: int) -> None:
    assert send(client_for, issuer, path).status == status


@pytest.mark.parametrize("scenario", ["signed-in", "pending", "signed-out"])
def test_auth_dependencies(client_for: Callable[[str | None], matrix.Client],
                           issuer: TestIssuer, scenario: str) -> None:
    body = send(client_for, issuer, "/dependency", scenario).comparable()[4]
    default, aware = {
        "signed-in": (matrix.SIGNED_IN_FIELDS, matrix.SIGNED_IN_FIELDS),
        "pending": (matrix.PENDING_FIELDS, matrix.PENDING_AWARE_FIELDS),
        "signed-out": (matrix.SIGNED_OUT_FIELDS, matrix.SIGNED_OUT_FIELDS),
    }[scenario]
    assert body == {"default": default, "aware": aware, "get_auth": default}


@pytest.mark.parametrize(("path", "scenario", "kind", "status", "location"), [
    ("/admin", "signed-in", "api", 200, None),
    ("/admin", "pending", "api", 404, None),
    ("/admin", "signed-out", "page", 307, "https://happy-hippo-1.accounts.dev/sign-in?"),
    ("/pending-ok", "pending", "api", 200, None),
    ("/pending-ok", "signed-out", "api", 404, None),
])
def test_protect_dependency(client_for: Callable[[str | None], matrix.Client],
                            issuer: TestIssuer, path: str, scenario: str, kind: str,
                            *, status: int, location: str | None) -> None:
    outcome = send(client_for, issuer, path, scenario, kind)
    assert outcome.status == status
    assert (outcome.location or "")[: len(location or "")] == (location or "")


@pytest.mark.parametrize(("role", "status", "location"), [
    ("member", 200, None), ("admin", 200, None), ("viewer", 307, "http://app.test/join"),
])
def test_protect_dependency_with_a_predicate(issuer: TestIssuer, role: str, status: int,
                                             location: str | None) -> None:
    token = issuer.session_token(org=OrgClaims(id="org_1", role=role))
    client = make_client(matrix.settings(issuer))
    outcome = client("/members", {"authorization": f"Bearer {token}", **matrix.API})
    assert (outcome.status, outcome.location) == (status, location)


def test_auth_outside_a_request_raises(client_for: Callable[[str | None], matrix.Client],
                                       issuer: TestIssuer) -> None:
    send(client_for, issuer, "/view/fields", scenario="signed-in")
    with pytest.raises(RuntimeError, match="outside a request handled by clerk_middleware"):
        auth()
