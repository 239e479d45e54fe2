"""The matrix app as a plain ASGI application, and an httpx ASGITransport client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import httpx

from clerk_middleware.adapters.asgi import (
    ASGIApp,
    ClerkAuth,
    Receive,
    Scope,
    Send,
    auth,
    clerk_middleware,
    get_auth,
    protect,
)

from .. import matrix


async def _json(send: Send, body: Any, status: int = 200) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _teapot(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b"teapot"})


async def handler(auth: ClerkAuth, scope: Scope) -> ASGIApp | None:
    """The shared handler (async here), plus a native short-circuit on /teapot."""
    if scope["path"] == "/teapot":
        return _teapot
    matrix.handler(auth, scope)
    return None


async def _decorated_view() -> dict[str, Any]:
    return matrix.view_body(auth)


DECORATED = {
    action: helper(_decorated_view) for action, helper in matrix.decorated(protect).items()
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Dispatch on the path."""
    path = scope["path"]
    if path.startswith("/decorated/"):
        await _json(send, await DECORATED[path.removeprefix("/decorated/")]())
    elif path == "/get-auth":
        await _json(send, {
            "default": matrix.fields(get_auth(scope)),
            "aware": matrix.fields(get_auth(scope, treat_pending_as_signed_out=False)),
            "user": [scope["user"].is_authenticated, scope["user"].identity],
            "scopes": scope["auth"].scopes,
        })
    elif path == "/late-protect":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        auth.protect()
    elif path == "/boom":
        raise ValueError("an application bug")
    else:
        await _json(send, matrix.view_body(auth))


def make_app(settings: Mapping[str, Any]) -> ASGIApp:
    """The middleware around the app."""
    return clerk_middleware(handler, **settings)(app)


def make_client(settings: Mapping[str, Any]) -> matrix.Client:
    """A ``matrix.Client`` over httpx's ASGI transport, one event loop per request."""
    transport = httpx.ASGITransport(app=make_app(settings))

    async def fetch(path: str, headers: Mapping[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url=matrix.BASE) as client:
            return await client.get(path, headers=dict(headers))

    def send(path: str, headers: Mapping[str, str]) -> matrix.Outcome:
        response = asyncio.run(fetch(path, headers))
        return matrix.Outcome(response.status_code, tuple(response.headers.multi_items()),
                              response.content)

    return send
