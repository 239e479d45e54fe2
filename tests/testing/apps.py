"""One small app per adapter, built after the ``clerk`` fixture set ``CLERK_*``.

Every app answers the same three routes:

- ``/dashboard`` -- protected by the middleware handler; JSON of ``auth()``;
- ``/aware`` -- JSON of ``auth(treat_pending_as_signed_out=False)``;
- ``/admin`` -- ``protect(role="org:admin")``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from clerk_middleware.adapters.fastapi import AuthDependency, CurrentAuth, ProtectDependency
from clerk_middleware.core import Auth, create_route_matcher

Fields = dict[str, Any]
is_dashboard = create_route_matcher(["/dashboard(.*)"])
# FastAPI resolves annotations by name: these live at module level.
AwareAuth = Annotated[Auth, Depends(AuthDependency(treat_pending_as_signed_out=False))]
AdminAuth = Annotated[Auth, Depends(ProtectDependency(role="org:admin"))]


def fields(current: Auth) -> Fields:
    return {
        "user_id": current.user_id,
        "session_status": current.session_status,
        "org_id": current.org_id,
        "org_role": current.org_role,
        "org_permissions": list(current.org_permissions or ()),
    }


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)




def flask_app(**settings: Any) -> Any:
    from flask import Flask, Request

    from clerk_middleware.adapters.flask import ClerkAuth, auth, clerk_middleware, protect

    def handler(auth: ClerkAuth, request: Request) -> None:
        if is_dashboard(auth.request):
            auth.protect()

    app = Flask(__name__)
    clerk_middleware(handler, **settings).init_app(app)
    app.add_url_rule("/dashboard", "dashboard", lambda: fields(auth()))
    app.add_url_rule(
        "/aware", "aware", lambda: fields(auth(treat_pending_as_signed_out=False))
    )
    app.add_url_rule("/admin", "admin", protect(role="org:admin")(lambda: fields(auth())))
    return app


def wsgi_app(**settings: Any) -> Any:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from clerk_middleware.adapters.wsgi import ClerkAuth, auth, clerk_middleware

    def handler(auth: ClerkAuth, environ: WSGIEnvironment) -> None:
        if is_dashboard(auth.request):
            auth.protect()
        if environ["PATH_INFO"] == "/admin":
            auth.protect(role="org:admin")

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        aware = environ["PATH_INFO"] == "/aware"
        body = json.dumps(fields(auth(treat_pending_as_signed_out=not aware))).encode()
        start_response("200 OK", [("content-type", "application/json")])
        return [body]

    return clerk_middleware(handler, **settings)(app)


def starlette_app(**settings: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from clerk_middleware.adapters.starlette import ClerkAuth, auth, clerk_middleware, protect

    async def handler(auth: ClerkAuth, request: Request) -> None:
        if is_dashboard(auth.request):
            auth.protect()

    async def dashboard(request: Request) -> JSONResponse:
        return JSONResponse(fields(auth()))

    async def aware(request: Request) -> JSONResponse:
        return JSONResponse(fields(auth(treat_pending_as_signed_out=False)))

    routes = [
        Route("/dashboard", dashboard),
        Route("/aware", aware),
        Route("/admin", protect(role="org:admin")(dashboard)),
    ]
    return Starlette(routes=routes, middleware=[clerk_middleware(handler, **settings)])


def fastapi_app(**settings: Any) -> Any:
    from clerk_middleware.adapters.fastapi import ClerkAuth, clerk_middleware

    def handler(auth: ClerkAuth, request: Any) -> None:
        if is_dashboard(auth.request):
            auth.protect()

    app = FastAPI(middleware=[clerk_middleware(handler, **settings)])

    @app.get("/dashboard")
    async def dashboard(current: CurrentAuth) -> Fields:
        return fields(current)

    @app.get("/aware")
    async def aware(current: AwareAuth) -> Fields:
        return fields(current)

    @app.get("/admin")
    async def admin(current: AdminAuth) -> Fields:
        return fields(current)

    return app


def asgi_app(**settings: Any) -> Any:
    from clerk_middleware.adapters.asgi import ClerkAuth, auth, clerk_middleware

    def handler(auth: ClerkAuth, scope: Any) -> None:
        if is_dashboard(auth.request):
            auth.protect()
        if scope["path"] == "/admin":
            auth.protect(role="org:admin")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        aware = scope["path"] == "/aware"
        body = json.dumps(fields(auth(treat_pending_as_signed_out=not aware))).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return clerk_middleware(handler, **settings)(app)


BUILDERS: dict[str, Callable[..., Any]] = {
    "flask": flask_app,
    "wsgi": wsgi_app,
    "starlette": starlette_app,
    "fastapi": fastapi_app,
    "asgi": asgi_app,
}
WSGI = frozenset({"flask", "wsgi"})


class Sender:
    """``send(path, headers)`` over the framework's own test client, made as its docs make it.

    ``client`` is that client: Flask's ``app.test_client()``, werkzeug's
    ``Client(app)``, or Starlette's ``TestClient(app)``, each with its default
    settings (so with its cookie jar).
    """

    def __init__(self, kind: str, app: Any) -> None:
        self.kind = kind
        self.client: Any
        if kind == "flask":
            self.client = app.test_client()
        elif kind in WSGI:
            from werkzeug.test import Client

            self.client = Client(app)
        else:
            from starlette.testclient import TestClient

            self.client = TestClient(app)

    def __call__(self, path: str, headers: Mapping[str, str]) -> Answer:
        if self.kind in WSGI:
            response = self.client.get(path, headers=dict(headers))
            fields = {k.lower(): v for k, v in response.headers.items()}
            return Answer(response.status_code, fields, response.get_data())
        answer = self.client.get(path, headers=dict(headers), follow_redirects=False)
        return Answer(answer.status_code, dict(answer.headers), answer.content)


def client_for(kind: str, app: Any) -> Sender:
    """``send(path, headers)`` over the framework's default test client."""
    return Sender(kind, app)
