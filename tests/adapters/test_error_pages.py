"""``protect()``'s 404 and 401 are rendered by the framework's own error handling.

Each app has its own 404 (and 401) page; ``protect()`` runs in the middleware
handler, in a view, in a decorator (and, in FastAPI, in a dependency). The page
must be the app's, with Clerk's status and ``x-clerk-auth-*`` headers; a
browser's redirect to sign-in stays Clerk's 307.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse as FastAPIHTML
from flask import Blueprint, Flask
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from clerk_middleware.adapters import fastapi as clerk_fastapi
from clerk_middleware.adapters import flask as clerk_flask
from clerk_middleware.adapters import starlette as clerk_starlette
from clerk_middleware.adapters._common import ClerkAuth
from clerk_middleware.core import Auth, AuthUnauthorized
from clerk_middleware.testing import OrgClaims, TestIssuer

from . import matrix

PAGE_404 = "<h1>Our own 404</h1>"
PAGE_401 = "<h1>Our own 401</h1>"
Get = Callable[[str, Mapping[str, str]], Any]
AdminAuth = Annotated[Auth, Depends(clerk_fastapi.ProtectDependency(role="org:admin"))]


def handler(auth: ClerkAuth, request: object) -> None:
    if auth.request.path.startswith("/handler"):
        auth.protect()


# --- the apps ----------------------------------------------------------------------------


def flask_app(settings: Mapping[str, Any], *, with_status: bool = True) -> Flask:
    app = Flask(__name__)
    clerk_flask.clerk_middleware(handler, **settings).init_app(app)

    @app.errorhandler(404)
    def not_found(error: Exception) -> Any:
        return (PAGE_404, 404) if with_status else PAGE_404  # the second forgets the status

    @app.errorhandler(401)
    def unauthorized(error: Exception) -> Any:
        return PAGE_401, 401

    @app.get("/handler")
    @app.get("/open")
    def open_view() -> str:
        return "open"

    @app.get("/view")
    def view() -> str:
        clerk_flask.auth.protect(role="org:admin")
        return "admin"

    @app.get("/decorated")
    @clerk_flask.protect()
    def decorated() -> str:
        return "signed in"

    @app.get("/machine")
    def machine() -> str:
        raise AuthUnauthorized()

    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @shop.errorhandler(404)
    def shop_not_found(error: Exception) -> Any:
        return "<h1>No such product</h1>", 404

    @shop.get("/admin")
    def shop_admin() -> str:
        clerk_flask.auth.protect(role="org:admin")
        return "shop admin"

    app.register_blueprint(shop)
    return app


def starlette_app(settings: Mapping[str, Any], *, by_class: bool = False) -> Starlette:
    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException) and exc.status_code == 404
        home = request.url_for("open")  # needs the router, even before routing
        return HTMLResponse(f'{PAGE_404}<a href="{home}">home</a>', status_code=404)

    def unauthorized(request: Request, exc: Exception) -> Response:  # sync: thread pool
        return HTMLResponse(PAGE_401, status_code=401)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        page = PAGE_404 if exc.status_code == 404 else PAGE_401
        return HTMLResponse(page)  # no status: Clerk's is kept anyway

    async def open_view(request: Request) -> Response:
        return JSONResponse("open")

    async def view(request: Request) -> Response:
        clerk_starlette.auth.protect(role="org:admin")
        return JSONResponse("admin")

    @clerk_starlette.protect()
    async def decorated(request: Request) -> Response:
        return JSONResponse("signed in")

    async def machine(request: Request) -> Response:
        raise AuthUnauthorized()

    handlers: dict[Any, Any] = (
        {HTTPException: http_error} if by_class else {404: not_found, 401: unauthorized})
    return Starlette(
        routes=[Route("/open", open_view, name="open"), Route("/handler", open_view),
                Route("/view", view), Route("/decorated", decorated), Route("/machine", machine)],
        middleware=[clerk_starlette.clerk_middleware(handler, **settings)],
        exception_handlers=handlers,
    )


def fastapi_app(settings: Mapping[str, Any], *, handlers: bool = True) -> FastAPI:
    app = FastAPI(middleware=[clerk_fastapi.clerk_middleware(handler, **settings)])
    if handlers:
        @app.exception_handler(404)
        async def not_found(request: Request, exc: Exception) -> Response:
            return FastAPIHTML(PAGE_404, status_code=404)

        @app.exception_handler(401)
        async def unauthorized(request: Request, exc: Exception) -> Response:
            return FastAPIHTML(PAGE_401, status_code=401)

    @app.get("/handler")
    @app.get("/open")
    async def open_view() -> str:
        return "open"

    @app.get("/view")
    async def view() -> str:
        clerk_fastapi.auth.protect(role="org:admin")
        return "admin"

    @app.get("/decorated")
    @clerk_fastapi.protect()
    async def decorated() -> str:
        return "signed in"

    @app.get("/dependency")
    async def dependency(current: AdminAuth) -> str:
        return "admin"

    @app.get("/machine")
    async def machine() -> str:
        raise AuthUnauthorized()

    return app


def flask_get(app: Flask) -> Get:
    client = app.test_client(use_cookies=False)
    return lambda path, headers: client.get(path, base_url=matrix.BASE, headers=dict(headers))


def asgi_get(app: Any) -> Get:
    client = TestClient(app, base_url=matrix.BASE, follow_redirects=False)
    return lambda path, headers: client.get(path, headers=dict(headers))


def text(response: Any) -> str:
    return str(response.get_data(as_text=True) if hasattr(response, "get_data") else response.text)


def values(response: Any, name: str) -> list[str]:
    headers = response.headers
    found = headers.getlist(name) if hasattr(headers, "getlist") else headers.get_list(name)
    return [str(value) for value in found]


@pytest.fixture(scope="module")
def apps(issuer: TestIssuer) -> dict[str, Get]:
    settings = matrix.settings(issuer)
    return {"flask": flask_get(flask_app(settings)),
            "starlette": asgi_get(starlette_app(settings)),
            "fastapi": asgi_get(fastapi_app(settings))}


def signed_out_api(issuer: TestIssuer) -> dict[str, str]:
    return matrix.request_headers(issuer, "signed-out", "api")


def member(issuer: TestIssuer) -> dict[str, str]:
    token = issuer.session_token(org=OrgClaims(id="org_1", role="member"))
    return {**matrix.API, "authorization": f"Bearer {token}"}


# --- the tests ---------------------------------------------------------------------------

FRAMEWORKS = ("flask", "starlette", "fastapi")


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("path", ["/handler", "/view", "/decorated"])
def test_a_signed_out_api_call_gets_the_apps_404_page(
    apps: dict[str, Get], issuer: TestIssuer, framework: str, path: str
) -> None:
    response = apps[framework](path, signed_out_api(issuer))
    assert response.status_code == 404
    assert PAGE_404 in text(response)
    assert values(response, "x-clerk-auth-reason") == ["protect-rewrite", matrix.MISSING]
    assert values(response, "x-clerk-auth-status") == ["signed-out"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_member_without_the_role_gets_the_apps_404_page(
    apps: dict[str, Get], issuer: TestIssuer, framework: str
) -> None:
    response = apps[framework]("/view", member(issuer))
    assert (response.status_code, PAGE_404 in text(response)) == (404, True)
    assert values(response, "x-clerk-auth-reason") == ["protect-rewrite"]


def test_a_fastapi_dependency_gets_the_apps_404_page(
    apps: dict[str, Get], issuer: TestIssuer
) -> None:
    for headers, reasons in ((signed_out_api(issuer), ["protect-rewrite", matrix.MISSING]),
                             (member(issuer), ["protect-rewrite"])):
        response = apps["fastapi"]("/dependency", headers)
        assert (response.status_code, response.text) == (404, PAGE_404)
        assert values(response, "x-clerk-auth-reason") == reasons


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_401_gets_the_apps_401_page(
    apps: dict[str, Get], issuer: TestIssuer, framework: str
) -> None:
    response = apps[framework]("/machine", signed_out_api(issuer))
    assert (response.status_code, PAGE_401 in text(response)) == (401, True)
    assert values(response, "x-clerk-auth-status") == ["signed-out"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("path", ["/handler", "/view", "/decorated"])
def test_a_browser_is_still_redirected_to_sign_in(
    apps: dict[str, Get], issuer: TestIssuer, framework: str, path: str
) -> None:
    response = apps[framework](path, matrix.request_headers(issuer, "signed-out", "page"))
    assert response.status_code == 307
    assert response.headers["location"].startswith(matrix.SIGN_IN)
    assert values(response, "x-clerk-redirect-to") == ["true"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_signed_in_users_get_the_views(
    apps: dict[str, Get], issuer: TestIssuer, framework: str
) -> None:
    token = issuer.session_token(org=OrgClaims(id="org_1", role="admin"))
    headers = {**matrix.API, "authorization": f"Bearer {token}"}
    for path in ("/handler", "/view", "/decorated"):
        assert apps[framework](path, headers).status_code == 200


def test_flask_keeps_clerks_status_when_the_page_forgets_it(issuer: TestIssuer) -> None:
    get = flask_get(flask_app(matrix.settings(issuer), with_status=False))
    for path in ("/handler", "/view", "/decorated"):
        response = get(path, signed_out_api(issuer))
        assert (response.status_code, text(response)) == (404, PAGE_404)
        assert values(response, "x-clerk-auth-reason") == ["protect-rewrite", matrix.MISSING]


def test_flask_blueprint_error_handlers_apply(issuer: TestIssuer) -> None:
    response = flask_get(flask_app(matrix.settings(issuer)))("/shop/admin", member(issuer))
    assert (response.status_code, text(response)) == (404, "<h1>No such product</h1>")
    assert values(response, "x-clerk-auth-reason") == ["protect-rewrite"]


def test_flask_without_a_handler_renders_werkzeugs_404(issuer: TestIssuer) -> None:
    app = Flask(__name__)
    clerk_flask.clerk_middleware(handler, **matrix.settings(issuer)).init_app(app)
    response = flask_get(app)("/handler", signed_out_api(issuer))
    assert response.status_code == 404 and "<h1>Not Found</h1>" in text(response)
    assert values(response, "x-clerk-auth-reason") == ["protect-rewrite", matrix.MISSING]


def test_starlette_httpexception_handlers_apply_and_the_status_is_kept(
    issuer: TestIssuer,
) -> None:
    get = asgi_get(starlette_app(matrix.settings(issuer), by_class=True))
    for path, status, page in (("/handler", 404, PAGE_404), ("/view", 404, PAGE_404),
                               ("/decorated", 404, PAGE_404), ("/machine", 401, PAGE_401)):
        response = get(path, signed_out_api(issuer))
        assert (response.status_code, response.text) == (status, page), path
        assert values(response, "x-clerk-auth-status") == ["signed-out"]


def test_the_404_page_is_the_one_the_router_renders(
    apps: dict[str, Get], issuer: TestIssuer
) -> None:
    for framework in FRAMEWORKS:
        routed = apps[framework]("/no-such-page", signed_out_api(issuer))
        protected = apps[framework]("/handler", signed_out_api(issuer))
        assert text(routed) == text(protected), framework


def test_fastapi_without_handlers_answers_its_own_json(issuer: TestIssuer) -> None:
    get = asgi_get(fastapi_app(matrix.settings(issuer), handlers=False))
    for path in ("/handler", "/view", "/decorated", "/dependency"):
        response = get(path, signed_out_api(issuer))
        assert (response.status_code, response.json()) == (404, {"detail": "Not Found"}), path
        assert values(response, "x-clerk-auth-reason") == ["protect-rewrite", matrix.MISSING]
