"""What every adapter hands the core: the route path, a validated Host, the query.

Driven through each framework's own test client (werkzeug's for WSGI/Flask,
Starlette's for ASGI), with the apps written as the docs show.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from werkzeug.test import Client

from clerk_middleware.adapters import flask as flask_adapter
from clerk_middleware.adapters import starlette as starlette_adapter
from clerk_middleware.adapters import wsgi as wsgi_adapter
from clerk_middleware.adapters.wsgi import auth_request_from_environ
from clerk_middleware.core import MalformedPathError, create_route_matcher
from clerk_middleware.testing import TestIssuer

is_protected = create_route_matcher(["/admin(.*)", "/api/admin(.*)"])
# A signed-out browser page request of a development instance (a dev browser, no session).
PAGE = {"accept": "text/html", "sec-fetch-dest": "document",
        "cookie": "__clerk_db_jwt=dvb_test; __client_uat=0"}


def _protect(auth: Any, request: Any) -> None:
    if is_protected(auth.request):
        auth.protect()


def _wsgi_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [f"view:{environ['PATH_INFO']}".encode()]


@pytest.fixture(scope="module")
def settings() -> dict[str, Any]:
    issuer = TestIssuer()
    return {"secret_key": issuer.secret_key, "publishable_key": issuer.publishable_key,
            "jwt_key": issuer.jwt_key}


def _flask(settings: dict[str, Any]) -> Flask:
    app = Flask(__name__)

    @app.get("/<path:rest>")
    def view(rest: str) -> str:
        return f"view:/{rest}"

    flask_adapter.clerk_middleware(_protect, **settings).init_app(app)
    return app


def _starlette(settings: dict[str, Any], *, mounted: bool = False) -> Starlette:
    async def view(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"view:{request.url.path}")

    inner = Starlette(
        routes=[Route("/{rest:path}", view)],
        middleware=[starlette_adapter.clerk_middleware(_protect, **settings)],
    )
    return Starlette(routes=[Mount("/v1", app=inner)]) if mounted else inner


def _wsgi_client(settings: dict[str, Any]) -> Client:
    return Client(wsgi_adapter.clerk_middleware(_protect, **settings)(_wsgi_app), use_cookies=False)


@pytest.mark.parametrize("host", ["x?", "x#", "x/p", "x/admin", "x@y", "x:notaport", "[::1",
                                  "a, b", "x y", "x\\y"])
def test_an_invalid_host_is_a_400_in_wsgi_and_flask(settings: dict[str, Any], host: str) -> None:
    for client in (_wsgi_client(settings), _flask(settings).test_client(use_cookies=False)):
        response = client.get("/public", headers={"host": host, **PAGE})
        assert response.status_code == 400
        assert b"view:" not in response.data


@pytest.mark.parametrize("host", ["x?", "x#", "x/p", "x@y", "x:notaport", "a, b"])
def test_an_invalid_host_is_a_400_in_asgi(settings: dict[str, Any], host: str) -> None:
    with TestClient(_starlette(settings)) as client:
        response = client.get("/public", headers={"host": host, **PAGE})
    assert response.status_code == 400
    assert "view:" not in response.text


def test_a_valid_host_is_served(settings: dict[str, Any]) -> None:
    client = _flask(settings).test_client(use_cookies=False)
    response = client.get("/public", headers={"host": "app.test:8080"})
    assert (response.status_code, response.data) == (200, b"view:/public")


@pytest.mark.parametrize("target", ["/api%2Fadmin", "/%61dmin", "/admin%2Fx", "/api%2fadmin/x"])
def test_encoded_slashes_and_letters_are_protected(settings: dict[str, Any], target: str) -> None:
    responses = [
        _wsgi_client(settings).get(target, headers=PAGE),
        _flask(settings).test_client(use_cookies=False).get(target, headers=PAGE),
    ]
    with TestClient(_starlette(settings), follow_redirects=False) as client:
        asgi = client.get(target, headers=PAGE)
    locations = [r.headers.get("location", "") for r in responses]
    locations.append(asgi.headers.get("location", ""))
    assert [r.status_code for r in responses] + [asgi.status_code] == [307, 307, 307]
    assert all("/sign-in?redirect_url=" in location for location in locations), locations


@pytest.mark.parametrize("target", ["/admin/..", "/admin/%2e%2e", "/x/%2E/admin", "/admin%0A"])
def test_unreadable_route_paths_are_a_400_in_flask(settings: dict[str, Any], target: str) -> None:
    client = _flask(settings).test_client(use_cookies=False)
    assert client.get(target, headers=PAGE).status_code == 400


# httpx, under Starlette's TestClient, resolves raw dot segments before sending.
@pytest.mark.parametrize("target", ["/admin/%2e%2e", "/x/%2E/admin", "/admin%0A", "/admin%FF"])
def test_unreadable_route_paths_are_a_400_in_asgi(settings: dict[str, Any], target: str) -> None:
    with TestClient(_starlette(settings)) as client:
        assert client.get(target, headers=PAGE).status_code == 400


def test_a_mounted_app_matches_below_its_mount(settings: dict[str, Any]) -> None:
    with TestClient(_starlette(settings, mounted=True), follow_redirects=False) as client:
        assert client.get("/v1/admin", headers=PAGE).status_code == 307
        assert client.get("/v1/api%2Fadmin", headers=PAGE).status_code == 307
        public = client.get("/v1/public", headers=PAGE)
    assert (public.status_code, public.text) == (200, "view:/v1/public")


def test_a_wsgi_prefix_is_not_part_of_the_route_path(settings: dict[str, Any]) -> None:
    client = _wsgi_client(settings)
    prefixed = {"SCRIPT_NAME": "/app"}
    assert client.get("/admin", headers=PAGE, environ_overrides=prefixed).status_code == 307
    assert client.get("/public", headers=PAGE, environ_overrides=prefixed).status_code == 200


def _redirect_back(location: str) -> str:
    return parse_qs(urlsplit(location).query)["redirect_url"][0]


def test_query_string_passed_apart_is_kept(settings: dict[str, Any]) -> None:
    # werkzeug's test builder sets REQUEST_URI without the query it passes as QUERY_STRING.
    response = _flask(settings).test_client(use_cookies=False).get(
        "/admin", query_string={"a": "1"}, headers=PAGE
    )
    assert response.status_code == 307
    assert _redirect_back(response.headers["location"]) == "http://localhost/admin?a=1"


def test_the_raw_query_wins_when_the_target_carries_one() -> None:
    environ = {"REQUEST_METHOD": "GET", "wsgi.url_scheme": "http", "HTTP_HOST": "app.test",
               "PATH_INFO": "/x", "RAW_URI": "/x?b=2", "QUERY_STRING": "b=2"}
    assert auth_request_from_environ(environ).url == "http://app.test/x?b=2"


def test_the_view_of_a_request_raises_for_an_invalid_host() -> None:
    environ = {"REQUEST_METHOD": "GET", "HTTP_HOST": "x?", "PATH_INFO": "/admin"}
    with pytest.raises(MalformedPathError):
        auth_request_from_environ(environ)


def test_no_host_header_falls_back_to_the_server_name() -> None:
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "SERVER_NAME": "srv", "SERVER_PORT": "81",
                               "PATH_INFO": "/admin"}
    assert auth_request_from_environ(environ).url == "http://srv:81/admin"
    environ["SERVER_NAME"] = "not a host"
    assert auth_request_from_environ(environ).url == "http://localhost/admin"
