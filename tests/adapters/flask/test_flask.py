"""The Flask adapter (built on the WSGI one), through Flask's test client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from clerk_middleware.adapters.flask import ClerkFlask, ClerkFlaskState, auth, clerk_middleware
from clerk_middleware.core import ConfigurationError
from clerk_middleware.testing import TestIssuer

from .. import matrix
from ..clients import client_for_fixture, send
from .app import make_app, make_client

client_for = client_for_fixture(make_client)


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
    other = clerk_middleware(app=at_once, **matrix.settings(issuer))
    for app, made_by in ((later, extension), (at_once, other)):
        state = app.extensions["clerk_middleware"]
        assert isinstance(state, ClerkFlaskState) and state.extension is made_by
        assert {"signed_in", "signed_out", "protect"} <= set(app.jinja_env.globals)


def test_bad_configuration_fails_at_construction(issuer: TestIssuer) -> None:
    with pytest.raises(ConfigurationError, match="Unknown option"):
        clerk_middleware(secret=issuer.secret_key)
