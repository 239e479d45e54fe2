"""One small app per adapter, all with the same routes, and raw drivers for them.

The drivers call the WSGI or ASGI callable directly with an environ or scope
built from raw bytes, the way a server would, so a test can send what no
well-behaved HTTP client would (control characters, non-UTF-8, odd hosts).
An exception escaping the app is what a real server turns into a 500.

Routes (every adapter):

``/``                 the auth fields as JSON (``auth()`` in the view)
``/get-auth``         the same through ``get_auth(request)``
``/protect``          the handler calls ``auth.protect()``
``/handler-role``     the handler calls ``auth.protect(role="org:admin")``
``/view-role``        the view calls ``auth.protect(role="org:admin")``
``/decorated-role``   ``@protect(role="org:admin")`` on the view
``/helpers``          ``bool(signed_in())`` and ``bool(protect(role="org:admin"))`` as JSON
``/redirect``         the handler calls ``auth.redirect_to_sign_in()``
``/dependency-role``  FastAPI only: ``Depends(ProtectDependency(role="org:admin"))``
``/requires``         Starlette and FastAPI: ``@requires("authenticated")``
``/current``          FastAPI only: the ``CurrentAuth`` dependency
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote, unquote_to_bytes
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from fastapi import Depends, FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clerk_middleware.adapters import asgi as asgi_adapter
from clerk_middleware.adapters import fastapi as fastapi_adapter
from clerk_middleware.adapters import flask as flask_adapter
from clerk_middleware.adapters import starlette as starlette_adapter
from clerk_middleware.adapters import wsgi as wsgi_adapter
from clerk_middleware.adapters._common import ClerkAuth, auth, protect, signed_in
from clerk_middleware.core import Auth
from clerk_middleware.testing import TestIssuer

ADAPTERS = ("wsgi", "flask", "asgi", "starlette", "fastapi")
ROLE = "org:admin"
ROUTES = (
    "/", "/get-auth", "/protect", "/handler-role", "/view-role", "/decorated-role",
    "/helpers", "/redirect",
)
EXTRA_ROUTES: dict[str, tuple[str, ...]] = {
    "starlette": ("/requires",),
    "fastapi": ("/requires", "/dependency-role", "/current"),
}
RawHeaders = list[tuple[bytes, bytes]]
ASGIApp = asgi_adapter.ASGIApp


def settings_of(issuer: TestIssuer, **extra: Any) -> dict[str, Any]:
    """``clerk_middleware(**settings)`` keyword arguments for ``issuer``'s instance."""
    options = issuer.options()
    settings: dict[str, Any] = {
        "secret_key": options.secret_key,
        "publishable_key": options.publishable_key,
        "jwt_key": options.jwt_key,
        "clock": options.clock,
    }
    settings.update(extra)
    return settings


def fields(value: Auth) -> dict[str, Any]:
    """What every route that lets the request through answers."""
    return {
        "user_id": value.user_id,
        "session_status": value.session_status,
        "is_signed_in": value.is_signed_in,
        "has_admin": value.has(role=ROLE),
        "org_role": value.org_role,
    }


def helpers() -> dict[str, Any]:
    """The control helpers' truth values (what a template sees)."""
    return {"signed_in": bool(signed_in()), "admin": bool(protect(role=ROLE))}


def run_handler(bound: ClerkAuth) -> None:
    """The middleware handler every adapter runs."""
    path = bound.request.path
    if path == "/protect":
        bound.protect()
    elif path == "/handler-role":
        bound.protect(role=ROLE)
    elif path == "/redirect":
        bound.redirect_to_sign_in()


def view_body(path: str) -> dict[str, Any]:
    """What the view answers for ``path`` (``auth()`` read through the ContextVar)."""
    if path == "/view-role":
        auth.protect(role=ROLE)
    if path == "/helpers":
        return helpers()
    return fields(auth())


@protect(role=ROLE)
def _decorated_body() -> dict[str, Any]:
    return fields(auth())


@protect(role=ROLE)
async def _decorated_body_async() -> dict[str, Any]:
    return fields(auth())


