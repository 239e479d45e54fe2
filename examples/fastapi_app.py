"""FastAPI with Clerk: a typed ``Auth`` dependency and a protect dependency.

Run (keys from https://dashboard.clerk.com/~/api-keys)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    uvicorn examples.fastapi_app:app
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI

from clerk_middleware.adapters.fastapi import CurrentAuth, ProtectDependency, clerk_middleware
from clerk_middleware.core import Auth

app = FastAPI(middleware=[clerk_middleware()])
AdminAuth = Annotated[Auth, Depends(ProtectDependency(role="org:admin"))]


@app.get("/me")
async def me(current: CurrentAuth) -> dict[str, Any]:
    return {"user_id": current.user_id, "session_status": current.session_status}


@app.get("/admin/members")
async def members(current: AdminAuth) -> dict[str, Any]:
    return {"org_id": current.org_id}
