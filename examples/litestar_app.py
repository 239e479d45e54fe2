"""Litestar with Clerk, through the ASGI adapter: a public home, a dashboard, an admin page.

Run it with keys from https://dashboard.clerk.com/~/api-keys (or from
``python -m clerk_middleware.testing.instance``)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    uvicorn examples.litestar_app:app
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Litestar, Request, Response, get

from clerk_middleware.adapters.asgi import ClerkAuth, auth, clerk_middleware
from clerk_middleware.core import AuthControlFlow, create_route_matcher

is_protected = create_route_matcher(["/dashboard(.*)"])


def handler(auth: ClerkAuth, scope: Mapping[str, Any]) -> None:
    if is_protected(auth.request):          # the path Litestar routes on
        auth.protect()                      # signed-out or pending -> sign-in page (or a 404)


def clerk_answer(request: Request[Any, Any, Any], exc: AuthControlFlow) -> Response[bytes]:
    # auth.protect() in a route handler: Clerk's answer, not a 500.
    return Response(b"", status_code=exc.status_code, headers=dict(exc.headers))


@get("/")
async def home() -> str:
    if auth().is_signed_in:
        return f"Hello, {auth().user_id}"
    if auth(treat_pending_as_signed_out=False).is_signed_in:
        return "Almost there: choose an organization."
    return "Hello, stranger"


@get("/dashboard")
async def dashboard() -> dict[str, Any]:
    return {"user_id": auth().user_id, "org_id": auth().org_id}


@get("/admin", sync_to_thread=True)           # sync handlers in a thread see auth() too
def admin() -> dict[str, Any]:
    auth.protect(role="org:admin")          # members get Clerk's 404
    return {"org_id": auth().org_id, "org_role": auth().org_role}


# Keys from CLERK_SECRET_KEY / CLERK_PUBLISHABLE_KEY. (Litestar types ASGI scopes as
# TypedDicts, the adapter as mappings: the same dicts, hence the ignore for mypy.)
app = Litestar(
    route_handlers=[home, dashboard, admin],
    middleware=[clerk_middleware(handler)],  # type: ignore[list-item]
    exception_handlers={AuthControlFlow: clerk_answer},
)
