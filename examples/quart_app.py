"""Quart with Clerk, through the ASGI adapter: a public home, a dashboard, an admin page.

Run it with keys from https://dashboard.clerk.com/~/api-keys (or from
``python -m clerk_middleware.testing.instance``)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    hypercorn examples.quart_app:app
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Quart

from clerk_middleware.adapters.asgi import ClerkAuth, auth, clerk_middleware
from clerk_middleware.core import AuthControlFlow, create_route_matcher

is_protected = create_route_matcher(["/dashboard(.*)"])


def handler(auth: ClerkAuth, scope: Mapping[str, Any]) -> None:
    if is_protected(auth.request):          # the path Quart routes on
        auth.protect()                      # signed-out or pending -> sign-in page (or a 404)


app = Quart(__name__)
# Keys from CLERK_SECRET_KEY / CLERK_PUBLISHABLE_KEY. (Quart types ASGI scopes as
# TypedDicts, the adapter as mappings: the same dicts, hence the ignore for mypy.)
app.asgi_app = clerk_middleware(handler)(app.asgi_app)  # type: ignore[arg-type,assignment]


@app.errorhandler(AuthControlFlow)          # auth.protect() in a view: Clerk's answer, not a 500
async def clerk_answer(exc: AuthControlFlow) -> tuple[str, int, list[tuple[str, str]]]:
    return "", exc.status_code, list(exc.headers)


@app.get("/")
async def home() -> str:
    if auth().is_signed_in:
        return f"Hello, {auth().user_id}"
    if auth(treat_pending_as_signed_out=False).is_signed_in:
        return "Almost there: choose an organization."
    return "Hello, stranger"


@app.get("/dashboard")
async def dashboard() -> dict[str, Any]:
    return {"user_id": auth().user_id, "org_id": auth().org_id}


@app.get("/admin")
async def admin() -> dict[str, Any]:
    auth.protect(role="org:admin")          # members get Clerk's 404
    return {"org_id": auth().org_id, "org_role": auth().org_role}
