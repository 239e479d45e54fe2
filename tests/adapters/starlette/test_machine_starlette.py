"""Starlette with machine tokens: async verification, ``@requires`` scopes, the event-loop rule.

Opaque tokens are verified by a real local instance over HTTP (``clerk_local``).
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from clerk_middleware.adapters.starlette import auth, clerk_middleware
from clerk_middleware.testing import ClerkTestKit, LocalClerkTestKit


async def verified(request: Request) -> JSONResponse:
    key = await auth.protect_async(token="api_key", scopes=["read"])
    return JSONResponse({"subject": key.subject})


async def blocking(request: Request) -> JSONResponse:
    key = auth(accepts_token="api_key")  # would need the network on the loop
    return JSONResponse({"subject": getattr(key, "subject", None)})


@requires(["authenticated", "reports:write"])
async def writer(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.user.identity, "scopes": request.auth.scopes})


def app(**options: Any) -> Starlette:
    return Starlette(
        routes=[
            Route("/verified", verified),
            Route("/blocking", blocking),
            Route("/writer", writer),
        ],
        middleware=[clerk_middleware(**options)],
    )


def test_protect_async_verifies_an_opaque_key(clerk_local: LocalClerkTestKit) -> None:
    client = TestClient(app())
    good = clerk_local.api_key("org_2acme", scopes=["read"])
    assert client.get("/verified", headers=good).json() == {"subject": "org_2acme"}
    assert client.get("/verified", headers=clerk_local.api_key(scopes=["x"])).status_code == 401
    assert client.get("/verified", headers=clerk_local.signed_in()).status_code == 401


def test_a_sync_check_that_needs_the_network_says_to_await(
    clerk_local: LocalClerkTestKit,
) -> None:
    client = TestClient(app(), raise_server_exceptions=True)
    with pytest.raises(RuntimeError, match=r"await auth\.verify"):
        client.get("/blocking", headers=clerk_local.api_key("user_2abc"))
    assert clerk_local.instance.count("api_key_verify") == 0


def test_requires_sees_the_scopes_of_a_key_the_middleware_accepts(
    clerk_local: LocalClerkTestKit,
) -> None:
    client = TestClient(app(accepts_token=["session_token", "api_key"]))
    writer_key = clerk_local.api_key("org_2acme", scopes=["reports:write"])
    body = client.get("/writer", headers=writer_key).json()
    assert body == {"user": "org_2acme", "scopes": ["authenticated", "reports:write"]}
    reader_key = clerk_local.api_key("org_2acme", scopes=["reports:read"])
    assert client.get("/writer", headers=reader_key).status_code == 403
    # A signed-in browser has no scopes beyond "authenticated".
    assert client.get("/writer", headers=clerk_local.signed_in()).status_code == 403


def test_the_default_middleware_never_verifies_opaque_tokens(clerk: ClerkTestKit) -> None:
    client = TestClient(app())
    # Without a route asking for API keys, a made-up key is just not a session.
    response = client.get("/writer", headers={"authorization": "Bearer ak_made_up"})
    assert response.status_code == 403
    # Clerk's session flow reads an opaque token as a malformed JWT.
    assert response.headers["x-clerk-auth-reason"] == "token-invalid"
