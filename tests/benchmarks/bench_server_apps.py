"""The apps the real-server benchmark serves, and the entry point of a server process.

A server process is started by ``bench_server.py`` as::

    python -m tests.benchmarks.bench_server_apps uvicorn PORT    # ASGI app on uvicorn
    python -m tests.benchmarks.bench_server_apps waitress PORT   # WSGI app on waitress
    gunicorn ... 'tests.benchmarks.bench_server_apps:wsgi_app()'

and configured by environment variables (so gunicorn's factory sees them too):

- ``BENCH_APP``: ``starlette``, ``fastapi`` (ASGI) or ``flask`` (WSGI);
- ``BENCH_AUTH``: ``none``, ``ours`` (this project's middleware), ``cba`` (a
  middleware built on clerk-backend-api's ``authenticate_request``), ``fca``
  (fastapi-clerk-auth's ``ClerkHTTPBearer``, FastAPI only), ``floor`` (the
  least an exact authentication can do per request: ``floor.FloorASGI``,
  ``floor.FloorWSGI``) or ``contract`` (that plus the objects this project's
  contract hands an app: ``floor.ContractFloorASGI``, ``floor.ContractFloorWSGI``);
- ``BENCH_SECRET_KEY``, ``BENCH_PUBLISHABLE_KEY``, ``BENCH_JWT_KEY``,
  ``BENCH_AUTHORIZED_PARTY``: the instance (``BENCH_JWKS_URL`` for fca);
- ``BENCH_PROFILE``: a path; when set, the process runs under cProfile and
  writes its stats there when told to stop (SIGTERM).

Every app has one endpoint, ``GET /``. With authentication it answers the
verified user id, or 401 when the request was not signed in, so a load
generator that counts non-200 answers also proves every request authenticated.
"""

from __future__ import annotations

import cProfile
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from tests.benchmarks.floor import (
    CLAIMS,
    ContractFloorASGI,
    ContractFloorWSGI,
    FloorASGI,
    FloorWSGI,
    contract_auth,
)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def _setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"bench_server_apps: {name} is not set")
    return value


def _ours_settings() -> dict[str, Any]:
    return {
        "secret_key": _setting("BENCH_SECRET_KEY"),
        "publishable_key": _setting("BENCH_PUBLISHABLE_KEY"),
        "jwt_key": _setting("BENCH_JWT_KEY"),
        "authorized_parties": [_setting("BENCH_AUTHORIZED_PARTY")],
    }


def _floor_settings() -> dict[str, str]:
    return {"key": _setting("BENCH_JWT_KEY"), "party": _setting("BENCH_AUTHORIZED_PARTY")}


def _cba_options() -> Any:
    # Imported by name: clerk-backend-api is installed only in the bench-server env.
    types = importlib.import_module("clerk_backend_api.security.types")
    return types.AuthenticateRequestOptions(
        secret_key=_setting("BENCH_SECRET_KEY"),
        jwt_key=_setting("BENCH_JWT_KEY"),
        authorized_parties=[_setting("BENCH_AUTHORIZED_PARTY")],
    )


# --- ASGI: Starlette and FastAPI ---------------------------------------------------------------


def asgi_app() -> Any:
    """The ASGI app named by ``BENCH_APP`` and ``BENCH_AUTH``.

    Returns:
        A Starlette or FastAPI application.

    Raises:
        SystemExit: The configuration is unknown or incomplete.
    """
    app, auth = os.environ.get("BENCH_APP", "starlette"), os.environ.get("BENCH_AUTH", "none")
    if app == "starlette":
        return _starlette_app(auth)
    if app == "fastapi":
        return _fastapi_app(auth)
    raise SystemExit(f"bench_server_apps: no ASGI app {app!r}")


