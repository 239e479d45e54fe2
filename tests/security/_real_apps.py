"""The apps the real-server tests serve, each written the way the quickstarts show.

Every app has the same routes (under its mount, if it has one):

``/``, ``/public``                          ``PUBLIC-VIEW``
``/admin``, ``/admin/<path>``                ``PROTECTED-VIEW admin <matches>``
``/api/admin``, ``/api/admin/<path>``        ``PROTECTED-VIEW api-admin <matches>``
``/dash``, ``/dash/<path>``                  ``PROTECTED-VIEW dash <matches>``
anything else                                ``CATCHALL:<the path the router saw>``

where ``<matches>`` is ``auth.request=1 request=1`` when the route matcher
matches both the request the core saw (``auth.request``) and the framework's
request (Flask's or Starlette's ``Request``, the WSGI environ): a request the
router sends to a protected view must be one the matcher protects, whichever
of the two the handler hands it.

and one handler, the one the docs show::

    is_protected = create_route_matcher(["/admin(.*)", "/api/admin(.*)", "/dash/:path*"])

    def handler(auth, request):
        if is_protected(auth.request):
            auth.protect()

The catch-all is public: a target the router sends there may be served to
anyone, one it sends to a protected view must not be. ``witness_wsgi`` and
``witness_asgi`` wrap what the server runs (outside the app and its
middleware): every response the app gives carries ``x-app: reached``, and an
exception escaping the app becomes a 500 whose body is ``APP-CRASH``, so a test
tells a server's own answer (no ``x-app``) from the app's, and a crash from a
deliberate 500.

``from_env()`` builds the app named by ``REAL_APP`` with the ``clerk_middleware``
settings JSON in ``CLERK_TEST_SETTINGS``: what a server in a child process loads
(``gunicorn 'tests.security._real_apps:from_env()'``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse as FastAPIText
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from clerk_middleware.adapters import fastapi as fastapi_adapter
from clerk_middleware.adapters import flask as flask_adapter
from clerk_middleware.adapters import starlette as starlette_adapter
from clerk_middleware.adapters import wsgi as wsgi_adapter
from clerk_middleware.adapters.asgi import ASGIApp, Receive, Scope, Send
from clerk_middleware.adapters.wsgi import ClerkAuth, auth
from clerk_middleware.core import create_route_matcher

PROTECTED_MARKER = "PROTECTED-VIEW"
PUBLIC_MARKER = "PUBLIC-VIEW"
CATCHALL_MARKER = "CATCHALL:"
CRASH_MARKER = "APP-CRASH"
WITNESS_HEADER = "x-app"
#: Where the mounted apps live in their outer app.
MOUNT = "/v1"
#: The protected paths every app has (under its mount).
PROTECTED_PATHS = ("/admin", "/admin/x", "/api/admin", "/api/admin/x", "/dash", "/dash/x")
#: The public paths every app has; ``/anything-else`` is the catch-all's.
PUBLIC_PATHS = ("/", "/public", "/anything-else")

is_protected = create_route_matcher(["/admin(.*)", "/api/admin(.*)", "/dash/:path*"])


def handler(auth: ClerkAuth, request: Any) -> None:
    """The handler of the docs, for every adapter (request: the framework's, or the environ)."""
    if is_protected(auth.request):
        auth.protect()


async def async_handler(auth: ClerkAuth, request: Request) -> None:
    """The same handler, as an ASGI app may write it."""
    if is_protected(auth.request):
        auth.protect()


def _shown(path: str) -> str:
    """A path as text that survives any encoding (WSGI paths are latin-1 bytes)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _matches(target: Any) -> str:
    try:
        return "1" if is_protected(target) else "0"
    except Exception as exc:  # reported, not raised: the test says what went wrong
        return f"error:{type(exc).__name__}"


def protected_body(view: str, request: Any) -> str:
    """The protected view's answer; ``request`` is the framework's (or the environ)."""
    return f"{PROTECTED_MARKER} {view} auth.request={_matches(auth.request)} " \
           f"request={_matches(request)}"


def catchall_body(path: str) -> str:
    return f"{CATCHALL_MARKER}{_shown(path)}"


# --- plain WSGI -------------------------------------------------------------------------------


def _text_wsgi(start_response: StartResponse, text: str) -> list[bytes]:
    data = text.encode("utf-8", "backslashreplace")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(data)))])
    return [data]


def _route_wsgi(environ: WSGIEnvironment) -> str:
    """A hand-written router on ``PATH_INFO`` with the routes of every app."""
    path = environ.get("PATH_INFO", "")
    if path in ("", "/", "/public"):
        return PUBLIC_MARKER
    for prefix, view in (("/admin", "admin"), ("/api/admin", "api-admin"), ("/dash", "dash")):
        if path == prefix or path.startswith(prefix + "/"):
            return protected_body(view, environ)
    return catchall_body(path)


def plain_wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    return _text_wsgi(start_response, _route_wsgi(environ))


def make_wsgi(settings: Mapping[str, Any]) -> WSGIApplication:
    """``application = clerk_middleware(handler)(app)``, as docs/quickstart/wsgi.md shows."""
    return wsgi_adapter.clerk_middleware(handler, **settings)(plain_wsgi)


# --- Flask ------------------------------------------------------------------------------------


def make_flask(settings: Mapping[str, Any]) -> Flask:
    """``clerk_middleware(handler).init_app(app)``, as docs/quickstart/flask.md shows."""
    app = Flask("real_server_app", static_folder=None)
    flask_adapter.clerk_middleware(handler, **settings).init_app(app)

    @app.get("/")
    @app.get("/public")
    def public() -> str:
        return PUBLIC_MARKER

    def protected_view(view: str) -> Callable[..., str]:
        def answer(**_: str) -> str:
            from flask import request

            return protected_body(view, request)

        return answer

    for prefix, view in (("/admin", "admin"), ("/api/admin", "api-admin"), ("/dash", "dash")):
        app.add_url_rule(prefix, endpoint=view, view_func=protected_view(view))
        app.add_url_rule(f"{prefix}/<path:rest>", endpoint=f"{view}-rest",
                         view_func=protected_view(view))

    @app.get("/<path:rest>")
    def catchall(rest: str) -> str:
        return catchall_body("/" + rest)

    return app


# --- Starlette and FastAPI --------------------------------------------------------------------


async def _public(request: Request) -> Response:
    return PlainTextResponse(PUBLIC_MARKER)


def _protected(view: str) -> Callable[[Request], Any]:
    async def answer(request: Request) -> Response:
        return PlainTextResponse(protected_body(view, request))

    return answer


async def _catchall(request: Request) -> Response:
    return PlainTextResponse(catchall_body("/" + request.path_params["rest"]))


def _starlette_routes() -> list[Route]:
    routes = [Route("/", _public), Route("/public", _public)]
    for prefix, view in (("/admin", "admin"), ("/api/admin", "api-admin"), ("/dash", "dash")):
        routes.append(Route(prefix, _protected(view)))
        routes.append(Route(prefix + "/{rest:path}", _protected(view)))
    return routes


def make_starlette(settings: Mapping[str, Any]) -> Starlette:
    """``Starlette(routes=..., middleware=[clerk_middleware(handler)])``, as the docs show."""
    return Starlette(
        routes=[*_starlette_routes(), Route("/{rest:path}", _catchall)],
        middleware=[starlette_adapter.clerk_middleware(async_handler, **settings)],
    )


def make_starlette_mounted(settings: Mapping[str, Any]) -> Starlette:
    """An outer app with ``Mount("/v1", app=inner)``; only ``inner`` has the middleware."""
    return Starlette(routes=[
        Route("/", _public),
        Route("/public", _public),
        Mount(MOUNT, app=make_starlette(settings)),
        Route("/{rest:path}", _catchall),
    ])


def _fastapi_protected(view: str) -> Callable[[Request], Any]:
    async def protected(request: Request) -> str:
        return protected_body(view, request)

    return protected


def _fastapi_routes(app: FastAPI) -> None:
    @app.get("/", response_class=FastAPIText)
    @app.get("/public", response_class=FastAPIText)
    async def public() -> str:
        return PUBLIC_MARKER

    for prefix, view in (("/admin", "admin"), ("/api/admin", "api-admin"), ("/dash", "dash")):
        endpoint = _fastapi_protected(view)
        app.add_api_route(prefix, endpoint, response_class=FastAPIText, methods=["GET"])
        app.add_api_route(prefix + "/{rest:path}", endpoint, response_class=FastAPIText,
                          methods=["GET"])


def _fastapi_catchall(app: FastAPI) -> None:
    @app.get("/{rest:path}", response_class=FastAPIText)
    async def catchall(rest: str) -> str:
        return catchall_body("/" + rest)


def _bare_fastapi(**kwargs: Any) -> FastAPI:
    return FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **kwargs)


def make_fastapi(settings: Mapping[str, Any]) -> FastAPI:
    """``FastAPI(middleware=[clerk_middleware(handler)])`` (docs/quickstart/fastapi.md)."""
    app = _bare_fastapi(middleware=[fastapi_adapter.clerk_middleware(handler, **settings)])
    _fastapi_routes(app)
    _fastapi_catchall(app)
    return app


def make_fastapi_mounted(settings: Mapping[str, Any]) -> FastAPI:
    """An outer FastAPI app with ``app.mount("/v1", inner)``; only ``inner`` has the middleware."""
    outer = _bare_fastapi()

    @outer.get("/", response_class=FastAPIText)
    @outer.get("/public", response_class=FastAPIText)
    async def public() -> str:
        return PUBLIC_MARKER

    outer.mount(MOUNT, make_fastapi(settings))
    _fastapi_catchall(outer)
    return outer


# --- witnesses --------------------------------------------------------------------------------


def witness_wsgi(app: WSGIApplication) -> WSGIApplication:
    """``app`` with ``x-app: reached`` on its responses and its exceptions made ``APP-CRASH``."""

    def witnessed(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started: list[bool] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started.append(True)
            return start_response(status, [*headers, (WITNESS_HEADER, "reached")], exc_info)

        try:
            result = app(environ, start)
            try:
                chunks = list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:  # what the server would turn into a 500 of its own
            crash = CRASH_MARKER.encode()
            start_response("500 Internal Server Error",
                           [("Content-Length", str(len(crash))), (WITNESS_HEADER, "reached")],
                           sys.exc_info() if started else None)
            return [crash]
        return chunks

    return witnessed


def witness_asgi(app: ASGIApp) -> ASGIApp:
    """The ASGI form of ``witness_wsgi`` (a crash after the response started is swallowed)."""

    async def witnessed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = False

        async def send_witnessed(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message,
                           "headers": [*message.get("headers", []),
                                       (WITNESS_HEADER.encode(), b"reached")]}
            await send(message)

        try:
            await app(scope, receive, send_witnessed)
        except Exception:
            if not started:
                await send_witnessed({"type": "http.response.start", "status": 500,
                                      "headers": [(b"content-length", b"9")]})
                await send({"type": "http.response.body", "body": CRASH_MARKER.encode()})

    return witnessed


WSGI_APPS: dict[str, Callable[[Mapping[str, Any]], WSGIApplication]] = {
    "wsgi": make_wsgi,
    "flask": make_flask,
}
ASGI_APPS: dict[str, Callable[[Mapping[str, Any]], ASGIApp]] = {
    "starlette": make_starlette,
    "fastapi": make_fastapi,
    "starlette-mount": make_starlette_mounted,
    "fastapi-mount": make_fastapi_mounted,
}


def build(name: str, settings: Mapping[str, Any]) -> Any:
    """The witnessed app ``name`` (a key of ``WSGI_APPS`` or ``ASGI_APPS``)."""
    if name in WSGI_APPS:
        return witness_wsgi(WSGI_APPS[name](settings))
    return witness_asgi(ASGI_APPS[name](settings))


def from_env() -> Any:
    """The app named by ``REAL_APP``, with the settings JSON in ``CLERK_TEST_SETTINGS``."""
    return build(os.environ["REAL_APP"], json.loads(os.environ["CLERK_TEST_SETTINGS"]))

