"""A FastAPI API for machines: API keys, M2M tokens, OAuth access tokens, and browsers too.

Run it with keys from https://dashboard.clerk.com/~/api-keys (or from
``python -m clerk_middleware.testing.instance``)::

    export CLERK_SECRET_KEY=sk_test_... CLERK_PUBLISHABLE_KEY=pk_test_...
    uvicorn examples.fastapi_machine_app:app

Then call it as a machine would::

    curl -H "Authorization: Bearer ak_..." http://localhost:8000/api/reports

The middleware verifies session tokens only (the default); each route says
which machine tokens it takes, so an opaque token reaches Clerk's Backend API
only on a route that accepts its type. ``/docs`` shows the bearer scheme.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI

from clerk_middleware.adapters.fastapi import (
    CurrentApiKey,
    CurrentMachine,
    MachineAuthDependency,
    auth,
    clerk_middleware,
)
from clerk_middleware.core import Auth, MachineAuth

app = FastAPI(title="Reports API", middleware=[clerk_middleware()])


@app.get("/api/reports")
async def reports(key: CurrentApiKey) -> dict[str, Any]:
    """Any valid API key: a user's or an organization's."""
    return {"owner": key.org_id or key.user_id, "key": key.name}


@app.post("/api/reports")
async def create_report(
    key: Annotated[
        MachineAuth, Depends(MachineAuthDependency("api_key", scopes=["reports:write"]))
    ],
) -> dict[str, Any]:
    """API keys that carry the ``reports:write`` scope."""
    return {"created_by": key.subject}


@app.post("/internal/rebuild")
async def rebuild(machine: CurrentMachine) -> dict[str, Any]:
    """Other services of yours, with M2M tokens (opaque ``mt_...`` or JWT)."""
    return {"machine": machine.machine_id, "scopes": machine.scopes}


@app.get("/api/me")
async def me(
    who: Annotated[
        Auth | MachineAuth, Depends(MachineAuthDependency(["session_token", "oauth_token"]))
    ],
) -> dict[str, Any]:
    """The signed-in user, from the browser's session or an OAuth app acting for them."""
    return {"user_id": who.user_id, "via": who.token_type}


@app.get("/api/whoami")
async def whoami() -> dict[str, Any]:
    """Whatever the request carries, without requiring anything."""
    found = await auth.verify(accepts_token="any")
    return {"token_type": found.token_type, "authenticated": found.is_authenticated}
