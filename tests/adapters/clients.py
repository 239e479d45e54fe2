"""One test client per adapter, and the helpers every adapter's tests share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from clerk_middleware.testing import TestIssuer

from . import matrix

MakeClient = Callable[[Mapping[str, Any]], matrix.Client]
ClientFor = Callable[[str | None], matrix.Client]


def client_for_fixture(make_client: MakeClient) -> Any:
    """A module-scoped ``client_for`` fixture: one client per ``tasks_url``, built on demand."""

    @pytest.fixture(scope="module")
    def client_for(issuer: TestIssuer) -> ClientFor:
        clients: dict[str | None, matrix.Client] = {}

        def get(tasks_url: str | None) -> matrix.Client:
            if tasks_url not in clients:
                clients[tasks_url] = make_client(matrix.settings(issuer, tasks_url=tasks_url))
            return clients[tasks_url]

        return get

    return client_for


def send(
    client_for: ClientFor,
    issuer: TestIssuer,
    path: str,
    scenario: str = "signed-out",
    kind: str = "page",
) -> matrix.Outcome:
    """One request through the adapter's client (no ``tasks_url``)."""
    return client_for(None)(path, matrix.request_headers(issuer, scenario, kind))


def factories() -> dict[str, MakeClient]:
    """``make_client`` of every adapter, by name (imported here, not at module level:
    the apps import ``matrix``, which must not import them back)."""
    from .asgi import app as asgi_app
    from .django import app as django_app
    from .fastapi import app as fastapi_app
    from .flask import app as flask_app
    from .starlette import app as starlette_app
    from .wsgi import app as wsgi_app

    return {
        "wsgi": wsgi_app.make_client,
        "flask": flask_app.make_client,
        "asgi": asgi_app.make_client,
        "starlette": starlette_app.make_client,
        "fastapi": fastapi_app.make_client,
        "django": django_app.make_client,
        "django-async": django_app.make_async_client,
    }