def _starlette_app(auth: str) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from clerk_middleware.adapters.starlette import clerk_middleware, get_auth

    async def plain(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def ours(request: Request) -> PlainTextResponse:
        user_id = get_auth(request).user_id
        if user_id is None:
            return PlainTextResponse("signed out", status_code=401)
        return PlainTextResponse(user_id)

    async def cba(request: Request) -> PlainTextResponse:
        payload = request.scope["state"].get("clerk_payload")
        if payload is None:
            return PlainTextResponse("signed out", status_code=401)
        return PlainTextResponse(payload["sub"])

    if auth == "none":
        return Starlette(routes=[Route("/", plain)])
    if auth == "ours":
        return Starlette(
            routes=[Route("/", ours)], middleware=[clerk_middleware(**_ours_settings())]
        )
    if auth == "cba":
        return Starlette(routes=[Route("/", cba)], middleware=[Middleware(ClerkBackendApiASGI)])
    if auth == "floor":

        async def floor(request: Request) -> PlainTextResponse:
            return PlainTextResponse(CLAIMS.get()["sub"])

        floor_middleware = Middleware(FloorASGI, **_floor_settings())
        return Starlette(routes=[Route("/", floor)], middleware=[floor_middleware])
    if auth == "contract":

        async def contract(request: Request) -> PlainTextResponse:
            return PlainTextResponse(contract_auth().user_id)

        contract_middleware = Middleware(ContractFloorASGI, **_floor_settings())
        return Starlette(routes=[Route("/", contract)], middleware=[contract_middleware])
    raise SystemExit(f"bench_server_apps: no Starlette config {auth!r}")


class ClerkBackendApiASGI:
    """A pure ASGI middleware on clerk-backend-api: what a user of that SDK would write.

    It hands ``authenticate_request`` a Starlette ``Request`` (whose ``headers``
    is what the SDK reads) and leaves the verified claims in the scope's state.
    Pure ASGI rather than ``BaseHTTPMiddleware``: the cheapest form, so the
    comparison favours clerk-backend-api.

    Args:
        app: The wrapped ASGI app.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.options = _cba_options()
        self.authenticate = importlib.import_module(
            "clerk_backend_api.security"
        ).authenticate_request

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Authenticate an HTTP request, then call the app."""
        if scope["type"] == "http":
            from starlette.requests import Request

            state = self.authenticate(Request(scope), self.options)
            scope.setdefault("state", {})["clerk_payload"] = (
                state.payload if state.is_signed_in else None
            )
        await self.app(scope, receive, send)


def _fastapi_app(auth: str) -> Any:
    from fastapi import Depends, FastAPI
    from fastapi.responses import PlainTextResponse

    from clerk_middleware.adapters.fastapi import AuthDependency, clerk_middleware
    from clerk_middleware.core import Auth

    if auth == "none":
        app = FastAPI()

        @app.get("/", response_class=PlainTextResponse)
        async def plain() -> str:
            return "ok"

        return app
    if auth == "ours":
        app = FastAPI(middleware=[clerk_middleware(**_ours_settings())])

        # Depends as a default, not in Annotated: the annotations are strings here
        # (postponed), naming local imports FastAPI cannot resolve.
        @app.get("/", response_class=PlainTextResponse)
        async def ours(auth: Auth = Depends(AuthDependency())) -> PlainTextResponse:  # noqa: B008
            if auth.user_id is None:
                return PlainTextResponse("signed out", status_code=401)
            return PlainTextResponse(auth.user_id)

        return app
    if auth == "fca":
        module = importlib.import_module("fastapi_clerk_auth")
        config = module.ClerkConfig(jwks_url=_setting("BENCH_JWKS_URL"))
        # auto_error=False: a failed verification answers our 401, not its 403.
        bearer = module.ClerkHTTPBearer(config, auto_error=False)
        app = FastAPI()

        @app.get("/", response_class=PlainTextResponse)
        async def fca(credentials: Any = Depends(bearer)) -> PlainTextResponse:  # noqa: B008
            if credentials is None or credentials.decoded is None:
                return PlainTextResponse("signed out", status_code=401)
            return PlainTextResponse(credentials.decoded["sub"])

        return app
    raise SystemExit(f"bench_server_apps: no FastAPI config {auth!r}")


# --- WSGI: Flask --------------------------------------------------------------------------------


def wsgi_app() -> WSGIApp:
    """The Flask app named by ``BENCH_AUTH`` (gunicorn calls this factory).

    Returns:
        The WSGI application (wrapped for profiling when ``BENCH_PROFILE`` is set).

    Raises:
        SystemExit: The configuration is unknown or incomplete.
    """
    from flask import Flask, g, request

    from clerk_middleware.adapters.flask import clerk_middleware, get_auth

    auth = os.environ.get("BENCH_AUTH", "none")
    app = Flask("bench_server")
    if auth == "none":
        app.add_url_rule("/", "index", lambda: "ok")
    elif auth == "ours":
        clerk_middleware(app=app, **_ours_settings())

        def ours() -> tuple[str, int]:
            user_id = get_auth(request).user_id
            return ("signed out", 401) if user_id is None else (user_id, 200)

        app.add_url_rule("/", "index", ours)
    elif auth == "cba":
        options = _cba_options()
        authenticate = importlib.import_module("clerk_backend_api.security").authenticate_request

        # A before_request hook: how a Flask user of that SDK would wire it.
        @app.before_request
        def authenticate_hook() -> None:
            state = authenticate(request, options)
            g.clerk_payload = state.payload if state.is_signed_in else None

        def cba() -> tuple[str, int]:
            payload = g.clerk_payload
            return ("signed out", 401) if payload is None else (payload["sub"], 200)

        app.add_url_rule("/", "index", cba)
    elif auth == "floor":
        app.add_url_rule("/", "index", lambda: CLAIMS.get()["sub"])
        app.wsgi_app = FloorWSGI(app.wsgi_app, **_floor_settings())  # type: ignore[method-assign]
    elif auth == "contract":
        app.add_url_rule("/", "index", lambda: contract_auth().user_id or "")
        app.wsgi_app = ContractFloorWSGI(  # type: ignore[method-assign]
            app.wsgi_app, **_floor_settings()
        )
    else:
        raise SystemExit(f"bench_server_apps: no Flask config {auth!r}")
    wsgi: WSGIApp = app
    profile_path = os.environ.get("BENCH_PROFILE")
    if profile_path:
        return _ThreadProfiles(wsgi, profile_path)
    return wsgi


class _ThreadProfiles:
    """Profiles every thread that serves a request (cProfile sees one thread each).

    A WSGI server runs requests on worker threads; the first request a thread
    serves starts a profiler there, which then stays on for everything that
    thread does (the server's own work included). The main thread's profiler
    is started by ``serve``. SIGTERM writes them all, merged, and exits.
    """

    def __init__(self, app: WSGIApp, path: str) -> None:
        self.app = app
        self.path = path
        self.local = threading.local()
        self.profilers: list[cProfile.Profile] = []
        self.lock = threading.Lock()
        _on_sigterm(self.dump)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if not hasattr(self.local, "profiler"):
            profiler = cProfile.Profile()
            with self.lock:
                self.profilers.append(profiler)
            self.local.profiler = profiler
            profiler.enable()
        return self.app(environ, start_response)

    def dump(self) -> None:
        import pstats

        with self.lock:
            profilers = [*self.profilers, *_MAIN_PROFILER]
        if profilers:
            stats = pstats.Stats(profilers[0])
            for profiler in profilers[1:]:
                stats.add(profiler)
            stats.dump_stats(self.path)


# --- serving ---------------------------------------------------------------------------------

_MAIN_PROFILER: list[cProfile.Profile] = []


def _on_sigterm(action: Callable[[], None]) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        action()
        os._exit(0)

    signal.signal(signal.SIGTERM, handler)


def serve(server: str, port: int) -> None:
    """Serve the configured app on 127.0.0.1:``port`` until terminated.

    Args:
        server: ``uvicorn`` (with httptools, and uvloop when installed) or ``waitress``.
        port: The TCP port.

    Raises:
        SystemExit: The server is unknown.
    """
    profile_path = os.environ.get("BENCH_PROFILE")
    if server == "uvicorn":
        import uvicorn

        try:
            importlib.import_module("uvloop")
            loop = "uvloop"
        except ImportError:
            loop = "asyncio"
        config = uvicorn.Config(
            asgi_app(),
            host="127.0.0.1",
            port=port,
            http="httptools",
            loop=loop,
            lifespan="off",
            access_log=False,
            log_level="warning",
        )
        server_ = uvicorn.Server(config)
        if not profile_path:
            server_.run()
            return
        profiler = cProfile.Profile()
        # uvicorn takes SIGTERM for a graceful shutdown, then restores this handler
        # and raises the signal again: the stats are written once the server is done.
        _on_sigterm(lambda: profiler.dump_stats(profile_path))
        profiler.enable()
        server_.run()
        profiler.disable()
        profiler.dump_stats(profile_path)
    elif server == "waitress":
        import waitress

        app = wsgi_app()
        if profile_path:
            main = cProfile.Profile()
            _MAIN_PROFILER.append(main)
            main.enable()
        # 4 threads, waitress's default; the connection limit above any benchmark's.
        # The requests come as from a TLS-terminating proxy on 127.0.0.1 (as uvicorn
        # and gunicorn trust by default): their URL is https, like the Referer's.
        waitress.serve(
            app,
            host="127.0.0.1",
            port=port,
            threads=4,
            connection_limit=1000,
            trusted_proxy="127.0.0.1",
            trusted_proxy_headers={"x-forwarded-proto"},
            clear_untrusted_proxy_headers=True,
        )
    else:
        raise SystemExit(f"bench_server_apps: no server {server!r}")


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
