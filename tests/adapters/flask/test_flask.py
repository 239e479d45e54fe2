"""The Flask adapter (built on the WSGI one), through Flask's test client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from clerk_middleware.adapters.flask import ClerkFlask, auth, clerk_middleware
from clerk_middleware.core import ConfigurationError
from clerk_middleware.testing import TestIssuer

from .. import matrix
from .app import make_app, make_client


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
    outcome = send(client_for, issuer, path)
    assert outcome.status == status
    assert outcome.values("x-clerk-auth-status") == ["signed-out"]


def test_get_auth(client_for: Callable[[str | None], matrix.Client], issuer: TestIssuer) -> None:
    body = send(client_for, issuer, "/get-auth", scenario="pending").comparable()[4]
    assert body == {"default": matrix.PENDING_FIELDS, "aware": matrix.PENDING_AWARE_FIELDS}


@pytest.mark.parametrize(("scenario", "rendered"), [
    ("signed-in", "in||in-aware|admin|protect-aware"),
    ("pending", "|out|in-aware||protect-aware"),
    ("signed-out", "|out|||"),
])
def test_jinja2_helpers(client_for: Callable[[str | None], matrix.Client], issuer: TestIssuer,
                        scenario: str, rendered: str) -> None:
    assert send(client_for, issuer, "/template", scenario).body.decode() == rendered


def test_app_errors_are_flasks_to_handle(issuer: TestIssuer) -> None:
    app = make_app(matrix.settings(issuer))
    app.testing = True  # PROPAGATE_EXCEPTIONS: the app's own error reaches the caller
    with pytest.raises(ValueError, match="an application bug"):
        app.test_client().get("/boom")
    app.testing = False
    response = app.test_client().get("/boom", headers=matrix.API, buffered=True)
    assert response.status_code == 500
    assert response.headers.getlist("x-clerk-auth-status") == ["signed-out"]


def test_auth_outside_a_request_raises(client_for: Callable[[str | None], matrix.Client],
                                       issuer: TestIssuer) -> None:
    send(client_for, issuer, "/view/fields", scenario="signed-in")
    with pytest.raises(RuntimeError, match="outside a request handled by clerk_middleware"):
        auth()


def test_init_app_later_or_at_once(issuer: TestIssuer) -> None:
    later = Flask("later")
    extension = clerk_middleware(**matrix.settings(issuer))
    assert isinstance(extension, ClerkFlask)
    extension.init_app(later)
    at_once = Flask("at_once")
    clerk_middleware(app=at_once, **matrix.settings(issuer))
    for app in (later, at_once):
        assert isinstance(app.extensions["clerk_middleware"], ClerkFlask)
        assert {"signed_in", "signed_out", "protect"} <= set(app.jinja_env.globals)


def test_bad_configuration_fails_at_construction(issuer: TestIssuer) -> None:
    with pytest.raises(ConfigurationError, match="Unknown option"):
        clerk_middleware(secret=issuer.secret_key)