# --- WSGI and Flask ----------------------------------------------------------------------------


def _json_wsgi(start_response: StartResponse, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]


def _plain_wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == "/decorated-role":
        return _json_wsgi(start_response, _decorated_body())
    if path == "/get-auth":
        return _json_wsgi(start_response, fields(wsgi_adapter.get_auth(environ)))
    return _json_wsgi(start_response, view_body(path))


def make_wsgi(settings: Mapping[str, Any]) -> WSGIApplication:
    """A plain WSGI app behind ``clerk_middleware``."""

    def handler(bound: ClerkAuth, environ: WSGIEnvironment) -> None:
        run_handler(bound)

    return wsgi_adapter.clerk_middleware(handler, **settings)(_plain_wsgi)


def make_flask(settings: Mapping[str, Any]) -> Flask:
    """A Flask app behind ``clerk_middleware``."""
    app = Flask("security_app")

    def handler(bound: ClerkAuth, request: Any) -> None:
        run_handler(bound)

    flask_adapter.clerk_middleware(handler, app=app, **settings)

    def view(**_: Any) -> dict[str, Any]:
        from flask import request

        return view_body(request.path)

    for rule in ROUTES:
        if rule not in ("/decorated-role", "/get-auth"):
            app.add_url_rule(rule, endpoint=rule, view_func=view, methods=["GET", "POST", "HEAD"])
    app.add_url_rule("/decorated-role", endpoint="decorated", view_func=_decorated_body)

    @app.route("/get-auth")
    def get_auth_view() -> dict[str, Any]:
        from flask import request

        return fields(flask_adapter.get_auth(request))

    return app


# --- ASGI, Starlette, FastAPI ------------------------------------------------------------------


async def _json_asgi(send: asgi_adapter.Send, body: Any) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


async def _plain_asgi(
    scope: asgi_adapter.Scope, receive: asgi_adapter.Receive, send: asgi_adapter.Send
) -> None:
    path = scope["path"]
    if path == "/decorated-role":
        await _json_asgi(send, await _decorated_body_async())
    elif path == "/get-auth":
        await _json_asgi(send, fields(asgi_adapter.get_auth(scope)))
    else:
        await _json_asgi(send, view_body(path))


def make_asgi(settings: Mapping[str, Any]) -> ASGIApp:
    """A plain ASGI app behind ``clerk_middleware``."""

    async def handler(bound: ClerkAuth, scope: asgi_adapter.Scope) -> None:
        run_handler(bound)

    return asgi_adapter.clerk_middleware(handler, **settings)(_plain_asgi)


async def _starlette_view(request: Request) -> Response:
    return JSONResponse(view_body(request.scope["path"]))


@protect(role=ROLE)
async def _starlette_decorated(request: Request) -> Response:
    return JSONResponse(fields(auth()))


async def _starlette_get_auth(request: Request) -> Response:
    return JSONResponse(fields(starlette_adapter.get_auth(request)))


@requires("authenticated")
async def _starlette_requires(request: Request) -> Response:
    return JSONResponse({"user": request.user.identity})


def _starlette_handler(bound: ClerkAuth, request: Request) -> None:
    run_handler(bound)


def _starlette_routes() -> list[Route]:
    plain = [r for r in ROUTES if r not in ("/decorated-role", "/get-auth")]
    return [
        *(Route(path, _starlette_view, methods=["GET", "POST", "HEAD"]) for path in plain),
        Route("/decorated-role", _starlette_decorated),
        Route("/get-auth", _starlette_get_auth),
        Route("/requires", _starlette_requires),
    ]


def make_starlette(settings: Mapping[str, Any]) -> Starlette:
    """A Starlette app behind ``clerk_middleware`` (sync handler)."""
    return Starlette(
        routes=_starlette_routes(),
        middleware=[starlette_adapter.clerk_middleware(_starlette_handler, **settings)],
    )


