"""The Frontend API proxy on real servers: only its path is forwarded, only to the Frontend API.

uvicorn (Starlette) and waitress (Flask) serve an app with
``frontend_api_proxy`` pointed at a stand-in Frontend API on 127.0.0.1 and a
catch-all view. Targets that servers decode their own ways (dot segments,
encoded slashes and underscores, doubled slashes, NULs) go over a raw socket,
and:

* a forwarded request reaches the stand-in only, at a path under its root,
  with the instance's secret key, which never appears in any answer;
* a target outside the proxy's path is the app's (the stand-in sees nothing);
* nothing answers a 500.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from clerk_middleware.testing import TestIssuer

from ..reliability._servers import raw_request, uvicorn_server, waitress_server

ISSUER = TestIssuer()


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        _Upstream.seen.append(self.path)
        assert self.headers.get("clerk-secret-key") == ISSUER.secret_key
        body = b'{"upstream": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("x-upstream", "yes")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _settings(upstream: str) -> dict[str, Any]:
    return {
        "secret_key": ISSUER.secret_key,
        "publishable_key": ISSUER.publishable_key,
        "jwt_key": ISSUER.jwt_key,
        "frontend_api_proxy": {"fapi_url": upstream, "timeout": 3},
    }


def _starlette(upstream: str) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from clerk_middleware.adapters.starlette import clerk_middleware

    async def anything(request: Request) -> PlainTextResponse:
        return PlainTextResponse("APP", headers={"x-app": "1"})

    return Starlette(
        routes=[Route("/{rest:path}", anything)],
        middleware=[clerk_middleware(**_settings(upstream))],
    )


def _flask(upstream: str) -> Any:
    from flask import Flask

    from clerk_middleware.adapters.flask import clerk_middleware

    app = Flask(__name__)
    clerk_middleware(app=app, **_settings(upstream))

    @app.route("/", defaults={"rest": ""})
    @app.route("/<path:rest>")
    def anything(rest: str) -> tuple[str, int, dict[str, str]]:
        return "APP", 200, {"x-app": "1"}

    return app


SERVERS: dict[str, tuple[Callable[[str], Any], Callable[[Any], Any]]] = {
    "uvicorn-starlette": (_starlette, uvicorn_server),
    "waitress-flask": (_flask, waitress_server),
}

PROXIED = [
    b"/__clerk/v1/client",
    b"/__clerk",
    b"/__clerk/",
    b"/__clerk/v1/client?_clerk_js_version=5",
]
ODD = [
    b"/__clerk/../admin",
    b"/__clerk/%2e%2e/admin",
    b"/__clerk%2F..%2Fadmin",
    b"/%5F%5Fclerk/v1/client",
    b"//__clerk/v1/client",
    b"/__clerk//evil.example.com/v1",
    b"/__clerk/v1/%00",
    b"/__clerk/v1/client?x=%0d%0aSet-Cookie:%20a=b",
    b"/__clerkx/v1",
    b"/app/__clerk/v1",
]


@pytest.fixture(params=sorted(SERVERS))
def live(request: pytest.FixtureRequest, upstream: str) -> Iterator[str]:
    make, serve = SERVERS[request.param]
    with serve(make(upstream)) as base:
        yield base


def _get(base: str, target: bytes) -> Any:
    return raw_request(base, b"GET " + target + b" HTTP/1.1\r\nHost: app.test")


def test_the_proxy_path_reaches_the_frontend_api(live: str) -> None:
    for target in PROXIED:
        _Upstream.seen.clear()
        response = _get(live, target)
        assert response.status == 200, (target, response.head)
        assert response.values(b"x-upstream") == [b"yes"] and response.values(b"x-app") == []
        (path,) = _Upstream.seen
        assert path.startswith("/")
        assert ISSUER.secret_key.encode() not in response.head + response.body


def test_odd_targets_never_leak_or_crash(live: str) -> None:
    for target in ODD:
        _Upstream.seen.clear()
        response = _get(live, target)
        assert response.status < 500, (target, response.head)
        assert ISSUER.secret_key.encode() not in response.head + response.body
        proxied = response.values(b"x-upstream") == [b"yes"]
        assert proxied == bool(_Upstream.seen), target
        if proxied:
            # Forwarded: only ever to the stand-in, under its root, never as set-cookie.
            assert response.values(b"set-cookie") == []
        else:
            assert response.values(b"x-app") == [b"1"] or response.status in (400, 404), target


def test_nothing_listens_upstream_is_a_502_not_a_500() -> None:
    with contextlib.ExitStack() as stack:
        for make, serve in SERVERS.values():
            base = stack.enter_context(serve(make("http://127.0.0.1:9")))
            response = _get(base, b"/__clerk/v1/client")
            assert response.status == 502
            assert b"proxy_request_failed" in response.body
