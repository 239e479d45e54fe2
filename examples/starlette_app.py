"""Starlette with Clerk: the middleware handler, ``request.user``, and ``@protect``.

Run (keys from https://dashboard.clerk.com/~/api-keys)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    uvicorn examples.starlette_app:app
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from clerk_middleware.adapters.starlette import ClerkAuth, auth, clerk_middleware, protect
from clerk_middleware.core._routes import create_route_matcher

is_api = create_route_matcher(["/api(.*)"])


async def handler(auth: ClerkAuth, request: Request) -> Response | None:
    if is_api(auth.request) and not auth().is_signed_in:
        return JSONResponse({"error": "sign in first"}, status_code=401)
    return None


async def home(request: Request) -> Response:
    name = request.user.display_name if request.user.is_authenticated else "stranger"
    return PlainTextResponse(f"Hello, {name}")


@requires("authenticated", redirect="home")
async def settings(request: Request) -> Response:
    return PlainTextResponse("settings")


@protect(role="org:admin")
async def api_admin(request: Request) -> Response:
    return JSONResponse({"org_id": auth().org_id})


app = Starlette(
    routes=[
        Route("/", home, name="home"),
        Route("/settings", settings),
        Route("/api/admin", api_admin),
    ],
    middleware=[clerk_middleware(handler)],
)
