"""The same request gives the same outcome in every adapter."""

from __future__ import annotations

import pytest

from clerk_middleware.testing import TestIssuer

from ..conftest import NOW
from . import matrix
from .clients import factories

FACTORIES = factories()


@pytest.fixture(scope="module")
def clients(issuer: TestIssuer) -> dict[tuple[str, str | None], matrix.Client]:
    return {
        (name, tasks_url): factory(matrix.settings(issuer, tasks_url=tasks_url))
        for name, factory in FACTORIES.items()
        for tasks_url in (None, matrix.TASKS_URL)
    }


EXTRA_PATHS = ["/teapot", "/matcher/%E0%A4", "/view-matcher/%E0%A4", "/matcher/secret",
               "/view/protect-tasks"]


@pytest.mark.parametrize("case", matrix.ALL_CASES, ids=matrix.ids(matrix.ALL_CASES))
def test_every_adapter_answers_alike(clients: dict[tuple[str, str | None], matrix.Client],
                                     issuer: TestIssuer, case: matrix.Case) -> None:
    headers = matrix.request_headers(issuer, case.scenario, case.kind)
    outcomes = {name: clients[name, case.tasks_url](case.path, headers).comparable()
                for name in FACTORIES}
    first = outcomes["wsgi"]
    assert all(outcome == first for outcome in outcomes.values()), outcomes


@pytest.mark.parametrize("path", EXTRA_PATHS)
@pytest.mark.parametrize("scenario", ["signed-in", "pending", "signed-out"])
def test_extra_routes_answer_alike(clients: dict[tuple[str, str | None], matrix.Client],
                                   issuer: TestIssuer, path: str, scenario: str) -> None:
    headers = matrix.request_headers(issuer, scenario, "page")
    outcomes = {name: clients[name, None](path, headers) for name in FACTORIES}
    summary = {name: (o.status, o.location, o.values("x-clerk-auth-reason"))
               for name, o in outcomes.items()}
    first = summary["wsgi"]
    assert all(outcome == first for outcome in summary.values()), summary


def test_a_consumed_handshake_redirects_in_every_adapter(
    clients: dict[tuple[str, str | None], matrix.Client], issuer: TestIssuer
) -> None:
    # A signed-in state may carry a location (development handshake): answer it with a 307
    # and its cookies, before the handler or the app run.
    session = issuer.session_token()
    handshake = issuer.handshake_token([f"__session={session}; Path=/",
                                        f"__client_uat={int(NOW)}; Path=/"])
    headers = {**matrix.PAGE, "cookie": f"__clerk_db_jwt={matrix.DEV_BROWSER}"}
    for name in FACTORIES:
        outcome = clients[name, None](f"/handler/redirect?__clerk_handshake={handshake}", headers)
        assert (outcome.status, outcome.location) == (307, f"{matrix.BASE}/handler/redirect")
        assert outcome.values("set-cookie") == [f"__session={session}; Path=/",
                                               f"__client_uat={int(NOW)}; Path=/"]
        assert outcome.values("cache-control") == ["no-store"]
        assert outcome.values("x-clerk-redirect-to") == []
