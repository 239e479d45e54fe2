"""``clerk.configure(app)`` finds the middleware without knowing the framework.

Plain ASGI and WSGI apps are wrapped in many shapes: by classes keeping the
app in an attribute (``.app``, Quart's ``.asgi_app``), by closures, by
``functools.partial``, or mounted beneath a router.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from clerk_middleware.adapters.asgi import clerk_middleware as asgi_clerk_middleware
from clerk_middleware.testing import ClerkTestKit, TestIssuer

from .apps import BUILDERS

OTHER = TestIssuer()
OTHER_KEYS: dict[str, Any] = {
    "secret_key": OTHER.secret_key,
    "publishable_key": OTHER.publishable_key,
    "jwt_key": OTHER.jwt_key,
}


def user_id(app: Any, clerk: ClerkTestKit, path: str = "/dashboard") -> str | None:
    answer = TestClient(app).get(path, headers=clerk.signed_in())
    return json.loads(answer.content)["user_id"] if answer.status_code == 200 else None


def plain_asgi() -> Any:
    """A plain ASGI app behind clerk_middleware, built with another instance's keys."""
    return BUILDERS["asgi"](**OTHER_KEYS)


def logging_middleware(app: Any) -> Any:
    """An ASGI middleware written as a closure: nothing names the app it wraps."""

    async def logged(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)

    return logged


async def call_with_prefix(app: Any, prefix: str, scope: Any, receive: Any, send: Any) -> None:
    await app({**scope, "root_path": prefix}, receive, send)


class QuartLike:
    """An app object in Quart's shape: its ASGI callable is ``self.asgi_app``."""

    def __init__(self, asgi_app: Any) -> None:
        self.asgi_app = asgi_app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.asgi_app(scope, receive, send)


def test_a_plain_asgi_app_beneath_a_closure(clerk: ClerkTestKit) -> None:
    app = logging_middleware(plain_asgi())
    assert user_id(app, clerk) is None  # the other instance's key
    assert clerk.configure(app) is app
    assert user_id(app, clerk) == "user_test"


def test_a_plain_asgi_app_beneath_a_partial(clerk: ClerkTestKit) -> None:
    app = partial(call_with_prefix, plain_asgi(), "")
    clerk.configure(app)
    assert user_id(app, clerk) == "user_test"


def test_an_app_keeping_its_asgi_callable_in_asgi_app(clerk: ClerkTestKit) -> None:
    app = QuartLike(plain_asgi())
    clerk.configure(app)
    assert user_id(app, clerk) == "user_test"


def test_a_wrapped_app_mounted_beneath_a_router(clerk: ClerkTestKit) -> None:
    app = Starlette(routes=[Mount("/api", app=plain_asgi())])
    clerk.configure(app)
    assert user_id(app, clerk, "/api/dashboard") == "user_test"


def test_every_middleware_in_the_app_is_pointed_at_the_kit(clerk: ClerkTestKit) -> None:
    wrapped = plain_asgi()
    inner = asgi_clerk_middleware(**OTHER_KEYS)(wrapped)  # two layers
    app = logging_middleware(inner)
    clerk.configure(app)
    assert inner.options == clerk.options
    assert wrapped.options == clerk.options
    assert user_id(app, clerk) == "user_test"


def test_a_started_starlette_app_is_pointed_at_the_kit(clerk: ClerkTestKit) -> None:
    app = BUILDERS["starlette"](**OTHER_KEYS)
    assert user_id(app, clerk) is None  # builds its middleware stack
    clerk.configure(app)
    assert user_id(app, clerk) == "user_test"


def test_a_flask_app_served_through_its_wsgi_app(clerk: ClerkTestKit) -> None:
    app = BUILDERS["flask"](**OTHER_KEYS)
    clerk.configure(app.wsgi_app)  # what a WSGI server holds
    answer = app.test_client().get("/dashboard", headers=clerk.signed_in())
    assert answer.json is not None and answer.json["user_id"] == "user_test"
