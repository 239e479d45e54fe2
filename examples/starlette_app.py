"""Starlette with Clerk: the middleware handler, ``request.user``, ``@protect`` and pending users.

Run it with keys from https://dashboard.clerk.com/~/api-keys (or from
``python -m clerk_middleware.testing.instance``)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    uvicorn examples.starlette_app:app
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from clerk_middleware.adapters.starlette import ClerkAuth, auth, clerk_middleware, protect
from clerk_middleware.core import create_route_matcher

is_api = create_route_matcher(["/api(.*)"])


async def handler(auth: ClerkAuth, request: Request) -> Response | None:
    # An API answers 401 itself instead of redirecting to sign-in.
    if is_api(auth.request) and not auth().is_signed_in:
        return JSONResponse({"error": "sign in first"}, status_code=401)
    return None


async def home(request: Request) -> Response:
    name = request.user.display_name if request.user.is_authenticated else "stranger"
    return PlainTextResponse(f"Hello, {name}")


async def onboarding(request: Request) -> Response:
    # Pending users (an after-auth task is open) are signed out for auth(), not here.
    me = auth(treat_pending_as_signed_out=False)
    return JSONResponse({"user_id": me.user_id, "session_status": me.session_status})


@protect()
async def dashboard(request: Request) -> Response:
    return JSONResponse({"user_id": auth().user_id, "org_id": auth().org_id})


@protect(role="org:admin")
async def api_admin(request: Request) -> Response:
    return JSONResponse({"org_id": auth().org_id, "org_role": auth().org_role})


app = Starlette(
    routes=[
        Route("/", home),
        Route("/onboarding", onboarding),
        Route("/dashboard", dashboard),
        Route("/api/admin", api_admin),
    ],
    middleware=[clerk_middleware(handler)],
)