def make_fastapi(settings: Mapping[str, Any]) -> FastAPI:
    """A FastAPI app behind ``clerk_middleware``, with its dependencies."""
    app = FastAPI(middleware=[fastapi_adapter.clerk_middleware(_starlette_handler, **settings)])
    for route in _starlette_routes():
        app.router.routes.append(route)

    @app.get("/dependency-role")
    async def dependency_role(
        value: Annotated[Auth, Depends(fastapi_adapter.ProtectDependency(role=ROLE))],
    ) -> dict[str, Any]:
        return fields(value)

    @app.get("/current")
    async def current(value: fastapi_adapter.CurrentAuth) -> dict[str, Any]:
        return fields(value)

    return app


# --- raw drivers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A response as the server would put it on the wire."""

    status: int
    headers: RawHeaders
    body: bytes

    def header(self, name: bytes) -> list[bytes]:
        """All values of header ``name`` (lower case)."""
        return [value for key, value in self.headers if key.lower() == name]

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def wsgi_environ(
    method: str, target: bytes, headers: RawHeaders, *, raw_uri: bool = True
) -> WSGIEnvironment:
    """The environ a WSGI server builds for a request (headers joined as servers join them)."""
    path, _, query = target.partition(b"?")
    environ: WSGIEnvironment = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": "app.test",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if raw_uri:
        environ["RAW_URI"] = target.decode("latin-1")
    for name, value in headers:
        key = name.decode("latin-1").upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"
        text = value.decode("latin-1")
        if key in environ:
            text = environ[key] + ("; " if key == "HTTP_COOKIE" else ", ") + text
        environ[key] = text
    return environ


def call_wsgi(
    app: WSGIApplication, method: str, target: bytes, headers: RawHeaders, *, raw_uri: bool = True
) -> Reply:
    """Run one request through a WSGI app; exceptions propagate (a server's 500)."""
    captured: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], object]:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                               for k, v in response_headers]
        return lambda data: None

    result = app(wsgi_environ(method, target, headers, raw_uri=raw_uri), start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Reply(captured["status"], captured["headers"], body)


def asgi_scope(method: str, target: bytes, headers: RawHeaders) -> asgi_adapter.Scope:
    """The HTTP scope an ASGI server builds for a request."""
    path, _, query = target.partition(b"?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path.decode("latin-1"), encoding="utf-8", errors="surrogateescape"),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("app.test", 80),
        "state": {},
    }


async def call_asgi_async(app: ASGIApp, method: str, target: bytes, headers: RawHeaders) -> Reply:
    """Run one request through an ASGI app; exceptions propagate (a server's 500)."""
    messages: list[dict[str, Any]] = []
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        messages.append(dict(message))

    await app(asgi_scope(method, target, headers), receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Reply(start["status"], [(bytes(k).lower(), bytes(v)) for k, v in start["headers"]],
                 body)


def call_asgi(app: ASGIApp, method: str, target: bytes, headers: RawHeaders) -> Reply:
    """The blocking form of ``call_asgi_async``."""
    return asyncio.run(call_asgi_async(app, method, target, headers))


Caller = Callable[[str, bytes, RawHeaders], Reply]


def make_caller(adapter: str, settings: Mapping[str, Any]) -> Caller:
    """An app of ``adapter`` and a function sending one raw request to it."""
    if adapter in ("wsgi", "flask"):
        wsgi_app: WSGIApplication = make_wsgi(settings) if adapter == "wsgi" else make_flask(
            settings)

        def send_wsgi(method: str, target: bytes, headers: RawHeaders) -> Reply:
            return call_wsgi(wsgi_app, method, target, headers)

        return send_wsgi
    asgi_app: ASGIApp
    if adapter == "asgi":
        asgi_app = make_asgi(settings)
    elif adapter == "starlette":
        asgi_app = make_starlette(settings)
    else:
        asgi_app = make_fastapi(settings)

    def send_asgi(method: str, target: bytes, headers: RawHeaders) -> Reply:
        return call_asgi(asgi_app, method, target, headers)

    return send_asgi


def routes_of(adapter: str) -> tuple[str, ...]:
    """Every route ``adapter``'s app has."""
    return ROUTES + EXTRA_ROUTES.get(adapter, ())
