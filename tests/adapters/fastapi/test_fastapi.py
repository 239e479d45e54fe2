"""The FastAPI adapter (built on the Starlette one), through FastAPI's TestClient."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clerk_middleware.adapters.fastapi import auth
from clerk_middleware.testing import OrgClaims, TestIssuer

from .. import matrix
from ..clients import client_for_fixture, send
from .app import make_client

client_for = client_for_fixture(make_client)


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
