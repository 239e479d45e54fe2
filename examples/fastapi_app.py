"""FastAPI with Clerk: typed ``Auth`` dependencies, a protect dependency, pending users.

Run it with keys from https://dashboard.clerk.com/~/api-keys (or from
``python -m clerk_middleware.testing.instance``)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    uvicorn examples.fastapi_app:app
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI

from clerk_middleware.adapters.fastapi import (
    AuthDependency,
    ClerkAuth,
    CurrentAuth,
    ProtectDependency,
    clerk_middleware,
)
from clerk_middleware.core import Auth, create_route_matcher

is_private = create_route_matcher(["/me(.*)"])


def handler(auth: ClerkAuth, request: Any) -> None:
    if is_private(auth.request):
        auth.protect()                      # 404 for API calls, sign-in redirect for pages


app = FastAPI(middleware=[clerk_middleware(handler)])

PendingAware = Annotated[Auth, Depends(AuthDependency(treat_pending_as_signed_out=False))]
OrgAdmin = Annotated[Auth, Depends(ProtectDependency(role="org:admin"))]


@app.get("/me")
async def me(current: CurrentAuth) -> dict[str, Any]:
    return {"user_id": current.user_id, "org_id": current.org_id, "org_role": current.org_role}


@app.get("/onboarding")
async def onboarding(current: PendingAware) -> dict[str, Any]:
    return {"user_id": current.user_id, "session_status": current.session_status}


@app.get("/admin/members")
async def members(current: OrgAdmin) -> dict[str, Any]:
    return {"org_id": current.org_id, "permissions": current.org_permissions}
