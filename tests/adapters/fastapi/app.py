"""The matrix app in FastAPI, and its test client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.testclient import TestClient

from clerk_middleware.adapters.fastapi import (
    AuthDependency,
    ClerkAuth,
    CurrentAuth,
    ProtectDependency,
    auth,
    clerk_middleware,
    get_auth,
    protect,
)
from clerk_middleware.core import Auth

from .. import matrix

PendingAwareAuth = Annotated[Auth, Depends(AuthDependency(treat_pending_as_signed_out=False))]
AdminAuth = Annotated[Auth, Depends(ProtectDependency(role="org:admin"))]


async def handler(auth: ClerkAuth, request: Request) -> Response | None:
    """The shared handler (async here), plus a native short-circuit on /teapot."""
    if request.url.path == "/teapot":
        return PlainTextResponse("teapot", status_code=418)
    matrix.handler(auth, request)
    return None


async def view(request: Request) -> dict[str, Any]:
    return matrix.view_body(auth)


def make_app(settings: Mapping[str, Any]) -> FastAPI:
    """A FastAPI app with the matrix routes and the dependencies."""
    app = FastAPI(middleware=[clerk_middleware(handler, **settings)])
    for path in ("/handler/{action}", "/view/{action}", "/matcher/{rest:path}",
                 "/view-matcher/{rest:path}"):
        app.add_api_route(path, view)
    for action, helper in matrix.decorated(protect).items():
        app.add_api_route(f"/decorated/{action}", helper(view))

    @app.get("/dependency")
    async def dependency(current: CurrentAuth, aware: PendingAwareAuth,
                         request: Request) -> dict[str, Any]:
        return {"default": matrix.fields(current), "aware": matrix.fields(aware),
                "get_auth": matrix.fields(get_auth(request))}

    @app.get("/admin")
    def admin(current: AdminAuth) -> dict[str, Any]:
        return matrix.fields(current)

    @app.get("/members")
    async def members(
        current: Annotated[Auth, Depends(ProtectDependency(
            lambda has: has(role="org:admin") or has(role="org:member"),
            unauthorized_url="/join",
        ))],
    ) -> dict[str, Any]:
        return matrix.fields(current)

    @app.get("/pending-ok")
    async def pending_ok(
        current: Annotated[Auth, Depends(ProtectDependency(treat_pending_as_signed_out=False))],
    ) -> dict[str, Any]:
        return matrix.fields(current)

    return app


def make_client(settings: Mapping[str, Any]) -> matrix.Client:
    """A ``matrix.Client`` over FastAPI's TestClient."""
    client = TestClient(make_app(settings), base_url=matrix.BASE, follow_redirects=False)

    def send(path: str, headers: Mapping[str, str]) -> matrix.Outcome:
        response = client.get(path, headers=dict(headers))
        return matrix.Outcome(response.status_code, tuple(response.headers.multi_items()),
                              response.content)

    return send
