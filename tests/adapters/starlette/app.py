"""The matrix app in Starlette, and its test client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import DictLoader, Environment
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.testclient import TestClient

from clerk_middleware.adapters.starlette import (
    ClerkAuth,
    auth,
    clerk_middleware,
    get_auth,
    protect,
    register_jinja2_helpers,
)

from .. import matrix

TEMPLATE = """\
{% if signed_in() %}in{% endif %}|{% if signed_out() %}out{% endif %}|\
{% if signed_in(treat_pending_as_signed_out=False) %}in-aware{% endif %}|\
{% if protect(role="org:admin") %}admin{% endif %}|\
{% if protect(treat_pending_as_signed_out=False) %}protect-aware{% endif %}"""

templates = register_jinja2_helpers(
    Jinja2Templates(env=Environment(loader=DictLoader({"page.html": TEMPLATE}), autoescape=True))
)


def handler(auth: ClerkAuth, request: Request) -> Response | None:
    """The shared handler (sync here), plus a native short-circuit on /teapot."""
    if request.url.path == "/teapot":
        return PlainTextResponse("teapot", status_code=418)
    matrix.handler(auth, request)
    return None


async def view(request: Request) -> Response:
    return JSONResponse(matrix.view_body(auth))


def sync_view(request: Request) -> Response:
    # Sync endpoints run in a thread pool: the context must follow them there.
    return JSONResponse(matrix.view_body(auth))


async def get_auth_view(request: Request) -> Response:
    return JSONResponse({
        "default": matrix.fields(get_auth(request)),
        "aware": matrix.fields(get_auth(request, treat_pending_as_signed_out=False)),
        "user": [request.user.is_authenticated, request.user.display_name],
        "scopes": request.auth.scopes,
    })


@requires("authenticated")
async def requires_view(request: Request) -> Response:
    return PlainTextResponse(request.user.identity)


async def template_view(request: Request) -> Response:
    return templates.TemplateResponse(request, "page.html")


async def boom(request: Request) -> Response:
    raise ValueError("an application bug")


def make_app(settings: Mapping[str, Any]) -> Starlette:
    """A Starlette app with the matrix routes."""
    routes = [
        Route("/handler/{action}", view),
        Route("/view/{action}", view),
        Route("/matcher/{rest:path}", view),
        Route("/view-matcher/{rest:path}", view),
        Route("/get-auth", get_auth_view),
        Route("/requires", requires_view),
        Route("/template", template_view),
        Route("/boom", boom),
        *(Route(f"/decorated/{action}", helper(sync_view))
          for action, helper in matrix.decorated(protect).items()),
    ]
    return Starlette(routes=routes, middleware=[clerk_middleware(handler, **settings)])


def outcome(response: Any) -> matrix.Outcome:
    """A ``matrix.Outcome`` from an httpx-style response."""
    return matrix.Outcome(response.status_code, tuple(response.headers.multi_items()),
                          response.content)


def make_client(settings: Mapping[str, Any]) -> matrix.Client:
    """A ``matrix.Client`` over Starlette's TestClient."""
    client = TestClient(make_app(settings), base_url=matrix.BASE, follow_redirects=False)

    def send(path: str, headers: Mapping[str, str]) -> matrix.Outcome:
        return outcome(client.get(path, headers=dict(headers)))

    return send
